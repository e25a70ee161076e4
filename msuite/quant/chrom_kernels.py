"""Numba kernels for chromatographic peaks of SRM/PRM traces.

Plain functions over arrays (``nogil=True, cache=True``) filling preallocated outputs;
:mod:`msuite.quant.chrom_peaks` validates, allocates and calls them.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["chrom_peak_kernel", "median_positive_step", "residual_mad_kernel", "savgol_kernel"]


@numba.njit(nogil=True, cache=True, error_model="numpy")
def savgol_kernel(y: np.ndarray, coeffs: np.ndarray, out: np.ndarray) -> None:
    """Convolve ``y`` with Savitzky-Golay ``coeffs`` (odd length) into ``out``.

    Points beyond either end are taken equal to the end point.
    """
    n = y.size
    half = coeffs.size // 2
    for i in range(n):
        acc = 0.0
        for k in range(-half, half + 1):
            j = min(max(i + k, 0), n - 1)
            acc += coeffs[k + half] * y[j]
        out[i] = acc


@numba.njit(nogil=True, cache=True, error_model="numpy")
def residual_mad_kernel(raw: np.ndarray, smooth: np.ndarray) -> float:
    """Median absolute deviation of ``raw - smooth`` (0 for an empty trace).

    The same numbers as ``np.median(np.abs(r - np.median(r)))``, without numpy's per-call
    overhead (~20 us), which dominated picking many short traces.
    """
    n = raw.size
    if n == 0:
        return 0.0
    resid = np.empty(n)
    for i in range(n):
        resid[i] = raw[i] - smooth[i]
    centre = np.median(resid)
    for i in range(n):
        resid[i] = abs(resid[i] - centre)
    return np.median(resid)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def median_positive_step(t: np.ndarray) -> float:
    """Median of the positive steps of ``t`` (NaN when there are none)."""
    steps = np.empty(max(t.size - 1, 0))
    k = 0
    for i in range(t.size - 1):
        d = t[i + 1] - t[i]
        if d > 0:
            steps[k] = d
            k += 1
    if k == 0:
        return math.nan
    return np.median(steps[:k])


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _half_crossing(
    t: np.ndarray, y: np.ndarray, apex: int, stop: int, step: int, level: float
) -> float:
    """Time where ``y`` first falls to ``level`` walking from ``apex`` to ``stop``."""
    q = apex
    while q != stop and y[q] > level:
        q += step
    if y[q] > level:
        return t[q]
    prev = q - step
    dy = y[prev] - y[q]
    if dy <= 0.0:
        return t[q]
    return t[q] + (t[prev] - t[q]) * (level - y[q]) / dy


@numba.njit(nogil=True, cache=True, error_model="numpy")
def chrom_peak_kernel(
    t: np.ndarray,
    raw: np.ndarray,
    smooth: np.ndarray,
    noise: float,
    min_snr: float,
    boundary_fraction: float,
    min_points: int,
    out_rt: np.ndarray,
    out_start: np.ndarray,
    out_end: np.ndarray,
    out_area: np.ndarray,
    out_background: np.ndarray,
    out_height: np.ndarray,
    out_apex_intensity: np.ndarray,
    out_fwhm: np.ndarray,
    out_snr: np.ndarray,
    out_points: np.ndarray,
    out_first: np.ndarray,
    out_last: np.ndarray,
) -> int:
    """Find peaks of one trace; fill ``out_*[:count]`` and return ``count``.

    A peak is a local maximum of the smoothed trace; its boundaries are found by walking
    down the smoothed trace on each side until it rises again or falls to
    ``boundary_fraction`` of the apex. Background is Skyline's: the lower of the two raw
    boundary intensities times the peak width. Area integrates the raw trace (linear
    interpolation between points) from boundary to boundary, background included; height
    is the raw apex intensity above the background level. RT is the vertex of a parabola
    through the smoothed apex and its neighbours; FWHM is measured on the smoothed trace
    above the background level. S/N is the smoothed apex above the lower smoothed boundary,
    over ``noise`` (raw noise would let noise spikes pass). Peaks below ``min_snr`` or
    with fewer than ``min_points`` points are dropped. Outputs must hold ``n // 2 + 1``.
    """
    n = t.size
    count = 0
    if n < 3:
        return 0
    i = 1
    while i < n - 1:
        if not (smooth[i] > smooth[i - 1] and smooth[i] >= smooth[i + 1]):
            i += 1
            continue
        top = smooth[i]
        floor = boundary_fraction * top
        lo = i
        while lo > 0 and smooth[lo - 1] < smooth[lo] and smooth[lo] > floor:
            lo -= 1
        hi = i
        while hi < n - 1 and smooth[hi + 1] <= smooth[hi] and smooth[hi] > floor:
            hi += 1
        points = hi - lo + 1
        bg = min(raw[lo], raw[hi])
        area = 0.0
        for q in range(lo, hi):
            area += 0.5 * (raw[q] + raw[q + 1]) * (t[q + 1] - t[q])
        background = bg * (t[hi] - t[lo])
        apex_raw = lo
        for q in range(lo, hi + 1):
            if raw[q] > raw[apex_raw]:
                apex_raw = q
        height = raw[apex_raw] - bg
        prominence = top - min(smooth[lo], smooth[hi])
        snr = prominence / noise if noise > 0.0 else math.inf
        if points >= min_points and snr >= min_snr and height > 0.0:
            # apex time: parabola through the smoothed maximum and its neighbours
            rt = t[i]
            y0 = smooth[i - 1]
            y1 = smooth[i]
            y2 = smooth[i + 1]
            den = y0 - 2.0 * y1 + y2
            if den < 0.0:
                off = 0.5 * (y0 - y2) / den
                step = t[i + 1] - t[i] if off > 0.0 else t[i] - t[i - 1]
                rt = t[i] + off * step
            level = bg + 0.5 * (top - bg)
            left = _half_crossing(t, smooth, i, lo, -1, level)
            right = _half_crossing(t, smooth, i, hi, 1, level)
            out_rt[count] = rt
            out_start[count] = t[lo]
            out_end[count] = t[hi]
            out_area[count] = area
            out_background[count] = background
            out_height[count] = height
            out_apex_intensity[count] = raw[apex_raw]
            out_fwhm[count] = right - left
            out_snr[count] = snr
            out_points[count] = points
            out_first[count] = lo
            out_last[count] = hi
            count += 1
        i = max(hi, i + 1)
    return count
