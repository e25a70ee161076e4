"""mzMLb: write real data with write_mzmlb, read it back with MzMLbReader and pyteomics."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

import msuite
from msuite.core.errors import FileFormatError, InputError
from msuite.core.model import Chromatogram, ChromatogramKind, Spectrum
from msuite.io.mzml_reader import MzMLReader
from msuite.io.mzmlb import MzMLbReader, write_mzmlb
from tests.io.test_mzml_writer import assert_same_items

pytestmark = pytest.mark.realdata

FILES = [
    "ms_deisotope/small.mzML",
    "OpenMS/lcms/FeatureFinderMultiplex_9_input.mzML",
    "pymzML/example.mzML.gz",
    "pymzML/mini.chrom.mzML",
    "SmartPeak/yeast_MRM_unknowns/170808_Jonathan_yeast_Sacc1_1x.mzML",
]


def convert(src: Path, dst: Path) -> tuple[list[Spectrum], list[Chromatogram], list[int]]:
    reader = MzMLReader(src)
    items = list(reader)
    spectra = [x for x in items if isinstance(x, Spectrum)]
    chroms = [x for x in items if isinstance(x, Chromatogram)]
    calls: list[int] = []
    write_mzmlb(
        dst,
        reader.read_metadata(),
        spectra,
        chroms,
        n_spectra=len(spectra),
        n_chromatograms=len(chroms),
        progress=calls.append,
    )
    return spectra, chroms, calls


def pyteomics_mzmlb(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from pyteomics import mzmlb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mzmlb.MzMLb(str(path)) as reader:
            spectra = list(reader)
        with mzmlb.MzMLb(str(path)) as reader:
            return spectra, list(reader.iterfind("chromatogram"))


@pytest.mark.parametrize("name", FILES)
def test_round_trip(testdata: Path, tmp_path: Path, name: str) -> None:
    dst = tmp_path / "out.mzMLb"
    spectra, chroms, calls = convert(testdata / name, dst)
    assert sum(calls) == len(spectra) + len(chroms)
    assert h5py.is_hdf5(dst)
    reader = MzMLbReader(dst)
    back = list(reader)
    assert_same_items([*spectra, *chroms], back)
    assert reader.count_hint() == (len(spectra), len(chroms))
    assert len(list(reader.spectra())) == len(spectra)
    assert len(list(reader.chromatograms())) == len(chroms)
    # pyteomics reads the same arrays and headers
    ref_spectra, ref_chroms = pyteomics_mzmlb(dst)
    assert len(ref_spectra) == len(spectra) and len(ref_chroms) == len(chroms)
    for ref, ours in zip(ref_spectra, spectra, strict=True):
        np.testing.assert_array_equal(np.asarray(ref["m/z array"], np.float64), ours.mz)
        np.testing.assert_array_equal(
            np.asarray(ref["intensity array"], np.float64), ours.intensity
        )
        assert ref["ms level"] == ours.ms_level
        assert float(ref["scanList"]["scan"][0]["scan start time"]) == ours.rt  # seconds
    for ref, ours in zip(ref_chroms, chroms, strict=True):
        np.testing.assert_array_equal(np.asarray(ref["time array"], np.float64), ours.time)
        np.testing.assert_array_equal(
            np.asarray(ref["intensity array"], np.float64), ours.intensity
        )


def test_metadata(testdata: Path, tmp_path: Path) -> None:
    src = testdata / "OpenMS/lcms/FeatureFinderMultiplex_9_input.mzML"
    dst = tmp_path / "ff9.mzMLb"
    convert(src, dst)
    before, after = MzMLReader(src).read_metadata(), MzMLbReader(dst).read_metadata()
    assert after.run_id == before.run_id and after.start_time == before.start_time
    assert after.instrument["accession"] == before.instrument["accession"] == "MS:1001742"
    assert any(s["id"] == "msuite" and s["version"] == msuite.__version__ for s in after.software)
    assert after.source_files == before.source_files


def test_srm_details(testdata: Path, tmp_path: Path) -> None:
    dst = tmp_path / "srm.mzMLb"
    convert(testdata / "SmartPeak/yeast_MRM_unknowns/170808_Jonathan_yeast_Sacc1_1x.mzML", dst)
    chroms = list(MzMLbReader(dst).chromatograms())
    assert chroms[0].kind == ChromatogramKind.TIC
    assert (chroms[1].kind, chroms[1].precursor_mz, chroms[1].product_mz) == (
        ChromatogramKind.SRM,
        179.0,
        136.0,
    )


def test_count_mismatch_leaves_no_file(testdata: Path, tmp_path: Path) -> None:
    reader = MzMLReader(testdata / "pymzML/mini.chrom.mzML")
    chroms = list(reader.chromatograms())
    with pytest.raises(InputError):
        write_mzmlb(
            tmp_path / "x.mzMLb", reader.read_metadata(), [], chroms, n_spectra=0, n_chromatograms=9
        )
    assert list(tmp_path.iterdir()) == []


def test_not_hdf5(testdata: Path) -> None:
    path = testdata / "pymzML/mini.chrom.mzML"
    with pytest.raises(FileFormatError) as info:
        MzMLbReader(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError) as info:
        MzMLbReader(tmp_path / "absent.mzMLb")
    assert info.value.path == str(tmp_path / "absent.mzMLb")


def test_hdf5_without_mzml(tmp_path: Path) -> None:
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        h5["data"] = np.arange(3)
    with pytest.raises(FileFormatError) as info:
        list(MzMLbReader(path))
    assert info.value.field == "mzML"


def test_missing_array_dataset(testdata: Path, tmp_path: Path) -> None:
    dst = tmp_path / "broken.mzMLb"
    convert(testdata / "pymzML/mini.chrom.mzML", dst)
    with h5py.File(dst, "a") as h5:
        name = next(k for k in h5 if k.startswith("chromatogram_MS_1000515"))
        del h5[name]
    with pytest.raises(FileFormatError) as info:
        list(MzMLbReader(dst))
    assert name in str(info.value) and info.value.line is not None


def test_truncated_xml_dataset(testdata: Path, tmp_path: Path) -> None:
    dst = tmp_path / "cut.mzMLb"
    convert(testdata / "pymzML/mini.chrom.mzML", dst)
    with h5py.File(dst, "a") as h5:
        xml = h5["mzML"][()]
        del h5["mzML"]
        h5["mzML"] = xml[: xml.size // 2]
    with pytest.raises(FileFormatError) as info:
        list(MzMLbReader(dst))
    assert info.value.line is not None and "\n" not in str(info.value)
