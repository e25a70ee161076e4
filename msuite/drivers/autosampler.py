"""Driver for LC autosamplers speaking the msuite autosampler protocol.

The contract is docs/protocol.md, section "Autosampler".

:class:`Autosampler` talks over any pyserial port (a serial device, a pseudo-terminal,
``socket://HOST:PORT``). Every request is a checksummed frame with a sequence number:

- ``NAK`` or a reply with a bad checksum: the same frame is sent again (the device treats a
  repeated frame as a retransmission and does not run it twice), at most ``max_resends`` times,
  then :class:`~msuite.drivers.errors.ProtocolError`.
- A reply with another sequence number is stale (the late answer to a request that timed out)
  or unsolicited, and is skipped.
- ``BUSY``: the device's mechanism is in use; the driver backs off and asks again (a new
  frame) until ``busy_timeout_s``, then :class:`~msuite.drivers.errors.InstrumentTimeoutError`.
- ``ERROR <code> <text>``: :class:`~msuite.drivers.errors.InstrumentError`.
- Timeouts and lost lines: the port is reopened and the frame resent (bounded by ``retries``).

The injection-done signal is polled: :meth:`Autosampler.wait_injection_done` reads ``STATUS``
until the device reports the injection finished, or raises when it was aborted or faulted.
"""

from __future__ import annotations

import math
import time

from msuite.core.errors import InputError, MSuiteError
from msuite.drivers.autosampler_types import (
    AutosamplerIdentity,
    AutosamplerState,
    AutosamplerStatus,
    InjectionRecord,
    InjectionTicket,
    PositionCheck,
    Setting,
    TrayInfo,
    TrayInventory,
    TrayTemperature,
    field_float,
    field_int,
    field_text,
    labware_or_none,
)
from msuite.drivers.errors import InstrumentError, InstrumentTimeoutError, ProtocolError
from msuite.drivers.protocol.autosampler_frames import (
    DRAW_SPEED_RANGE_UL_S,
    ETX,
    NO_SEQ,
    STX,
    TEMPERATURE_RANGE_C,
    VOLUME_MIN_UL,
    WASH_CYCLES_RANGE,
    WASH_SOLVENTS,
    AutosamplerErrorCode,
    ReplyKind,
    checksum,
    encode_frame,
    next_seq,
    parse_body,
    parse_fields,
)
from msuite.drivers.protocol.plates import (
    LabwareFormat,
    Position,
    format_by_code,
    parse_position,
    parse_tray,
)
from msuite.drivers.serial_device import SerialDevice
from msuite.drivers.serial_transport import SerialTransport

__all__ = ["Autosampler"]

_BUSY_BACKOFF_S = (0.02, 0.5)
_REPLY_VERBS = {"ACK", "BUSY", "ERROR"}
_BARCODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def _check_range(name: str, value: float, lo: float, hi: float, unit: str) -> float:
    value = float(value)
    if not (math.isfinite(value) and lo <= value <= hi):
        raise InputError("out of range", field=name, value=value, allowed=f"{lo:g}..{hi:g} {unit}")
    return value


class Autosampler(SerialDevice):
    """An autosampler on a serial line.

    Parameters
    ----------
    port
        Device path or pyserial URL (``/dev/ttyUSB0``, ``/dev/pts/4``, ``socket://127.0.0.1:5102``).
    name
        Device name used in errors.
    baudrate
        Line speed.
    timeout_s
        Time allowed for each reply.
    retries
        Resends after a timeout or a lost line (each reopens the port first).
    busy_timeout_s
        How long a ``BUSY`` device is asked again before giving up.
    max_resends
        Resends after ``NAK`` or a corrupted reply before :class:`ProtocolError`.
    """

    def __init__(
        self,
        port: str,
        *,
        name: str = "autosampler",
        baudrate: int = 9600,
        timeout_s: float = 2.0,
        retries: int = 2,
        busy_timeout_s: float = 30.0,
        max_resends: int = 3,
    ) -> None:
        super().__init__(port, name=name, baudrate=baudrate, timeout_s=timeout_s, retries=retries)
        self.busy_timeout_s = busy_timeout_s
        self.max_resends = max_resends
        self.identity: AutosamplerIdentity | None = None
        #: Frames sent again after a NAK or a corrupted reply (a health counter).
        self.resends = 0
        self._seq = 0
        self._last_ticket: InjectionTicket | None = None

    def connect(self) -> Autosampler:
        """Open the port and identify the device."""
        self.open()
        self.identify()
        return self

    def __enter__(self) -> Autosampler:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ exchange
    def _read_reply(
        self, transport: SerialTransport, request: bytes, seq: int, command: str
    ) -> tuple[ReplyKind, str] | None:
        """Read frames until the reply to ``seq``; None when the resends ran out."""
        bad = 0
        deadline = time.monotonic() + transport.timeout_s * (self.max_resends + 1)
        while True:
            if time.monotonic() > deadline:
                raise InstrumentTimeoutError(
                    "no reply with the request's sequence number in time",
                    field="command",
                    value=command,
                )
            raw = transport.read_until(ETX, command)
            received = transport.read_exact(2, command)
            start = raw.rfind(STX)
            reply = self._decode(raw[start + 1 :], received) if start >= 0 else None
            if reply is not None:
                verb, reply_seq, rest = reply
                if reply_seq != seq and not (verb == "NAK" and reply_seq == NO_SEQ):
                    continue  # stale (a late reply to an abandoned request) or unsolicited
                if verb in _REPLY_VERBS:
                    return ReplyKind(verb), rest
            bad += 1  # NAK, corrupted or unreadable reply: send the same frame again
            if bad > self.max_resends:
                return None
            self.resends += 1
            transport.write(request, command)

    @staticmethod
    def _decode(body: bytes, received: bytes) -> tuple[str, int, str] | None:
        """Verb, sequence number and data of a reply body; None when it is not valid."""
        if received != checksum(body):
            return None
        try:
            frame = parse_body(body)
        except ProtocolError:
            return None
        return frame.verb, frame.seq, frame.rest

    def _transact(self, verb: str, args: tuple[str, ...]) -> tuple[ReplyKind, str]:
        command = " ".join((verb, *args))
        with self._lock:
            self._seq = next_seq(self._seq)
            seq = self._seq
            request = encode_frame(seq, verb, *args)
            outcome = self._exchange(
                request,
                lambda t: self._read_reply(t, request, seq, command),
                what=command,
                idempotent=True,  # a resent frame is recognised by its sequence number
            )
        if outcome is None:
            raise ProtocolError(
                f"{self.name}: no valid reply after {self.max_resends} resends (NAK or bad "
                "checksum)",
                field="command",
                value=command,
            )
        return outcome

    def command(self, verb: str, *args: object) -> dict[str, str]:
        """Send one command and return its ACK data (``KEY=VALUE`` fields, ``MSG`` text).

        Waits out ``BUSY`` replies (backing off up to ``busy_timeout_s``).

        Raises
        ------
        InstrumentError
            On an ``ERROR`` reply.
        InstrumentTimeoutError
            When the device stays busy, or does not answer within the retries.
        ProtocolError
            When every resend was NAKed or answered with a corrupted frame.
        """
        texts = tuple(str(a) for a in args)
        command = " ".join((verb, *texts))
        deadline = time.monotonic() + self.busy_timeout_s
        delay = _BUSY_BACKOFF_S[0]
        while True:
            kind, text = self._transact(verb, texts)
            if kind is ReplyKind.ACK:
                return parse_fields(text)
            if kind is ReplyKind.ERROR:
                code, _, message = text.partition(" ")
                try:
                    number = int(code)
                except ValueError:
                    raise ProtocolError("ERROR reply without a code", value=text) from None
                raise InstrumentError(self.name, command, number, message)
            if time.monotonic() + delay > deadline:
                raise InstrumentTimeoutError(
                    f"{self.name} still busy ({text}) after {self.busy_timeout_s:g} s",
                    field="command",
                    value=command,
                )
            time.sleep(delay)  # BUSY: the lock is free meanwhile, so others can poll STATUS
            delay = min(delay * 2, _BUSY_BACKOFF_S[1])

    # ---------------------------------------------------------- validation
    def _position(self, position: str | Position) -> Position:
        max_trays = self.identity.trays if self.identity else 99
        return parse_position(position, max_trays=max_trays)

    def _tray(self, tray: int | str) -> int:
        return parse_tray(tray, self.identity.trays if self.identity else 99)

    def _volume(self, volume_ul: float) -> float:
        hi = self.identity.loop_ul if self.identity else math.inf
        return _check_range("volume_ul", volume_ul, VOLUME_MIN_UL, hi, "µL")

    # ------------------------------------------------------------ commands
    def identify(self) -> AutosamplerIdentity:
        """Read maker, model, serial number, firmware, loop volume and tray count."""
        self.identity = AutosamplerIdentity.from_fields(self.command("ID"))
        return self.identity

    def status(self) -> AutosamplerStatus:
        """Read the state, injection counters, last injection, door and fault."""
        return AutosamplerStatus.from_fields(self.command("STATUS"))

    def trays(self) -> dict[int, LabwareFormat | None]:
        """Labware format in each tray (None: empty tray)."""
        f = self.command("TRAYS?")
        count = field_int(f, "COUNT", "TRAYS?")
        return {t: labware_or_none(field_text(f, str(t), "TRAYS?")) for t in range(1, count + 1)}

    def tray_info(self, tray: int) -> TrayInfo:
        """Labware type (the plate type query), barcode and number of filled sites of a tray."""
        return TrayInfo.from_fields(self.command("TRAY?", self._tray(tray)), "TRAY?")

    def load_labware(
        self, tray: int, labware: str | LabwareFormat, barcode: str | None = None
    ) -> TrayInfo:
        """Load a plate or vial rack into an empty tray (the device is BUSY while it moves)."""
        fmt = labware if isinstance(labware, LabwareFormat) else format_by_code(labware)
        args: list[object] = [self._tray(tray), fmt.code]
        if barcode is not None:
            if not barcode or not set(barcode) <= _BARCODE_CHARS:
                raise InputError(
                    "bad barcode", field="barcode", value=barcode, allowed="A-Z a-z 0-9 - _ ."
                )
            args.append(barcode)
        return TrayInfo.from_fields(self.command("LOAD", *args), "LOAD")

    def unload_labware(self, tray: int) -> str | None:
        """Move a tray's labware out; return its barcode (None if it had none)."""
        barcode = field_text(self.command("UNLOAD", self._tray(tray)), "BARCODE", "UNLOAD")
        return None if barcode == "-" else barcode

    def read_barcode(self, target: int | str | Position) -> str:
        """Read the barcode of a tray's plate/rack (``1``) or of one vial (``3:5``)."""
        if isinstance(target, int) or (isinstance(target, str) and ":" not in target):
            arg = str(self._tray(target))
        else:
            arg = str(self._position(target))
        return field_text(self.command("BARCODE?", arg), "BARCODE", "BARCODE?")

    def check_position(self, position: str | Position) -> PositionCheck:
        """Whether a well or vial holds sample, and its volume (µL)."""
        f = self.command("CHECK?", self._position(position))
        return PositionCheck(
            parse_position(field_text(f, "POS", "CHECK?")),
            field_text(f, "PRESENT", "CHECK?") == "1",
            field_float(f, "VOLUME", "CHECK?"),
        )

    def _setting(self, f: dict[str, str], key: str, command: str) -> Setting:
        return Setting(
            field_float(f, key, command),
            field_float(f, "MIN", command),
            field_float(f, "MAX", command),
        )

    def set_injection_volume(self, volume_ul: float) -> Setting:
        """Set the default injection volume (µL; 0.1 up to the loop volume)."""
        return self._setting(
            self.command("VOLUME", f"{self._volume(volume_ul):g}"), "VOLUME", "VOLUME"
        )

    def injection_volume(self) -> Setting:
        """Default injection volume and its range (µL)."""
        return self._setting(self.command("VOLUME?"), "VOLUME", "VOLUME?")

    def set_draw_speed(self, ul_per_s: float) -> Setting:
        """Set the sample draw speed (µL/s)."""
        value = _check_range("draw_speed_ul_s", ul_per_s, *DRAW_SPEED_RANGE_UL_S, "µL/s")
        return self._setting(self.command("SPEED", f"{value:g}"), "SPEED", "SPEED")

    def draw_speed(self) -> Setting:
        """Draw speed and its range (µL/s)."""
        return self._setting(self.command("SPEED?"), "SPEED", "SPEED?")

    def set_tray_temperature(self, celsius: float) -> TrayTemperature:
        """Set the tray temperature setpoint (°C)."""
        value = _check_range("temperature_c", celsius, *TEMPERATURE_RANGE_C, "°C")
        f = self.command("TEMP", f"{value:g}")
        return TrayTemperature(field_float(f, "SET", "TEMP"), field_float(f, "ACT", "TEMP"))

    def tray_temperature(self) -> TrayTemperature:
        """Tray temperature setpoint and readback (°C)."""
        f = self.command("TEMP?")
        return TrayTemperature(field_float(f, "SET", "TEMP?"), field_float(f, "ACT", "TEMP?"))

    def wash_needle(self, solvent: str = "WEAK", cycles: int = 1) -> float:
        """Start a needle wash; return the simulated/device time when it ends (s)."""
        if solvent.upper() not in WASH_SOLVENTS:
            raise InputError(
                "unknown wash solvent", field="solvent", value=solvent, allowed=WASH_SOLVENTS
            )
        lo, hi = WASH_CYCLES_RANGE
        if not isinstance(cycles, int) or not lo <= cycles <= hi:
            raise InputError("bad cycle count", field="cycles", value=cycles, allowed=f"{lo}..{hi}")
        return field_float(self.command("WASH", solvent.upper(), cycles), "UNTIL", "WASH")

    def inject(self, position: str | Position, volume_ul: float | None = None) -> InjectionTicket:
        """Start an injection from ``position`` (default volume when ``volume_ul`` is None).

        Returns once the device accepted it (it then stays INJECTING while it draws, switches
        the valve (the contact closure starting the gradient and the MS) and flushes the loop);
        use :meth:`wait_injection_done` for the injection-done signal.
        """
        args: list[object] = [self._position(position)]
        if volume_ul is not None:
            args.append(f"{self._volume(volume_ul):g}")
        f = self.command("INJECT", *args)
        ticket = InjectionTicket(
            field_int(f, "INJ", "INJECT"),
            parse_position(field_text(f, "POS", "INJECT")),
            field_float(f, "VOLUME", "INJECT"),
            field_float(f, "AT", "INJECT"),
        )
        self._last_ticket = ticket
        return ticket

    def wait_injection_done(
        self, timeout_s: float = 120.0, ticket: InjectionTicket | None = None, poll_s: float = 0.05
    ) -> InjectionRecord:
        """Wait for the injection-done signal of ``ticket`` (default: the last :meth:`inject`).

        Raises
        ------
        InstrumentError
            When the injection was aborted (code 40) or a fault stopped it (the fault's code).
        InstrumentTimeoutError
            When it is not done within ``timeout_s``.
        """
        ticket = ticket or self._last_ticket
        if ticket is None:
            raise MSuiteError("no injection to wait for", field="ticket")
        deadline = time.monotonic() + timeout_s
        while True:
            st = self.status()
            if st.injections_done >= ticket.number:
                last = st.last_injection
                if last is not None and last.number == ticket.number:
                    return last
                return InjectionRecord(
                    ticket.number, ticket.position, ticket.volume_ul, ticket.inject_at_s
                )
            if st.state is not AutosamplerState.INJECTING or st.injections_started > ticket.number:
                if st.fault_code:
                    raise InstrumentError(self.name, "INJECT", st.fault_code, st.fault_text)
                raise InstrumentError(
                    self.name,
                    "INJECT",
                    AutosamplerErrorCode.ABORTED,
                    f"injection {ticket.number} at {ticket.position} did not complete "
                    f"(state {st.state.value})",
                )
            if time.monotonic() >= deadline:
                raise InstrumentTimeoutError(
                    f"injection {ticket.number} not done within {timeout_s:g} s",
                    field="command",
                    value="INJECT",
                )
            time.sleep(poll_s)

    def wait_idle(self, timeout_s: float = 60.0, poll_s: float = 0.05) -> AutosamplerStatus:
        """Wait until the device is IDLE (after a wash or a labware move)."""
        deadline = time.monotonic() + timeout_s
        while True:
            st = self.status()
            if st.state is AutosamplerState.IDLE:
                return st
            if st.state in (AutosamplerState.FAULT, AutosamplerState.DOOR_OPEN):
                code = st.fault_code or AutosamplerErrorCode.DOOR_OPEN
                raise InstrumentError(self.name, "STATUS", code, st.fault_text or st.state.value)
            if time.monotonic() >= deadline:
                raise InstrumentTimeoutError(
                    f"not idle within {timeout_s:g} s (state {st.state.value})",
                    field="command",
                    value="STATUS",
                )
            time.sleep(poll_s)

    def abort(self) -> str:
        """Stop the running operation; return what was stopped (``INJECT``, ``WASH``, ``NONE``)."""
        return field_text(self.command("ABORT"), "ABORTED", "ABORT")

    def clear_fault(self) -> AutosamplerState:
        """Clear a latched fault (refused while the door is open)."""
        return AutosamplerState(field_text(self.command("CLEAR"), "STATE", "CLEAR"))

    def inventory(self, tray: int) -> TrayInventory:
        """Remaining volume (µL) of every filled well or vial of a tray."""
        f = self.command("INVENTORY?", self._tray(tray))
        labware = format_by_code(field_text(f, "TYPE", "INVENTORY?"))
        volumes = {k: float(v) for k, v in f.items() if k not in ("TRAY", "TYPE")}
        return TrayInventory(field_int(f, "TRAY", "INVENTORY?"), labware, volumes)
