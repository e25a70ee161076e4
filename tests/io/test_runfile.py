"""Run files: round trip, random access, XIC, checksum, schema checks, live follow and SIGKILL."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from msuite.core.errors import (
    FileFormatError,
    InputError,
    RunFileStateError,
    SchemaVersionError,
)
from msuite.core.model import (
    Chromatogram,
    ChromatogramKind,
    Polarity,
    RunMetadata,
    ScanHeader,
    Spectrum,
)
from msuite.io.runfile import RunFile, RunFileWriter
from tests.io.synthetic import synthetic_spectrum

WRITER_SCRIPT = Path(__file__).with_name("writer_process.py")


def _write(path: Path, n: int, **kwargs) -> list[Spectrum]:
    spectra = [synthetic_spectrum(i) for i in range(n)]
    meta = RunMetadata(run_id="r1", instrument={"model": "Q Exactive", "accession": "MS:1001911"})
    with RunFileWriter(path, meta, **kwargs) as w:
        for s in spectra:
            w.append_spectrum(s)
        w.append_chromatogram(
            Chromatogram("TIC", ChromatogramKind.TIC, np.arange(5.0), np.arange(5.0) * 2)
        )
        w.append_chromatogram(
            Chromatogram(
                "SRM SIC Q1=500.3 Q3=600.2",
                ChromatogramKind.SRM,
                np.linspace(0, 60, 31),
                np.random.default_rng(3).random(31),
                precursor_mz=500.3,
                product_mz=600.2,
                polarity=Polarity.POSITIVE,
                collision_energy=25.0,
            )
        )
    return spectra


@pytest.mark.parametrize("compression", ["blosc-zstd", "blosc-lz4", "gzip", "none"])
def test_round_trip_keeps_arrays_and_headers_exactly(tmp_path: Path, compression: str) -> None:
    path = tmp_path / "run.h5"
    spectra = _write(path, 37, compression=compression, flush_scans=8)
    with RunFile(path) as run:
        assert run.n_spectra == 37
        assert run.metadata().instrument["model"] == "Q Exactive"
        for original, stored in zip(spectra, run.iter_spectra(), strict=True):
            assert stored.mz.dtype == np.float64
            np.testing.assert_array_equal(stored.mz, original.mz)
            np.testing.assert_array_equal(stored.intensity, original.intensity)
            h, o = stored.header, original.header
            assert (h.native_id, h.ms_level, h.rt, h.centroid, h.polarity) == (
                o.native_id,
                o.ms_level,
                o.rt,
                o.centroid,
                o.polarity,
            )
            assert h.precursors == o.precursors
            assert (h.scan_window, h.injection_time, h.sequence, h.filter_string) == (
                o.scan_window,
                o.injection_time,
                o.sequence,
                o.filter_string,
            )
            assert h.tic == pytest.approx(float(original.intensity.sum()))
            assert h.base_peak_intensity == original.intensity.max()
        srm = run.chromatogram(1)
        assert srm.kind is ChromatogramKind.SRM
        assert (srm.precursor_mz, srm.product_mz, srm.collision_energy) == (500.3, 600.2, 25.0)
        np.testing.assert_array_equal(srm.time, np.linspace(0, 60, 31))
        assert run.verify_checksum().state == "ok"
        assert run.attributes()["compression"] == compression


def test_random_access_by_index_and_rt(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    spectra = _write(path, 100)
    with RunFile(path) as run:
        np.testing.assert_array_equal(run.spectrum(57).mz, spectra[57].mz)
        np.testing.assert_array_equal(run.spectrum(-1).intensity, spectra[99].intensity)
        assert run.header(12).precursors == ()
        with pytest.raises(InputError, match="out of range"):
            run.spectrum(100)
        idx = run.indices_in_rt(5.0, 10.0, ms_level=1)
        expected = [i for i, s in enumerate(spectra) if 5.0 <= s.rt <= 10.0 and s.ms_level == 1]
        assert idx.tolist() == expected
        got = run.spectra_in_rt(5.0, 10.0)
        assert [s.native_id for s in got] == [s.native_id for s in spectra if 5.0 <= s.rt <= 10.0]


def _brute_xic(spectra, targets, ppm, windows, level, use_max):
    rows = [s for s in spectra if s.ms_level == level]
    out = np.full((len(targets), len(rows)), np.nan)
    for t, (m, (lo_rt, hi_rt)) in enumerate(zip(targets, windows, strict=True)):
        for k, s in enumerate(rows):
            if lo_rt <= s.rt <= hi_rt:
                sel = np.abs(s.mz - m) <= m * ppm * 1e-6
                vals = s.intensity[sel]
                out[t, k] = (vals.max() if vals.size else 0.0) if use_max else vals.sum()
    return out


@pytest.mark.parametrize("aggregate", ["sum", "max"])
def test_xic_matches_brute_force_for_many_targets(tmp_path: Path, aggregate: str) -> None:
    path = tmp_path / "run.h5"
    spectra = _write(path, 200)
    ms1 = [s for s in spectra if s.ms_level == 1]
    targets = [ms1[k].mz[k * 3] for k in range(20)] + [150.0, 1999.0]
    windows = [(0.0, 1e9)] * len(targets)
    windows[3] = (10.0, 20.0)
    with RunFile(path) as run:
        xic = run.xic(targets, ppm=20.0, rt_range=np.array(windows), aggregate=aggregate)
    expected = _brute_xic(spectra, targets, 20.0, windows, 1, aggregate == "max")
    np.testing.assert_allclose(xic.intensity, expected, rtol=1e-12)
    assert np.isnan(xic.intensity[3]).sum() == (np.isnan(expected[3])).sum() > 0
    assert xic.rt.tolist() == [s.rt for s in ms1]


def test_xic_rejects_bad_targets(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    _write(path, 8)
    with RunFile(path) as run:
        with pytest.raises(InputError, match="positive"):
            run.xic([-5.0])
        with pytest.raises(InputError, match="rt_range"):
            run.xic([500.0, 600.0], rt_range=np.zeros((3, 2)))


def test_checksum_detects_changed_content(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    _write(path, 20)
    with h5py.File(path, "r+") as f:
        f["spectra/intensity"][10] = f["spectra/intensity"][10] + 1.0
    with RunFile(path) as run:
        status = run.verify_checksum()
    assert status.state == "mismatch"
    assert status.recorded != status.computed


def test_unsorted_spectrum_is_stored_sorted(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    header = ScanHeader(index=0, native_id="s", ms_level=1, rt=1.0)
    with RunFileWriter(path) as w:
        w.append_spectrum(Spectrum(header, [300.0, 100.0, 200.0], [3.0, 1.0, 2.0]))
    with RunFile(path) as run:
        s = run.spectrum(0)
    assert s.mz.tolist() == [100.0, 200.0, 300.0]
    assert s.intensity.tolist() == [1.0, 2.0, 3.0]


def test_writer_refuses_oversized_native_id_and_closed_file(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    w = RunFileWriter(path)
    header = ScanHeader(index=0, native_id="x" * 200, ms_level=1, rt=0.0)
    with pytest.raises(InputError, match="native_id") as info:
        w.append_spectrum(Spectrum(header, [1.0], [1.0]))
    assert "at most 128" in str(info.value)
    w.close()
    with pytest.raises(RunFileStateError):
        w.append_spectrum(synthetic_spectrum(0))


def test_newer_schema_and_foreign_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    _write(path, 4)
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(SchemaVersionError) as info:
        RunFile(path)
    assert "99" in str(info.value) and str(path) in str(info.value)

    foreign = tmp_path / "other.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = [1, 2]
    with pytest.raises(FileFormatError, match="not an msuite run file"):
        RunFile(foreign)

    text = tmp_path / "notes.h5"
    text.write_text("hello")
    with pytest.raises(FileFormatError, match="HDF5"):
        RunFile(text)
    with pytest.raises(InputError, match="no such file"):
        RunFile(tmp_path / "missing.h5")


def _start_writer(path: Path, n: int, flush: int, delay: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER_SCRIPT), str(path), str(n), str(flush), str(delay)],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_sigkilled_writer_leaves_every_flushed_scan(tmp_path: Path) -> None:
    path = tmp_path / "killed.h5"
    proc = _start_writer(path, 100_000, 10, 0.001)
    flushed = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        flushed = int(line.split()[1])
        if flushed >= 300:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with RunFile(path) as run:
        assert run.n_spectra >= flushed
        assert not run.is_closed_cleanly
        assert run.verify_checksum().state == "absent"
        for i in (0, flushed // 2, flushed - 1, run.n_spectra - 1):
            np.testing.assert_array_equal(run.spectrum(i).mz, synthetic_spectrum(i).mz)
            np.testing.assert_array_equal(
                run.spectrum(i).intensity, synthetic_spectrum(i).intensity
            )


def test_second_process_follows_a_live_file(tmp_path: Path) -> None:
    path = tmp_path / "live.h5"
    n_total = 120
    proc = _start_writer(path, n_total, 5, 0.01)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("flushed")
    seen: list[int] = []
    deadline = time.monotonic() + 60
    with RunFile(path) as run:
        while time.monotonic() < deadline:
            n = run.refresh()
            if not seen or n > seen[-1]:
                seen.append(n)
                np.testing.assert_array_equal(run.spectrum(n - 1).mz, synthetic_spectrum(n - 1).mz)
            if n == n_total:
                break
            time.sleep(0.02)
    proc.wait(timeout=30)
    assert proc.returncode == 0
    assert seen[-1] == n_total
    assert len(seen) >= 3, f"reader saw the file grow only {len(seen)} times"
    with RunFile(path) as run:
        assert run.is_closed_cleanly
        assert run.verify_checksum().ok
        assert not math.isnan(run.summary()["rt_range"][1])


def test_large_and_small_scans_interleave_exactly(tmp_path: Path) -> None:
    path = tmp_path / "mixed.h5"
    rng = np.random.default_rng(5)
    sizes = [100, 20_000, 50, 0, 30_000, 10, 70_000, 3]
    spectra = [
        Spectrum(
            ScanHeader(index=i, native_id=f"s{i}", ms_level=1, rt=float(i), centroid=n < 1000),
            np.sort(rng.uniform(100, 2000, n)),
            rng.random(n),
        )
        for i, n in enumerate(sizes)
    ]
    with RunFileWriter(path, flush_scans=3) as w:
        for s in spectra:
            w.append_spectrum(s)
    with RunFile(path) as run:
        assert [len(s) for s in run.iter_spectra()] == sizes
        for original, stored in zip(spectra, run.iter_spectra(), strict=True):
            np.testing.assert_array_equal(stored.mz, original.mz)
            np.testing.assert_array_equal(stored.intensity, original.intensity)
        assert run.verify_checksum().ok
        assert math.isnan(run.scan_table()["mz_min"][3])
