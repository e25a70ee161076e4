"""The simulated sample-prep robot: timing, seeding, listeners, wire format and raw sessions."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
import serial

from msuite.core.errors import InputError
from msuite.drivers.protocol.prep_robot_codes import (
    ErrorCode,
    FrameChecksumError,
    RobotState,
    StepName,
    WellState,
    all_wells,
    check_step_fields,
    checksum,
    encode_reply,
    encode_request,
    parse_reply,
    parse_request,
    parse_wells,
)
from msuite.hardware_sim.clock import SimClock
from msuite.hardware_sim.prep_robot_server import PrepRobotServer, PtyPrepRobotServer
from msuite.hardware_sim.prep_robot_sim import (
    PrepFaultPlan,
    RobotRejectedError,
    SimulatedPrepRobot,
    StepCall,
)

WAIT_S = 30.0


def _step(robot: SimulatedPrepRobot, name: str, wells: str = "ALL", **fields: object) -> StepCall:
    return robot.make_step(name, wells, {k.upper(): str(v) for k, v in fields.items()})


def _wait_idle(robot: SimulatedPrepRobot) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        robot.catch_up()
        if robot.state is not RobotState.BUSY:
            return
        assert time.monotonic() < deadline, "robot still busy"
        time.sleep(0.01)


class Recorder:
    """Collects well events."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, float]] = []

    def __call__(self, plate: str, well: str, status: str, t: float) -> None:
        self.events.append((plate, well, status, t))

    def times(self, status: str) -> dict[str, float]:
        return {w: t for _p, w, s, t in self.events if s == status}


# ------------------------------------------------------------------------------ timing
def test_dispense_and_incubation_follow_simulated_time() -> None:
    robot = SimulatedPrepRobot(speed=1e5, dispense_s=6.0)
    rec = Recorder()
    robot.add_well_listener(rec)
    robot.load_plate("P1", 96, "A1:D1")
    robot.start_step(_step(robot, "DIGEST", reag="TRYPSIN", vol=10, hrs=0.5, temp=37))
    _wait_idle(robot)
    digesting, digested = rec.times("DIGESTING"), rec.times("DIGESTED")
    assert list(digesting) == ["A1", "B1", "C1", "D1"]
    times = [digesting[w] for w in ("A1", "B1", "C1", "D1")]
    gaps = list(np.diff(times))
    assert gaps == pytest.approx([6.0, 6.0, 6.0])
    assert set(digested.values()) == {digested["A1"]}
    assert digested["A1"] - digesting["D1"] == pytest.approx(1800.0)
    assert robot.tips == 960 - 4
    assert robot.reservoirs["TRYPSIN"].level_ul == pytest.approx(2500 - 40)
    assert {rec.events[0][0]} == {"P1"}


def test_denature_without_reagent_uses_no_tips() -> None:
    robot = SimulatedPrepRobot(speed=1e5)
    rec = Recorder()
    robot.add_well_listener(rec)
    robot.load_plate("P1", 96, "A1:H12")
    loaded = rec.times("LOADED")["A1"]
    robot.start_step(_step(robot, "DENATURE", temp=95, min=10))
    _wait_idle(robot)
    assert robot.tips == 960
    denatured = rec.times("DENATURED")
    assert len(denatured) == 96 and min(denatured.values()) - loaded >= 600.0


def test_pause_stops_the_step_timers() -> None:
    robot = SimulatedPrepRobot(speed=1e4)
    rec = Recorder()
    robot.add_well_listener(rec)
    robot.load_plate("P1", 96, "A1")
    robot.start_step(_step(robot, "REDUCE", reag="DTT", vol=10, min=30, temp=60))
    robot.pause()
    paused_at, held = robot.now(), robot.progress()
    time.sleep(0.3)  # ~3000 simulated seconds
    robot.catch_up()
    assert robot.wells["A1"][0] is WellState.LOADED
    assert robot.progress() == held
    robot.resume()
    _wait_idle(robot)
    assert rec.times("REDUCED")["A1"] - paused_at >= 6.0 + 1800.0 + 2000.0


def test_robots_can_share_one_clock() -> None:
    clock = SimClock(1e5)
    a, b = SimulatedPrepRobot(clock=clock), SimulatedPrepRobot(clock=clock, seed=2)
    assert a.clock is b.clock
    assert abs(a.now() - b.now()) < 1e5  # same time base (within a wall second)
    assert (a.serial, b.serial) == ("PR0000", "PR0002")


def test_same_seed_same_failures() -> None:
    def failures(seed: int) -> list[str]:
        robot = SimulatedPrepRobot(
            speed=1e6, seed=seed, faults=PrepFaultPlan(tip_failure_rate=0.08)
        )
        robot.load_plate("P1", 384, "A1:P12")
        robot.start_step(_step(robot, "SPIKE", reag="SIL", vol=5))
        _wait_idle(robot)
        return sorted(w for w, (s, _r) in robot.wells.items() if s is WellState.FAILED)

    first = failures(11)
    assert first and failures(11) == first
    assert failures(12) != first


def test_protocol_marks_surviving_wells_ready_and_skips_failed() -> None:
    robot = SimulatedPrepRobot(speed=1e6, faults=PrepFaultPlan(tip_fail_wells=("B1",)))
    rec = Recorder()
    robot.add_well_listener(rec)
    robot.load_plate("P1", 96, "A1:C1")
    robot.add_protocol_step(_step(robot, "REDUCE", reag="DTT", vol=10, min=30, temp=60))
    robot.add_protocol_step(_step(robot, "SPIKE", "A1:B1", reag="SIL", vol=10))
    robot.run_protocol()
    _wait_idle(robot)
    status = {w: robot.wells[w] for w in ("A1", "B1", "C1")}
    assert status == {
        "A1": (WellState.READY, ""),
        "B1": (WellState.FAILED, "TIP"),
        "C1": (WellState.READY, ""),
    }
    assert [s for _p, w, s, _t in rec.events if w == "B1"] == ["LOADED", "FAILED:TIP"]
    assert [s for _p, w, s, _t in rec.events if w == "C1"] == ["LOADED", "REDUCED", "READY"]
    assert robot.tips == 960 - 3 - 1  # B1 skipped in the second step
    assert robot.last_run == "DONE"


def test_listeners_run_outside_the_lock() -> None:
    robot = SimulatedPrepRobot(speed=1e6)
    finished: list[bool] = []

    def listener(plate: str, well: str, status: str, t: float) -> None:
        other = threading.Thread(target=lambda: finished.append(robot.progress() is not None))
        other.start()
        other.join(5)

    robot.add_well_listener(listener)
    robot.load_plate("P1", 96, "A1")
    robot.catch_up()
    assert finished == [True]


def test_a_failing_listener_does_not_stop_the_robot(caplog: pytest.LogCaptureFixture) -> None:
    robot = SimulatedPrepRobot(speed=1e6)
    rec = Recorder()

    def broken(plate: str, well: str, status: str, t: float) -> None:
        raise RuntimeError("listener bug")

    robot.add_well_listener(broken)
    robot.add_well_listener(rec)
    robot.load_plate("P1", 96, "A1:B1")
    robot.start_step(_step(robot, "SPIKE", reag="SIL", vol=10))
    _wait_idle(robot)
    assert [s for _p, _w, s, _t in rec.events] == ["LOADED", "LOADED", "SPIKED", "SPIKED"]
    assert "listener bug" in caplog.text


def test_state_rules_of_the_python_api() -> None:
    robot = SimulatedPrepRobot(speed=1e-3, faults=PrepFaultPlan(empty_reservoirs=("DTT",)))
    assert robot.reservoirs["DTT"].level_ul == 0
    with pytest.raises(RobotRejectedError) as info:
        robot.run_protocol()
    assert info.value.code == ErrorCode.NO_PLATE
    robot.load_plate("P1", 96, "A1")
    robot.add_protocol_step(_step(robot, "SPIKE", reag="SIL", vol=10))
    robot.run_protocol()
    for call in (
        robot.clear_protocol,
        lambda: robot.add_protocol_step(_step(robot, "SPIKE", reag="SIL", vol=1)),
        robot.unload_plate,
        lambda: robot.load_tips(5),
    ):
        with pytest.raises(RobotRejectedError) as info:
            call()
        assert info.value.code == ErrorCode.BUSY
    robot.abort()
    robot.clear_protocol()
    assert robot.protocol == [] and robot.state is RobotState.IDLE
    with pytest.raises(InputError):
        _step(robot, "SPIKE", reag="SIL", vol=-1)


# -------------------------------------------------------------------------- wire format
def test_checksum_and_framing_round_trip() -> None:
    assert checksum(b"0002 OK") == "26"
    assert encode_request(2, "load", "P1", "96") == b"0002 LOAD P1 96*4A\r\n"
    req = parse_request(b"0002 LOAD P1 96*4A")
    assert (req.id, req.command, req.args, req.text) == (2, "LOAD", ("P1", "96"), "LOAD P1 96")
    with pytest.raises(FrameChecksumError):
        parse_request(b"0002 LOAD P1 96*4B")
    reply = parse_reply(encode_reply(7, False, code=40).rstrip(b"\r\n"))
    assert (reply.id, reply.ok, reply.code, reply.text) == (7, False, 40, "Door open")
    assert parse_reply(b"0007 OK 3*" + checksum(b"0007 OK 3").encode()).data == "3"
    for bad in (
        b"0007 OK",
        b"07 OK*" + checksum(b"07 OK").encode(),
        b"0007 HM*" + checksum(b"0007 HM").encode(),
    ):
        with pytest.raises(ValueError):
            parse_reply(bad)
    with pytest.raises(InputError):
        encode_request(10000, "IDN?")


def test_well_selections() -> None:
    assert len(parse_wells("ALL", 384)) == 384 and len(all_wells(96)) == 96
    assert parse_wells("b2:a1", 96) == ["A1", "B1", "A2", "B2"]
    assert parse_wells("H6:G5,a01,A1", 96) == ["A1", "G5", "H5", "G6", "H6"]
    assert parse_wells(["P24", "A1"], 384) == ["A1", "P24"]
    for bad, plate in (("I1", 96), ("A13", 96), ("A25", 384), ("", 96), ("A1,,B1", 96)):
        with pytest.raises(InputError) as info:
            parse_wells(bad, plate)
        assert info.value.field == "wells"
    with pytest.raises(InputError) as info:
        parse_wells("A1", 48)
    assert info.value.field == "plate_type"


def test_step_fields_defaults_and_allowed() -> None:
    assert check_step_fields("alkylate", {"reag": "iaa", "vol": "10", "min": 30, "temp": 22}) == {
        "REAG": "IAA", "VOL": 10.0, "MIN": 30.0, "TEMP": 22.0, "DARK": 1.0,
    }  # fmt: skip
    with pytest.raises(InputError) as info:
        check_step_fields(StepName.SPE, {"REAG": "ACN50", "VOL": 0.1, "MIN": 1})
    assert info.value.allowed == "0.5..500 uL"


# ------------------------------------------------------------------------- raw sessions
@pytest.fixture
def tcp() -> Iterator[tuple[SimulatedPrepRobot, PrepRobotServer]]:
    robot = SimulatedPrepRobot(speed=1e-3)
    with PrepRobotServer(robot) as server:
        yield robot, server


def _client(server: PrepRobotServer) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=2.0)
    return sock


def _ask(sock: socket.socket, line: bytes) -> bytes:
    sock.sendall(line)
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            return buf
        buf += chunk
    return buf


def test_repeated_request_is_answered_from_memory(tcp) -> None:
    robot, server = tcp
    with _client(server) as sock:
        assert _ask(sock, encode_request(1, "LOAD", "P1")).startswith(b"0001 OK")
        step = encode_request(5, "SPIKE", "ALL", "REAG=SIL", "VOL=10")
        first = _ask(sock, step)
        assert first == _ask(sock, step) == b"0005 OK*21\r\n"
        again = _ask(sock, encode_request(6, "SPIKE", "ALL", "REAG=SIL", "VOL=10"))
        assert again.startswith(b"0006 ER 04")
    assert robot.state is RobotState.BUSY


def test_remembered_replies_expire(tcp) -> None:
    robot, server = tcp
    robot.reply_memory_s = 0.2
    with _client(server) as sock:
        assert _ask(sock, encode_request(3, "TIPS", "5")).startswith(b"0003 OK")
        robot.load_tips()
        assert _ask(sock, encode_request(3, "TIPS", "5")).startswith(b"0003 OK")
        assert robot.tips == 960  # answered from memory
        time.sleep(0.3)
        assert _ask(sock, encode_request(3, "TIPS", "5")).startswith(b"0003 OK")
        assert robot.tips == 5  # executed again


def test_malformed_lines_get_syntax_errors(tcp) -> None:
    _robot, server = tcp
    with _client(server) as sock:
        assert _ask(sock, b"hello\r\n").startswith(b"0000 ER 01 Syntax error: expected")
        assert _ask(sock, b"12345 IDN?\r\n").startswith(b"0000 ER 01")
        assert _ask(sock, b"\r\n0003 DOOR?\r\n").startswith(b"0003 OK CLOSED")
        assert _ask(sock, b"0004 PROT? 9\r\n").startswith(b"0004 ER 03")
        assert _ask(sock, b"0005 LOAD P1 ninety-six\r\n").startswith(b"0005 ER 03")
        assert _ask(sock, b"X" * 9000).startswith(b"0000 ER 01 Syntax error: line too long")
        assert _ask(sock, b"\r\n0006 IDN?\r\n").startswith(b"0006 OK MSUITE")


def test_clients_share_one_robot_and_drop_closes_tcp(tcp) -> None:
    robot, server = tcp
    with _client(server) as a, _client(server) as b:
        assert _ask(a, encode_request(1, "LOAD", "SHARED", "384")).startswith(b"0001 OK")
        assert b"PLATE=SHARED TYPE=384" in _ask(b, encode_request(1, "PLATE?"))
        robot.drop_line(1)
        assert _ask(a, encode_request(2, "IDN?")) == b""  # connection closed, no reply
        assert _ask(b, encode_request(2, "DOOR?")).startswith(b"0002 OK")
    assert server.resource == f"socket://127.0.0.1:{server.port}"


def test_pty_server_and_armed_checksum_fault() -> None:
    robot = SimulatedPrepRobot(speed=1e-3, faults=PrepFaultPlan(checksum_next=1, error_next=60))
    with PtyPrepRobotServer(robot) as server:
        assert server.resource.startswith("/dev/")
        port = serial.serial_for_url(server.resource, timeout=2.0)
        port.write(encode_request(1, "IDN?"))
        line = port.read_until(b"\r\n")
        assert line.startswith(b"0001 ER 60 Hardware error*")
        with pytest.raises(FrameChecksumError):
            parse_reply(line.rstrip(b"\r\n"))
        port.write(encode_request(2, "IDN?"))
        assert parse_reply(port.read_until(b"\r\n").rstrip(b"\r\n")).data.startswith("MSUITE")
        port.close()
