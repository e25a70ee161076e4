"""Message-based transport over a pyvisa resource (TCPIP SOCKET/INSTR, ASRL, USB, GPIB).

The pyvisa-py backend (``"@py"``) is the default; pass another backend (e.g. ``"@ivi"`` or a
path to a VISA library) to use an installed VISA implementation. Every operation has a timeout;
pyvisa's errors become :class:`~msuite.drivers.errors.InstrumentTimeoutError` or
:class:`~msuite.drivers.errors.ConnectionLostError`, and malformed binary blocks become
:class:`~msuite.drivers.errors.ProtocolError`.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import pyvisa
from pyvisa import constants
from pyvisa.errors import VisaIOError

from msuite.drivers.errors import ConnectionLostError, InstrumentTimeoutError, ProtocolError
from msuite.drivers.protocol.blocks import BlockError, encode_block, read_block

__all__ = ["VisaTransport"]

_TIMEOUT_CODES = {constants.StatusCode.error_timeout}


class VisaTransport:
    """One VISA session with ``\\n`` termination, timeouts and length-checked block reads.

    Parameters
    ----------
    resource
        VISA resource string, e.g. ``TCPIP::127.0.0.1::5025::SOCKET`` or ``ASRL/dev/pts/3::INSTR``.
    backend
        pyvisa backend: ``"@py"`` (pyvisa-py, default) or an installed VISA library.
    timeout_s
        I/O timeout per operation.
    chunk_size
        Bytes per read call for binary blocks.
    """

    def __init__(
        self,
        resource: str,
        *,
        backend: str = "@py",
        timeout_s: float = 2.0,
        termination: str = "\n",
        chunk_size: int = 1 << 20,
        baud_rate: int = 115200,
    ) -> None:
        self.resource_name = resource
        self.backend = backend
        self.timeout_s = timeout_s
        self.termination = termination
        self.chunk_size = chunk_size
        self.baud_rate = baud_rate
        self._rm: pyvisa.ResourceManager | None = None
        self._res: Any = None

    @property
    def is_serial(self) -> bool:
        """True for serial resources (``ASRL...``), where late replies survive a reopen."""
        return self.resource_name.upper().startswith("ASRL")

    @property
    def is_open(self) -> bool:
        """True while a session is open."""
        return self._res is not None

    def open(self) -> None:
        """Open the session (raises ConnectionLostError when the instrument is unreachable)."""
        if self._rm is None:
            self._rm = pyvisa.ResourceManager(self.backend)
        kwargs: dict[str, Any] = {
            "read_termination": self.termination,
            "write_termination": self.termination,
            "timeout": int(self.timeout_s * 1000),
            "open_timeout": int(self.timeout_s * 1000),
        }
        if self.resource_name.upper().startswith("ASRL"):
            kwargs["baud_rate"] = self.baud_rate
        try:
            self._res = self._rm.open_resource(self.resource_name, **kwargs)
            self._res.chunk_size = self.chunk_size
            if "::SOCKET" in self.resource_name.upper():
                self._set_nodelay()
        except (VisaIOError, OSError, ValueError) as exc:
            self._res = None
            raise ConnectionLostError(
                f"cannot open {self.resource_name}: {exc}", value=self.resource_name
            ) from exc

    def _set_nodelay(self) -> None:
        """Disable Nagle's algorithm on a raw TCP socket session.

        A command followed by ``SYST:ERR?`` is two small writes; with Nagle's algorithm the
        second waits for the peer's delayed ACK (about 40 ms). pyvisa-py does not implement
        ``VI_ATTR_TCPIP_NODELAY`` for sockets, so the option is set on its socket directly;
        other backends are left as they are.
        """
        try:
            sock = self._rm.visalib.sessions[self._res.session].interface  # type: ignore[union-attr]
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (AttributeError, KeyError, OSError, TypeError):
            pass

    def close(self) -> None:
        """Close the session (never raises)."""
        res, self._res = self._res, None
        if res is not None:
            with contextlib.suppress(Exception):
                res.close()

    def reopen(self) -> None:
        """Close and open again (used after a timeout or a lost connection to resynchronise)."""
        self.close()
        self.open()

    def _fail(self, exc: Exception, what: str) -> Exception:
        if isinstance(exc, VisaIOError) and exc.error_code in _TIMEOUT_CODES:
            return InstrumentTimeoutError(
                f"no reply within {self.timeout_s:g} s", field="command", value=what
            )
        if isinstance(exc, TimeoutError):
            return InstrumentTimeoutError(
                f"no reply within {self.timeout_s:g} s", field="command", value=what
            )
        return ConnectionLostError(f"connection lost: {exc}", field="command", value=what)

    def _session(self) -> Any:
        if self._res is None:
            self.open()
        return self._res

    def write(self, command: str) -> None:
        """Send one program message."""
        try:
            self._session().write(command)
        except (VisaIOError, OSError) as exc:
            raise self._fail(exc, command) from exc

    def write_block(self, header: str, payload: bytes) -> None:
        """Send ``<header> #<n><len><payload>`` and the terminator."""
        data = header.encode("ascii") + b" " + encode_block(payload) + self.termination.encode()
        try:
            self._session().write_raw(data)
        except (VisaIOError, OSError) as exc:
            raise self._fail(exc, header) from exc

    def read(self, what: str = "") -> str:
        """Read one response message (without terminator)."""
        try:
            return self._session().read()
        except (VisaIOError, OSError) as exc:
            raise self._fail(exc, what) from exc
        except UnicodeDecodeError as exc:
            raise ProtocolError("reply is not text", field="command", value=what) from exc

    def query(self, command: str) -> str:
        """Send a query and return its reply."""
        self.write(command)
        return self.read(command)

    def _read_exact(self, n: int) -> bytes:
        res = self._session()
        out = bytearray()
        while len(out) < n:
            chunk = res.read_bytes(min(n - len(out), self.chunk_size), break_on_termchar=False)
            if not chunk:
                raise ConnectionLostError("connection closed in the middle of a reply")
            out += chunk
        return bytes(out)

    def query_block(self, command: str) -> bytes | None:
        """Send a query whose reply is a definite-length block; return the payload.

        Returns None when the instrument answered with an empty response (the query failed and
        its error is in the error queue).

        Raises
        ------
        ProtocolError
            On a malformed block (bad header, short payload, missing terminator).
        """
        self.write(command)
        try:
            first = self._read_exact(1)
            if first == self.termination.encode():
                return None
            rest_header = self._read_exact(1)
            pending = [first + rest_header]

            def read_exact(n: int) -> bytes:
                if pending:
                    return pending.pop()
                return self._read_exact(n)

            return read_block(read_exact, self.termination.encode())
        except BlockError as exc:
            raise ProtocolError(
                f"bad block in reply: {exc.message}", field="command", value=command
            ) from exc
        except (VisaIOError, OSError) as exc:
            raise self._fail(exc, command) from exc
