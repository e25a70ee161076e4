"""The sample-prep robot driver against the simulator over real ptys and TCP sockets."""

from __future__ import annotations

import threading
import time

import pytest

from msuite.core.errors import InputError
from msuite.drivers.errors import (
    InstrumentError,
)
from msuite.drivers.prep_robot import (
    PrepProtocol,
    PrepRobot,
    PrepStep,
    WellStatus,
    default_clinical_protocol,
)
from msuite.drivers.protocol.prep_robot_codes import (
    STEP_RESULT,
    DoorState,
    ErrorCode,
    RobotState,
    StepName,
    WellState,
)
from msuite.hardware_sim.prep_robot_sim import SimulatedPrepRobot
from tests.drivers.prep_robot_rig import FAST, WAIT_S, Rig, _code, make_rig

# --------------------------------------------------------------------------- transcript
TRANSCRIPT = [
    (b"0001 IDN?*5D\r\n", b"0001 OK MSUITE,SIM-PREP96,PR0001,1.0*74\r\n"),
    (b"0002 LOAD P-0001 96 A1:H1*44\r\n", b"0002 OK*26\r\n"),
    (b"0003 WELL? A1,B1*01\r\n", b"0003 OK A1=LOADED B1=LOADED*24\r\n"),
    (b"0004 RSV?*4C\r\n", b"0004 OK DTT=1000/1000 TRYPSIN=500/500*3F\r\n"),
    (b"0005 TIPS?*04\r\n", b"0005 OK LEFT=96 CAPACITY=96*2E\r\n"),
    (b"0006 REDUCE A1:B1 REAG=DTT VOL=10 MIN=30 TEMP=60*7D\r\n", b"0006 OK*22\r\n"),
    (b"0007 DOOR?*0E\r\n", b"0007 OK CLOSED*11\r\n"),
    (b"0008 LOAD P2 96 ALL*22\r\n", b"0008 ER 04 Not allowed in this state: BUSY*67\r\n"),
    (b"0009 ABORT*63\r\n", b"0009 OK*2D\r\n"),
    (b"0010 PCLR*2C\r\n", b"0010 OK*25\r\n"),
    (
        b"0011 PADD DIGEST ALL REAG=TRYPSIN VOL=10 HRS=16 TEMP=37*20\r\n",
        b"0011 OK 1*35\r\n",
    ),
    (
        b"0012 PROT? 1*14\r\n",
        b"0012 OK DIGEST ALL REAG=TRYPSIN VOL=10 HRS=16 TEMP=37*36\r\n",
    ),
    (
        b"0013 REDUCE ALL REAG=DTT VOL=900 MIN=1 TEMP=60*0B\r\n",
        b"0013 ER 03 field 'REDUCE.VOL' = '900': out of range (allowed: 0.5..500 uL)*4D\r\n",
    ),
    (b"0014 FOO*63\r\n", b"0014 ER 01 Syntax error: unknown command FOO*11\r\n"),
]


def _recording_session(robot: SimulatedPrepRobot, seen: list[bytes]):
    from msuite.hardware_sim.prep_robot_server import serve_session

    def session(recv, send, stop):
        def recording_recv():
            data = recv()
            if data:
                seen.append(data)
            return data

        serve_session(robot, recording_recv, send, stop)

    return session


def test_transcript_exact_bytes_both_ways() -> None:
    """The driver sends exactly these requests and the robot answers exactly these replies."""
    import serial

    from msuite.hardware_sim.stream_server import PtyStreamServer

    robot = SimulatedPrepRobot(
        speed=1e-3, seed=1, reservoirs={"DTT": 1000, "TRYPSIN": 500}, tips=96
    )
    seen: list[bytes] = []
    with PtyStreamServer(_recording_session(robot, seen)) as server:
        port = serial.serial_for_url(server.port_name, timeout=1.0)
        for request, reply in TRANSCRIPT:
            port.write(request)
            assert port.read_until(b"\r\n") == reply
        port.close()
    assert b"".join(seen) == b"".join(r for r, _ in TRANSCRIPT)

    robot = SimulatedPrepRobot(
        speed=1e-3, seed=1, reservoirs={"DTT": 1000, "TRYPSIN": 500}, tips=96
    )
    seen = []
    with (
        PtyStreamServer(_recording_session(robot, seen)) as server,
        PrepRobot(server.port_name, timeout_s=1.0, first_id=1) as pr,
    ):
        assert pr.identify().serial == "PR0001"
        pr.load_plate("P-0001", 96, ["A1:H1"])
        assert pr.well_status("A1,B1") == {
            "A1": WellStatus(WellState.LOADED),
            "B1": WellStatus(WellState.LOADED),
        }
        assert pr.reservoirs()["TRYPSIN"].level_ul == 500
        assert pr.tips().left == 96
        pr.reduce("DTT", 10, 30, 60, wells="A1:B1")
        assert pr.door() is DoorState.CLOSED
        with pytest.raises(InstrumentError) as info:
            pr.load_plate("P2")
        assert (info.value.code, info.value.command) == (4, "LOAD P2 96 ALL")
        pr.abort()
        pr.upload_protocol(
            PrepProtocol(
                (PrepStep("digest", reagent="trypsin", volume_ul=10, hours=16, temp_c=37),)
            )
        )
        assert pr.command("PROT?", "1") == "DIGEST ALL REAG=TRYPSIN VOL=10 HRS=16 TEMP=37"
    assert b"".join(seen) == b"".join(r for r, _ in TRANSCRIPT[:12])


# ----------------------------------------------------------------------- every command
def test_identify_status_door(robot_rig: Rig) -> None:
    pr = robot_rig.driver
    ident = pr.identify()
    assert (ident.manufacturer, ident.model, ident.serial) == ("MSUITE", "SIM-PREP96", "PR0001")
    st = pr.status()
    assert st.state is RobotState.IDLE and st.door is DoorState.CLOSED
    assert st.plate_id is None and st.fault_code == 0 and st.pause_reason is None
    assert st.sim_time_s >= 0
    assert pr.door() is DoorState.CLOSED


def test_plate_load_status_wells_unload(robot_rig: Rig) -> None:
    pr = robot_rig.driver
    assert pr.plate_status() is None
    with pytest.raises(InstrumentError) as info:
        pr.well_status()
    assert _code(info) == ErrorCode.NO_PLATE
    pr.load_plate("PLT-384-7", 384, "A1:P2,C5")
    plate = pr.plate_status()
    assert plate is not None
    assert (plate.plate_id, plate.plate_type, plate.samples, plate.run) == (
        "PLT-384-7",
        384,
        33,
        "NONE",
    )
    assert plate.counts[WellState.LOADED] == 33 and plate.counts[WellState.EMPTY] == 384 - 33
    wells = pr.well_status()
    assert len(wells) == 384 and list(wells)[:3] == ["A1", "B1", "C1"]
    assert wells["C5"].state is WellState.LOADED and wells["D5"].state is WellState.EMPTY
    assert pr.status().plate_id == "PLT-384-7"
    with pytest.raises(InstrumentError) as info:
        pr.load_plate("OTHER")
    assert _code(info) == ErrorCode.PLATE_PRESENT
    pr.unload_plate()
    assert pr.plate_status() is None
    with pytest.raises(InstrumentError) as info:
        pr.command("LOAD", "P9", "96", "I1")
    assert _code(info) == ErrorCode.BAD_WELLS and "I1" in info.value.text
    with pytest.raises(InputError) as bad:
        pr.load_plate("P9", 48)
    assert (bad.value.field, bad.value.value) == ("plate_type", 48)


def test_reservoirs_and_tips(robot_rig: Rig) -> None:
    pr = robot_rig.driver
    levels = pr.reservoirs()
    assert set(levels) == {"SDC", "DTT", "IAA", "TRYPSIN", "FA", "ACN50", "SIL"}
    pr.define_reservoir("lysc", 1000, 250)
    assert pr.reservoirs()["LYSC"].level_ul == 250
    assert pr.refill("LYSC", 100) == 350
    assert pr.refill("LYSC") == 1000
    with pytest.raises(InstrumentError) as info:
        pr.refill("NOPE")
    assert _code(info) == ErrorCode.UNKNOWN_RESERVOIR
    with pytest.raises(InstrumentError) as info:
        pr.define_reservoir("BIG", 10, 20)
    assert _code(info) == ErrorCode.BAD_PARAMETER
    assert pr.tips().left == pr.tips().capacity == 960
    pr.load_tips(10)
    assert pr.tips().left == 10
    pr.load_tips()
    assert pr.tips().left == 960


STEP_EXAMPLES = {
    StepName.DENATURE: PrepStep(StepName.DENATURE, "A1:B1", minutes=10, temp_c=95),
    StepName.REDUCE: PrepStep(StepName.REDUCE, "A1:B1", "DTT", 10, 30, temp_c=60),
    StepName.ALKYLATE: PrepStep(StepName.ALKYLATE, "A1:B1", "IAA", 10, 30, temp_c=22),
    StepName.DIGEST: PrepStep(StepName.DIGEST, "A1:B1", "TRYPSIN", 10, hours=16, temp_c=37),
    StepName.QUENCH: PrepStep(StepName.QUENCH, "A1:B1", "FA", 10),
    StepName.SPE: PrepStep(StepName.SPE, "A1:B1", "ACN50", 100, 30),
    StepName.SPIKE: PrepStep(StepName.SPIKE, "A1:B1", "SIL", 10),
}


@pytest.mark.parametrize("name", list(StepName))
def test_each_step_command(robot_rig: Rig, name: StepName) -> None:
    pr = robot_rig.driver
    step = STEP_EXAMPLES[name]
    pr.load_plate("P1", 96, "A1:H1")
    before, tips = pr.reservoirs(), pr.tips().left
    robot_rig.robot.clock.set_speed(FAST)
    pr.run_step(step)
    pr.wait_idle(WAIT_S)
    wells = pr.well_status("A1:C1")
    assert wells["A1"].state is wells["B1"].state is STEP_RESULT[name]
    assert wells["C1"].state is WellState.LOADED
    used = 2 if step.reagent else 0
    assert pr.tips().left == tips - used
    if step.reagent:
        level = pr.reservoirs()[step.reagent].level_ul
        assert level == pytest.approx(before[step.reagent].level_ul - 2 * step.volume_ul)
    assert pr.progress().run == "DONE"


def test_step_convenience_methods_in_order(robot_pty: Rig) -> None:
    pr, robot = robot_pty.driver, robot_pty.robot
    pr.load_plate("P1", 96, "A1")
    robot.clock.set_speed(FAST)
    calls = [
        lambda: pr.denature(95, 10, wells="A1"),
        lambda: pr.reduce("DTT", 10, 30, 60),
        lambda: pr.alkylate("IAA", 10, 30, 22),
        lambda: pr.digest("TRYPSIN", 10, 16, 37),
        lambda: pr.quench("FA", 10),
        lambda: pr.spe_cleanup("ACN50", 100, 30),
        lambda: pr.spike("SIL", 10),
    ]
    for call, name in zip(calls, StepName, strict=True):
        call()
        pr.wait_idle(WAIT_S)
        assert pr.well_status("A1")["A1"].state is STEP_RESULT[name]


def test_protocol_upload_readback_and_empty(robot_rig: Rig) -> None:
    pr = robot_rig.driver
    assert pr.protocol() is None
    pr.load_plate("P1")
    with pytest.raises(InstrumentError) as info:
        pr.run_protocol()
    assert _code(info) == ErrorCode.PROTOCOL_EMPTY
    proto = default_clinical_protocol()
    pr.upload_protocol(proto)
    assert pr.protocol() == proto
    assert int(pr.command("PROT?")) == 7


@pytest.mark.parametrize("kind", ["pty", "tcp"])
def test_whole_protocol_on_96_wells_in_accelerated_time(kind: str) -> None:
    with make_rig(kind, speed=5e4) as robot_rig:
        pr, robot = robot_rig.driver, robot_rig.robot
        events: dict[str, list[tuple[str, float]]] = {}
        robot.add_well_listener(
            lambda plate, well, status, t: events.setdefault(well, []).append((status, t))
        )
        pr.load_plate("PLASMA-01", 96)
        proto = default_clinical_protocol()
        pr.run_protocol(proto)
        wells = pr.wait_plate_ready(WAIT_S)
    assert len(wells) == 96 and all(s == WellStatus(WellState.READY) for s in wells.values())
    expected = ["LOADED", "DENATURED", "REDUCED", "ALKYLATED", "DIGESTING", "DIGESTED",
                "QUENCHED", "CLEANED", "SPIKED", "READY"]  # fmt: skip
    assert sorted(events) == sorted(wells)
    for seq in events.values():
        assert [s for s, _ in seq] == expected
        times = [t for _, t in seq]
        assert times == sorted(times)
    # A1 gets trypsin first; the plate incubates 16 h once all 96 wells have it (6 s each)
    a1 = dict(events["A1"])
    assert a1["DIGESTED"] - a1["DIGESTING"] == pytest.approx(95 * 6.0 + 16 * 3600.0)
    assert a1["READY"] - a1["LOADED"] >= proto.duration_s(96) - 1e-6
    assert events["H12"][-1][1] == a1["READY"]


def test_progress_pause_resume_mid_protocol(robot_pty: Rig) -> None:
    pr, robot = robot_pty.driver, robot_pty.robot
    robot.clock.set_speed(1e4)
    pr.load_plate("P1", 96, "A1:H3")
    pr.run_protocol(default_clinical_protocol())
    deadline = time.monotonic() + WAIT_S
    while True:
        prog = pr.progress()
        if prog.step is StepName.DIGEST and prog.phase == "INCUBATE":
            break
        assert time.monotonic() < deadline
        time.sleep(0.01)
    pr.pause()
    held = pr.progress()
    assert (held.run, held.index, held.steps, held.done, held.wells) == ("PROTOCOL", 4, 7, 24, 24)
    assert 0 < held.fraction < 1 and held.left_s > 0
    assert pr.status().state is RobotState.PAUSED and pr.status().pause_reason == "USER"
    wells = pr.well_status("A1:H3")
    assert {s.state for s in wells.values()} == {WellState.DIGESTING}
    time.sleep(0.2)
    assert pr.progress() == held  # timers stand still while paused
    robot.clock.set_speed(FAST)
    pr.resume()
    wells = pr.wait_plate_ready(WAIT_S)
    assert {s.state for s in wells.values()} == {WellState.READY}


def test_busy_refuses_and_pause_when_idle(robot_rig: Rig) -> None:
    pr = robot_rig.driver
    with pytest.raises(InstrumentError) as info:
        pr.pause()
    assert _code(info) == ErrorCode.BUSY
    with pytest.raises(InstrumentError) as info:
        pr.resume()
    assert _code(info) == ErrorCode.NOTHING_TO_RESUME
    pr.load_plate("P1")
    pr.digest("TRYPSIN", 10, 48, 37)
    for call in (pr.unload_plate, lambda: pr.reduce("DTT", 5, 1, 22), pr.run_protocol):
        with pytest.raises(InstrumentError) as info:
            call()
        assert _code(info) == ErrorCode.BUSY
    pr.abort()
    assert pr.status().state is RobotState.IDLE


# --------------------------------------------------------------------------- bad input
_RED = {"name": "reduce", "reagent": "DTT", "volume_ul": 10, "minutes": 1, "temp_c": 60}
_DIG = {"name": "digest", "reagent": "TRYPSIN", "volume_ul": 10, "hours": 16, "temp_c": 37}
_SPK = {"name": "spike", "reagent": "SIL", "volume_ul": 10}
_DEN = {"name": "denature", "minutes": 5, "temp_c": 95}
_NO_MIN = {k: v for k, v in _RED.items() if k != "minutes"}


@pytest.mark.parametrize(
    ("kwargs", "field", "value"),
    [
        ({**_DEN, "name": "boil"}, "step", "boil"),
        (_NO_MIN, "REDUCE.minutes", None),
        ({**_RED, "volume_ul": 900}, "REDUCE.volume_ul", 900),
        ({**_RED, "temp_c": 120}, "REDUCE.temp_c", 120),
        ({**_RED, "minutes": "ten"}, "REDUCE.minutes", "ten"),
        ({**_DIG, "hours": 72}, "DIGEST.hours", 72),
        ({**_DIG, "minutes": 5}, "DIGEST.minutes", 5),
        ({**_SPK, "reagent": "sil mix"}, "SPIKE.reagent", "sil mix"),
        ({**_DEN, "reagent": "SDC"}, "DENATURE.volume_ul", None),
        ({**_SPK, "name": "quench", "dark": True}, "QUENCH.dark", 1),
        ({**_SPK, "wells": "A0"}, "wells", "A0"),
        ({**_SPK, "wells": "A1:Q3"}, "wells", "Q3"),
    ],
)
def test_bad_step_input_names_field_value_and_allowed(
    kwargs: dict, field: str, value: object
) -> None:
    with pytest.raises(InputError) as info:
        PrepStep(**kwargs)
    err = info.value
    assert err.field == field and err.value == value and err.allowed


def test_bad_protocol_input() -> None:
    with pytest.raises(InputError) as info:
        PrepProtocol(())
    assert info.value.field == "steps"
    with pytest.raises(InputError) as info:
        PrepProtocol(("DIGEST",))  # type: ignore[arg-type]
    assert info.value.field == "steps[0]"


def test_bad_step_on_the_wire_is_refused(robot_pty: Rig) -> None:
    pr = robot_pty.driver
    pr.load_plate("P1", 96, "A1:H1")
    with pytest.raises(InstrumentError) as info:
        pr.command("DIGEST", "ALL", "REAG=TRYPSIN", "VOL=10", "HRS=99", "TEMP=37")
    assert _code(info) == ErrorCode.BAD_PARAMETER and "DIGEST.HRS" in info.value.text
    with pytest.raises(InstrumentError) as info:
        pr.run_step(PrepStep(StepName.SPIKE, "A12", "SIL", 10))  # no sample in A12
    assert _code(info) == ErrorCode.BAD_WELLS
    with pytest.raises(InstrumentError) as info:
        pr.run_step(PrepStep(StepName.SPIKE, "A1", "NADA", 10))
    assert _code(info) == ErrorCode.UNKNOWN_RESERVOIR
    with pytest.raises(InstrumentError) as info:
        pr.command("PADD", "BOIL", "ALL")
    assert _code(info) == ErrorCode.BAD_PARAMETER


# -------------------------------------------------------------------------- concurrency
def test_two_threads_share_one_driver_safely(robot_rig: Rig) -> None:
    pr = robot_rig.driver
    pr.load_plate("P1", 96)
    robot_rig.robot.clock.set_speed(1e4)
    errors: list[BaseException] = []
    counts = [0, 0]

    def poll(i: int) -> None:
        try:
            for _ in range(25):
                assert len(pr.well_status()) == 96
                assert pr.tips().capacity == 960
                assert pr.status().plate_id == "P1"
                counts[i] += 1
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(2)]
    pr.spike("SIL", 10)
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S)
    assert not errors and counts == [25, 25]
    robot_rig.robot.clock.set_speed(FAST)
    pr.wait_idle(WAIT_S)
    assert {s.state for s in pr.well_status().values()} == {WellState.SPIKED}


def test_two_tcp_clients_share_the_robot() -> None:
    with make_rig("tcp") as robot_rig:
        other = PrepRobot(robot_rig.server.resource, timeout_s=1.0)
        try:
            robot_rig.driver.load_plate("SHARED", 384, "A1:P1")
            results: list[int] = []

            def watch() -> None:
                for _ in range(20):
                    plate = other.plate_status()
                    assert plate is not None
                    results.append(plate.samples)

            watcher = threading.Thread(target=watch)
            watcher.start()
            for _ in range(20):
                assert robot_rig.driver.tips().left == 960
            watcher.join(WAIT_S)
            assert results == [16] * 20
        finally:
            other.close()


def test_reagent_shortfall_before_a_run(robot_pty: Rig) -> None:
    pr = robot_pty.driver
    proto = default_clinical_protocol()
    assert pr.reagent_shortfall(proto, 96) == {}
    short = pr.reagent_shortfall(proto, 384)
    assert short["TRYPSIN"] == pytest.approx(384 * 10 - 2500)
    assert "ACN50" in short and short["ACN50"] == pytest.approx(384 * 100 - 20000)
    pr.define_reservoir("SIL", 500, 0)
    assert pr.reagent_shortfall(proto, 96)["SIL"] == pytest.approx(960)


def test_wrapped_ids_never_repeat_a_remembered_action(robot_pty: Rig) -> None:
    pr, robot = robot_pty.driver, robot_pty.robot
    pr._next_id = 9999  # as if 9998 requests had gone by
    pr.load_tips(5)  # id 9999
    robot.load_tips()
    pr._next_id = 9999  # the ids wrap round to the same action text
    pr.load_tips(5)  # must not be answered from the robot's memory
    assert robot.tips == 5 and pr._next_id == 2
