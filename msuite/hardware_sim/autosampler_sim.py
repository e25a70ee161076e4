"""A simulated LC autosampler: trays of plates and vial racks, a needle, a door, faults.

The model advances lazily from the elapsed simulated time whenever it is asked something, so
no thread runs while it is idle. The one exception is the injection moment: a one-shot timer
fires it on time, so the injection listeners (the contact closure that starts the LC gradient
and the mass spectrometer) are called even when no client is polling.

Served on the wire by :mod:`msuite.hardware_sim.autosampler_server`; the protocol is
docs/protocol.md, "Autosampler". Same seed, same deck, same barcodes, same behaviour.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from msuite.core.errors import InputError
from msuite.drivers.protocol.autosampler_frames import (
    DRAW_SPEED_RANGE_UL_S,
    ERROR_TEXT,
    TEMPERATURE_RANGE_C,
    VOLUME_MIN_UL,
    WASH_CYCLES_RANGE,
    WASH_SOLVENTS,
    AutosamplerErrorCode,
)
from msuite.drivers.protocol.plates import (
    PLATE_96,
    PLATE_384,
    VIAL_RACK_54,
    LabwareFormat,
    Position,
    format_by_code,
    parse_position,
    parse_tray,
    sites,
)
from msuite.hardware_sim.clock import SimClock

__all__ = [
    "AutosamplerFaults",
    "DeviceBusy",
    "InjectionEvent",
    "Labware",
    "OperationRefused",
    "SimulatedAutosampler",
]

log = logging.getLogger(__name__)
Code = AutosamplerErrorCode
InjectionListener = Callable[[str, float, float], None]

MOVE_S = 2.0  # needle to the position and into the sample
RETURN_S = 3.0  # needle back, loop flushed onto the column: injection done after this
WASH_CYCLE_S = 5.0
LABWARE_MOVE_S = 8.0
DEAD_VOLUME_UL = 2.0
TEMP_TAU_S = 60.0
AMBIENT_C = 22.0


class OperationRefused(Exception):  # noqa: N818 (a reply, not a failure of the simulator)
    """The device answers ``ERROR <code> <text>``."""

    def __init__(self, code: int, text: str | None = None) -> None:
        self.code = int(code)
        self.text = text or ERROR_TEXT.get(self.code, "Error")
        super().__init__(f"{self.code} {self.text}")


class DeviceBusy(Exception):  # noqa: N818
    """The device answers ``BUSY <state>``: the mechanism is in use."""

    def __init__(self, state: str) -> None:
        self.state = state
        super().__init__(state)


@dataclass(slots=True)
class Labware:
    """A plate or vial rack in a tray: sample volume per site (absent: empty) and barcodes."""

    fmt: LabwareFormat
    barcode: str | None = None
    volumes: dict[str, float] = field(default_factory=dict)
    vial_barcodes: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class AutosamplerFaults:
    """Faults armed on the device (at construction or at run time).

    ``drop_frames``: the next N request frames are swallowed unanswered and the line drops (TCP
    close; on a pty the frame just goes unanswered). ``corrupt_replies``: the next N replies carry
    a wrong checksum. ``nak_frames``: the next N requests are answered ``NAK`` as if their
    checksum were wrong. ``error_codes``: each queued code answers one command with ``ERROR``.
    """

    drop_frames: int = 0
    corrupt_replies: int = 0
    nak_frames: int = 0
    error_codes: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class InjectionEvent:
    """One injection: number, position, volume and the simulated time of the valve switch."""

    number: int
    position: str
    volume_ul: float
    sim_time_s: float


@dataclass(slots=True)
class _Operation:
    kind: str  # INJECT, WASH, LOAD, UNLOAD
    state: str  # INJECTING, WASHING, BUSY
    start: float
    end: float
    number: int = 0
    position: Position | None = None
    volume_ul: float = 0.0
    inject_at: float = math.inf
    injected: bool = False


class SimulatedAutosampler:
    """The autosampler model.

    Parameters
    ----------
    clock
        Shared simulated clock (a new one at ``speed`` when not given).
    speed
        Speed of the new clock (simulated seconds per wall second).
    seed
        Seed of the default deck (sample volumes, barcodes).
    trays
        Number of tray slots.
    loop_ul
        Sample loop volume: the largest injection (µL).
    faults
        Faults armed from the start.
    deck
        Labware per tray number; the seeded default deck when not given.
    """

    model = "SIM-AS200"
    firmware = "2.1.0"

    def __init__(
        self,
        clock: SimClock | None = None,
        *,
        speed: float = 100.0,
        seed: int = 0,
        trays: int = 4,
        loop_ul: float = 100.0,
        faults: AutosamplerFaults | None = None,
        deck: dict[int, Labware] | None = None,
    ) -> None:
        self.clock = clock or SimClock(speed)
        self.seed = seed
        self.trays = trays
        self.loop_ul = float(loop_ul)
        self.faults = faults or AutosamplerFaults()
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self.deck: dict[int, Labware] = deck if deck is not None else self._default_deck()
        self._staged: dict[str, Labware] = {}
        self.volume_ul = 5.0
        self.draw_speed_ul_s = 5.0
        self.temp_setpoint_c = AMBIENT_C
        self.temp_actual_c = AMBIENT_C
        self.door_is_open = False
        self.fault_code = 0
        self.fault_text = ""
        self.injections: list[InjectionEvent] = []
        self.started = 0
        self.done = 0
        self.busy_replies = 0
        self._op: _Operation | None = None
        self._last_t = self.clock.now()
        self._listeners: list[InjectionListener] = []
        self._timer: threading.Timer | None = None

    # ----------------------------------------------------------------- deck
    def _fill(self, fmt: LabwareFormat, count: int, lo: float, hi: float) -> dict[str, float]:
        return {s: round(self._rng.uniform(lo, hi), 1) for s in sites(fmt)[:count]}

    def _default_deck(self) -> dict[int, Labware]:
        rng = self._rng
        code96, plate96 = f"PL{rng.randrange(10**6):06d}", self._fill(PLATE_96, 48, 40, 60)
        code384, plate384 = f"PL{rng.randrange(10**6):06d}", self._fill(PLATE_384, 48, 20, 30)
        vials = self._fill(VIAL_RACK_54, 24, 800, 1200)
        labels = {s: f"V{rng.randrange(10**8):08d}" for s in list(vials)[:23]}  # 24: unlabelled
        deck = {
            1: Labware(PLATE_96, code96, plate96),
            2: Labware(PLATE_384, code384, plate384),
            3: Labware(VIAL_RACK_54, f"RK{rng.randrange(10**6):06d}", vials, labels),
        }
        return {k: v for k, v in deck.items() if k <= self.trays}

    def load_labware(self, tray: int, labware: Labware) -> None:
        """Put ``labware`` in ``tray`` directly (the operator, or the prep robot's hand-over)."""
        with self.lock:
            self.deck[parse_tray(tray, self.trays)] = labware

    def stage_labware(self, labware: Labware) -> None:
        """Stage labware in the loading drawer: a ``LOAD`` naming its barcode takes it."""
        if not labware.barcode:
            raise InputError("staged labware needs a barcode", field="barcode", value=None)
        with self.lock:
            self._staged[labware.barcode] = labware

    def add_injection_listener(self, callback: InjectionListener) -> None:
        """Call ``callback(position, volume_ul, sim_time_s)`` at each injection (valve switch)."""
        with self.lock:
            self._listeners.append(callback)

    # --------------------------------------------------------------- faults
    def door_open(self) -> None:
        """Open the door: a running operation stops and latches a fault."""
        events = self._sync()
        with self.lock:
            self.door_is_open = True
            if self._op is not None:
                kind = self._op.kind
                self._stop_operation()
                self._latch_fault(Code.DOOR_OPEN, f"Door opened during {kind}")
        self._fire(events)

    def door_close(self) -> None:
        """Close the door (a latched fault stays until cleared)."""
        with self.lock:
            self.door_is_open = False

    def drop_line(self, frames: int = 1) -> None:
        """Swallow the next ``frames`` requests and drop the line."""
        with self.lock:
            self.faults.drop_frames += frames

    def corrupt_checksums(self, replies: int = 1) -> None:
        """Send the next ``replies`` replies with a wrong checksum."""
        with self.lock:
            self.faults.corrupt_replies += replies

    def nak_frames(self, frames: int = 1) -> None:
        """Answer the next ``frames`` requests with NAK."""
        with self.lock:
            self.faults.nak_frames += frames

    def inject_error(self, code: int = Code.HARDWARE) -> None:
        """Answer the next command with ``ERROR <code>``."""
        with self.lock:
            self.faults.error_codes.append(int(code))

    def remove_sample(self, position: str) -> None:
        """Empty a position: injecting from it fails with 'vial not found'."""
        pos = parse_position(position, max_trays=self.trays)
        with self.lock:
            lab = self.deck.get(pos.tray)
            if lab is not None:
                lab.volumes.pop(pos.site, None)

    def clear_faults(self) -> None:
        """Disarm every transport and error fault (the door and latched faults stay)."""
        with self.lock:
            self.faults = AutosamplerFaults()

    def take_error(self) -> None:
        """Raise the next queued error-code fault, if any."""
        with self.lock:
            if self.faults.error_codes:
                raise OperationRefused(self.faults.error_codes.pop(0))

    # ----------------------------------------------------------- time model
    def _advance(self) -> list[InjectionEvent]:
        """Bring the model to the clock's now; return injections that became due."""
        now = self.clock.now()
        dt = max(now - self._last_t, 0.0)
        self._last_t = now
        k = math.exp(-dt / TEMP_TAU_S)
        self.temp_actual_c = self.temp_setpoint_c + (self.temp_actual_c - self.temp_setpoint_c) * k
        events: list[InjectionEvent] = []
        op = self._op
        if op is None:
            return events
        if op.kind == "INJECT" and not op.injected and now >= op.inject_at:
            events.append(self._switch_valve(op))
        if now >= op.end:
            if op.kind == "INJECT":
                self.done = op.number
            self._op = None
        return events

    def _switch_valve(self, op: _Operation) -> InjectionEvent:
        assert op.position is not None
        op.injected = True
        self._take_volume(op.position, op.volume_ul)
        event = InjectionEvent(op.number, str(op.position), op.volume_ul, op.inject_at)
        self.injections.append(event)
        return event

    def _take_volume(self, pos: Position, volume: float) -> None:
        lab = self.deck.get(pos.tray)
        if lab is not None and pos.site in lab.volumes:
            lab.volumes[pos.site] = round(max(lab.volumes[pos.site] - volume, 0.0), 3)

    def _sync(self) -> list[InjectionEvent]:
        with self.lock:
            return self._advance()

    def _fire(self, events: list[InjectionEvent]) -> None:
        for ev in events:
            for callback in list(self._listeners):
                try:
                    callback(ev.position, ev.volume_ul, ev.sim_time_s)
                except Exception:
                    log.exception("injection listener %r failed", callback)

    def catch_up(self) -> None:
        """Advance the model to now and call the listeners of injections that became due."""
        self._fire(self._sync())

    def _on_timer(self) -> None:
        self.catch_up()
        with self.lock:
            op = self._op
            if op is not None and op.kind == "INJECT" and not op.injected:
                self._schedule(op)  # the clock was slowed down: not due yet

    def _schedule(self, op: _Operation) -> None:
        delay = max(op.inject_at - self.clock.now(), 0.0) / self.clock.speed
        self._timer = threading.Timer(delay + 0.001, self._on_timer)
        self._timer.daemon = True
        self._timer.start()

    def close(self) -> None:
        """Cancel the pending injection timer."""
        with self.lock:
            if self._timer is not None:
                self._timer.cancel()

    # ------------------------------------------------------------- helpers
    @property
    def state(self) -> str:
        """Device state as last advanced (``IDLE``, ``BUSY``, ``INJECTING``, ...)."""
        if self.door_is_open:
            return "DOOR_OPEN"
        if self.fault_code:
            return "FAULT"
        return self._op.state if self._op is not None else "IDLE"

    def _latch_fault(self, code: int, text: str) -> None:
        self.fault_code, self.fault_text = int(code), text

    def _stop_operation(self) -> None:
        op, self._op = self._op, None
        if op is None or op.kind != "INJECT" or op.injected or op.position is None:
            return
        drawing_for = self.clock.now() - (op.start + MOVE_S)
        drawn = min(max(drawing_for, 0.0) * self.draw_speed_ul_s, op.volume_ul)
        self._take_volume(op.position, drawn)  # drawn sample goes to waste

    def _require_mechanism(self) -> None:
        if self.door_is_open:
            raise OperationRefused(Code.DOOR_OPEN)
        if self.fault_code:
            raise OperationRefused(Code.FAULT_ACTIVE, f"Fault active: {self.fault_text}")
        if self._op is not None:
            self.busy_replies += 1
            raise DeviceBusy(self._op.state)

    def labware_in(self, tray: int) -> Labware:
        """The labware in ``tray`` (refused with code 30 when the tray is empty)."""
        lab = self.deck.get(tray)
        if lab is None:
            raise OperationRefused(Code.NO_LABWARE, f"No labware in tray {tray}")
        return lab

    def resolve_position(self, text: str) -> tuple[Position, Labware]:
        """Parse a position against the labware in its tray (refused with code 30 or 33)."""
        try:
            pos = parse_position(text, max_trays=self.trays)
            lab = self.labware_in(pos.tray)
            return parse_position(text, lab.fmt, self.trays), lab
        except InputError as exc:
            raise OperationRefused(
                Code.BAD_POSITION, f"Bad position {text}: {exc.message} ({exc.allowed})"
            ) from exc

    def resolve_tray(self, text: str) -> int:
        """Parse a tray number (refused with code 33 when there is no such tray)."""
        try:
            return parse_tray(text, self.trays)
        except InputError as exc:
            raise OperationRefused(Code.BAD_POSITION, f"No tray {text} (1..{self.trays})") from exc

    # ---------------------------------------------------------- operations
    # Each returns the ACK data or raises OperationRefused / DeviceBusy.
    def load(self, tray_text: str, code: str, barcode: str | None) -> dict[str, object]:
        """Move labware from the loading drawer into an empty tray (BUSY while moving)."""
        with self.lock:
            tray = self.resolve_tray(tray_text)
            try:
                fmt = format_by_code(code)
            except InputError as exc:
                raise OperationRefused(Code.BAD_ARGUMENT, f"Unknown labware {code}") from exc
            self._require_mechanism()
            if tray in self.deck:
                raise OperationRefused(Code.TRAY_OCCUPIED, f"Tray {tray} holds labware")
            lab = self._staged.pop(barcode, None) if barcode else None
            if lab is None:
                count = self._rng.randrange(fmt.size // 4, fmt.size // 2 + 1)
                hi = fmt.max_volume_ul * 0.5
                lab = Labware(fmt, barcode, self._fill(fmt, count, hi * 0.6, hi))
            elif lab.fmt != fmt:
                raise OperationRefused(Code.BAD_ARGUMENT, f"Labware {barcode} is {lab.fmt.code}")
            self.deck[tray] = lab
            now = self.clock.now()
            self._op = _Operation("LOAD", "BUSY", now, now + LABWARE_MOVE_S)
            return {"TRAY": tray, "TYPE": fmt.code, "BARCODE": lab.barcode or "-"}

    def unload(self, tray_text: str) -> dict[str, object]:
        """Move the labware of a tray out to the drawer (BUSY while moving)."""
        with self.lock:
            tray = self.resolve_tray(tray_text)
            self._require_mechanism()
            lab = self.labware_in(tray)
            del self.deck[tray]
            now = self.clock.now()
            self._op = _Operation("UNLOAD", "BUSY", now, now + LABWARE_MOVE_S)
            return {"TRAY": tray, "BARCODE": lab.barcode or "-"}

    def _ranged(self, name: str, text: str, lo: float, hi: float, unit: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not lo <= value <= hi:
            raise OperationRefused(Code.OUT_OF_RANGE, f"{name} {text} {unit} not in {lo:g}..{hi:g}")
        return value

    def set_volume(self, text: str) -> None:
        """Set the default injection volume (µL, 0.1 .. loop volume)."""
        with self.lock:
            self.volume_ul = self._ranged("volume", text, VOLUME_MIN_UL, self.loop_ul, "uL")

    def set_speed(self, text: str) -> None:
        """Set the draw speed (µL/s, 0.1 .. 50)."""
        with self.lock:
            self.draw_speed_ul_s = self._ranged("speed", text, *DRAW_SPEED_RANGE_UL_S, "uL/s")

    def set_temperature(self, text: str) -> None:
        """Set the tray temperature setpoint (°C, 4 .. 40)."""
        with self.lock:
            self.temp_setpoint_c = self._ranged("temperature", text, *TEMPERATURE_RANGE_C, "C")

    def wash(self, solvent: str, cycles_text: str) -> dict[str, object]:
        """Wash the needle: ``cycles`` cycles of ``solvent`` (WASHING for 5 s per cycle)."""
        with self.lock:
            if solvent.upper() not in WASH_SOLVENTS:
                raise OperationRefused(Code.BAD_ARGUMENT, f"Solvent {solvent} not WEAK/STRONG")
            cycles_f = self._ranged("cycles", cycles_text, *WASH_CYCLES_RANGE, "cycles")
            if not cycles_f.is_integer():
                raise OperationRefused(
                    Code.BAD_ARGUMENT, f"cycles {cycles_text} not a whole number"
                )
            cycles = int(cycles_f)
            self._require_mechanism()
            now = self.clock.now()
            end = now + cycles * WASH_CYCLE_S
            self._op = _Operation("WASH", "WASHING", now, end)
            return {"SOLVENT": solvent.upper(), "CYCLES": cycles, "UNTIL": f"{end:.3f}"}

    def inject(self, position: str, volume_text: str | None) -> dict[str, object]:
        """Start an injection: move, draw, switch the valve (listeners), return (INJECTING)."""
        with self.lock:
            pos, lab = self.resolve_position(position)
            volume = self.volume_ul
            if volume_text is not None:
                volume = self._ranged("volume", volume_text, VOLUME_MIN_UL, self.loop_ul, "uL")
            self._require_mechanism()
            available = lab.volumes.get(pos.site, 0.0)
            if available <= 0:
                raise OperationRefused(Code.VIAL_NOT_FOUND, f"No sample at {pos}")
            if volume > available - DEAD_VOLUME_UL:
                raise OperationRefused(
                    Code.INSUFFICIENT_VOLUME, f"{pos} holds {available:g} uL, needs {volume:g}"
                )
            now = self.clock.now()
            inject_at = now + MOVE_S + volume / self.draw_speed_ul_s
            self.started += 1
            op = _Operation(
                "INJECT",
                "INJECTING",
                now,
                inject_at + RETURN_S,
                self.started,
                pos,
                volume,
                inject_at,
            )
            self._op = op
            self._schedule(op)
            return {"INJ": op.number, "POS": pos, "VOLUME": f"{volume:g}", "AT": f"{inject_at:.3f}"}

    def abort(self) -> dict[str, object]:
        """Stop the running operation (a pending injection does not happen)."""
        with self.lock:
            kind = self._op.kind if self._op is not None else "NONE"
            self._stop_operation()
            return {"ABORTED": kind}

    def clear_fault(self) -> dict[str, object]:
        """Clear a latched fault (refused while the door is open)."""
        with self.lock:
            if self.door_is_open:
                raise OperationRefused(Code.DOOR_OPEN, "Close the door before clearing")
            self.fault_code, self.fault_text = 0, ""
            return {"STATE": self.state}
