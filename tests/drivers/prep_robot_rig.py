"""Shared prep-robot test rig: simulator, server (pty or TCP) and a connected driver."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from msuite.drivers.errors import (
    InstrumentError,
)
from msuite.drivers.prep_robot import (
    PrepRobot,
)
from msuite.hardware_sim.prep_robot_server import PrepRobotServer, PtyPrepRobotServer
from msuite.hardware_sim.prep_robot_sim import SimulatedPrepRobot

WAIT_S = 30.0
FAST = 1e6


@dataclass
class Rig:
    robot: SimulatedPrepRobot
    server: PrepRobotServer | PtyPrepRobotServer
    driver: PrepRobot
    kind: str


@contextmanager
def make_rig(kind: str, **robot_kwargs: object) -> Iterator[Rig]:
    robot_kwargs.setdefault("speed", 1000.0)
    robot = SimulatedPrepRobot(seed=1, **robot_kwargs)  # type: ignore[arg-type]
    server_cls = PtyPrepRobotServer if kind == "pty" else PrepRobotServer
    server = server_cls(robot).start()
    driver = PrepRobot(server.resource, timeout_s=1.0, retries=2)
    try:
        yield Rig(robot, server, driver, kind)
    finally:
        driver.close()
        server.stop()


@pytest.fixture(params=["pty", "tcp"])
def robot_rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    with make_rig(request.param) as r:
        yield r


@pytest.fixture
def robot_pty() -> Iterator[Rig]:
    with make_rig("pty") as r:
        yield r


def _code(info: pytest.ExceptionInfo[InstrumentError]) -> int:
    return info.value.code
