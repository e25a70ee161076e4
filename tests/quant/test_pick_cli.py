"""``msuite pick``: real profile files in, centroided files out."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from msuite.core.errors import InputError
from msuite.io.convert import open_source
from msuite.quant.centroid import CentroidParams, centroid_spectra
from msuite.quant.cli import add_quant_commands
from tests.quant.helpers import PROFILE_DIR, match_peaks, read_spectra


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="msuite")
    add_quant_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_pick_profile_mzml_to_mzml(testdata: Path, tmp_path: Path) -> None:
    src = testdata / "ms_deisotope" / "three_test_scans.mzML"
    out = tmp_path / "picked.mzML"
    assert run(["pick", str(src), str(out), "--min-snr", "1"]) == 0
    before = read_spectra(src)
    after = list(open_source(out).spectra())
    assert len(after) == len(before) == 3
    expected = centroid_spectra(before, CentroidParams(min_snr=1.0))
    for b, a, e in zip(before, after, expected, strict=True):
        assert b.header.centroid is False
        assert a.header.centroid is True
        assert a.native_id == b.native_id and a.rt == pytest.approx(b.rt)
        assert 0 < len(a) < len(b)
        np.testing.assert_allclose(a.mz, e.mz)
        np.testing.assert_allclose(a.intensity, e.height)
    assert len(list(open_source(out).chromatograms())) == 1


def test_pick_reference_file_to_run_file(testdata: Path, tmp_path: Path) -> None:
    src = testdata / PROFILE_DIR / "PeakPickerHiRes_input.mzML"
    out = tmp_path / "picked.h5"
    argv = ["pick", str(src), str(out), "--assume", "profile", "--ms-levels", "1",
            "--min-snr", "1", "--noise-bin-centre"]
    assert run(argv) == 0
    picked = list(open_source(out).spectra())
    ref = read_spectra(testdata / PROFILE_DIR / "PeakPickerHiRes_output.mzML")
    src_spectra = read_spectra(src)
    assert len(picked) == len(ref) == 5
    for p, r, s in zip(picked, ref, src_spectra, strict=True):
        if s.ms_level == 1:
            assert p.header.centroid is True
            assert match_peaks(r.mz, r.intensity, p.mz, p.intensity).mean() >= 0.99
        else:  # not in --ms-levels: unchanged
            np.testing.assert_array_equal(p.mz, s.mz)
            np.testing.assert_array_equal(p.intensity, s.intensity)


def test_unknown_peak_mode_is_refused_and_nothing_written(testdata: Path, tmp_path: Path) -> None:
    src = testdata / PROFILE_DIR / "PeakPickerHiRes_input.mzML"
    out = tmp_path / "picked.mzML"
    with pytest.raises(InputError) as info:
        run(["pick", str(src), str(out)])
    assert info.value.field == "spectrum" and "profile" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(testdata: Path, tmp_path: Path) -> None:
    src = testdata / "ms_deisotope" / "three_test_scans.mzML"
    with pytest.raises(InputError):
        run(["pick", str(src), str(tmp_path / "out.txt")])
    with pytest.raises(InputError):
        run(["pick", str(src), str(tmp_path / "out.mzML"), "--min-snr", "-2"])
    with pytest.raises(InputError):
        run(["pick", str(tmp_path / "missing.mzML"), str(tmp_path / "out.mzML")])


def test_cli_assume_choices_are_the_pickers() -> None:
    from msuite.quant import cli, pick

    assert cli.ASSUME_CHOICES == pick.ASSUME_CHOICES
