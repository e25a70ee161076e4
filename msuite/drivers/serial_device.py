"""Base of the serial-line device drivers: one lock per device, bounded retries, reconnect.

Each driver (LC pump, autosampler, prep robot) frames its own requests and parses its own
replies; :meth:`SerialDevice._exchange` runs one request/reply under the device's lock and,
for requests that are safe to repeat, retries after a timeout or a lost line, reopening the
port first (a timeout leaves the byte stream out of step, so the port is always resynchronised).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from msuite.drivers.retry import call_with_retry
from msuite.drivers.serial_transport import SerialTransport

__all__ = ["SerialDevice"]

T = TypeVar("T")


class SerialDevice:
    """A device on a serial line.

    Parameters
    ----------
    port
        Device path or pyserial URL (``/dev/pts/4``, ``socket://127.0.0.1:5101``).
    name
        Device name used in errors.
    baudrate
        Line speed.
    timeout_s
        Time allowed for each reply.
    retries
        Retries of a repeatable request after a timeout or a lost line (each reopens the port).
    """

    def __init__(
        self,
        port: str,
        *,
        name: str,
        baudrate: int = 9600,
        timeout_s: float = 2.0,
        retries: int = 2,
    ) -> None:
        self.port = port
        self.name = name
        self.retries = retries
        self.reconnects = 0
        self.transport = SerialTransport(port, baudrate=baudrate, timeout_s=timeout_s)
        self._lock = threading.RLock()

    def open(self) -> None:
        """Open the port."""
        with self._lock:
            self.transport.open()

    def close(self) -> None:
        """Close the port."""
        with self._lock:
            self.transport.close()

    def _reconnect(self) -> None:
        self.reconnects += 1
        self.transport.reopen()

    def _exchange(
        self,
        request: bytes,
        read_reply: Callable[[SerialTransport], T],
        *,
        what: str,
        idempotent: bool,
    ) -> T:
        """Send ``request`` and return ``read_reply(transport)``, retrying when allowed."""

        def op() -> T:
            self.transport.write(request, what)
            return read_reply(self.transport)

        with self._lock:
            return call_with_retry(
                op, self._reconnect, retries=self.retries, idempotent=idempotent
            )
