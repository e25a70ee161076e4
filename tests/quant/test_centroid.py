"""Profile centroiding: against OpenMS PeakPickerHiRes's stored output and known truth."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from msuite.core.errors import InputError
from msuite.core.model import ScanHeader, Spectrum
from msuite.quant.centroid import CentroidParams, centroid_arrays, centroid_spectra
from msuite.quant.pick import is_profile, pick_spectra
from tests.quant.helpers import PROFILE_DIR, match_peaks, read_spectra

# the reference was written by an OpenMS whose noise median was the histogram bin centre
REFERENCE_PARAMS = CentroidParams(min_snr=1.0, noise_interpolate=False)


def gaussian_profile(
    centres: list[float], heights: list[float], fwhm: float, step: float, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """A noiseless profile spectrum of Gaussian peaks sampled every ``step`` m/z."""
    mz = np.arange(lo, hi, step)
    sigma = fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    intensity = np.zeros_like(mz)
    for c, h in zip(centres, heights, strict=True):
        intensity += h * np.exp(-0.5 * ((mz - c) / sigma) ** 2)
    return mz, intensity


def test_matches_peakpickerhires_reference(testdata: Path) -> None:
    inp = [
        s
        for s in read_spectra(testdata / PROFILE_DIR / "PeakPickerHiRes_input.mzML")
        if s.ms_level == 1
    ]
    ref = [
        s
        for s in read_spectra(testdata / PROFILE_DIR / "PeakPickerHiRes_output.mzML")
        if s.ms_level == 1
    ]
    assert len(inp) == len(ref) == 2
    peaks = centroid_spectra(inp, REFERENCE_PARAMS)
    matched = total = 0
    for ours, theirs in zip(peaks, ref, strict=True):
        ok = match_peaks(theirs.mz, theirs.intensity, ours.mz, ours.height)
        matched += int(ok.sum())
        total += ok.size
        assert abs(len(ours) - len(theirs)) <= 0.01 * len(theirs)
    assert total > 400
    assert matched / total >= 0.99


def test_reference_snr_and_fwhm_are_sane(testdata: Path) -> None:
    inp = [
        s
        for s in read_spectra(testdata / PROFILE_DIR / "PeakPickerHiRes_input.mzML")
        if s.ms_level == 1
    ]
    (peaks,) = centroid_spectra(inp[:1], REFERENCE_PARAMS)
    assert np.all(peaks.snr >= 1.0)
    assert np.all(peaks.fwhm > 0)
    # Orbitrap peaks in this range are a few mDa wide
    assert 1e-3 < float(np.median(peaks.fwhm)) < 0.05
    assert np.all(np.diff(peaks.mz) > 0)
    assert np.all(peaks.first < peaks.last)


def test_gaussian_truth_recovered() -> None:
    centres = [300.0123, 500.4567, 800.9]
    heights = [1e4, 5e5, 3e3]
    mz, inten = gaussian_profile(centres, heights, fwhm=0.01, step=0.002, lo=299.0, hi=802.0)
    (peaks,) = centroid_spectra([(mz, inten)])
    assert len(peaks) == 3
    np.testing.assert_allclose(peaks.mz, centres, rtol=0.5e-6)
    np.testing.assert_allclose(peaks.height, heights, rtol=0.01)
    np.testing.assert_allclose(peaks.fwhm, 0.01, rtol=0.05)
    sigma = 0.01 / 2.3548
    np.testing.assert_allclose(
        peaks.area, np.array(heights) * sigma * math.sqrt(2 * math.pi), rtol=0.02
    )
    assert np.all(np.isnan(peaks.snr))  # no noise estimate asked for


def test_snr_from_median_noise() -> None:
    rng = np.random.default_rng(7)
    mz, inten = gaussian_profile(
        [400.0, 450.0], [5e4, 2e2], fwhm=0.01, step=0.002, lo=350.0, hi=500.0
    )
    inten = inten + rng.uniform(50.0, 150.0, inten.size)  # median noise ~100
    (peaks,) = centroid_spectra([(mz, inten)], CentroidParams(min_snr=3.0))
    strong = np.argmin(np.abs(peaks.mz - 400.0))
    assert abs(peaks.mz[strong] - 400.0) < 400.0 * 1e-6
    assert 200 < peaks.snr[strong] < 1000
    assert np.all(peaks.snr >= 3.0)
    # the weak peak (2x the noise) does not pass S/N 3
    assert not np.any(np.abs(peaks.mz - 450.0) < 0.005)


def test_threads_do_not_change_results(testdata: Path) -> None:
    spectra = [s for s in read_spectra(testdata / "ms_deisotope" / "three_test_scans.mzML")]
    one = centroid_spectra(spectra, CentroidParams(min_snr=1.0), threads=1)
    two = centroid_spectra(spectra, CentroidParams(min_snr=1.0), threads=2)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a.mz, b.mz)
        np.testing.assert_array_equal(a.height, b.height)


def test_edge_cases() -> None:
    assert centroid_spectra([]) == []
    (peaks,) = centroid_spectra([(np.array([1.0, 2.0, 3.0]), np.array([0.0, 5.0, 0.0]))])
    assert len(peaks) == 0
    mz, inten = gaussian_profile([200.0], [1e3], 0.01, 0.002, 199.9, 200.1)
    c, counts = centroid_arrays(
        np.concatenate([mz, mz]),
        np.concatenate([inten, inten]),
        np.array([0, mz.size]),
        np.array([mz.size, mz.size]),
    )
    assert counts.tolist() == [1, 1]
    assert c.first.tolist() == [c.first[0], c.first[0] + mz.size]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (CentroidParams(min_snr=-1.0), "min_snr"),
        (CentroidParams(missing=-1), "missing"),
        (CentroidParams(noise_bins=2), "noise_bins"),
        (CentroidParams(spacing_difference=math.nan), "spacing_difference"),
    ],
)
def test_bad_parameters_are_named(params: CentroidParams, field: str) -> None:
    with pytest.raises(InputError) as info:
        centroid_spectra([(np.arange(10.0), np.ones(10))], params)
    assert info.value.field == field


def test_bad_arrays_are_refused() -> None:
    with pytest.raises(InputError):
        centroid_arrays(np.arange(5.0), np.ones(4), np.array([0]), np.array([4]))
    with pytest.raises(InputError):
        centroid_arrays(np.arange(5.0), np.ones(5), np.array([2]), np.array([4]))
    with pytest.raises(InputError):
        centroid_spectra([(np.arange(5.0), np.full(5, np.nan))])


def _spectrum(centroid: bool | None, level: int = 1) -> Spectrum:
    mz, inten = gaussian_profile([200.0], [1e3], 0.01, 0.002, 199.9, 200.1)
    return Spectrum(ScanHeader(0, "scan=1", level, 1.0, centroid=centroid), mz, inten)


def test_peak_mode_comes_from_cv_terms() -> None:
    assert is_profile(_spectrum(False))
    assert not is_profile(_spectrum(True))
    with pytest.raises(InputError) as info:
        is_profile(_spectrum(None), path="x.mzML")
    assert info.value.value == "scan=1" and info.value.path == "x.mzML"
    assert is_profile(_spectrum(None), "profile")
    assert not is_profile(_spectrum(None), "centroid")


def test_pick_spectra_passes_centroided_and_other_levels_through() -> None:
    spectra = [_spectrum(False), _spectrum(True), _spectrum(None, level=2)]
    out = pick_spectra(spectra, ms_levels=[1])
    assert out[0] is not spectra[0] and out[0].header.centroid is True
    assert len(out[0]) == 1 and abs(out[0].mz[0] - 200.0) < 1e-4
    assert out[0].header.base_peak_mz == out[0].mz[0]
    assert out[1] is spectra[1] and out[2] is spectra[2]
    with pytest.raises(InputError):
        pick_spectra(spectra)  # the MS2 spectrum does not say and nothing is assumed


def test_concatenated_and_per_spectrum_paths_agree(testdata: Path) -> None:
    spectra = read_spectra(testdata / "ms_deisotope" / "three_test_scans.mzML")
    params = CentroidParams(min_snr=2.0)
    lengths = np.array([len(s) for s in spectra])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    joined, counts = centroid_arrays(
        np.concatenate([s.mz for s in spectra]),
        np.concatenate([s.intensity for s in spectra]),
        starts,
        lengths,
        params,
        threads=2,
    )
    single = centroid_spectra(spectra, params, threads=1)
    assert counts.tolist() == [len(c) for c in single]
    np.testing.assert_array_equal(joined.mz, np.concatenate([c.mz for c in single]))
    np.testing.assert_array_equal(joined.snr, np.concatenate([c.snr for c in single]))
    np.testing.assert_array_equal(
        joined.first, np.concatenate([c.first + a for c, a in zip(single, starts, strict=True)])
    )
