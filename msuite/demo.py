"""The main job, end to end: acquire from the simulated instrument, centroid and quantify what
it acquired against the truth, and check run files and mzML on a generated iRT run.

Grows with the project (sample queue, scheduler and the GUI come next).
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import numpy as np

from msuite.hardware_sim.demo_acquisition import (
    acquire_demo_run,
    demo_srm_method,
    demo_truth_ratios,
)
from msuite.hardware_sim.synthetic_run import generate_run
from msuite.io.convert import convert
from msuite.io.runfile import RunFile, RunFileWriter
from msuite.io.summary import format_summary, summarize

__all__ = ["run_demo"]


def _say(text: str) -> None:
    print(text, flush=True)


def run_demo(out_dir: str | os.PathLike[str] = "demo-output") -> dict[str, object]:
    """Run the demo; print what it did and return its key figures."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run_path, mzml_path, back_path = (
        out / "demo_run.h5",
        out / "demo_run.mzML",
        out / "demo_back.h5",
    )

    _say("== acquisition on the embedded simulator (driver over loopback TCP) ==")
    acquired = acquire_demo_run(out / "sim_run.h5", say=_say)
    _say("\n== centroiding and quantification of the acquisition ==")
    quant = _quantify_acquisition(out, out / "sim_run.h5")
    _say("\n== run files and mzML on a generated iRT-peptide run ==")
    t0 = time.perf_counter()
    run = generate_run()
    _say(
        f"[1/4] generated {len(run.spectra)} scans of {len(run.truth)} iRT peptides "
        f"({sum(len(s) for s in run.spectra):,} points) in {time.perf_counter() - t0:.2f} s"
    )

    t0 = time.perf_counter()
    with RunFileWriter(run_path, run.metadata) as writer:
        for spectrum in run.spectra:
            writer.append_spectrum(spectrum)
        for chrom in run.chromatograms:
            writer.append_chromatogram(chrom)
        checksum = writer.close()
    _say(
        f"[2/4] wrote run file {run_path} in {time.perf_counter() - t0:.2f} s, "
        f"sha256 {checksum[:16]}..."
    )

    t0 = time.perf_counter()
    convert(run_path, mzml_path)
    convert(mzml_path, back_path)
    identical = _same_arrays(run_path, back_path)
    _say(
        f"[3/4] converted to {mzml_path} and back in {time.perf_counter() - t0:.2f} s: "
        f"arrays {'identical' if identical else 'DIFFER'}"
    )

    _say("[4/4] run file summary:")
    _say("      " + format_summary(summarize(run_path)).replace("\n", "\n      "))
    _say("\nXIC apex per peptide (monoisotopic m/z, 10 ppm) beside the truth:")
    _say(f"  {'peptide':<16}{'m/z':>10}{'true RT s':>11}{'apex RT s':>11}{'error s':>9}")
    errors = []
    with RunFile(run_path) as reader:
        xic = reader.xic([p.mz for p in run.truth], ppm=10.0)
    for p, trace in zip(run.truth, xic.intensity, strict=True):
        apex = float(xic.rt[int(np.nanargmax(trace))])
        errors.append(apex - p.rt)
        _say(f"  {p.sequence:<16}{p.mz:>10.4f}{p.rt:>11.1f}{apex:>11.1f}{apex - p.rt:>9.1f}")
    worst = float(np.max(np.abs(errors)))
    _say(f"\nmax |apex - truth| = {worst:.1f} s (MS1 cycle 1.0 s); outputs in {out}/")
    return {
        "identical": identical,
        "max_rt_error_s": worst,
        "checksum": checksum,
        "acquisition": acquired,
        "quant": quant,
    }


def _quantify_acquisition(out: Path, sim_run: Path) -> dict[str, object]:
    """Centroid the FULL scans, quantify the SRM light/heavy pairs, print them beside the truth."""
    from msuite.methods.storage import save_method
    from msuite.quant.pick import pick_file
    from msuite.quant.quantify import QuantParams, quantify_runs
    from msuite.quant.results import write_results
    from msuite.quant.targets import load_targets

    t0 = time.perf_counter()
    report = pick_file(sim_run, out / "sim_run_centroided.h5")
    _say(
        f"[a] centroided {report.centroided} profile scans into {report.output.name}: "
        f"{report.peaks:,} peaks ({report.peaks / max(report.centroided, 1):.0f} per scan) "
        f"in {time.perf_counter() - t0:.2f} s"
    )
    t0 = time.perf_counter()
    method_path = out / "demo_srm_method.toml"
    save_method(demo_srm_method(), method_path)
    targets = load_targets(method=method_path)
    params = QuantParams()
    results = quantify_runs([sim_run], targets.groups, params, jobs=1)
    quant_dir = out / "quant"
    summary = write_results(quant_dir, results, targets, params, command="msuite demo")
    _say(f"[b] quantified with {method_path.name} in {time.perf_counter() - t0:.2f} s: {summary}")
    with open(quant_dir / "peptides.csv", newline="", encoding="utf-8") as fh:
        peptides = {row["peptide_or_compound"]: row for row in csv.DictReader(fh)}
    truth = demo_truth_ratios()
    _say("\nlight/heavy ratio per peptide (quantifier y6, Skyline background) beside the truth:")
    _say(f"  {'peptide':<16}{'RT min':>8}{'light/heavy':>13}{'truth':>9}{'error %':>9}")
    errors = {}
    for seq, true_ratio in truth.items():
        row = peptides.get(seq)
        ratio = float(row["ratio"]) if row and row["ratio"] not in ("", "nan") else float("nan")
        rt = float(row["rt"]) if row and row["rt"] not in ("", "nan") else float("nan")
        errors[seq] = 100.0 * (ratio - true_ratio) / true_ratio
        _say(f"  {seq:<16}{rt:>8.2f}{ratio:>13.3f}{true_ratio:>9.3f}{errors[seq]:>9.1f}")
    worst = max(abs(e) for e in errors.values())
    _say(f"max |error| = {worst:.1f} %")
    return {"peaks": report.peaks, "ratio_error_pct": errors, "max_ratio_error_pct": worst}


def _same_arrays(a: Path, b: Path) -> bool:
    with RunFile(a) as ra, RunFile(b) as rb:
        if ra.n_spectra != rb.n_spectra:
            return False
        return all(
            np.array_equal(x.mz, y.mz) and np.array_equal(x.intensity, y.intensity)
            for x, y in zip(ra.iter_spectra(), rb.iter_spectra(), strict=True)
        )
