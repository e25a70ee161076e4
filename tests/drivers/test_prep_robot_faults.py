"""Prep-robot faults over real ptys and TCP sockets: each ends in a typed error or a retry."""

from __future__ import annotations

import time

import pytest

from msuite.drivers.errors import (
    ConnectionLostError,
    InstrumentError,
    InstrumentTimeoutError,
    ProtocolError,
)
from msuite.drivers.prep_robot import (
    PrepRobot,
    WellStatus,
    default_clinical_protocol,
)
from msuite.drivers.protocol.prep_robot_codes import (
    DoorState,
    ErrorCode,
    FailReason,
    RobotState,
    StepName,
    WellState,
)
from msuite.hardware_sim.prep_robot_server import PtyPrepRobotServer
from msuite.hardware_sim.prep_robot_sim import PrepFaultPlan, SimulatedPrepRobot
from tests.drivers.prep_robot_rig import FAST, WAIT_S, Rig, _code, make_rig


# ------------------------------------------------------------------------------- faults
def test_tip_failure_marks_well_failed_and_step_continues(robot_rig: Rig) -> None:
    pr, robot = robot_rig.driver, robot_rig.robot
    pr.load_plate("P1", 96, "A1:H1")
    robot.fail_tip_pickup(1)
    robot.clock.set_speed(FAST)
    pr.reduce("DTT", 10, 30, 60)
    pr.wait_idle(WAIT_S)
    wells = pr.well_status("A1:H1")
    assert wells["A1"] == WellStatus(WellState.FAILED, FailReason.TIP)
    assert all(
        wells[w].state is WellState.REDUCED for w in ["B1", "C1", "D1", "E1", "F1", "G1", "H1"]
    )
    assert pr.tips().left == 960 - 8  # the failed pick-up spent its tip too
    assert pr.reservoirs()["DTT"].level_ul == pytest.approx(2500 - 70)
    plate = pr.plate_status()
    assert plate is not None and plate.counts[WellState.FAILED] == 1


def test_repeated_tip_failures_stop_the_step_then_resume(robot_rig: Rig) -> None:
    pr, robot = robot_rig.driver, robot_rig.robot
    pr.load_plate("P1", 96, "A1:H1")
    robot.clock.set_speed(FAST)
    pr.sim_fault("TIP", 3)
    pr.spike("SIL", 10)
    with pytest.raises(InstrumentError) as info:
        pr.wait_idle(WAIT_S)
    assert _code(info) == ErrorCode.TIP_PICKUP
    st = pr.status()
    assert (st.state, st.fault_code) == (RobotState.FAULT, ErrorCode.TIP_PICKUP)
    with pytest.raises(InstrumentError) as info:
        pr.resume()
    assert _code(info) == ErrorCode.FAULT_ACTIVE
    pr.clear_fault()
    assert pr.status().state is RobotState.PAUSED and pr.status().pause_reason == "FAULT"
    pr.resume()
    pr.wait_idle(WAIT_S)
    wells = pr.well_status("A1:H1")
    assert [w for w, s in wells.items() if s.state is WellState.FAILED] == ["A1", "B1", "C1"]
    assert all(s.state is WellState.SPIKED for w, s in wells.items() if w not in "A1 B1 C1")


def test_tip_failure_for_named_wells_by_command(robot_pty: Rig) -> None:
    pr = robot_pty.driver
    pr.load_plate("P1", 96, "A1:H2")
    robot_pty.robot.clock.set_speed(FAST)
    pr.sim_fault("TIPWELL", "C2,E1")
    pr.quench("FA", 10)
    pr.wait_idle(WAIT_S)
    failed = {w for w, s in pr.well_status().items() if s.state is WellState.FAILED}
    assert failed == {"C2", "E1"}


def test_random_tip_failures_follow_the_seed() -> None:
    def failed_wells(seed: int) -> set[str]:
        robot = SimulatedPrepRobot(
            speed=FAST, seed=seed, faults=PrepFaultPlan(tip_failure_rate=0.1)
        )
        with PtyPrepRobotServer(robot) as server, PrepRobot(server.resource, timeout_s=1.0) as pr:
            pr.load_plate("P1", 96)
            pr.spike("SIL", 10)
            pr.wait_idle(WAIT_S)
            return {w for w, s in pr.well_status().items() if s.reason is FailReason.TIP}

    first = failed_wells(7)
    assert 0 < len(first) < 40
    assert failed_wells(7) == first


def test_no_tips_left_faults(robot_pty: Rig) -> None:
    pr = robot_pty.driver
    pr.load_plate("P1", 96, "A1:D1")
    pr.load_tips(2)
    robot_pty.robot.clock.set_speed(FAST)
    pr.spike("SIL", 10)
    with pytest.raises(InstrumentError) as info:
        pr.wait_idle(WAIT_S)
    assert _code(info) == ErrorCode.NO_TIPS
    pr.clear_fault()
    pr.load_tips()
    pr.resume()
    pr.wait_idle(WAIT_S)
    assert {s.state for s in pr.well_status("A1:D1").values()} == {WellState.SPIKED}


def test_door_open_pauses_and_refuses_motion(robot_rig: Rig) -> None:
    pr, robot = robot_rig.driver, robot_rig.robot
    pr.load_plate("P1", 96, "A1:H1")
    pr.digest("TRYPSIN", 10, 48, 37)
    robot.door_open()
    st = pr.status()
    assert (st.state, st.door, st.pause_reason) == (RobotState.PAUSED, DoorState.OPEN, "DOOR")
    for call in (pr.resume, pr.unload_plate):
        with pytest.raises(InstrumentError) as info:
            call()
        assert _code(info) in (ErrorCode.DOOR_OPEN, ErrorCode.BUSY)
    with pytest.raises(InstrumentError) as info:
        pr.resume()
    assert _code(info) == ErrorCode.DOOR_OPEN
    held = pr.progress()
    time.sleep(0.1)
    assert pr.progress() == held
    pr.sim_fault("DOOR", "CLOSE")
    assert pr.door() is DoorState.CLOSED
    assert pr.status().state is RobotState.PAUSED  # waits for an explicit resume
    robot.clock.set_speed(FAST)
    pr.resume()
    pr.wait_idle(WAIT_S)
    assert {s.state for s in pr.well_status("A1:H1").values()} == {WellState.DIGESTED}


def test_door_open_from_start_refuses_loading() -> None:
    with make_rig("pty", faults=PrepFaultPlan(door_open=True)) as robot_rig:
        pr = robot_rig.driver
        assert pr.door() is DoorState.OPEN
        with pytest.raises(InstrumentError) as info:
            pr.load_plate("P1")
        assert _code(info) == ErrorCode.DOOR_OPEN
        pr.sim_fault("DOOR", "CLOSE")
        pr.load_plate("P1")
        pr.sim_fault("DOOR", "OPEN")
        with pytest.raises(InstrumentError) as info:
            pr.spike("SIL", 10)
        assert _code(info) == ErrorCode.DOOR_OPEN


def test_dropped_line_reconnects_and_query_succeeds(robot_rig: Rig) -> None:
    robot_rig.robot.drop_line(1)
    assert robot_rig.driver.identify().model == "SIM-PREP96"
    assert robot_rig.driver.reconnects == 1


def test_dropped_reply_to_an_action_is_not_executed_twice(robot_rig: Rig) -> None:
    pr, robot = robot_rig.driver, robot_rig.robot
    robot.clock.set_speed(1e-3)  # nothing is dispensed during the test
    pr.load_plate("P1")
    pr.sim_fault("DROP", 1)
    pr.reduce("DTT", 10, 30, 60)  # executed; reply lost; the retry is answered from memory
    assert pr.reconnects == 1
    assert pr.status().state is RobotState.BUSY
    assert pr.progress().step is StepName.REDUCE


def test_line_dropped_beyond_retries_is_a_typed_error(robot_rig: Rig) -> None:
    robot_rig.robot.drop_line(3)
    with pytest.raises((InstrumentTimeoutError, ConnectionLostError)):
        robot_rig.driver.status()
    assert robot_rig.driver.status().state is RobotState.IDLE


def test_checksum_error_in_reply_is_retried(robot_rig: Rig) -> None:
    pr = robot_rig.driver
    pr.sim_fault("CKSUM", 1)
    assert pr.tips().left == 960
    assert pr.reconnects == 1
    pr.sim_fault("CKSUM", 1)
    pr.load_plate("P1")  # answered from memory on the retry
    assert pr.reconnects == 2
    robot_rig.robot.corrupt_checksums(3)
    with pytest.raises(ProtocolError, match="bad reply"):
        pr.door()
    assert pr.door() is DoorState.CLOSED


def test_checksum_error_in_request_is_refused(robot_pty: Rig) -> None:
    import serial

    port = serial.serial_for_url(robot_pty.server.resource, timeout=1.0)
    port.write(b"0042 TIPS?*00\r\n")
    reply = port.read_until(b"\r\n")
    port.write(b"0043 TIPS?\r\n")  # no checksum: accepted (terminal use)
    plain = port.read_until(b"\r\n")
    port.close()
    assert reply.startswith(b"0042 ER 02 Checksum error: got 00")
    assert plain.startswith(b"0043 OK LEFT=960")


def test_injected_error_code(robot_rig: Rig) -> None:
    pr = robot_rig.driver
    robot_rig.robot.inject_error(ErrorCode.HARDWARE)
    with pytest.raises(InstrumentError) as info:
        pr.load_plate("P1")
    err = info.value
    assert (err.device, err.command, err.code, err.text) == (
        "prep-robot",
        "LOAD P1 96 ALL",
        60,
        "Hardware error",
    )
    assert pr.plate_status() is None  # not executed
    pr.sim_fault("ERROR", 31)
    with pytest.raises(InstrumentError) as info:
        pr.identify()
    assert _code(info) == 31
    assert pr.identify().model == "SIM-PREP96"


def test_reagent_running_empty_mid_step_then_refill_and_resume(robot_rig: Rig) -> None:
    pr, robot = robot_rig.driver, robot_rig.robot
    pr.define_reservoir("TRYPSIN", 2500, 30)  # three wells' worth
    pr.load_plate("P1", 96, "A1:H1")
    robot.clock.set_speed(FAST)
    pr.digest("TRYPSIN", 10, 16, 37)
    with pytest.raises(InstrumentError) as info:
        pr.wait_idle(WAIT_S)
    assert _code(info) == ErrorCode.REAGENT_EMPTY
    prog = pr.progress()
    assert (prog.done, prog.wells, prog.phase) == (3, 8, "DISPENSE")
    wells = pr.well_status("A1:H1")
    assert [w for w, s in wells.items() if s.state is WellState.DIGESTING] == ["A1", "B1", "C1"]
    assert pr.refill("TRYPSIN") == 2500
    pr.clear_fault()
    pr.resume()
    pr.wait_idle(WAIT_S)
    assert {s.state for s in pr.well_status("A1:H1").values()} == {WellState.DIGESTED}
    assert pr.reservoirs()["TRYPSIN"].level_ul == pytest.approx(2500 - 50)


def test_empty_reservoir_by_command_and_abort_fails_dosed_wells(robot_pty: Rig) -> None:
    pr = robot_pty.driver
    pr.load_plate("P1", 96, "A1:H1")
    robot_pty.robot.clock.set_speed(FAST)
    pr.define_reservoir("DTT", 2500, 20)
    pr.reduce("DTT", 10, 30, 60)
    with pytest.raises(InstrumentError):
        pr.wait_idle(WAIT_S)
    pr.clear_fault()
    pr.abort()
    wells = pr.well_status("A1:H1")
    assert [w for w, s in wells.items() if s.reason is FailReason.ABORTED] == ["A1", "B1"]
    assert sum(s.state is WellState.LOADED for s in wells.values()) == 6
    plate = pr.plate_status()
    assert plate is not None and plate.run == "ABORTED"
    pr.sim_fault("EMPTY", "SIL")
    assert pr.reservoirs()["SIL"].level_ul == 0
    pr.spike("SIL", 10)
    with pytest.raises(InstrumentError) as info:
        pr.wait_idle(WAIT_S)
    assert _code(info) == ErrorCode.REAGENT_EMPTY


def test_wait_plate_ready_after_abort_is_an_error(robot_pty: Rig) -> None:
    pr = robot_pty.driver
    pr.load_plate("P1", 96, "A1")
    pr.run_protocol(default_clinical_protocol())
    pr.abort()
    with pytest.raises(InstrumentError, match="not completed"):
        pr.wait_plate_ready(WAIT_S)


def test_wait_times_out_as_a_typed_error(robot_pty: Rig) -> None:
    pr = robot_pty.driver
    pr.load_plate("P1", 96, "A1")
    pr.digest("TRYPSIN", 10, 48, 37)
    with pytest.raises(InstrumentTimeoutError, match="still BUSY"):
        pr.wait_plate_ready(0.2)
    pr.abort()


def test_sim_fault_commands(robot_pty: Rig) -> None:
    pr, robot = robot_pty.driver, robot_pty.robot
    pr.sim_fault("TIP", 2)
    pr.sim_fault("DROP", 1)
    pr.sim_fault("CKSUM", 2)
    assert (robot.faults.tip_failures, robot.faults.drop_next, robot.faults.checksum_next) == (
        2,
        1,
        2,
    )
    pr.sim_fault("CLEAR")
    assert (robot.faults.tip_failures, robot.faults.drop_next) == (0, 0)
    with pytest.raises(InstrumentError) as info:
        pr.sim_fault("FLOOD")
    assert _code(info) == ErrorCode.BAD_PARAMETER and "FLOOD" in info.value.text
    with pytest.raises(InstrumentError) as info:
        pr.sim_fault("EMPTY", "NOPE")
    assert _code(info) == ErrorCode.UNKNOWN_RESERVOIR
