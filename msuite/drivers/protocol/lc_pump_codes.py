"""The LC pump wire protocol, defined once for the driver and the simulator.

Lines are ASCII terminated by CR LF. Queries end in ``?`` and are answered ``KEY:value``
(``FLOW?`` -> ``FLOW:300``); settings and actions (``FLOW:300``, ``RUN:START``) are answered
``OK``; every refusal is ``ERROR:<n>`` with ``n`` from :class:`PumpErrorCode`. The full
contract is ``docs/protocol.md, "LC pump"``.

Units on the wire: flow in µL/min, composition in %B, pressure in bar, gradient and run times
in minutes, purge duration in seconds, equilibration in column volumes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, IntEnum

__all__ = [
    "COLUMN_DP_UM_RANGE",
    "COLUMN_ID_MM_RANGE",
    "COLUMN_LENGTH_MM_RANGE",
    "EQUIL_CV_RANGE",
    "FLOW_RANGE_UL_MIN",
    "GRADIENT_FLOW_RANGE_UL_MIN",
    "GRADIENT_MAX_ROWS",
    "GRADIENT_MAX_TIME_MIN",
    "PRESSURE_LIMIT_RANGE_BAR",
    "PUMP_ERROR_TEXT",
    "PURGE_S_RANGE",
    "TERMINATOR",
    "PumpErrorCode",
    "PumpState",
    "RowProblem",
    "format_gradient",
    "format_number",
    "gradient_row_problem",
    "gradient_table_problem",
    "parse_gradient",
    "parse_number",
    "parse_numbers",
]

TERMINATOR = b"\r\n"

#: Flow set point (µL/min); 0 means the pump holds still while nominally on.
FLOW_RANGE_UL_MIN = (0.0, 5000.0)
#: Flow allowed in a gradient row (µL/min).
GRADIENT_FLOW_RANGE_UL_MIN = (1.0, 5000.0)
#: Longest gradient program (min) and most rows in one table.
GRADIENT_MAX_TIME_MIN = 600.0
GRADIENT_MAX_ROWS = 50
#: Pressure limits accepted by ``PLIM`` (bar).
PRESSURE_LIMIT_RANGE_BAR = (0.0, 1300.0)
#: ``PURGE:<seconds>`` and ``EQUIL:<column volumes>`` ranges.
PURGE_S_RANGE = (1.0, 600.0)
EQUIL_CV_RANGE = (0.1, 100.0)
#: Column geometry accepted by ``COLUMN:<length mm>,<id mm>,<particle µm>``.
COLUMN_LENGTH_MM_RANGE = (10.0, 500.0)
COLUMN_ID_MM_RANGE = (0.05, 10.0)
COLUMN_DP_UM_RANGE = (1.0, 20.0)


class PumpErrorCode(IntEnum):
    """Codes of ``ERROR:<n>`` replies. Never renumber: they are on the wire."""

    UNKNOWN_COMMAND = 1
    BAD_VALUE = 2
    OUT_OF_RANGE = 3
    BUSY = 4
    NOT_ALLOWED = 5
    OVERPRESSURE = 6
    UNDERPRESSURE = 7
    LEAK = 8
    GRADIENT_INVALID = 9
    NO_GRADIENT = 10
    HARDWARE = 11


PUMP_ERROR_TEXT: dict[int, str] = {
    1: "Unknown command",
    2: "Bad value (not a number or malformed argument)",
    3: "Value out of range",
    4: "Busy (purging or equilibrating)",
    5: "Not allowed in this state",
    6: "Overpressure: pump stopped",
    7: "Underpressure: pump stopped",
    8: "Leak detected: pump stopped",
    9: "Gradient table invalid",
    10: "No gradient loaded",
    11: "Hardware error",
}


class PumpState(Enum):
    """Pump states (``STATE?``)."""

    IDLE = "IDLE"
    PURGING = "PURGING"
    EQUILIBRATING = "EQUILIBRATING"
    READY = "READY"
    ARMED = "ARMED"
    RUNNING = "RUNNING"
    FAULT = "FAULT"


_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def parse_number(text: str) -> float:
    """Parse a decimal number as written on the wire (no exponent, no nan/inf).

    Raises
    ------
    ValueError
        If ``text`` is not a plain decimal number.
    """
    text = text.strip()
    if not _NUMBER_RE.match(text):
        raise ValueError(f"not a decimal number: {text!r}")
    return float(text)


def parse_numbers(text: str, count: int) -> list[float]:
    """Parse exactly ``count`` comma-separated numbers (raises ValueError otherwise)."""
    parts = text.split(",")
    if len(parts) != count:
        raise ValueError(f"expected {count} comma-separated numbers, got {len(parts)}")
    return [parse_number(p) for p in parts]


def format_number(value: float, decimals: int = 3) -> str:
    """Format a number for the wire: fixed point, trailing zeros dropped (``300``, ``12.5``)."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why a gradient row or table is refused: the wire code and the facts for an InputError."""

    code: PumpErrorCode
    field: str
    value: float | int
    allowed: str
    message: str


def _outside(value: float, bounds: tuple[float, float]) -> bool:
    return not (bounds[0] <= value <= bounds[1])


def gradient_row_problem(
    index: int, time_min: float, percent_b: float, flow_ul_min: float, previous_time: float | None
) -> RowProblem | None:
    """Check one gradient row (0-based ``index``) against the rules; None when it is fine.

    Rules: the first row is at time 0, times increase strictly up to
    :data:`GRADIENT_MAX_TIME_MIN`, %B lies in 0-100, flow in
    :data:`GRADIENT_FLOW_RANGE_UL_MIN`, at most :data:`GRADIENT_MAX_ROWS` rows.
    """
    if index >= GRADIENT_MAX_ROWS:
        return RowProblem(
            PumpErrorCode.GRADIENT_INVALID,
            "rows",
            index + 1,
            f"at most {GRADIENT_MAX_ROWS} rows",
            "too many gradient rows",
        )
    if index == 0 and time_min != 0.0:
        return RowProblem(
            PumpErrorCode.GRADIENT_INVALID,
            "time_min",
            time_min,
            "0 for the first row",
            "gradient must start at time 0",
        )
    if _outside(time_min, (0.0, GRADIENT_MAX_TIME_MIN)):
        return RowProblem(
            PumpErrorCode.OUT_OF_RANGE,
            "time_min",
            time_min,
            f"0-{format_number(GRADIENT_MAX_TIME_MIN)} min",
            "gradient time out of range",
        )
    if previous_time is not None and time_min <= previous_time:
        return RowProblem(
            PumpErrorCode.GRADIENT_INVALID,
            "time_min",
            time_min,
            f"> {format_number(previous_time)} min (strictly increasing)",
            "gradient times must increase strictly",
        )
    if _outside(percent_b, (0.0, 100.0)):
        return RowProblem(
            PumpErrorCode.OUT_OF_RANGE, "percent_b", percent_b, "0-100 %B", "%B out of range"
        )
    if _outside(flow_ul_min, GRADIENT_FLOW_RANGE_UL_MIN):
        lo, hi = GRADIENT_FLOW_RANGE_UL_MIN
        return RowProblem(
            PumpErrorCode.OUT_OF_RANGE,
            "flow_ul_min",
            flow_ul_min,
            f"{format_number(lo)}-{format_number(hi)} µL/min",
            "gradient flow out of range",
        )
    return None


def gradient_table_problem(n_rows: int) -> RowProblem | None:
    """Check a whole table's size: at least two rows (a program needs an end time)."""
    if n_rows < 2:
        return RowProblem(
            PumpErrorCode.GRADIENT_INVALID,
            "rows",
            n_rows,
            f"2-{GRADIENT_MAX_ROWS} rows",
            "a gradient needs at least two rows",
        )
    return None


def format_gradient(rows: list[tuple[float, float, float]]) -> str:
    """Format gradient rows for the ``GRAD?`` reply: ``t,%B,flow;t,%B,flow;...`` or ``NONE``."""
    if not rows:
        return "NONE"
    return ";".join(
        f"{format_number(t)},{format_number(b, 2)},{format_number(f)}" for t, b, f in rows
    )


def parse_gradient(text: str) -> list[tuple[float, float, float]]:
    """Parse the value of a ``GRAD?`` reply (inverse of :func:`format_gradient`)."""
    if text == "NONE":
        return []
    rows = []
    for part in text.split(";"):
        t, b, f = parse_numbers(part, 3)
        rows.append((t, b, f))
    return rows
