"""SCPI error codes: the standard negative codes the instrument uses and its device codes.

Negative codes follow SCPI-99 volume 2, chapter 21 ("Error/Event queue"); positive codes are
the instrument's own and are listed in ``docs/protocol.md``.
"""

from __future__ import annotations

import re
from enum import IntEnum

__all__ = ["ERROR_TEXT", "ErrorCode", "format_error", "parse_error"]


class ErrorCode(IntEnum):
    """Error codes the instrument may queue. Never renumber: they are on the wire."""

    NO_ERROR = 0
    # SCPI command errors (-100 .. -199)
    COMMAND_ERROR = -100
    SYNTAX_ERROR = -102
    PARAMETER_NOT_ALLOWED = -108
    MISSING_PARAMETER = -109
    UNDEFINED_HEADER = -113
    DATA_TYPE_ERROR = -104
    INVALID_BLOCK_DATA = -161
    # SCPI execution errors (-200 .. -299)
    EXECUTION_ERROR = -200
    SETTINGS_CONFLICT = -221
    DATA_OUT_OF_RANGE = -222
    TOO_MUCH_DATA = -223
    ILLEGAL_PARAMETER_VALUE = -224
    HARDWARE_ERROR = -240
    # SCPI device-specific errors (-300 .. -399)
    SYSTEM_ERROR = -310
    QUEUE_OVERFLOW = -350
    # SCPI query errors (-400 .. -499)
    QUERY_ERROR = -400
    # device codes (positive)
    VACUUM_FAULT = 101
    SPRAY_UNSTABLE = 102
    SOURCE_OFF = 103
    NOT_READY = 110
    ACQUISITION_RUNNING = 111
    NO_METHOD = 112
    TRANSITION_TABLE_TOO_LARGE = 201
    DWELL_BELOW_MINIMUM = 202
    CYCLE_TOO_LONG = 203
    SCAN_RATE_EXCEEDED = 204
    RESOLUTION_NOT_SUPPORTED = 205
    ISOLATION_WIDTH_OUT_OF_RANGE = 206
    MASS_OUT_OF_RANGE = 207
    TABLE_ROW_INVALID = 208
    DATA_OVERRUN = 301


ERROR_TEXT: dict[int, str] = {
    0: "No error",
    -100: "Command error",
    -102: "Syntax error",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -161: "Invalid block data",
    -200: "Execution error",
    -221: "Settings conflict",
    -222: "Data out of range",
    -223: "Too much data",
    -224: "Illegal parameter value",
    -240: "Hardware error",
    -310: "System error",
    -350: "Queue overflow",
    -400: "Query error",
    101: "Vacuum fault",
    102: "Spray unstable",
    103: "Source is off",
    110: "Instrument not ready",
    111: "Acquisition running",
    112: "No method loaded",
    201: "Transition table too large",
    202: "Dwell below minimum",
    203: "Cycle time too long",
    204: "Scan rate exceeded",
    205: "Resolution not supported",
    206: "Isolation width out of range",
    207: "Mass out of range",
    208: "Table row invalid",
    301: "Data overrun; scans discarded",
}

_ERROR_RE = re.compile(r'^\s*([+-]?\d+)\s*,\s*"(.*)"\s*$')


def format_error(code: int, detail: str = "") -> str:
    """Format an error-queue entry: ``<code>,"<text>[; detail]"``."""
    text = ERROR_TEXT.get(int(code), "Unknown error")
    if detail:
        text = f"{text}; {detail}"
    return f'{int(code)},"{text.replace(chr(34), chr(39))}"'


def parse_error(reply: str) -> tuple[int, str]:
    """Parse a ``SYSTem:ERRor?`` reply into ``(code, text)``.

    Raises
    ------
    ValueError
        If the reply is not of the form ``<code>,"<text>"``.
    """
    match = _ERROR_RE.match(reply)
    if match is None:
        raise ValueError(f"not an error-queue entry: {reply!r}")
    return int(match.group(1)), match.group(2)
