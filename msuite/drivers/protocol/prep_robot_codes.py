"""The sample-prep robot's wire protocol, defined once for the driver and the simulator.

ASCII lines in the style of liquid-handler remote protocols (docs/protocol.md,
section "Sample-prep robot")::

    request  <id> <CMD> [args...]*HH\\r\\n
    reply    <id> OK [data]*HH\\r\\n      or      <id> ER <code> <text>*HH\\r\\n

``<id>`` is four decimal digits (0001..9999) echoed by the reply; ``*HH`` is the XOR of every
byte before the ``*`` as two upper-case hex digits. This module holds the framing, the error
codes, the step names and their fields (with ranges), the well and robot states, and well-name
parsing for 96- and 384-well plates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from msuite.core.errors import InputError

__all__ = [
    "ALL_WELLS",
    "DEFAULT_RESERVOIRS_UL",
    "ERROR_TEXT",
    "FIELDS",
    "MAX_ID",
    "PLATE_TYPES",
    "REPLY_MEMORY",
    "REPLY_MEMORY_S",
    "STEP_RESULT",
    "STEP_SPECS",
    "TERMINATOR",
    "DoorState",
    "ErrorCode",
    "FailReason",
    "FieldSpec",
    "FrameChecksumError",
    "Reply",
    "Request",
    "RobotState",
    "StepName",
    "StepSpec",
    "WellState",
    "all_wells",
    "check_plate_id",
    "check_reagent_name",
    "check_step_fields",
    "checksum",
    "encode_reply",
    "encode_request",
    "format_fields",
    "format_number",
    "parse_fields",
    "parse_reply",
    "parse_request",
    "parse_wells",
    "step_name",
    "well_sort_key",
]

TERMINATOR = b"\r\n"
MAX_ID = 9999
#: The robot remembers its replies to this many state-changing requests ...
REPLY_MEMORY = 16
#: ... for this many seconds (wall clock): a repeat of one (same id and text) within that
#: time is answered from memory instead of being executed again.
REPLY_MEMORY_S = 60.0
ALL_WELLS = "ALL"
PLATE_TYPES = (96, 384)
_PLATE_GEOMETRY = {96: ("ABCDEFGH", 12), 384: ("ABCDEFGHIJKLMNOP", 24)}

_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")
_PLATE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$")
_WELL_RE = re.compile(r"^([A-Pa-p])(0?[1-9]|1[0-9]|2[0-4])$")


class ErrorCode(IntEnum):
    """Error codes of ``ER`` replies (two digits on the wire)."""

    SYNTAX = 1
    CHECKSUM = 2
    BAD_PARAMETER = 3
    BUSY = 4
    NO_PLATE = 10
    PLATE_PRESENT = 11
    BAD_WELLS = 12
    PROTOCOL_EMPTY = 20
    NOTHING_TO_RESUME = 21
    TIP_PICKUP = 30
    NO_TIPS = 31
    REAGENT_EMPTY = 32
    UNKNOWN_RESERVOIR = 33
    DOOR_OPEN = 40
    FAULT_ACTIVE = 50
    HARDWARE = 60
    INTERNAL = 99


ERROR_TEXT: dict[int, str] = {
    ErrorCode.SYNTAX: "Syntax error",
    ErrorCode.CHECKSUM: "Checksum error",
    ErrorCode.BAD_PARAMETER: "Parameter out of range",
    ErrorCode.BUSY: "Not allowed in this state",
    ErrorCode.NO_PLATE: "No plate loaded",
    ErrorCode.PLATE_PRESENT: "Plate already loaded",
    ErrorCode.BAD_WELLS: "Bad well selection",
    ErrorCode.PROTOCOL_EMPTY: "Protocol empty",
    ErrorCode.NOTHING_TO_RESUME: "Nothing to resume",
    ErrorCode.TIP_PICKUP: "Tip pick-up failed",
    ErrorCode.NO_TIPS: "No tips left",
    ErrorCode.REAGENT_EMPTY: "Reagent reservoir empty",
    ErrorCode.UNKNOWN_RESERVOIR: "Unknown reservoir",
    ErrorCode.DOOR_OPEN: "Door open",
    ErrorCode.FAULT_ACTIVE: "Fault active",
    ErrorCode.HARDWARE: "Hardware error",
    ErrorCode.INTERNAL: "Internal error",
}


class RobotState(StrEnum):
    """Robot state (``STAT?``)."""

    IDLE = "IDLE"
    BUSY = "BUSY"
    PAUSED = "PAUSED"
    FAULT = "FAULT"


class DoorState(StrEnum):
    """Front door (``DOOR?``)."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"


class WellState(StrEnum):
    """Status of one well (``WELL?``): the last step completed on it."""

    EMPTY = "EMPTY"
    LOADED = "LOADED"
    DENATURED = "DENATURED"
    REDUCED = "REDUCED"
    ALKYLATED = "ALKYLATED"
    DIGESTING = "DIGESTING"
    DIGESTED = "DIGESTED"
    QUENCHED = "QUENCHED"
    CLEANED = "CLEANED"
    SPIKED = "SPIKED"
    READY = "READY"
    FAILED = "FAILED"


class FailReason(StrEnum):
    """Why a well is FAILED (``A1=FAILED:TIP`` on the wire)."""

    TIP = "TIP"  # tip pick-up failed for this well
    ABORTED = "ABORTED"  # the step was aborted after reagent went into the well


class StepName(StrEnum):
    """Plate-level steps; each is also the wire command that runs it."""

    DENATURE = "DENATURE"
    REDUCE = "REDUCE"
    ALKYLATE = "ALKYLATE"
    DIGEST = "DIGEST"
    QUENCH = "QUENCH"
    SPE = "SPE"
    SPIKE = "SPIKE"


#: Well status once a step has finished on a well (DIGEST: DIGESTING as the enzyme goes in).
STEP_RESULT: dict[StepName, WellState] = {
    StepName.DENATURE: WellState.DENATURED,
    StepName.REDUCE: WellState.REDUCED,
    StepName.ALKYLATE: WellState.ALKYLATED,
    StepName.DIGEST: WellState.DIGESTED,
    StepName.QUENCH: WellState.QUENCHED,
    StepName.SPE: WellState.CLEANED,
    StepName.SPIKE: WellState.SPIKED,
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One ``KEY=value`` field of a step: numeric range (inclusive) or a reagent name."""

    key: str
    unit: str
    low: float = 0.0
    high: float = 0.0
    is_name: bool = False

    @property
    def allowed(self) -> str:
        """What is accepted, in words."""
        if self.is_name:
            return "reservoir name: A-Z first, then A-Z 0-9 _, at most 16 characters"
        if self.key == "DARK":
            return "0 or 1"
        return f"{format_number(self.low)}..{format_number(self.high)} {self.unit}".rstrip()


FIELDS: dict[str, FieldSpec] = {
    "REAG": FieldSpec("REAG", "", is_name=True),
    "VOL": FieldSpec("VOL", "uL", 0.5, 500.0),
    "MIN": FieldSpec("MIN", "min", 0.0, 240.0),
    "HRS": FieldSpec("HRS", "h", 0.1, 48.0),
    "TEMP": FieldSpec("TEMP", "C", 4.0, 100.0),
    "DARK": FieldSpec("DARK", "", 0.0, 1.0),
}


@dataclass(frozen=True, slots=True)
class StepSpec:
    """Fields a step requires, fields it accepts, and defaults of the optional ones."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    defaults: tuple[tuple[str, float], ...] = ()


STEP_SPECS: dict[StepName, StepSpec] = {
    StepName.DENATURE: StepSpec(("TEMP", "MIN"), ("REAG", "VOL")),
    StepName.REDUCE: StepSpec(("REAG", "VOL", "MIN", "TEMP")),
    StepName.ALKYLATE: StepSpec(("REAG", "VOL", "MIN", "TEMP"), ("DARK",), (("DARK", 1.0),)),
    StepName.DIGEST: StepSpec(("REAG", "VOL", "HRS", "TEMP")),
    StepName.QUENCH: StepSpec(("REAG", "VOL"), ("MIN", "TEMP"), (("MIN", 0.0), ("TEMP", 22.0))),
    StepName.SPE: StepSpec(("REAG", "VOL", "MIN")),
    StepName.SPIKE: StepSpec(("REAG", "VOL"), ("MIN", "TEMP"), (("MIN", 0.0), ("TEMP", 22.0))),
}

#: Reservoirs of a freshly started robot (uL): enough for the default protocol on a full
#: 96-well plate plus dead volume.
DEFAULT_RESERVOIRS_UL: dict[str, float] = {
    "SDC": 5000.0,
    "DTT": 2500.0,
    "IAA": 2500.0,
    "TRYPSIN": 2500.0,
    "FA": 2500.0,
    "ACN50": 20000.0,
    "SIL": 2500.0,
}


def format_number(value: float) -> str:
    """A number as the wire writes it (shortest form, at most 6 significant digits)."""
    text = f"{float(value):.6g}"
    return "0" if text == "-0" else text


def step_name(value: str, field: str = "step") -> StepName:
    """The :class:`StepName` for ``value`` (case-insensitive), else InputError."""
    try:
        return StepName(str(value).upper())
    except ValueError:
        raise InputError(
            "unknown step", field=field, value=value, allowed=", ".join(s.value for s in StepName)
        ) from None


def check_reagent_name(name: str, field: str = "REAG") -> str:
    """Upper-cased reservoir name, else InputError."""
    upper = str(name).upper()
    if not _NAME_RE.match(upper):
        raise InputError(
            "bad reservoir name", field=field, value=name, allowed=FIELDS["REAG"].allowed
        )
    return upper


def check_plate_id(plate_id: str) -> str:
    """A plate id / barcode: 1-32 of A-Z a-z 0-9 _ . - (not starting with a punctuation mark)."""
    if not _PLATE_ID_RE.match(str(plate_id)):
        raise InputError(
            "bad plate id",
            field="plate_id",
            value=plate_id,
            allowed="1-32 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit",
        )
    return str(plate_id)


def check_step_fields(step: str | StepName, fields: Mapping[str, object]) -> dict[str, float | str]:
    """Validate a step's fields; return them with defaults filled in.

    Keys are the wire keys (``REAG VOL MIN HRS TEMP DARK``, case-insensitive). Numbers come back
    as floats, the reagent upper-cased. Raises InputError naming the step field, the value and
    what is allowed.
    """
    name = step_name(step) if not isinstance(step, StepName) else step
    spec = STEP_SPECS[name]
    accepted = spec.required + spec.optional
    out: dict[str, float | str] = {}
    for raw_key, raw_value in fields.items():
        key = str(raw_key).upper()
        where = f"{name.value}.{key}"
        if key not in accepted:
            raise InputError(
                "field not used by this step",
                field=where,
                value=raw_value,
                allowed=" ".join(accepted),
            )
        fs = FIELDS[key]
        if fs.is_name:
            out[key] = check_reagent_name(str(raw_value), where)
            continue
        try:
            if not isinstance(raw_value, int | float | str):
                raise TypeError(type(raw_value).__name__)
            number = float(raw_value)
        except (TypeError, ValueError):
            raise InputError(
                "not a number", field=where, value=raw_value, allowed=fs.allowed
            ) from None
        if not (fs.low <= number <= fs.high) or (key == "DARK" and number not in (0.0, 1.0)):
            raise InputError("out of range", field=where, value=raw_value, allowed=fs.allowed)
        out[key] = number
    missing = [k for k in spec.required if k not in out]
    if missing:
        raise InputError(
            "missing field", field=f"{name.value}.{missing[0]}", allowed=" ".join(spec.required)
        )
    if ("REAG" in out) != ("VOL" in out):
        raise InputError(
            "reagent and volume go together",
            field=f"{name.value}.{'VOL' if 'REAG' in out else 'REAG'}",
            allowed="both REAG and VOL, or neither",
        )
    for key, default in spec.defaults:
        out.setdefault(key, default)
    return out


def format_fields(fields: Mapping[str, float | str]) -> str:
    """``KEY=value`` tokens in a fixed key order."""

    def shown(value: float | str) -> str:
        return value if isinstance(value, str) else format_number(value)

    return " ".join(f"{key}={shown(fields[key])}" for key in FIELDS if key in fields)


def parse_fields(tokens: Iterable[str], field: str = "reply") -> dict[str, str]:
    """``KEY=value`` tokens as a dictionary (keys upper-cased)."""
    out: dict[str, str] = {}
    for tok in tokens:
        key, sep, value = tok.partition("=")
        if not sep or not key:
            raise InputError("expected KEY=value", field=field, value=tok)
        out[key.upper()] = value
    return out


# ----------------------------------------------------------------------------------- wells
def all_wells(plate_type: int) -> list[str]:
    """Every well of a plate in processing order (column by column: A1, B1, ..., H1, A2...)."""
    rows, cols = _geometry(plate_type)
    return [f"{r}{c}" for c in range(1, cols + 1) for r in rows]


def _geometry(plate_type: int) -> tuple[str, int]:
    try:
        return _PLATE_GEOMETRY[int(plate_type)]
    except (KeyError, TypeError, ValueError):
        raise InputError(
            "unknown plate type", field="plate_type", value=plate_type, allowed="96, 384"
        ) from None


def well_sort_key(well: str) -> tuple[int, int]:
    """Column-major sort key of a normalised well name."""
    return int(well[1:]), ord(well[0])


def _one_well(text: str, plate_type: int) -> tuple[int, int]:
    rows, cols = _geometry(plate_type)
    m = _WELL_RE.match(text.strip())
    row = m.group(1).upper() if m else ""
    if not m or row not in rows or int(m.group(2)) > cols:
        raise InputError(
            "bad well name",
            field="wells",
            value=text,
            allowed=f"A1..{rows[-1]}{cols} on a {plate_type}-well plate, or ALL",
        )
    return rows.index(row), int(m.group(2))


def parse_wells(selection: str | Iterable[str], plate_type: int) -> list[str]:
    """Wells named by a selection, in processing order, without duplicates.

    A selection is ``ALL`` or a comma-separated list of wells (``B3``) and rectangles
    (``A1:H6``: rows A-H of columns 1-6); an iterable of such items is accepted too.
    """
    rows, _ = _geometry(plate_type)
    items = [selection] if isinstance(selection, str) else list(selection)
    parts = [p.strip() for item in items for p in str(item).split(",")]
    if not parts or any(not p for p in parts):
        raise InputError(
            "empty well selection", field="wells", value=selection, allowed="ALL, A1, A1:H6"
        )
    chosen: set[str] = set()
    for part in parts:
        if part.upper() == ALL_WELLS:
            chosen.update(all_wells(plate_type))
            continue
        first, sep, last = part.partition(":")
        r0, c0 = _one_well(first, plate_type)
        r1, c1 = _one_well(last, plate_type) if sep else (r0, c0)
        for r in range(min(r0, r1), max(r0, r1) + 1):
            for c in range(min(c0, c1), max(c0, c1) + 1):
                chosen.add(f"{rows[r]}{c}")
    return sorted(chosen, key=well_sort_key)


# --------------------------------------------------------------------------------- framing
def checksum(body: bytes) -> str:
    """XOR of every byte of ``body`` as two upper-case hex digits."""
    value = 0
    for b in body:
        value ^= b
    return f"{value:02X}"


def _seal(body: str) -> bytes:
    raw = body.encode("ascii")
    return raw + b"*" + checksum(raw).encode("ascii") + TERMINATOR


def _unseal(line: bytes, required: bool) -> str:
    """The body of a line after checking (and removing) its ``*HH`` checksum."""
    text = line.rstrip(b"\r\n")
    star = text.rfind(b"*")
    if star >= 0 and len(text) - star == 3:
        body, given = text[:star], text[star + 1 :].decode("ascii", "replace").upper()
        if checksum(body) != given:
            raise FrameChecksumError(f"got {given}, computed {checksum(body)}")
        text = body
    elif required:
        raise ValueError("missing *HH checksum")
    try:
        return text.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError("non-ASCII bytes") from None


class FrameChecksumError(ValueError):
    """A line's ``*HH`` does not match its bytes."""


@dataclass(frozen=True, slots=True)
class Request:
    """A parsed request line."""

    id: int
    command: str
    args: tuple[str, ...]

    @property
    def text(self) -> str:
        """Command and arguments as sent (without id and checksum)."""
        return " ".join((self.command, *self.args))


@dataclass(frozen=True, slots=True)
class Reply:
    """A parsed reply line: ``ok`` with ``data``, or an error ``code`` with ``text``."""

    id: int
    ok: bool
    data: str = ""
    code: int = 0
    text: str = ""


def encode_request(request_id: int, command: str, *args: str) -> bytes:
    """``<id> <CMD> [args]*HH\\r\\n``."""
    if not 0 < request_id <= MAX_ID:
        raise InputError("request id out of range", field="id", value=request_id, allowed="1..9999")
    return _seal(" ".join((f"{request_id:04d}", command.upper(), *args)))


def parse_request(line: bytes) -> Request:
    """Parse a request line; the checksum is optional (terminal use) but checked when present.

    Raises ValueError describing the defect (:class:`FrameChecksumError` for a checksum
    mismatch).
    """
    body = _unseal(line, required=False)
    tokens = body.split()
    if len(tokens) < 2 or not tokens[0].isdigit() or len(tokens[0]) > 4:
        raise ValueError("expected '<id> <CMD> [args]'")
    return Request(int(tokens[0]), tokens[1].upper(), tuple(tokens[2:]))


def encode_reply(request_id: int, ok: bool, data: str = "", code: int = 0, text: str = "") -> bytes:
    """``<id> OK [data]*HH\\r\\n`` or ``<id> ER <code> <text>*HH\\r\\n``."""
    if ok:
        body = f"{request_id:04d} OK" + (f" {data}" if data else "")
    else:
        body = f"{request_id:04d} ER {int(code):02d} {text or ERROR_TEXT.get(code, 'Error')}"
    return _seal(body)


def parse_reply(line: bytes) -> Reply:
    """Parse a reply line (checksum required); ValueError when malformed."""
    body = _unseal(line, required=True)
    id_text, _, rest = body.partition(" ")
    if not (len(id_text) == 4 and id_text.isdigit()):
        raise ValueError("reply does not start with a 4-digit id")
    status, _, payload = rest.partition(" ")
    if status == "OK":
        return Reply(int(id_text), True, payload)
    if status == "ER":
        code_text, _, text = payload.partition(" ")
        if not code_text.isdigit():
            raise ValueError("ER reply without a numeric code")
        return Reply(int(id_text), False, code=int(code_text), text=text)
    raise ValueError("reply status is neither OK nor ER")
