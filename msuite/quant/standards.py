"""Surrogate internal standards and OpenMS/SmartPeak quantitation methods.

A target is normally normalised by its own heavy standard. Panels often spike fewer standards
than they measure: a metabolite is normalised by a related compound's labelled standard, a
peptide by another peptide's of the same protein (Skyline: "ratio to surrogate standard").
``--internal-standards FILE`` maps them::

    target,standard
    orn,arg-L
    his-L,ser-L

Each cell is a ``group_id`` or a ``peptide_or_compound`` naming exactly one target group; the
standard group must have heavy traces.

``--calibration quantitationMethods.csv`` reads the calibration models that OpenMS
AbsoluteQuantitation and SmartPeak keep (columns ``IS_name, component_name, feature_name,
transformation_model, transformation_model_param_slope, transformation_model_param_intercept``,
optionally ``lloq``/``uloq``): the component's concentration is ``(component/IS -
intercept) / slope``, which is :meth:`CalibrationCurve.back_calculate` of a linear curve with
coefficients ``[intercept, slope]``. ``IS_name`` and ``component_name`` are transition ids; the
groups holding them give the target and its (possibly surrogate) standard. ``feature_name``
``peak_apex_int`` is read as msuite's ``--response apex``: the highest raw intensity between the
boundaries. OpenMS takes its apex intensity from its own picking, which can be lower where a
trace is noisy, so the two agree exactly only where both see the same apex point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from msuite.core.errors import InputError
from msuite.quant.calibration import CalibrationCurve
from msuite.quant.tables import read_table
from msuite.quant.targets import TargetGroup

__all__ = ["QuantitationMethods", "read_internal_standards", "read_openms_quantitation"]

#: OpenMS feature names and the ``--response`` measure each one is
FEATURE_MEASURES = {"peak_apex_int": "apex"}
_IDENTITY_WEIGHTS = ("", "x", "y")


def _read_rows(path: str | Path, what: str) -> tuple[str, list[str], list[tuple[int, dict]]]:
    table = read_table(path, what)
    rows = [(n, dict(zip(table.header, row, strict=False))) for n, row in table.rows]
    return table.path, table.header, rows


def _group_named(
    name: str, groups: Sequence[TargetGroup], *, path: str, line: int, column: str
) -> TargetGroup:
    by_id = {g.group_id: g for g in groups}
    if name in by_id:
        return by_id[name]
    matches = [g for g in groups if g.name == name]
    if len(matches) != 1:
        raise InputError(
            "no single target group of that name",
            path=path,
            line=line,
            field=column,
            value=name,
            allowed="a group_id, or a peptide_or_compound naming one group"
            + (f" (it names {[g.group_id for g in matches]})" if matches else ""),
        )
    return matches[0]


def _check_standard(group: TargetGroup, *, path: str, line: int, column: str) -> None:
    if not any(t.label == "heavy" for t in group.traces):
        raise InputError(
            "the standard group has no heavy traces",
            path=path,
            line=line,
            field=column,
            value=group.group_id,
            allowed="a group with a labelled standard",
        )


def read_internal_standards(path: str | Path, groups: Sequence[TargetGroup]) -> dict[str, str]:
    """Read ``target,standard`` rows into {target group id: standard group id}."""
    where, header, rows = _read_rows(path, "internal-standards file")
    for column in ("target", "standard"):
        if column not in header:
            raise InputError(
                "missing column", path=where, line=1, field=column, value=header,
                allowed="target, standard",
            )  # fmt: skip
    out: dict[str, str] = {}
    for n, cells in rows:
        target = _group_named(cells["target"], groups, path=where, line=n, column="target")
        std = _group_named(cells["standard"], groups, path=where, line=n, column="standard")
        _check_standard(std, path=where, line=n, column="standard")
        out[target.group_id] = std.group_id
    return out


@dataclass
class QuantitationMethods:
    """Curves, surrogate standards and the measure an OpenMS quantitation-methods file gives."""

    curves: dict[str, CalibrationCurve] = field(default_factory=dict)
    standards: dict[str, str] = field(default_factory=dict)
    measure: str = "area"


def _number(cells: dict, column: str, *, path: str, line: int, optional: bool = False) -> float:
    text = cells.get(column, "")
    if optional and text == "":
        return math.nan
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError("not a number", path=path, line=line, field=column, value=text,
                         allowed="a finite number")  # fmt: skip
    return value


def read_openms_quantitation(
    path: str | Path, groups: Sequence[TargetGroup]
) -> QuantitationMethods:
    """Read an OpenMS AbsoluteQuantitationMethod / SmartPeak ``quantitationMethods.csv``."""
    where, header, rows = _read_rows(path, "quantitation methods")
    needed = (
        "IS_name",
        "component_name",
        "feature_name",
        "transformation_model",
        "transformation_model_param_slope",
        "transformation_model_param_intercept",
    )
    for column in needed:
        if column not in header:
            raise InputError("missing column", path=where, line=1, field=column, value=header,
                             allowed=", ".join(needed))  # fmt: skip
    by_transition = {t.transition_id: g for g in groups for t in g.traces}
    out = QuantitationMethods()
    measures = set()
    for n, cells in rows:
        feature = cells["feature_name"]
        if feature not in FEATURE_MEASURES:
            raise InputError("unsupported feature", path=where, line=n, field="feature_name",
                             value=feature, allowed=list(FEATURE_MEASURES))  # fmt: skip
        measures.add(FEATURE_MEASURES[feature])
        model = cells["transformation_model"]
        weights = (
            cells.get("transformation_model_param_x_weight", ""),
            cells.get("transformation_model_param_y_weight", ""),
        )
        if model != "linear" or any(w not in _IDENTITY_WEIGHTS for w in weights):
            raise InputError(
                "unsupported transformation model",
                path=where,
                line=n,
                field="transformation_model",
                value=f"{model} (weights {weights[0] or '-'}, {weights[1] or '-'})",
                allowed="linear with x/y weights",
            )
        target = by_transition.get(cells["component_name"])
        std = by_transition.get(cells["IS_name"])
        for group, column in ((target, "component_name"), (std, "IS_name")):
            if group is None:
                raise InputError("no such transition among the targets", path=where, line=n,
                                 field=column, value=cells[column])  # fmt: skip
        assert target is not None and std is not None
        _check_standard(std, path=where, line=n, column="IS_name")
        slope = _number(cells, "transformation_model_param_slope", path=where, line=n)
        intercept = _number(cells, "transformation_model_param_intercept", path=where, line=n)
        if slope == 0:
            raise InputError("zero slope", path=where, line=n,
                             field="transformation_model_param_slope", value=0.0)  # fmt: skip
        lo = _number(cells, "lloq", path=where, line=n, optional=True)
        hi = _number(cells, "uloq", path=where, line=n, optional=True)
        rng = np.array([lo, hi]) if math.isfinite(lo) and math.isfinite(hi) else np.array([])
        out.curves[target.group_id] = CalibrationCurve(
            (intercept, slope), "linear", "none", math.nan, 0, rng, np.array([])
        )
        if std.group_id != target.group_id:
            out.standards[target.group_id] = std.group_id
    if len(measures) > 1:
        raise InputError("the methods mix features", path=where, field="feature_name",
                         value=sorted(measures), allowed="one feature for all")  # fmt: skip
    out.measure = measures.pop() if measures else "area"
    return out
