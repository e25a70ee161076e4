"""Centroiding and chromatographic-peak benchmark beside pyopenms, measured in one process run.

Run by hand: ``.venv/bin/python benchmarks/quant_bench.py`` (needs ``pip install pyopenms``;
pyopenms is a peer measured beside us, never a dependency of msuite).

Targets (issue 6):
- >= 99 % of pyopenms PeakPickerHiRes's centroids matched within 2 ppm and 1 % height;
- in-memory centroiding of the same spectra >= 10x pyopenms's speed;
- end to end (mzML file -> centroids) faster than pyopenms load + pick.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from msuite.core.model import Spectrum
from msuite.io.mzml_reader import MzMLReader
from msuite.quant.centroid import CentroidParams, centroid_spectra, default_threads
from msuite.quant.chrom_peaks import pick_chromatograms

REPO = Path(__file__).resolve().parents[1]
PROFILE_FILES = (  # (file, MS levels that hold profile data)
    "ms_deisotope/small.mzML",
    "ms_deisotope/three_test_scans.mzML",
    "OpenMS/profile_peakpicking/PeakPickerHiRes_input.mzML",
)
END_TO_END_FILE = "ms_deisotope/small.mzML"
REFERENCE = "OpenMS/profile_peakpicking/PeakPickerHiRes_{}.mzML"


def _data_root() -> Path:
    env = os.environ.get("MSUITE_TESTDATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm up (JIT, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _paired_times(
    theirs: Callable[[], object], ours: Callable[[], object], repeats: int
) -> tuple[list[float], list[float]]:
    """Time both callables alternately ``repeats`` times (after a warm-up of each).

    Alternating puts both under the same load of a shared machine; each repeat gives a ratio.
    """
    theirs()
    ours()
    t_theirs, t_ours = [], []
    for _ in range(repeats):
        for fn, times in ((theirs, t_theirs), (ours, t_ours)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return t_theirs, t_ours


def _load() -> str:
    """The 1-minute load average (other work on a shared machine slows both sides)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:  # pragma: no cover - not available
        return "?"


def _span(times: list[float]) -> str:
    """Median and range of times in ms."""
    ms = [1e3 * t for t in times]
    return f"{statistics.median(ms):7.1f} ms (range {min(ms):.1f}-{max(ms):.1f})"


def _match(ref_mz: np.ndarray, ref_h: np.ndarray, mz: np.ndarray, h: np.ndarray) -> np.ndarray:
    if mz.size == 0:
        return np.zeros(ref_mz.size, dtype=bool)
    j = np.searchsorted(mz, ref_mz).clip(1, max(mz.size - 1, 1))
    left = (j - 1).clip(0)
    k = np.where(np.abs(mz[left] - ref_mz) <= np.abs(mz[j] - ref_mz), left, j)
    return (np.abs(mz[k] - ref_mz) / ref_mz * 1e6 <= 2.0) & (np.abs(h[k] - ref_h) / ref_h <= 0.01)


def _is_ms1_profile(s: Spectrum) -> bool:
    return s.ms_level == 1 and s.header.centroid is not True


def _load_ours(root: Path) -> list[Spectrum]:
    out = []
    for name in PROFILE_FILES:
        out += [s for s in MzMLReader(root / name).spectra() if _is_ms1_profile(s)]
    return out


def _pyopenms_picker(oms: Any, snr: float) -> Any:
    picker = oms.PeakPickerHiRes()
    p = picker.getParameters()
    p.setValue("signal_to_noise", snr)
    p.setValue("ms_levels", [1])
    picker.setParameters(p)
    return picker


def _load_pyopenms(oms: Any, root: Path, copies: int) -> Any:
    exp = oms.MSExperiment()
    spectra = []
    for name in PROFILE_FILES:
        e = oms.MSExperiment()
        oms.MzMLFile().load(str(root / name), e)
        spectra += [s for s in e.getSpectra() if s.getMSLevel() == 1]
    for _ in range(copies):
        for s in spectra:
            exp.addSpectrum(s)
    return exp


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=10, help="copies of the spectra in memory")
    ap.add_argument("--repeats", type=int, default=25, help="timed repeats of each measurement")
    ap.add_argument("--snr", type=float, default=1.0, help="signal_to_noise of both pickers")
    args = ap.parse_args(argv)
    try:
        import pyopenms as oms
    except ImportError:
        print("pyopenms is not installed: pip install pyopenms (benchmark only)", file=sys.stderr)
        return 1
    root = _data_root()
    params = CentroidParams(min_snr=args.snr)
    threads = default_threads()
    print(f"pyopenms {oms.__version__}; {threads} threads for msuite; S/N {args.snr}")

    # -- agreement with the stored OpenMS reference (written by an OpenMS of 2024)
    inp = [s for s in MzMLReader(root / REFERENCE.format("input")).spectra() if s.ms_level == 1]
    ref = [s for s in MzMLReader(root / REFERENCE.format("output")).spectra() if s.ms_level == 1]
    old = centroid_spectra(inp, CentroidParams(min_snr=1.0, noise_interpolate=False))
    ok = np.concatenate(
        [_match(r.mz, r.intensity, c.mz, c.height) for r, c in zip(ref, old, strict=True)]
    )
    print(
        f"stored PeakPickerHiRes output: {ok.sum()}/{ok.size} centroids matched "
        f"({100 * ok.mean():.2f} %) within 2 ppm and 1 % height"
    )

    # -- agreement with pyopenms, same spectra
    ours_spectra = _load_ours(root)
    exp1 = _load_pyopenms(oms, root, 1)
    picker = _pyopenms_picker(oms, args.snr)
    theirs = picker.pickExperiment(exp1, False)
    mine = centroid_spectra(ours_spectra, params)
    matched = total = 0
    for s, c in zip(theirs.getSpectra(), mine, strict=True):
        mz, inten = s.get_peaks()
        good = _match(np.asarray(mz, float), np.asarray(inten, float), c.mz, c.height)
        matched += int(good.sum())
        total += good.size
    n_ours = sum(len(c) for c in mine)
    print(
        f"pyopenms centroids matched: {matched}/{total} ({100 * matched / total:.2f} %); "
        f"msuite found {n_ours}"
    )

    # -- in-memory speed, the same spectra `copies` times
    batch = ours_spectra * args.copies
    points = sum(len(s) for s in batch)
    exp = _load_pyopenms(oms, root, args.copies)
    pairs = [(s.mz, s.intensity) for s in batch]
    load_before = _load()
    t_theirs, t_ours = _paired_times(
        lambda: picker.pickExperiment(exp, False),
        lambda: centroid_spectra(pairs, params, threads=threads),
        args.repeats,
    )
    ratios = [a / b for a, b in zip(t_theirs, t_ours, strict=True)]
    med_theirs = statistics.median(t_theirs)
    med_ours = statistics.median(t_ours)
    print(
        f"in memory, {len(batch)} spectra, {points / 1e6:.2f} M points, "
        f"{args.repeats} alternating repeats (median, range); "
        f"load average {load_before} before, {_load()} after:"
    )
    print(
        f"  pyopenms PeakPickerHiRes {_span(t_theirs)}  "
        f"({points / med_theirs / 1e6:6.1f} M points/s)"
    )
    print(
        f"  msuite centroid_spectra  {_span(t_ours)}  ({points / med_ours / 1e6:6.1f} M points/s)"
    )
    print(
        f"  speed ratio {med_theirs / med_ours:.1f}x (median times); per repeat "
        f"median {statistics.median(ratios):.1f}x, range {min(ratios):.1f}-{max(ratios):.1f}x; "
        f"best times {min(t_theirs) / min(t_ours):.1f}x"
    )

    # -- end to end: mzML file -> centroids
    path = root / END_TO_END_FILE

    def theirs_e2e() -> object:
        e = oms.MSExperiment()
        oms.MzMLFile().load(str(path), e)
        return picker.pickExperiment(e, False)

    def ours_e2e() -> object:
        spectra = [s for s in MzMLReader(path).spectra() if _is_ms1_profile(s)]
        return centroid_spectra(spectra, params, threads=threads)

    e_theirs = _median_time(theirs_e2e, args.repeats)
    e_ours = _median_time(ours_e2e, args.repeats)
    print(
        f"end to end ({END_TO_END_FILE}): pyopenms load + pick {1e3 * e_theirs:.1f} ms, "
        f"msuite read + pick {1e3 * e_ours:.1f} ms   speed ratio {e_theirs / e_ours:.2f}x"
    )

    # -- chromatographic peaks (no peer figure: a throughput note)
    chroms = list(MzMLReader(root / "OpenMS/srm_mrm/Spyogenes.chrom.mzML").chromatograms())
    t_chrom = _median_time(lambda: pick_chromatograms(chroms), args.repeats)
    print(f"chromatographic peaks: {len(chroms)} traces in {1e3 * t_chrom:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
