"""Signal physics: elution profiles, ion statistics, background, saturation and mass error.

All generators are pure functions of their inputs and a numpy Generator, so a run is
reproducible from its seed.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc, erfcx

from msuite.drivers.presets import InstrumentLimits
from msuite.drivers.protocol.records import POINT_DTYPE
from msuite.hardware_sim.sample import Analyte

__all__ = [
    "AnalyteArrays",
    "emg",
    "fragment_points",
    "full_scan_points",
    "srm_match",
    "srm_points",
]

#: Ions per second at the detector per fmol of analyte at the apex-normalised elution density.
RESPONSE_IONS_PER_FMOL = 4.0e5
#: Chemical background, ions per second (SRM channel) and per m/z (scans).
BACKGROUND_SRM = 300.0
BACKGROUND_FULL_PEAKS = 150
NEUTRON = 1.0033548378


def emg(t: np.ndarray | float, mu: np.ndarray, sigma: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Exponentially modified Gaussian density (area 1), stable form via ``erfcx``."""
    t = np.asarray(t, dtype=float)
    z = (t - mu) / sigma
    arg = (sigma / tau - z) / math.sqrt(2.0)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        # erfcx form before the tail, erfc form in the tail (where erfcx overflows)
        lead = np.exp(-0.5 * z * z) * erfcx(arg)
        tail = np.exp(0.5 * (sigma / tau) ** 2 - (t - mu) / tau) * erfc(arg)
        out = np.where(arg >= 0.0, lead, tail) / (2.0 * tau)
    return np.nan_to_num(out, nan=0.0, posinf=0.0)


class AnalyteArrays:
    """Analyte properties as arrays, for vectorised signal computation."""

    def __init__(self, analytes: list[Analyte]) -> None:
        self.analytes = analytes
        self.mz = np.array([a.precursor_mz for a in analytes])
        self.charge = np.array([a.charge for a in analytes])
        self.amount = np.array([a.amount_fmol for a in analytes])
        self.rt = np.array([a.rt for a in analytes])
        self.sigma = np.array([a.sigma for a in analytes])
        self.tau = np.array([a.tau for a in analytes])

    def rate(self, t: float, spray: float = 1.0) -> np.ndarray:
        """Ions per second of each analyte's precursor at run time ``t``."""
        return self.amount * RESPONSE_IONS_PER_FMOL * spray * emg(t, self.rt, self.sigma, self.tau)


def srm_match(
    analytes: list[Analyte], precursor: np.ndarray, product: np.ndarray, tol: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """For each transition, the analyte it sees (-1: none) and that fragment's relative yield.

    A transition sees an analyte when Q1 is within ``tol`` of its precursor and Q3 within
    ``tol`` of one of its fragments (unit resolution, 0.7 FWHM); the strongest match wins.
    """
    idx = np.full(precursor.size, -1, dtype=np.int64)
    rel = np.zeros(precursor.size)
    for k, (q1, q3) in enumerate(zip(precursor, product, strict=True)):
        for j, a in enumerate(analytes):
            if abs(a.precursor_mz - q1) > tol or a.fragment_mz.size == 0:
                continue
            near = np.abs(a.fragment_mz - q3) <= tol
            if near.any():
                r = float(a.fragment_rel[near].max())
                if r > rel[k]:
                    idx[k], rel[k] = j, r
    return idx, rel


def srm_points(
    t: float,
    arrays: AnalyteArrays,
    match_idx: np.ndarray,
    match_rel: np.ndarray,
    product: np.ndarray,
    dwell_s: np.ndarray,
    ids: np.ndarray,
    limits: InstrumentLimits,
    rng: np.random.Generator,
    spray: float = 1.0,
) -> tuple[np.ndarray, bool]:
    """One SRM cycle: Poisson counts for each active transition; returns (points, saturated)."""
    rates = arrays.rate(t, spray)
    signal = np.where(match_idx >= 0, rates[np.maximum(match_idx, 0)] * match_rel, 0.0)
    expected = (signal * 0.25 + BACKGROUND_SRM) * dwell_s  # 25 %: fragmentation x transmission
    counts = rng.poisson(expected).astype(np.float64)
    saturated = bool((counts > limits.saturation_counts).any())
    np.minimum(counts, limits.saturation_counts, out=counts)
    pts = np.empty(product.size, dtype=POINT_DTYPE)
    pts["mz"] = product
    pts["intensity"] = counts
    pts["tag"] = ids
    return pts, saturated


def _peak_width_sd(mz: np.ndarray, limits: InstrumentLimits, resolution: float) -> np.ndarray:
    if limits.kind == "orbitrap":
        res = resolution * np.sqrt(200.0 / mz)  # Orbitrap resolving power falls as 1/sqrt(m/z)
        return mz / res / 2.3548
    return np.full(mz.shape, 0.7 / 2.3548)  # quadrupole/ion trap: unit resolution


def _to_points(
    centers: np.ndarray,
    heights: np.ndarray,
    limits: InstrumentLimits,
    resolution: float,
    centroid: bool,
    rng: np.random.Generator,
) -> tuple[np.ndarray, bool]:
    centers = centers * (1.0 + rng.normal(0.0, limits.mass_error_ppm * 1e-6, centers.size))
    saturated = bool((heights > limits.saturation_counts).any())
    heights = np.minimum(heights, limits.saturation_counts)
    keep = heights > 0
    centers, heights = centers[keep], heights[keep]
    if centroid:
        order = np.argsort(centers)
        pts = np.zeros(centers.size, dtype=POINT_DTYPE)
        pts["mz"], pts["intensity"] = centers[order], heights[order]
        return pts, saturated
    sd = _peak_width_sd(centers, limits, resolution)[:, None]
    steps = np.linspace(-3.0, 3.0, 9)[None, :]
    mz = (centers[:, None] + sd * steps).ravel()
    inten = (heights[:, None] * np.exp(-0.5 * steps**2)).ravel()
    order = np.argsort(mz, kind="stable")
    pts = np.zeros(mz.size, dtype=POINT_DTYPE)
    pts["mz"], pts["intensity"] = mz[order], inten[order]
    return pts, saturated


def full_scan_points(
    t: float,
    arrays: AnalyteArrays,
    low: float,
    high: float,
    fill_s: float,
    limits: InstrumentLimits,
    resolution: float,
    centroid: bool,
    rng: np.random.Generator,
    spray: float = 1.0,
) -> tuple[np.ndarray, bool]:
    """An MS1 scan: isotope envelopes of eluting analytes plus chemical background."""
    rates = arrays.rate(t, spray)
    centers, expected = [], []
    for a, r in zip(arrays.analytes, rates, strict=True):
        if r * fill_s < 0.5:
            continue
        for k, rel in enumerate(a.envelope):
            mz = a.precursor_mz + k * NEUTRON / a.charge
            if low <= mz <= high:
                centers.append(mz)
                expected.append(r * fill_s * rel / a.envelope.sum())
    noise_mz = rng.uniform(low, high, BACKGROUND_FULL_PEAKS)
    noise = rng.exponential(50.0, BACKGROUND_FULL_PEAKS) * spray
    c = np.concatenate([np.asarray(centers, dtype=float), noise_mz])
    h = rng.poisson(np.concatenate([np.asarray(expected, dtype=float), noise])).astype(float)
    return _to_points(c, h, limits, resolution, centroid, rng)


def fragment_points(
    t: float,
    arrays: AnalyteArrays,
    low_mz: float,
    high_mz: float,
    fill_s: float,
    limits: InstrumentLimits,
    resolution: float,
    rng: np.random.Generator,
    spray: float = 1.0,
) -> tuple[np.ndarray, bool]:
    """An MS/MS scan (PRM or DIA window): b/y fragments of analytes isolated in the window."""
    rates = arrays.rate(t, spray)
    inside = (arrays.mz >= low_mz) & (arrays.mz <= high_mz)
    centers, expected = [], []
    for j in np.flatnonzero(inside):
        a = arrays.analytes[j]
        if rates[j] * fill_s < 0.5:
            continue
        centers.append(a.fragment_mz)
        expected.append(rates[j] * fill_s * 0.25 * a.fragment_rel)
    n_noise = 20
    centers.append(rng.uniform(100.0, max(2.0 * high_mz, 200.0), n_noise))
    expected.append(rng.exponential(5.0, n_noise) * spray)
    c = np.concatenate(centers)
    h = rng.poisson(np.concatenate(expected)).astype(float)
    return _to_points(c, h, limits, resolution, True, rng)
