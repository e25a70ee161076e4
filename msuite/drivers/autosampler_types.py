"""Typed replies of the autosampler driver, built from the ``KEY=VALUE`` data of ACK frames."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from msuite.drivers.errors import ProtocolError
from msuite.drivers.protocol.plates import LabwareFormat, Position, format_by_code, parse_position

__all__ = [
    "AutosamplerIdentity",
    "AutosamplerState",
    "AutosamplerStatus",
    "InjectionRecord",
    "InjectionTicket",
    "PositionCheck",
    "Setting",
    "TrayInfo",
    "TrayInventory",
    "TrayTemperature",
    "field_float",
    "field_int",
    "field_text",
    "labware_or_none",
]


class AutosamplerState(Enum):
    """Device state (``STATUS``)."""

    IDLE = "IDLE"
    BUSY = "BUSY"  # moving labware
    INJECTING = "INJECTING"
    WASHING = "WASHING"
    FAULT = "FAULT"
    DOOR_OPEN = "DOOR_OPEN"


def field_text(fields: dict[str, str], key: str, command: str) -> str:
    """The value of ``key`` in reply data (ProtocolError when missing)."""
    try:
        return fields[key]
    except KeyError:
        raise ProtocolError(
            f"reply to {command} lacks {key}", field="data", value=fields, allowed=key
        ) from None


def field_float(fields: dict[str, str], key: str, command: str) -> float:
    """A float value (``-`` reads as NaN)."""
    text = field_text(fields, key, command)
    if text == "-":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise ProtocolError(f"{key} is not a number", field=key, value=text) from None


def field_int(fields: dict[str, str], key: str, command: str) -> int:
    """An integer value."""
    text = field_text(fields, key, command)
    try:
        return int(text)
    except ValueError:
        raise ProtocolError(f"{key} is not an integer", field=key, value=text) from None


def labware_or_none(code: str) -> LabwareFormat | None:
    """The labware format of a wire code, None for ``NONE``."""
    return None if code.upper() == "NONE" else format_by_code(code)


def _none_if_dash(text: str) -> str | None:
    return None if text in ("", "-") else text


@dataclass(frozen=True, slots=True)
class AutosamplerIdentity:
    """The ``ID`` reply."""

    maker: str
    model: str
    serial: str
    firmware: str
    loop_ul: float
    trays: int

    @classmethod
    def from_fields(cls, f: dict[str, str]) -> AutosamplerIdentity:
        """Build from ACK data."""
        return cls(
            field_text(f, "MAKER", "ID"),
            field_text(f, "MODEL", "ID"),
            field_text(f, "SERIAL", "ID"),
            field_text(f, "FW", "ID"),
            field_float(f, "LOOP", "ID"),
            field_int(f, "TRAYS", "ID"),
        )


@dataclass(frozen=True, slots=True)
class InjectionTicket:
    """An accepted injection: its number and the simulated time the valve will switch."""

    number: int
    position: Position
    volume_ul: float
    inject_at_s: float


@dataclass(frozen=True, slots=True)
class InjectionRecord:
    """A completed injection (the injection-done signal)."""

    number: int
    position: Position
    volume_ul: float
    sim_time_s: float


@dataclass(frozen=True, slots=True)
class AutosamplerStatus:
    """The ``STATUS`` reply."""

    state: AutosamplerState
    injections_started: int
    injections_done: int
    last_injection: InjectionRecord | None
    door_open: bool
    fault_code: int
    fault_text: str
    sim_time_s: float

    @classmethod
    def from_fields(cls, f: dict[str, str]) -> AutosamplerStatus:
        """Build from ACK data."""
        c = "STATUS"
        try:
            state = AutosamplerState(field_text(f, "STATE", c))
        except ValueError:
            raise ProtocolError("unknown state", field="STATE", value=f.get("STATE")) from None
        last = None
        if field_text(f, "LAST", c) != "-":
            last = InjectionRecord(
                field_int(f, "LAST_N", c),
                parse_position(f["LAST"]),
                field_float(f, "LAST_UL", c),
                field_float(f, "LAST_T", c),
            )
        return cls(
            state,
            field_int(f, "INJ", c),
            field_int(f, "DONE", c),
            last,
            field_text(f, "DOOR", c) == "OPEN",
            field_int(f, "FAULT", c),
            f.get("MSG", ""),
            field_float(f, "T", c),
        )


@dataclass(frozen=True, slots=True)
class TrayInfo:
    """One tray: its labware (None when empty), barcode and filled sites (None if not told)."""

    tray: int
    labware: LabwareFormat | None
    barcode: str | None
    filled: int | None

    @classmethod
    def from_fields(cls, f: dict[str, str], command: str) -> TrayInfo:
        """Build from the ACK data of ``TRAY?`` or ``LOAD``."""
        return cls(
            field_int(f, "TRAY", command),
            labware_or_none(field_text(f, "TYPE", command)),
            _none_if_dash(field_text(f, "BARCODE", command)),
            field_int(f, "FILLED", command) if "FILLED" in f else None,
        )


@dataclass(frozen=True, slots=True)
class PositionCheck:
    """Whether a position holds sample, and how much."""

    position: Position
    present: bool
    volume_ul: float


@dataclass(frozen=True, slots=True)
class Setting:
    """A setting's value and its accepted range."""

    value: float
    minimum: float
    maximum: float


@dataclass(frozen=True, slots=True)
class TrayTemperature:
    """Tray temperature setpoint and readback (°C)."""

    setpoint_c: float
    actual_c: float


@dataclass(frozen=True, slots=True)
class TrayInventory:
    """Remaining sample volume (µL) per filled site of one tray, row-major."""

    tray: int
    labware: LabwareFormat
    volumes_ul: dict[str, float]
