"""I/O benchmark: mzML import beside pymzml and pyteomics, run-file write throughput.

Run by hand (``make bench`` or ``.venv/bin/python benchmarks/io_bench.py``). Every figure is
measured in this one process run, the peers beside ours, and printed with the ratio.

Targets (issue "Foundation"):
- importing an mzML file into a run file is at least as fast as pymzml's plain read of it;
- >= 5,000 centroided (~300 peaks) and >= 300 profile (~50,000 points) scans/s written on one core.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("BLOSC_NTHREADS", "1")  # "on one core": no compression threads

import numpy as np

from msuite.core.model import Polarity, ScanHeader, Spectrum
from msuite.io.convert import convert
from msuite.io.mzml_reader import MzMLReader
from msuite.io.runfile import RunFileWriter

REPO = Path(__file__).resolve().parents[1]
FILES = (
    "OpenMS/lcms/MapAlignmentAlgorithmPoseClustering_in1.mzML.gz",
    "ms_deisotope/small.mzML",
)


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _pymzml_read(path: Path) -> int:
    import pymzml

    n = 0
    with pymzml.run.Reader(str(path)) as run:
        for spec in run:
            if spec.get("id") is None:
                continue
            n += spec.mz.size + spec.i.size
    return n


def _pyteomics_read(path: Path) -> int:
    from pyteomics import mzml

    n = 0
    with (
        gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as source,
        mzml.MzML(source, use_index=False) as reader,
    ):
        for spec in reader:
            n += spec["m/z array"].size + spec["intensity array"].size
    return n


def _msuite_parse(path: Path) -> int:
    return sum(len(s) for s in MzMLReader(path).spectra())


def bench_import(data: Path, repeats: int) -> bool:
    print(f"\n== mzML import (median of {repeats}; lower is better) ==")
    print(
        f"{'file':<58}{'pymzml':>9}{'pyteomics':>11}{'msuite parse':>14}"
        f"{'msuite import':>15}{'pymzml/import':>15}"
    )
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for rel in FILES:
            path = data / rel
            out = Path(tmp) / "bench.h5"
            t_pymzml = _median_time(lambda p=path: _pymzml_read(p), repeats)
            t_pyteomics = _median_time(lambda p=path: _pyteomics_read(p), repeats)
            t_parse = _median_time(lambda p=path: _msuite_parse(p), repeats)
            t_import = _median_time(lambda p=path, o=out: convert(p, o), repeats)
            ratio = t_pymzml / t_import
            ok &= ratio >= 1.0
            print(
                f"{rel:<58}{t_pymzml * 1e3:>7.0f}ms{t_pyteomics * 1e3:>9.0f}ms"
                f"{t_parse * 1e3:>12.0f}ms{t_import * 1e3:>13.0f}ms{ratio:>14.2f}x"
            )
    return ok


def _centroided(n_scans: int, rng: np.random.Generator) -> list[Spectrum]:
    out = []
    for i in range(n_scans):
        mz = np.sort(rng.uniform(150.0, 2000.0, 300))
        intensity = np.round(rng.lognormal(8, 1.5, 300), 1)
        header = ScanHeader(
            i, f"scan={i + 1}", 1 + (i % 5 > 0), i * 0.05, True, Polarity.POSITIVE, sequence=i
        )
        out.append(Spectrum(header, mz, intensity))
    return out


def _profile(n_scans: int, rng: np.random.Generator) -> list[Spectrum]:
    # an Orbitrap-like profile scan: 50,000 points on a grid of constant resolution
    grid = 350.0 * np.exp(np.arange(50_000) * 3.5e-5)
    out = []
    for i in range(n_scans):
        centers = rng.uniform(grid[0], grid[-1], 400)
        idx = np.searchsorted(grid, centers)
        intensity = rng.exponential(30.0, grid.size).astype(np.float32).astype(np.float64)
        for k, c in zip(idx, rng.lognormal(10, 1.5, centers.size), strict=True):
            lo, hi = max(k - 6, 0), min(k + 7, grid.size)
            intensity[lo:hi] += c * np.exp(-0.5 * ((np.arange(lo, hi) - k) / 2.0) ** 2)
        header = ScanHeader(i, f"scan={i + 1}", 1, i * 0.25, False, Polarity.POSITIVE, sequence=i)
        out.append(Spectrum(header, grid.copy(), intensity))
    return out


def _write_rate(spectra: list[Spectrum], path: Path, repeats: int) -> float:
    def write() -> None:
        with RunFileWriter(path) as writer:
            for s in spectra:
                writer.append_spectrum(s)

    return len(spectra) / _median_time(write, repeats)


def _psims_rate(spectra: list[Spectrum], path: Path) -> float:
    from msuite.core.model import RunMetadata
    from msuite.io.mzml_writer import write_mzml

    t0 = time.perf_counter()
    write_mzml(
        path, RunMetadata(), iter(spectra), iter(()), n_spectra=len(spectra), n_chromatograms=0
    )
    return len(spectra) / (time.perf_counter() - t0)


def bench_write(repeats: int) -> bool:
    rng = np.random.default_rng(0)
    centroided = _centroided(20_000, rng)
    profile = _profile(600, rng)
    print(f"\n== run-file write throughput, one core (median of {repeats}) ==")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "w.h5"
        for label, spectra, target in (
            ("centroided, 300 peaks", centroided, 5000.0),
            ("profile, 50,000 points", profile, 300.0),
        ):
            rate = _write_rate(spectra, out, repeats)
            mzml_rate = _psims_rate(spectra[: max(50, len(spectra) // 20)], Path(tmp) / "w.mzML")
            ok &= rate >= target
            print(
                f"{label:<24} {rate:>9,.0f} scans/s  target {target:>6,.0f}  "
                f"({rate / target:.2f}x target; mzML via psims {mzml_rate:,.0f} scans/s, "
                f"{rate / mzml_rate:.1f}x)"
            )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=os.environ.get("MSUITE_TESTDATA", str(REPO.parent / "shared" / "data"))
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = Path(args.data)
    if not (data / FILES[0]).is_file():
        print(f"real data not found under {data} (set MSUITE_TESTDATA)", file=sys.stderr)
        return 2
    ok_import = bench_import(data, args.repeats)
    ok_write = bench_write(args.repeats)
    print(
        f"\ntargets met: import {'yes' if ok_import else 'NO'}, write {'yes' if ok_write else 'NO'}"
    )
    return 0 if ok_import and ok_write else 1


if __name__ == "__main__":
    sys.exit(main())
