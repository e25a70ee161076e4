"""Shared fixtures: a simulated mass spectrometer served on loopback TCP, and a watchdog."""

from __future__ import annotations

import faulthandler
from collections.abc import Iterator

import numpy as np
import pytest

from msuite.drivers.ms import MassSpectrometer
from msuite.drivers.protocol import SRM_ROW_DTYPE
from msuite.hardware_sim.ms_instrument import SimulatedMassSpec
from msuite.hardware_sim.server import MassSpecServer

#: Hard limit per test: a hang dumps the stacks and ends the run instead of blocking CI.
WATCHDOG_S = 60


@pytest.fixture(autouse=True)
def _watchdog() -> Iterator[None]:
    faulthandler.dump_traceback_later(WATCHDOG_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def sim() -> Iterator[MassSpecServer]:
    """A triple-quad simulator at 100x on 127.0.0.1, random free port."""
    server = MassSpecServer(SimulatedMassSpec("tq", speed=100.0, seed=3)).start()
    yield server
    server.stop()


@pytest.fixture
def orbitrap_sim() -> Iterator[MassSpecServer]:
    """An Orbitrap-class simulator at 100x."""
    server = MassSpecServer(SimulatedMassSpec("orbitrap", speed=100.0, seed=3)).start()
    yield server
    server.stop()


@pytest.fixture
def ms(sim: MassSpecServer) -> Iterator[MassSpectrometer]:
    """A driver connected to ``sim``."""
    driver = MassSpectrometer(sim.resource, timeout_s=1.0, retries=2).connect()
    yield driver
    driver.close()


def srm_table(rows: list[tuple[float, float]], dwell_ms: float = 10.0) -> np.ndarray:
    """An SRM table over the whole run from (precursor, product) pairs."""
    table = np.zeros(len(rows), dtype=SRM_ROW_DTYPE)
    table["id"] = np.arange(1, len(rows) + 1)
    table["precursor_mz"] = [r[0] for r in rows]
    table["product_mz"] = [r[1] for r in rows]
    table["dwell_ms"] = dwell_ms
    table["collision_energy"] = 25.0
    table["rt_start"] = -1.0
    table["rt_stop"] = -1.0
    return table


#: LVNEVTEFAK 2+ and two y ions, light and heavy (K +8.0142).
LVN_LIGHT = [(575.3111, 937.4625), (575.3111, 823.4196)]
LVN_HEAVY = [(579.3182, 945.4767), (579.3182, 831.4338)]
