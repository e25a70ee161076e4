"""Serving the simulated mass spectrometer over TCP (loopback by default) and pseudo-terminals.

Each client gets a thread; every command runs under the instrument's lock, so several clients
(a driver, a monitoring panel, a test poking faults) can share one instrument safely.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable

from msuite.drivers.protocol.blocks import BlockError, encode_block, parse_block_header
from msuite.drivers.protocol.grammar import parse_command
from msuite.hardware_sim.ms_instrument import BlockReply, SimulatedMassSpec
from msuite.hardware_sim.stream_server import POLL_S, PtyStreamServer, TcpStreamServer

__all__ = ["MassSpecServer", "PtyMassSpecServer", "serve_session"]

MAX_MESSAGE = 64 * 1024 * 1024


class _ClosedError(Exception):
    pass


class _Reader:
    """Splits a byte stream into program messages (a block argument may hold newlines)."""

    def __init__(self, recv: Callable[[], bytes | None], stop: threading.Event) -> None:
        self._recv = recv
        self._stop = stop
        self._buf = bytearray()

    def _fill(self) -> None:
        while not self._stop.is_set():
            data = self._recv()
            if data is None:  # poll timeout
                continue
            if not data:
                raise _ClosedError
            self._buf += data
            return
        raise _ClosedError

    def message(self) -> bytes:
        while True:
            nl = self._buf.find(b"\n")
            hs = self._buf.find(b"#")
            if hs >= 0 and (nl < 0 or hs < nl):
                need = None
                try:
                    hlen, size = parse_block_header(bytes(self._buf[hs : hs + 11]))
                    need = hs + hlen + size
                except BlockError:
                    if len(self._buf) - hs >= 11 or nl >= 0:
                        raise
                if need is not None and len(self._buf) >= need + 1:
                    msg = bytes(self._buf[:need])
                    tail = self._buf[need : need + 1]
                    del self._buf[: need + 1]
                    if tail != b"\n":
                        raise BlockError("missing terminator after block", value=bytes(tail))
                    return msg
            elif nl >= 0:
                msg = bytes(self._buf[:nl]).rstrip(b"\r")
                del self._buf[: nl + 1]
                return msg
            if len(self._buf) > MAX_MESSAGE:
                raise BlockError("program message too long")
            self._fill()


def split_message(raw: bytes) -> list[bytes]:
    """Split a compound program message at ``;`` outside quotes (never one holding a block)."""
    if b";" not in raw or b"#" in raw:
        return [raw]
    parts, start, quoted = [], 0, False
    for i, ch in enumerate(raw):
        if ch == 0x22:  # '"'
            quoted = not quoted
        elif ch == 0x3B and not quoted:  # ';'
            parts.append(raw[start:i])
            start = i + 1
    parts.append(raw[start:])
    return [p for p in (q.strip() for q in parts) if p]


def _handle_one(instrument: SimulatedMassSpec, raw: bytes) -> str | BlockReply | None:
    try:
        cmd = parse_command(raw)
    except (BlockError, ValueError):
        instrument.parse_error_reply()
        return None
    return instrument.handle(cmd)


def _handle_message(instrument: SimulatedMassSpec, raw: bytes) -> str | BlockReply | None:
    """Run every command of a program message; join the replies of a compound one with ``;``."""
    parts = split_message(raw)
    if len(parts) == 1:
        return _handle_one(instrument, parts[0])
    replies = [_handle_one(instrument, p) for p in parts]
    texts = [
        encode_block(r).decode("latin-1") if isinstance(r, BlockReply) else str(r)
        for r in replies
        if r is not None
    ]
    return ";".join(texts) if texts else None


def serve_session(
    instrument: SimulatedMassSpec,
    recv: Callable[[], bytes | None],
    send: Callable[[bytes], None],
    stop: threading.Event,
) -> None:
    """Run one client session until it closes, ``stop`` is set or a fault drops it.

    ``recv()`` returns bytes, ``b""`` at end of stream, or None when nothing arrived in time.
    """
    reader = _Reader(recv, stop)
    while not stop.is_set():
        try:
            raw = reader.message()
        except _ClosedError:
            return
        except BlockError:
            instrument.parse_error_reply()
            reader = _Reader(recv, stop)  # resynchronise on the next message
            continue
        if not raw.strip():
            continue
        reply = _handle_message(instrument, raw)
        is_block = isinstance(reply, BlockReply)
        fault = instrument.take_transport_fault(is_block)
        if fault == "drop":
            return
        if fault == "stall":
            stall = instrument.take_stall()
            end = time.monotonic() + stall
            while time.monotonic() < end and not stop.is_set():
                time.sleep(min(POLL_S, max(end - time.monotonic(), 0.0)))
        if reply is None:
            continue
        if is_block:
            data = encode_block(reply) + b"\n"
            if fault == "garbage":
                data = b"#9garbage!" + os.urandom(32) + b"\n"
            elif fault == "partial":
                send(data[: max(len(data) // 2, 3)])
                return
        else:
            data = str(reply).encode("latin-1") + b"\n"
        send(data)


class MassSpecServer(TcpStreamServer):
    """TCP server for a simulated mass spectrometer.

    Parameters
    ----------
    instrument
        The instrument to serve (shared by every client).
    host
        Address to bind: loopback unless told otherwise.
    port
        TCP port; 0 picks a free one (see :attr:`port`).
    """

    def __init__(
        self, instrument: SimulatedMassSpec, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.instrument = instrument
        super().__init__(functools.partial(serve_session, instrument), host, port, "ms-sim")

    @property
    def resource(self) -> str:
        """VISA resource string of the server."""
        return f"TCPIP::{self.host}::{self.port}::SOCKET"


class PtyMassSpecServer(PtyStreamServer):
    """Serves the instrument on a pseudo-terminal (the serial variant); one client at a time.

    The client opens :attr:`port_name` (e.g. ``/dev/pts/5``) with pyserial or as the VISA
    resource ``ASRL/dev/pts/5::INSTR``. Serial settings are ignored by a pty.
    """

    def __init__(self, instrument: SimulatedMassSpec) -> None:
        self.instrument = instrument
        super().__init__(functools.partial(serve_session, instrument), "ms-sim")

    @property
    def resource(self) -> str:
        """VISA resource string of the serial port."""
        return f"ASRL{self.port_name}::INSTR"
