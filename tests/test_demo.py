"""The main job (`make demo`) runs end to end on the embedded simulator and generated data."""

from __future__ import annotations

from pathlib import Path

from msuite.demo import run_demo
from msuite.io.runfile import RunFile


def test_demo_acquires_converts_and_recovers_the_truth(tmp_path: Path, capsys) -> None:
    result = run_demo(tmp_path)
    assert result["identical"] is True
    assert result["max_rt_error_s"] < 1.0
    with RunFile(tmp_path / "sim_run.h5") as run:
        assert run.verify_checksum().ok
        assert run.n_spectra > 0
    with RunFile(tmp_path / "demo_run.h5") as run:
        assert run.verify_checksum().ok
    out = capsys.readouterr().out
    assert "TCPIP::127.0.0.1::" in out
    assert "checksum: ok" in out
    # the acquisition was centroided and quantified, and the ratios match the simulated sample
    quant = result["quant"]
    assert quant["peaks"] > 0
    assert quant["max_ratio_error_pct"] < 5.0
    for name in ("transitions.csv", "peptides.csv", "proteins.csv", "peptides.mzTab"):
        assert (tmp_path / "quant" / name).is_file()
    with RunFile(tmp_path / "sim_run_centroided.h5") as run:
        assert run.verify_checksum().ok
    assert "light/heavy ratio per peptide" in out
