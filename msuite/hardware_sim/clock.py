"""The simulator's clock: instrument seconds since power-on, accelerated or real time."""

from __future__ import annotations

import threading
import time

__all__ = ["SimClock"]


class SimClock:
    """A monotonic clock running ``speed`` times faster than wall time (1.0 = real time).

    The speed can be changed at any time without the clock jumping.
    """

    def __init__(self, speed: float = 100.0) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be > 0, got {speed}")
        self._lock = threading.Lock()
        self._speed = float(speed)
        self._wall0 = time.perf_counter()
        self._sim0 = 0.0

    @property
    def speed(self) -> float:
        """Simulated seconds per wall-clock second."""
        return self._speed

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on."""
        if speed <= 0:
            raise ValueError(f"clock speed must be > 0, got {speed}")
        with self._lock:
            now = time.perf_counter()
            self._sim0 += (now - self._wall0) * self._speed
            self._wall0 = now
            self._speed = float(speed)

    def now(self) -> float:
        """Instrument seconds since power-on."""
        with self._lock:
            return self._sim0 + (time.perf_counter() - self._wall0) * self._speed
