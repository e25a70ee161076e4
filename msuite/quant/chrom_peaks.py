"""Chromatographic peaks of SRM/PRM traces: Savitzky-Golay smoothing, boundaries, Skyline
background, area, height, RT, FWHM, S/N and points across the peak.

Example
-------
>>> from msuite.quant.chrom_peaks import pick_chromatogram              # doctest: +SKIP
>>> peaks = pick_chromatogram(chrom.time, chrom.intensity)             # doctest: +SKIP
>>> best = peaks.largest()                                             # doctest: +SKIP
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.signal import savgol_coeffs

from msuite.core.errors import InputError
from msuite.core.model import Chromatogram
from msuite.quant.chrom_kernels import chrom_peak_kernel, residual_mad_kernel, savgol_kernel

__all__ = [
    "ChromPeakParams",
    "ChromPeaks",
    "estimate_noise",
    "pick_chromatogram",
    "pick_chromatograms",
    "smooth_trace",
]

_MAD_TO_SD = 1.4826


@dataclass(frozen=True, slots=True)
class ChromPeakParams:
    """Parameters of chromatographic peak picking.

    Attributes
    ----------
    window
        Savitzky-Golay window (points, odd, >= 3); 0 or 1 disables smoothing.
    order
        Savitzky-Golay polynomial order (< window).
    min_snr
        Peaks whose smoothed apex rises less than ``min_snr`` x noise above the lower
        smoothed boundary are dropped.
    boundary_fraction
        A boundary walk stops where the smoothed trace falls to this fraction of the apex
        (it also stops where the trace rises again).
    min_points
        Fewest points between the boundaries (inclusive) of a reported peak.
    """

    window: int = 7
    order: int = 2
    min_snr: float = 3.0
    boundary_fraction: float = 0.01
    min_points: int = 3

    def validate(self) -> None:
        """Raise :class:`InputError` naming the first bad parameter."""
        if self.window > 1 and (self.window % 2 == 0 or self.window < 3):
            raise InputError("must be odd and >= 3 (or 0 to disable)", field="window",
                             value=self.window)
        if self.window > 1 and not 0 <= self.order < self.window:
            raise InputError("must be >= 0 and < window", field="order", value=self.order,
                             allowed=f"0..{self.window - 1}")
        if not (math.isfinite(self.min_snr) and self.min_snr >= 0):
            raise InputError("must be a finite number >= 0", field="min_snr", value=self.min_snr)
        if not 0 <= self.boundary_fraction < 1:
            raise InputError("must be in [0, 1)", field="boundary_fraction",
                             value=self.boundary_fraction)
        if self.min_points < 1:
            raise InputError("must be >= 1", field="min_points", value=self.min_points)


@dataclass(slots=True)
class ChromPeaks:
    """Peaks of one trace (arrays of equal length, in time order).

    Attributes
    ----------
    rt
        Apex retention time (s), interpolated on the smoothed trace.
    start, end
        Peak boundaries (s).
    area
        Raw area from boundary to boundary (intensity x s), background included.
    background
        Skyline background: lower boundary intensity x (end - start).
    height
        Raw apex intensity above the background level.
    apex_intensity
        Raw apex intensity.
    fwhm
        Full width at half height above background (s), on the smoothed trace.
    snr
        Smoothed apex above the lower smoothed boundary, over the trace's noise level.
    points
        Points from boundary to boundary (inclusive).
    first, last
        Index of the boundary points.
    noise
        Noise level of the trace (robust SD of raw minus smoothed).
    """

    rt: np.ndarray
    start: np.ndarray
    end: np.ndarray
    area: np.ndarray
    background: np.ndarray
    height: np.ndarray
    apex_intensity: np.ndarray
    fwhm: np.ndarray
    snr: np.ndarray
    points: np.ndarray
    first: np.ndarray
    last: np.ndarray
    noise: float

    def __len__(self) -> int:
        return int(self.rt.size)

    @property
    def corrected_area(self) -> np.ndarray:
        """Area above the Skyline background (``area - background``)."""
        return self.area - self.background

    def largest(self) -> int:
        """Index of the peak with the largest background-subtracted area (-1 when none)."""
        return int(np.argmax(self.corrected_area)) if len(self) else -1


@functools.lru_cache(maxsize=32)
def _savgol(window: int, order: int) -> np.ndarray:
    coeffs = np.ascontiguousarray(savgol_coeffs(window, order), dtype=np.float64)
    coeffs.setflags(write=False)
    return coeffs


def _coefficients(params: ChromPeakParams) -> np.ndarray:
    if params.window <= 1:
        return np.ones(1)
    return _savgol(int(params.window), int(params.order))


def smooth_trace(intensity: np.ndarray, window: int = 7, order: int = 2) -> np.ndarray:
    """Savitzky-Golay smoothing of a trace (ends padded with the end values)."""
    params = ChromPeakParams(window=window, order=order)
    params.validate()
    y = np.ascontiguousarray(intensity, dtype=np.float64)
    out = np.empty_like(y)
    savgol_kernel(y, _coefficients(params), out)
    return out


def estimate_noise(raw: np.ndarray, smooth: np.ndarray, centre_coefficient: float) -> float:
    """Noise SD of a trace from the median absolute residual of raw minus smoothed.

    The residual of white noise of SD s after Savitzky-Golay smoothing has SD
    ``s * sqrt(1 - c0)`` (``c0`` the filter's centre coefficient); that factor is undone.
    """
    mad = float(residual_mad_kernel(raw, smooth))
    scale = math.sqrt(max(1.0 - centre_coefficient, 1e-12))
    return _MAD_TO_SD * mad / scale


def _validate_trace(time: np.ndarray, intensity: np.ndarray, name: str) -> None:
    if time.ndim != 1 or time.shape != intensity.shape:
        raise InputError("time and intensity must be 1-D arrays of equal length", field=name,
                         value=f"{time.shape} vs {intensity.shape}")
    if not (np.all(np.isfinite(time)) and np.all(np.isfinite(intensity))):
        raise InputError("time and intensity must be finite", field=name)
    if time.size > 1 and np.any(np.diff(time) < 0):
        raise InputError("time must be ascending", field=name)


def pick_chromatogram(
    time: np.ndarray,
    intensity: np.ndarray,
    params: ChromPeakParams | None = None,
    *,
    name: str = "trace",
) -> ChromPeaks:
    """Find the peaks of one trace (time in seconds)."""
    params = params or ChromPeakParams()
    params.validate()
    t = np.ascontiguousarray(time, dtype=np.float64)
    raw = np.ascontiguousarray(intensity, dtype=np.float64)
    _validate_trace(t, raw, name)
    coeffs = _coefficients(params)
    smooth = np.empty_like(raw)
    savgol_kernel(raw, coeffs, smooth)
    noise = estimate_noise(raw, smooth, float(coeffs[coeffs.size // 2])) if coeffs.size > 1 else 0.0
    room = raw.size // 2 + 1
    floats = [np.empty(room, dtype=np.float64) for _ in range(9)]
    ints = [np.empty(room, dtype=np.int64) for _ in range(3)]
    count = chrom_peak_kernel(
        t, raw, smooth, noise, float(params.min_snr), float(params.boundary_fraction),
        int(params.min_points), *floats, *ints,
    )
    f = [a[:count] for a in floats]
    i = [a[:count] for a in ints]
    return ChromPeaks(*f, *i, noise=noise)


def pick_chromatograms(
    chromatograms: Sequence[Chromatogram],
    params: ChromPeakParams | None = None,
    *,
    threads: int | None = None,
) -> list[ChromPeaks]:
    """Pick the peaks of many traces.

    One thread by default: a trace is small, so Python overhead (which holds the GIL)
    outweighs the kernels; ``threads`` > 1 pays off for long traces only.
    """
    params = params or ChromPeakParams()
    params.validate()

    def one(c: Chromatogram) -> ChromPeaks:
        return pick_chromatogram(c.time, c.intensity, params, name=c.native_id)

    n = min(threads or 1, max(1, len(chromatograms)))
    if n == 1:
        return [one(c) for c in chromatograms]
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, chromatograms))
