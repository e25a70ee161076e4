"""MzMLReader on real public files, cross-checked against pymzml and pyteomics."""

from __future__ import annotations

import base64
import gzip
import math
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from lxml import etree

from msuite.core.errors import FileFormatError, UnknownCVTermError
from msuite.core.model import Chromatogram, ChromatogramKind, Polarity, Spectrum
from msuite.io import cv
from msuite.io.mzml_binary import decode_pic
from msuite.io.mzml_reader import MzMLReader

pytestmark = pytest.mark.realdata

SPECTRUM_FILES = [
    "ms_deisotope/small.mzML",  # profile MS1 + centroid MS2, minutes, 64-bit m/z + 32-bit intensity
    "OpenMS/profile_peakpicking/FeatureFinderMultiplex_5_input.mzML",  # profile, seconds
    "OpenMS/lcms/FeatureFinderMultiplex_9_input.mzML",  # centroid MS1 + MS2 with precursors
    "pymzML/example.mzML.gz",  # gzip, minutes
    "OpenMS/lcms/MapAlignmentAlgorithmPoseClustering_in1.mzML.gz",  # gzip, plain mzML
]
#: chromatogram files and the seconds per unit of their time arrays
CHROMATOGRAM_FILES = [
    ("OpenMS/srm_mrm/Spyogenes.chrom.mzML", 1.0),
    ("pymzML/mini.chrom.mzML", 1.0),
    ("SmartPeak/yeast_MRM_unknowns/170808_Jonathan_yeast_Sacc1_1x.mzML", 60.0),
]
NS = "{http://psi.hupo.org/ms/mzml}"


# --- reference readers (shared with the writer and mzMLb tests) ---------------------------
def pyteomics_source(path: Path) -> tuple[Any, bool]:
    """Return what pyteomics should open and whether it may use the index."""
    with open(path, "rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    return (gzip.open(path), False) if compressed else (str(path), True)


def pyteomics_spectra(path: Path) -> list[dict[str, Any]]:
    from pyteomics import mzml

    source, use_index = pyteomics_source(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mzml.MzML(source, use_index=use_index) as reader:
            return list(reader)


def pyteomics_chromatograms(path: Path) -> list[dict[str, Any]]:
    from pyteomics import mzml

    source, use_index = pyteomics_source(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mzml.MzML(source, use_index=use_index) as reader:
            return list(reader.iterfind("chromatogram"))


def pymzml_arrays(path: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    import pymzml

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = pymzml.run.Reader(str(path))
        return [
            (
                s.ID if isinstance(s.ID, str) else s.get("id"),
                np.asarray(s.mz, np.float64),
                np.asarray(s.i, np.float64),
            )
            for s in run
        ]


def rt_seconds(ref: dict[str, Any]) -> float:
    value = ref["scanList"]["scan"][0]["scan start time"]
    factor = 60.0 if getattr(value, "unit_info", "") == "minute" else 1.0
    return float(value) * factor


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def read_all(path: Path) -> tuple[list[Spectrum], list[Chromatogram]]:
    items = list(MzMLReader(path))
    spectra = [x for x in items if isinstance(x, Spectrum)]
    chroms = [x for x in items if isinstance(x, Chromatogram)]
    return spectra, chroms


def check_spectra_against_references(path: Path, spectra: list[Spectrum]) -> None:
    """Arrays exactly equal to pymzml's; headers equal to pyteomics'."""
    arrays = pymzml_arrays(path)
    assert len(arrays) == len(spectra)
    for (_, mz, inten), ours in zip(arrays, spectra, strict=True):
        np.testing.assert_array_equal(ours.mz, mz)
        np.testing.assert_array_equal(ours.intensity, inten)
        assert ours.mz.dtype == np.float64 and ours.intensity.dtype == np.float64
    refs = pyteomics_spectra(path)
    assert len(refs) == len(spectra)
    for ref, ours in zip(refs, spectra, strict=True):
        h = ours.header
        assert h.native_id == ref["id"]
        assert h.ms_level == ref.get("ms level", 1)
        assert h.rt == pytest.approx(rt_seconds(ref), rel=1e-12)
        if "centroid spectrum" in ref:
            assert h.centroid is True
        elif "profile spectrum" in ref:
            assert h.centroid is False
        if "positive scan" in ref:
            assert h.polarity == Polarity.POSITIVE
        precursors = ref.get("precursorList", {}).get("precursor", [])
        assert len(h.precursors) == len(precursors)
        for p_ref, p in zip(precursors, h.precursors, strict=True):
            ion = p_ref["selectedIonList"]["selectedIon"][0]
            assert p.mz == ion["selected ion m/z"]
            assert p.charge == int(ion.get("charge state", 0))
            window = p_ref.get("isolationWindow", {})
            if "isolation window target m/z" in window:
                assert p.isolation_target == window["isolation window target m/z"]
            if "collision-induced dissociation" in p_ref.get("activation", {}):
                assert p.activation == cv.CID
        if "total ion current" in ref and not math.isnan(h.tic):  # userParam TICs are not read
            assert h.tic == ref["total ion current"]


def check_chromatograms_against_pyteomics(
    path: Path, chroms: list[Chromatogram], factor: float
) -> None:
    refs = pyteomics_chromatograms(path)
    assert len(refs) == len(chroms)
    for ref, ours in zip(refs, chroms, strict=True):
        assert ours.native_id == ref["id"]
        np.testing.assert_array_equal(ours.time, np.asarray(ref["time array"], np.float64) * factor)
        np.testing.assert_array_equal(
            ours.intensity, np.asarray(ref["intensity array"], np.float64)
        )
        if "selected reaction monitoring chromatogram" in ref:
            assert ours.kind == ChromatogramKind.SRM
        elif "total ion current chromatogram" in ref:
            assert ours.kind == ChromatogramKind.TIC
        elif "basepeak chromatogram" in ref:
            assert ours.kind == ChromatogramKind.BPC
        if "precursor" in ref:
            pre = ref["precursor"]
            pre = pre[0] if isinstance(pre, list) else pre
            assert ours.precursor_mz == pre["isolationWindow"]["isolation window target m/z"]
            energy = pre.get("activation", {}).get("collision energy")
            if energy is not None:
                assert ours.collision_energy == energy
        if "product" in ref:
            prod = ref["product"]
            prod = prod[0] if isinstance(prod, list) else prod
            assert ours.product_mz == prod["isolationWindow"]["isolation window target m/z"]
        if "negative scan" in ref:
            assert ours.polarity == Polarity.NEGATIVE


# --- spectra and chromatograms ----------------------------------------------------------
@pytest.mark.parametrize("name", SPECTRUM_FILES)
def test_spectra_match_pymzml_and_pyteomics(testdata: Path, name: str) -> None:
    spectra, _ = read_all(testdata / name)
    assert spectra
    check_spectra_against_references(testdata / name, spectra)


@pytest.mark.parametrize(("name", "factor"), CHROMATOGRAM_FILES)
def test_chromatograms_match_pyteomics(testdata: Path, name: str, factor: float) -> None:
    spectra, chroms = read_all(testdata / name)
    assert not spectra and chroms
    check_chromatograms_against_pyteomics(testdata / name, chroms, factor)


def test_srm_chromatogram_details(testdata: Path) -> None:
    path = testdata / "SmartPeak/yeast_MRM_unknowns/170808_Jonathan_yeast_Sacc1_1x.mzML"
    chroms = list(MzMLReader(path).chromatograms())
    assert len(chroms) == 340
    tic, first = chroms[0], chroms[1]
    assert tic.kind == ChromatogramKind.TIC and math.isnan(tic.precursor_mz)
    assert first.kind == ChromatogramKind.SRM
    assert (first.precursor_mz, first.product_mz) == (179.0, 136.0)
    assert first.polarity == Polarity.NEGATIVE
    assert first.collision_energy == 0.0
    assert sum(c.kind == ChromatogramKind.SRM for c in chroms) == 339
    spy = list(MzMLReader(testdata / "OpenMS/srm_mrm/Spyogenes.chrom.mzML").chromatograms())
    kinds = [c.kind for c in spy]
    assert kinds.count(ChromatogramKind.BPC) == 20 and kinds.count(ChromatogramKind.SRM) == 86


def test_minutes_are_converted_to_seconds(testdata: Path) -> None:
    path = testdata / "ms_deisotope/small.mzML"
    first = next(MzMLReader(path).spectra())
    root = etree.parse(str(path)).getroot()
    param = root.find(f".//{NS}spectrum//{NS}cvParam[@accession='MS:1000016']")
    assert param.get("unitAccession") == cv.UO_MINUTE
    assert first.rt == float(param.get("value")) * 60.0
    tic = next(MzMLReader(path).chromatograms())
    assert tic.kind == ChromatogramKind.TIC
    assert tic.time[-1] == pytest.approx(29.2, abs=0.1)  # 0.49 min


def test_32_and_64_bit_arrays(testdata: Path) -> None:
    spectrum = next(MzMLReader(testdata / "ms_deisotope/small.mzML").spectra())
    # m/z is stored as 64-bit floats, intensity as 32-bit floats
    assert not np.array_equal(spectrum.mz.astype(np.float32).astype(np.float64), spectrum.mz)
    np.testing.assert_array_equal(
        spectrum.intensity.astype(np.float32).astype(np.float64), spectrum.intensity
    )
    assert spectrum.mz.flags.writeable and spectrum.intensity.flags.c_contiguous


def test_precursors_of_ms2(testdata: Path) -> None:
    spectra = list(
        MzMLReader(testdata / "OpenMS/lcms/FeatureFinderMultiplex_9_input.mzML").spectra()
    )
    assert [s.ms_level for s in spectra].count(2) == 199
    ms2 = next(s for s in spectra if s.ms_level == 2)
    (p,) = ms2.header.precursors
    assert p.mz == pytest.approx(738.369689941406)
    assert p.charge == 3 and p.activation == cv.CID and p.collision_energy == 35.0
    assert (p.isolation_lower, p.isolation_upper) == (1.0, 1.0)
    assert p.intensity == pytest.approx(8936.8681640625)
    assert ms2.header.scan_window == (190.0, 2000.0)


def test_header_fields_small(testdata: Path) -> None:
    first = next(MzMLReader(testdata / "ms_deisotope/small.mzML").spectra())
    h = first.header
    assert h.index == 0 and h.ms_level == 1 and h.centroid is False
    assert h.scan_window == (200.0, 2000.0)
    assert h.filter_string == "FTMS + p ESI Full ms [200.00-2000.00]"
    assert h.injection_time == pytest.approx(68.227485656738)
    assert h.base_peak_mz == pytest.approx(810.415283203125)
    assert h.tic == 15245068.0


def test_metadata(testdata: Path) -> None:
    meta = MzMLReader(testdata / "ms_deisotope/small.mzML").read_metadata()
    assert meta.run_id == "small"
    assert meta.start_time == "2005-07-20T18:44:22Z"
    assert meta.instrument["model"] == "LTQ FT"
    assert meta.instrument["accession"] == "MS:1000448"
    assert meta.instrument["serial"] == "SN06061F"
    assert [c["type"] for c in meta.instrument["components"]] == ["source", "analyzer", "detector"]
    assert {s["id"] for s in meta.software} == {"Xcalibur", "pwiz"}
    (source,) = meta.source_files
    assert source["sha1"] == "b43e9286b40e8b5dbc0dfa2e428495769ca96a96"
    assert source["format_accession"] == "MS:1000563"
    # the instrument model sits in a referenceable param group here
    gz = MzMLReader(testdata / "pymzML/example.mzML.gz").read_metadata()
    assert gz.instrument["model"] == "Q Exactive"


def test_count_hint(testdata: Path) -> None:
    assert MzMLReader(testdata / "ms_deisotope/small.mzML").count_hint() == (48, 1)
    assert MzMLReader(testdata / "pymzML/mini.chrom.mzML").count_hint() == (0, 3)
    gz = MzMLReader(testdata / "OpenMS/lcms/MapAlignmentAlgorithmPoseClustering_in1.mzML.gz")
    assert gz.count_hint()[0] == 2035


def test_document_order_and_filters(testdata: Path) -> None:
    reader = MzMLReader(testdata / "ms_deisotope/small.mzML")
    items = list(reader)
    assert isinstance(items[-1], Chromatogram) and all(isinstance(x, Spectrum) for x in items[:-1])
    assert len(list(reader.spectra())) == 48
    assert len(list(reader.chromatograms())) == 1
    assert [s.header.index for s in reader.spectra()] == list(range(48))


def test_gzip_detected_by_content_not_name(testdata: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "example.mzML"  # gzip data without the .gz suffix
    renamed.write_bytes((testdata / "pymzML/example.mzML.gz").read_bytes())
    assert len(list(MzMLReader(renamed).spectra())) == 11


# --- MS-Numpress ------------------------------------------------------------------------
def _numpress_copy(src: Path, dst: Path, with_zlib: bool) -> list[np.ndarray]:
    """Re-encode every array of ``src`` with MS-Numpress; return the expected decoded arrays."""
    pynumpress = pytest.importorskip("pynumpress")
    tree = etree.parse(str(src))
    expected = []
    reader_arrays = [(c.time, c.intensity) for c in MzMLReader(src).chromatograms()]
    bdas = tree.getroot().iter(f"{NS}binaryDataArray")
    flat = [a for pair in reader_arrays for a in pair]
    schemes = {
        "linear": (cv.NUMPRESS_LINEAR_ZLIB if with_zlib else cv.NUMPRESS_LINEAR),
        "slof": (cv.NUMPRESS_SLOF_ZLIB if with_zlib else cv.NUMPRESS_SLOF),
        "pic": (cv.NUMPRESS_PIC_ZLIB if with_zlib else cv.NUMPRESS_PIC),
    }
    for i, (bda, values) in enumerate(zip(bdas, flat, strict=True)):
        scheme = "linear" if i % 2 == 0 else ("slof" if i % 4 == 1 else "pic")
        if scheme == "linear":
            encoded = pynumpress.encode_linear(
                values, pynumpress.optimal_linear_fixed_point(values)
            )
            expected.append(np.asarray(pynumpress.decode_linear(encoded)))
        elif scheme == "slof":
            encoded = pynumpress.encode_slof(values, pynumpress.optimal_slof_fixed_point(values))
            expected.append(np.asarray(pynumpress.decode_slof(encoded)))
        else:
            encoded = pynumpress.encode_pic(values)
            expected.append(np.asarray(pynumpress.decode_pic(encoded)))
        raw = encoded.tobytes()
        if with_zlib:
            raw = zlib.compress(raw)
        bda.find(f"{NS}binary").text = base64.b64encode(raw).decode()
        comp = bda.find(f"{NS}cvParam[@accession='{cv.NO_COMPRESSION}']")
        comp.set("accession", schemes[scheme])
        comp.set("name", cv.term_name(schemes[scheme]))
    tree.write(str(dst))
    return expected


@pytest.mark.parametrize("with_zlib", [False, True])
def test_numpress_arrays(testdata: Path, tmp_path: Path, with_zlib: bool) -> None:
    dst = tmp_path / "numpress.mzML"
    expected = _numpress_copy(testdata / "pymzML/mini.chrom.mzML", dst, with_zlib)
    got = [a for c in MzMLReader(dst).chromatograms() for a in (c.time, c.intensity)]
    for want, have in zip(expected, got, strict=True):
        np.testing.assert_array_equal(have, want)


def test_pure_python_numpress_matches_c_implementation(testdata: Path) -> None:
    pynumpress = pytest.importorskip("pynumpress")
    from pymzml.ms_numpress import MSNumpress

    spectrum = next(MzMLReader(testdata / "ms_deisotope/small.mzML").spectra())
    counts = np.rint(spectrum.intensity)
    encoded = pynumpress.encode_pic(counts)
    np.testing.assert_array_equal(decode_pic(encoded.tobytes()), pynumpress.decode_pic(encoded))
    mz = spectrum.mz[:2000]
    lin = pynumpress.encode_linear(mz, pynumpress.optimal_linear_fixed_point(mz))
    np.testing.assert_array_equal(
        np.asarray(MSNumpress(bytearray(lin.tobytes())).decode_linear()),
        pynumpress.decode_linear(lin),
    )


# --- bad input --------------------------------------------------------------------------
def _assert_one_line(err: FileFormatError, path: Path) -> None:
    text = str(err)
    assert "\n" not in text and str(path) in text
    assert err.path == str(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError) as info:
        MzMLReader(tmp_path / "absent.mzML")
    _assert_one_line(info.value, tmp_path / "absent.mzML")


def test_truncated_file(testdata: Path, tmp_path: Path) -> None:
    data = (testdata / "OpenMS/lcms/FeatureFinderMultiplex_9_input.mzML").read_bytes()
    cut = tmp_path / "cut.mzML"
    cut.write_bytes(data[: len(data) // 2])
    seen = []
    with pytest.raises(FileFormatError) as info:
        for spectrum in MzMLReader(cut):
            seen.append(spectrum)
    assert len(seen) > 10  # the complete spectra came first
    assert info.value.line is not None and info.value.line > 100
    _assert_one_line(info.value, cut)


def test_truncated_gzip(testdata: Path, tmp_path: Path) -> None:
    data = (testdata / "pymzML/example.mzML.gz").read_bytes()
    cut = tmp_path / "cut.mzML.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError) as info:
        list(MzMLReader(cut))
    _assert_one_line(info.value, cut)


def test_not_mzml_xml(testdata: Path) -> None:
    path = testdata / "OpenMS/srm_mrm/OpenSwathAnalyzer_1_input.TraML"
    for action in (lambda r: r.read_metadata(), lambda r: list(r)):
        with pytest.raises(FileFormatError) as info:
            action(MzMLReader(path))
        assert info.value.value == "TraML"
        assert info.value.allowed == "mzML or indexedmzML"
        _assert_one_line(info.value, path)


def test_not_xml(tmp_path: Path) -> None:
    path = tmp_path / "notes.mzML"
    path.write_text("these are not the spectra you are looking for\n")
    with pytest.raises(FileFormatError) as info:
        list(MzMLReader(path))
    assert info.value.line == 1
    _assert_one_line(info.value, path)


def test_gzip_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.mzML.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4)
    for action in (lambda r: list(r), lambda r: r.read_metadata(), lambda r: r.count_hint()):
        with pytest.raises(FileFormatError) as info:
            action(MzMLReader(path))
        _assert_one_line(info.value, path)


def _edited(src: Path, dst: Path, old: str, new: str) -> int:
    """Replace the first ``old`` in ``src`` by ``new``; return the 1-based line of the edit."""
    text = src.read_text(encoding="utf-8")
    at = text.index(old)
    dst.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")
    return text.count("\n", 0, at) + 1


def test_unknown_cv_term(testdata: Path, tmp_path: Path) -> None:
    path = tmp_path / "unknown.mzML"
    line = _edited(
        testdata / "pymzML/mini.chrom.mzML",
        path,
        'accession="MS:1000827"',
        'accession="MS:9999999"',
    )
    with pytest.raises(UnknownCVTermError) as info:
        list(MzMLReader(path))
    err = info.value
    assert (err.line, err.field, err.value) == (line, "isolation window target m/z", "MS:9999999")
    _assert_one_line(err, path)


def test_unknown_cv_term_in_header(testdata: Path, tmp_path: Path) -> None:
    path = tmp_path / "unknown_header.mzML"
    line = _edited(
        testdata / "ms_deisotope/small.mzML",
        path,
        'accession="MS:1000448"',
        'accession="MS:9999999"',
    )
    for action in (lambda r: r.read_metadata(), lambda r: list(r)):
        with pytest.raises(UnknownCVTermError) as info:
            action(MzMLReader(path))
        assert info.value.line == line and info.value.value == "MS:9999999"


def test_wrong_array_length(testdata: Path, tmp_path: Path) -> None:
    path = tmp_path / "length.mzML"
    _edited(
        testdata / "pymzML/mini.chrom.mzML",
        path,
        'defaultArrayLength="175"',
        'defaultArrayLength="174"',
    )
    with pytest.raises(FileFormatError) as info:
        list(MzMLReader(path))
    assert info.value.line is not None and info.value.allowed == 174
    _assert_one_line(info.value, path)


def test_corrupt_zlib(testdata: Path, tmp_path: Path) -> None:
    src = testdata / "ms_deisotope/small.mzML"
    text = src.read_text(encoding="utf-8")
    start = text.index("<binary>") + len("<binary>")
    path = tmp_path / "zlib.mzML"
    path.write_text(text[: start + 40] + "AAAAAAAAAAAAAAAA" + text[start + 56 :], encoding="utf-8")
    with pytest.raises(FileFormatError) as info:
        list(MzMLReader(path))
    assert info.value.line is not None
    _assert_one_line(info.value, path)


def test_bad_number(testdata: Path, tmp_path: Path) -> None:
    path = tmp_path / "number.mzML"
    _edited(
        testdata / "ms_deisotope/small.mzML",
        path,
        'name="ms level" value="1"',
        'name="ms level" value="one"',
    )
    with pytest.raises(FileFormatError) as info:
        list(MzMLReader(path).spectra())
    assert info.value.field == "ms level" and info.value.value == "one"
