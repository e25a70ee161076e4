"""Calibration curves (weighted least squares), light/heavy ratios, LOD and LOQ.

Weights come from the nominal concentration, as Skyline and vendor software do:
``1/x`` gives ``w = 1/x`` and ``1/x^2`` gives ``w = 1/x**2``. Calibrators with zero
nominal concentration cannot be weighted that way and are excluded from weighted fits;
they are kept in unweighted fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from msuite.core.errors import InputError

__all__ = [
    "CalibrationCurve",
    "fit_calibration",
    "light_heavy_ratio",
    "limit_of_detection",
    "limit_of_quantification",
    "peptide_ratios",
    "percent_cv",
    "protein_rollup",
]

MODELS = {"linear": 1, "quadratic": 2}
WEIGHTINGS = ("none", "1/x", "1/x^2")


def _as_1d(values: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    if arr.size == 0:
        raise InputError("must not be empty", field=name, value=[], allowed="one or more numbers")
    return arr


def _weights(conc: np.ndarray, weighting: str) -> np.ndarray:
    if weighting == "none":
        return np.ones_like(conc)
    power = 1.0 if weighting == "1/x" else 2.0
    return 1.0 / conc**power


@dataclass(frozen=True)
class CalibrationCurve:
    """A fitted calibration curve ``response = c0 + c1*x (+ c2*x**2)``.

    Attributes
    ----------
    coefficients
        Polynomial coefficients, lowest order first.
    model, weighting
        The model and weighting used for the fit.
    r_squared
        Weighted coefficient of determination.
    n_points
        Calibrators used in the fit.
    concentration, response
        The calibrators used in the fit.
    """

    coefficients: tuple[float, ...]
    model: str
    weighting: str
    r_squared: float
    n_points: int
    concentration: np.ndarray = field(repr=False)
    response: np.ndarray = field(repr=False)

    def predict(self, concentration: ArrayLike) -> np.ndarray:
        """Return the response the curve predicts at ``concentration``."""
        x = np.asarray(concentration, dtype=float)
        return np.polynomial.polynomial.polyval(x, self.coefficients)

    def back_calculate(self, response: ArrayLike) -> np.ndarray:
        """Return the concentration giving ``response``.

        For a quadratic the root inside the calibrated range (with 1 % margin) is
        chosen; responses with no root in that range give NaN.
        """
        y = np.atleast_1d(np.asarray(response, dtype=float))
        c = self.coefficients
        if self.model == "linear":
            if c[1] == 0:
                return np.full(y.shape, np.nan)
            return (y - c[0]) / c[1]
        lo, hi = float(self.concentration.min()), float(self.concentration.max())
        margin = 0.01 * (hi - lo)
        out = np.full(y.shape, np.nan)
        for i, yi in enumerate(y):
            roots = np.polynomial.polynomial.polyroots([c[0] - yi, c[1], c[2]])
            real = roots[np.abs(roots.imag) < 1e-9].real
            inside = real[(real >= lo - margin) & (real <= hi + margin)]
            if inside.size:
                out[i] = inside.min()
        return out

    def percent_error(self) -> np.ndarray:
        """Return back-calculated % relative error per calibrator (NaN at zero)."""
        back = self.back_calculate(self.response)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(
                self.concentration != 0,
                100.0 * (back - self.concentration) / self.concentration,
                np.nan,
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the curve as plain Python values."""
        return {
            "model": self.model,
            "weighting": self.weighting,
            "coefficients": list(self.coefficients),
            "r_squared": self.r_squared,
            "n_points": self.n_points,
        }


def fit_calibration(
    concentration: ArrayLike,
    response: ArrayLike,
    model: str = "linear",
    weighting: str = "none",
) -> CalibrationCurve:
    """Fit a calibration curve by weighted least squares.

    Parameters
    ----------
    concentration
        Nominal calibrator concentrations (>= 0).
    response
        Measured responses (areas or light/heavy ratios).
    model
        ``"linear"`` or ``"quadratic"``.
    weighting
        ``"none"``, ``"1/x"`` or ``"1/x^2"``; zero concentrations are excluded from
        weighted fits.

    Returns
    -------
    CalibrationCurve
    """
    if model not in MODELS:
        raise InputError("unknown model", field="model", value=model, allowed=list(MODELS))
    if weighting not in WEIGHTINGS:
        raise InputError(
            "unknown weighting", field="weighting", value=weighting, allowed=list(WEIGHTINGS)
        )
    x = _as_1d(concentration, "concentration")
    y = _as_1d(response, "response")
    if x.size != y.size:
        raise InputError(
            "concentration and response differ in length",
            field="response", value=y.size, allowed=f"{x.size} values",
        )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InputError("values must be finite", field="concentration", value="NaN/inf",
                         allowed="finite numbers")
    if np.any(x < 0):
        raise InputError("negative concentration", field="concentration",
                         value=float(x[x < 0][0]), allowed=">= 0")
    if weighting != "none":
        keep = x > 0
        x, y = x[keep], y[keep]
    n_params = MODELS[model] + 1
    if x.size < n_params:
        raise InputError("fewer calibrators than curve parameters", field="concentration",
                         value=int(x.size), allowed=f">= {n_params} usable points")
    w = _weights(x, weighting)
    design = np.vander(x, n_params, increasing=True)
    sw = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(design * sw[:, None], y * sw, rcond=None)
    fitted = design @ coef
    ybar = np.sum(w * y) / np.sum(w)
    ss_tot = float(np.sum(w * (y - ybar) ** 2))
    ss_res = float(np.sum(w * (y - fitted) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")
    return CalibrationCurve(tuple(float(c) for c in coef), model, weighting, r2, int(x.size),
                            x, y)


def light_heavy_ratio(light_area: ArrayLike, heavy_area: ArrayLike) -> np.ndarray:
    """Return light/heavy area ratios; NaN where the heavy area is zero or missing."""
    light = np.asarray(light_area, dtype=float)
    heavy = np.asarray(heavy_area, dtype=float)
    if light.shape != heavy.shape:
        raise InputError("light and heavy areas differ in shape", field="heavy_area",
                         value=heavy.shape, allowed=str(light.shape))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(heavy > 0, light / heavy, np.nan)


def percent_cv(values: ArrayLike) -> float:
    """Return the coefficient of variation in percent (sample SD, ddof=1)."""
    v = _as_1d(values, "values")
    if v.size < 2:
        raise InputError("need at least two values", field="values", value=v.size, allowed=">= 2")
    return float(100.0 * np.std(v, ddof=1) / np.mean(v))


def limit_of_detection(blank_responses: ArrayLike, curve: CalibrationCurve) -> float:
    """Return the concentration at ``mean(blank) + 3*SD(blank)`` read through ``curve``."""
    b = _as_1d(blank_responses, "blank_responses")
    if b.size < 2:
        raise InputError("need at least two blanks", field="blank_responses", value=b.size,
                         allowed=">= 2")
    return float(curve.back_calculate(b.mean() + 3.0 * b.std(ddof=1))[0])


def limit_of_quantification(
    levels: ArrayLike,
    replicates: list[ArrayLike],
    max_cv: float = 20.0,
    max_bias: float = 20.0,
) -> float:
    """Return the lowest level with CV <= max_cv and |bias| <= max_bias at it and above.

    Parameters
    ----------
    levels
        Nominal concentrations, one per level.
    replicates
        Back-calculated concentrations of the replicates at each level.

    Returns
    -------
    float
        The LOQ, or NaN if the highest level already fails.
    """
    lv = _as_1d(levels, "levels")
    if len(replicates) != lv.size:
        raise InputError("one replicate set per level needed", field="replicates",
                         value=len(replicates), allowed=f"{lv.size} sets")
    order = np.argsort(lv)
    loq = float("nan")
    for i in order[::-1]:
        reps = _as_1d(replicates[i], "replicates")
        bias = 100.0 * (reps.mean() - lv[i]) / lv[i]
        if percent_cv(reps) <= max_cv and abs(bias) <= max_bias:
            loq = float(lv[i])
        else:
            break
    return loq


def peptide_ratios(
    peptides: ArrayLike, light_area: ArrayLike, heavy_area: ArrayLike
) -> dict[str, dict[str, float]]:
    """Return per peptide the summed-area ratio and the median per-transition ratio.

    Parameters
    ----------
    peptides
        Peptide label of each transition.
    light_area, heavy_area
        Light and heavy areas of each transition.

    Returns
    -------
    dict
        ``{peptide: {"sum_ratio": ..., "median_ratio": ...}}``; NaN where the heavy
        areas sum to zero or no transition has a usable ratio.
    """
    labels = np.asarray(peptides).ravel()
    light = np.asarray(light_area, dtype=float).ravel()
    heavy = np.asarray(heavy_area, dtype=float).ravel()
    if not labels.size == light.size == heavy.size:
        raise InputError("peptides, light and heavy areas differ in length",
                         field="heavy_area", value=heavy.size, allowed=f"{labels.size} values")
    out: dict[str, dict[str, float]] = {}
    for pep in dict.fromkeys(labels.tolist()):
        sel = labels == pep
        hs = heavy[sel].sum()
        per = light_heavy_ratio(light[sel], heavy[sel])
        per = per[np.isfinite(per)]
        out[str(pep)] = {
            "sum_ratio": float(light[sel].sum() / hs) if hs > 0 else float("nan"),
            "median_ratio": float(np.median(per)) if per.size else float("nan"),
        }
    return out


def protein_rollup(values: ArrayLike, method: str = "median") -> float:
    """Roll peptide values up to one protein value (``median``, ``mean`` or ``top3``).

    ``top3`` is the mean of the three largest finite values (fewer if fewer exist).
    NaN values are ignored; all-NaN gives NaN.
    """
    allowed = ["median", "mean", "top3"]
    if method not in allowed:
        raise InputError("unknown rollup method", field="method", value=method, allowed=allowed)
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan")
    if method == "median":
        return float(np.median(v))
    if method == "mean":
        return float(np.mean(v))
    return float(np.mean(np.sort(v)[-3:]))
