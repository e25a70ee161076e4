"""Batch quantification: calibration curves fitted from the batch's calibrators, concentrations
of every sample, calibrator acceptance, LOD, LOQ and replicate CVs.

The response of a target in a run is its light/heavy ratio when it has a heavy standard and its
light area otherwise (``response`` of the peptide and compound tables). For every target group
(peptide precursor or compound) with calibrators in the sample sheet:

1. the curve ``response = f(nominal concentration)`` is fitted with the chosen model and
   weighting (:func:`msuite.quant.calibration.fit_calibration`); calibrators whose target was
   not found are left out and say so;
2. each calibrator is read back through the curve; it is accepted when its accuracy is within
   ``acceptance_percent`` of nominal (``lloq_acceptance_percent`` at the lowest level), as the
   FDA and EMA bioanalytical method validation guidelines and CLSI C62 ask;
3. with ``exclusion="auto"`` the calibrator furthest outside its limit is excluded and the curve
   refitted, one at a time, while at least ``min_kept_fraction`` of the calibrators and one
   more level than the model has parameters stay in the fit (vendor software offers the same
   as a manual step);
4. the lower and upper limits of quantification (LLOQ, ULOQ) are the lowest and highest levels
   still in the fit; LOD is ``mean + 3 SD`` of the blanks' responses read back through the curve
   (blanks where the target was not found count as zero response); LOQ is the lowest level from
   which on every level with replicate calibrators has CV and bias within the limits
   (:func:`msuite.quant.calibration.limit_of_quantification`).

Concentrations are the responses read back through the curve, multiplied by the sample's
dilution factor; ``flag`` says ``<LLOQ`` or ``>ULOQ`` when the back-calculated value of a
sample other than a calibrator lies outside the calibrated range. Targets without calibrators
use a curve given with ``--calibration`` when there is one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from msuite.core.errors import InputError
from msuite.quant.calibration import (
    MODELS,
    WEIGHTINGS,
    CalibrationCurve,
    fit_calibration,
    limit_of_quantification,
)
from msuite.quant.samples import Sample, SampleSheet

__all__ = [
    "BATCH_FILES",
    "CALIBRATION_COLUMNS",
    "CALIBRATOR_COLUMNS",
    "REPLICATE_COLUMNS",
    "SAMPLE_COLUMNS",
    "BatchResult",
    "CalibrationSettings",
    "quantify_batch",
]

#: columns added to the peptide and compound tables by a batch (empty without a sample sheet)
SAMPLE_COLUMNS = ("sample", "sample_type", "nominal_concentration", "accuracy", "flag")
CALIBRATION_COLUMNS = (
    "group_id",
    "protein",
    "peptide_or_compound",
    "source",
    "model",
    "weighting",
    "c0",
    "c1",
    "c2",
    "r_squared",
    "n_points",
    "n_levels",
    "n_excluded",
    "n_accepted",
    "lloq",
    "uloq",
    "lod",
    "loq",
    "status",
    "note",
)
CALIBRATOR_COLUMNS = (
    "run",
    "sample",
    "group_id",
    "peptide_or_compound",
    "nominal_concentration",
    "response",
    "back_calculated",
    "accuracy",
    "limit_percent",
    "accepted",
    "used",
    "note",
)
REPLICATE_COLUMNS = (
    "sample",
    "sample_type",
    "group_id",
    "peptide_or_compound",
    "n",
    "n_quantified",
    "nominal_concentration",
    "mean_response",
    "response_cv",
    "mean_concentration",
    "sd_concentration",
    "concentration_cv",
    "bias",
)
EXCLUSIONS = ("none", "auto")
#: every file a batch may write into msuite quant's output folder
BATCH_FILES = frozenset(
    {
        "calibration.csv",
        "calibrators.csv",
        "calibration.json",
        "replicates.csv",
        "qc.csv",
        "levey_jennings.csv",
        "qc_history.csv",
    }
)
_WITH_STANDARD = ("unknown", "calibrator", "qc", "blank")


@dataclass(frozen=True)
class CalibrationSettings:
    """How a batch's curves are fitted and judged.

    Attributes
    ----------
    model, weighting
        As :func:`msuite.quant.calibration.fit_calibration` takes them.
    acceptance_percent, lloq_acceptance_percent
        A calibrator is accepted when its back-calculated concentration is within this many
        percent of nominal (the second at the lowest level).
    exclusion
        ``"none"``: every found calibrator is fitted. ``"auto"``: the worst calibrator outside
        its limit is excluded and the curve refitted, one at a time.
    min_kept_fraction
        Auto exclusion stops before fewer than this fraction of calibrators remain.
    loq_max_cv, loq_max_bias
        LOQ criteria (percent) for replicate calibrators.
    """

    model: str = "linear"
    weighting: str = "1/x"
    acceptance_percent: float = 15.0
    lloq_acceptance_percent: float = 20.0
    exclusion: str = "none"
    min_kept_fraction: float = 0.75
    loq_max_cv: float = 20.0
    loq_max_bias: float = 20.0

    def validate(self) -> None:
        """Raise :class:`InputError` naming the first setting out of range."""
        choices = {"model": list(MODELS), "weighting": list(WEIGHTINGS), "exclusion": EXCLUSIONS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise InputError(
                    "unknown value", field=name, value=getattr(self, name), allowed=list(allowed)
                )
        for name in ("acceptance_percent", "lloq_acceptance_percent", "loq_max_cv", "loq_max_bias"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InputError("out of range", field=name, value=value, allowed="> 0 (percent)")
        if not 0 < self.min_kept_fraction <= 1:
            raise InputError(
                "out of range",
                field="min_kept_fraction",
                value=self.min_kept_fraction,
                allowed="0 < fraction <= 1",
            )

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain values (for parameters.json)."""
        return asdict(self)


@dataclass
class BatchResult:
    """What a batch adds to the results of ``msuite quant``."""

    curves: dict[str, CalibrationCurve] = field(default_factory=dict)
    calibration: list[dict[str, Any]] = field(default_factory=list)
    calibrators: list[dict[str, Any]] = field(default_factory=list)
    replicates: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Point:
    """One calibrator of one target."""

    sample: Sample
    row: dict[str, Any]
    nominal: float
    response: float
    used: bool = True
    note: str = ""


def _nominal(sample: Sample, row: dict[str, Any]) -> float:
    return sample.nominal(row["peptide_or_compound"], row["group_id"])


def _limit(settings: CalibrationSettings, nominal: float, lowest: float) -> float:
    if nominal == lowest:
        return settings.lloq_acceptance_percent
    return settings.acceptance_percent


def _accuracy(curve: CalibrationCurve, response: float, nominal: float) -> tuple[float, float]:
    back = float(curve.back_calculate(response)[0])
    if not (nominal > 0 and math.isfinite(back)):
        return back, math.nan
    return back, 100.0 * back / nominal


def _fit(points: list[_Point], settings: CalibrationSettings) -> CalibrationCurve:
    used = [p for p in points if p.used]
    return fit_calibration(
        [p.nominal for p in used],
        [p.response for p in used],
        settings.model,
        settings.weighting,
    )


def _worst_outside(
    points: list[_Point], curve: CalibrationCurve, settings: CalibrationSettings
) -> _Point | None:
    used = [p for p in points if p.used and p.nominal > 0]
    lowest = min((p.nominal for p in used), default=math.nan)
    worst, excess = None, 0.0
    for p in used:
        _, acc = _accuracy(curve, p.response, p.nominal)
        over = abs(acc - 100.0) - _limit(settings, p.nominal, lowest) if math.isfinite(acc) else 1e9
        if over > excess:
            worst, excess = p, over
    return worst


def _fit_with_exclusion(points: list[_Point], settings: CalibrationSettings) -> CalibrationCurve:
    curve = _fit(points, settings)
    if settings.exclusion != "auto":
        return curve
    n_total = len(points)
    min_levels = MODELS[settings.model] + 2
    while True:
        worst = _worst_outside(points, curve, settings)
        if worst is None:
            return curve
        kept = [p for p in points if p.used and p is not worst]
        levels = {p.nominal for p in kept if p.nominal > 0 or settings.weighting == "none"}
        if len(kept) < settings.min_kept_fraction * n_total or len(levels) < min_levels:
            return curve
        worst.used = False
        worst.note = "excluded: outside the acceptance limit"
        curve = _fit(points, settings)


def _calibrate_group(
    group_id: str,
    points: list[_Point],
    blanks: list[float],
    settings: CalibrationSettings,
    result: BatchResult,
) -> None:
    first = points[0].row
    info: dict[str, Any] = {
        "group_id": group_id,
        "protein": first.get("protein", ""),
        "peptide_or_compound": first["peptide_or_compound"],
        "source": "batch calibrators",
        "model": settings.model,
        "weighting": settings.weighting,
    }
    for p in points:
        if not math.isfinite(p.response):
            p.used, p.note = False, "not quantified in this run"
    try:
        curve = _fit_with_exclusion(points, settings)
    except InputError as exc:
        info.update(status="failed", note=exc.message, n_points=0)
        result.calibration.append(info)
        for p in points:
            result.calibrators.append(_calibrator_row(p, None, math.nan, settings))
        return
    result.curves[group_id] = curve
    in_fit = sorted({p.nominal for p in points if p.used and p.nominal > 0})
    lowest = in_fit[0] if in_fit else math.nan
    for p in points:
        result.calibrators.append(_calibrator_row(p, curve, lowest, settings))
    rows = [
        r
        for r in result.calibrators[-len(points) :]
        if r["used"] and r["nominal_concentration"] > 0
    ]
    coef = list(curve.coefficients) + [math.nan] * (3 - len(curve.coefficients))
    info.update(
        c0=coef[0],
        c1=coef[1],
        c2=coef[2],
        r_squared=curve.r_squared,
        n_points=curve.n_points,
        n_levels=len(in_fit),
        n_excluded=sum(1 for p in points if not p.used),
        n_accepted=sum(1 for r in rows if r["accepted"]),
        lloq=lowest,
        uloq=in_fit[-1] if in_fit else math.nan,
        lod=_lod(blanks, curve),
        loq=_loq(points, curve, settings),
    )
    fraction = info["n_accepted"] / len(rows) if rows else 0.0
    info["status"] = "accepted" if fraction >= settings.min_kept_fraction else "rejected"
    notes = []
    if info["status"] == "rejected":
        notes.append(
            f"{info['n_accepted']} of {len(rows)} calibrators within limits "
            f"(< {100 * settings.min_kept_fraction:g} %)"
        )
    if len(blanks) < 2:
        notes.append("LOD needs two or more blanks")
    if not math.isfinite(info["loq"]):
        notes.append("LOQ needs replicate calibrators meeting the CV and bias limits")
    info["note"] = "; ".join(notes)
    result.calibration.append(info)


def _calibrator_row(
    p: _Point, curve: CalibrationCurve | None, lowest: float, settings: CalibrationSettings
) -> dict[str, Any]:
    back, acc = (math.nan, math.nan)
    if curve is not None and math.isfinite(p.response):
        back, acc = _accuracy(curve, p.response, p.nominal)
    limit = _limit(settings, p.nominal, lowest)
    return {
        "run": p.sample.run,
        "sample": p.sample.sample,
        "group_id": p.row["group_id"],
        "peptide_or_compound": p.row["peptide_or_compound"],
        "nominal_concentration": p.nominal,
        "response": p.response,
        "back_calculated": back,
        "accuracy": acc,
        "limit_percent": limit,
        "accepted": bool(math.isfinite(acc) and abs(acc - 100.0) <= limit),
        "used": p.used,
        "note": p.note,
    }


def _lod(blanks: list[float], curve: CalibrationCurve) -> float:
    if len(blanks) < 2:
        return math.nan
    b = np.asarray(blanks, dtype=float)
    value = float(curve.back_calculate(b.mean() + 3.0 * b.std(ddof=1))[0])
    return value if value > 0 else math.nan


def _loq(points: list[_Point], curve: CalibrationCurve, settings: CalibrationSettings) -> float:
    by_level: dict[float, list[float]] = {}
    for p in points:
        if p.used and p.nominal > 0:
            by_level.setdefault(p.nominal, []).append(float(curve.back_calculate(p.response)[0]))
    levels = [lv for lv, reps in by_level.items() if len(reps) >= 2]
    if not levels:
        return math.nan
    reps = [np.asarray(by_level[lv]) for lv in levels]
    return limit_of_quantification(levels, reps, settings.loq_max_cv, settings.loq_max_bias)


def _response(row: dict[str, Any]) -> float:
    value = row.get("response", math.nan)
    return float(value) if value is not None else math.nan


def _annotate(
    row: dict[str, Any], sample: Sample, curve: CalibrationCurve | None, lloq: float, uloq: float
) -> None:
    nominal = _nominal(sample, row)
    row.setdefault("flag", "")
    row["sample"] = sample.sample
    row["sample_type"] = sample.sample_type
    row["nominal_concentration"] = (
        nominal if sample.sample_type in ("calibrator", "qc") else math.nan
    )
    if curve is not None:
        response = _response(row)
        conc = float(curve.back_calculate(response)[0]) if math.isfinite(response) else math.nan
        row["concentration"] = conc * sample.dilution_factor
        flag = ""
        if sample.sample_type == "calibrator":
            pass  # calibrators define the range: their accuracy says how they read back
        elif math.isfinite(conc) and math.isfinite(lloq) and conc < lloq:
            flag = "<LLOQ"
        elif math.isfinite(conc) and math.isfinite(uloq) and conc > uloq:
            flag = ">ULOQ"
        row["flag"] = flag
    nominal_row = row["nominal_concentration"]
    conc = row.get("concentration", math.nan)
    row["accuracy"] = (
        100.0 * conc / nominal_row
        if nominal_row and math.isfinite(nominal_row) and math.isfinite(conc)
        else math.nan
    )


def _replicates(groups: Sequence[dict[str, Any]], sheet: SampleSheet) -> list[dict[str, Any]]:
    by: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in groups:
        s = sheet[row["run"]]
        by.setdefault((s.sample_type, s.sample, row["group_id"]), []).append(row)
    out = []
    for (kind, sample, group_id), rows in by.items():
        if len(rows) < 2:
            continue
        resp = np.array([_response(r) for r in rows])
        conc = np.array([r.get("concentration", math.nan) for r in rows], dtype=float)
        resp_ok, conc_ok = resp[np.isfinite(resp)], conc[np.isfinite(conc)]
        nominal = rows[0].get("nominal_concentration", math.nan)
        mean_conc = float(conc_ok.mean()) if conc_ok.size else math.nan
        out.append(
            {
                "sample": sample,
                "sample_type": kind,
                "group_id": group_id,
                "peptide_or_compound": rows[0]["peptide_or_compound"],
                "n": len(rows),
                "n_quantified": int(resp_ok.size),
                "nominal_concentration": nominal,
                "mean_response": float(resp_ok.mean()) if resp_ok.size else math.nan,
                "response_cv": _cv(resp_ok),
                "mean_concentration": mean_conc,
                "sd_concentration": float(conc_ok.std(ddof=1)) if conc_ok.size >= 2 else math.nan,
                "concentration_cv": _cv(conc_ok),
                "bias": 100.0 * (mean_conc - nominal) / nominal
                if nominal and math.isfinite(nominal)
                else math.nan,
            }
        )
    return out


def _cv(values: np.ndarray) -> float:
    if values.size < 2 or values.mean() == 0:
        return math.nan
    return float(100.0 * values.std(ddof=1) / values.mean())


def quantify_batch(
    groups: list[dict[str, Any]],
    sheet: SampleSheet,
    settings: CalibrationSettings | None = None,
    fixed_curves: dict[str, CalibrationCurve] | None = None,
) -> BatchResult:
    """Fit the batch's curves and fill concentrations into ``groups`` (changed in place).

    Parameters
    ----------
    groups
        Peptide and compound rows of :func:`msuite.quant.results.summarise_groups`.
    sheet
        The batch's sample sheet; every run of ``groups`` must be in it.
    settings
        Curve model, weighting and acceptance criteria.
    fixed_curves
        Curves from ``--calibration`` by target or group id, used for targets without
        calibrators in the batch.

    Returns
    -------
    BatchResult
        Curves by group id and the rows of calibration.csv, calibrators.csv, replicates.csv.
    """
    settings = settings or CalibrationSettings()
    settings.validate()
    sheet.check_runs(dict.fromkeys(r["run"] for r in groups))
    fixed_curves = fixed_curves or {}
    by_group: dict[str, list[dict[str, Any]]] = {}
    for row in groups:
        by_group.setdefault(row["group_id"], []).append(row)
    result = BatchResult()
    for group_id, rows in by_group.items():
        points, blanks = [], []
        for row in rows:
            s = sheet[row["run"]]
            if s.sample_type == "calibrator":
                points.append(_Point(s, row, _nominal(s, row), _response(row)))
            elif s.sample_type == "blank":
                r = _response(row)
                blanks.append(r if math.isfinite(r) else 0.0)
        if points:
            points.sort(key=lambda p: (p.nominal, p.sample.order))
            _calibrate_group(group_id, points, blanks, settings, result)
        curve = result.curves.get(group_id)
        info = result.calibration[-1] if points else None
        lloq = info.get("lloq", math.nan) if info else math.nan
        uloq = info.get("uloq", math.nan) if info else math.nan
        if curve is None and not points:
            first = rows[0]
            curve = fixed_curves.get(first["peptide_or_compound"]) or fixed_curves.get(group_id)
            if curve is not None:
                lloq, uloq = _range(curve)
                result.calibration.append(_fixed_info(first, curve, lloq, uloq))
        for row in rows:
            if points and curve is None:  # the batch's own curve failed: no concentration
                row["concentration"], row["flag"] = math.nan, "no curve"
            _annotate(row, sheet[row["run"]], curve, lloq, uloq)
    result.replicates = _replicates(groups, sheet)
    return result


def _range(curve: CalibrationCurve) -> tuple[float, float]:
    c = curve.concentration
    if c.size == 0:
        return math.nan, math.nan
    lo, hi = float(c.min()), float(c.max())
    return (lo if lo > 0 else math.nan), (hi if math.isfinite(hi) else math.nan)


def _fixed_info(
    row: dict[str, Any], curve: CalibrationCurve, lloq: float, uloq: float
) -> dict[str, Any]:
    coef = list(curve.coefficients) + [math.nan] * (3 - len(curve.coefficients))
    return {
        "group_id": row["group_id"],
        "protein": row.get("protein", ""),
        "peptide_or_compound": row["peptide_or_compound"],
        "source": "--calibration",
        "model": curve.model,
        "weighting": curve.weighting,
        "c0": coef[0],
        "c1": coef[1],
        "c2": coef[2],
        "r_squared": curve.r_squared,
        "n_points": curve.n_points,
        "lloq": lloq,
        "uloq": uloq,
        "status": "given",
        "note": "no calibrators in this batch",
    }
