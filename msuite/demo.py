"""The main job, end to end on generated data: acquire -> run file -> mzML -> back, and check.

Grows with the project: it will drive the simulated instruments and quantify what they
acquired once those parts exist.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from msuite.hardware_sim.demo_acquisition import acquire_demo_run
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
    }


def _same_arrays(a: Path, b: Path) -> bool:
    with RunFile(a) as ra, RunFile(b) as rb:
        if ra.n_spectra != rb.n_spectra:
            return False
        return all(
            np.array_equal(x.mz, y.mz) and np.array_equal(x.intensity, y.intensity)
            for x, y in zip(ra.iter_spectra(), rb.iter_spectra(), strict=True)
        )
