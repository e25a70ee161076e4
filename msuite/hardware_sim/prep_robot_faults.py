"""Fault injection and the repeated-request memory of the simulated prep robot.

Mixed into :class:`~msuite.hardware_sim.prep_robot_sim.SimulatedPrepRobot`; the methods use
its lock, state, reservoirs and reply table.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from msuite.drivers.protocol.prep_robot_codes import REPLY_MEMORY, DoorState, RobotState

__all__ = ["PrepFaultPlan", "PrepFaultsMixin"]


@dataclass(slots=True)
class PrepFaultPlan:
    """Faults armed on the robot, at construction or at run time.

    Transport faults count requests: ``drop_next`` requests are executed but their reply is
    lost and the line dropped; ``checksum_next`` replies go out with a wrong checksum;
    ``error_next`` answers the next request with that error code without executing it.
    ``tip_failures`` pick-ups fail (the next N), as do pick-ups for ``tip_fail_wells``;
    ``tip_failure_rate`` fails pick-ups at random (seeded). ``door_open`` starts with the door
    open; ``empty_reservoirs`` start empty.
    """

    drop_next: int = 0
    checksum_next: int = 0
    error_next: int | None = None
    tip_failures: int = 0
    tip_fail_wells: tuple[str, ...] = ()
    tip_failure_rate: float = 0.0
    door_open: bool = False
    empty_reservoirs: tuple[str, ...] = ()



class PrepFaultsMixin:
    """Fault arming (door, tips, line, checksums, error codes, reagents) and reply memory."""

    lock: threading.RLock
    faults: PrepFaultPlan
    door: DoorState
    state: RobotState
    pause_reason: str
    reply_memory_s: float
    _replies: dict[tuple[int, str], tuple[bytes, float]]
    transaction: Callable[[], AbstractContextManager[None]]
    _reservoir: Callable[[str], Any]

    # ------------------------------------------------------------------------ faults
    def door_open(self) -> None:
        """Open the front door: a running step pauses (reason DOOR); motion is refused."""
        with self.transaction():
            self.door = DoorState.OPEN
            if self.state is RobotState.BUSY:
                self.state, self.pause_reason = RobotState.PAUSED, "DOOR"

    def door_close(self) -> None:
        """Close the door (a step paused by the door waits for RESUME)."""
        with self.transaction():
            self.door = DoorState.CLOSED

    def fail_tip_pickup(self, count: int = 1, wells: tuple[str, ...] = ()) -> None:
        """Make the next ``count`` tip pick-ups fail, and those for ``wells``."""
        with self.lock:
            self.faults.tip_failures += int(count)
            self.faults.tip_fail_wells += tuple(w.upper() for w in wells)

    def drop_line(self, count: int = 1) -> None:
        """Lose the replies of the next ``count`` requests and drop the line each time."""
        with self.lock:
            self.faults.drop_next += int(count)

    def corrupt_checksums(self, count: int = 1) -> None:
        """Send the next ``count`` replies with a wrong checksum."""
        with self.lock:
            self.faults.checksum_next += int(count)

    def inject_error(self, code: int) -> None:
        """Answer the next request with ``ER code`` without executing it."""
        with self.lock:
            self.faults.error_next = int(code)

    def empty_reservoir(self, name: str) -> None:
        """Drain a reservoir (the next dispense from it faults with REAGENT_EMPTY)."""
        with self.lock:
            self._reservoir(name).level_ul = 0.0

    def clear_faults(self) -> None:
        """Disarm every armed fault (door and reservoir levels are left as they are)."""
        with self.lock:
            self.faults = PrepFaultPlan()

    def take_transport_fault(self) -> str | None:
        """Consume the transport fault for this reply: ``drop``, ``checksum`` or None."""
        with self.lock:
            if self.faults.drop_next > 0:
                self.faults.drop_next -= 1
                return "drop"
            if self.faults.checksum_next > 0:
                self.faults.checksum_next -= 1
                return "checksum"
            return None

    def take_injected_error(self) -> int | None:
        """Consume the injected error code, if any."""
        with self.lock:
            code, self.faults.error_next = self.faults.error_next, None
            return code

    # ------------------------------------------------------------ repeated-request memory
    def remembered_reply(self, request_id: int, text: str) -> bytes | None:
        """The reply already sent to this state-changing request (same id and text), if any.

        Replies are remembered for :attr:`reply_memory_s` wall seconds (a retry comes within a
        few timeouts), so an id reused much later, after the host's ids wrapped, is executed.
        """
        with self.lock:
            entry = self._replies.get((request_id, text))
            if entry is None or time.monotonic() - entry[1] > self.reply_memory_s:
                return None
            return entry[0]

    def remember_reply(self, request_id: int, text: str, reply: bytes) -> None:
        """Keep the reply of a state-changing request for a repeat after a lost reply."""
        with self.lock:
            self._replies.pop((request_id, text), None)
            self._replies[(request_id, text)] = (reply, time.monotonic())
            while len(self._replies) > REPLY_MEMORY:
                del self._replies[next(iter(self._replies))]
