"""Driver for binary LC pumps that speak the msuite LC pump protocol.

The contract is docs/protocol.md, section "LC pump".

:class:`LCPump` works over any pyserial URL (``/dev/ttyUSB0``, ``/dev/pts/7``,
``socket://127.0.0.1:5101``). Every exchange runs under the device's lock, so the GUI's
workers and the run executor may share one pump. Queries and settings that are safe to repeat
are retried after a timeout, a lost line or a garbled reply (each retry reopens the port);
actions (start, arm, purge, equilibrate) are not, and raise the transport error instead.
``ERROR:<n>`` replies raise :class:`~msuite.drivers.errors.InstrumentError` with the code.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from msuite.core.errors import InputError
from msuite.drivers.errors import (
    InstrumentError,
    InstrumentTimeoutError,
    ProtocolError,
    TransportError,
)
from msuite.drivers.lc_pump_gradient import Gradient, GradientStep, read_gradient_csv
from msuite.drivers.protocol.lc_pump_codes import (
    COLUMN_DP_UM_RANGE,
    COLUMN_ID_MM_RANGE,
    COLUMN_LENGTH_MM_RANGE,
    EQUIL_CV_RANGE,
    FLOW_RANGE_UL_MIN,
    PRESSURE_LIMIT_RANGE_BAR,
    PUMP_ERROR_TEXT,
    PURGE_S_RANGE,
    TERMINATOR,
    PumpState,
    format_number,
    parse_gradient,
    parse_number,
    parse_numbers,
)
from msuite.drivers.serial_device import SerialDevice
from msuite.drivers.serial_transport import SerialTransport

__all__ = [
    "ColumnInfo",
    "Gradient",
    "GradientStep",
    "LCPump",
    "PressureTrace",
    "PumpIdentity",
    "PumpState",
    "PumpStatus",
    "read_gradient_csv",
]

_SYNC_TOKENS = itertools.count(1)


@dataclass(frozen=True, slots=True)
class PumpIdentity:
    """The ``ID?`` reply."""

    manufacturer: str
    model: str
    serial: str
    firmware: str


@dataclass(frozen=True, slots=True)
class PumpStatus:
    """One consistent set of readbacks (``STATUS?``)."""

    state: PumpState
    flow_ul_min: float
    percent_b: float
    pressure_bar: float
    runtime_min: float
    fault_code: int


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """The column the pump is configured for (``COLUMN?``)."""

    length_mm: float
    inner_diameter_mm: float
    particle_um: float
    volume_ul: float


@dataclass(frozen=True, slots=True)
class PressureTrace:
    """Recent pressure samples (``PTRACE?``): evenly spaced from ``start_s`` (pump time)."""

    start_s: float
    interval_s: float
    pressures_bar: np.ndarray

    @property
    def times_s(self) -> np.ndarray:
        """Pump time of each sample (s)."""
        return self.start_s + self.interval_s * np.arange(self.pressures_bar.size)


def _check_range(field: str, value: float, bounds: tuple[float, float], unit: str) -> float:
    value = float(value)
    if not bounds[0] <= value <= bounds[1]:
        raise InputError(
            f"{field} out of range",
            field=field,
            value=value,
            allowed=f"{format_number(bounds[0])}-{format_number(bounds[1])} {unit}",
        )
    return value


class LCPump(SerialDevice):
    """A binary LC pump on a serial line.

    Parameters
    ----------
    port
        Device path or pyserial URL.
    name
        Device name used in errors.
    baudrate
        Line speed (ignored by ptys and sockets).
    timeout_s
        Time allowed for each reply.
    retries
        Retries of a repeatable request after a timeout, lost line or garbled reply.
    """

    def __init__(
        self,
        port: str,
        *,
        name: str = "lc-pump",
        baudrate: int = 9600,
        timeout_s: float = 2.0,
        retries: int = 2,
    ) -> None:
        super().__init__(port, name=name, baudrate=baudrate, timeout_s=timeout_s, retries=retries)

    def __enter__(self) -> LCPump:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the exchange
    def _reconnect(self) -> None:
        super()._reconnect()
        self._resync()

    def _resync(self) -> None:
        """Discard late replies until a fresh ``SYNC:<token>`` comes back (after a reopen).

        A serial line keeps a reply that arrives after the driver gave up; without this it
        would be read as the answer to the next request. Raises InstrumentTimeoutError when
        the token does not come back within the timeout.
        """
        line = f"SYNC:S{os.getpid():X}T{next(_SYNC_TOKENS):X}"
        expected = line.encode("ascii")
        self.transport.write(expected + TERMINATOR, line)
        deadline = time.monotonic() + self.transport.timeout_s
        while True:
            if self.transport.read_until(TERMINATOR, line) == expected:
                return
            if time.monotonic() > deadline:
                raise InstrumentTimeoutError(
                    "line did not resynchronise", field="command", value=line
                )

    def _read_reply(
        self, transport: SerialTransport, request: str, expect: str | None = None
    ) -> str:
        """Read one reply line; ``expect`` is the ``KEY:`` prefix of a query or ``OK``.

        A reply that is not ASCII or not the expected one raises ProtocolError (a
        TransportError, so repeatable requests are retried after resynchronising).
        """
        raw = transport.read_until(TERMINATOR, request)
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise ProtocolError(
                "reply is not ASCII", field="reply", value=raw, command=request
            ) from None
        if text.startswith("ERROR:"):
            try:
                code = int(text[6:])
            except ValueError:
                raise ProtocolError(
                    "malformed error reply", field="reply", value=text, command=request
                ) from None
            raise InstrumentError(
                self.name, request, code, PUMP_ERROR_TEXT.get(code, "Unknown error")
            )
        if expect == "OK" and text != "OK":
            raise ProtocolError("expected OK", field="reply", value=text, command=request)
        if expect is not None and expect != "OK" and not text.startswith(expect):
            raise ProtocolError(
                f"reply does not answer {request}", field="reply", value=text, command=request
            )
        return text

    def request(self, line: str, *, idempotent: bool = False, expect: str | None = None) -> str:
        """Send one request line and return the reply line (``ERROR:<n>`` raises).

        The typed methods below are the normal way in; this one serves diagnostics and
        simulator commands (``SIM:...``).
        """
        if not line.isascii() or "\n" in line or "\r" in line:
            raise InputError(
                "request must be one line of ASCII", field="request", value=line, allowed="ASCII"
            )
        data = line.encode("ascii") + TERMINATOR
        return self._exchange(
            data,
            lambda t: self._read_reply(t, line, expect),
            what=line,
            idempotent=idempotent,
        )

    def _query(self, key: str) -> str:
        prefix = f"{key}:"
        reply = self.request(f"{key}?", idempotent=True, expect=prefix)
        return reply[len(prefix) :]

    def _numbers(self, key: str, count: int) -> list[float]:
        value = self._query(key)
        try:
            return parse_numbers(value, count)
        except ValueError:
            raise ProtocolError(
                f"malformed {key}? reply", field="reply", value=value, command=f"{key}?"
            ) from None

    def _command(self, line: str, *, idempotent: bool) -> None:
        self.request(line, idempotent=idempotent, expect="OK")

    # ------------------------------------------------------------------ identity & state
    def identify(self) -> PumpIdentity:
        """Manufacturer, model, serial number and firmware (``ID?``)."""
        parts = self._query("ID").split(",")
        if len(parts) != 4:
            raise ProtocolError("malformed ID? reply", field="reply", value=",".join(parts))
        return PumpIdentity(*parts)

    def state(self) -> PumpState:
        """The pump state (``STATE?``)."""
        value = self._query("STATE")
        try:
            return PumpState(value)
        except ValueError:
            raise ProtocolError("unknown state", field="reply", value=value) from None

    def status(self) -> PumpStatus:
        """State, flow, %B, pressure, run time and fault code in one exchange (``STATUS?``)."""
        parts = self._query("STATUS").split(",")
        try:
            state = PumpState(parts[0])
            flow, b, pres, runtime = (parse_number(p) for p in parts[1:5])
            return PumpStatus(state, flow, b, pres, runtime, int(parts[5]))
        except (ValueError, IndexError):
            raise ProtocolError("malformed STATUS? reply", field="reply", value=parts) from None

    def fault_code(self) -> int:
        """Code of the active fault, 0 when none (``FAULT?``)."""
        return int(self._numbers("FAULT", 1)[0])

    def clear_fault(self) -> None:
        """Leave FAULT for IDLE (``FAULT:CLEAR``); refused (code 8) while a leak is wet."""
        self._command("FAULT:CLEAR", idempotent=True)

    def wait_for_state(
        self,
        state: PumpState | Iterable[PumpState],
        timeout_s: float,
        *,
        poll_s: float = 0.05,
    ) -> PumpState:
        """Poll ``STATE?`` until the pump is in ``state`` (one state or several).

        Raises
        ------
        InstrumentError
            When the pump faults on the way (with the fault's code).
        InstrumentTimeoutError
            When ``timeout_s`` passes first.
        """
        wanted = {state} if isinstance(state, PumpState) else set(state)
        deadline = time.monotonic() + timeout_s
        while True:
            current = self.state()
            if current in wanted:
                return current
            if current is PumpState.FAULT:
                code = self.fault_code()
                raise InstrumentError(
                    self.name, "STATE?", code, PUMP_ERROR_TEXT.get(code, "Unknown error")
                )
            if time.monotonic() >= deadline:
                raise InstrumentTimeoutError(
                    f"pump not in {'/'.join(sorted(s.value for s in wanted))} "
                    f"within {timeout_s:g} s",
                    field="state",
                    value=current.value,
                    allowed=sorted(s.value for s in wanted),
                )
            time.sleep(poll_s)

    # ------------------------------------------------------------------ flow & composition
    def set_flow(self, ul_min: float) -> None:
        """Set the flow set point (µL/min)."""
        value = _check_range("flow_ul_min", ul_min, FLOW_RANGE_UL_MIN, "µL/min")
        self._command(f"FLOW:{format_number(value)}", idempotent=True)

    def flow(self) -> float:
        """The flow the pump is set to deliver now (µL/min; follows the gradient in a run)."""
        return self._numbers("FLOW", 1)[0]

    def set_composition(self, percent_b: float) -> None:
        """Set the isocratic composition set point (%B)."""
        value = _check_range("percent_b", percent_b, (0.0, 100.0), "%B")
        self._command(f"COMP:{format_number(value, 2)}", idempotent=True)

    def composition(self) -> float:
        """The composition the pump is set to deliver now (%B)."""
        return self._numbers("COMP", 1)[0]

    # ------------------------------------------------------------------ pressure
    def pressure(self) -> float:
        """Pump head pressure (bar)."""
        return self._numbers("PRES", 1)[0]

    def set_pressure_limits(self, min_bar: float, max_bar: float) -> None:
        """Set the pressure limits; outside them the pump stops with a fault."""
        low = _check_range("min_bar", min_bar, PRESSURE_LIMIT_RANGE_BAR, "bar")
        high = _check_range("max_bar", max_bar, PRESSURE_LIMIT_RANGE_BAR, "bar")
        if low >= high:
            raise InputError(
                "minimum pressure limit must be below the maximum",
                field="min_bar",
                value=low,
                allowed=f"< max_bar ({format_number(high)} bar)",
            )
        self._command(f"PLIM:{format_number(low, 1)},{format_number(high, 1)}", idempotent=True)

    def pressure_limits(self) -> tuple[float, float]:
        """(min, max) pressure limits in bar."""
        low, high = self._numbers("PLIM", 2)
        return low, high

    def pressure_trace(self) -> PressureTrace:
        """The recent pressure trace (``PTRACE?``)."""
        value = self._query("PTRACE")
        try:
            numbers = [parse_number(v) for v in value.split(",")]
        except ValueError:
            raise ProtocolError("malformed PTRACE? reply", field="reply", value=value) from None
        if len(numbers) < 2:
            raise ProtocolError("malformed PTRACE? reply", field="reply", value=value)
        return PressureTrace(numbers[0], numbers[1], np.array(numbers[2:], dtype=float))

    # ------------------------------------------------------------------ gradient
    def upload_gradient(self, gradient: Gradient, *, verify: bool = True) -> None:
        """Upload ``gradient`` (``GRAD:CLEAR``, ``GRAD:ROW``..., ``GRAD:END``).

        After a transport failure the whole upload starts again from ``GRAD:CLEAR`` (up to
        ``retries`` times). With ``verify`` the table is read back and compared.
        """
        lines = ["GRAD:CLEAR"]
        lines += [
            f"GRAD:ROW:{format_number(s.time_min)},{format_number(s.percent_b, 2)},"
            f"{format_number(s.flow_ul_min)}"
            for s in gradient.steps
        ]
        lines.append("GRAD:END")
        with self._lock:
            attempt = 0
            while True:
                try:
                    for line in lines:
                        self._command(line, idempotent=False)
                    break
                except TransportError:
                    if attempt >= self.retries:
                        raise
                    attempt += 1
            if verify:
                loaded = self.gradient()
                sent = [tuple(parse_numbers(line[len("GRAD:ROW:") :], 3)) for line in lines[1:-1]]
                got = [] if loaded is None else loaded.rows()
                if got != sent:
                    raise ProtocolError(
                        "gradient read back differs from the upload",
                        field="gradient",
                        value=got,
                        allowed=sent,
                    )

    def gradient(self) -> Gradient | None:
        """The loaded gradient (``GRAD?``), None when none is loaded."""
        value = self._query("GRAD")
        try:
            rows = parse_gradient(value)
        except ValueError:
            raise ProtocolError("malformed GRAD? reply", field="reply", value=value) from None
        return Gradient.from_rows(rows) if rows else None

    # ------------------------------------------------------------------ run control
    def start(self) -> None:
        """Start the gradient now (``RUN:START``)."""
        self._command("RUN:START", idempotent=False)

    def arm(self) -> None:
        """Wait for the external contact closure to start the gradient (``RUN:ARM``)."""
        self._command("RUN:ARM", idempotent=False)

    def stop(self) -> None:
        """Stop the pump (``RUN:STOP``); safe in any state."""
        self._command("RUN:STOP", idempotent=True)

    def runtime_min(self) -> float:
        """Minutes since the gradient started (0 when not running)."""
        return self._numbers("RUNTIME", 1)[0]

    def purge(self, seconds: float) -> None:
        """Purge through the purge valve for ``seconds`` (busy state PURGING)."""
        value = _check_range("seconds", seconds, PURGE_S_RANGE, "s")
        self._command(f"PURGE:{format_number(value)}", idempotent=False)

    def equilibrate(self, column_volumes: float) -> None:
        """Pump ``column_volumes`` at the initial conditions, then READY."""
        value = _check_range("column_volumes", column_volumes, EQUIL_CV_RANGE, "column volumes")
        self._command(f"EQUIL:{format_number(value, 2)}", idempotent=False)

    def equilibration(self) -> tuple[float, float]:
        """(column volumes delivered, column volumes required) of the equilibration."""
        done, target = self._numbers("EQUIL", 2)
        return done, target

    # ------------------------------------------------------------------ column
    def set_column(self, length_mm: float, inner_diameter_mm: float, particle_um: float) -> None:
        """Tell the pump which column is fitted (only while stopped)."""
        length_mm = _check_range("length_mm", length_mm, COLUMN_LENGTH_MM_RANGE, "mm")
        inner_diameter_mm = _check_range(
            "inner_diameter_mm", inner_diameter_mm, COLUMN_ID_MM_RANGE, "mm"
        )
        particle_um = _check_range("particle_um", particle_um, COLUMN_DP_UM_RANGE, "µm")
        self._command(
            f"COLUMN:{format_number(length_mm, 2)},{format_number(inner_diameter_mm, 3)},"
            f"{format_number(particle_um, 2)}",
            idempotent=True,
        )

    def column(self) -> ColumnInfo:
        """Column geometry and volume (``COLUMN?``)."""
        return ColumnInfo(*self._numbers("COLUMN", 4))

    # ------------------------------------------------------------------ simulator only
    def simulate_fault(self, name: str, arg: float | None = None) -> None:
        """Arm a simulator fault (``SIM:FAULT:<name>[,arg]``); real pumps answer ERROR:1."""
        suffix = "" if arg is None else f",{format_number(arg)}"
        self._command(f"SIM:FAULT:{name.upper()}{suffix}", idempotent=False)

    def simulate_contact_closure(self) -> None:
        """Close the simulator's external start contact (``SIM:CONTACT``)."""
        self._command("SIM:CONTACT", idempotent=False)
