"""Median noise kernels: the fast paths give OpenMS's sliding-histogram noise point by point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from msuite.core.errors import InputError
from msuite.quant.centroid import CentroidParams, centroid_spectra
from msuite.quant.centroid_noise import (
    MAX_FAST_POINTS,
    low_bin_prefix,
    median_noise_fast,
    median_noise_sliding,
    noise_bin_size,
    noise_bounds,
    point_noise,
    snr_flags,
)
from tests.quant.helpers import PROFILE_DIR, read_spectra

BINS = 30
WINDOW = 200.0
MIN_POINTS = 10
EMPTY = 1e20


def _profile_spectra(testdata: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    spectra = read_spectra(testdata / "ms_deisotope" / "three_test_scans.mzML")
    spectra += read_spectra(testdata / PROFILE_DIR / "PeakPickerHiRes_input.mzML")
    return [(s.mz, s.intensity) for s in spectra if s.header.centroid is not True]


def _sliding(mz: np.ndarray, intensity: np.ndarray, interpolate: bool) -> np.ndarray:
    out = np.empty(mz.size)
    median_noise_sliding(
        mz,
        intensity,
        noise_bin_size(intensity, BINS),
        BINS,
        WINDOW,
        MIN_POINTS,
        EMPTY,
        interpolate,
        np.zeros(BINS, dtype=np.int64),
        out,
    )
    return out


def _bounds(mz: np.ndarray, intensity: np.ndarray, interpolate: bool, shift: int):
    bin_size = noise_bin_size(intensity, BINS)
    prefix = np.empty(mz.size + 1, dtype=np.int64)
    assert low_bin_prefix(intensity, bin_size, BINS, prefix)
    size = ((mz.size - 1) >> shift) + 2
    win_lo, win_hi = np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64)
    lower, upper = np.empty(size), np.empty(size)
    ok = noise_bounds(
        mz,
        bin_size,
        WINDOW,
        MIN_POINTS,
        EMPTY,
        interpolate,
        prefix,
        shift,
        win_lo,
        win_hi,
        lower,
        upper,
    )
    return ok, bin_size, prefix, win_lo, win_hi, lower, upper


@pytest.mark.parametrize("interpolate", [True, False])
def test_fast_noise_equals_sliding_histogram(testdata: Path, interpolate: bool) -> None:
    for mz, intensity in _profile_spectra(testdata):
        reference = _sliding(mz, intensity, interpolate)
        prefix = np.empty(mz.size + 1, dtype=np.int64)
        bin_size = noise_bin_size(intensity, BINS)
        assert low_bin_prefix(intensity, bin_size, BINS, prefix)
        fast = np.empty(mz.size)
        assert median_noise_fast(mz, bin_size, WINDOW, MIN_POINTS, EMPTY, interpolate, prefix, fast)
        np.testing.assert_array_equal(fast, reference)


@pytest.mark.parametrize(("interpolate", "shift"), [(True, 4), (False, 5), (True, 2)])
def test_block_bounds_hold_and_point_noise_is_exact(
    testdata: Path, interpolate: bool, shift: int
) -> None:
    decided = total = 0
    for mz, intensity in _profile_spectra(testdata):
        reference = _sliding(mz, intensity, interpolate)
        ok, bin_size, prefix, win_lo, win_hi, lower, upper = _bounds(
            mz, intensity, interpolate, shift
        )
        assert ok
        block = np.arange(mz.size) >> shift
        assert np.all(lower[block] <= reference) and np.all(reference <= upper[block])
        exact = [
            point_noise(
                mz,
                q,
                bin_size,
                WINDOW,
                MIN_POINTS,
                EMPTY,
                interpolate,
                prefix,
                shift,
                win_lo,
                win_hi,
            )
            for q in range(0, mz.size, 7)
        ]
        np.testing.assert_array_equal(exact, reference[::7])
        # S/N flags from the bounds (exact where they do not decide) equal the direct test
        flags = np.empty(mz.size, dtype=np.uint8)
        snr_flags(
            mz,
            intensity,
            2.0,
            bin_size,
            WINDOW,
            MIN_POINTS,
            EMPTY,
            interpolate,
            prefix,
            shift,
            win_lo,
            win_hi,
            lower.copy(),
            upper.copy(),
            flags,
        )
        undecided = flags == 2
        truth = (intensity > 0) & (intensity >= 2.0 * reference)
        np.testing.assert_array_equal(flags[~undecided] == 1, truth[~undecided])
        decided += int((~undecided).sum())
        total += mz.size
    assert decided > 0.95 * total  # the bounds settle almost every point


def _dense_spectrum() -> tuple[np.ndarray, np.ndarray]:
    """Dense, broad intensities: window medians lie well above the lowest histogram bins."""
    rng = np.random.default_rng(11)
    mz = np.linspace(300.0, 900.0, 12_000)
    return mz, rng.uniform(0.0, 1000.0, mz.size)


def test_high_median_falls_back_to_sliding_histogram() -> None:
    mz, intensity = _dense_spectrum()
    ok = _bounds(mz, intensity, True, 4)[0]
    assert not ok  # the fast kernels say so rather than guess
    prefix = np.empty(mz.size + 1, dtype=np.int64)
    bin_size = noise_bin_size(intensity, BINS)
    low_bin_prefix(intensity, bin_size, BINS, prefix)
    assert not median_noise_fast(
        mz, bin_size, WINDOW, MIN_POINTS, EMPTY, True, prefix, np.empty(mz.size)
    )
    # the picker then uses the sliding histogram: each peak's S/N is height over the noise
    # of one of its points
    reference = _sliding(mz, intensity, True)
    (peaks,) = centroid_spectra([(mz, intensity)], CentroidParams(min_snr=1.5))
    assert len(peaks) > 50
    assert np.all(peaks.snr >= 1.5)
    for k in range(len(peaks)):
        noise = peaks.height[k] / peaks.snr[k]
        assert np.any(np.isclose(reference[peaks.first[k] : peaks.last[k] + 1], noise, rtol=1e-12))


def test_long_scans_are_left_to_the_sliding_histogram() -> None:
    intensity = np.zeros(MAX_FAST_POINTS + 1)
    assert not low_bin_prefix(intensity, 1.0, BINS, np.empty(3, dtype=np.int64))


def test_empty_windows_get_the_empty_noise() -> None:
    mz = np.array([100.0, 100.1, 100.2, 500.0, 900.0, 900.1])
    intensity = np.array([1.0, 5.0, 1.0, 3.0, 1.0, 2.0])
    np.testing.assert_array_equal(_sliding(mz, intensity, True), np.full(mz.size, EMPTY))
    ok, *_, lower, upper = _bounds(mz, intensity, True, 1)
    assert ok
    assert np.all(lower[:3] == EMPTY) and np.all(upper[:3] == EMPTY)


def test_bad_intensity_in_a_worker_thread_is_named() -> None:
    mz = np.linspace(200.0, 400.0, 30_000)
    good = np.abs(np.sin(mz * 50.0)) * 100.0
    bad = good.copy()
    bad[123] = np.inf
    spectra = [(mz, good)] * 5 + [(mz, bad)] + [(mz, good)] * 5
    with pytest.raises(InputError) as info:
        centroid_spectra(spectra, CentroidParams(min_snr=1.0), threads=2)
    assert info.value.field == "spectra[5]"
    with pytest.raises(InputError):
        centroid_spectra(spectra, CentroidParams(min_snr=0.0), threads=2)
