"""The simulated binary LC pump: state machine, hydraulics over simulated time, faults, hooks.

State advances lazily from elapsed simulated time whenever anything asks (a command, a server
poll, a Python call): the pressure follows its target with a first-order lag in small steps,
equilibration counts delivered column volumes, purges and gradient programs end on time, and
limits and leak sensors trip at the simulated instant they would. The wire protocol on top of
this object is :mod:`msuite.hardware_sim.lc_pump_server`.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from msuite.core.errors import InputError
from msuite.drivers.lc_pump_gradient import Gradient
from msuite.drivers.protocol.lc_pump_codes import PumpErrorCode, PumpState
from msuite.hardware_sim.clock import SimClock
from msuite.hardware_sim.lc_pump_physics import (
    PRESSURE_TIME_CONSTANT_S,
    ColumnSpec,
    HydraulicModel,
    first_order_step,
)

__all__ = [
    "FAULT_NAMES",
    "LEAK_SENSOR_DELAY_S",
    "PURGE_FLOW_UL_MIN",
    "TRACE_INTERVAL_S",
    "PumpCommandRefusedError",
    "PumpFaultPlan",
    "RunListener",
    "SimulatedLCPump",
]

#: Flow through the open purge valve (µL/min).
PURGE_FLOW_UL_MIN = 5000.0
#: Seconds from the start of a leak to the leak sensor tripping.
LEAK_SENSOR_DELAY_S = 5.0
#: After the pump starts, the minimum-pressure limit is not checked for this long (s).
UNDERPRESSURE_GRACE_S = 10.0
#: Pressure trace sampling (s) and depth (samples).
TRACE_INTERVAL_S = 1.0
TRACE_SAMPLES = 900
#: Integration steps (s): during a gradient program, and while conditions are constant.
RUN_STEP_S = 0.2
HOLD_STEP_S = 1.0

FAULT_NAMES = ("drop", "garble", "stall", "error", "leak", "blocked", "overpressure", "clear")
COLUMN_STATES = frozenset(
    {PumpState.EQUILIBRATING, PumpState.READY, PumpState.ARMED, PumpState.RUNNING}
)

RunListener = Callable[[str, float], None]

log = logging.getLogger(__name__)


class PumpCommandRefusedError(Exception):
    """A request the pump refuses; becomes ``ERROR:<code>`` on the wire."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(int(code), detail)
        self.code = int(code)
        self.detail = detail


@dataclass(slots=True)
class PumpFaultPlan:
    """Faults armed on the pump (at construction, by :meth:`SimulatedLCPump.inject` or by
    ``SIM:FAULT:<name>[,arg]``).

    Attributes
    ----------
    drop
        The next ``drop`` requests get no answer (over TCP the connection is closed).
    garble
        The next ``garble`` replies are replaced by bytes that are not the protocol.
    stall_s
        The next reply comes this many wall seconds late (past a client's timeout it arrives
        after the client gave up: the late reply a resynchronisation must discard).
    error_code
        The next request is answered ``ERROR:<error_code>`` without being executed.
    leak_fraction
        Fraction of the flow lost through a leak before the column (0: no leak); the leak
        sensor trips :data:`LEAK_SENSOR_DELAY_S` after the leak starts.
    blockage
        Column resistance multiplier (1: clean column; 5: a blocked frit).
    overpressure
        A pressure spike above the maximum limit the next time the pump delivers flow.
    """

    drop: int = 0
    garble: int = 0
    stall_s: float = 0.0
    error_code: int | None = None
    leak_fraction: float = 0.0
    blockage: float = 1.0
    overpressure: bool = False


class SimulatedLCPump:
    """A binary high-pressure LC pump with a packed column.

    Parameters
    ----------
    clock
        Shared simulated clock (a new one at ``speed`` when None).
    speed
        Clock speed when ``clock`` is None (simulated seconds per wall second).
    seed
        Seed of the pressure noise: the same seed gives the same readbacks.
    column
        The column (default 150 mm x 2.1 mm, 1.7 µm).
    dwell_volume_ul
        Gradient delay volume between mixer and column (µL).
    temperature_c
        Column temperature (sets the solvent viscosity).
    faults
        Faults armed from power-on.
    noise_bar
        Standard deviation of the pressure readback noise (bar).
    serial
        Serial number reported by ``ID?``.
    """

    model = "SIM-LCP1300"

    def __init__(
        self,
        *,
        clock: SimClock | None = None,
        speed: float = 100.0,
        seed: int = 0,
        column: ColumnSpec | None = None,
        dwell_volume_ul: float = 100.0,
        temperature_c: float = 40.0,
        faults: PumpFaultPlan | None = None,
        noise_bar: float = 0.3,
        serial: str = "SN0001",
    ) -> None:
        self.clock = clock if clock is not None else SimClock(speed)
        self.lock = threading.RLock()
        self.rng = np.random.default_rng(seed)
        self.hydraulics = HydraulicModel(column or ColumnSpec(), temperature_c)
        self.dwell_volume_ul = float(dwell_volume_ul)
        self.noise_bar = float(noise_bar)
        self.serial = serial
        self.faults = faults if faults is not None else PumpFaultPlan()
        self.state = PumpState.IDLE
        self.flow_setpoint = 300.0
        self.percent_b_setpoint = 5.0
        self.gradient: Gradient | None = None
        self.gradient_edit: list[tuple[float, float, float]] | None = None
        self.pressure_bar = 0.0
        self.pressure_limits = (0.0, 1000.0)
        self.purge_end_s = 0.0
        self.equil_target_cv = 0.0
        self.equil_done_cv = 0.0
        self.post_run_cv = 0.0
        self.run_start_s: float | None = None
        self.fault_code = 0
        self.pending_error = 0
        self.leak_detected = False
        self._t = self.clock.now()
        self._leak_since: float | None = self._t if self.faults.leak_fraction > 0 else None
        self._pump_on_since = self._t
        self._next_trace_s = math.floor(self._t / TRACE_INTERVAL_S + 1) * TRACE_INTERVAL_S
        self.trace: deque[tuple[float, float]] = deque(maxlen=TRACE_SAMPLES)
        self._listeners: list[RunListener] = []
        self._events: list[tuple[str, float]] = []
        self._grad_arrays: tuple[list[float], list[float], list[float]] | None = None

    # ------------------------------------------------------------------ coupling hooks
    def add_run_listener(self, callback: RunListener) -> None:
        """Call ``callback(event, sim_time_s)`` with ``"started"`` / ``"finished"`` events.

        Events carry the simulated instant they happened; they are delivered (outside the
        pump's lock) at the next command, server poll (every 0.2 s wall) or Python call.
        A run that is stopped or ends in a fault is ``"finished"`` too.
        """
        with self.lock:
            self._listeners.append(callback)

    def contact_closure(self, at_s: float | None = None) -> bool:
        """External start contact (the autosampler's injection signal).

        Starts the gradient when the pump is ARMED and returns True; otherwise the contact
        is ignored (as by a real pump) and False is returned. ``at_s`` is the simulated
        instant of the closure on a shared clock (default: now); a closure reported a little
        late still starts the gradient at that instant.
        """
        with self.lock:
            self.catch_up(until=at_s)
            started = self.state is PumpState.ARMED
            if started:
                self.start_run(self._t)
            self.catch_up()
        self.dispatch_events()
        return started

    def tick(self) -> None:
        """Advance to now and deliver pending run events (servers call this when idle)."""
        with self.lock:
            self.catch_up()
        self.dispatch_events()

    def dispatch_events(self) -> None:
        """Deliver queued run events to the listeners (never under the pump's lock)."""
        with self.lock:
            events, self._events = self._events, []
            listeners = list(self._listeners)
        for event, at in events:
            for callback in listeners:
                try:
                    callback(event, at)
                except Exception:  # a listener's bug must not take the pump down
                    log.exception("run listener %r failed on %s", callback, event)

    # ------------------------------------------------------------------------ faults
    def inject(self, name: str, arg: float | None = None) -> None:
        """Arm a fault now (see :class:`PumpFaultPlan`).

        ``drop`` / ``garble`` (count of requests, default 1), ``error`` (code, default 11),
        ``leak`` (fraction of flow lost, default 0.6), ``blocked`` (resistance factor,
        default 5), ``overpressure``, ``clear`` (disarm everything and repair leak/blockage).

        Raises
        ------
        InputError
            For an unknown fault name or an argument out of range.
        """
        try:
            self.inject_or_refuse(name, arg)
        except PumpCommandRefusedError as exc:
            raise InputError(
                f"cannot arm fault {name!r}: {exc.detail}",
                field="fault",
                value=name if exc.code == PumpErrorCode.BAD_VALUE else arg,
                allowed=", ".join(FAULT_NAMES),
            ) from None

    def inject_or_refuse(self, name: str, arg: float | None = None) -> None:
        """:meth:`inject` raising :class:`PumpCommandRefusedError` (the wire's form)."""
        name = name.strip().lower()
        with self.lock:
            self.catch_up()
            f = self.faults
            if name in ("drop", "garble"):
                count = 1 if arg is None else int(arg)
                if count < 1 or (arg is not None and count != arg):
                    raise PumpCommandRefusedError(PumpErrorCode.OUT_OF_RANGE, "count must be >= 1")
                setattr(f, name, count)
            elif name == "stall":
                seconds = 1.0 if arg is None else float(arg)
                if not 0.0 < seconds <= 60.0:
                    raise PumpCommandRefusedError(PumpErrorCode.OUT_OF_RANGE, "0 < seconds <= 60")
                f.stall_s = seconds
            elif name == "error":
                code = int(PumpErrorCode.HARDWARE) if arg is None else int(arg)
                if not 1 <= code <= 99:
                    raise PumpCommandRefusedError(PumpErrorCode.OUT_OF_RANGE, "code must be 1-99")
                f.error_code = code
            elif name == "leak":
                fraction = 0.6 if arg is None else float(arg)
                if not 0.0 < fraction < 1.0:
                    raise PumpCommandRefusedError(PumpErrorCode.OUT_OF_RANGE, "fraction in (0, 1)")
                f.leak_fraction = fraction
                self._leak_since = self._t
            elif name == "blocked":
                factor = 5.0 if arg is None else float(arg)
                if not 1.0 <= factor <= 1000.0:
                    raise PumpCommandRefusedError(PumpErrorCode.OUT_OF_RANGE, "factor 1-1000")
                f.blockage = factor
            elif name == "overpressure":
                f.overpressure = True
                self.catch_up()
            elif name == "clear":
                self.faults = PumpFaultPlan()
                self._leak_since = None
                self.leak_detected = False
            else:
                raise PumpCommandRefusedError(PumpErrorCode.BAD_VALUE, f"unknown fault {name!r}")
        self.dispatch_events()

    def take_drop(self) -> bool:
        """Consume one armed dropped request (the server then answers nothing)."""
        with self.lock:
            if self.faults.drop > 0:
                self.faults.drop -= 1
                return True
            return False

    def take_stall(self) -> float:
        """Consume the armed reply delay (wall seconds; 0 when none is armed)."""
        with self.lock:
            seconds, self.faults.stall_s = self.faults.stall_s, 0.0
            return seconds

    def take_garble(self) -> bool:
        """Consume one armed garbled reply."""
        with self.lock:
            if self.faults.garble > 0:
                self.faults.garble -= 1
                return True
            return False

    def take_injected_error(self) -> int | None:
        """Consume the injected error code, if any."""
        with self.lock:
            code, self.faults.error_code = self.faults.error_code, None
            return code

    # ------------------------------------------------------------------ time advance
    def _program(self, run_s: float) -> tuple[float, float]:
        """Programmed (%B, flow) at ``run_s`` seconds into the gradient."""
        assert self._grad_arrays is not None
        times, bs, flows = self._grad_arrays
        t_min = run_s / 60.0
        i = bisect.bisect_right(times, t_min)
        if i == 0:
            return bs[0], flows[0]
        if i == len(times):
            return bs[-1], flows[-1]
        w = (t_min - times[i - 1]) / (times[i] - times[i - 1])
        return bs[i - 1] + w * (bs[i] - bs[i - 1]), flows[i - 1] + w * (flows[i] - flows[i - 1])

    def _delivery(self, t: float) -> tuple[float, float, bool]:
        """(flow to the column path, %B at the column, through purge valve) at time ``t``."""
        if self.state in (PumpState.IDLE, PumpState.FAULT):
            return 0.0, self.percent_b_setpoint, False
        if self.state is PumpState.PURGING:
            return PURGE_FLOW_UL_MIN, self.percent_b_setpoint, True
        if self.state is PumpState.RUNNING and self.run_start_s is not None:
            run_s = t - self.run_start_s
            _, flow = self._program(run_s)
            delay_s = 60.0 * self.dwell_volume_ul / flow
            b_column, _ = self._program(run_s - delay_s)
            return flow, b_column, False
        return self.flow_setpoint, self.percent_b_setpoint, False

    def _target_pressure(self, t: float) -> float:
        flow, b, purge = self._delivery(t)
        if flow <= 0.0:
            return 0.0
        if purge:
            return self.hydraulics.purge_pressure_bar(flow, b)
        return self.hydraulics.column_pressure_scalar(
            flow, b, self.faults.blockage, self.faults.leak_fraction
        )

    def _next_event(self) -> tuple[float, Callable[[float], None] | None]:
        events: list[tuple[float, Callable[[float], None]]] = []
        if self.state is PumpState.PURGING:
            events.append((self.purge_end_s, self._finish_purge))
        elif self.state is PumpState.EQUILIBRATING and self.flow_setpoint > 0:
            remaining = max(self.equil_target_cv - self.equil_done_cv, 0.0)
            dt = remaining * self.hydraulics.column.volume_ul / self.flow_setpoint * 60.0
            events.append((self._t + dt, self._finish_equilibration))
        elif self.state is PumpState.RUNNING and self.run_start_s is not None:
            assert self.gradient is not None
            events.append((self.run_start_s + self.gradient.duration_min * 60.0, self._finish_run))
        if self._leak_since is not None and not self.leak_detected:
            events.append((self._leak_since + LEAK_SENSOR_DELAY_S, self._leak_trip))
        if not events:
            return math.inf, None
        return min(events, key=lambda e: e[0])

    def catch_up(self, until: float | None = None) -> None:
        """Advance the simulation to the clock's now, or to ``until`` if that is earlier
        (call under the lock)."""
        now = self.clock.now() if until is None else min(until, self.clock.now())
        while True:
            t_event, action = self._next_event()
            completed = self._integrate(min(now, t_event))
            if completed and action is not None and t_event <= now:
                action(t_event)
                continue
            if self._t >= now:
                return

    def _integrate(self, t_end: float) -> bool:
        """Step the pressure to ``t_end``; False when a limit tripped (then ``_t`` is earlier)."""
        t = self._t
        while t < t_end:
            limit = RUN_STEP_S if self.state is PumpState.RUNNING else HOLD_STEP_S
            h = min(limit, t_end - t, max(self._next_trace_s - t, 1e-6))
            t_new = t + h if t + h > t else t_end
            flow, _, _ = self._delivery(t_new)
            target = self._target_pressure(t_new)
            self.pressure_bar = first_order_step(
                self.pressure_bar, target, h, PRESSURE_TIME_CONSTANT_S
            )
            if self.state is PumpState.EQUILIBRATING:
                self.equil_done_cv += flow * h / 60.0 / self.hydraulics.column.volume_ul
            self._t = t = t_new
            if t >= self._next_trace_s - 1e-9:
                self.trace.append((self._next_trace_s, self._noisy(self.pressure_bar)))
                self._next_trace_s += TRACE_INTERVAL_S
            code = self._limit_tripped(t)
            if code:
                self._enter_fault(code, t)
                return False
        self._t = max(self._t, t_end)
        return True

    def _limit_tripped(self, t: float) -> int:
        pumping = self.state in COLUMN_STATES or self.state is PumpState.PURGING
        if not pumping:
            return 0
        low, high = self.pressure_limits
        if self.faults.overpressure:
            self.faults.overpressure = False
            self.pressure_bar = high + 20.0
        if self.pressure_bar > high:
            return PumpErrorCode.OVERPRESSURE
        if (
            low > 0
            and self.state in COLUMN_STATES
            and t - self._pump_on_since >= UNDERPRESSURE_GRACE_S
            and self.pressure_bar < low
        ):
            return PumpErrorCode.UNDERPRESSURE
        return 0

    def _noisy(self, pressure: float) -> float:
        sd = self.noise_bar * (1.0 + 0.002 * pressure)
        return max(pressure + float(self.rng.normal(0.0, sd)), 0.0)

    # ------------------------------------------------------------------ transitions
    def set_state(self, new: PumpState, t: float | None = None) -> None:
        """Enter ``new`` (bookkeeping of when the pump started pushing through the column)."""
        t = self._t if t is None else t
        if new in COLUMN_STATES and self.state not in COLUMN_STATES:
            self._pump_on_since = t
        self.state = new

    def _finish_purge(self, t: float) -> None:
        self.set_state(PumpState.IDLE, t)

    def _finish_equilibration(self, t: float) -> None:
        self.equil_done_cv = self.equil_target_cv
        self.set_state(PumpState.READY, t)

    def _finish_run(self, t: float) -> None:
        self.run_start_s = None
        self._events.append(("finished", t))
        self.begin_equilibration(self.post_run_cv, remember=False)

    def _leak_trip(self, t: float) -> None:
        self.leak_detected = True
        if self.state is not PumpState.FAULT:
            self._enter_fault(PumpErrorCode.LEAK, t)

    def _enter_fault(self, code: int, t: float) -> None:
        if self.state is PumpState.RUNNING:
            self._events.append(("finished", t))
        self.run_start_s = None
        self.set_state(PumpState.FAULT, t)
        self.fault_code = int(code)
        self.pending_error = int(code)

    @property
    def now_s(self) -> float:
        """Pump time (s) the simulation has advanced to."""
        return self._t

    def emit(self, event: str, t: float) -> None:
        """Queue a run event for the listeners."""
        self._events.append((event, t))

    def start_run(self, t: float) -> None:
        """Start the loaded gradient at pump time ``t``."""
        assert self.gradient is not None
        self.run_start_s = t
        self.set_state(PumpState.RUNNING, t)
        self._events.append(("started", t))

    def begin_equilibration(self, column_volumes: float, *, remember: bool = True) -> None:
        """Pump at the set point until ``column_volumes`` have passed (READY at once for 0)."""
        if remember:
            self.post_run_cv = column_volumes
        self.equil_target_cv = column_volumes
        self.equil_done_cv = 0.0
        self.set_state(PumpState.EQUILIBRATING if column_volumes > 0 else PumpState.READY)

    def load_gradient(self, gradient: Gradient | None) -> None:
        """Make ``gradient`` the program; its first row becomes the set point."""
        self.gradient = gradient
        if gradient is None:
            self._grad_arrays = None
            return
        times, bs, flows = zip(*gradient.rows(), strict=True)
        self._grad_arrays = (list(times), list(bs), list(flows))
        self.flow_setpoint = gradient.initial.flow_ul_min
        self.percent_b_setpoint = gradient.initial.percent_b
        self.conditions_changed()

    def conditions_changed(self) -> None:
        """Set point changed: a column being equilibrated (or ready) starts counting again."""
        if self.state in (PumpState.EQUILIBRATING, PumpState.READY):
            self.begin_equilibration(self.equil_target_cv, remember=False)

    # ------------------------------------------------------------------ readbacks
    def run_time_s(self) -> float:
        """Seconds since the gradient started (0 when not running)."""
        if self.state is not PumpState.RUNNING or self.run_start_s is None:
            return 0.0
        return self._t - self.run_start_s

    def programmed(self) -> tuple[float, float]:
        """(flow µL/min, %B) the pump is set to deliver now."""
        if self.state is PumpState.RUNNING and self.run_start_s is not None:
            b, flow = self._program(self._t - self.run_start_s)
            return flow, b
        return self.flow_setpoint, self.percent_b_setpoint

    def read_pressure(self) -> float:
        """Pressure readback with sensor noise (bar)."""
        return self._noisy(self.pressure_bar)
