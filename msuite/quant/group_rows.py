"""Rows of one run's target groups: pick each group's peak and write its transitions' rows.

:func:`quantify_groups` is the heart of :func:`msuite.quant.quantify.quantify_run`; the traces
of a slice of groups travel to another process packed as concatenated arrays
(:func:`pack_traces`, :func:`quantify_packed`). A transition without a trace, or whose group
has no peak, gets a row with ``found = False`` and a ``note`` saying why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from msuite.core.errors import InputError
from msuite.quant.peak_groups import PeakGroup, PeakGroupParams, pick_peak_group
from msuite.quant.targets import TargetGroup
from msuite.quant.trace_match import MatchedTrace

if TYPE_CHECKING:
    from msuite.quant.quantify import QuantParams

__all__ = ["pack_traces", "quantify_group", "quantify_groups", "quantify_packed", "unpack_traces"]


#: per-transition figures of a found peak (NaN in a found=false row)
_PEAK_FIELDS = ("rt", "rt_left", "rt_right", "area", "height", "background", "apex_rt")
_PEAK_FIELDS += ("fwhm", "snr", "group_score", "shape_score", "coelution_score")
_PEAK_FIELDS += ("apex_intensity",)


def _minutes(seconds: float) -> float:
    return seconds / 60.0 if math.isfinite(seconds) else math.nan


def _group_rows(
    run: str,
    group: TargetGroup,
    traces: Sequence[MatchedTrace | None],
    picked: PeakGroup | None,
    used: list[int],
    integration: str,
    note: str,
    found_note: str = "",
) -> list[dict[str, Any]]:
    rows = []
    position = {k: i for i, k in enumerate(used)}
    for k, t in enumerate(group.traces):
        trace = traces[k]
        i = position.get(k)
        row: dict[str, Any] = {
            "run": run,
            "transition_id": t.transition_id,
            "protein": group.protein,
            "peptide_or_compound": group.name,
            "label": t.label,
            "precursor_mz": t.precursor_mz,
            "product_mz": t.product_mz,
            "quantifier": t.quantifier,
            "group_id": group.group_id,
            "kind": group.kind,
            "charge": group.charge,
            "trace_id": trace.source_id if trace else "",
            "integration": integration,
            "expected_rt": _minutes(group.expected_rt),
        }
        ok = (
            picked is not None
            and picked.found
            and i is not None
            and int(picked.points_across[i]) > 0
        )
        if ok:
            assert picked is not None and i is not None
            row.update(
                found=True,
                rt=_minutes(picked.rt),
                rt_left=_minutes(picked.left),
                rt_right=_minutes(picked.right),
                area=float(picked.area[i] - picked.background[i]),
                height=float(picked.height[i]),
                background=float(picked.background[i]),
                points_across=int(picked.points_across[i]),
                apex_rt=_minutes(float(picked.apex_rt[i])),
                fwhm=_minutes(float(picked.fwhm[i])),
                snr=float(picked.snr[i]),
                group_score=float(picked.score),
                shape_score=float(picked.shape_score),
                coelution_score=float(picked.coelution_score),
                apex_intensity=float(picked.apex_intensity[i]),
                note=found_note,
            )
        else:
            if trace is None:
                why = "no matching trace in the run"
            elif picked is not None and picked.found:
                why = "no points of this trace between the group's boundaries"
            else:
                why = note or "no peak found"
            row.update(dict.fromkeys(_PEAK_FIELDS, math.nan), found=False, points_across=0)
            row["note"] = why
        rows.append(row)
    return rows


def quantify_group(
    run: str,
    group: TargetGroup,
    traces: Sequence[MatchedTrace | None],
    params: QuantParams,
    pg_params: PeakGroupParams,
    manual: Any = None,
) -> list[dict[str, Any]]:
    used = [k for k, tr in enumerate(traces) if tr is not None and tr.time.size > 0]
    integration = params.integration
    window = group.fixed_window if integration == "fixed" else None
    if integration == "fixed" and window is None:
        integration = "auto (no window in list)"
    found_note = ""
    if manual is not None:  # a reviewer's boundaries (msuite.quant.manual.ManualWindow)
        integration, window, found_note = "manual", (manual.left_s, manual.right_s), manual.note
    if not used:
        return _group_rows(run, group, traces, None, used, integration, found_note)
    expected = group.expected_rt if math.isfinite(group.expected_rt) else None
    try:
        picked = pick_peak_group(
            [traces[k].time for k in used],  # type: ignore[union-attr]
            [traces[k].intensity for k in used],  # type: ignore[union-attr]
            is_reference=[group.traces[k].is_reference for k in used],
            expected_rt=expected,
            fixed_window=window,
            params=pg_params,
        )
    except InputError as exc:
        return _group_rows(
            run, group, traces, None, used, integration, f"trace not usable: {exc.message}"
        )
    note = "" if picked.found else ("no peak in the fixed window" if window else "no peak found")
    if manual is not None and not picked.found:
        note = f"no signal in the manual window; {found_note}"
    return _group_rows(run, group, traces, picked, used, integration, note, found_note)


def quantify_groups(
    name: str,
    groups: Sequence[TargetGroup],
    matched: Sequence[MatchedTrace | None],
    params: QuantParams,
    manual: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Rows of ``groups`` whose traces (flattened, group by group) are ``matched``."""
    pg_params = params.peak_group_params()
    manual = manual or {}
    rows: list[dict[str, Any]] = []
    pos = 0
    for g in groups:
        n = len(g.traces)
        window = manual.get(g.group_id)
        rows.extend(quantify_group(name, g, matched[pos : pos + n], params, pg_params, window))
        pos += n
    return rows


_PackedTraces = tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]


def pack_traces(matched: Sequence[MatchedTrace | None]) -> _PackedTraces:
    """Traces as two concatenated arrays (+ lengths, -1 for none): cheap to pickle."""
    lengths = np.array([-1 if m is None else m.time.size for m in matched], dtype=np.int64)
    present = [m for m in matched if m is not None]
    empty = np.empty(0)
    time = np.concatenate([m.time for m in present]) if present else empty
    intensity = np.concatenate([m.intensity for m in present]) if present else empty
    return time, intensity, lengths, [m.source_id if m else "" for m in matched]


def unpack_traces(packed: _PackedTraces) -> list[MatchedTrace | None]:
    time, intensity, lengths, ids = packed
    out: list[MatchedTrace | None] = []
    pos = 0
    for n, source in zip(lengths.tolist(), ids, strict=True):
        if n < 0:
            out.append(None)
            continue
        out.append(MatchedTrace(source, time[pos : pos + n], intensity[pos : pos + n]))
        pos += n
    return out


def quantify_packed(
    name: str,
    groups: Sequence[TargetGroup],
    packed: _PackedTraces,
    params: QuantParams,
    manual: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    return quantify_groups(name, groups, unpack_traces(packed), params, manual)
