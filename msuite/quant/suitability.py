"""System-suitability checks of a quantification batch: the rows of ``qc.csv``.

:func:`suitability_rows` takes the per-run group summaries and transition rows of
``msuite quant`` (with the sample-sheet keys ``sample_type``, ``nominal_concentration`` and
``accuracy`` added to the group rows) and the :class:`~msuite.quant.samples.SampleSheet`, and
returns one row per check with the columns :data:`SUITABILITY_COLUMNS`.

=====================  ===================================================================
check                  what it compares (``passed`` is ``value <= limit`` unless noted)
=====================  ===================================================================
retention_time         per run and group: ``|rt - reference| / reference`` in %. The
                       reference is the list's expected RT (``reference`` = ``list``), else
                       the mean RT of the calibrators (``calibrators``), else of all runs
                       (``all runs``).
is_area_cv             per group, one row with ``run`` empty: CV % (ddof=1) of the
                       internal-standard (heavy) area over every run that contains the
                       standard (all sample types but ``double_blank`` and ``solvent``).
is_area_deviation      per run that contains the standard: ``|area - batch mean| / batch
                       mean`` in %, limit ``is_area_deviation_percent`` (default 50, i.e.
                       each run's standard within 50-150 % of the batch mean). A run that
                       should hold the standard but where it is not found fails.
ion_ratio              per run (unknowns, calibrators, QCs) and light qualifier transition:
                       ``area(qualifier) / area(quantifier)`` against the mean of that ratio
                       over the calibrators, relative difference in %. Without a quantifier
                       flag in the list, the light transition with the largest mean
                       calibrator area is the quantifier (said in ``note``).
carryover              per group and blank, double blank or solvent run that directly
                       follows (injection order) the highest calibrator, or a run whose
                       response is above every highest-calibrator run's: the blank's light
                       area in % of the mean light area of the lowest non-zero calibrator
                       level (LLOQ). No light peak in the blank counts as 0 %.
qc_accuracy            per QC run and group: ``value`` is the accuracy (% of nominal) and
                       ``passed`` is ``|value - 100| <= limit``.
=====================  ===================================================================

Data that is missing (group not found, no calibrators, no internal standard, too few values)
gives a row with ``passed`` None and a ``note`` saying why; it never raises.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import partial
from typing import Any

import numpy as np

from msuite.core.errors import InputError
from msuite.quant.qc import (
    check_carryover,
    check_ion_ratio,
    check_is_area_cv,
    check_retention_time,
)
from msuite.quant.samples import SampleSheet

__all__ = [
    "BLANK_TYPES",
    "SUITABILITY_CHECKS",
    "SUITABILITY_COLUMNS",
    "SuitabilityCriteria",
    "suitability_rows",
]

#: columns of ``qc.csv``, in order
SUITABILITY_COLUMNS = (
    "run",
    "sample_type",
    "group_id",
    "peptide_or_compound",
    "check",
    "transition_id",
    "value",
    "limit",
    "unit",
    "passed",
    "reference",
    "note",
)
#: the ``check`` values, in the order rows are produced
SUITABILITY_CHECKS = (
    "retention_time",
    "is_area_cv",
    "is_area_deviation",
    "ion_ratio",
    "carryover",
    "qc_accuracy",
)
#: sample types checked for carryover
BLANK_TYPES = ("blank", "double_blank", "solvent")
#: sample types without internal standard
_NO_STANDARD_TYPES = ("double_blank", "solvent")
#: sample types whose ion ratios are checked
_ION_RATIO_TYPES = ("unknown", "calibrator", "qc")


@dataclass(frozen=True)
class SuitabilityCriteria:
    """Acceptance limits of the suitability checks (all in %, all finite and > 0).

    Attributes
    ----------
    rt_percent
        Largest RT deviation from the reference, % of the reference.
    is_area_cv
        Largest CV of the internal-standard area over the batch.
    ion_ratio_percent
        Largest relative difference of a qualifier/quantifier ratio from the calibrators' mean.
    carryover_percent
        Largest blank light area, % of the LLOQ calibrators' mean light area.
    qc_accuracy_percent
        Largest deviation of a QC's accuracy from 100 %.
    is_area_deviation_percent
        Largest deviation of one run's internal-standard area from the batch mean.
    """

    rt_percent: float = 2.5
    is_area_cv: float = 20.0
    ion_ratio_percent: float = 20.0
    carryover_percent: float = 20.0
    qc_accuracy_percent: float = 15.0
    is_area_deviation_percent: float = 50.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not ok or not math.isfinite(value) or value <= 0:
                raise InputError(
                    "not an acceptance limit",
                    field=f.name,
                    value=value,
                    allowed="a finite number > 0 (percent)",
                )


def _num(value: Any) -> float:
    """A float, NaN for None, empty text or anything that is not a number."""
    if value is None or value == "" or isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _finite(value: Any) -> bool:
    return math.isfinite(_num(value))


class _Batch:
    """The group and transition rows of a batch, indexed by group and by injection order."""

    def __init__(
        self,
        groups: Iterable[Mapping[str, Any]],
        transitions: Iterable[Mapping[str, Any]],
        sheet: SampleSheet,
    ) -> None:
        groups, transitions = list(groups), list(transitions)
        samples = sheet.by_run()
        self.order = [s.run for s in sheet.ordered()]
        for row in (*groups, *transitions):
            if row["run"] not in samples and row["run"] not in self.order:
                self.order.append(row["run"])
        self.types = {run: s.sample_type for run, s in samples.items()}
        self.types.update({g["run"]: str(g["sample_type"]) for g in groups if g.get("sample_type")})
        self.by_group: dict[str, dict[str, Mapping[str, Any]]] = {}
        for g in groups:
            self.by_group.setdefault(g["group_id"], {})[g["run"]] = g
        self.transitions_of: dict[str, list[Mapping[str, Any]]] = {}
        for t in transitions:
            self.transitions_of.setdefault(t["group_id"], []).append(t)

    def type_of(self, run: str) -> str:
        return self.types.get(run, "unknown")

    def runs_of(self, group_id: str) -> list[Mapping[str, Any]]:
        """The group's rows in injection order."""
        rows = self.by_group[group_id]
        return [rows[r] for r in self.order if r in rows]

    def row(
        self,
        check: str,
        group: Mapping[str, Any],
        *,
        per_run: bool = True,
        transition_id: str = "",
        value: float = math.nan,
        limit: float = math.nan,
        unit: str = "%",
        passed: bool | None = None,
        reference: str = "",
        note: str = "",
    ) -> dict[str, Any]:
        """One output row; ``per_run=False`` leaves ``run`` and ``sample_type`` empty."""
        return {
            "run": group["run"] if per_run else "",
            "sample_type": self.type_of(group["run"]) if per_run else "",
            "group_id": group["group_id"],
            "peptide_or_compound": group["peptide_or_compound"],
            "check": check,
            "transition_id": transition_id,
            "value": float(value),
            "limit": float(limit),
            "unit": unit,
            "passed": passed,
            "reference": reference,
            "note": note,
        }


def _not_found_note(group: Mapping[str, Any]) -> str:
    return "target not found in this run" if not group.get("found") else ""


# --------------------------------------------------------------------------- retention time
def _rt_reference(batch: _Batch, group_id: str) -> tuple[float, str]:
    for t in batch.transitions_of.get(group_id, []):
        expected = _num(t.get("expected_rt"))
        if math.isfinite(expected) and expected > 0:
            return expected, "list"
    rows = [g for g in batch.runs_of(group_id) if g.get("found") and _finite(g.get("rt"))]
    cal = [g for g in rows if batch.type_of(g["run"]) == "calibrator"]
    for sel, name in ((cal, "calibrators"), (rows, "all runs")):
        if sel:
            return float(np.mean([_num(g["rt"]) for g in sel])), name
    return math.nan, ""


def _retention_time_rows(batch: _Batch, group_id: str, c: SuitabilityCriteria) -> list[dict]:
    ref, source = _rt_reference(batch, group_id)
    out = []
    for g in batch.runs_of(group_id):
        rt = _num(g.get("rt"))
        value, passed = math.nan, None
        if not (g.get("found") and math.isfinite(rt)):
            note = _not_found_note(g) or "no retention time"
        elif not (math.isfinite(ref) and ref > 0):
            note = "no reference RT (none in the list, none found in the batch)"
        else:
            r = check_retention_time(rt, ref, c.rt_percent)
            value, passed = r.value, r.passed
            note = f"rt {rt:.3f} min, reference {ref:.3f} min"
        out.append(
            batch.row(
                "retention_time",
                g,
                value=value,
                limit=c.rt_percent,
                passed=passed,
                reference=source,
                note=note,
            )
        )
    return out


# --------------------------------------------------------------------- internal standard area
def _has_standard(batch: _Batch, group_id: str) -> bool:
    if any(t.get("label") == "heavy" for t in batch.transitions_of.get(group_id, [])):
        return True
    return any(_finite(g.get("heavy_area")) for g in batch.runs_of(group_id))


def _is_area_rows(batch: _Batch, group_id: str, c: SuitabilityCriteria) -> list[dict]:
    rows = batch.runs_of(group_id)
    cv_row = partial(batch.row, "is_area_cv", rows[0], per_run=False, limit=c.is_area_cv)
    if not _has_standard(batch, group_id):
        return [cv_row(note="no internal standard (heavy) for this target")]
    with_is = [g for g in rows if batch.type_of(g["run"]) not in _NO_STANDARD_TYPES]
    have = [g for g in with_is if _finite(g.get("heavy_area"))]
    missing = [g["run"] for g in with_is if not _finite(g.get("heavy_area"))]
    gap = f"; internal standard not found in {', '.join(missing)}" if missing else ""
    if len(have) < 2:
        note = f"{len(have)} run(s) with an internal-standard area; need 2{gap}"
        return [cv_row(reference="batch", note=note)]
    areas = np.array([_num(g["heavy_area"]) for g in have])
    cv = check_is_area_cv(areas, c.is_area_cv)
    out = [
        cv_row(value=cv.value, passed=cv.passed, reference="batch", note=f"{len(have)} runs{gap}")
    ]
    mean = float(areas.mean())
    for g in with_is:
        area = _num(g.get("heavy_area"))
        value, passed = math.nan, None
        if not math.isfinite(area):  # a run that should hold the standard and does not fails
            value, passed = 100.0, False
            note = "internal standard not found in this run"
        elif not mean > 0:
            note = "batch mean internal-standard area not positive"
        else:
            value = 100.0 * abs(area - mean) / mean
            passed = bool(value <= c.is_area_deviation_percent)
            note = f"area {area:.6g}, batch mean {mean:.6g}"
        out.append(
            batch.row(
                "is_area_deviation",
                g,
                value=value,
                limit=c.is_area_deviation_percent,
                passed=passed,
                reference="batch mean",
                note=note,
            )
        )
    return out


# ------------------------------------------------------------------------------- ion ratio
def _light_areas(batch: _Batch, group_id: str) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Light transition areas by transition id and run, and the flagged quantifier ids."""
    areas: dict[str, dict[str, float]] = {}
    flagged = []
    for t in batch.transitions_of.get(group_id, []):
        if t.get("label", "light") != "light":
            continue
        tid = t["transition_id"]
        per_run = areas.setdefault(tid, {})
        per_run[t["run"]] = _num(t.get("area")) if t.get("found") else math.nan
        if t.get("quantifier") and tid not in flagged:
            flagged.append(tid)
    return areas, flagged


def _calibrator_values(batch: _Batch, per_run: Mapping[str, float]) -> list[float]:
    return [v for r, v in per_run.items() if batch.type_of(r) == "calibrator" and math.isfinite(v)]


def _choose_quantifier(
    batch: _Batch, areas: dict[str, dict[str, float]], flagged: list[str]
) -> tuple[str, str]:
    """The quantifier's transition id ("" when none) and how it was chosen."""
    if flagged:
        return flagged[0], ""
    means = {tid: np.mean(v) for tid, a in areas.items() if (v := _calibrator_values(batch, a))}
    if not means:
        return "", ""
    best = max(means, key=lambda tid: means[tid])
    return best, "quantifier: largest mean calibrator area (the list flags none)"


def _ion_ratio_rows(batch: _Batch, group_id: str, c: SuitabilityCriteria) -> list[dict]:
    areas, flagged = _light_areas(batch, group_id)
    if len(areas) < 2:
        return []  # a single light transition has no ion ratio
    quant, how = _choose_quantifier(batch, areas, flagged)
    runs = [g for g in batch.runs_of(group_id) if batch.type_of(g["run"]) in _ION_RATIO_TYPES]
    out = []
    for qual in (tid for tid in areas if tid != quant):
        ratios = {}
        for g in runs:
            a_qual = areas[qual].get(g["run"], math.nan)
            a_quant = areas[quant].get(g["run"], math.nan) if quant else math.nan
            ok = math.isfinite(a_qual) and math.isfinite(a_quant) and a_quant > 0
            ratios[g["run"]] = a_qual / a_quant if ok else math.nan
        cal = _calibrator_values(batch, ratios)
        ref = float(np.mean(cal)) if cal else math.nan
        for g in runs:
            ratio = ratios[g["run"]]
            notes = [n for n in (how, f"quantifier {quant}" if quant else "") if n]
            value, passed = math.nan, None
            if not quant:
                notes.insert(0, "no quantifier: no calibrator with a light area")
            elif not math.isfinite(ratio):
                notes.insert(0, _not_found_note(g) or "qualifier or quantifier not found")
            elif not (math.isfinite(ref) and ref > 0):
                notes.insert(0, "no calibrator ion ratio to compare with")
            else:
                r = check_ion_ratio(ratio, cal, c.ion_ratio_percent)
                value, passed = r.value, r.passed
                notes.insert(0, f"ratio {ratio:.4g}, calibrator mean {ref:.4g}")
            out.append(
                batch.row(
                    "ion_ratio",
                    g,
                    transition_id=qual,
                    value=value,
                    limit=c.ion_ratio_percent,
                    passed=passed,
                    reference="calibrators",
                    note="; ".join(notes),
                )
            )
    return out


# ------------------------------------------------------------------------------- carryover
def _nominal(g: Mapping[str, Any]) -> float:
    return _num(g.get("nominal_concentration"))


def _carryover_after(
    batch: _Batch, rows: Mapping[str, Mapping[str, Any]], top_runs: set[str]
) -> list[tuple[str, str]]:
    """(blank run, why) for each blank directly after a top calibrator or a higher response."""
    top = [_num(rows[r].get("response")) for r in top_runs]
    top_response = max((v for v in top if math.isfinite(v)), default=math.nan)
    out = []
    for before, run in zip(batch.order, batch.order[1:], strict=False):
        if run not in rows or before not in rows or batch.type_of(run) not in BLANK_TYPES:
            continue
        response = _num(rows[before].get("response"))
        if before in top_runs:
            out.append((run, f"after the highest calibrator {before}"))
        elif response > top_response:  # False when either is NaN
            out.append((run, f"after {before} (response above the highest calibrator)"))
    return out


def _carryover_rows(batch: _Batch, group_id: str, c: SuitabilityCriteria) -> list[dict]:
    rows = {g["run"]: g for g in batch.runs_of(group_id)}
    cal = [
        g
        for g in rows.values()
        if batch.type_of(g["run"]) == "calibrator" and math.isfinite(_nominal(g))
    ]
    row = partial(batch.row, "carryover", limit=c.carryover_percent, reference="LLOQ")
    if not cal:
        if not any(batch.type_of(r) in BLANK_TYPES for r in rows):
            return []
        first = next(iter(rows.values()))
        return [row(first, per_run=False, note="no calibrators: carryover not evaluated")]
    top_level = max(_nominal(g) for g in cal)
    top_runs = {g["run"] for g in cal if _nominal(g) == top_level}
    lloq_level = min((_nominal(g) for g in cal if _nominal(g) > 0), default=math.nan)
    lloq_areas = [
        _num(g.get("light_area"))
        for g in cal
        if _nominal(g) == lloq_level and _finite(g.get("light_area"))
    ]
    lloq_area = float(np.mean(lloq_areas)) if lloq_areas else math.nan
    out = []
    for run, why in _carryover_after(batch, rows, top_runs):
        light = _num(rows[run].get("light_area"))
        notes = [why]
        if not math.isfinite(light):
            light = 0.0
            notes.append("no analyte peak in the blank")
        value, passed = math.nan, None
        if math.isfinite(lloq_area) and lloq_area > 0:
            r = check_carryover(light, lloq_area, c.carryover_percent)
            value, passed = r.value, r.passed
            notes.append(
                f"blank light area {light:.6g}, LLOQ ({lloq_level:g}) mean {lloq_area:.6g}"
            )
        else:
            notes.insert(0, f"no positive LLOQ light area (level {lloq_level:g})")
        out.append(row(rows[run], value=value, passed=passed, note="; ".join(notes)))
    return out


# ----------------------------------------------------------------------------- QC accuracy
def _qc_accuracy_rows(batch: _Batch, group_id: str, c: SuitabilityCriteria) -> list[dict]:
    out = []
    for g in batch.runs_of(group_id):
        if batch.type_of(g["run"]) != "qc":
            continue
        acc = _num(g.get("accuracy"))
        passed = bool(abs(acc - 100.0) <= c.qc_accuracy_percent) if math.isfinite(acc) else None
        if passed is not None:
            note = (
                f"concentration {_num(g.get('concentration')):.6g}, nominal "
                f"{_nominal(g):.6g}; passes within 100 ± limit"
            )
        elif not math.isfinite(_nominal(g)):
            note = _not_found_note(g) or "no nominal concentration"
        else:
            note = _not_found_note(g) or "no back-calculated concentration"
        out.append(
            batch.row(
                "qc_accuracy",
                g,
                value=acc,
                limit=c.qc_accuracy_percent,
                unit="% of nominal",
                passed=passed,
                reference="nominal",
                note=note,
            )
        )
    return out


_CHECKS = (
    _retention_time_rows,
    _is_area_rows,
    _ion_ratio_rows,
    _carryover_rows,
    _qc_accuracy_rows,
)


def suitability_rows(
    groups: Sequence[Mapping[str, Any]],
    transitions: Sequence[Mapping[str, Any]],
    sheet: SampleSheet,
    criteria: SuitabilityCriteria | None = None,
) -> list[dict[str, Any]]:
    """Run the system-suitability checks of a batch.

    Parameters
    ----------
    groups
        One row per run and target group (``msuite quant``'s group summaries plus
        ``sample_type``, ``nominal_concentration`` and ``accuracy``).
    transitions
        One row per run and transition (``msuite quant``'s transition rows).
    sheet
        The batch's sample sheet (injection order; sample types where a group row has none).
    criteria
        Acceptance limits (default :class:`SuitabilityCriteria()`).

    Returns
    -------
    list of dict
        Rows with the keys :data:`SUITABILITY_COLUMNS`, by check (in the order of
        :data:`SUITABILITY_CHECKS`), then target, then injection order.
    """
    c = SuitabilityCriteria() if criteria is None else criteria
    if not isinstance(c, SuitabilityCriteria):
        raise InputError(
            "not suitability criteria", field="criteria", value=c, allowed="a SuitabilityCriteria"
        )
    batch = _Batch(groups, transitions, sheet)
    rows = [row for check in _CHECKS for gid in batch.by_group for row in check(batch, gid, c)]
    rank = {name: i for i, name in enumerate(SUITABILITY_CHECKS)}
    return sorted(rows, key=lambda r: rank[r["check"]])  # stable: target, then run order
