"""write_mzml: real files read, written and read back by msuite, pyteomics and pymzml."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

import msuite
from msuite.core.errors import InputError
from msuite.core.model import Chromatogram, Spectrum
from msuite.io import cv
from msuite.io.mzml_reader import MzMLReader
from msuite.io.mzml_writer import write_mzml
from tests.io.test_mzml_reader import (
    check_chromatograms_against_pyteomics,
    check_spectra_against_references,
    read_all,
)

pytestmark = pytest.mark.realdata

ROUND_TRIP_FILES = [
    "ms_deisotope/small.mzML",  # profile + centroid, minutes, MS2 precursors, TIC chromatogram
    "OpenMS/lcms/FeatureFinderMultiplex_9_input.mzML",  # centroid MS1 + MS2 with charges
    "OpenMS/profile_peakpicking/FeatureFinderMultiplex_5_input.mzML",  # profile
    "OpenMS/srm_mrm/Spyogenes.chrom.mzML",  # SRM + base peak chromatograms
    "SmartPeak/yeast_MRM_unknowns/170808_Jonathan_yeast_Sacc1_1x.mzML",  # SRM, minutes, negative
]


def same_value(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
        return all(
            same_value(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
        )
    return a == b


def assert_same_items(
    written: list[Spectrum | Chromatogram], back: list[Spectrum | Chromatogram]
) -> None:
    """Arrays bit-identical; headers and chromatogram facts equal (NaN equals NaN)."""
    assert len(written) == len(back)
    for a, b in zip(written, back, strict=True):
        assert type(a) is type(b)
        if isinstance(a, Spectrum):
            np.testing.assert_array_equal(b.mz, a.mz)
            np.testing.assert_array_equal(b.intensity, a.intensity)
            assert same_value(a.header, b.header), (a.header, b.header)
        else:
            np.testing.assert_array_equal(b.time, a.time)
            np.testing.assert_array_equal(b.intensity, a.intensity)
            for name in (
                "native_id",
                "kind",
                "precursor_mz",
                "product_mz",
                "polarity",
                "collision_energy",
            ):
                assert same_value(getattr(a, name), getattr(b, name)), name


def round_trip(src: Path, dst: Path) -> tuple[list[Spectrum | Chromatogram], list[int]]:
    reader = MzMLReader(src)
    items = list(reader)
    spectra = [x for x in items if isinstance(x, Spectrum)]
    chroms = [x for x in items if isinstance(x, Chromatogram)]
    calls: list[int] = []
    write_mzml(
        dst,
        reader.read_metadata(),
        iter(spectra),
        iter(chroms),
        n_spectra=len(spectra),
        n_chromatograms=len(chroms),
        progress=calls.append,
    )
    return spectra + chroms, calls


@pytest.mark.parametrize("suffix", [".mzML", ".mzML.gz"])
@pytest.mark.parametrize("name", ROUND_TRIP_FILES)
def test_round_trip(testdata: Path, tmp_path: Path, name: str, suffix: str) -> None:
    dst = tmp_path / ("out" + suffix)
    written, calls = round_trip(testdata / name, dst)
    assert sum(calls) == len(written) and all(k > 0 for k in calls)
    assert (dst.read_bytes()[:2] == b"\x1f\x8b") == suffix.endswith(".gz")
    back_spectra, back_chroms = read_all(dst)
    assert_same_items(written, [*back_spectra, *back_chroms])
    # independent readers see the same data
    if back_spectra:
        check_spectra_against_references(dst, back_spectra)
    if back_chroms:
        check_chromatograms_against_pyteomics(dst, back_chroms, 1.0)
    assert MzMLReader(dst).count_hint()[0] == len(back_spectra)


def test_metadata_round_trip(testdata: Path, tmp_path: Path) -> None:
    src = testdata / "ms_deisotope/small.mzML"
    dst = tmp_path / "small.mzML"
    round_trip(src, dst)
    before, after = MzMLReader(src).read_metadata(), MzMLReader(dst).read_metadata()
    assert after.run_id == before.run_id and after.start_time == before.start_time
    for key in ("model", "accession", "serial"):
        assert after.instrument[key] == before.instrument[key]

    def terms(instrument: dict) -> list:  # names may be newer in the vocabulary: compare ids
        return [
            (c["type"], c["order"], [(t["accession"], t["value"]) for t in c["terms"]])
            for c in instrument["components"]
        ]

    assert terms(after.instrument) == terms(before.instrument)
    ours = next(s for s in after.software if s["id"] == "msuite")
    assert ours["version"] == msuite.__version__
    assert {s["id"] for s in before.software} < {s["id"] for s in after.software}
    assert after.source_files == before.source_files


def test_srm_chromatograms_readable_by_pyteomics(testdata: Path, tmp_path: Path) -> None:
    from tests.io.test_mzml_reader import pyteomics_chromatograms

    dst = tmp_path / "srm.mzML"
    round_trip(testdata / "SmartPeak/yeast_MRM_unknowns/170808_Jonathan_yeast_Sacc1_1x.mzML", dst)
    refs = pyteomics_chromatograms(dst)
    srm = refs[1]
    assert "selected reaction monitoring chromatogram" in srm and "negative scan" in srm
    (precursor,), (product,) = srm["precursor"], srm["product"]
    assert precursor["isolationWindow"]["isolation window target m/z"] == 179.0
    assert product["isolationWindow"]["isolation window target m/z"] == 136.0
    assert precursor["activation"]["collision energy"] == 0.0


def test_unknown_peak_mode_stays_unknown(testdata: Path, tmp_path: Path) -> None:
    spectra = list(MzMLReader(testdata / "pymzML/example.mzML.gz").spectra())
    for s in spectra:
        s.header.centroid = None
    dst = tmp_path / "nomode.mzML"
    meta = MzMLReader(testdata / "pymzML/example.mzML.gz").read_metadata()
    write_mzml(dst, meta, spectra, [], n_spectra=len(spectra), n_chromatograms=0)
    back = list(MzMLReader(dst).spectra())
    assert [s.header.centroid for s in back] == [None] * len(spectra)
    assert cv.CENTROID not in dst.read_text() and cv.PROFILE not in dst.read_text()


def test_count_mismatch_leaves_no_file(testdata: Path, tmp_path: Path) -> None:
    spectra = list(MzMLReader(testdata / "pymzML/example.mzML.gz").spectra())
    dst = tmp_path / "short.mzML"
    meta = MzMLReader(testdata / "pymzML/example.mzML.gz").read_metadata()
    with pytest.raises(InputError) as info:
        write_mzml(dst, meta, spectra, [], n_spectra=len(spectra) + 1, n_chromatograms=0)
    assert info.value.field == "n_spectra"
    assert list(tmp_path.iterdir()) == []


def test_writes_seconds_and_64_bit_zlib(testdata: Path, tmp_path: Path) -> None:
    dst = tmp_path / "small.mzML"
    round_trip(testdata / "ms_deisotope/small.mzML", dst)
    text = dst.read_text()
    assert cv.UO_MINUTE not in text.split("<run", 1)[1]
    assert text.count(f'accession="{cv.FLOAT32}"') == 0
    assert text.count(f'accession="{cv.ZLIB}"') == text.count("<binaryDataArray ")
