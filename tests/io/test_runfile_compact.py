"""A closed run file does not keep the dead chunk copies that per-second SWMR flushes leave."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from msuite.io.runfile import RunFile, RunFileWriter
from msuite.io.runfile.compact import compact_if_bloated, stored_bytes
from tests.io.synthetic import synthetic_spectrum

N_SCANS = 1500


def _write_flushing_every_scan(path: Path, *, compact: bool) -> str:
    with RunFileWriter(path, compact=compact) as writer:
        for i in range(N_SCANS):
            writer.append_spectrum(synthetic_spectrum(i))
            writer.flush()  # what the 1 s policy does during a slow live acquisition
        return writer.close()


def test_bloated_file_is_compacted_at_close_with_the_same_content(tmp_path: Path) -> None:
    loose, tight = tmp_path / "loose.h5", tmp_path / "tight.h5"
    loose_sum = _write_flushing_every_scan(loose, compact=False)
    tight_sum = _write_flushing_every_scan(tight, compact=True)
    assert loose_sum == tight_sum
    assert loose.stat().st_size > 5 * tight.stat().st_size  # the dead copies are gone
    assert tight.stat().st_size < 2 * stored_bytes(tight) + (1 << 20)
    assert not (tmp_path / "tight.h5.compact").exists()
    with RunFile(loose) as a, RunFile(tight) as b:
        assert b.verify_checksum().ok and b.is_closed_cleanly
        assert a.n_spectra == b.n_spectra == N_SCANS
        for i in (0, 700, N_SCANS - 1):
            sa, sb = a.spectrum(i), b.spectrum(i)
            assert np.array_equal(sa.mz, sb.mz) and np.array_equal(sa.intensity, sb.intensity)
        same = {k: v for k, v in a.attributes().items() if not k.endswith("_utc")}
        assert {k: v for k, v in b.attributes().items() if not k.endswith("_utc")} == same
        assert b.metadata() == a.metadata()


def test_a_lean_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "lean.h5"
    with RunFileWriter(path) as writer:
        for i in range(50):
            writer.append_spectrum(synthetic_spectrum(i))
    before = path.stat().st_mtime_ns, path.stat().st_ino
    assert compact_if_bloated(path) is False
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before
