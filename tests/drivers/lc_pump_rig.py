"""Shared LC pump test rig: simulator, server (pty or TCP) and a connected driver."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from msuite.drivers.errors import (
    InstrumentError,
)
from msuite.drivers.lc_pump import (
    Gradient,
    LCPump,
)
from msuite.hardware_sim.lc_pump_server import (
    LCPumpServer,
    PtyLCPumpServer,
)
from msuite.hardware_sim.lc_pump_sim import SimulatedLCPump
from tests.hardware_sim.test_lc_pump_sim import ManualClock

SHORT = Gradient.from_rows([(0, 5, 300), (1, 5, 300), (4, 60, 300), (5, 95, 300)])


@dataclass
class Rig:
    """A simulated pump, its server and a driver connected to it."""

    kind: str
    sim: SimulatedLCPump
    server: LCPumpServer | PtyLCPumpServer
    pump: LCPump
    clock: ManualClock | None = None


def _serve(kind: str, sim: SimulatedLCPump) -> LCPumpServer | PtyLCPumpServer:
    return (LCPumpServer(sim) if kind == "tcp" else PtyLCPumpServer(sim)).start()


def _rig(kind: str, manual: bool, **driver_kwargs) -> Rig:
    clock = ManualClock() if manual else None
    sim = SimulatedLCPump(clock=clock, speed=1000.0, seed=2)
    server = _serve(kind, sim)
    kwargs = {"timeout_s": 0.5, "retries": 2} | driver_kwargs
    return Rig(kind, sim, server, LCPump(server.resource, **kwargs), clock)


@pytest.fixture(params=["pty", "tcp"])
def pump_rig(request) -> Iterator[Rig]:
    """Pump at 1000x (real clock), over a pty and over TCP."""
    r = _rig(request.param, manual=False)
    yield r
    r.pump.close()
    r.server.stop()


@pytest.fixture(params=["pty", "tcp"])
def pump_manual(request) -> Iterator[Rig]:
    """Pump on a clock the test moves, over a pty and over TCP."""
    r = _rig(request.param, manual=True)
    yield r
    r.pump.close()
    r.server.stop()


@pytest.fixture
def pump_pty() -> Iterator[Rig]:
    """Pump on a manual clock over a pty only."""
    r = _rig("pty", manual=True)
    yield r
    r.pump.close()
    r.server.stop()


def _code(info: pytest.ExceptionInfo[InstrumentError]) -> int:
    return info.value.code
