"""System suitability checks, Westgard rules and Levey-Jennings z-scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from msuite.core.errors import InputError

__all__ = [
    "CheckResult",
    "WestgardViolation",
    "check_carryover",
    "check_ion_ratio",
    "check_is_area_cv",
    "check_retention_time",
    "levey_jennings",
    "westgard",
]


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one suitability check: ``passed`` is ``value <= limit``."""

    name: str
    value: float
    limit: float
    passed: bool


def _result(name: str, value: float, limit: float) -> CheckResult:
    return CheckResult(name, float(value), float(limit), bool(value <= limit))


def check_retention_time(observed: float, expected: float, max_percent: float = 2.5) -> CheckResult:
    """Pass if the RT deviates from ``expected`` by at most ``max_percent`` % of it."""
    if not expected > 0:
        raise InputError("expected RT must be positive", field="expected", value=expected,
                         allowed="> 0")
    return _result("retention_time", 100.0 * abs(observed - expected) / expected, max_percent)


def check_is_area_cv(areas: ArrayLike, max_cv: float = 20.0) -> CheckResult:
    """Pass if the internal-standard area CV (%, ddof=1) is at most ``max_cv``."""
    a = np.asarray(areas, dtype=float).ravel()
    if a.size < 2:
        raise InputError("need at least two areas", field="areas", value=a.size, allowed=">= 2")
    return _result("is_area_cv", 100.0 * a.std(ddof=1) / a.mean(), max_cv)


def check_ion_ratio(
    ratio: float, calibrator_ratios: ArrayLike, max_percent: float = 20.0
) -> CheckResult:
    """Pass if ``ratio`` is within ``max_percent`` % (relative) of the calibrators' mean."""
    ref = float(np.mean(np.asarray(calibrator_ratios, dtype=float)))
    if not ref > 0:
        raise InputError("calibrator mean ion ratio must be positive",
                         field="calibrator_ratios", value=ref, allowed="> 0")
    return _result("ion_ratio", 100.0 * abs(ratio - ref) / ref, max_percent)


def check_carryover(
    blank_response: float, lloq_response: float, max_percent: float = 20.0
) -> CheckResult:
    """Pass if the blank after the top calibrator is at most ``max_percent`` % of the LLOQ."""
    if not lloq_response > 0:
        raise InputError("LLOQ response must be positive", field="lloq_response",
                         value=lloq_response, allowed="> 0")
    return _result("carryover", 100.0 * blank_response / lloq_response, max_percent)


@dataclass(frozen=True)
class WestgardViolation:
    """One Westgard rule broken at ``index`` (the last value of the run of ``values``)."""

    rule: str
    index: int
    values: tuple[float, ...]


def _z(values: ArrayLike, mean: float, sd: float) -> tuple[np.ndarray, np.ndarray]:
    if not sd > 0:
        raise InputError("SD must be positive", field="sd", value=sd, allowed="> 0")
    v = np.asarray(values, dtype=float).ravel()
    return v, (v - mean) / sd


def levey_jennings(values: ArrayLike, mean: float, sd: float) -> dict[str, object]:
    """Return z-scores and the mean and +-1/2/3 SD lines."""
    _, z = _z(values, mean, sd)
    lines = {f"{s:+d}sd": mean + s * sd for s in (-3, -2, -1, 1, 2, 3)}
    return {"z": z, "mean": mean, "lines": lines}


def _same_side_run(z: np.ndarray, i: int, n: int, limit: float) -> bool:
    if i + 1 < n:
        return False
    w = z[i + 1 - n : i + 1]
    return bool(np.all(w > limit) or np.all(w < -limit))


def westgard(values: ArrayLike, mean: float, sd: float) -> list[WestgardViolation]:
    """Apply 1-2s (warning), 1-3s, 2-2s, R-4s, 4-1s and 10x to a QC history."""
    v, z = _z(values, mean, sd)
    out: list[WestgardViolation] = []

    def add(rule: str, i: int, n: int) -> None:
        out.append(WestgardViolation(rule, i, tuple(float(x) for x in v[i + 1 - n : i + 1])))

    for i in range(z.size):
        if abs(z[i]) > 2:
            add("1-2s", i, 1)
        if abs(z[i]) > 3:
            add("1-3s", i, 1)
        if _same_side_run(z, i, 2, 2.0):
            add("2-2s", i, 2)
        if i >= 1 and z[i] * z[i - 1] < 0 and abs(z[i] - z[i - 1]) > 4:
            add("R-4s", i, 2)
        if _same_side_run(z, i, 4, 1.0):
            add("4-1s", i, 4)
        if _same_side_run(z, i, 10, 0.0):
            add("10x", i, 10)
    return out
