"""The msuite command: version, info, convert, and one clear line for bad input."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from msuite import __version__
from msuite.cli import main
from msuite.core.model import RunMetadata
from msuite.io.runfile import RunFile, RunFileWriter
from tests.io.synthetic import synthetic_spectrum


def _run_file(path: Path, n: int = 24) -> Path:
    with RunFileWriter(path, RunMetadata(run_id="cli", instrument={"model": "Q Exactive"})) as w:
        for i in range(n):
            w.append_spectrum(synthetic_spectrum(i))
    return path


def _one_error_line(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def test_version_from_the_installed_console_script() -> None:
    exe = Path(sys.executable).with_name("msuite")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "msuite.cli"]
    out = subprocess.run([*cmd, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"msuite {__version__}"


def test_info_reports_counts_ranges_and_checksum(tmp_path: Path, capsys) -> None:
    path = _run_file(tmp_path / "run.h5")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "spectra: 24" in out
    assert "ms_levels: 1: 6, 2: 18" in out
    assert "rt_range: 0.000 - 5.750 s" in out
    assert "checksum: ok" in out


def test_info_flags_changed_and_unclosed_files(tmp_path: Path, capsys) -> None:
    path = _run_file(tmp_path / "run.h5")
    with h5py.File(path, "r+") as f:
        f["spectra/mz"][0] = 1.0
    assert main(["info", str(path)]) == 1
    assert "checksum: MISMATCH" in capsys.readouterr().out

    open_path = tmp_path / "open.h5"
    writer = RunFileWriter(open_path)
    writer.append_spectrum(synthetic_spectrum(0))
    writer.flush()
    writer.abandon()
    assert main(["info", str(open_path)]) == 0
    assert "checksum: absent" in capsys.readouterr().out


def test_run_file_to_mzml_and_back_keeps_arrays_exactly(tmp_path: Path, capsys) -> None:
    src = _run_file(tmp_path / "run.h5")
    for suffix in (".mzML", ".mzML.gz", ".mzMLb"):
        mid = tmp_path / f"mid{suffix}"
        back = tmp_path / f"back{suffix.replace('.', '_')}.h5"
        assert main(["convert", str(src), str(mid)]) == 0
        assert main(["convert", str(mid), str(back)]) == 0
        with RunFile(src) as a, RunFile(back) as b:
            assert b.n_spectra == a.n_spectra
            for x, y in zip(a.iter_spectra(), b.iter_spectra(), strict=True):
                np.testing.assert_array_equal(x.mz, y.mz)
                np.testing.assert_array_equal(x.intensity, y.intensity)
                assert (y.ms_level, y.rt, y.header.centroid, y.header.polarity) == (
                    x.ms_level,
                    x.rt,
                    x.header.centroid,
                    x.header.polarity,
                )
                assert [p.mz for p in y.header.precursors] == [p.mz for p in x.header.precursors]
            assert b.verify_checksum().ok
    assert "wrote" in capsys.readouterr().out


def test_missing_input_and_unknown_extension(tmp_path: Path, capsys) -> None:
    assert main(["convert", str(tmp_path / "nope.mzML"), str(tmp_path / "o.h5")]) == 2
    _one_error_line(capsys, "nope.mzML", "no such file")
    src = _run_file(tmp_path / "run.h5")
    assert main(["convert", str(src), str(tmp_path / "out.txt")]) == 2
    _one_error_line(capsys, "out.txt", "unknown file type", ".mzML")
    assert not (tmp_path / "out.txt").exists()


def test_newer_schema_run_file_is_refused(tmp_path: Path, capsys) -> None:
    path = _run_file(tmp_path / "run.h5")
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = 7
    assert main(["info", str(path)]) == 2
    _one_error_line(capsys, str(path), "schema", "7")
    assert main(["convert", str(path), str(tmp_path / "x.mzML")]) == 2
    _one_error_line(capsys, str(path))
    assert list(tmp_path.iterdir()) == [path]


def _bad_inputs(testdata: Path, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    text = (testdata / "pymzML" / "mini.chrom.mzML").read_text()
    truncated = tmp_path / "truncated.mzML"
    truncated.write_text(text[: len(text) // 2])
    not_mzml = tmp_path / "other.mzML"
    not_mzml.write_text('<?xml version="1.0"?>\n<html><body>hello</body></html>\n')
    unknown_cv = tmp_path / "unknown_cv.mzML"
    unknown_cv.write_text(text.replace('accession="MS:1000515"', 'accession="MS:9999999"', 1))
    garbage_gz = tmp_path / "garbage.mzML.gz"
    garbage_gz.write_bytes(gzip.compress(b"this is not xml at all")[:-6])
    return {
        "truncated": (truncated, "truncated.mzML:"),
        "not mzML": (not_mzml, "html"),
        "unknown CV term": (unknown_cv, "MS:9999999"),
        "garbage gzip": (garbage_gz, "garbage.mzML.gz"),
    }


@pytest.mark.realdata
def test_bad_mzml_exits_with_one_line_and_leaves_no_output(
    testdata: Path, tmp_path: Path, capsys
) -> None:
    keep = tmp_path / "keep.h5"
    _run_file(keep, 4)
    before = keep.read_bytes()
    for label, (path, needle) in _bad_inputs(testdata, tmp_path).items():
        out = tmp_path / f"out_{path.stem.replace('.', '_')}.h5"
        assert main(["convert", str(path), str(out)]) == 2, label
        _one_error_line(capsys, str(path.name), needle)
        assert not out.exists(), label
        assert main(["convert", str(path), str(keep)]) == 2, label
        capsys.readouterr()
        assert keep.read_bytes() == before, f"{label}: existing output changed"
    leftovers = [p.name for p in tmp_path.iterdir() if ".partial-" in p.name]
    assert leftovers == []


@pytest.mark.realdata
def test_convert_real_gzip_mzml_and_summarise(testdata: Path, tmp_path: Path, capsys) -> None:
    src = testdata / "pymzML" / "example.mzML.gz"
    out = tmp_path / "example.h5"
    assert main(["convert", str(src), str(out)]) == 0
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "spectra: 11" in text and "checksum: ok" in text
    assert "chromatograms: 1" in text


@pytest.mark.realdata
def test_info_on_real_srm_mzml(testdata: Path, capsys) -> None:
    path = testdata / "OpenMS" / "srm_mrm" / "Spyogenes.chrom.mzML"
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "chromatograms: 106" in out
    assert "chromatogram_kinds: BPC: 20, SRM: 86" in out
    assert "checksum: not recorded" in out
