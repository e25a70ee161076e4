"""Numba kernels of a centroid's shape: spline apex and height, half-maximum crossings.

As in OpenMS PeakPickerHiRes, the apex of a peak is the maximum of the natural cubic spline
through the peak's profile points, found as the root of the spline's first derivative in the
segment next to the core point; the FWHM comes from half-maximum crossings interpolated
linearly between profile points. Plain functions over arrays (``nogil=True, cache=True``),
inlined into the picker.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["half_max_left", "half_max_right", "spline_apex"]

_THIRD = 1.0 / 3.0


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _second_difference(x: np.ndarray, y: np.ndarray, i: int) -> float:
    """Right-hand side of row ``i`` of the natural cubic spline's curvature equations."""
    h0 = x[i] - x[i - 1]
    h1 = x[i + 1] - x[i]
    return 3.0 * (y[i + 1] * h0 - y[i] * (h0 + h1) + y[i - 1] * h1) / (h0 * h1)


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def spline_apex(x: np.ndarray, y: np.ndarray, first: int, last: int, p: int) -> tuple:
    """Apex (m/z, height) of the natural cubic spline through points ``first..last``.

    The spline's curvatures ``c`` solve a tridiagonal system (``c = 0`` at both ends). Only
    those of the core ``p`` and its neighbours are needed, so the system is eliminated from
    both ends towards ``p`` (two independent recurrences, no stored coefficients) and
    solved there. The apex is the root of the first derivative in the segment next to
    ``p`` that rises towards it, clamped to that segment.
    """
    # forward elimination over nodes first+1 .. p-1: c[i] = z - mu * c[i + 1]
    mu = 0.0
    z = 0.0
    for i in range(first + 1, p):
        h0 = x[i] - x[i - 1]
        den = 2.0 * (x[i + 1] - x[i - 1]) - h0 * mu
        mu = (x[i + 1] - x[i]) / den  # two divisions by den in parallel: a shorter chain
        z = (_second_difference(x, y, i) - h0 * z) / den
    # backward elimination over nodes last-1 .. p+1: c[i] = w - nu * c[i - 1]
    nu = 0.0
    w = 0.0
    for i in range(last - 1, p, -1):
        h1 = x[i + 1] - x[i]
        den = 2.0 * (x[i + 1] - x[i - 1]) - h1 * nu
        nu = (x[i] - x[i - 1]) / den
        w = (_second_difference(x, y, i) - h1 * w) / den
    h0 = x[p] - x[p - 1]
    h1 = x[p + 1] - x[p]
    c_p = (_second_difference(x, y, p) - h0 * z - h1 * w) / (2.0 * (h0 + h1) - h0 * mu - h1 * nu)
    # the segment right of the core if the spline still rises at the core, else the left one
    c_r = w - nu * c_p
    b = (y[p + 1] - y[p]) / h1 - h1 * (c_r + 2.0 * c_p) * _THIRD
    if b > 0.0:
        x0 = x[p]
        y0 = y[p]
        h = h1
        c = c_p
        d = (c_r - c_p) / (3.0 * h1)
    else:
        c_l = z - mu * c_p
        x0 = x[p - 1]
        y0 = y[p - 1]
        h = h0
        c = c_l
        b = (y[p] - y[p - 1]) / h0 - h0 * (c_p + 2.0 * c_l) * _THIRD
        d = (c_p - c_l) / (3.0 * h0)
    # root of b + 2 c t + 3 d t^2 in [0, h]
    qa = 3.0 * d
    qb = 2.0 * c
    if b <= 0.0:
        t = 0.0
    elif (qa * h + qb) * h + b >= 0.0:
        t = h
    else:
        den = -qb + math.sqrt(max(qb * qb - 4.0 * qa * b, 0.0))
        t = h if den <= 0.0 else min(max(2.0 * b / den, 0.0), h)
    return x0 + t, ((d * t + c) * t + b) * t + y0


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def half_max_left(x: np.ndarray, y: np.ndarray, first: int, p: int, target: float) -> float:
    """Left half-maximum crossing, linearly interpolated between profile points."""
    q = p
    while q > first and y[q] >= target:
        q -= 1
    if y[q] >= target:
        return x[first]
    return x[q] + (target - y[q]) * (x[q + 1] - x[q]) / (y[q + 1] - y[q])


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def half_max_right(x: np.ndarray, y: np.ndarray, last: int, p: int, target: float) -> float:
    """Right half-maximum crossing, linearly interpolated between profile points."""
    q = p
    while q < last and y[q] >= target:
        q += 1
    if y[q] >= target:
        return x[last]
    return x[q] - (target - y[q]) * (x[q] - x[q - 1]) / (y[q - 1] - y[q])
