"""Serving the simulated autosampler over TCP (loopback by default) and pseudo-terminals.

One session per client: frames are split from the byte stream, checked, answered ``NAK`` when
their checksum is wrong, and dispatched to the :class:`SimulatedAutosampler` under its lock.
A frame identical to the previous one of the session (same sequence number and body) is a
retransmission: its cached reply is sent again and the command does not run twice. Transport
faults (dropped line, corrupted reply checksums, NAKs) are taken from the instrument's
:class:`~msuite.hardware_sim.autosampler_sim.AutosamplerFaults`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from msuite.core.errors import InputError
from msuite.drivers.errors import ProtocolError
from msuite.drivers.protocol.autosampler_frames import (
    DRAW_SPEED_RANGE_UL_S,
    ETX,
    NO_SEQ,
    STX,
    VOLUME_MIN_UL,
    AutosamplerErrorCode,
    Frame,
    ReplyKind,
    checksum,
    format_fields,
    parse_body,
    split_frames,
)
from msuite.drivers.protocol.plates import sites
from msuite.hardware_sim.autosampler_sim import (
    DeviceBusy,
    OperationRefused,
    SimulatedAutosampler,
)
from msuite.hardware_sim.stream_server import PtyStreamServer, TcpStreamServer, incoming

__all__ = ["AutosamplerServer", "PtyAutosamplerServer", "dispatch", "serve_session"]

Code = AutosamplerErrorCode
S = SimulatedAutosampler
Fields = dict[str, object]
Reply = tuple[ReplyKind, str]


def _args(frame: Frame, least: int, most: int, usage: str) -> list[str]:
    if not least <= len(frame.args) <= most:
        raise OperationRefused(Code.BAD_ARGUMENT, f"Usage: {usage}")
    return frame.args


# ------------------------------------------------------------------ queries
def _identify(sim: S) -> Fields:
    return {
        "MAKER": "msuite",
        "MODEL": sim.model,
        "SERIAL": f"AS{sim.seed:06d}",
        "FW": sim.firmware,
        "LOOP": f"{sim.loop_ul:g}",
        "TRAYS": sim.trays,
    }


def _status(sim: S) -> Fields:
    last = sim.injections[-1] if sim.injections else None
    return {
        "STATE": sim.state,
        "INJ": sim.started,
        "DONE": sim.done,
        "LAST_N": last.number if last else 0,
        "LAST": last.position if last else "-",
        "LAST_UL": f"{last.volume_ul:g}" if last else "-",
        "LAST_T": f"{last.sim_time_s:.3f}" if last else "-",
        "DOOR": "OPEN" if sim.door_is_open else "CLOSED",
        "FAULT": sim.fault_code,
        "T": f"{sim.clock.now():.3f}",
    }


def _trays(sim: S) -> Fields:
    out: Fields = {"COUNT": sim.trays}
    for t in range(1, sim.trays + 1):
        lab = sim.deck.get(t)
        out[str(t)] = lab.fmt.code if lab else "NONE"
    return out


def _tray_info(sim: S, tray_text: str) -> Fields:
    tray = sim.resolve_tray(tray_text)
    lab = sim.deck.get(tray)
    if lab is None:
        return {"TRAY": tray, "TYPE": "NONE", "BARCODE": "-", "FILLED": 0}
    filled = sum(1 for v in lab.volumes.values() if v > 0)
    return {"TRAY": tray, "TYPE": lab.fmt.code, "BARCODE": lab.barcode or "-", "FILLED": filled}


def _barcode(sim: S, target: str) -> Fields:
    if ":" not in target:
        tray = sim.resolve_tray(target)
        code = sim.labware_in(tray).barcode
        where = str(tray)
    else:
        pos, lab = sim.resolve_position(target)
        if pos.site not in lab.volumes:
            raise OperationRefused(Code.VIAL_NOT_FOUND, f"No vial at {pos}")
        code = lab.vial_barcodes.get(pos.site)
        where = str(pos)
    if not code:
        raise OperationRefused(Code.NO_BARCODE, f"No barcode read at {where}")
    return {"AT": where, "BARCODE": code}


def _check(sim: S, position: str) -> Fields:
    pos, lab = sim.resolve_position(position)
    volume = lab.volumes.get(pos.site, 0.0)
    return {"POS": pos, "PRESENT": int(volume > 0), "VOLUME": f"{volume:g}"}


def _volume(sim: S) -> Fields:
    return {"VOLUME": f"{sim.volume_ul:g}", "MIN": f"{VOLUME_MIN_UL:g}", "MAX": f"{sim.loop_ul:g}"}


def _speed(sim: S) -> Fields:
    lo, hi = DRAW_SPEED_RANGE_UL_S
    return {"SPEED": f"{sim.draw_speed_ul_s:g}", "MIN": f"{lo:g}", "MAX": f"{hi:g}"}


def _temperature(sim: S) -> Fields:
    return {"SET": f"{sim.temp_setpoint_c:.1f}", "ACT": f"{sim.temp_actual_c:.2f}"}


def _inventory(sim: S, tray_text: str) -> Fields:
    tray = sim.resolve_tray(tray_text)
    lab = sim.labware_in(tray)
    out: Fields = {"TRAY": tray, "TYPE": lab.fmt.code}
    for site in sites(lab.fmt):
        if lab.volumes.get(site, 0.0) > 0:
            out[site] = f"{lab.volumes[site]:g}"
    return out


# ----------------------------------------------------------------- commands
def _fault_command(sim: S, frame: Frame) -> Fields:
    kind, *rest = _args(frame, 1, 2, "FAULT DROP|CHECKSUM|NAK [n] | ERROR code | VIAL pos | CLEAR")
    kind = kind.upper()
    arg = rest[0] if rest else None
    try:
        if kind == "CLEAR":
            sim.clear_faults()
        elif kind == "VIAL" and arg is not None:
            sim.remove_sample(arg)
        elif kind in ("DROP", "CHECKSUM", "NAK", "ERROR"):
            default = int(Code.HARDWARE) if kind == "ERROR" else 1
            n = int(arg) if arg is not None else default
            {
                "DROP": sim.drop_line,
                "CHECKSUM": sim.corrupt_checksums,
                "NAK": sim.nak_frames,
                "ERROR": sim.inject_error,
            }[kind](n)
        else:
            raise OperationRefused(Code.BAD_ARGUMENT, f"Unknown fault {kind}")
    except (ValueError, InputError) as exc:
        raise OperationRefused(Code.BAD_ARGUMENT, f"Bad fault argument {arg}") from exc
    return {"FAULT": kind}


def _door_command(sim: S, frame: Frame) -> Fields:
    (action,) = _args(frame, 1, 1, "DOOR OPEN|CLOSE")
    if action.upper() == "OPEN":
        sim.door_open()
    elif action.upper() == "CLOSE":
        sim.door_close()
    else:
        raise OperationRefused(Code.BAD_ARGUMENT, "Usage: DOOR OPEN|CLOSE")
    return {"DOOR": action.upper()}


def _optional(args: list[str], index: int) -> str | None:
    return args[index] if len(args) > index else None


Handler = Callable[[S, Frame], Fields]


def _plain(query: Callable[[S], Fields], usage: str) -> Handler:
    def run(sim: S, frame: Frame) -> Fields:
        _args(frame, 0, 0, usage)
        return query(sim)

    return run


_COMMANDS: dict[str, Handler] = {
    "ID": _plain(_identify, "ID"),
    "STATUS": _plain(_status, "STATUS"),
    "TRAYS?": _plain(_trays, "TRAYS?"),
    "TRAY?": lambda sim, f: _tray_info(sim, *_args(f, 1, 1, "TRAY? <tray>")),
    "LOAD": lambda sim, f: sim.load(
        *_args(f, 2, 3, "LOAD <tray> <P96|P384|V54> [<barcode>]")[:2], _optional(f.args, 2)
    ),
    "UNLOAD": lambda sim, f: sim.unload(*_args(f, 1, 1, "UNLOAD <tray>")),
    "BARCODE?": lambda sim, f: _barcode(sim, *_args(f, 1, 1, "BARCODE? <tray>|<tray>:<vial>")),
    "CHECK?": lambda sim, f: _check(sim, *_args(f, 1, 1, "CHECK? <position>")),
    "VOLUME": lambda sim, f: sim.set_volume(*_args(f, 1, 1, "VOLUME <uL>")) or _volume(sim),
    "VOLUME?": _plain(_volume, "VOLUME?"),
    "SPEED": lambda sim, f: sim.set_speed(*_args(f, 1, 1, "SPEED <uL/s>")) or _speed(sim),
    "SPEED?": _plain(_speed, "SPEED?"),
    "TEMP": lambda sim, f: sim.set_temperature(*_args(f, 1, 1, "TEMP <C>")) or _temperature(sim),
    "TEMP?": _plain(_temperature, "TEMP?"),
    "WASH": lambda sim, f: sim.wash(*_args(f, 2, 2, "WASH <WEAK|STRONG> <cycles>")),
    "INJECT": lambda sim, f: sim.inject(
        _args(f, 1, 2, "INJECT <position> [<uL>]")[0], _optional(f.args, 1)
    ),
    "ABORT": _plain(S.abort, "ABORT"),
    "CLEAR": _plain(S.clear_fault, "CLEAR"),
    "INVENTORY?": lambda sim, f: _inventory(sim, *_args(f, 1, 1, "INVENTORY? <tray>")),
    "DOOR": _door_command,
    "FAULT": _fault_command,
}
_ALIASES = {"ID?": "ID", "STATUS?": "STATUS"}


def dispatch(sim: SimulatedAutosampler, frame: Frame) -> Reply:
    """Run one request and return the reply kind and its text (after the sequence number)."""
    sim.catch_up()
    verb = _ALIASES.get(frame.verb, frame.verb)
    try:
        handler = _COMMANDS.get(verb)
        if handler is None:
            raise OperationRefused(Code.UNKNOWN_COMMAND, f"Unknown command {verb}")
        if verb in ("FAULT", "DOOR"):  # may call injection listeners: not under the lock
            return ReplyKind.ACK, format_fields(handler(sim, frame))
        with sim.lock:
            sim.take_error()
            data = handler(sim, frame)
            message = (sim.fault_text or None) if verb == "STATUS" else None
        return ReplyKind.ACK, format_fields(data, message)
    except DeviceBusy as busy:
        return ReplyKind.BUSY, busy.state
    except OperationRefused as refused:
        return ReplyKind.ERROR, f"{refused.code} {refused.text}"


def _frame(seq: int, kind: ReplyKind, text: str, corrupt: bool = False) -> bytes:
    body = f"{seq:02d} {kind.value} {text}".rstrip().encode("ascii", "replace")
    cs = checksum(body)
    if corrupt:
        cs = b"%02X" % ((int(cs, 16) + 0x5A) & 0xFF)
    return STX + body + ETX + cs


def _seq_of(body: bytes) -> int:
    head = body[:2]
    return int(head) if len(head) == 2 and head.isdigit() else NO_SEQ


def serve_session(
    sim: SimulatedAutosampler,
    recv: Callable[[], bytes | None],
    send: Callable[[bytes], None],
    stop: threading.Event,
) -> None:
    """Run one client session until the client leaves, ``stop`` is set or a fault drops it."""
    buffer = bytearray()
    last: tuple[bytes, Reply] | None = None  # body and reply of the previous request
    for data in incoming(recv, stop):
        buffer += data
        for body, checksum_ok in split_frames(buffer):
            with sim.lock:
                faults = sim.faults
                if faults.drop_frames > 0:
                    faults.drop_frames -= 1
                    return
                nak = not checksum_ok or faults.nak_frames > 0
                if checksum_ok and faults.nak_frames > 0:
                    faults.nak_frames -= 1
                corrupt = not nak and faults.corrupt_replies > 0
                if corrupt:
                    faults.corrupt_replies -= 1
            if nak:
                send(_frame(_seq_of(body), ReplyKind.NAK, ""))
                continue
            try:
                frame = parse_body(body)
            except ProtocolError:
                send(_frame(_seq_of(body), ReplyKind.ERROR, f"{int(Code.BAD_ARGUMENT)} Bad frame"))
                continue
            if last is not None and last[0] == body:
                reply = last[1]
            else:
                reply = dispatch(sim, frame)
                last = (body, reply) if reply[0] is not ReplyKind.BUSY else None
            send(_frame(frame.seq, reply[0], reply[1], corrupt))


class AutosamplerServer(TcpStreamServer):
    """TCP server for a simulated autosampler (several clients share one instrument).

    Parameters
    ----------
    instrument
        The autosampler to serve (a seeded default one when not given).
    host
        Address to bind: loopback unless told otherwise.
    port
        TCP port; 0 picks a free one.
    """

    def __init__(
        self,
        instrument: SimulatedAutosampler | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.instrument = instrument or SimulatedAutosampler()
        super().__init__(functools.partial(serve_session, self.instrument), host, port, "as-sim")

    @property
    def resource(self) -> str:
        """pyserial URL of the server (``socket://127.0.0.1:PORT``)."""
        return self.url

    def stop(self) -> None:
        """Stop serving and cancel the instrument's pending timer."""
        super().stop()
        self.instrument.close()


class PtyAutosamplerServer(PtyStreamServer):
    """The simulated autosampler on a pseudo-terminal (the serial variant); one client at a time."""

    def __init__(self, instrument: SimulatedAutosampler | None = None) -> None:
        self.instrument = instrument or SimulatedAutosampler()
        super().__init__(functools.partial(serve_session, self.instrument), "as-sim")

    @property
    def resource(self) -> str:
        """The pty device path (``/dev/pts/N``), openable with pyserial."""
        return self.port_name

    def stop(self) -> None:
        """Stop serving and cancel the instrument's pending timer."""
        super().stop()
        self.instrument.close()
