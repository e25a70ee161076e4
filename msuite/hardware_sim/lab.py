"""A whole simulated LC-MS bench: every device on one clock, wired like the real thing.

The autosampler's injection closes the contact that starts the LC pump's armed gradient and the
mass spectrometer's armed run (``contact_closure(at_s)``, at the simulated instant of the valve
switch), and a plate the prep robot finishes is handed to the autosampler's loading drawer (a
``LOAD`` naming its barcode takes it). Each device is served on its own transport exactly as a
driver would meet real hardware: the mass spectrometer on VISA TCP, the serial devices on
pseudo-terminals (or TCP with ``serial="tcp"``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from msuite.core.errors import InputError
from msuite.drivers.protocol.plates import PLATE_96, PLATE_384
from msuite.hardware_sim.autosampler_server import AutosamplerServer, PtyAutosamplerServer
from msuite.hardware_sim.autosampler_sim import Labware, SimulatedAutosampler
from msuite.hardware_sim.clock import SimClock
from msuite.hardware_sim.lc_pump_server import LCPumpServer, PtyLCPumpServer
from msuite.hardware_sim.lc_pump_sim import SimulatedLCPump
from msuite.hardware_sim.ms_instrument import SimulatedMassSpec
from msuite.hardware_sim.prep_robot_server import PrepRobotServer, PtyPrepRobotServer
from msuite.hardware_sim.prep_robot_sim import SimulatedPrepRobot
from msuite.hardware_sim.server import MassSpecServer

__all__ = ["DEVICE_KINDS", "LabEvent", "SimulatedLab"]

log = logging.getLogger(__name__)

#: device kinds in the order ``msuite sim start --all`` prints them
DEVICE_KINDS = ("mass_spectrometer", "lc_pump", "autosampler", "prep_robot")
#: wall seconds between catch-up ticks of the lazily advancing devices
TICK_S = 0.02
#: volume left in each well after the clean-up's elution (µL), handed to the autosampler
ELUATE_UL = 100.0


@dataclass(frozen=True, slots=True)
class LabEvent:
    """Something that happened between devices (for tests, logs and the GUI)."""

    sim_time_s: float
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


class SimulatedLab:
    """The four simulated devices on one shared clock, coupled and served.

    Parameters
    ----------
    speed
        Clock speed shared by every device (simulated seconds per wall second).
    seed
        Seed of every device (same seed, same bench).
    preset
        Mass-spectrometer preset.
    serial
        ``"pty"`` (default) serves the serial devices on pseudo-terminals; ``"tcp"`` on
        loopback TCP (``socket://`` URLs).
    host
        Address the TCP servers bind (loopback unless told otherwise).
    """

    def __init__(
        self,
        *,
        speed: float = 100.0,
        seed: int = 0,
        preset: str = "tq",
        serial: str = "pty",
        host: str = "127.0.0.1",
    ) -> None:
        if serial not in ("pty", "tcp"):
            raise InputError("unknown serial transport", field="serial", value=serial,
                             allowed="pty, tcp")
        self.clock = SimClock(speed)
        self.ms = SimulatedMassSpec(preset, seed=seed, clock=self.clock)
        self.pump = SimulatedLCPump(clock=self.clock, seed=seed)
        self.autosampler = SimulatedAutosampler(clock=self.clock, seed=seed)
        self.robot = SimulatedPrepRobot(clock=self.clock, seed=seed)
        self.serial = serial
        self.host = host
        self.events: list[LabEvent] = []
        self._events_lock = threading.Lock()
        self._handed_over: set[str] = set()
        self._servers: dict[str, Any] = {}
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self.autosampler.add_injection_listener(self._on_injection)
        self.robot.add_well_listener(self._on_well)
        self.pump.add_run_listener(self._on_pump_run)

    # ----------------------------------------------------------------------- coupling
    def _record(self, t: float, kind: str, **detail: Any) -> None:
        with self._events_lock:
            self.events.append(LabEvent(t, kind, detail))

    def _on_injection(self, position: str, volume_ul: float, sim_time_s: float) -> None:
        """The injection valve switched: close the start contacts of the pump and the MS."""
        pump_started = self.pump.contact_closure(at_s=sim_time_s)
        ms_started = self.ms.contact_closure(at_s=sim_time_s)
        self._record(sim_time_s, "injection", position=position, volume_ul=volume_ul,
                     pump_started=pump_started, ms_started=ms_started)

    def _on_pump_run(self, what: str, sim_time_s: float) -> None:
        self._record(sim_time_s, f"gradient_{what}")

    def _on_well(self, plate_id: str, well: str, status: str, sim_time_s: float) -> None:
        if not status.startswith(("READY", "FAILED")) or plate_id in self._handed_over:
            return
        robot = self.robot
        with robot.lock:
            samples = set(robot.samples)
            states = {w: s[0].value for w, s in robot.wells.items()}
            plate_type = robot.plate_type
            if robot.plate_id != plate_id:
                return
        if not samples or any(states.get(w) not in ("READY", "FAILED") for w in samples):
            return
        ready = sorted(w for w in samples if states.get(w) == "READY")
        labware = Labware(
            fmt=PLATE_384 if plate_type == 384 else PLATE_96,
            barcode=plate_id,
            volumes=dict.fromkeys(ready, ELUATE_UL),
        )
        self.autosampler.stage_labware(labware)
        self._handed_over.add(plate_id)
        self._record(sim_time_s, "plate_handed_over", plate_id=plate_id, ready_wells=len(ready),
                     failed_wells=len(samples) - len(ready))

    def events_of(self, kind: str) -> list[LabEvent]:
        """Events of one kind, in the order they happened."""
        with self._events_lock:
            return [e for e in self.events if e.kind == kind]

    # ------------------------------------------------------------------------ serving
    def _tick(self) -> None:
        """Advance the lazily simulated devices so their events fire without a client poll."""
        while not self._stop.wait(TICK_S):
            for device in (self.pump, self.robot):
                try:
                    device.tick() if hasattr(device, "tick") else device.catch_up()
                except Exception:  # a device fault must not stop the bench
                    log.exception("simulated %s failed to advance", type(device).__name__)

    def start(self) -> SimulatedLab:
        """Start every server and the ticker; see :meth:`resources`."""
        self._servers["mass_spectrometer"] = MassSpecServer(self.ms, host=self.host).start()
        if self.serial == "pty":
            self._servers["lc_pump"] = PtyLCPumpServer(self.pump).start()
            self._servers["autosampler"] = PtyAutosamplerServer(self.autosampler).start()
            self._servers["prep_robot"] = PtyPrepRobotServer(self.robot).start()
        else:
            self._servers["lc_pump"] = LCPumpServer(self.pump, host=self.host).start()
            self._servers["autosampler"] = AutosamplerServer(self.autosampler,
                                                             host=self.host).start()
            self._servers["prep_robot"] = PrepRobotServer(self.robot, host=self.host).start()
        self._ticker = threading.Thread(target=self._tick, name="lab-ticker", daemon=True)
        self._ticker.start()
        return self

    def resources(self) -> list[tuple[str, str]]:
        """(device kind, resource string) per device: a VISA string or a serial port/URL."""
        return [(kind, self._servers[kind].resource) for kind in DEVICE_KINDS]

    def resource(self, kind: str) -> str:
        """Resource string of one device kind (see :data:`DEVICE_KINDS`)."""
        return self._servers[kind].resource

    def stop(self) -> None:
        """Stop the ticker and every server."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
        for server in self._servers.values():
            server.stop()

    def __enter__(self) -> SimulatedLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

