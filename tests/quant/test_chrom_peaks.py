"""Chromatographic peaks: synthetic traces with known truth and OpenMS's SRM references."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from msuite.core.errors import InputError
from msuite.io.mzml_reader import MzMLReader
from msuite.quant.chrom_peaks import (
    ChromPeakParams,
    pick_chromatogram,
    pick_chromatograms,
    smooth_trace,
)
from tests.quant.helpers import SRM_DIR

SIGMA = 4.0
AREA = 1e4 * SIGMA * math.sqrt(2 * math.pi)


def trace(
    rt: float = 150.3, height: float = 1e4, baseline: float = 0.0, noise: float = 0.0,
    slope: float = 0.0, seed: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(0.0, 300.0, 1.0)
    y = height * np.exp(-0.5 * ((t - rt) / SIGMA) ** 2) + baseline + slope * t
    if noise:
        y = y + np.random.default_rng(seed).normal(0.0, noise, t.size)
    return t, y


def test_gaussian_rt_area_fwhm_recovered() -> None:
    t, y = trace()
    peaks = pick_chromatogram(t, y)
    assert len(peaks) == 1
    assert abs(peaks.rt[0] - 150.3) < 0.05
    assert peaks.area[0] == pytest.approx(AREA, rel=0.01)
    # boundaries at 1 % of the apex: the Skyline background takes off under 3 %
    assert peaks.corrected_area[0] == pytest.approx(peaks.area[0] - peaks.background[0])
    assert peaks.corrected_area[0] == pytest.approx(AREA, rel=0.03)
    assert peaks.fwhm[0] == pytest.approx(2.3548 * SIGMA, rel=0.03)
    apex = 1e4 * math.exp(-0.5 * (0.3 / SIGMA) ** 2)  # the sample nearest the true apex
    assert peaks.apex_intensity[0] == pytest.approx(apex)
    lo, hi = int(peaks.first[0]), int(peaks.last[0])
    assert peaks.height[0] == pytest.approx(apex - min(y[lo], y[hi]))
    assert peaks.height[0] == pytest.approx(1e4, rel=0.02)
    assert peaks.points[0] == peaks.last[0] - peaks.first[0] + 1
    assert peaks.points[0] >= 20


def test_noisy_peak_on_baseline() -> None:
    t, y = trace(baseline=500.0, noise=20.0)
    peaks = pick_chromatogram(t, y)
    assert len(peaks) == 1
    assert abs(peaks.rt[0] - 150.3) < 0.3
    assert peaks.noise == pytest.approx(20.0, rel=0.2)
    assert peaks.snr[0] == pytest.approx(1e4 / 20.0, rel=0.2)
    assert peaks.corrected_area[0] == pytest.approx(AREA, rel=0.03)
    assert peaks.fwhm[0] == pytest.approx(2.3548 * SIGMA, rel=0.05)


def test_background_is_skylines() -> None:
    # on a sloped baseline the background is the lower boundary intensity x peak width
    t, y = trace(baseline=100.0, slope=5.0)
    peaks = pick_chromatogram(t, y, ChromPeakParams(boundary_fraction=0.0))
    b = peaks.largest()
    lo, hi = int(peaks.first[b]), int(peaks.last[b])
    width = peaks.end[b] - peaks.start[b]
    assert peaks.background[b] == pytest.approx(min(y[lo], y[hi]) * width)
    assert peaks.height[b] == pytest.approx(y[lo:hi + 1].max() - min(y[lo], y[hi]))
    assert peaks.area[b] == pytest.approx(np.trapezoid(y[lo:hi + 1], t[lo:hi + 1]))


def test_two_peaks_and_min_snr() -> None:
    t, y1 = trace(rt=80.0, noise=10.0)
    _, y2 = trace(rt=200.0, height=2e3)
    _, y3 = trace(rt=260.0, height=25.0)  # ~2.5x the noise: not a peak at S/N 3
    peaks = pick_chromatogram(t, y1 + y2 + y3)
    assert len(peaks) == 2
    np.testing.assert_allclose(peaks.rt, [80.0, 200.0], atol=0.3)
    assert peaks.largest() == 0


def test_smoothing_keeps_a_polynomial() -> None:
    y = 3.0 + 0.5 * np.arange(50.0) ** 2
    np.testing.assert_allclose(smooth_trace(y, 7, 2)[3:-3], y[3:-3])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (ChromPeakParams(window=6), "window"),
        (ChromPeakParams(window=5, order=5), "order"),
        (ChromPeakParams(min_snr=-1.0), "min_snr"),
        (ChromPeakParams(boundary_fraction=1.0), "boundary_fraction"),
    ],
)
def test_bad_parameters_are_named(params: ChromPeakParams, field: str) -> None:
    with pytest.raises(InputError) as info:
        pick_chromatogram(*trace(), params)
    assert info.value.field == field


def test_bad_traces_are_refused() -> None:
    with pytest.raises(InputError):
        pick_chromatogram(np.arange(5.0), np.ones(4))
    with pytest.raises(InputError):
        pick_chromatogram(np.arange(5.0)[::-1].copy(), np.ones(5))
    assert len(pick_chromatogram(np.arange(2.0), np.ones(2))) == 0


@pytest.mark.parametrize("number", [2, 5])
def test_apex_rt_against_peakpickerhires(testdata: Path, number: int) -> None:
    folder = testdata / SRM_DIR
    traces = list(MzMLReader(folder / f"PeakPickerHiRes_{number}_input.mzML").chromatograms())
    ref = {c.native_id: c for c in
           MzMLReader(folder / f"PeakPickerHiRes_{number}_output.mzML").chromatograms()}
    results = pick_chromatograms(traces)
    for chrom, peaks in zip(traces, results, strict=True):
        expected = ref[chrom.native_id]
        step = float(np.median(np.diff(chrom.time)))
        best = peaks.largest()
        assert best >= 0, chrom.native_id
        # OpenMS's most intense centroid is our largest peak, within one sampling interval
        top = float(expected.time[np.argmax(expected.intensity)])
        assert abs(peaks.rt[best] - top) <= step, chrom.native_id
        # and every peak of ours lies on one of OpenMS's centroids
        for rt in peaks.rt:
            assert np.min(np.abs(expected.time - rt)) <= step, (chrom.native_id, rt)
