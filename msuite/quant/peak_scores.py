"""Candidates and scores of peak groups: the common time grid, candidate peaks and the
cross-correlation shape and co-elution scores that decide among them.

Used by :mod:`msuite.quant.peak_groups`; the scores follow OpenSWATH's definitions
(standardised traces, cross-correlation over a range of lags; shape = correlation at the
best lag, co-elution = the best lag).
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy.signal import savgol_coeffs

from msuite.core.errors import InputError
from msuite.quant.chrom_kernels import median_positive_step
from msuite.quant.chrom_peaks import estimate_noise, smooth_trace
from msuite.quant.peak_group_kernels import (
    cross_correlation_kernel,
    gauss_smooth_kernel,
    median_noise_kernel,
    trace_peaks_kernel,
)

if TYPE_CHECKING:
    from msuite.quant.peak_groups import PeakGroupParams

__all__ = [
    "Candidate",
    "PreparedGroup",
    "WindowScores",
    "find_candidates",
    "median_noise_level",
    "prepare_group",
    "same_peak",
    "score_window",
]

_MAX_GRID_POINTS = 20000


@dataclass(slots=True)
class PreparedGroup:
    """A group's traces, validated, smoothed and resampled onto one grid.

    Attributes
    ----------
    times, raw, smooth, noise
        Per trace, on its own points: time (s), raw and Savitzky-Golay smoothed intensity,
        noise level.
    grid
        Common time grid (s).
    grid_raw, grid_smooth
        Traces linearly interpolated onto ``grid`` (rows = traces).
    reference
        Per trace, True for the standard's traces.
    cross_pairs
        Per trace pair (``i < j``, row-major), True when one is a standard trace and the
        other is not.
    """

    times: list[np.ndarray]
    raw: list[np.ndarray]
    smooth: list[np.ndarray]
    noise: np.ndarray
    grid: np.ndarray
    grid_raw: np.ndarray
    grid_smooth: np.ndarray
    reference: np.ndarray
    cross_pairs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        n = self.reference.size
        i, j = np.triu_indices(n, k=1)
        self.cross_pairs = self.reference[i] != self.reference[j]

    @property
    def step(self) -> float:
        """Grid step (s)."""
        return float(self.grid[1] - self.grid[0]) if self.grid.size > 1 else 1.0


@dataclass(frozen=True, slots=True)
class Candidate:
    """A candidate peak of a group: apex (s, NaN when unknown), boundaries (s) and its
    summed intensity above background (for ranking)."""

    apex: float
    left: float
    right: float
    intensity: float


@dataclass(frozen=True, slots=True)
class WindowScores:
    """Scores of one window: group apex (s), shape, co-elution (s) and combined score."""

    apex: float
    shape: float
    coelution: float
    score: float


@functools.lru_cache(maxsize=32)
def _savgol_centre(window: int, order: int) -> float:
    if window <= 1:
        return 1.0
    c = savgol_coeffs(window, order)
    return float(c[c.size // 2])


def _as_trace(values: object, name: str) -> np.ndarray:
    try:
        arr = np.ascontiguousarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError("must be a 1-D array of numbers", field=name) from exc
    if arr.ndim != 1:
        raise InputError("must be a 1-D array", field=name, value=f"shape {arr.shape}")
    return arr


def prepare_group(
    times: Sequence[np.ndarray],
    intensities: Sequence[np.ndarray],
    is_reference: Sequence[bool] | None,
    params: PeakGroupParams,
) -> PreparedGroup | None:
    """Validate a group's traces, smooth them and resample them onto a common grid.

    Returns None when no trace has two distinct times (no peak can be found).
    """
    if len(times) != len(intensities):
        raise InputError(
            "times and intensities must hold one array per trace",
            field="intensities",
            value=f"{len(times)} time arrays vs {len(intensities)}",
        )
    if len(times) == 0:
        raise InputError("a group needs at least one trace", field="times", value=0)
    if is_reference is not None and len(is_reference) != len(times):
        raise InputError(
            "must hold one flag per trace",
            field="is_reference",
            value=len(is_reference),
            allowed=len(times),
        )
    ts: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for i, (t_in, y_in) in enumerate(zip(times, intensities, strict=True)):
        t = _as_trace(t_in, f"times[{i}]")
        y = _as_trace(y_in, f"intensities[{i}]")
        if t.shape != y.shape:
            raise InputError(
                "time and intensity arrays must have equal length",
                field=f"intensities[{i}]",
                value=y.size,
                allowed=t.size,
            )
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(y))):
            raise InputError("times and intensities must be finite", field=f"times[{i}]")
        if np.any(np.diff(t) < 0):
            bad = int(np.argmax(np.diff(t) < 0))
            raise InputError(
                "times must be ascending",
                field=f"times[{i}]",
                value=f"{t[bad]} then {t[bad + 1]} at index {bad + 1}",
            )
        ts.append(t)
        ys.append(y)
    smooth = [_smooth(t, y, params) for t, y in zip(ts, ys, strict=True)]
    step = _typical_step(ts)
    if not math.isfinite(step):  # no trace has two distinct times: nothing to pick
        return None
    c0 = _centre_coefficient(step, params)
    noise = np.array(
        [estimate_noise(y, sm, c0) if y.size else 0.0 for y, sm in zip(ys, smooth, strict=True)]
    )
    grid = _common_grid(ts, params.grid_step_s or step)
    grid_raw = np.vstack(
        [
            np.interp(grid, t, y) if t.size else np.zeros(grid.size)
            for t, y in zip(ts, ys, strict=True)
        ]
    )
    grid_smooth = np.vstack([_smooth(grid, row, params) for row in grid_raw])
    reference = (
        np.zeros(len(ts), dtype=bool)
        if is_reference is None
        else np.asarray([bool(v) for v in is_reference])
    )
    return PreparedGroup(ts, ys, smooth, noise, grid, grid_raw, grid_smooth, reference)


def _smooth(t: np.ndarray, y: np.ndarray, params: PeakGroupParams) -> np.ndarray:
    if params.smoothing == "gauss":
        out = np.empty_like(y)
        sigma = params.gauss_width_s / 8.0
        spacing = params.gauss_spacing_s if params.gauss_spacing_s else sigma / 100.0
        gauss_smooth_kernel(t, y, sigma, spacing, out)
        return out
    if params.chrom.window > 1:
        return smooth_trace(y, params.chrom.window, params.chrom.order)
    return y.copy()


def _typical_step(ts: list[np.ndarray]) -> float:
    """Median over the traces of their median time step (s)."""
    steps = [s for s in (float(median_positive_step(t)) for t in ts) if not math.isnan(s)]
    if not steps:
        return math.nan
    return statistics.median(steps)


def _centre_coefficient(step: float, params: PeakGroupParams) -> float:
    """Weight of a point in its own smoothed value (undoes the smoothing in the noise SD)."""
    if params.smoothing == "gauss":
        sigma = params.gauss_width_s / 8.0
        return min(1.0, step / (sigma * math.sqrt(2.0 * math.pi))) if sigma > 0 else 1.0
    return _savgol_centre(int(params.chrom.window), int(params.chrom.order))


def median_noise_level(t: np.ndarray, y: np.ndarray, params: PeakGroupParams) -> np.ndarray:
    """Per point, OpenMS SignalToNoiseEstimatorMedian's noise level (sparse windows: 1)."""
    out = np.ones(t.size)
    median_noise_kernel(t, y, params.noise_window_s, params.noise_bins, 10, out)
    return out


def _common_grid(ts: list[np.ndarray], step: float) -> np.ndarray:
    """Grid of ``step`` spanning every trace (their union)."""
    lo = min(float(t[0]) for t in ts if t.size)
    hi = max(float(t[-1]) for t in ts if t.size)
    count = math.floor((hi - lo) / step) + 1
    if count > _MAX_GRID_POINTS:  # long sparse traces: a coarser grid, same span
        count = _MAX_GRID_POINTS
        step = (hi - lo) / (count - 1)
    if count < 2:
        return np.array([lo, lo + step])
    return lo + step * np.arange(count, dtype=np.float64)


def _summed_height(grid: np.ndarray, summed: np.ndarray, left: float, right: float) -> float:
    """Highest point of the summed smoothed trace inside the window above its lower end."""
    inside = (grid >= left) & (grid <= right)
    if np.count_nonzero(inside) < 2:
        return 0.0
    y = summed[inside]
    return max(float(y.max() - min(y[0], y[-1])), 0.0)


def _trace_seeds(
    t: np.ndarray,
    raw: np.ndarray,
    smooth: np.ndarray,
    noise_sd: float,
    params: PeakGroupParams,
) -> list[tuple[float, float, float, float]]:
    """(height, apex, left, right) of the peaks of one trace."""
    if t.size < 3:
        return []
    signal = raw if params.boundary_snr_on_raw else smooth
    level = median_noise_level(t, signal, params) if params.boundary_snr > 0 else np.zeros(t.size)
    room = t.size // 2 + 1
    apex = np.empty(room)
    height = np.empty(room)
    left = np.empty(room, dtype=np.int64)
    right = np.empty(room, dtype=np.int64)
    count = trace_peaks_kernel(
        t,
        signal,
        smooth,
        level,
        noise_sd,
        float(params.chrom.min_snr),
        float(params.chrom.boundary_fraction),
        float(params.boundary_snr),
        float(params.min_half_width_s),
        apex,
        height,
        left,
        right,
    )
    return [
        (float(height[k]), float(apex[k]), float(t[left[k]]), float(t[right[k]]))
        for k in range(count)
    ]


def same_peak(kept: Candidate, apex: float, left: float, right: float) -> bool:
    """A lower seed is the kept candidate's peak (or a shoulder of it) when its apex or a
    boundary lies inside the kept boundaries (OpenMS remove_overlapping_features)."""
    return (
        kept.left <= apex <= kept.right
        or kept.left < left < kept.right
        or kept.left < right < kept.right
    )


def find_candidates(
    prepared: PreparedGroup, expected_rt: float | None, params: PeakGroupParams
) -> list[Candidate]:
    """Candidate peaks of a group, from the sum of its traces and from each trace.

    Seeds of the summed trace come first (their boundaries see every transition, as
    Skyline's do), then the traces' own, each set highest apex first; a seed whose apex or
    a boundary lies inside the boundaries of a kept one is the same peak (seen in another
    trace, or a shoulder) and is dropped. Without the summed trace every candidate keeps
    the boundaries of its most intense trace (OpenMS's "largest" boundary selection).
    With ``expected_rt`` and ``params.rt_window_s``, candidates whose apex lies outside
    the window are dropped, and so are those below ``params.min_apex_ratio`` of the
    highest apex; at most ``params.max_candidates`` are kept.
    """
    seeds: list[tuple[int, float, float, float, float]] = []
    for i, t in enumerate(prepared.times):
        seeds += [
            (1, *seed)
            for seed in _trace_seeds(
                t, prepared.raw[i], prepared.smooth[i], prepared.noise[i], params
            )
        ]
    if params.use_summed_trace and len(prepared.times) > 1:
        summed_raw = prepared.grid_raw.sum(axis=0)
        summed = prepared.grid_smooth.sum(axis=0)
        noise = float(np.sqrt(np.sum(prepared.noise**2)))
        seeds += [
            (0, h / len(prepared.times), a, lo, hi)
            for h, a, lo, hi in _trace_seeds(prepared.grid, summed_raw, summed, noise, params)
        ]
    if not seeds:
        return []
    top = max(s[1] for s in seeds)
    seeds = [s for s in seeds if s[1] >= params.min_apex_ratio * top]
    seeds.sort(key=lambda s: (s[0], -s[1]))
    summed_smooth = prepared.grid_smooth.sum(axis=0)
    found: list[Candidate] = []
    for _, _, apex, left, right in seeds:
        if (
            expected_rt is not None
            and params.rt_window_s is not None
            and abs(apex - expected_rt) > params.rt_window_s
        ):
            continue
        if any(same_peak(c, apex, left, right) for c in found):
            continue
        intensity = _summed_height(prepared.grid, summed_smooth, left, right)
        found.append(Candidate(apex, left, right, intensity))
        if len(found) >= params.max_candidates:
            break
    return found


def _group_apex(grid: np.ndarray, summed: np.ndarray) -> float:
    k = int(np.argmax(summed))
    if 0 < k < summed.size - 1:
        y0, y1, y2 = summed[k - 1], summed[k], summed[k + 1]
        den = y0 - 2.0 * y1 + y2
        if den < 0.0:
            off = 0.5 * (y0 - y2) / den
            return float(grid[k] + off * (grid[1] - grid[0]))
    return float(grid[k])


def score_window(
    prepared: PreparedGroup,
    candidate: Candidate,
    expected_rt: float | None,
    best_intensity: float,
    params: PeakGroupParams,
    best_reference: float = math.nan,
    standard_intensity: float = math.nan,
) -> WindowScores | None:
    """Shape, co-elution and combined score of the traces inside a candidate's boundaries.

    ``standard_intensity`` is the candidate's :func:`reference_intensity`, ``best_reference`` the
    highest of the group's candidates; the first is scored against the second with
    ``reference_intensity_weight``. Returns None when the window holds fewer than 2 grid
    points.
    """
    grid = prepared.grid
    inside = (grid >= candidate.left) & (grid <= candidate.right)
    count = int(np.count_nonzero(inside))
    if count < 2:
        return None
    segment = np.ascontiguousarray(prepared.grid_smooth[:, inside])
    summed = segment.sum(axis=0)
    apex = candidate.apex if math.isfinite(candidate.apex) else _group_apex(grid[inside], summed)
    m = segment.shape[0]
    if m > 1:
        pairs = m * (m - 1) // 2
        corr = np.empty(pairs)
        lag = np.empty(pairs, dtype=np.int64)
        max_lag = min(params.max_lag_points, count - 1)
        cross_correlation_kernel(segment, max_lag, corr, lag)
        shape = float(corr.mean())
        lag_points = float(np.abs(lag).mean())
        cross = prepared.cross_pairs
        reference = float(corr[cross].mean()) if np.any(cross) else shape
    else:
        shape, lag_points, reference = 1.0, 0.0, 1.0
    score = params.shape_weight * shape - params.coelution_weight * lag_points
    score += params.reference_weight * reference
    if best_intensity > 0 and math.isfinite(candidate.intensity):
        ratio = max(candidate.intensity / best_intensity, 1e-6)
        score += params.intensity_weight * math.log10(ratio)
    if expected_rt is not None and params.rt_weight > 0:
        score -= params.rt_weight * abs(apex - expected_rt) / params.rt_scale_s
    if params.reference_intensity_weight > 0 and best_reference > 0:
        own = standard_intensity
        ratio = max(own / best_reference, 1e-6) if math.isfinite(own) else 1e-6
        score += params.reference_intensity_weight * math.log10(ratio)
    return WindowScores(apex=apex, shape=shape, coelution=lag_points * prepared.step, score=score)


def reference_intensity(prepared: PreparedGroup, candidate: Candidate) -> float:
    """Highest summed smoothed intensity of the standard's traces inside a candidate.

    NaN when the group has no standard. The standard is spiked into every sample, so where
    the analyte is absent (blanks, samples below the LOD) its peak still marks the analyte's
    place, as Skyline picks the peak of a precursor together with its standard.
    """
    grid = prepared.grid
    inside = (grid >= candidate.left) & (grid <= candidate.right)
    if not prepared.reference.any() or not inside.any():
        return math.nan
    return float(prepared.grid_smooth[prepared.reference][:, inside].sum(axis=0).max())
