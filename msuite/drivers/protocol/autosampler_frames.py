"""The autosampler wire protocol: frames, checksum, reply kinds and error codes.

Written once, imported by the driver (:mod:`msuite.drivers.autosampler`) and the simulator
(:mod:`msuite.hardware_sim.autosampler_sim`). The contract is docs/protocol.md, "Autosampler".

A frame is ``STX <body> ETX <checksum>``::

    body     = <seq> " " <verb> [" " <argument>]*
    checksum = two uppercase hex digits of (sum of the body's bytes) mod 256

``seq`` is two decimal digits, ``01`` .. ``99`` (``00`` marks a NAK for a frame whose sequence
number could not be read). Worked example, the identify request with sequence 1::

    body  "01 ID" = 0x30 0x31 0x20 0x49 0x44, sum 270, 270 mod 256 = 14 -> "0E"
    frame 02 30 31 20 49 44 03 30 45   (STX "01 ID" ETX "0E")

Replies carry the request's sequence number and one of ``ACK [data]``, ``BUSY <state>``,
``ERROR <code> <text>`` or ``NAK``. Reply data are ``KEY=VALUE`` tokens; a ``MSG=`` token, when
present, is the last one and its value runs to the end of the body (it may hold spaces).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum

from msuite.drivers.errors import ProtocolError

__all__ = [
    "DRAW_SPEED_RANGE_UL_S",
    "ERROR_TEXT",
    "ETX",
    "MAX_BODY",
    "NO_SEQ",
    "STX",
    "TEMPERATURE_RANGE_C",
    "VOLUME_MIN_UL",
    "WASH_CYCLES_RANGE",
    "WASH_SOLVENTS",
    "AutosamplerErrorCode",
    "Frame",
    "ReplyKind",
    "checksum",
    "encode_frame",
    "format_fields",
    "next_seq",
    "parse_body",
    "parse_fields",
    "split_frames",
]

STX = b"\x02"
ETX = b"\x03"
#: Sequence number of a NAK whose request's sequence number could not be read.
NO_SEQ = 0
#: Longest body either side accepts (a 384-well inventory fits comfortably).
MAX_BODY = 16384


#: Accepted ranges of the settings (both sides check them).
VOLUME_MIN_UL = 0.1
DRAW_SPEED_RANGE_UL_S = (0.1, 50.0)
TEMPERATURE_RANGE_C = (4.0, 40.0)
WASH_CYCLES_RANGE = (1, 10)
WASH_SOLVENTS = ("WEAK", "STRONG")


class ReplyKind(Enum):
    """The verb of a reply frame."""

    ACK = "ACK"
    BUSY = "BUSY"
    ERROR = "ERROR"
    NAK = "NAK"


class AutosamplerErrorCode(IntEnum):
    """Codes of ``ERROR`` replies."""

    UNKNOWN_COMMAND = 10
    BAD_ARGUMENT = 11
    OUT_OF_RANGE = 12
    DOOR_OPEN = 20
    FAULT_ACTIVE = 21
    NO_LABWARE = 30
    VIAL_NOT_FOUND = 31
    INSUFFICIENT_VOLUME = 32
    BAD_POSITION = 33
    TRAY_OCCUPIED = 34
    NO_BARCODE = 35
    ABORTED = 40
    HARDWARE = 50
    NEEDLE_BLOCKED = 51


#: Default text of each error code.
ERROR_TEXT: dict[int, str] = {
    AutosamplerErrorCode.UNKNOWN_COMMAND: "Unknown command",
    AutosamplerErrorCode.BAD_ARGUMENT: "Bad argument",
    AutosamplerErrorCode.OUT_OF_RANGE: "Value out of range",
    AutosamplerErrorCode.DOOR_OPEN: "Door open",
    AutosamplerErrorCode.FAULT_ACTIVE: "Fault active, clear it first",
    AutosamplerErrorCode.NO_LABWARE: "No labware in tray",
    AutosamplerErrorCode.VIAL_NOT_FOUND: "Vial not found",
    AutosamplerErrorCode.INSUFFICIENT_VOLUME: "Insufficient sample volume",
    AutosamplerErrorCode.BAD_POSITION: "Position not on the labware",
    AutosamplerErrorCode.TRAY_OCCUPIED: "Tray occupied",
    AutosamplerErrorCode.NO_BARCODE: "No barcode read",
    AutosamplerErrorCode.ABORTED: "Operation aborted",
    AutosamplerErrorCode.HARDWARE: "Hardware error",
    AutosamplerErrorCode.NEEDLE_BLOCKED: "Needle blocked",
}


def checksum(body: bytes) -> bytes:
    """Checksum of a frame body: the 8-bit sum of its bytes as two uppercase hex digits."""
    return b"%02X" % (sum(body) & 0xFF)


def next_seq(seq: int) -> int:
    """The sequence number after ``seq`` (01 .. 99, wrapping to 01)."""
    return seq % 99 + 1


def encode_frame(seq: int, verb: str, *args: object) -> bytes:
    """Encode one frame: ``STX "<seq> <verb> <args...>" ETX <checksum>``.

    Arguments are converted with :func:`str`; floats should be formatted by the caller.
    """
    if not NO_SEQ <= seq <= 99:
        raise ProtocolError("sequence number out of range", field="seq", value=seq, allowed="0..99")
    text = " ".join([f"{seq:02d}", verb, *(str(a) for a in args)])
    try:
        body = text.encode("ascii")
    except UnicodeEncodeError:
        raise ProtocolError("frame body must be ASCII", field="body", value=text) from None
    if STX in body or ETX in body or len(body) > MAX_BODY:
        raise ProtocolError("frame body holds STX/ETX or is too long", field="body", value=text)
    return STX + body + ETX + checksum(body)


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame body: sequence number, verb and the rest of the body."""

    seq: int
    verb: str
    args: list[str] = field(default_factory=list)
    rest: str = ""

    @property
    def text(self) -> str:
        """The body as text (without sequence number)."""
        return f"{self.verb} {self.rest}".rstrip()


def parse_body(body: bytes) -> Frame:
    """Split a checked frame body into sequence number, verb and arguments.

    Raises
    ------
    ProtocolError
        When the body is not ASCII or does not start with a two-digit sequence number and a verb.
    """
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ProtocolError("frame body is not ASCII", field="body", value=body) from exc
    seq_text, _, after = text.partition(" ")
    verb, _, rest = after.partition(" ")
    if len(seq_text) != 2 or not seq_text.isdigit() or not verb:
        raise ProtocolError(
            "frame body is not '<seq> <verb> [args]'", field="body", value=text, allowed="01 ID"
        )
    return Frame(int(seq_text), verb.upper(), rest.split(), rest.strip())


def split_frames(buffer: bytearray) -> list[tuple[bytes, bool]]:
    """Take every complete frame out of ``buffer`` (in place).

    Returns ``(body, checksum_ok)`` pairs. Bytes before an STX are line noise and dropped; an
    unfinished frame stays in the buffer. A frame longer than :data:`MAX_BODY` is dropped and
    reported with ``checksum_ok=False``.
    """
    frames: list[tuple[bytes, bool]] = []
    while True:
        start = buffer.find(STX)
        if start < 0:
            buffer.clear()
            return frames
        del buffer[:start]
        end = buffer.find(ETX)
        if end < 0:
            if len(buffer) > MAX_BODY + 1:
                buffer.clear()
                frames.append((b"", False))
            return frames
        if len(buffer) < end + 3:
            return frames
        body = bytes(buffer[1:end])
        restart = body.rfind(STX)  # a frame cut short by noise: keep the last start
        if restart >= 0:
            body = body[restart + 1 :]
        received = bytes(buffer[end + 1 : end + 3])
        del buffer[: end + 3]
        frames.append((body, received == checksum(body)))


def format_fields(fields: dict[str, object], message: str | None = None) -> str:
    """Format reply data: ``KEY=VALUE`` tokens, then ``MSG=<text>`` when ``message`` is given."""
    parts = [f"{k}={v}" for k, v in fields.items()]
    if message is not None:
        parts.append(f"MSG={message}")
    return " ".join(parts)


def parse_fields(rest: str) -> dict[str, str]:
    """Parse reply data written by :func:`format_fields` into a dictionary of strings."""
    out: dict[str, str] = {}
    if rest.startswith("MSG="):
        head, message, has_message = "", rest[4:], True
    else:
        head, sep, message = rest.partition(" MSG=")
        has_message = bool(sep)
    for token in head.split():
        key, eq, value = token.partition("=")
        if not eq or not key:
            raise ProtocolError("reply data is not KEY=VALUE", field="data", value=token)
        out[key.upper()] = value
    if has_message:
        out["MSG"] = message
    return out
