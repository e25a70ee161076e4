"""LC pump driver against the simulator over real pseudo-terminals and TCP sockets."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import serial

from msuite import __version__
from msuite.core.errors import InputError
from msuite.drivers.errors import (
    InstrumentError,
    InstrumentTimeoutError,
)
from msuite.drivers.lc_pump import (
    Gradient,
    GradientStep,
    LCPump,
    PumpState,
    read_gradient_csv,
)
from msuite.drivers.protocol.lc_pump_codes import GRADIENT_MAX_ROWS, PumpErrorCode
from msuite.hardware_sim.lc_pump_server import (
    LCPumpServer,
    PtyLCPumpServer,
    serve_pump_session,
)
from msuite.hardware_sim.lc_pump_sim import SimulatedLCPump
from msuite.hardware_sim.stream_server import TcpStreamServer
from tests.drivers.lc_pump_rig import (
    SHORT,
    Rig,
    _code,
)
from tests.hardware_sim.test_lc_pump_sim import ManualClock


# --------------------------------------------------------------------------- basics
def test_identify_over_pty_and_tcp(pump_rig: Rig) -> None:
    ident = pump_rig.pump.identify()
    assert (ident.manufacturer, ident.model, ident.serial) == ("MSUITE", "SIM-LCP1300", "SN0001")
    assert ident.firmware == __version__
    assert pump_rig.server.resource.startswith("/dev/pts/" if pump_rig.kind == "pty" else "socket://")


def test_flow_and_composition_set_and_read(pump_rig: Rig) -> None:
    pump_rig.pump.set_flow(250.5)
    assert pump_rig.pump.flow() == 250.5
    pump_rig.pump.set_composition(12.25)
    assert pump_rig.pump.composition() == 12.25
    with pytest.raises(InputError, match="flow_ul_min") as info:
        pump_rig.pump.set_flow(6000)
    assert info.value.value == 6000 and "µL/min" in info.value.allowed
    with pytest.raises(InputError, match="percent_b"):
        pump_rig.pump.set_composition(-1)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("FLOW:9999", PumpErrorCode.OUT_OF_RANGE),
        ("FLOW:abc", PumpErrorCode.BAD_VALUE),
        ("FLOW:1e3", PumpErrorCode.BAD_VALUE),
        ("COMP:101", PumpErrorCode.OUT_OF_RANGE),
        ("PLIM:500,100", PumpErrorCode.OUT_OF_RANGE),
        ("PLIM:100", PumpErrorCode.BAD_VALUE),
        ("PURGE:0", PumpErrorCode.OUT_OF_RANGE),
        ("EQUIL:1000", PumpErrorCode.OUT_OF_RANGE),
        ("COLUMN:150,2.1,0.1", PumpErrorCode.OUT_OF_RANGE),
        ("WARP:9", PumpErrorCode.UNKNOWN_COMMAND),
        ("WARP?", PumpErrorCode.UNKNOWN_COMMAND),
        ("RUN:FAST", PumpErrorCode.UNKNOWN_COMMAND),
        ("FAULT:IGNORE", PumpErrorCode.UNKNOWN_COMMAND),
        ("RUN:START", PumpErrorCode.NO_GRADIENT),
        ("GRAD:ROW:0,5,300", PumpErrorCode.GRADIENT_INVALID),
        ("GRAD:END", PumpErrorCode.GRADIENT_INVALID),
    ],
)
def test_refused_requests_raise_instrument_error_with_code(
    pump_pty: Rig, line: str, code: int
) -> None:
    with pytest.raises(InstrumentError) as info:
        pump_pty.pump.request(line)
    assert _code(info) == code
    assert info.value.device == "lc-pump" and info.value.command == line
    assert f"({int(code)})" in str(info.value)
    assert pump_pty.pump.identify().model == "SIM-LCP1300"  # the line stays in step


def test_pressure_limits(pump_rig: Rig) -> None:
    assert pump_rig.pump.pressure_limits() == (0.0, 1000.0)
    pump_rig.pump.set_pressure_limits(20, 900.5)
    assert pump_rig.pump.pressure_limits() == (20.0, 900.5)
    with pytest.raises(InputError, match="below the maximum"):
        pump_rig.pump.set_pressure_limits(500, 400)
    with pytest.raises(InputError, match="max_bar"):
        pump_rig.pump.set_pressure_limits(0, 2000)


def test_column_set_and_read(pump_manual: Rig) -> None:
    info = pump_manual.pump.column()
    assert (info.length_mm, info.inner_diameter_mm, info.particle_um) == (150, 2.1, 1.7)
    assert info.volume_ul == pytest.approx(pump_manual.sim.hydraulics.column.volume_ul, abs=0.01)
    pump_manual.pump.set_column(100, 2.1, 1.7)
    shorter = info.volume_ul * 100 / 150
    assert pump_manual.pump.column().volume_ul == pytest.approx(shorter, abs=0.01)
    with pytest.raises(InputError, match="particle_um"):
        pump_manual.pump.set_column(100, 2.1, 0.5)
    pump_manual.pump.upload_gradient(SHORT)
    pump_manual.pump.start()
    with pytest.raises(InstrumentError) as err:
        pump_manual.pump.set_column(50, 2.1, 1.7)
    assert _code(err) == PumpErrorCode.NOT_ALLOWED


# --------------------------------------------------------------------------- gradient
def test_gradient_upload_and_readback(pump_rig: Rig) -> None:
    assert pump_rig.pump.gradient() is None
    pump_rig.pump.upload_gradient(SHORT)
    assert pump_rig.pump.gradient() == SHORT
    # row 1 is the set point
    assert pump_rig.pump.flow() == 300 and pump_rig.pump.composition() == 5


@pytest.mark.parametrize(
    ("rows", "code"),
    [
        (["1,5,300", "2,5,300"], PumpErrorCode.GRADIENT_INVALID),  # not from 0
        (["0,5,300", "2,5,300", "2,50,300"], PumpErrorCode.GRADIENT_INVALID),  # not increasing
        (["0,5,300", "1,120,300"], PumpErrorCode.OUT_OF_RANGE),  # %B
        (["0,5,300", "1,50,0"], PumpErrorCode.OUT_OF_RANGE),  # flow
        (["0,5,300", "700,50,300"], PumpErrorCode.OUT_OF_RANGE),  # time
        (["0,5,x"], PumpErrorCode.BAD_VALUE),
    ],
)
def test_invalid_gradient_rows_are_refused_and_void_the_upload(
    pump_pty: Rig, rows: list[str], code: int
) -> None:
    pump = pump_pty.pump
    pump.request("GRAD:CLEAR")
    with pytest.raises(InstrumentError) as info:
        for row in rows:
            pump.request(f"GRAD:ROW:{row}")
    assert _code(info) == code
    if code != PumpErrorCode.BAD_VALUE:
        with pytest.raises(InstrumentError) as end:
            pump.request("GRAD:END")
        assert _code(end) == PumpErrorCode.GRADIENT_INVALID
        assert pump.gradient() is None


def test_gradient_table_size_rules_on_the_wire(pump_pty: Rig) -> None:
    pump = pump_pty.pump
    pump.request("GRAD:CLEAR")
    pump.request("GRAD:ROW:0,5,300")
    with pytest.raises(InstrumentError) as info:
        pump.request("GRAD:END")  # a single row
    assert _code(info) == PumpErrorCode.GRADIENT_INVALID
    pump.request("GRAD:CLEAR")
    for i in range(GRADIENT_MAX_ROWS):
        pump.request(f"GRAD:ROW:{i},5,300")
    with pytest.raises(InstrumentError) as info:
        pump.request(f"GRAD:ROW:{GRADIENT_MAX_ROWS},5,300")
    assert _code(info) == PumpErrorCode.GRADIENT_INVALID


def test_gradient_model_errors_name_row_field_value_and_range() -> None:
    with pytest.raises(InputError) as info:
        Gradient.from_rows([(0, 5, 300), (2, 150, 300)])
    err = info.value
    assert (err.line, err.field, err.value, err.allowed) == (2, "percent_b", 150, "0-100 %B")
    with pytest.raises(InputError, match="strictly") as info:
        Gradient((GradientStep(0, 5, 300), GradientStep(3, 5, 300), GradientStep(1, 5, 300)))
    assert info.value.line == 3 and info.value.field == "time_min"
    with pytest.raises(InputError, match="start at time 0"):
        Gradient.from_rows([(0.5, 5, 300), (2, 5, 300)])
    with pytest.raises(InputError, match="flow") as info:
        Gradient.from_rows([(0, 5, 300), (2, 5, 9000)])
    assert "5000" in info.value.allowed
    with pytest.raises(InputError, match="at least two rows"):
        Gradient.from_rows([(0, 5, 300)])
    with pytest.raises(InputError, match="too many"):
        Gradient.from_rows([(i, 5, 300) for i in range(GRADIENT_MAX_ROWS + 1)])


def test_gradient_from_csv(tmp_path: Path) -> None:
    good = tmp_path / "grad.csv"
    good.write_text("time_min,percent_b,flow_ul_min\n0,5,300\n\n10,40,300\n12,95,350\n")
    assert read_gradient_csv(good).rows() == [(0, 5, 300), (10, 40, 300), (12, 95, 350)]
    bad_header = tmp_path / "h.csv"
    bad_header.write_text("t,b,f\n0,5,300\n")
    with pytest.raises(InputError, match="header") as info:
        read_gradient_csv(bad_header)
    assert info.value.allowed == "time_min,percent_b,flow_ul_min"
    bad_cell = tmp_path / "c.csv"
    bad_cell.write_text("time_min,percent_b,flow_ul_min\n0,5,300\n10,forty,300\n")
    with pytest.raises(InputError, match="not a number") as info:
        read_gradient_csv(bad_cell)
    assert (info.value.path, info.value.line, info.value.field) == (str(bad_cell), 3, "percent_b")
    bad_row = tmp_path / "r.csv"
    bad_row.write_text("time_min,percent_b,flow_ul_min\n0,5,300\n\n10,5,300\n8,40,300\n")
    with pytest.raises(InputError, match="strictly") as info:
        read_gradient_csv(bad_row)
    assert info.value.line == 5 and str(bad_row) in str(info.value)


# ------------------------------------------------------------------------ run control
def test_start_runtime_follows_gradient_and_stop(pump_manual: Rig) -> None:
    pump, clock = pump_manual.pump, pump_manual.clock
    assert clock is not None
    pump.upload_gradient(SHORT)
    pump.start()
    with pytest.raises(InstrumentError) as info:
        pump.start()
    assert _code(info) == PumpErrorCode.NOT_ALLOWED
    clock.advance(150.0)  # 2.5 min: halfway from 5 %B (1 min) to 60 %B (4 min)
    status = pump.status()
    assert status.state is PumpState.RUNNING and status.runtime_min == 2.5
    assert status.percent_b == pytest.approx(32.5) and pump.composition() == pytest.approx(32.5)
    assert pump.runtime_min() == 2.5 and pump.flow() == 300
    with pytest.raises(InstrumentError) as info:
        pump.set_flow(200)
    assert _code(info) == PumpErrorCode.NOT_ALLOWED
    pump.stop()
    assert pump.state() is PumpState.IDLE and pump.runtime_min() == 0


def test_arm_waits_for_the_contact_closure(pump_manual: Rig) -> None:
    pump, clock, sim = pump_manual.pump, pump_manual.clock, pump_manual.sim
    assert clock is not None
    events: list[tuple[str, float]] = []
    sim.add_run_listener(lambda e, t: events.append((e, t)))
    pump.upload_gradient(SHORT)
    with pytest.raises(InstrumentError) as info:
        pump.arm()  # not equilibrated
    assert _code(info) == PumpErrorCode.NOT_ALLOWED
    pump.equilibrate(1)
    with pytest.raises(InstrumentError) as info:
        pump.arm()
    assert _code(info) == PumpErrorCode.BUSY
    clock.advance(70.0)
    assert pump.wait_for_state(PumpState.READY, 2.0) is PumpState.READY
    pump.arm()
    clock.advance(30.0)
    assert pump.state() is PumpState.ARMED and events == []
    assert sim.contact_closure() is True
    assert pump.state() is PumpState.RUNNING and events == [("started", 100.0)]
    clock.advance(300.0)
    assert pump.wait_for_state([PumpState.EQUILIBRATING, PumpState.READY], 2.0)
    assert events == [("started", 100.0), ("finished", pytest.approx(400.0))]


def test_contact_closure_over_the_wire(pump_pty: Rig) -> None:
    pump = pump_pty.pump
    pump.upload_gradient(SHORT)
    pump.equilibrate(0.1)
    pump_pty.clock.advance(10.0)
    pump.arm()
    pump.simulate_contact_closure()
    assert pump.state() is PumpState.RUNNING


def test_equilibration_takes_the_volume_it_implies(pump_manual: Rig) -> None:
    pump, clock = pump_manual.pump, pump_manual.clock
    assert clock is not None
    pump.upload_gradient(Gradient.from_rows([(0, 5, 500), (10, 95, 500)]))
    volume = pump.column().volume_ul
    pump.equilibrate(4)
    needed_s = 4 * volume / 500 * 60
    clock.advance(needed_s / 2)
    done, target = pump.equilibration()
    assert pump.state() is PumpState.EQUILIBRATING
    assert target == 4 and done == pytest.approx(2.0, abs=0.01)
    with pytest.raises(InstrumentError) as info:
        pump.start()
    assert _code(info) == PumpErrorCode.BUSY
    clock.advance(needed_s / 2 - 0.5)
    assert pump.state() is PumpState.EQUILIBRATING
    clock.advance(1.0)
    assert pump.state() is PumpState.READY
    pump.set_flow(400)  # new conditions: the column equilibrates again
    assert pump.state() is PumpState.EQUILIBRATING and pump.equilibration() == (0, 4)


def test_purge_is_a_busy_state(pump_manual: Rig) -> None:
    pump, clock = pump_manual.pump, pump_manual.clock
    assert clock is not None
    pump.purge(60)
    with pytest.raises(InstrumentError) as info:
        pump.equilibrate(1)
    assert _code(info) == PumpErrorCode.BUSY
    clock.advance(30)
    assert pump.state() is PumpState.PURGING and pump.pressure() < 10
    clock.advance(31)
    assert pump.state() is PumpState.IDLE


def test_wait_for_state_times_out_with_a_typed_error(pump_pty: Rig) -> None:
    pump_pty.pump.equilibrate(1)
    with pytest.raises(InstrumentTimeoutError, match="READY") as info:
        pump_pty.pump.wait_for_state(PumpState.READY, 0.3)
    assert info.value.value == "EQUILIBRATING"


# ----------------------------------------------------------------------- pressure
def test_pressure_follows_gradient_and_scales_with_flow(pump_rig: Rig) -> None:
    """Accelerated real time (200x): the run's trace peaks near 20 % ACN; pressure ~ flow."""
    pump = pump_rig.pump
    pump_rig.sim.clock.set_speed(200.0)
    runs: dict[str, float] = {}
    pump_rig.sim.add_run_listener(lambda event, t: runs.__setitem__(event, t))
    pump.upload_gradient(Gradient.from_rows([(0, 0, 300), (2, 0, 300), (10, 100, 300)]))
    pump.equilibrate(0.5)
    pump.wait_for_state(PumpState.READY, 20)
    pump.start()
    pump.wait_for_state([PumpState.EQUILIBRATING, PumpState.READY], 20)
    trace = pump.pressure_trace()
    assert trace.interval_s == 1 and trace.pressures_bar.size > 600
    t_run = trace.times_s - runs["started"]
    pressures = trace.pressures_bar
    at_water = pressures[(t_run > 60) & (t_run < 120)]
    gradient = (t_run > 120) & (t_run < runs["finished"] - runs["started"])
    at_acn = pressures[gradient][-10:]
    peak_t = t_run[gradient][np.argmax(pressures[gradient])]
    dwell_s = 60 * pump_rig.sim.dwell_volume_ul / 300
    peak_b = (peak_t - dwell_s - 120) / 480 * 100
    assert 10 <= peak_b <= 30
    assert pressures[gradient].max() > at_water.mean() + 10
    assert at_acn.mean() < 0.6 * at_water.mean()
    pump.stop()
    pump.set_composition(0)
    pump.set_flow(200)
    pump.equilibrate(20)
    p200 = _settled_pressure(pump)
    pump.set_flow(400)
    p400 = _settled_pressure(pump)
    assert p400 / p200 == pytest.approx(2.0, rel=0.05)


def _settled_pressure(pump: LCPump) -> float:
    time.sleep(0.15)  # 30 s simulated at 200x: 20 time constants
    return float(np.mean([pump.pressure() for _ in range(5)]))


def test_pressure_peak_sits_at_the_viscosity_maximum(pump_manual: Rig) -> None:
    pump, clock = pump_manual.pump, pump_manual.clock
    assert clock is not None
    pump_manual.sim.dwell_volume_ul = 0.0
    pump.upload_gradient(Gradient.from_rows([(0, 0, 300), (10, 100, 300)]))
    pump.start()
    readings = []
    for _ in range(100):
        clock.advance(6.0)
        status = pump.status()
        readings.append((status.pressure_bar, status.percent_b))
    pressures = np.array([r[0] for r in readings])
    comp = np.array([r[1] for r in readings])
    assert 10 <= comp[np.argmax(pressures)] <= 30


# --------------------------------------------------------------------------- faults


def test_transcript_exact_bytes_over_tcp() -> None:
    """What the driver puts on the line and what comes back, byte for byte."""
    sim = SimulatedLCPump(clock=ManualClock(), seed=0, noise_bar=0.0)
    log: list[tuple[str, bytes]] = []

    def logged(recv, send, stop) -> None:
        def rec() -> bytes | None:
            data = recv()
            if data:
                log.append(("in", data))
            return data

        def snd(data: bytes) -> None:
            log.append(("out", data))
            send(data)

        serve_pump_session(sim, rec, snd, stop)

    with TcpStreamServer(logged) as server, LCPump(server.url, timeout_s=1.0) as pump:
        pump.identify()
        pump.set_flow(250)
        pump.flow()
        pump.upload_gradient(Gradient.from_rows([(0, 5, 250), (10.5, 40.25, 250)]))
        pump.set_pressure_limits(10, 950)
        pump.pressure()
        pump.start()
    sent = b"".join(d for k, d in log if k == "in")
    got = b"".join(d for k, d in log if k == "out")
    assert sent == (
        b"ID?\r\nFLOW:250\r\nFLOW?\r\nGRAD:CLEAR\r\nGRAD:ROW:0,5,250\r\n"
        b"GRAD:ROW:10.5,40.25,250\r\nGRAD:END\r\nGRAD?\r\nPLIM:10,950\r\nPRES?\r\nRUN:START\r\n"
    )
    assert got == (
        f"ID:MSUITE,SIM-LCP1300,SN0001,{__version__}\r\n".encode()
        + b"OK\r\nFLOW:250\r\nOK\r\nOK\r\nOK\r\nOK\r\nGRAD:0,5,250;10.5,40.25,250\r\nOK\r\n"
        b"PRES:0\r\nOK\r\n"
    )


def test_raw_bytes_over_a_pty() -> None:
    """Exact request/reply bytes with plain pyserial on the pty (no driver)."""
    sim = SimulatedLCPump(clock=ManualClock(), noise_bar=0.0)
    with PtyLCPumpServer(sim) as server:
        port = serial.serial_for_url(server.resource, timeout=1.0)
        try:
            for request, reply in [
                (b"STATE?\r\n", b"STATE:IDLE\r\n"),
                (b"flow:120\r\n", b"OK\r\n"),
                (b"FLOW?\r\n", b"FLOW:120\r\n"),
                (b"EQUIL:2\r\n", b"OK\r\n"),
                (b"EQUIL?\r\n", b"EQUIL:0,2\r\n"),
                (b"STATUS?\r\n", b"STATUS:EQUILIBRATING,120,5,0,0,0\r\n"),
                (b"PURGE:10\r\n", b"ERROR:4\r\n"),
                (b"NOPE\r\n", b"ERROR:1\r\n"),
                (b"\xff\xfe?\r\n", b"ERROR:1\r\n"),
                (b"FAULT?\r\n", b"FAULT:0\r\n"),
                (b"RUN:STOP\r\n", b"OK\r\n"),
            ]:
                port.write(request)
                assert port.read_until(b"\r\n") == reply, request
        finally:
            port.close()


# ----------------------------------------------------------------------- concurrency
def test_two_threads_share_one_pump_safely(pump_rig: Rig) -> None:
    """The device lock keeps each request paired with its own reply."""
    pump = pump_rig.pump
    pump.set_pressure_limits(0, 1300)
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(60):
                assert pump.identify().model == "SIM-LCP1300"
                assert pump.pressure_limits() == (0, 1300)
        except BaseException as exc:
            errors.append(exc)

    def writer() -> None:
        try:
            for i in range(60):
                pump.set_flow(100 + i)
                assert pump.flow() == 100 + i
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert pump.reconnects == 0


def test_two_tcp_clients_share_one_simulated_pump() -> None:
    server = LCPumpServer(SimulatedLCPump(clock=ManualClock())).start()
    try:
        with LCPump(server.resource, timeout_s=1.0) as a, LCPump(server.resource) as b:
            a.set_flow(420)
            assert b.flow() == 420
            b.equilibrate(1)
            assert a.state() is PumpState.EQUILIBRATING
    finally:
        server.stop()
