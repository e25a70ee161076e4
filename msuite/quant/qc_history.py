"""QC history: Westgard rules and Levey-Jennings data over the QC results of past batches.

The history is a CSV file with the columns :data:`HISTORY_COLUMNS`::

    target,qc_level,run,acquired,value
    LVNEVTEFAK,QC-L,b01_qc_l,2026-11-02T09:14:00,0.101

``target`` is a peptide or compound, ``qc_level`` the QC level's name, ``run`` the QC run,
``acquired`` an ISO 8601 date-time (or empty) and ``value`` the QC's concentration. Rows are in
the order they were measured; :func:`write_history` keeps that order, so a batch's
``qc_history.csv`` (:func:`updated_history`) is the next batch's history.

:func:`levey_jennings_rows` establishes each (target, QC level) series' mean and SD from the
history alone (ddof=1), appends the batch's values and applies :func:`msuite.quant.qc.westgard`
over the whole series. Rules applied:

- within one QC level, over consecutive values: 1-2s (warning only), 1-3s, 2-2s, R-4s (two
  consecutive values on opposite sides whose z-scores differ by more than 4), 4-1s and 10x;
- across QC levels within one run (Westgard's across-material rules), when a run holds two or
  more levels of a target: ``2-2s across levels`` (two levels beyond 2 SD on the same side)
  and ``R-4s across levels`` (one level above +2 SD, another below -2 SD).

Every rule but 1-2s rejects the run. A value of the batch whose run also appears in the
history replaces the history's value (the batch is being processed again), so it is never
counted in its own limits.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from msuite.core.errors import InputError
from msuite.io.atomic import atomic_output
from msuite.quant.qc import westgard
from msuite.quant.samples import SampleSheet

__all__ = [
    "HISTORY_COLUMNS",
    "LEVEY_JENNINGS_COLUMNS",
    "REJECTION_RULES",
    "batch_qc_values",
    "levey_jennings_rows",
    "read_qc_history",
    "updated_history",
    "write_history",
]

#: columns of a QC history file, in order
HISTORY_COLUMNS = ("target", "qc_level", "run", "acquired", "value")
#: columns of the Levey-Jennings table, in order
LEVEY_JENNINGS_COLUMNS = (
    "target",
    "qc_level",
    "run",
    "acquired",
    "index",
    "value",
    "mean",
    "sd",
    "z",
    "source",
    "violations",
    "rejected",
)
#: rules whose violation at a batch value rejects the batch (1-2s is a warning only)
REJECTION_RULES = (
    "1-3s",
    "2-2s",
    "R-4s",
    "4-1s",
    "10x",
    "2-2s across levels",
    "R-4s across levels",
)
_REQUIRED = ("target", "qc_level", "value")


def _history_row(cells: Mapping[str, str], *, path: str, line: int) -> dict[str, Any]:
    for name in _REQUIRED:
        if not cells.get(name, "").strip():
            raise InputError(
                "empty cell",
                path=path,
                line=line,
                field=name,
                value="",
                allowed="a value" if name != "value" else "a finite number",
            )
    text = cells["value"].strip()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(
            "not a number",
            path=path,
            line=line,
            field="value",
            value=text,
            allowed="a finite number",
        )
    acquired = cells.get("acquired", "").strip()
    if acquired:
        try:
            datetime.fromisoformat(acquired)
        except ValueError:
            raise InputError(
                "not a date-time",
                path=path,
                line=line,
                field="acquired",
                value=acquired,
                allowed="ISO 8601, e.g. 2026-11-02T09:14:00, or empty",
            ) from None
    return {
        "target": cells["target"].strip(),
        "qc_level": cells["qc_level"].strip(),
        "run": cells.get("run", "").strip(),
        "acquired": acquired,
        "value": value,
    }


def read_qc_history(path: str | Path, *, missing_ok: bool = False) -> list[dict[str, Any]]:
    """Read a QC history file (columns :data:`HISTORY_COLUMNS`, in any order).

    Parameters
    ----------
    path
        The CSV file.
    missing_ok
        Treat an absent or empty file as an empty history instead of an error.

    Returns
    -------
    list of dict
        One dict per row with the keys :data:`HISTORY_COLUMNS` (``value`` a float).

    Raises
    ------
    InputError
        Naming the file, line, column, value and what is allowed.
    """
    p = Path(path)
    where = str(p)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        if missing_ok:
            return []
        raise InputError(
            "QC history not found", path=where, field="history", allowed="an existing CSV file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the QC history ({exc})", path=where) from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        if missing_ok and not text.strip():
            return []
        raise InputError(
            "empty QC history",
            path=where,
            line=1,
            allowed=f"a header row: {','.join(HISTORY_COLUMNS)}",
        )
    rows = list(csv.reader(lines))
    header = [h.strip().lower() for h in rows[0]]
    for name in HISTORY_COLUMNS:
        if name not in header:
            raise InputError(
                "missing column",
                path=where,
                line=1,
                field=name,
                value=rows[0],
                allowed=f"a header with {', '.join(HISTORY_COLUMNS)}",
            )
    index = {name: header.index(name) for name in HISTORY_COLUMNS}
    out = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise InputError(
                "wrong number of cells",
                path=where,
                line=n,
                value=len(row),
                allowed=f"{len(header)} cells, as in the header",
            )
        cells = {name: row[i] for name, i in index.items()}
        out.append(_history_row(cells, path=where, line=n))
    return out


def batch_qc_values(
    groups: Iterable[Mapping[str, Any]],
    sheet: SampleSheet,
    acquired: str | Mapping[str, str] = "",
) -> list[dict[str, Any]]:
    """The QC concentrations of a batch as history rows, in injection order.

    Parameters
    ----------
    groups
        Group rows with ``run``, ``peptide_or_compound`` and ``concentration``.
    sheet
        The batch's sample sheet: which runs are QCs, their level and injection order.
    acquired
        The acquisition date-time of every run, or a mapping run -> date-time.

    Returns
    -------
    list of dict
        Rows with the keys :data:`HISTORY_COLUMNS`; rows without a finite concentration are
        left out.
    """
    by_run: dict[str, list[Mapping[str, Any]]] = {}
    for g in groups:
        by_run.setdefault(g["run"], []).append(g)
    out = []
    for sample in sheet.of_type("qc"):
        when = acquired.get(sample.run, "") if isinstance(acquired, Mapping) else acquired
        for g in by_run.get(sample.run, []):
            try:
                value = float(g.get("concentration"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
            if math.isfinite(value):
                out.append(
                    {
                        "target": g["peptide_or_compound"],
                        "qc_level": sample.qc_level,
                        "run": sample.run,
                        "acquired": when,
                        "value": value,
                    }
                )
    return out


def _key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    return (row["target"], row["qc_level"], row["run"])


def _without_batch(
    history: Iterable[Mapping[str, Any]], batch: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    again = {_key(b) for b in batch if b["run"]}
    return [h for h in history if _key(h) not in again]


def _series_rows(
    target: str,
    level: str,
    history: list[Mapping[str, Any]],
    batch: list[Mapping[str, Any]],
    min_history: int,
) -> list[dict[str, Any]]:
    points = [(h, "history") for h in history] + [(b, "batch") for b in batch]
    values = np.array([float(p["value"]) for p, _ in points])
    past = values[: len(history)]
    sd = float(past.std(ddof=1)) if past.size >= 2 else math.nan
    mean = float(past.mean()) if past.size else math.nan
    limits = past.size >= min_history and math.isfinite(sd) and sd > 0
    broken: list[list[str]] = [[] for _ in points]
    if limits:
        z = (values - mean) / sd
        for v in westgard(values, mean, sd):
            broken[v.index].append(v.rule)
    else:
        z = np.full(values.shape, np.nan)
        mean = sd = math.nan
        why = f"no established limits ({past.size} history values"
        why += ", SD 0)" if past.size >= min_history else f", need {min_history})"
        broken = [[why] for _ in points]
    return [
        {
            "target": target,
            "qc_level": level,
            "run": p["run"],
            "acquired": p.get("acquired", ""),
            "index": i + 1,
            "value": float(p["value"]),
            "mean": mean,
            "sd": sd,
            "z": float(z[i]),
            "source": source,
            "violations": broken[i],
            "rejected": None if source == "batch" and not limits else False,
        }
        for i, (p, source) in enumerate(points)
    ]


def _across_levels(rows: list[dict[str, Any]]) -> None:
    """Add Westgard's across-material 2-2s and R-4s within each run with two or more levels."""
    by_run: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r["run"] and math.isfinite(r["z"]):
            by_run.setdefault((r["target"], r["run"]), []).append(r)
    for same_run in by_run.values():
        if len({r["qc_level"] for r in same_run}) < 2:
            continue
        z = [r["z"] for r in same_run]
        rules = []
        if sum(v > 2 for v in z) >= 2 or sum(v < -2 for v in z) >= 2:
            rules.append("2-2s across levels")
        if max(z) > 2 and min(z) < -2:
            rules.append("R-4s across levels")
        for r in same_run:
            r["violations"].extend(rules)


def levey_jennings_rows(
    history: Iterable[Mapping[str, Any]],
    batch: Sequence[Mapping[str, Any]],
    min_history: int = 2,
) -> list[dict[str, Any]]:
    """Levey-Jennings points and Westgard violations of every (target, QC level) series.

    Parameters
    ----------
    history
        Past QC values (:func:`read_qc_history`), oldest first.
    batch
        This batch's QC values (:func:`batch_qc_values`), in injection order.
    min_history
        Fewest history values that establish a series' mean and SD (at least 2).

    Returns
    -------
    list of dict
        Rows with the keys :data:`LEVEY_JENNINGS_COLUMNS`, series by series (in order of first
        appearance), history first. ``index`` counts from 1 within a series; ``violations`` is
        the semicolon-separated rules broken at that point; ``rejected`` is True when a rule of
        :data:`REJECTION_RULES` is broken at a batch point (False for history points, None at
        a batch point of a series without established limits).
    """
    if isinstance(min_history, bool) or not isinstance(min_history, int) or min_history < 2:
        raise InputError(
            "too few values to establish an SD",
            field="min_history",
            value=min_history,
            allowed="an integer >= 2",
        )
    batch = list(batch)
    past = _without_batch(history, batch)
    series: dict[tuple[str, str], tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]] = {}
    for h in past:
        series.setdefault((h["target"], h["qc_level"]), ([], []))[0].append(h)
    for b in batch:
        series.setdefault((b["target"], b["qc_level"]), ([], []))[1].append(b)
    rows = [
        row
        for (target, level), (hist, now) in series.items()
        for row in _series_rows(target, level, hist, now, min_history)
    ]
    _across_levels(rows)
    for r in rows:
        if r["source"] == "batch" and r["rejected"] is not None:
            r["rejected"] = any(rule in REJECTION_RULES for rule in r["violations"])
        r["violations"] = ";".join(dict.fromkeys(r["violations"]))
    return rows


def updated_history(
    history: Iterable[Mapping[str, Any]], batch: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The history with this batch's values appended (replacing earlier values of its runs)."""
    batch = list(batch)
    return [
        {c: row.get(c, "") for c in HISTORY_COLUMNS}
        for row in (*_without_batch(history, batch), *batch)
    ]


def write_history(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write a QC history file atomically (the previous file stays intact on failure).

    Returns
    -------
    Path
        The written file.
    """
    final = Path(path)
    with atomic_output(final) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HISTORY_COLUMNS)
        for row in rows:
            writer.writerow(
                [
                    repr(float(row["value"])) if c == "value" else row.get(c, "")
                    for c in HISTORY_COLUMNS
                ]
            )
    return final
