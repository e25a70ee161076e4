"""Run-file chromatograms: batched append, bulk read, file size, bad input, SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from msuite.core.errors import InputError, RunFileStateError
from msuite.core.model import Chromatogram, ChromatogramKind, RunMetadata
from msuite.io.runfile import RunFile, RunFileWriter
from msuite.io.runfile import chromatograms as chromatogram_reading
from msuite.io.runfile.schema import CHECKSUM_ORDER
from tests.io.synthetic import synthetic_chromatogram, synthetic_spectrum

WRITER_SCRIPT = Path(__file__).with_name("writer_process.py")
META = RunMetadata(run_id="srm", instrument={"model": "SIM-TQ600"})


def _chromatograms(n: int) -> list[Chromatogram]:
    chroms = [synthetic_chromatogram(i) for i in range(n)]
    # an empty trace and a single point must survive batching too
    chroms[3] = synthetic_chromatogram(3, n_points=0)
    chroms[4] = synthetic_chromatogram(4, n_points=1)
    return chroms


def _datasets(path: Path) -> dict[str, bytes]:
    with h5py.File(path, "r") as f:
        return {name: f[name][:].tobytes() for name in CHECKSUM_ORDER}


def _assert_same(a: Chromatogram, b: Chromatogram) -> None:
    assert a.native_id == b.native_id
    assert a.kind == b.kind
    assert a.polarity == b.polarity
    np.testing.assert_array_equal(a.time, b.time)
    np.testing.assert_array_equal(a.intensity, b.intensity)
    np.testing.assert_array_equal(
        [a.precursor_mz, a.product_mz, a.collision_energy],
        [b.precursor_mz, b.product_mz, b.collision_energy],
    )


def test_batched_and_single_appends_store_identical_content_and_checksum(tmp_path: Path) -> None:
    chroms = _chromatograms(700)
    spectra = [synthetic_spectrum(i) for i in range(20)]
    single, batched = tmp_path / "single.h5", tmp_path / "batched.h5"
    with RunFileWriter(single, META, flush_scans=7) as w:
        for s in spectra:
            w.append_spectrum(s)
        indices = [w.append_chromatogram(c) for c in chroms]
        checksum_single = w.close()
    assert indices == list(range(700))
    with RunFileWriter(batched, META) as w:
        w.append_spectra(spectra)
        got = [
            w.append_chromatograms(chroms[a:b]) for a, b in ((0, 1), (1, 1), (1, 300), (300, 700))
        ]
        assert w.n_chromatograms == 700
        checksum_batched = w.close()
    assert got == [range(0, 1), range(1, 1), range(1, 300), range(300, 700)]
    assert checksum_batched == checksum_single
    assert _datasets(batched) == _datasets(single)
    with RunFile(batched) as run:
        assert run.verify_checksum().ok
        table = run.chromatogram_table()
        lengths = np.array([c.time.size for c in chroms])
        np.testing.assert_array_equal(table["length"], lengths)
        np.testing.assert_array_equal(table["offset"], np.cumsum(lengths) - lengths)
        with h5py.File(batched, "r") as f:
            np.testing.assert_array_equal(
                f["chromatograms/time"][:], np.concatenate([c.time for c in chroms])
            )


def test_batched_append_accepts_any_iterable(tmp_path: Path) -> None:
    path = tmp_path / "gen.h5"
    with RunFileWriter(path, META) as w:
        assert w.append_chromatograms(synthetic_chromatogram(i) for i in range(5)) == range(5)
        assert w.append_chromatograms([]) == range(5, 5)
    with RunFile(path) as run:
        assert [c.native_id for c in run.chromatograms()] == [
            synthetic_chromatogram(i).native_id for i in range(5)
        ]


@pytest.mark.parametrize("block_points", [chromatogram_reading.READ_BLOCK_POINTS, 100])
def test_bulk_read_equals_per_index_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_points: int
) -> None:
    monkeypatch.setattr(chromatogram_reading, "READ_BLOCK_POINTS", block_points)
    chroms = _chromatograms(300)
    path = tmp_path / "bulk.h5"
    with RunFileWriter(path, META) as w:
        w.append_chromatograms(chroms)
    with RunFile(path) as run:
        assert run.n_chromatograms == 300
        every = run.chromatograms()
        assert len(every) == 300
        for i, c in enumerate(every):
            _assert_same(c, run.chromatogram(i))
            _assert_same(c, chroms[i])
        for c, expected in zip(run.iter_chromatograms(), chroms, strict=True):
            _assert_same(c, expected)
        wanted = [299, 3, 0, 150, 3, -1, 4]
        for c, i in zip(run.chromatograms(wanted), wanted, strict=True):
            _assert_same(c, chroms[i])
        assert run.chromatograms(np.array([], dtype=np.int64)) == []
        assert run.chromatograms(range(10, 13))[2].native_id == chroms[12].native_id


def test_run_without_chromatograms_reads_empty(tmp_path: Path) -> None:
    path = tmp_path / "none.h5"
    with RunFileWriter(path, META) as w:
        w.append_spectrum(synthetic_spectrum(0))
    with RunFile(path) as run:
        assert run.chromatograms() == []
        assert list(run.iter_chromatograms()) == []
        with pytest.raises(InputError, match="no chromatograms"):
            run.chromatograms([0])


@pytest.mark.parametrize("batched", [False, True])
def test_many_small_chromatograms_make_a_small_file(tmp_path: Path, batched: bool) -> None:
    # 2,000 x 40 points = 1.3 MB of arrays; flushing each chromatogram made this 220 MB
    chroms = [synthetic_chromatogram(i, n_points=40) for i in range(2000)]
    path = tmp_path / "small.h5"
    with RunFileWriter(path, META) as w:
        if batched:
            w.append_chromatograms(chroms)
        else:
            for c in chroms:
                w.append_chromatogram(c)
    assert path.stat().st_size < 5_000_000
    with RunFile(path) as run:
        assert run.n_chromatograms == 2000
        assert run.verify_checksum().ok


def test_bad_batches_are_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "bad.h5"
    w = RunFileWriter(path, META)
    w.append_chromatograms([synthetic_chromatogram(0)])
    with pytest.raises(InputError, match="not a chromatogram") as err:
        w.append_chromatograms([synthetic_chromatogram(1), synthetic_spectrum(2)])
    assert err.value.field == "chromatograms[1]"
    assert err.value.value == "Spectrum"
    long_id = Chromatogram("x" * 129, ChromatogramKind.SRM, np.arange(3.0), np.ones(3))
    with pytest.raises(InputError, match="native_id too long"):
        w.append_chromatograms([synthetic_chromatogram(1), long_id])
    with pytest.raises(InputError, match="not a chromatogram"):
        w.append_chromatogram(np.arange(3.0))  # type: ignore[arg-type]
    assert w.n_chromatograms == 1
    w.close()
    with pytest.raises(RunFileStateError, match="closed"):
        w.append_chromatograms([synthetic_chromatogram(1)])
    with RunFile(path) as run:
        assert run.n_chromatograms == 1
        assert run.verify_checksum().ok
        with pytest.raises(InputError, match="out of range") as err:
            run.chromatograms([0, 1])
        assert err.value.field == "indices"
        with pytest.raises(InputError, match="integers"):
            run.chromatograms([0.5])
        with pytest.raises(InputError, match="integers"):
            run.chromatograms([[0]])


@pytest.mark.parametrize("mode", ["chromatograms", "chromatogram-batches"])
def test_sigkilled_writer_leaves_every_flushed_chromatogram(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "killed.h5"
    proc = subprocess.Popen(
        [sys.executable, str(WRITER_SCRIPT), str(path), "1000000", "10", "0.001", mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    flushed = 0
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            flushed = int(line.split()[1])
            if flushed >= 300:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert flushed >= 300
    with RunFile(path) as run:
        n = run.n_chromatograms
        assert n >= flushed
        assert not run.is_closed_cleanly
        assert run.verify_checksum().state == "absent"
        read = run.chromatograms()
        assert len(read) == n
        for i in (0, flushed // 2, flushed - 1, n - 1):
            _assert_same(read[i], synthetic_chromatogram(i))


def test_buffered_chromatograms_keep_the_data_as_appended(tmp_path: Path) -> None:
    path = tmp_path / "reuse.h5"
    time, intensity = np.arange(4.0), np.full(4, 7.0)
    with RunFileWriter(path, META) as w:
        w.append_chromatogram(Chromatogram("a", ChromatogramKind.SRM, time, intensity))
        time[:] = -1.0  # a caller refilling its buffers before the flush
        intensity[:] = -1.0
        w.append_chromatograms([Chromatogram("b", ChromatogramKind.SRM, time, intensity)])
    with RunFile(path) as run:
        a, b = run.chromatograms()
    np.testing.assert_array_equal(a.time, np.arange(4.0))
    np.testing.assert_array_equal(a.intensity, np.full(4, 7.0))
    np.testing.assert_array_equal(b.time, np.full(4, -1.0))
