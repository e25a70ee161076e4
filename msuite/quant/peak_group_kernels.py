"""Numba kernels of peak-group picking: integration inside shared boundaries and
cross-correlation of traces.

Plain functions over arrays (``nogil=True, cache=True``) filling preallocated outputs;
:mod:`msuite.quant.peak_groups` validates, allocates and calls them.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "INTEGRATE_INTENSITY_SUM",
    "INTEGRATE_TRAPEZOID",
    "INTEGRATE_TRAPEZOID_POINTS",
    "cross_correlation_kernel",
    "gauss_smooth_kernel",
    "integrate_window_kernel",
    "interpolate_at",
    "median_noise_kernel",
    "trace_peaks_kernel",
]

INTEGRATE_TRAPEZOID = 0
INTEGRATE_INTENSITY_SUM = 1
INTEGRATE_TRAPEZOID_POINTS = 2


@numba.njit(nogil=True, cache=True, error_model="numpy")
def interpolate_at(t: np.ndarray, y: np.ndarray, x: float) -> float:
    """Linear interpolation of ``y(t)`` at ``x`` (clamped to the end values)."""
    n = t.size
    if n == 0:
        return math.nan
    if x <= t[0]:
        return y[0]
    if x >= t[n - 1]:
        return y[n - 1]
    lo = 0
    hi = n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if t[mid] <= x:
            lo = mid
        else:
            hi = mid
    dt = t[hi] - t[lo]
    if dt <= 0.0:
        return y[lo]
    return y[lo] + (y[hi] - y[lo]) * (x - t[lo]) / dt


@numba.njit(nogil=True, cache=True, error_model="numpy")
def integrate_window_kernel(
    t: np.ndarray,
    raw: np.ndarray,
    smooth: np.ndarray,
    noise: float,
    left: float,
    right: float,
    mode: int,
    out: np.ndarray,
) -> int:
    """Integrate one trace between ``left`` and ``right`` (s) on its own points.

    ``out`` (7 floats) receives area, background, height, apex RT, FWHM, S/N and the
    background level; the number of points inside ``[left, right]`` is returned. The
    window is clipped to the trace's time range (a window outside it integrates to 0).

    Area: ``mode`` 0 is the trapezoid over the raw points with the trace linearly
    interpolated at both boundaries; 1 is the sum of the raw intensities of the points
    inside the boundaries (OpenMS PeakIntegrator ``intensity_sum``); 2 is the trapezoid
    over the points inside the boundaries only (OpenMS ``trapezoid``). Background is
    Skyline's: the lower of the two boundary intensities (interpolated) times the width
    (times the number of points for ``mode`` 1). Height is the highest raw point above
    that level; apex RT is the vertex of a parabola through the highest smoothed point and
    its neighbours; FWHM is measured on the smoothed trace above the background level;
    S/N is the smoothed apex above the lower smoothed boundary over ``noise``.
    """
    n = t.size
    for k in range(out.size):
        out[k] = math.nan
    # the trace says nothing outside its own time range
    left = max(left, t[0]) if n else left
    right = min(right, t[n - 1]) if n else right
    if n == 0 or left > right:
        out[0] = 0.0
        out[1] = 0.0
        return 0
    first = 0
    while first < n and t[first] < left:
        first += 1
    last = n - 1
    while last >= 0 and t[last] > right:
        last -= 1
    points = last - first + 1 if last >= first else 0
    y_left = interpolate_at(t, raw, left)
    y_right = interpolate_at(t, raw, right)
    level = min(y_left, y_right)
    area = 0.0
    if mode == INTEGRATE_INTENSITY_SUM:
        for q in range(first, last + 1):
            area += raw[q]
        background = level * points
    elif mode == INTEGRATE_TRAPEZOID_POINTS:
        for q in range(first, last):
            area += 0.5 * (raw[q] + raw[q + 1]) * (t[q + 1] - t[q])
        background = level * (t[last] - t[first]) if points > 1 else 0.0
    else:
        if points == 0:
            area = 0.5 * (y_left + y_right) * (right - left)
        else:
            area += 0.5 * (y_left + raw[first]) * (t[first] - left)
            for q in range(first, last):
                area += 0.5 * (raw[q] + raw[q + 1]) * (t[q + 1] - t[q])
            area += 0.5 * (raw[last] + y_right) * (right - t[last])
        background = level * (right - left)
    out[0] = area
    out[1] = background
    out[6] = level
    if points == 0:
        return 0
    apex = first
    apex_s = first
    for q in range(first, last + 1):
        if raw[q] > raw[apex]:
            apex = q
        if smooth[q] > smooth[apex_s]:
            apex_s = q
    out[2] = raw[apex] - level
    rt = t[apex_s]
    if first < apex_s < last:
        y0 = smooth[apex_s - 1]
        y1 = smooth[apex_s]
        y2 = smooth[apex_s + 1]
        den = y0 - 2.0 * y1 + y2
        if den < 0.0:
            off = 0.5 * (y0 - y2) / den
            step = t[apex_s + 1] - t[apex_s] if off > 0.0 else t[apex_s] - t[apex_s - 1]
            rt = t[apex_s] + off * step
    out[3] = rt
    s_left = interpolate_at(t, smooth, left)
    s_right = interpolate_at(t, smooth, right)
    top = smooth[apex_s]
    half = level + 0.5 * (top - level)
    # walk down on each side of the smoothed apex to half height
    q = apex_s
    while q > first and smooth[q] > half:
        q -= 1
    if smooth[q] > half or q == apex_s:
        lt = t[q]
    else:
        dy = smooth[q + 1] - smooth[q]
        lt = t[q] + (t[q + 1] - t[q]) * (half - smooth[q]) / dy if dy > 0.0 else t[q]
    q = apex_s
    while q < last and smooth[q] > half:
        q += 1
    if smooth[q] > half or q == apex_s:
        rt_half = t[q]
    else:
        dy = smooth[q - 1] - smooth[q]
        rt_half = t[q] - (t[q] - t[q - 1]) * (half - smooth[q]) / dy if dy > 0.0 else t[q]
    out[4] = rt_half - lt
    prominence = top - min(s_left, s_right)
    out[5] = prominence / noise if noise > 0.0 else math.inf
    return points


@numba.njit(nogil=True, cache=True, error_model="numpy")
def cross_correlation_kernel(
    traces: np.ndarray, max_lag: int, out_corr: np.ndarray, out_lag: np.ndarray
) -> None:
    """Normalised cross-correlation of every pair of rows of ``traces``.

    Each row is standardised (zero mean, unit SD); for the pair ``(i, j)`` (``i < j``,
    in row-major pair order) the correlation is computed for lags ``-max_lag..max_lag``
    (overlapping part, divided by the row length as OpenSWATH does) and the largest value
    and its lag are written to ``out_corr`` and ``out_lag``. A flat row correlates 0.
    """
    m = traces.shape[0]
    n = traces.shape[1]
    z = np.zeros((m, n))
    for i in range(m):
        mean = 0.0
        for k in range(n):
            mean += traces[i, k]
        mean /= n
        var = 0.0
        for k in range(n):
            var += (traces[i, k] - mean) ** 2
        sd = math.sqrt(var / n)
        if sd > 0.0:
            for k in range(n):
                z[i, k] = (traces[i, k] - mean) / sd
    p = 0
    for i in range(m):
        for j in range(i + 1, m):
            best = -math.inf
            best_lag = 0
            for lag in range(-max_lag, max_lag + 1):
                acc = 0.0
                for k in range(max(0, -lag), min(n, n - lag)):
                    acc += z[i, k] * z[j, k + lag]
                acc /= n
                if acc > best or (acc == best and abs(lag) < abs(best_lag)):
                    best = acc
                    best_lag = lag
            out_corr[p] = best
            out_lag[p] = best_lag
            p += 1


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _gauss_coefficient(coeffs: np.ndarray, spacing: float, distance: float) -> float:
    """The sampled Gaussian at ``distance``, linearly interpolated between samples."""
    pos = distance / spacing
    left = math.floor(pos)
    if left >= coeffs.size - 1:
        return coeffs[coeffs.size - 1] if left == coeffs.size - 1 else 0.0
    frac = pos - left
    return (1.0 - frac) * coeffs[left] + frac * coeffs[left + 1]


@numba.njit(nogil=True, cache=True, error_model="numpy")
def gauss_smooth_kernel(
    t: np.ndarray, y: np.ndarray, sigma: float, spacing: float, out: np.ndarray
) -> None:
    """Gaussian smoothing of ``y(t)`` for any spacing, as OpenMS GaussFilter computes it.

    The Gaussian (SD ``sigma``) is sampled every ``spacing`` out to ``4 sigma`` and
    linearly interpolated between samples; each output point is the trapezoid integral of
    kernel x trace over the neighbouring points within reach, divided by the integral of
    the kernel over the same points. Negative results become 0.
    """
    n = t.size
    if n == 0:
        return
    count = math.ceil(4.0 * sigma / spacing) + 1
    coeffs = np.empty(count)
    scale = 1.0 / (sigma * math.sqrt(2.0 * math.pi))
    for k in range(count):
        d = k * spacing
        coeffs[k] = scale * math.exp(-(d * d) / (2.0 * sigma * sigma))
    reach = count * spacing
    for i in range(n):
        start = max(t[i] - reach, t[0])
        stop = min(t[i] + reach, t[n - 1])
        acc = 0.0
        norm = 0.0
        j = i
        while j > 0 and t[j - 1] > start:
            c_right = _gauss_coefficient(coeffs, spacing, abs(t[i] - t[j]))
            c_left = _gauss_coefficient(coeffs, spacing, abs(t[i] - t[j - 1]))
            half = 0.5 * (t[j] - t[j - 1])
            norm += half * (c_left + c_right)
            acc += half * (y[j - 1] * c_left + y[j] * c_right)
            j -= 1
        j = i
        while j < n - 1 and t[j + 1] < stop:
            c_left = _gauss_coefficient(coeffs, spacing, abs(t[i] - t[j]))
            c_right = _gauss_coefficient(coeffs, spacing, abs(t[i] - t[j + 1]))
            half = 0.5 * (t[j + 1] - t[j])
            norm += half * (c_left + c_right)
            acc += half * (y[j] * c_left + y[j + 1] * c_right)
            j += 1
        out[i] = acc / norm if acc > 0.0 and norm > 0.0 else 0.0


@numba.njit(nogil=True, cache=True, error_model="numpy")
def trace_peaks_kernel(
    t: np.ndarray,
    signal: np.ndarray,
    smooth: np.ndarray,
    level: np.ndarray,
    noise_sd: float,
    min_snr: float,
    boundary_fraction: float,
    boundary_snr: float,
    min_half_width: float,
    out_apex: np.ndarray,
    out_height: np.ndarray,
    out_left: np.ndarray,
    out_right: np.ndarray,
) -> int:
    """Peaks of one trace on its own points; fill ``out_*[:count]`` and return ``count``.

    A peak is a point of the smoothed trace higher than both neighbours, neither of them
    zero (as OpenMS PeakPickerHiRes seeds it); its apex is the
    vertex of the parabola through it and its neighbours (``out_apex``, ``out_height``).
    Each boundary walks outwards from the neighbours of the point nearest the apex (they
    are always inside) while the smoothed trace
    keeps falling (or, whatever it does, while the point is closer than
    ``min_half_width`` to the apex), and stops before a point where ``signal`` (the
    smoothed or the raw trace) is below ``boundary_snr`` x ``level`` (the median-based
    noise level of ``signal``; 0 disables) or
    whose smoothed intensity is below ``boundary_fraction`` x the apex (0 disables) --
    OpenMS PeakPickerChromatogram's "corrected" walk when the fraction is 0. Boundaries are
    point indices (``out_left``, ``out_right``). Peaks whose smoothed apex rises less than
    ``min_snr`` x ``noise_sd`` above the lower boundary are dropped. Outputs must hold
    ``n // 2 + 1``.
    """
    n = t.size
    count = 0
    for i in range(1, n - 1):
        if not (smooth[i] > smooth[i - 1] and smooth[i] > smooth[i + 1]):
            continue
        if smooth[i - 1] <= 0.0 or smooth[i + 1] <= 0.0:
            continue
        y0 = smooth[i - 1]
        y1 = smooth[i]
        y2 = smooth[i + 1]
        apex = t[i]
        height = y1
        den = y0 - 2.0 * y1 + y2
        if den < 0.0:
            off = 0.5 * (y0 - y2) / den
            step = t[i + 1] - t[i] if off > 0.0 else t[i] - t[i - 1]
            apex = t[i] + off * step
            height = y1 - 0.25 * (y0 - y2) * off
        floor = boundary_fraction * y1
        start = i
        if apex - t[i] > 0.5 * (t[i + 1] - t[i]):
            start = i + 1
        elif t[i] - apex > 0.5 * (t[i] - t[i - 1]):
            start = i - 1
        lo = max(start - 1, 0)
        while lo > 0:
            q = lo - 1
            near = abs(t[q] - apex) < min_half_width
            if boundary_fraction > 0.0 and smooth[lo] <= floor and not near:
                break
            if not (near or smooth[q] < smooth[q + 1]):
                break
            if boundary_snr > 0.0 and signal[q] < boundary_snr * level[q]:
                break
            lo = q
        hi = min(start + 1, n - 1)
        while hi < n - 1:
            q = hi + 1
            near = abs(t[q] - apex) < min_half_width
            if boundary_fraction > 0.0 and smooth[hi] <= floor and not near:
                break
            if not (near or smooth[q] < smooth[q - 1]):
                break
            if boundary_snr > 0.0 and signal[q] < boundary_snr * level[q]:
                break
            hi = q
        prominence = y1 - min(smooth[lo], smooth[hi])
        if min_snr > 0.0 and noise_sd > 0.0 and prominence < min_snr * noise_sd:
            continue
        if hi == lo:
            continue
        out_apex[count] = apex
        out_height[count] = height
        out_left[count] = lo
        out_right[count] = hi
        count += 1
    return count


@numba.njit(nogil=True, cache=True, error_model="numpy")
def median_noise_kernel(
    t: np.ndarray, y: np.ndarray, window: float, bins: int, min_points: int, out: np.ndarray
) -> None:
    """Per point, the median intensity of the points within ``window / 2`` of it.

    OpenMS SignalToNoiseEstimatorMedian's model: the median is read from a histogram of
    ``bins`` bins spanning mean + 3 SD of the whole trace (the bin centre is taken; values
    above the range count in the last bin); windows of fewer than ``min_points`` points
    get 1, and so does a median below 1.
    """
    n = t.size
    if n == 0:
        return
    mean = 0.0
    for i in range(n):
        mean += y[i]
    mean /= n
    var = 0.0
    for i in range(n):
        var += (y[i] - mean) ** 2
    top = mean + 3.0 * math.sqrt(var / n)
    size = max(1.0, top / bins)
    hist = np.zeros(bins, dtype=np.int64)
    lo = 0
    hi = 0
    count = 0
    half = 0.5 * window
    for i in range(n):
        while hi < n and t[hi] <= t[i] + half:
            hist[min(max(int(y[hi] / size), 0), bins - 1)] += 1
            count += 1
            hi += 1
        while t[lo] < t[i] - half:
            hist[min(max(int(y[lo] / size), 0), bins - 1)] -= 1
            count -= 1
            lo += 1
        if count < min_points:
            out[i] = 1.0
            continue
        want = (count + 1) // 2
        seen = 0
        b = 0
        while b < bins - 1 and seen + hist[b] < want:
            seen += hist[b]
            b += 1
        out[i] = max(1.0, (b + 0.5) * size)
