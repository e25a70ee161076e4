"""The LC pump's wire protocol served over TCP (loopback by default) and pseudo-terminals.

:func:`execute_line` turns one request line into one reply line against a
:class:`~msuite.hardware_sim.lc_pump_sim.SimulatedLCPump`; :func:`serve_pump_session` frames
lines (CR LF), applies the transport faults (dropped requests, garbled replies) and ticks the
pump while the line is quiet so run events reach listeners on time.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from msuite import __version__
from msuite.drivers.lc_pump_gradient import Gradient
from msuite.drivers.protocol.lc_pump_codes import (
    COLUMN_DP_UM_RANGE,
    COLUMN_ID_MM_RANGE,
    COLUMN_LENGTH_MM_RANGE,
    EQUIL_CV_RANGE,
    FLOW_RANGE_UL_MIN,
    PRESSURE_LIMIT_RANGE_BAR,
    PURGE_S_RANGE,
    TERMINATOR,
    PumpErrorCode,
    PumpState,
    format_gradient,
    format_number,
    gradient_row_problem,
    gradient_table_problem,
    parse_number,
    parse_numbers,
)
from msuite.hardware_sim.lc_pump_physics import ColumnSpec
from msuite.hardware_sim.lc_pump_sim import (
    TRACE_INTERVAL_S,
    PumpCommandRefusedError,
    SimulatedLCPump,
)
from msuite.hardware_sim.stream_server import PtyStreamServer, TcpStreamServer, incoming

__all__ = ["GARBLED_REPLY", "LCPumpServer", "PtyLCPumpServer", "execute_line", "serve_pump_session"]

#: What a garbled reply looks like on the line (not ASCII, so never mistaken for a reply).
GARBLED_REPLY = b"\x15\xfe\xa7FL\x93W\xc0#?\x81" + TERMINATOR
MAX_LINE = 4096

Refused = PumpCommandRefusedError


def _number(text: str, bounds: tuple[float, float] | None = None) -> float:
    try:
        value = parse_number(text)
    except ValueError:
        raise Refused(PumpErrorCode.BAD_VALUE, text) from None
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise Refused(PumpErrorCode.OUT_OF_RANGE, text)
    return value


def _numbers(text: str, count: int) -> list[float]:
    try:
        return parse_numbers(text, count)
    except ValueError:
        raise Refused(PumpErrorCode.BAD_VALUE, text) from None


def _refuse_while(pump: SimulatedLCPump, *, busy: bool = True, moving: bool = True) -> None:
    if busy and pump.state is PumpState.PURGING:
        raise Refused(PumpErrorCode.BUSY, "purging")
    if moving and pump.state in (PumpState.ARMED, PumpState.RUNNING):
        raise Refused(PumpErrorCode.NOT_ALLOWED, pump.state.value)


# ----------------------------------------------------------------------------- queries
def _status(pump: SimulatedLCPump) -> str:
    flow, b = pump.programmed()
    return ",".join(
        [
            pump.state.value,
            format_number(flow),
            format_number(b, 2),
            format_number(pump.read_pressure(), 1),
            format_number(pump.run_time_s() / 60.0),
            str(pump.fault_code),
        ]
    )


def _column(pump: SimulatedLCPump) -> str:
    c = pump.hydraulics.column
    values = (c.length_mm, c.inner_diameter_mm, c.particle_um, c.volume_ul)
    return ",".join(format_number(v, 2) for v in values)


def _trace(pump: SimulatedLCPump) -> str:
    samples = list(pump.trace)
    t0 = samples[0][0] if samples else 0.0
    head = [format_number(t0, 1), format_number(TRACE_INTERVAL_S)]
    return ",".join(head + [format_number(p, 1) for _, p in samples])


QUERIES: dict[str, Callable[[SimulatedLCPump], str]] = {
    "ID": lambda p: f"MSUITE,{p.model},{p.serial},{__version__}",
    "FLOW": lambda p: format_number(p.programmed()[0]),
    "COMP": lambda p: format_number(p.programmed()[1], 2),
    "PRES": lambda p: format_number(p.read_pressure(), 1),
    "PLIM": lambda p: ",".join(format_number(v, 1) for v in p.pressure_limits),
    "GRAD": lambda p: format_gradient(p.gradient.rows() if p.gradient else []),
    "STATE": lambda p: p.state.value,
    "RUNTIME": lambda p: format_number(p.run_time_s() / 60.0),
    "EQUIL": lambda p: (
        f"{format_number(min(p.equil_done_cv, p.equil_target_cv), 2)},"
        f"{format_number(p.equil_target_cv, 2)}"
    ),
    "COLUMN": _column,
    "PTRACE": _trace,
    "FAULT": lambda p: str(p.fault_code),
    "STATUS": _status,
}


# ---------------------------------------------------------------------------- settings
def _set_flow(pump: SimulatedLCPump, arg: str) -> None:
    value = _number(arg, FLOW_RANGE_UL_MIN)
    _refuse_while(pump)
    pump.flow_setpoint = value
    pump.conditions_changed()


def _set_comp(pump: SimulatedLCPump, arg: str) -> None:
    value = _number(arg, (0.0, 100.0))
    _refuse_while(pump)
    pump.percent_b_setpoint = value
    pump.conditions_changed()


def _set_plim(pump: SimulatedLCPump, arg: str) -> None:
    low, high = _numbers(arg, 2)
    lo, hi = PRESSURE_LIMIT_RANGE_BAR
    if not (lo <= low < high <= hi):
        raise Refused(PumpErrorCode.OUT_OF_RANGE, arg)
    pump.pressure_limits = (low, high)


def _set_column(pump: SimulatedLCPump, arg: str) -> None:
    length, diameter, particle = _numbers(arg, 3)
    for value, bounds in (
        (length, COLUMN_LENGTH_MM_RANGE),
        (diameter, COLUMN_ID_MM_RANGE),
        (particle, COLUMN_DP_UM_RANGE),
    ):
        if not bounds[0] <= value <= bounds[1]:
            raise Refused(PumpErrorCode.OUT_OF_RANGE, arg)
    if pump.state not in (PumpState.IDLE, PumpState.FAULT):
        _refuse_while(pump)
        raise Refused(PumpErrorCode.NOT_ALLOWED, "stop the pump to change the column")
    pump.hydraulics.column = ColumnSpec(length, diameter, particle)


def _gradient(pump: SimulatedLCPump, arg: str) -> None:
    _refuse_while(pump)
    if arg == "CLEAR":
        pump.gradient_edit = []
        pump.load_gradient(None)
        return
    if arg.startswith("ROW:"):
        edit = pump.gradient_edit
        if edit is None:
            raise Refused(PumpErrorCode.GRADIENT_INVALID, "no upload open (send GRAD:CLEAR)")
        t, b, f = _numbers(arg[4:], 3)
        previous = edit[-1][0] if edit else None
        problem = gradient_row_problem(len(edit), t, b, f, previous)
        if problem is not None:
            pump.gradient_edit = None  # a refused row invalidates the whole upload
            raise Refused(problem.code, problem.message)
        edit.append((t, b, f))
        return
    if arg == "END":
        edit, pump.gradient_edit = pump.gradient_edit, None
        if edit is None:
            raise Refused(PumpErrorCode.GRADIENT_INVALID, "no upload open (send GRAD:CLEAR)")
        problem = gradient_table_problem(len(edit))
        if problem is not None:
            raise Refused(problem.code, problem.message)
        pump.load_gradient(Gradient.from_rows(edit))
        return
    raise Refused(PumpErrorCode.UNKNOWN_COMMAND, f"GRAD:{arg}")


# ------------------------------------------------------------------------- run control
_BUSY_FOR_MOTION = (PumpState.PURGING, PumpState.EQUILIBRATING)


def _require_motion_allowed(
    pump: SimulatedLCPump, busy_states: tuple[PumpState, ...] = _BUSY_FOR_MOTION
) -> None:
    """Refuse with the active fault's code in FAULT, BUSY in ``busy_states``."""
    if pump.state is PumpState.FAULT:
        raise Refused(pump.fault_code, "clear the fault first")
    if pump.state in busy_states:
        raise Refused(PumpErrorCode.BUSY, pump.state.value)


def _start(pump: SimulatedLCPump) -> None:
    """``RUN:START``: run the gradient now (from IDLE, READY or ARMED)."""
    _require_motion_allowed(pump)
    if pump.state is PumpState.RUNNING:
        raise Refused(PumpErrorCode.NOT_ALLOWED, "already running")
    if pump.gradient is None:
        raise Refused(PumpErrorCode.NO_GRADIENT)
    pump.start_run(pump.now_s)


def _arm(pump: SimulatedLCPump) -> None:
    """``RUN:ARM``: wait in ARMED for the contact closure (only from READY)."""
    _require_motion_allowed(pump)
    if pump.gradient is None:
        raise Refused(PumpErrorCode.NO_GRADIENT)
    if pump.state not in (PumpState.READY, PumpState.ARMED):
        raise Refused(PumpErrorCode.NOT_ALLOWED, "equilibrate first")
    pump.set_state(PumpState.ARMED)


def _stop(pump: SimulatedLCPump) -> None:
    """``RUN:STOP``: stop the pump (any state; FAULT stays FAULT)."""
    if pump.state is PumpState.FAULT:
        return
    if pump.state is PumpState.RUNNING:
        pump.emit("finished", pump.now_s)
    pump.run_start_s = None
    pump.set_state(PumpState.IDLE)


def _purge(pump: SimulatedLCPump, arg: str) -> None:
    """``PURGE:<s>``: purge through the open purge valve (from IDLE or READY)."""
    seconds = _number(arg, PURGE_S_RANGE)
    _require_motion_allowed(pump)
    if pump.state not in (PumpState.IDLE, PumpState.READY):
        raise Refused(PumpErrorCode.NOT_ALLOWED, pump.state.value)
    pump.purge_end_s = pump.now_s + seconds
    pump.set_state(PumpState.PURGING)


def _equilibrate(pump: SimulatedLCPump, arg: str) -> None:
    """``EQUIL:<cv>``: equilibrate at the set point (from IDLE, READY, EQUILIBRATING)."""
    column_volumes = _number(arg, EQUIL_CV_RANGE)
    _require_motion_allowed(pump, (PumpState.PURGING,))
    if pump.state in (PumpState.ARMED, PumpState.RUNNING):
        raise Refused(PumpErrorCode.NOT_ALLOWED, pump.state.value)
    if pump.flow_setpoint <= 0:
        raise Refused(PumpErrorCode.NOT_ALLOWED, "flow set point is 0")
    pump.begin_equilibration(column_volumes)


def _run(pump: SimulatedLCPump, arg: str) -> None:
    actions = {"START": _start, "STOP": _stop, "ARM": _arm}
    action = actions.get(arg)
    if action is None:
        raise Refused(PumpErrorCode.UNKNOWN_COMMAND, f"RUN:{arg}")
    action(pump)


def _fault(pump: SimulatedLCPump, arg: str) -> None:
    """``FAULT:CLEAR``: leave FAULT for IDLE (refused while the leak sensor is wet)."""
    if arg != "CLEAR":
        raise Refused(PumpErrorCode.UNKNOWN_COMMAND, f"FAULT:{arg}")
    if pump.leak_detected and pump.faults.leak_fraction > 0:
        raise Refused(PumpErrorCode.LEAK, "leak sensor still wet")
    pump.pending_error = 0
    pump.fault_code = 0
    if pump.state is PumpState.FAULT:
        pump.set_state(PumpState.IDLE)


SETTINGS: dict[str, Callable[[SimulatedLCPump, str], None]] = {
    "FLOW": _set_flow,
    "COMP": _set_comp,
    "PLIM": _set_plim,
    "COLUMN": _set_column,
    "GRAD": _gradient,
    "RUN": _run,
    "PURGE": _purge,
    "EQUIL": _equilibrate,
    "FAULT": _fault,
}

#: Requests that answer even while a fault notification is pending.
FAULT_HANDLING = frozenset({"FAULT?", "FAULT:CLEAR"})


def _simulator_command(pump: SimulatedLCPump, arg: str) -> str:
    if arg == "CONTACT":
        pump.contact_closure()
        return "OK"
    if arg.startswith("FAULT:"):
        name, _, value = arg[6:].partition(",")
        pump.inject_or_refuse(name, _number(value) if value else None)
        return "OK"
    raise Refused(PumpErrorCode.UNKNOWN_COMMAND, f"SIM:{arg}")


def execute_line(pump: SimulatedLCPump, line: str) -> str:
    """Execute one request line (without terminator); return the reply line.

    ``SIM:`` commands (fault injection, contact closure) answer at once. Otherwise an injected
    error code, then a pending fault notification (the first request after a fault is
    answered with the fault's code), take precedence over the request itself.
    """
    request = line.strip().upper()
    try:
        if request.startswith("SIM:"):
            return _simulator_command(pump, request[4:])
        if request.startswith("SYNC:"):
            return request  # line resynchronisation: echoed at once, whatever the state
        with pump.lock:
            pump.catch_up()
            injected = pump.take_injected_error()
            if injected is not None:
                return f"ERROR:{injected}"
            if pump.pending_error and request not in FAULT_HANDLING:
                code, pump.pending_error = pump.pending_error, 0
                return f"ERROR:{code}"
            if request.endswith("?"):
                query = QUERIES.get(request[:-1])
                if query is None:
                    raise Refused(PumpErrorCode.UNKNOWN_COMMAND, request)
                return f"{request[:-1]}:{query(pump)}"
            key, sep, arg = request.partition(":")
            handler = SETTINGS.get(key)
            if handler is None or not sep:
                raise Refused(PumpErrorCode.UNKNOWN_COMMAND, request)
            handler(pump, arg)
            return "OK"
    except Refused as exc:
        return f"ERROR:{exc.code}"
    finally:
        pump.dispatch_events()


def serve_pump_session(
    pump: SimulatedLCPump,
    recv: Callable[[], bytes | None],
    send: Callable[[bytes], None],
    stop: threading.Event,
) -> None:
    """Run one client conversation until it closes, ``stop`` is set or a dropped-line fault.

    A dropped request ends the session without an answer: a TCP client sees the connection
    close, a serial (pty) client sees silence.
    """
    buf = bytearray()
    for data in incoming(recv, stop, idle=pump.tick):
        buf += data
        while (end := buf.find(b"\n")) >= 0:
            raw = bytes(buf[:end]).rstrip(b"\r")
            del buf[: end + 1]
            if not raw.strip():
                continue
            if pump.take_drop():
                return
            garble = pump.take_garble()  # decided first: a request arming it is not garbled
            stall = pump.take_stall()
            try:
                reply = execute_line(pump, raw.decode("ascii")).encode("ascii") + TERMINATOR
            except UnicodeDecodeError:
                reply = f"ERROR:{int(PumpErrorCode.UNKNOWN_COMMAND)}".encode() + TERMINATOR
            if garble:
                reply = GARBLED_REPLY
            if stall and stop.wait(stall):
                return
            send(reply)
        if len(buf) > MAX_LINE:
            buf.clear()
            send(f"ERROR:{int(PumpErrorCode.BAD_VALUE)}".encode() + TERMINATOR)


class LCPumpServer(TcpStreamServer):
    """TCP server for a simulated LC pump (pyserial URL in :attr:`resource`).

    Parameters
    ----------
    pump
        The pump to serve (shared by every client); a default one when None.
    host
        Address to bind: loopback unless told otherwise.
    port
        TCP port; 0 picks a free one.
    """

    def __init__(
        self, pump: SimulatedLCPump | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.pump = pump if pump is not None else SimulatedLCPump()
        super().__init__(functools.partial(serve_pump_session, self.pump), host, port, "lc-pump")

    @property
    def resource(self) -> str:
        """pyserial URL: ``socket://HOST:PORT``."""
        return self.url


class PtyLCPumpServer(PtyStreamServer):
    """The simulated LC pump on a pseudo-terminal (the serial variant); one client at a time."""

    def __init__(self, pump: SimulatedLCPump | None = None) -> None:
        self.pump = pump if pump is not None else SimulatedLCPump()
        super().__init__(functools.partial(serve_pump_session, self.pump), "lc-pump")

    @property
    def resource(self) -> str:
        """The serial device path (``/dev/pts/N``)."""
        return self.port_name
