"""Fault injection for the simulated mass spectrometer (see docs/simulator.md)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from msuite.drivers.protocol.codes import ErrorCode
from msuite.hardware_sim.ms_replies import CommandRejectedError

__all__ = ["FaultInjectionMixin", "FaultPlan"]


@dataclass(slots=True)
class FaultPlan:
    """Faults armed on the instrument (per session at start, or at run time).

    Transport faults (``drop``, ``stall_s``, ``garbage``, ``partial``) fire once, on the next
    command any client sends (``garbage``/``partial``: on the next block reply). ``vacuum_at`` and
    ``spray_at`` are run times (seconds) at which the fault starts in the next run; ``gap_at``
    loses one scan at that run time.
    """

    drop: bool = False
    stall_s: float = 0.0
    garbage: bool = False
    partial: bool = False
    vacuum_at: float | None = None
    spray_at: float | None = None
    gap_at: float | None = None


class FaultInjectionMixin:
    """Arming and consuming faults; mixed into the simulated instrument."""

    lock: threading.RLock
    faults: FaultPlan
    acq_state: str
    _run_time: Callable[[], float]
    push_error: Callable[..., None]
    catch_up: Callable[[], None]

    def inject(self, kind: str, value: float | None = None) -> None:
        """Arm a fault now: ``drop``, ``stall`` (seconds), ``garbage``, ``partial``,
        ``error`` (code), ``vacuum`` / ``spray`` / ``gap`` (run time, default now), ``clear``."""
        with self.lock:
            f = self.faults
            now = self._run_time() if self.acq_state == "RUNNING" else 0.0
            if kind == "drop":
                f.drop = True
            elif kind == "stall":
                f.stall_s = 5.0 if value is None else float(value)
            elif kind == "garbage":
                f.garbage = True
            elif kind == "partial":
                f.partial = True
            elif kind == "error":
                self.push_error(int(value if value is not None else ErrorCode.HARDWARE_ERROR))
            elif kind == "vacuum":
                f.vacuum_at = now if value is None else float(value)
            elif kind == "spray":
                f.spray_at = now if value is None else float(value)
            elif kind == "gap":
                f.gap_at = now if value is None else float(value)
            elif kind == "clear":
                self.faults = FaultPlan()
            else:
                raise CommandRejectedError(ErrorCode.ILLEGAL_PARAMETER_VALUE, f"fault {kind}")
            self.catch_up()

    def take_transport_fault(self, block_reply: bool) -> str | None:
        """Consume the transport fault that applies to this reply, if any."""
        with self.lock:
            f = self.faults
            if f.drop:
                f.drop = False
                return "drop"
            if f.stall_s > 0:
                return "stall"
            if block_reply and f.garbage:
                f.garbage = False
                return "garbage"
            if block_reply and f.partial:
                f.partial = False
                return "partial"
            return None

    def take_stall(self) -> float:
        """Consume and return the armed stall duration (seconds)."""
        with self.lock:
            s, self.faults.stall_s = self.faults.stall_s, 0.0
            return s
