"""A simulated sample-prep robot (liquid handler): plate, wells, reservoirs, tips, steps, faults.

The robot advances lazily: every call first catches up with the simulated clock, firing the
dispense and incubation events that fell due since, so no background thread is needed. The
wire protocol (docs/protocol.md, section "Sample-prep robot") is served by
:mod:`.prep_robot_server`; this module
is the robot itself, with a Python API the server, the tests and device couplings call.

Timing: a step dispenses well by well (``dispense_s`` simulated seconds per well: tip pick-up,
aspirate, dispense, eject), then incubates the plate for the step's duration. Wells take the
step's status when the incubation ends (DIGEST: DIGESTING as the enzyme goes in, DIGESTED at
the end). A protocol run marks its surviving wells READY when its last step ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from msuite.drivers.protocol.prep_robot_codes import (
    DEFAULT_RESERVOIRS_UL,
    ERROR_TEXT,
    REPLY_MEMORY_S,
    STEP_RESULT,
    DoorState,
    ErrorCode,
    FailReason,
    RobotState,
    StepName,
    WellState,
    all_wells,
    check_plate_id,
    check_reagent_name,
    check_step_fields,
    parse_wells,
    well_sort_key,
)
from msuite.hardware_sim.clock import SimClock
from msuite.hardware_sim.prep_robot_faults import PrepFaultPlan, PrepFaultsMixin

__all__ = ["PrepFaultPlan", "RobotRejectedError", "SimulatedPrepRobot", "StepCall", "WellListener"]

WellListener = Callable[[str, str, str, float], None]
log = logging.getLogger(__name__)

#: Consecutive tip pick-up failures after which the step stops with a fault.
TIP_FAIL_STOP = 3


class RobotRejectedError(Exception):
    """A request the robot refuses: becomes ``ER <code> <text>``."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = int(code)
        base = ERROR_TEXT.get(self.code, "Error")
        self.text = f"{base}: {detail}" if detail else base
        super().__init__(self.text)


@dataclass(frozen=True, slots=True)
class StepCall:
    """A step with its well selection and validated fields."""

    name: StepName
    selection: str
    fields: dict[str, float | str]

    def incubation_s(self) -> float:
        """Incubation time in seconds."""
        if "HRS" in self.fields:
            return float(self.fields["HRS"]) * 3600.0
        return float(self.fields.get("MIN", 0.0)) * 60.0

    @property
    def dispenses(self) -> bool:
        """True when the step adds a reagent (one tip per well)."""
        return "REAG" in self.fields


@dataclass(slots=True)
class _Job:
    """A step or a protocol in progress."""

    steps: list[StepCall]
    is_protocol: bool
    index: int = 0
    pending: list[str] = field(default_factory=list)
    dispensed: list[str] = field(default_factory=list)
    incubating: bool = False
    next_at: float = 0.0  # active time of the next event
    step_started: float = 0.0
    step_total_s: float = 0.0
    wells_in_step: int = 0
    tip_fail_run: int = 0

    @property
    def step(self) -> StepCall:
        return self.steps[self.index]


@dataclass(slots=True)
class _Reservoir:
    capacity_ul: float
    level_ul: float


class SimulatedPrepRobot(PrepFaultsMixin):
    """The robot shared by every client of its servers; all state changes under :attr:`lock`.

    Parameters
    ----------
    clock
        Shared simulated clock (a new one at ``speed`` if not given).
    speed
        Simulated seconds per wall second when the clock is created here.
    seed
        Seed of the random tip failures (``tip_failure_rate``) and the serial number.
    tips
        Tips loaded at start (and the rack capacity).
    reservoirs
        Reservoir name -> volume in uL (capacity and level); :data:`DEFAULT_RESERVOIRS_UL`
        if not given.
    faults
        Faults armed at start.
    dispense_s
        Simulated seconds per well dispense.
    """

    model = "SIM-PREP96"

    def __init__(
        self,
        *,
        clock: SimClock | None = None,
        speed: float = 100.0,
        seed: int = 0,
        tips: int = 960,
        reservoirs: dict[str, float] | None = None,
        faults: PrepFaultPlan | None = None,
        dispense_s: float = 6.0,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock or SimClock(speed)
        self.rng = np.random.default_rng(seed)
        self.serial = f"PR{seed:04d}"
        self.faults = faults or PrepFaultPlan()
        self.dispense_s = float(dispense_s)
        self.tip_capacity = int(tips)
        self.tips = int(tips)
        self.state = RobotState.IDLE
        self.fault_code = 0
        self.pause_reason = "-"
        self.door = DoorState.OPEN if self.faults.door_open else DoorState.CLOSED
        self.reservoirs = {
            check_reagent_name(k): _Reservoir(float(v), float(v))
            for k, v in (DEFAULT_RESERVOIRS_UL if reservoirs is None else reservoirs).items()
        }
        for name in self.faults.empty_reservoirs:
            self.empty_reservoir(name)
        self.plate_id: str | None = None
        self.plate_type = 96
        self.samples: set[str] = set()
        self.wells: dict[str, tuple[WellState, str]] = {}
        self.protocol: list[StepCall] = []
        self.last_run = "NONE"  # NONE, STEP, PROTOCOL, DONE, ABORTED
        self._job: _Job | None = None
        self._active = 0.0
        self._last_now = self.clock.now()
        self._listeners: list[WellListener] = []
        self._events: list[tuple[str, str, str, float]] = []
        self._replies: dict[tuple[int, str], tuple[bytes, float]] = {}
        self.reply_memory_s = REPLY_MEMORY_S
        self._depth = 0
        self._deliver_lock = threading.Lock()

    # ------------------------------------------------------------------ coupling and time
    def add_well_listener(self, callback: WellListener) -> None:
        """Call ``callback(plate_id, well, status, sim_time_s)`` whenever a well changes status.

        Called outside the robot's lock, in event order, from whichever thread caught the robot
        up (a command, or :meth:`catch_up`). READY means the autosampler may inject.
        """
        with self.lock:
            self._listeners.append(callback)

    def now(self) -> float:
        """Simulated seconds since power-on."""
        return self.clock.now()

    def catch_up(self) -> None:
        """Fire every event due by now (listeners run after the lock is released)."""
        with self.transaction():
            pass

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock, caught up with the clock; deliver well events once released.

        Nested transactions deliver when the outermost one ends, so listeners never run under
        the robot's lock.
        """
        outermost = False
        try:
            with self.lock:
                self._depth += 1
                try:
                    self._advance(self.clock.now())
                    yield
                finally:
                    self._depth -= 1
                    outermost = self._depth == 0
        finally:
            if outermost:
                self._deliver()

    def _deliver(self) -> None:
        while self._deliver_lock.acquire(blocking=False):  # else the delivering thread does it
            try:
                while True:
                    with self.lock:
                        events, self._events = self._events, []
                        listeners = list(self._listeners)
                    if not events:
                        break
                    for event in events:
                        for callback in listeners:
                            try:
                                callback(*event)
                            except Exception:  # a listener's bug must not stop the robot
                                log.exception("well listener %r failed on %s", callback, event)
            finally:
                self._deliver_lock.release()
            with self.lock:
                if not self._events:
                    return

    def _advance(self, now: float) -> None:
        while self.state is RobotState.BUSY and self._job is not None:
            job = self._job
            due = self._last_now + (job.next_at - self._active)
            if due > now:
                break
            self._last_now, self._active = due, job.next_at
            self._fire(job, due)
        if self.state is RobotState.BUSY:
            self._active += now - self._last_now
        self._last_now = now

    def _set_well(self, well: str, status: WellState, reason: str, t: float) -> None:
        self.wells[well] = (status, reason)
        shown = f"{status.value}:{reason}" if reason else status.value
        self._events.append((self.plate_id or "", well, shown, t))

    # ---------------------------------------------------------------------------- engine
    def _start_job(self, steps: list[StepCall], is_protocol: bool) -> None:
        self._job = _Job(steps, is_protocol)
        self.last_run = "PROTOCOL" if is_protocol else "STEP"
        self.state = RobotState.BUSY
        self._begin_step(self._job)

    def _begin_step(self, job: _Job) -> None:
        step = job.step
        chosen = parse_wells(step.selection, self.plate_type)
        job.pending = [
            w for w in chosen if w in self.samples and self.wells[w][0] is not WellState.FAILED
        ]
        job.dispensed, job.incubating, job.tip_fail_run = [], False, 0
        job.wells_in_step = len(job.pending)
        per_well = self.dispense_s if step.dispenses else 0.0
        job.step_started = self._active
        job.step_total_s = per_well * len(job.pending) + step.incubation_s()
        if not step.dispenses:
            job.dispensed, job.pending = job.pending, []
        self._schedule_next(job)

    def _schedule_next(self, job: _Job) -> None:
        if job.pending and job.step.dispenses:
            job.next_at = self._active + self.dispense_s
        else:
            job.incubating = True
            job.next_at = self._active + job.step.incubation_s()

    def _fire(self, job: _Job, t: float) -> None:
        if job.incubating:
            self._finish_step(job, t)
            return
        well = job.pending[0]
        step = job.step
        if self.tips <= 0:
            self._fault(ErrorCode.NO_TIPS)
            return
        self.tips -= 1
        if self._tip_fails(well):
            job.pending.pop(0)
            self._set_well(well, WellState.FAILED, FailReason.TIP.value, t)
            job.tip_fail_run += 1
            self._schedule_next(job)
            if job.tip_fail_run >= TIP_FAIL_STOP:
                job.tip_fail_run = 0
                self._fault(ErrorCode.TIP_PICKUP)
            return
        job.tip_fail_run = 0
        reservoir = self.reservoirs[str(step.fields["REAG"])]
        volume = float(step.fields["VOL"])
        if reservoir.level_ul + 1e-9 < volume:
            self._fault(ErrorCode.REAGENT_EMPTY)
            return
        reservoir.level_ul = max(reservoir.level_ul - volume, 0.0)
        job.pending.pop(0)
        job.dispensed.append(well)
        if step.name is StepName.DIGEST:
            self._set_well(well, WellState.DIGESTING, "", t)
        self._schedule_next(job)

    def _tip_fails(self, well: str) -> bool:
        f = self.faults
        if well in f.tip_fail_wells:
            f.tip_fail_wells = tuple(w for w in f.tip_fail_wells if w != well)
            return True
        if f.tip_failures > 0:
            f.tip_failures -= 1
            return True
        return f.tip_failure_rate > 0 and bool(self.rng.random() < f.tip_failure_rate)

    def _finish_step(self, job: _Job, t: float) -> None:
        status = STEP_RESULT[job.step.name]
        for well in job.dispensed:
            if self.wells[well][0] is not WellState.FAILED:
                self._set_well(well, status, "", t)
        if job.index + 1 < len(job.steps):
            job.index += 1
            self._begin_step(job)
            return
        if job.is_protocol:
            for well in sorted(self.samples, key=well_sort_key):
                if self.wells[well][0] is not WellState.FAILED:
                    self._set_well(well, WellState.READY, "", t)
        self._job = None
        self.last_run = "DONE"
        self.state = RobotState.IDLE

    def _fault(self, code: ErrorCode) -> None:
        self.state = RobotState.FAULT
        self.fault_code = int(code)

    # ------------------------------------------------------------------------- commands
    def _require(self, *, idle: bool = True, plate: bool = False, door: bool = False) -> None:
        if self.state is RobotState.FAULT and idle:
            raise RobotRejectedError(ErrorCode.FAULT_ACTIVE, f"code {self.fault_code:02d}")
        if idle and self.state is not RobotState.IDLE:
            raise RobotRejectedError(ErrorCode.BUSY, self.state.value)
        if door and self.door is DoorState.OPEN:
            raise RobotRejectedError(ErrorCode.DOOR_OPEN)
        if plate and self.plate_id is None:
            raise RobotRejectedError(ErrorCode.NO_PLATE)

    def load_plate(self, plate_id: str, plate_type: int, samples: str) -> None:
        """Put a plate on the deck; ``samples`` selects the wells holding samples."""
        with self.transaction():
            self._require(door=True)
            if self.plate_id is not None:
                raise RobotRejectedError(ErrorCode.PLATE_PRESENT, self.plate_id)
            chosen = parse_wells(samples, plate_type)
            t = self.clock.now()
            self.plate_id, self.plate_type = check_plate_id(plate_id), int(plate_type)
            self.samples = set(chosen)
            self.wells = {w: (WellState.EMPTY, "") for w in all_wells(plate_type)}
            for w in chosen:
                self._set_well(w, WellState.LOADED, "", t)
            self.last_run = "NONE"

    def unload_plate(self) -> None:
        """Take the plate off the deck."""
        with self.transaction():
            self._require(plate=True, door=True)
            self.plate_id, self.samples, self.wells = None, set(), {}

    def start_step(self, step: StepCall) -> None:
        """Run one step now on the selected sample wells."""
        with self.transaction():
            self._require(plate=True, door=True)
            self._check_step(step)
            self._start_job([step], is_protocol=False)

    def _check_step(self, step: StepCall) -> None:
        chosen = parse_wells(step.selection, self.plate_type)
        if not any(w in self.samples for w in chosen):
            raise RobotRejectedError(ErrorCode.BAD_WELLS, f"no sample wells in {step.selection}")
        reagent = step.fields.get("REAG")
        if reagent is not None and reagent not in self.reservoirs:
            raise RobotRejectedError(ErrorCode.UNKNOWN_RESERVOIR, str(reagent))

    def make_step(self, name: str, selection: str, fields: dict[str, str]) -> StepCall:
        """Validate a step (InputError when fields or wells are wrong)."""
        checked = check_step_fields(name, fields)
        parse_wells(selection, self.plate_type if self.plate_id else 384)
        return StepCall(StepName(name.upper()), selection.upper(), checked)

    def clear_protocol(self) -> None:
        """Forget the uploaded protocol."""
        with self.lock:
            if self._job is not None and self._job.is_protocol:
                raise RobotRejectedError(ErrorCode.BUSY, "protocol running")
            self.protocol = []

    def add_protocol_step(self, step: StepCall) -> int:
        """Append a step to the protocol; return its 1-based index."""
        with self.lock:
            if self._job is not None and self._job.is_protocol:
                raise RobotRejectedError(ErrorCode.BUSY, "protocol running")
            self.protocol.append(step)
            return len(self.protocol)

    def run_protocol(self) -> None:
        """Run the uploaded protocol on the loaded plate."""
        with self.transaction():
            self._require(plate=True, door=True)
            if not self.protocol:
                raise RobotRejectedError(ErrorCode.PROTOCOL_EMPTY)
            for step in self.protocol:
                self._check_step(step)
            self._start_job(list(self.protocol), is_protocol=True)

    def pause(self) -> None:
        """Hold the running step (dispensing and incubation timers stop)."""
        with self.transaction():
            if self.state is not RobotState.BUSY:
                raise RobotRejectedError(ErrorCode.BUSY, f"nothing running ({self.state.value})")
            self.state, self.pause_reason = RobotState.PAUSED, "USER"

    def resume(self) -> None:
        """Continue a paused (or fault-cleared) step."""
        with self.transaction():
            if self.state is RobotState.FAULT:
                raise RobotRejectedError(ErrorCode.FAULT_ACTIVE, f"code {self.fault_code:02d}")
            if self.state is not RobotState.PAUSED or self._job is None:
                raise RobotRejectedError(ErrorCode.NOTHING_TO_RESUME, self.state.value)
            self._require(idle=False, door=True)
            self.state, self.pause_reason = RobotState.BUSY, "-"

    def abort(self) -> None:
        """Stop the step or protocol; wells that received reagent in it become FAILED:ABORTED."""
        with self.transaction():
            job, self._job = self._job, None
            if job is not None:
                t = self.clock.now()
                for well in job.dispensed:
                    if self.wells[well][0] is not WellState.FAILED:
                        self._set_well(well, WellState.FAILED, FailReason.ABORTED.value, t)
                self.last_run = "ABORTED"
            self.state, self.pause_reason, self.fault_code = RobotState.IDLE, "-", 0

    def clear_fault(self) -> None:
        """Clear a fault: PAUSED when a step can be resumed, else IDLE."""
        with self.transaction():
            if self.state is RobotState.FAULT:
                self.fault_code = 0
                if self._job is not None:
                    self.state, self.pause_reason = RobotState.PAUSED, "FAULT"
                else:
                    self.state = RobotState.IDLE

    def define_reservoir(self, name: str, capacity_ul: float, level_ul: float | None) -> None:
        """Create or redefine a reservoir."""
        with self.lock:
            level = capacity_ul if level_ul is None else level_ul
            if not (0 < capacity_ul <= 200_000 and 0 <= level <= capacity_ul):
                raise RobotRejectedError(
                    ErrorCode.BAD_PARAMETER, "0 < capacity <= 200000, level <= capacity"
                )
            self.reservoirs[check_reagent_name(name)] = _Reservoir(float(capacity_ul), float(level))

    def refill(self, name: str, volume_ul: float | None = None) -> float:
        """Refill to capacity, or add ``volume_ul`` (capped at capacity); return the level."""
        with self.transaction():
            res = self._reservoir(name)
            if volume_ul is not None and volume_ul <= 0:
                raise RobotRejectedError(ErrorCode.BAD_PARAMETER, "volume must be > 0")
            add = res.capacity_ul if volume_ul is None else volume_ul
            res.level_ul = min(res.level_ul + add, res.capacity_ul)
            return res.level_ul

    def _reservoir(self, name: str) -> _Reservoir:
        try:
            return self.reservoirs[name.upper()]
        except KeyError:
            raise RobotRejectedError(ErrorCode.UNKNOWN_RESERVOIR, name) from None

    def load_tips(self, count: int | None = None) -> None:
        """Replace the tip racks (full when ``count`` is None)."""
        with self.transaction():
            if self.state is RobotState.BUSY:
                raise RobotRejectedError(ErrorCode.BUSY, "BUSY")
            if count is not None and not 0 <= count <= self.tip_capacity:
                raise RobotRejectedError(ErrorCode.BAD_PARAMETER, f"0..{self.tip_capacity} tips")
            self.tips = self.tip_capacity if count is None else int(count)

    def progress(self) -> dict[str, str]:
        """Progress of the running step/protocol (the ``PROG?`` fields)."""
        with self.transaction():
            job = self._job
            if job is None:
                return {
                    "RUN": self.last_run,
                    "STEP": "-",
                    "INDEX": "0",
                    "STEPS": "0",
                    "PHASE": "-",
                    "DONE": "0",
                    "WELLS": "0",
                    "FRAC": "0",
                    "LEFT_S": "0",
                }
            done_s = self._active - job.step_started
            frac = min(done_s / job.step_total_s, 1.0) if job.step_total_s > 0 else 1.0
            left = max(job.step_total_s - done_s, 0.0)
            for later in job.steps[job.index + 1 :]:
                n = len(
                    [w for w in parse_wells(later.selection, self.plate_type) if w in self.samples]
                )
                left += (self.dispense_s * n if later.dispenses else 0.0) + later.incubation_s()
            return {
                "RUN": "PROTOCOL" if job.is_protocol else "STEP",
                "STEP": job.step.name.value,
                "INDEX": str(job.index + 1),
                "STEPS": str(len(job.steps)),
                "PHASE": "INCUBATE" if job.incubating else "DISPENSE",
                "DONE": str(len(job.dispensed)),
                "WELLS": str(job.wells_in_step),
                "FRAC": f"{frac:.4f}",
                "LEFT_S": f"{left:.1f}",
            }
