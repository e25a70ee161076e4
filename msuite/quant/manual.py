"""Manual integration: peak boundaries a reviewer set for a target in a run, with the reason.

After review, a technician may move the boundaries of a peak (an interference, a shoulder, a
peak the picker missed). ``msuite quant --boundaries FILE`` re-integrates those groups in
those runs inside the given window instead of searching; their rows say ``integration =
manual`` and carry the reason (and who set it) in ``note``, and parameters.json records the
file and its checksum, so every manual number can be traced.

The file is a CSV (comma, tab or semicolon) with a header::

    run,group_id,rt_left,rt_right,reason,user
    pat_07,LVNEVTEFAK_2,31.92,32.25,shoulder from co-eluting interference,jdoe

``run`` is the run's file name (with or without suffix), ``group_id`` the target group as in
transitions.csv (``peptide_or_compound`` is accepted when it names one group), ``rt_left``
and ``rt_right`` are minutes, as in transitions.csv, ``reason`` is required and ``user``
optional.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msuite.core.errors import InputError
from msuite.quant.quantify import run_name
from msuite.quant.tables import read_table
from msuite.quant.targets import TargetGroup

__all__ = ["ManualBoundaries", "ManualWindow", "read_boundaries"]

_REQUIRED = ("run", "rt_left", "rt_right", "reason")


@dataclass(frozen=True, slots=True)
class ManualWindow:
    """One manual integration window (seconds) with its reason."""

    left_s: float
    right_s: float
    reason: str
    user: str = ""
    line: int = 0

    @property
    def note(self) -> str:
        """The text the transition rows carry in ``note``."""
        who = f" ({self.user})" if self.user else ""
        return f"manual boundaries: {self.reason}{who}"


@dataclass(frozen=True)
class ManualBoundaries:
    """Manual windows by run name and group id, and where they came from."""

    windows: dict[str, dict[str, ManualWindow]]
    source: str
    sha256: str

    def for_run(self, run: str) -> dict[str, ManualWindow]:
        """The windows of one run (by group id)."""
        return self.windows.get(run_name(run), {})

    def record(self) -> dict[str, Any]:
        """What parameters.json keeps: the file, its checksum and every window."""
        return {
            "path": str(Path(self.source).resolve()),
            "sha256": self.sha256,
            "windows": [
                {
                    "run": run,
                    "group_id": group,
                    "rt_left_min": w.left_s / 60.0,
                    "rt_right_min": w.right_s / 60.0,
                    "reason": w.reason,
                    "user": w.user,
                }
                for run, groups in self.windows.items()
                for group, w in groups.items()
            ],
        }

    def check(self, runs: Iterable[str], groups: Sequence[TargetGroup]) -> None:
        """Refuse windows for runs not given or groups not in the targets (typos lose work)."""
        names = {run_name(r) for r in runs}
        ids = {g.group_id for g in groups}
        for run, by_group in self.windows.items():
            for group_id, w in by_group.items():
                if run not in names:
                    raise InputError(
                        "manual boundaries for a run that was not given",
                        path=self.source,
                        line=w.line,
                        field="run",
                        value=run,
                        allowed=sorted(names)[:10],
                    )
                if group_id not in ids:
                    raise InputError(
                        "manual boundaries for an unknown target group",
                        path=self.source,
                        line=w.line,
                        field="group_id",
                        value=group_id,
                        allowed="a group_id of transitions.csv",
                    )


def _minutes(text: str, *, path: str, line: int, field: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise InputError(
            "not a retention time", path=path, line=line, field=field, value=text,
            allowed="minutes >= 0",
        )  # fmt: skip
    return value * 60.0


def _group_of(
    cells: dict[str, str], groups: Sequence[TargetGroup] | None, *, path: str, line: int
) -> str:
    group_id = cells.get("group_id", "").strip()
    if group_id:
        return group_id
    name = cells.get("peptide_or_compound", "").strip()
    matches = [g.group_id for g in groups or () if g.name == name]
    if len(matches) != 1:
        raise InputError(
            "cannot tell the target group",
            path=path,
            line=line,
            field="group_id",
            value=name,
            allowed="a group_id, or a peptide_or_compound that names exactly one group"
            + (f" (it names {matches})" if matches else ""),
        )
    return matches[0]


def read_boundaries(
    path: str | Path, groups: Sequence[TargetGroup] | None = None
) -> ManualBoundaries:
    """Read a manual-boundaries file (see the module documentation).

    ``groups`` resolves rows that name a ``peptide_or_compound`` instead of a ``group_id``.
    """
    table = read_table(path, "boundaries file", option="--boundaries")
    where = table.path
    header = [h.lower() for h in table.header]
    missing = [c for c in _REQUIRED if c not in header]
    if missing or not ({"group_id", "peptide_or_compound"} & set(header)):
        raise InputError(
            "missing column",
            path=where,
            line=1,
            field=(missing or ["group_id"])[0],
            value=header,
            allowed="run, group_id (or peptide_or_compound), rt_left, rt_right, reason[, user]",
        )
    windows: dict[str, dict[str, ManualWindow]] = {}
    for n, row in table.rows:
        cells = dict(zip(header, row, strict=False))
        run = run_name(cells.get("run", ""))
        if not run:
            raise InputError("empty run", path=where, line=n, field="run", value="")
        group_id = _group_of(cells, groups, path=where, line=n)
        left = _minutes(cells.get("rt_left", ""), path=where, line=n, field="rt_left")
        right = _minutes(cells.get("rt_right", ""), path=where, line=n, field="rt_right")
        if not right > left:
            raise InputError(
                "rt_right must be after rt_left",
                path=where,
                line=n,
                field="rt_right",
                value=cells.get("rt_right"),
                allowed=f"> {cells.get('rt_left')}",
            )
        reason = cells.get("reason", "")
        if not reason:
            raise InputError(
                "a manual integration needs its reason",
                path=where,
                line=n,
                field="reason",
                value="",
                allowed="a short text (kept with the results)",
            )
        by_group = windows.setdefault(run, {})
        if group_id in by_group:
            raise InputError(
                f"the same run and group twice (also line {by_group[group_id].line})",
                path=where,
                line=n,
                field="group_id",
                value=group_id,
            )
        by_group[group_id] = ManualWindow(left, right, reason, cells.get("user", ""), n)
    return ManualBoundaries(windows, where, table.sha256)
