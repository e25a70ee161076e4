"""Byte-stream transport over a pyserial port: real serial ports, pseudo-terminals, ``socket://``.

Serial-line devices (LC pump, autosampler, sample-prep robot) speak their own framings; this
class only moves bytes with timeouts and turns pyserial's failures into the driver errors:
no (complete) reply in time -> :class:`~msuite.drivers.errors.InstrumentTimeoutError`, a
vanished port or closed socket -> :class:`~msuite.drivers.errors.ConnectionLostError`.

Any URL :func:`serial.serial_for_url` accepts works: ``/dev/ttyUSB0``, ``/dev/pts/7``,
``socket://127.0.0.1:5100``, ``rfc2217://...``, ``loop://``.
"""

from __future__ import annotations

import contextlib
import time

import serial

from msuite.drivers.errors import ConnectionLostError, InstrumentTimeoutError

__all__ = ["SerialTransport"]


class SerialTransport:
    """One open serial line with per-operation timeouts.

    Parameters
    ----------
    port
        Device path or pyserial URL.
    baudrate
        Line speed (ignored by ptys and sockets).
    timeout_s
        Time allowed for a whole reply (a terminator or a fixed count of bytes).
    """

    def __init__(self, port: str, *, baudrate: int = 9600, timeout_s: float = 2.0) -> None:
        self.port = port
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self._ser: serial.SerialBase | None = None

    @property
    def is_open(self) -> bool:
        """True while the port is open."""
        return self._ser is not None

    def open(self) -> None:
        """Open the port (raises ConnectionLostError when it cannot be opened)."""
        try:
            self._ser = serial.serial_for_url(
                self.port,
                baudrate=self.baudrate,
                timeout=min(self.timeout_s, 0.1),
                write_timeout=self.timeout_s,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            self._ser = None
            raise ConnectionLostError(f"cannot open {self.port}: {exc}", value=self.port) from exc

    def close(self) -> None:
        """Close the port (never raises)."""
        ser, self._ser = self._ser, None
        if ser is not None:
            with contextlib.suppress(Exception):
                ser.close()

    def reopen(self) -> None:
        """Close and open again, discarding anything half-read."""
        self.close()
        self.open()

    def _port(self) -> serial.SerialBase:
        if self._ser is None:
            self.open()
        assert self._ser is not None
        return self._ser

    def _lost(self, exc: Exception, what: str) -> ConnectionLostError:
        self.close()
        return ConnectionLostError(f"line to {self.port} lost: {exc}", field="command", value=what)

    def write(self, data: bytes, what: str = "") -> None:
        """Send ``data`` completely."""
        try:
            self._port().write(data)
            self._port().flush()
        except serial.SerialTimeoutException as exc:
            raise InstrumentTimeoutError(
                f"write not accepted within {self.timeout_s:g} s", field="command", value=what
            ) from exc
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc, what) from exc

    def discard_input(self) -> None:
        """Drop bytes already received (stale replies after a timeout)."""
        with contextlib.suppress(serial.SerialException, OSError):
            self._port().reset_input_buffer()

    def _read_some(self, n: int, what: str) -> bytes:
        try:
            return self._port().read(n)
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc, what) from exc

    def read_until(self, terminator: bytes, what: str = "", max_size: int = 1 << 20) -> bytes:
        """Read up to and including ``terminator``; return the bytes before it."""
        deadline = time.monotonic() + self.timeout_s
        buf = bytearray()
        while True:
            chunk = self._read_some(1, what)
            if chunk:
                buf += chunk
                if buf.endswith(terminator):
                    return bytes(buf[: -len(terminator)])
                if len(buf) > max_size:
                    raise InstrumentTimeoutError(
                        f"reply longer than {max_size} bytes without terminator",
                        field="command",
                        value=what,
                    )
            elif time.monotonic() >= deadline:
                raise InstrumentTimeoutError(
                    f"no complete reply within {self.timeout_s:g} s",
                    field="command",
                    value=what,
                    received=bytes(buf),
                )

    def read_exact(self, n: int, what: str = "") -> bytes:
        """Read exactly ``n`` bytes."""
        deadline = time.monotonic() + self.timeout_s
        buf = bytearray()
        while len(buf) < n:
            chunk = self._read_some(n - len(buf), what)
            buf += chunk
            if not chunk and time.monotonic() >= deadline:
                raise InstrumentTimeoutError(
                    f"got {len(buf)} of {n} bytes within {self.timeout_s:g} s",
                    field="command",
                    value=what,
                    received=bytes(buf),
                )
        return bytes(buf)
