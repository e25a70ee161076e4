"""Serving the simulated sample-prep robot over TCP (loopback by default) and pseudo-terminals.

Turns request lines (docs/protocol.md, section "Sample-prep robot") into calls on
:class:`SimulatedPrepRobot`
and its answers into reply lines; applies the transport faults (lost reply and dropped line,
wrong reply checksum, injected error code) and answers a repeated state-changing request
(same id and text) from memory instead of acting twice.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from msuite.core.errors import InputError
from msuite.drivers.protocol.prep_robot_codes import (
    ALL_WELLS,
    ERROR_TEXT,
    STEP_SPECS,
    TERMINATOR,
    ErrorCode,
    FrameChecksumError,
    StepName,
    WellState,
    encode_reply,
    format_fields,
    format_number,
    parse_fields,
    parse_request,
    parse_wells,
)
from msuite.hardware_sim.prep_robot_sim import RobotRejectedError, SimulatedPrepRobot, StepCall
from msuite.hardware_sim.stream_server import PtyStreamServer, TcpStreamServer, incoming

__all__ = ["PrepRobotServer", "PtyPrepRobotServer", "execute", "serve_session"]

MAX_LINE = 8192
FIRMWARE = "1.0"
_STEP_COMMANDS = {s.value for s in StepName}


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError("not a number", field=what, value=text) from None


def _arg(args: tuple[str, ...], i: int, what: str) -> str:
    if len(args) <= i:
        raise InputError("missing argument", field=what)
    return args[i]


def _step_from_args(robot: SimulatedPrepRobot, name: str, args: tuple[str, ...]) -> StepCall:
    """``<sel> KEY=value ...`` (selection optional, ALL) into a validated step."""
    selection = ALL_WELLS
    if args and "=" not in args[0]:
        selection, args = args[0], args[1:]
    return robot.make_step(name, selection, parse_fields(args, field=name))


def _queries(robot: SimulatedPrepRobot, cmd: str, args: tuple[str, ...]) -> str:
    r = robot
    if cmd == "IDN?":
        return f"MSUITE,{r.model},{r.serial},{FIRMWARE}"
    if cmd == "STAT?":
        return (
            f"STATE={r.state.value} DOOR={r.door.value} PLATE={r.plate_id or '-'} "
            f"FAULT={r.fault_code:02d} PAUSE={r.pause_reason} TIME={r.now():.1f}"
        )
    if cmd == "DOOR?":
        return r.door.value
    if cmd == "TIPS?":
        return f"LEFT={r.tips} CAPACITY={r.tip_capacity}"
    if cmd == "RSV?":
        return " ".join(
            f"{name}={format_number(v.level_ul)}/{format_number(v.capacity_ul)}"
            for name, v in sorted(r.reservoirs.items())
        )
    if cmd == "PLATE?":
        if r.plate_id is None:
            return "PLATE=-"
        counts = dict.fromkeys(WellState, 0)
        for status, _reason in r.wells.values():
            counts[status] += 1
        tail = " ".join(f"{s.value}={n}" for s, n in counts.items())
        return (
            f"PLATE={r.plate_id} TYPE={r.plate_type} SAMPLES={len(r.samples)} "
            f"RUN={r.last_run} {tail}"
        )
    if cmd == "WELL?":
        if r.plate_id is None:
            raise RobotRejectedError(ErrorCode.NO_PLATE)
        wells = parse_wells(args[0] if args else ALL_WELLS, r.plate_type)
        out = []
        for w in wells:
            status, reason = r.wells[w]
            out.append(f"{w}={status.value}:{reason}" if reason else f"{w}={status.value}")
        return " ".join(out)
    if cmd == "PROG?":
        return " ".join(f"{k}={v}" for k, v in r.progress().items())
    if cmd == "PROT?":
        if not args:
            return str(len(r.protocol))
        index = int(_number(args[0], "index"))
        if not 1 <= index <= len(r.protocol):
            raise RobotRejectedError(ErrorCode.BAD_PARAMETER, f"index 1..{len(r.protocol)}")
        step = r.protocol[index - 1]
        return f"{step.name.value} {step.selection} {format_fields(step.fields)}"
    raise RobotRejectedError(ErrorCode.SYNTAX, f"unknown command {cmd}")


def _sim_fault(robot: SimulatedPrepRobot, args: tuple[str, ...]) -> None:
    """``SIM FAULT <kind> [arg]``."""
    if len(args) < 2 or args[0].upper() != "FAULT":
        raise RobotRejectedError(ErrorCode.SYNTAX, "SIM FAULT <kind> [arg]")
    kind, rest = args[1].upper(), args[2:]
    count = int(_number(rest[0], kind)) if rest and kind in ("TIP", "DROP", "CKSUM") else 1
    if kind == "TIP":
        robot.fail_tip_pickup(count)
    elif kind == "TIPWELL":
        robot.fail_tip_pickup(0, tuple(parse_wells(_arg(rest, 0, "wells"), 384)))
    elif kind == "DOOR":
        state = _arg(rest, 0, "door").upper()
        if state not in ("OPEN", "CLOSE"):
            raise InputError("bad door action", field="door", value=state, allowed="OPEN, CLOSE")
        robot.door_open() if state == "OPEN" else robot.door_close()
    elif kind == "DROP":
        robot.drop_line(count)
    elif kind == "CKSUM":
        robot.corrupt_checksums(count)
    elif kind == "ERROR":
        robot.inject_error(int(_number(_arg(rest, 0, "code"), "code")))
    elif kind == "EMPTY":
        robot.empty_reservoir(_arg(rest, 0, "reservoir"))
    elif kind == "CLEAR":
        robot.clear_faults()
    else:
        raise InputError(
            "unknown fault",
            field="fault",
            value=kind,
            allowed="TIP TIPWELL DOOR DROP CKSUM ERROR EMPTY CLEAR",
        )


def _actions(robot: SimulatedPrepRobot, cmd: str, args: tuple[str, ...]) -> str:
    r = robot
    if cmd in _STEP_COMMANDS:
        r.start_step(_step_from_args(r, cmd, args))
    elif cmd == "LOAD":
        plate_type = int(_number(args[1], "plate_type")) if len(args) > 1 else 96
        r.load_plate(_arg(args, 0, "plate_id"), plate_type, args[2] if len(args) > 2 else ALL_WELLS)
    elif cmd == "UNLOAD":
        r.unload_plate()
    elif cmd == "RSV":
        level = _number(args[2], "level") if len(args) > 2 else None
        r.define_reservoir(
            _arg(args, 0, "reservoir"), _number(_arg(args, 1, "capacity"), "capacity"), level
        )
    elif cmd == "RFL":
        volume = _number(args[1], "volume") if len(args) > 1 else None
        return format_number(r.refill(_arg(args, 0, "reservoir"), volume))
    elif cmd == "TIPS":
        r.load_tips(int(_number(args[0], "tips")) if args else None)
    elif cmd == "PCLR":
        r.clear_protocol()
    elif cmd == "PADD":
        name = _arg(args, 0, "step").upper()
        if name not in _STEP_COMMANDS:
            raise InputError("unknown step", field="step", value=name, allowed=" ".join(STEP_SPECS))
        return str(r.add_protocol_step(_step_from_args(r, name, args[1:])))
    elif cmd == "RUN":
        r.run_protocol()
    elif cmd == "PAUSE":
        r.pause()
    elif cmd == "RESUME":
        r.resume()
    elif cmd == "ABORT":
        r.abort()
    elif cmd == "CLR":
        r.clear_fault()
    elif cmd == "SIM":
        _sim_fault(r, args)
    else:
        raise RobotRejectedError(ErrorCode.SYNTAX, f"unknown command {cmd}")
    return ""


def execute(robot: SimulatedPrepRobot, request_id: int, cmd: str, args: tuple[str, ...]) -> bytes:
    """Run one command and return its reply line."""
    try:
        handler = _queries if cmd.endswith("?") else _actions
        with robot.transaction():
            data = handler(robot, cmd, args)
        reply = encode_reply(request_id, True, data)
    except RobotRejectedError as exc:
        reply = encode_reply(request_id, False, code=exc.code, text=exc.text)
    except InputError as exc:
        code = ErrorCode.BAD_WELLS if exc.field == "wells" else ErrorCode.BAD_PARAMETER
        reply = encode_reply(request_id, False, code=code, text=str(exc))
    except Exception as exc:  # a simulator defect must not kill the line
        reply = encode_reply(
            request_id, False, code=ErrorCode.INTERNAL, text=f"Internal error: {exc}"
        )
    return reply


def _answer(robot: SimulatedPrepRobot, line: bytes) -> tuple[bytes, bool]:
    """The reply to one request line, and whether transport faults may apply to it."""
    try:
        req = parse_request(line)
    except ValueError as exc:
        head = line.split(b" ", 1)[0]
        rid = int(head) if head.isdigit() and len(head) <= 4 else 0
        code = ErrorCode.CHECKSUM if isinstance(exc, FrameChecksumError) else ErrorCode.SYNTAX
        return encode_reply(rid, False, code=code, text=f"{ERROR_TEXT[code]}: {exc}"), True
    if req.command == "SIM":
        return execute(robot, req.id, req.command, req.args), False
    injected = robot.take_injected_error()
    if injected is not None:
        return encode_reply(req.id, False, code=injected), True
    if req.command.endswith("?"):
        return execute(robot, req.id, req.command, req.args), True
    remembered = robot.remembered_reply(req.id, req.text)
    if remembered is not None:
        return remembered, True
    reply = execute(robot, req.id, req.command, req.args)
    robot.remember_reply(req.id, req.text, reply)
    return reply, True


def _corrupt(reply: bytes) -> bytes:
    body = reply[: -len(TERMINATOR)]
    last = body[-1:]
    wrong = b"0" if last != b"0" else b"1"
    return body[:-1] + wrong + TERMINATOR


def serve_session(
    robot: SimulatedPrepRobot,
    recv: Callable[[], bytes | None],
    send: Callable[[bytes], None],
    stop: threading.Event,
) -> None:
    """Run one client conversation until it closes, ``stop`` is set or a fault drops it."""
    buf = bytearray()
    for data in incoming(recv, stop):
        buf += data
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                if len(buf) > MAX_LINE:
                    buf.clear()
                    send(
                        encode_reply(
                            0, False, code=ErrorCode.SYNTAX, text="Syntax error: line too long"
                        )
                    )
                break
            line = bytes(buf[:nl]).rstrip(b"\r")
            del buf[: nl + 1]
            if not line.strip():
                continue
            reply, faults_apply = _answer(robot, line)
            fault = robot.take_transport_fault() if faults_apply else None
            if fault == "drop":
                return
            send(_corrupt(reply) if fault == "checksum" else reply)


class PrepRobotServer(TcpStreamServer):
    """TCP server for a simulated sample-prep robot (every client shares the robot).

    Parameters
    ----------
    robot
        The robot to serve (a new one at the default speed if not given).
    host
        Address to bind: loopback unless told otherwise.
    port
        TCP port; 0 picks a free one.
    """

    def __init__(
        self, robot: SimulatedPrepRobot | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.robot = robot = robot or SimulatedPrepRobot()
        super().__init__(functools.partial(serve_session, robot), host, port, "prep-sim")

    @property
    def resource(self) -> str:
        """pyserial URL of the server (``socket://127.0.0.1:PORT``)."""
        return self.url


class PtyPrepRobotServer(PtyStreamServer):
    """Serves the robot on a pseudo-terminal (the serial variant); one client at a time."""

    def __init__(self, robot: SimulatedPrepRobot | None = None) -> None:
        self.robot = robot = robot or SimulatedPrepRobot()
        super().__init__(functools.partial(serve_session, robot), "prep-sim")

    @property
    def resource(self) -> str:
        """The pty device path (``/dev/pts/N``) to open with pyserial."""
        return self.port_name
