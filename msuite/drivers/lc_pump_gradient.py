"""Binary gradient programs (solvent A: water, B: acetonitrile) for the LC pump.

A :class:`Gradient` is a validated table of :class:`GradientStep` rows (time in min, %B,
flow in µL/min); the pump interpolates linearly between rows. The rules are those of the wire
protocol (:func:`msuite.drivers.protocol.lc_pump_codes.gradient_row_problem`), so a table that
builds here is accepted by the pump.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from msuite.core.errors import InputError
from msuite.drivers.protocol.lc_pump_codes import (
    gradient_row_problem,
    gradient_table_problem,
    parse_number,
)

__all__ = ["CSV_COLUMNS", "Gradient", "GradientStep", "read_gradient_csv"]

CSV_COLUMNS = ("time_min", "percent_b", "flow_ul_min")


@dataclass(frozen=True, slots=True)
class GradientStep:
    """One gradient row: at ``time_min`` the pump delivers ``percent_b`` %B at ``flow_ul_min``."""

    time_min: float
    percent_b: float
    flow_ul_min: float


@dataclass(frozen=True, slots=True)
class Gradient:
    """A validated binary gradient program.

    Parameters
    ----------
    steps
        Rows in time order, the first at 0 min.
    source
        Where the rows came from (a file path), used in error messages.

    Raises
    ------
    InputError
        Naming the row (1-based ``line``), the field, the value and the allowed range.
    """

    steps: tuple[GradientStep, ...]
    source: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        previous: float | None = None
        for index, step in enumerate(self.steps):
            problem = gradient_row_problem(
                index, step.time_min, step.percent_b, step.flow_ul_min, previous
            )
            if problem is not None:
                raise InputError(
                    f"gradient row {index + 1}: {problem.message}",
                    path=self.source,
                    line=index + 1,
                    field=problem.field,
                    value=problem.value,
                    allowed=problem.allowed,
                )
            previous = step.time_min
        problem = gradient_table_problem(len(self.steps))
        if problem is not None:
            raise InputError(
                problem.message,
                path=self.source,
                field=problem.field,
                value=problem.value,
                allowed=problem.allowed,
            )

    @classmethod
    def from_rows(
        cls, rows: list[tuple[float, float, float]], source: str | None = None
    ) -> Gradient:
        """Build from ``(time_min, percent_b, flow_ul_min)`` tuples."""
        return cls(tuple(GradientStep(float(t), float(b), float(f)) for t, b, f in rows), source)

    def rows(self) -> list[tuple[float, float, float]]:
        """The rows as ``(time_min, percent_b, flow_ul_min)`` tuples."""
        return [(s.time_min, s.percent_b, s.flow_ul_min) for s in self.steps]

    @property
    def duration_min(self) -> float:
        """Program length (time of the last row)."""
        return self.steps[-1].time_min

    @property
    def initial(self) -> GradientStep:
        """The initial conditions (row 1): what the column is equilibrated at."""
        return self.steps[0]

    def at(self, time_min: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """%B and flow at ``time_min`` (linear between rows, held outside the program)."""
        times = np.array([s.time_min for s in self.steps])
        b = np.interp(time_min, times, [s.percent_b for s in self.steps])
        f = np.interp(time_min, times, [s.flow_ul_min for s in self.steps])
        return np.asarray(b), np.asarray(f)


def read_gradient_csv(path: str | Path) -> Gradient:
    """Read a gradient from a CSV file with the header ``time_min,percent_b,flow_ul_min``.

    Raises
    ------
    InputError
        For a missing/unknown header, a cell that is not a number (naming file, line and
        column) or a row that breaks the gradient rules.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        cleaned = tuple(h.strip() for h in header) if header else ()
        if cleaned != CSV_COLUMNS:
            raise InputError(
                "gradient CSV header not recognised",
                path=str(path),
                line=1,
                field="header",
                value=",".join(cleaned),
                allowed=",".join(CSV_COLUMNS),
            )
        steps = []
        for line_no, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(CSV_COLUMNS):
                raise InputError(
                    "wrong number of cells",
                    path=str(path),
                    line=line_no,
                    value=len(row),
                    allowed=f"{len(CSV_COLUMNS)} cells",
                )
            values = []
            for name, cell in zip(CSV_COLUMNS, row, strict=True):
                try:
                    values.append(parse_number(cell))
                except ValueError:
                    raise InputError(
                        "not a number",
                        path=str(path),
                        line=line_no,
                        field=name,
                        value=cell,
                        allowed="a decimal number",
                    ) from None
            steps.append((line_no, GradientStep(*values)))
    try:
        return Gradient(tuple(s for _, s in steps), source=str(path))
    except InputError as exc:
        if exc.line is None:
            raise
        file_line = steps[exc.line - 1][0]
        raise InputError(
            exc.message,
            path=str(path),
            line=file_line,
            field=exc.field,
            value=exc.value,
            allowed=exc.allowed,
        ) from None
