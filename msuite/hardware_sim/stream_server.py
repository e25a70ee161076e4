"""Byte-stream servers for simulated devices: TCP (loopback by default) and pseudo-terminals.

A device simulator supplies a *session*: ``session(recv, send, stop)`` runs one client
conversation until the client leaves, ``stop`` is set or a simulated fault drops the line.
``recv()`` returns bytes, ``b""`` at end of stream, or None when nothing arrived within the
poll interval; ``send(data)`` writes all of ``data``. The same session code then runs over a
TCP socket (several clients, one thread each) and over a pty (one client at a time, the
serial-port variant).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
from collections.abc import Callable, Iterator

__all__ = ["POLL_S", "PtyStreamServer", "Session", "TcpStreamServer", "incoming"]

POLL_S = 0.2

Recv = Callable[[], "bytes | None"]
Send = Callable[[bytes], None]
Session = Callable[[Recv, Send, threading.Event], None]


def incoming(
    recv: Recv, stop: threading.Event, idle: Callable[[], None] | None = None
) -> Iterator[bytes]:
    """The bytes a session receives, chunk by chunk, until the client leaves or ``stop`` is set.

    ``idle`` is called whenever a poll interval passes with nothing received (a simulator
    that advances lazily uses it to fire its timed events).
    """
    while not stop.is_set():
        data = recv()
        if data is None:
            if idle is not None:
                idle()
            continue
        if not data:
            return
        yield data


class TcpStreamServer:
    """Serve ``session`` to TCP clients.

    Parameters
    ----------
    session
        The conversation run for each client (in its own thread).
    host
        Address to bind: loopback unless told otherwise.
    port
        TCP port; 0 picks a free one (see :attr:`port`).
    name
        Thread-name prefix.
    """

    def __init__(
        self, session: Session, host: str = "127.0.0.1", port: int = 0, name: str = "sim"
    ) -> None:
        self._session = session
        self._name = name
        self._sock = socket.create_server((host, port))
        self._sock.settimeout(POLL_S)
        self.host, self.port = self._sock.getsockname()[:2]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._clients: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._accept_thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """pyserial URL of the server (``socket://HOST:PORT``)."""
        return f"socket://{self.host}:{self.port}"

    def start(self) -> TcpStreamServer:
        """Start accepting clients in a background thread."""
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"{self._name}-accept", daemon=True
        )
        self._accept_thread.start()
        return self

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(POLL_S)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._clients.add(conn)
            t = threading.Thread(
                target=self._client, args=(conn,), name=f"{self._name}-client", daemon=True
            )
            self._threads.append(t)
            t.start()

    def _client(self, conn: socket.socket) -> None:
        def recv() -> bytes | None:
            try:
                return conn.recv(65536)
            except TimeoutError:
                return None
            except OSError:
                return b""

        def send(data: bytes) -> None:
            conn.sendall(data)

        try:
            self._session(recv, send, self._stop)
        except OSError:
            pass
        finally:
            with self._lock:
                self._clients.discard(conn)
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def stop(self) -> None:
        """Stop accepting, close every client and wait for the threads."""
        self._stop.set()
        self._sock.close()
        with self._lock:
            for c in list(self._clients):
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> TcpStreamServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PtyStreamServer:
    """Serve ``session`` on a pseudo-terminal; the client opens :attr:`port_name`.

    When a session ends (the simulated line dropped), the next one starts on the same pty.
    Serial settings (baud rate, parity) are ignored by a pty.
    """

    def __init__(self, session: Session, name: str = "sim") -> None:
        import pty
        import tty

        self._session = session
        self._name = name
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        self.port_name = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> PtyStreamServer:
        """Start serving in a background thread."""
        self._thread = threading.Thread(target=self._run, name=f"{self._name}-pty", daemon=True)
        self._thread.start()
        return self

    def _recv(self) -> bytes | None:
        ready, _, _ = select.select([self._master], [], [], POLL_S)
        if not ready:
            return None
        try:
            return os.read(self._master, 65536)
        except OSError:
            return None  # no client has the slave open yet

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._master, view)
            view = view[n:]

    def _run(self) -> None:
        while not self._stop.is_set():
            self._session(self._recv, self._send, self._stop)

    def stop(self) -> None:
        """Stop serving and close the pty (a second call does nothing)."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        os.close(self._master)
        os.close(self._slave)

    def __enter__(self) -> PtyStreamServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
