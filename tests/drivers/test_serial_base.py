"""Serial transport and device base against real TCP sockets and ptys (echo sessions)."""

from __future__ import annotations

import threading
import time

import pytest

from msuite.drivers.errors import ConnectionLostError, InstrumentTimeoutError
from msuite.drivers.serial_device import SerialDevice
from msuite.drivers.serial_transport import SerialTransport
from msuite.hardware_sim.stream_server import PtyStreamServer, TcpStreamServer, incoming


def _line_echo(state: dict):
    """Session that echoes each line upper-cased; ``state`` steers silence and hang-ups."""

    def session(recv, send, stop: threading.Event) -> None:
        buf = b""
        for data in incoming(recv, stop):
            buf += data
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                state["seen"].append(line)
                if state.get("silent", 0) > 0:
                    state["silent"] -= 1
                    continue
                if state.get("hangup", 0) > 0:
                    state["hangup"] -= 1
                    return
                send(line.upper() + b"\r\n")

    return session


def _read_line(t: SerialTransport) -> bytes:
    return t.read_until(b"\r\n", "line")


@pytest.fixture(params=["tcp", "pty"])
def echo(request):
    state: dict = {"seen": []}
    if request.param == "tcp":
        server = TcpStreamServer(_line_echo(state)).start()
        url = server.url
    else:
        server = PtyStreamServer(_line_echo(state)).start()
        url = server.port_name
    yield url, state
    server.stop()


def test_transport_round_trip(echo) -> None:
    url, state = echo
    t = SerialTransport(url, timeout_s=1.0)
    t.write(b"flow?\r\n")
    assert t.read_until(b"\r\n") == b"FLOW?"
    t.write(b"ab\r\ncd\r\n")
    assert t.read_exact(4) == b"AB\r\n"
    assert t.read_until(b"\r\n") == b"CD"
    t.close()
    assert state["seen"] == [b"flow?", b"ab", b"cd"]


def test_silence_is_a_timeout_naming_the_command(echo) -> None:
    url, state = echo
    state["silent"] = 1
    t = SerialTransport(url, timeout_s=0.3)
    t.write(b"x\r\n")
    start = time.monotonic()
    with pytest.raises(InstrumentTimeoutError, match="no complete reply") as info:
        t.read_until(b"\r\n", "PRES?")
    assert info.value.value == "PRES?"
    assert time.monotonic() - start < 2.0
    t.close()


def test_device_retries_a_repeatable_request_after_silence(echo) -> None:
    url, state = echo
    state["silent"] = 1
    dev = SerialDevice(url, name="echo", timeout_s=0.3, retries=2)
    assert dev._exchange(b"q\r\n", _read_line, what="q", idempotent=True) == b"Q"
    assert dev.reconnects == 1
    state["silent"] = 1
    with pytest.raises(InstrumentTimeoutError):
        dev._exchange(b"w\r\n", _read_line, what="w", idempotent=False)
    dev.close()


def test_tcp_hangup_is_connection_lost_then_reconnect() -> None:
    state: dict = {"seen": [], "hangup": 1}
    with TcpStreamServer(_line_echo(state)) as server:
        t = SerialTransport(server.url, timeout_s=1.0)
        t.write(b"a\r\n")
        with pytest.raises(ConnectionLostError):
            t.read_until(b"\r\n", "a")
        assert not t.is_open
        t.write(b"b\r\n")  # reopens
        assert t.read_until(b"\r\n") == b"B"
        t.close()
        state["hangup"] = 1
        dev = SerialDevice(server.url, name="echo", timeout_s=1.0, retries=1)
        assert dev._exchange(b"c\r\n", _read_line, what="c", idempotent=True) == b"C"
        assert dev.reconnects == 1
        dev.close()


def test_unopenable_port_is_connection_lost(tmp_path) -> None:
    with pytest.raises(ConnectionLostError, match="cannot open"):
        SerialTransport(str(tmp_path / "no-such-tty")).open()
