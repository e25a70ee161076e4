"""``msuite quant`` on a 16,000-transition, one-hour scheduled SRM run (target: <= 10 s).

Run by hand: ``.venv/bin/python benchmarks/quant_pipeline_bench.py [--peer]``.

The run is generated with the simulator's physics (:mod:`msuite.hardware_sim.physics`: EMG
elution profiles, the SRM response and chemical background, Poisson ion statistics) rather than
acquired over TCP, which would take the run's length divided by the clock speed. It is
scheduled as a triple quadrupole would acquire it:

- the shipped 1,000-protein panel (``methods/panel_1000.toml``: 1,988 peptide precursors (2+)
  with their heavy standards, 4 y-ions each: 15,904 transitions), its iRT range mapped onto
  5-55 min of a 60-min gradient (``--random N`` makes N random peptide pairs instead);
- each transition is measured only inside its scheduling window (the method's iRT window,
  ~90 s), with a 1.0 s cycle whose time is shared among the transitions due (dwell = cycle /
  due - 0.5 ms pause, as TSQ-style scheduled SRM does); where more than ~670 transitions are
  due at once the cycle stretches to keep a 1 ms minimum dwell. With the panel's crowded middle
  that gives per-transition sampling intervals of 1.0-3.2 s (median 2.5 s), ~6 points per
  FWHM of the Gaussian part (more over the tailed peak), fewer ions per point where crowded;
- light amounts log-uniform 0.1-100 fmol, heavy 10 fmol; peak sigma 6 s, tau 3 s, 2 s RT jitter.

It is written to a run file (chromatograms with Q1/Q3, as the SRM acquisition stores them) with
the method as an msuite ``.toml``; the benchmark then times

1. ``msuite quant RUN --method M --out DIR`` end to end in a fresh process (imports, reading,
   matching, peak groups, summaries, CSV/mzTab output), median of 3;
2. :func:`msuite.quant.quantify.quantify_run` alone in this process (warm), median of 3;
3. with ``--peer``: pyopenms ``MRMFeatureFinderScoring`` on the same data (mzML + TraML),
   loading included and excluded (peers are measured here only, never a dependency).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from pyteomics import mass

from msuite.core.model import Chromatogram, ChromatogramKind, Polarity, RunMetadata
from msuite.hardware_sim.physics import BACKGROUND_SRM, RESPONSE_IONS_PER_FMOL, emg
from msuite.hardware_sim.sample import HEAVY_SHIFT, PROTON
from msuite.io.runfile import RunFileWriter
from msuite.methods.model import Instrument, Method, PeptidePrecursor, Transition

REPO = Path(__file__).resolve().parents[1]
RESIDUES = "ACDEFGHILMNPQSTVWY"  # no K/R inside: tryptic peptides end in K or R
GRADIENT_S = 3600.0
WINDOW_S = 120.0
CYCLE_S = 1.0
MIN_DWELL_S = 0.001
PAUSE_S = 0.0005


def panel_method(path: Path) -> Method:
    """A shipped method, its iRT range mapped onto 5-55 min of the one-hour gradient."""
    from msuite.methods.storage import load_method

    method = load_method(path)
    irt = np.array([p.irt for p in method.precursors if math.isfinite(p.irt)])
    lo, hi = float(irt.min()), float(irt.max())
    method.instrument.irt_slope = 3000.0 / (hi - lo)
    method.instrument.irt_intercept = 300.0 - lo * method.instrument.irt_slope
    return method


def make_method(n_precursors: int, rng: np.random.Generator) -> Method:
    """Light/heavy precursors with four y-ions each; RT stored as iRT of a 1:1 s mapping."""
    inst = Instrument(irt_slope=1.0, irt_intercept=0.0)
    precs = []
    seen: set[str] = set()
    while len(seen) < n_precursors:
        n = int(rng.integers(8, 15))
        seq = "".join(rng.choice(list(RESIDUES), n - 1)) + str(rng.choice(["K", "R"]))
        if seq in seen:
            continue
        seen.add(seq)
        rt = float(rng.uniform(300.0, 3300.0))
        for label, delta in (("light", 0.0), ("heavy", HEAVY_SHIFT[seq[-1]])):
            q1 = (mass.fast_mass(seq) + delta + 2 * PROTON) / 2
            trans = [
                Transition(
                    "y",
                    k,
                    1,
                    mass.fast_mass(seq[-k:], ion_type="y", charge=1) + delta,
                    quantifier=k == 5,
                )
                for k in (3, 4, 5, 6)
            ]
            precs.append(
                PeptidePrecursor(
                    f"PROT{len(seen) // 4:04d}",
                    seq,
                    2,
                    q1,
                    label=label,
                    irt=rt,
                    irt_window=WINDOW_S,
                    transitions=trans,
                )
            )
    return Method(name="bench16k", instrument=inst, precursors=precs)


def make_chromatograms(
    method: Method, rng: np.random.Generator
) -> tuple[list[Chromatogram], float]:
    """Scheduled SRM traces of every transition; returns them and the median cycle time."""
    q1, q3, rt, window, amount, rel = [], [], [], [], [], []
    light_amount: dict[str, float] = {}
    for p in method.precursors:
        if p.modified_sequence not in light_amount:
            light_amount[p.modified_sequence] = float(10 ** rng.uniform(-1, 2))
        fmol = light_amount[p.modified_sequence] if p.label == "light" else 10.0
        frag_rng = np.random.default_rng(zlib.crc32(p.modified_sequence.encode()))
        yields = frag_rng.uniform(0.2, 1.0, len(p.transitions))
        for t, y in zip(p.transitions, yields, strict=True):
            q1.append(p.precursor_mz)
            q3.append(t.product_mz)
            rt.append(method.instrument.rt_seconds(p.irt))
            window.append(abs(method.instrument.irt_slope) * p.irt_window)
            amount.append(fmol)
            rel.append(y)
    q1a, rta, amt, rela = map(np.asarray, (q1, rt, amount, rel))
    half = np.asarray(window) / 2
    start, stop = rta - half, rta + half
    # cycle by cycle: which transitions are due, how long the cycle takes
    order = np.argsort(start)
    starts_sorted, stops_sorted = start[order], np.sort(stop)
    cycle_t, cycles = 0.0, []
    while cycle_t < GRADIENT_S:
        due = np.searchsorted(starts_sorted, cycle_t, "right") - np.searchsorted(
            stops_sorted, cycle_t, "left"
        )
        # fixed cycle time, dwell shared among the transitions due (TSQ-style scheduling);
        # the cycle stretches only when every transition is at the minimum dwell
        n_due = max(int(due), 1)
        dur = max(CYCLE_S, n_due * (MIN_DWELL_S + PAUSE_S))
        cycles.append((cycle_t, dur, dur / n_due - PAUSE_S))
        cycle_t += dur
    ct = np.array([c[0] for c in cycles])
    durations = np.array([c[1] for c in cycles])
    dwell = np.array([c[2] for c in cycles])
    sigma, tau = 6.0, 3.0
    chroms = []
    for k in range(q1a.size):
        a, b = np.searchsorted(ct, [start[k], stop[k]])
        t = ct[a:b] + rng.uniform(0, 1) * durations[a:b]  # its slot within the cycle
        jitter = rng.normal(0.0, 2.0)
        rate = amt[k] * RESPONSE_IONS_PER_FMOL * emg(t, rta[k] + jitter, sigma, tau) * rela[k]
        counts = rng.poisson((rate * 0.25 + BACKGROUND_SRM) * dwell[a:b]).astype(np.float64)
        chroms.append(
            Chromatogram(
                native_id=f"SRM SIC Q1={q1a[k]:.4f} Q3={q3[k]:.4f} id={k + 1}",
                kind=ChromatogramKind.SRM,
                time=t,
                intensity=counts,
                precursor_mz=float(q1a[k]),
                product_mz=float(q3[k]),
                polarity=Polarity.POSITIVE,
                collision_energy=25.0,
            )
        )
    return chroms, float(np.median(durations))


def run_statistics(run: Path) -> str:
    """Transitions, points, and per transition its sampling interval and points per FWHM."""
    from msuite.quant.trace_match import read_run

    chroms = read_run(run).chromatograms
    step = np.array([np.median(np.diff(c.time)) for c in chroms if c.time.size > 2])
    fwhm = 2.0 * math.sqrt(2.0 * math.log(2.0)) * 6.0  # of the Gaussian part (sigma 6 s)
    n_points = sum(c.time.size for c in chroms)
    return (
        f"{len(chroms):,} transitions, {n_points:,} points; per transition: sampling interval "
        f"(cycle) median {np.median(step):.2f} s (5-95 %: {np.percentile(step, 5):.2f}-"
        f"{np.percentile(step, 95):.2f} s), ~{np.median(fwhm / step):.0f} points per FWHM"
    )


def _megabytes(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:,.1f} MB"


def _median(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def write_peer_files(method: Method, run: Path, mzml: Path, traml: Path) -> None:
    """The same run and method as pyopenms needs them: a TraML, and an mzML whose
    chromatogram ids are the TraML's transition ids (OpenMS matches by id only)."""
    import pyopenms as oms

    from msuite.methods.formats import write_any
    from msuite.quant.targets import list_rows
    from msuite.quant.trace_match import read_run

    write_any(method, traml)
    ids = [r.transition_id for r in list_rows(traml)]
    chroms = read_run(run).chromatograms
    assert len(ids) == len(chroms)
    exp = oms.MSExperiment()
    for tid, c in zip(ids, chroms, strict=True):
        oc = oms.MSChromatogram()
        oc.setNativeID(tid)
        pre, prod = oms.Precursor(), oms.Product()
        pre.setMZ(c.precursor_mz)
        prod.setMZ(c.product_mz)
        oc.setPrecursor(pre)
        oc.setProduct(prod)
        oc.set_peaks((c.time, c.intensity.astype(np.float32)))
        exp.addChromatogram(oc)
    oms.MzMLFile().store(str(mzml), exp)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence OpenMS's C++ log (a warning per resampled chromatogram) on descriptors 1 and 2."""
    sys.stdout.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with open(os.devnull, "w") as null:
        for fd in saved:
            os.dup2(null.fileno(), fd)
        try:
            yield
        finally:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)


def peer_openms(mzml: Path, traml: Path) -> tuple[float, float, int]:
    """pyopenms MRMFeatureFinderScoring: (load + score s, score-only s, features)."""
    with _quiet_stderr():
        return _peer_openms(mzml, traml)


def _peer_openms(mzml: Path, traml: Path) -> tuple[float, float, int]:
    import pyopenms as oms

    t0 = time.perf_counter()
    exp = oms.MSExperiment()
    oms.MzMLFile().load(str(mzml), exp)
    targeted = oms.TargetedExperiment()
    oms.TraMLFile().load(str(traml), targeted)
    t1 = time.perf_counter()
    finder = oms.MRMFeatureFinderScoring()
    features = oms.FeatureMap()
    finder.pickExperiment(
        exp, features, targeted, oms.TransformationDescription(), oms.MSExperiment()
    )
    t2 = time.perf_counter()
    return t2 - t0, t2 - t1, features.size()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--method",
        type=Path,
        default=REPO / "methods" / "panel_1000.toml",
        help="shipped method to acquire (default: panel_1000, 15,904 transitions)",
    )
    ap.add_argument(
        "--random",
        type=int,
        default=0,
        metavar="N",
        help="instead, N random light/heavy peptide pairs (x8 transitions)",
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peer", action="store_true", help="also time pyopenms")
    ap.add_argument("--keep", type=Path, default=None, help="keep the generated files here")
    ap.add_argument("--reuse", action="store_true", help="reuse the files kept in --keep")
    args = ap.parse_args(argv)

    from msuite.methods.storage import save_method
    from msuite.quant.quantify import QuantParams, quantify_run
    from msuite.quant.targets import build_targets

    rng = np.random.default_rng(2024)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="quant_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    method = make_method(args.random, rng) if args.random else panel_method(args.method)
    run = folder / "srm_run.h5"
    method_path = folder / "panel.toml"
    if not (args.reuse and run.is_file() and method_path.is_file()):
        chroms, _ = make_chromatograms(method, rng)
        run.unlink(missing_ok=True)
        t_write = time.perf_counter()
        with RunFileWriter(run, RunMetadata(run_id=run.stem)) as writer:
            writer.append_chromatograms(chroms)
            writer.close()
        t_write = time.perf_counter() - t_write
        save_method(method, method_path)
        print(
            f"generated {run} in {time.perf_counter() - t0:.1f} s "
            f"(run file written in {t_write:.2f} s)"
        )
    print(f"run file: {_megabytes(run)}")
    print(run_statistics(run))

    groups = build_targets(method)
    params = QuantParams()
    workers = os.cpu_count() or 1
    quantify_run(str(run), groups, params)  # warm (JIT cache, file cache)
    res = quantify_run(str(run), groups, params)
    found = sum(r["found"] for r in res.rows)
    for n in sorted({1, workers}):
        t_quant = _median(
            lambda n=n: quantify_run(str(run), groups, params, workers=n), args.repeats
        )
        print(
            f"quantification alone (quantify_run, warm, {n} process(es)): {t_quant:.2f} s "
            f"({found:,}/{len(res.rows):,} transitions found)"
        )

    out = folder / "out"
    cmd = [
        sys.executable,
        "-m",
        "msuite.cli",
        "quant",
        str(run),
        "--method",
        str(method_path),
        "--out",
        str(out),
    ]
    for jobs in sorted({1, workers}):
        argv = [*cmd, "--jobs", str(jobs)]
        t_e2e = _median(
            lambda argv=argv: subprocess.run(argv, check=True, capture_output=True), args.repeats
        )
        print(
            f"msuite quant end to end (fresh process, --jobs {jobs}): {t_e2e:.2f} s  "
            f"[target <= 10 s]"
        )
    help_cmd = [sys.executable, "-m", "msuite.cli", "--help"]
    t_start = _median(lambda: subprocess.run(help_cmd, check=True, capture_output=True), 3)
    print(f"  of which starting the msuite command (msuite --help): {t_start:.2f} s")

    if args.peer:
        mzml, traml = folder / "srm_run.peer.mzML", folder / "panel.TraML"
        write_peer_files(method, run, mzml, traml)
        print(f"same run as mzML: {_megabytes(mzml)} (run file: {_megabytes(run)})")
        try:
            total, score_only, n_feat = peer_openms(mzml, traml)
            print(
                f"pyopenms MRMFeatureFinderScoring: {total:.2f} s with loading, "
                f"{score_only:.2f} s scoring only ({n_feat:,} features)"
            )
        except Exception as exc:
            print(f"pyopenms peer failed: {type(exc).__name__}: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
