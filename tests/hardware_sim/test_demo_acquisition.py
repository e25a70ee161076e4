"""The demo's acquisition: embedded simulator -> driver over TCP -> run file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from msuite.hardware_sim.demo_acquisition import acquire_demo_run, demo_srm_table
from msuite.io.runfile import RunFile


def test_demo_acquisition_writes_a_run_file(tmp_path: Path) -> None:
    path = tmp_path / "sim.h5"
    lines: list[str] = []
    out = acquire_demo_run(path, run_s=600, full_s=10, speed=1000, say=lines.append)
    assert out["srm_cycles"] > 100 and out["full_scans"] > 10
    assert lines[0].startswith("simulator at TCPIP::127.0.0.1::")
    with RunFile(path) as run:
        assert run.n_spectra == out["full_scans"]
    assert demo_srm_table().size == 16
    assert np.isfinite(demo_srm_table()["precursor_mz"]).all()
