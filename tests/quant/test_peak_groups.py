"""Peak groups on synthetic SRM traces with known truth: EMG peaks with noise on interleaved
time grids, a heavy standard, an interfering peak, fixed windows and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import exponnorm

from msuite.core.errors import InputError
from msuite.quant.chrom_peaks import ChromPeakParams
from msuite.quant.peak_group_kernels import gauss_smooth_kernel, median_noise_kernel
from msuite.quant.peak_groups import (
    PeakGroupParams,
    TraceGroup,
    pick_peak_group,
    pick_peak_groups,
    rank_peak_groups,
)

TRUE_RT = 312.0  # s, mode of the EMG peaks
SIGMA = 3.0
TAU = 2.0
CYCLE = 1.2  # s between points of one transition
HEIGHTS = (2.0e4, 1.2e4, 6.0e3, 4.0e4, 2.4e4)  # three light, two heavy transitions
IS_HEAVY = (False, False, False, True, True)
BASELINE = 200.0
NOISE = 60.0


def emg(t: np.ndarray, mode: float, height: float) -> np.ndarray:
    """EMG peak of SD ``SIGMA`` and tail ``TAU`` whose maximum ``height`` lies at ``mode``."""
    fine = np.linspace(-5 * SIGMA, 5 * SIGMA + 5 * TAU, 20001)
    shape = exponnorm.pdf(fine, TAU / SIGMA, scale=SIGMA)
    shift = mode - fine[int(np.argmax(shape))]
    return height * exponnorm.pdf(t - shift, TAU / SIGMA, scale=SIGMA) / shape.max()


def emg_area(height: float) -> float:
    """Area of the EMG peak of ``height`` (intensity x s)."""
    t = np.linspace(TRUE_RT - 60, TRUE_RT + 80, 140001)
    return float(np.trapezoid(emg(t, TRUE_RT, height), t))


def make_group(
    seed: int = 7, interference: tuple[int, float, float] | None = None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Five transitions sampled in turn within each SRM cycle (interleaved time grids)."""
    rng = np.random.default_rng(seed)
    times, values = [], []
    for k, height in enumerate(HEIGHTS):
        t = np.arange(200.0, 420.0, CYCLE) + k * CYCLE / len(HEIGHTS)
        y = emg(t, TRUE_RT, height) + BASELINE + rng.normal(0.0, NOISE, t.size)
        if interference is not None and interference[0] == k:
            y += emg(t, interference[1], interference[2])
        times.append(t)
        values.append(y)
    return times, values


def test_joint_group_recovers_truth_on_interleaved_grids() -> None:
    times, values = make_group()
    group = pick_peak_group(times, values, is_reference=IS_HEAVY)
    assert group.found
    assert abs(group.rt - TRUE_RT) < 0.5
    assert group.left < TRUE_RT - 2 * SIGMA and group.right > TRUE_RT + 2 * SIGMA + TAU
    corrected = group.area - group.background
    for k, height in enumerate(HEIGHTS):
        assert corrected[k] == pytest.approx(emg_area(height), rel=0.05)
        assert group.height[k] == pytest.approx(height, rel=0.05)
        assert abs(group.apex_rt[k] - TRUE_RT) < 0.6
        assert group.snr[k] > 20
    # Skyline background: lower boundary intensity x width, i.e. about baseline x width
    width = group.right - group.left
    assert np.all(np.abs(group.background / width - BASELINE) < 4 * NOISE)
    assert group.points_across.min() >= math.floor(width / CYCLE) - 1
    assert group.shape_score > 0.95
    assert group.coelution_score <= CYCLE
    fwhm_truth = 2 * math.sqrt(2 * math.log(2)) * SIGMA
    assert np.all(np.abs(group.fwhm - fwhm_truth) < 0.35 * fwhm_truth)


def test_integration_uses_each_trace_own_points_interpolated_at_boundaries() -> None:
    times, values = make_group()
    group = pick_peak_group(times, values)
    for t, y, area, points in zip(times, values, group.area, group.points_across, strict=True):
        dense = np.concatenate(
            ([group.left], t[(t > group.left) & (t < group.right)], [group.right])
        )
        expected = np.trapezoid(np.interp(dense, t, y), dense)
        assert area == pytest.approx(expected, rel=1e-9)
        assert points == np.count_nonzero((t >= group.left) & (t <= group.right))


def test_interference_in_one_transition_is_rejected_by_the_joint_decision() -> None:
    # transition 2 carries a peak ten times its own analyte signal (the highest of all), 60 s
    # early
    times, values = make_group(interference=(2, TRUE_RT - 60.0, 6.0e4))
    group = pick_peak_group(times, values, is_reference=IS_HEAVY)
    assert abs(group.rt - TRUE_RT) < 0.5
    assert group.area[2] - group.background[2] == pytest.approx(emg_area(HEIGHTS[2]), rel=0.1)
    # the interference is a candidate, but it ranks below the co-eluting group
    ranked = rank_peak_groups(times, values, is_reference=IS_HEAVY)
    rts = [g.rt for g in ranked]
    assert abs(rts[0] - TRUE_RT) < 0.5
    interfering = [g for g in ranked if abs(g.rt - (TRUE_RT - 60.0)) < 2.0]
    assert interfering and interfering[0].shape_score < 0.5 < ranked[0].shape_score
    # picking the single most intense peak (OpenMS's "largest") would have chosen it
    largest = max(range(len(values)), key=lambda k: values[k].max())
    assert abs(times[largest][np.argmax(values[largest])] - (TRUE_RT - 60.0)) < 2.0


def test_rt_window_limits_the_search() -> None:
    times, values = make_group(interference=(2, TRUE_RT - 60.0, 6.0e4))
    params = PeakGroupParams(rt_window_s=10.0)
    group = pick_peak_group(times, values, expected_rt=TRUE_RT - 58.0, params=params)
    assert abs(group.rt - (TRUE_RT - 60.0)) < 1.0


def test_fixed_window_integrates_without_searching() -> None:
    times, values = make_group()
    group = pick_peak_group(times, values, fixed_window=(300.0, 330.0))
    assert group.found and (group.left, group.right) == (300.0, 330.0)
    for t, y, area in zip(times, values, group.area, strict=True):
        dense = np.concatenate(([300.0], t[(t > 300.0) & (t < 330.0)], [330.0]))
        assert area == pytest.approx(np.trapezoid(np.interp(dense, t, y), dense), rel=1e-9)
    assert abs(group.rt - TRUE_RT) < 1.0
    # a window where nothing elutes still integrates (the background)
    empty = pick_peak_group(times, values, fixed_window=(205.0, 215.0))
    assert empty.found
    assert np.all(np.abs(empty.area / 10.0 - BASELINE) < 3 * NOISE)
    # a window narrower than one cycle still integrates
    narrow = pick_peak_group(times, values, fixed_window=(311.9, 312.1))
    assert np.all(narrow.area > 0)


def test_integration_modes() -> None:
    times, values = make_group()
    window = (300.0, 330.0)
    summed = pick_peak_group(
        times, values, fixed_window=window, params=PeakGroupParams(integration="intensity_sum")
    )
    points = pick_peak_group(
        times,
        values,
        fixed_window=window,
        params=PeakGroupParams(integration="trapezoid_points"),
    )
    for k, (t, y) in enumerate(zip(times, values, strict=True)):
        inside = (t >= window[0]) & (t <= window[1])
        assert summed.area[k] == pytest.approx(y[inside].sum())
        assert points.area[k] == pytest.approx(np.trapezoid(y[inside], t[inside]))


def test_no_peak_is_not_found() -> None:
    t = np.arange(0.0, 100.0, 1.0)
    group = pick_peak_group([t, t], [np.zeros(t.size), np.zeros(t.size)])
    assert not group.found and math.isnan(group.rt)
    assert group.area.shape == (2,) and np.all(np.isnan(group.area))


def test_openms_settings_pick_the_same_group() -> None:
    times, values = make_group(seed=3)
    params = PeakGroupParams.openms(gauss_width_s=12.0, signal_to_noise=1.0)
    group = pick_peak_group(times, values, is_reference=IS_HEAVY, params=params)
    assert abs(group.rt - TRUE_RT) < 1.0
    for k, (t, y) in enumerate(zip(times, values, strict=True)):
        inside = (t >= group.left) & (t <= group.right)
        assert group.area[k] == pytest.approx(y[inside].sum())


def test_batch_threads_match_sequential() -> None:
    groups = [TraceGroup(*make_group(seed=s), is_reference=IS_HEAVY) for s in range(6)]
    groups.append(TraceGroup(*make_group(seed=9), fixed_window=(300.0, 330.0)))
    one = pick_peak_groups(groups)
    two = pick_peak_groups(groups, threads=2)
    assert [g.rt for g in one] == [g.rt for g in two]
    assert all(np.array_equal(a.area, b.area) for a, b in zip(one, two, strict=True))


def test_gauss_smoothing_keeps_constants_and_any_spacing() -> None:
    t = np.cumsum(np.random.default_rng(1).uniform(0.5, 1.5, 200))
    out = np.empty(t.size)
    gauss_smooth_kernel(t, np.full(t.size, 7.0), 2.0, 0.01, out)
    assert np.allclose(out, 7.0)
    y = emg(t, 100.0, 1000.0)
    gauss_smooth_kernel(t, y, 0.5, 0.01, out)
    assert abs(t[np.argmax(out)] - t[np.argmax(y)]) <= 1.5


def test_median_noise_level() -> None:
    t = np.arange(0.0, 100.0)
    y = np.full(t.size, 50.0)
    y[40:45] = 1e4  # a peak does not move the median
    out = np.empty(t.size)
    median_noise_kernel(t, y, 1000.0, 30, 10, out)
    bin_size = (y.mean() + 3 * y.std()) / 30
    assert np.allclose(out, (math.floor(50.0 / bin_size) + 0.5) * bin_size)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"times": [np.arange(5.0)], "intensities": [np.ones(4)]}, "intensities[0]"),
        ({"times": [np.array([0.0, 2.0, 1.0])], "intensities": [np.ones(3)]}, "times[0]"),
        ({"times": [np.array([0.0, 1.0, np.nan])], "intensities": [np.ones(3)]}, "times[0]"),
        ({"times": [np.arange(5.0)], "intensities": []}, "intensities"),
        ({"times": [], "intensities": []}, "times"),
        ({"is_reference": [True, False]}, "is_reference"),
        ({"fixed_window": (20.0, 10.0)}, "fixed_window"),
        ({"fixed_window": (1.0,)}, "fixed_window"),
        ({"expected_rt": math.inf}, "expected_rt"),
        ({"params": PeakGroupParams(integration="simpson")}, "integration"),
        ({"params": PeakGroupParams(smoothing="loess")}, "smoothing"),
        ({"params": PeakGroupParams(shape_weight=-1.0)}, "shape_weight"),
        ({"params": PeakGroupParams(rt_window_s=0.0)}, "rt_window_s"),
        ({"params": PeakGroupParams(gauss_width_s=math.nan)}, "gauss_width_s"),
        ({"params": PeakGroupParams(chrom=ChromPeakParams(window=4))}, "window"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict, field: str) -> None:
    t = np.arange(0.0, 50.0)
    args = {"times": [t], "intensities": [np.exp(-0.5 * ((t - 25) / 3) ** 2)]}
    args.update(kwargs)
    with pytest.raises(InputError) as info:
        pick_peak_group(args.pop("times"), args.pop("intensities"), **args)
    assert info.value.field == field


def test_bad_max_groups() -> None:
    t = np.arange(0.0, 50.0)
    with pytest.raises(InputError, match="max_groups"):
        rank_peak_groups([t], [np.ones(t.size)], max_groups=0)


def test_traces_without_two_times_find_nothing() -> None:
    empty = np.array([])
    group = pick_peak_group([empty, np.array([5.0])], [empty, np.array([3.0])])
    assert not group.found and group.area.shape == (2,)
    one_good = make_group()
    times = [*one_good[0][:2], empty]
    values = [*one_good[1][:2], empty]
    group = pick_peak_group(times, values)
    assert group.found and abs(group.rt - TRUE_RT) < 0.5
    assert group.area[2] == 0.0 and group.points_across[2] == 0


def test_two_peaks_are_ranked_without_overlap() -> None:
    times, values = make_group()
    late = [
        y + emg(t, TRUE_RT + 50.0, 0.5 * h) for t, y, h in zip(times, values, HEIGHTS, strict=True)
    ]
    ranked = rank_peak_groups(times, late, is_reference=IS_HEAVY, max_groups=2)
    assert [round(g.rt) for g in ranked] == [round(TRUE_RT), round(TRUE_RT + 50.0)]
    assert ranked[0].right <= ranked[1].left
    assert ranked[0].score > ranked[1].score


def test_float32_boundaries_follow_openms_rounding() -> None:
    # OpenMS keeps boundaries as 32-bit floats: 3147.68 becomes 3147.679931640625
    t = np.array([3100.0, 3120.0, 3147.68, 3160.0])
    y = np.array([1.0, 10.0, 100.0, 1.0])
    exact = PeakGroupParams(integration="intensity_sum")
    rounded = PeakGroupParams(integration="intensity_sum", boundary_float32_unit_s=1.0)
    window = (3100.0, 3147.68)
    assert pick_peak_group([t], [y], fixed_window=window, params=exact).area[0] == 111.0
    assert pick_peak_group([t], [y], fixed_window=window, params=rounded).area[0] == 11.0


def test_window_beyond_a_trace_is_clipped_to_it() -> None:
    t = np.arange(0.0, 11.0)
    y = np.full(t.size, 5.0)
    inside = pick_peak_group([t], [y], fixed_window=(5.0, 30.0))
    assert inside.area[0] == pytest.approx(25.0) and inside.points_across[0] == 6
    outside = pick_peak_group([t, t + 40.0], [y, y], fixed_window=(20.0, 30.0))
    assert outside.area[0] == 0.0 and outside.points_across[0] == 0


def blank_group(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Light traces hold noise and one narrow spike shared by all three at 250 s; the heavy
    standard its peak at ``TRUE_RT``."""
    times, values = make_group(seed)
    rng = np.random.default_rng(100 + seed)
    for k in range(3):
        values[k] = BASELINE + rng.normal(0.0, NOISE, times[k].size)
        values[k] += 15 * NOISE * np.exp(-((times[k] - 250.0) ** 2) / 2.0)
    return times, values


@pytest.mark.parametrize("seed", range(5))
def test_an_absent_analyte_is_placed_at_its_standard(seed: int) -> None:
    """Blank: the group goes where the standard is, as Skyline places it."""
    times, values = blank_group(seed)
    best = pick_peak_group(times, values, is_reference=IS_HEAVY)
    assert best.found and abs(best.rt - TRUE_RT) < 2 * SIGMA, best.rt
    heavy_area = sum(emg_area(h) for h, ref in zip(HEIGHTS, IS_HEAVY, strict=True) if ref)
    assert best.area[3] + best.area[4] == pytest.approx(heavy_area, rel=0.1)


def test_without_the_standards_intensity_a_spike_can_win() -> None:
    times, values = blank_group(0)
    params = PeakGroupParams(reference_intensity_weight=0.0)
    assert abs(pick_peak_group(times, values, is_reference=IS_HEAVY, params=params).rt - 250) < 2
