"""LC pump faults over real ptys and TCP sockets: each ends in a typed error or a retry."""

from __future__ import annotations

import pytest

from msuite.drivers.errors import (
    ConnectionLostError,
    InstrumentError,
    InstrumentTimeoutError,
    ProtocolError,
)
from msuite.drivers.lc_pump import (
    LCPump,
    PumpState,
)
from msuite.drivers.protocol.lc_pump_codes import PumpErrorCode
from msuite.hardware_sim.lc_pump_server import (
    GARBLED_REPLY,
)
from msuite.hardware_sim.lc_pump_sim import LEAK_SENSOR_DELAY_S, PumpFaultPlan, SimulatedLCPump
from tests.drivers.lc_pump_rig import (
    SHORT,
    Rig,
    _code,
    _serve,
)
from tests.hardware_sim.test_lc_pump_sim import ManualClock


def test_overpressure_injection_stops_the_pump_with_error_6(pump_manual: Rig) -> None:
    pump, clock = pump_manual.pump, pump_manual.clock
    assert clock is not None
    pump.upload_gradient(SHORT)
    pump.start()
    clock.advance(5)
    pump.simulate_fault("overpressure")
    clock.advance(1)
    with pytest.raises(InstrumentError) as info:
        pump.flow()  # the first request after the fault gets its code
    assert _code(info) == PumpErrorCode.OVERPRESSURE and "Overpressure" in info.value.text
    assert pump.state() is PumpState.FAULT and pump.fault_code() == 6
    with pytest.raises(InstrumentError) as info:
        pump.start()
    assert _code(info) == PumpErrorCode.OVERPRESSURE
    pump.clear_fault()
    assert pump.status().state is PumpState.IDLE and pump.fault_code() == 0


def test_blocked_column_raises_pressure_into_an_overpressure_fault(pump_manual: Rig) -> None:
    pump, clock = pump_manual.pump, pump_manual.clock
    assert clock is not None
    pump.upload_gradient(SHORT)
    pump.equilibrate(50)
    clock.advance(20)
    normal = pump.pressure()
    pump.simulate_fault("blocked", 2.0)
    clock.advance(1)
    assert pump.pressure() > normal + 50
    clock.advance(20)
    with pytest.raises(InstrumentError) as info:
        pump.wait_for_state(PumpState.READY, 2.0)
    assert _code(info) == PumpErrorCode.OVERPRESSURE
    pump.simulate_fault("clear")
    pump.clear_fault()
    assert pump.state() is PumpState.IDLE


def test_lowering_the_max_limit_below_the_pressure_trips(pump_pty: Rig) -> None:
    pump = pump_pty.pump
    pump.equilibrate(50)
    pump_pty.clock.advance(20)
    pump.set_pressure_limits(0, 300)
    pump_pty.clock.advance(1)
    with pytest.raises(InstrumentError) as info:
        pump.state()
    assert _code(info) == PumpErrorCode.OVERPRESSURE


def test_leak_drops_pressure_then_faults_until_repaired(pump_manual: Rig) -> None:
    pump, clock = pump_manual.pump, pump_manual.clock
    assert clock is not None
    pump.equilibrate(50)
    clock.advance(20)
    before = pump.pressure()
    pump.simulate_fault("leak", 0.5)
    clock.advance(LEAK_SENSOR_DELAY_S - 1)
    assert pump.pressure() < 0.6 * before
    clock.advance(2)
    with pytest.raises(InstrumentError) as info:
        pump.status()
    assert _code(info) == PumpErrorCode.LEAK
    with pytest.raises(InstrumentError) as info:
        pump.clear_fault()  # the sensor is still wet
    assert _code(info) == PumpErrorCode.LEAK
    pump.simulate_fault("clear")
    pump.clear_fault()
    assert pump.state() is PumpState.IDLE


def test_underpressure_limit_faults_with_error_7(pump_pty: Rig) -> None:
    pump = pump_pty.pump
    pump.set_pressure_limits(150, 1000)
    pump.equilibrate(50)
    pump_pty.clock.advance(20)
    pump.simulate_fault("leak", 0.9)
    pump_pty.clock.advance(3)
    with pytest.raises(InstrumentError) as info:
        pump.pressure()
    assert _code(info) == PumpErrorCode.UNDERPRESSURE


def test_dropped_request_is_retried_after_reconnect(pump_manual: Rig) -> None:
    pump_manual.pump.simulate_fault("drop", 1)  # armed over the wire: the next request is lost
    assert pump_manual.pump.flow() == 300
    assert pump_manual.pump.reconnects == 1


def test_late_reply_is_discarded_by_the_resync(pump_manual: Rig) -> None:
    pump = pump_manual.pump
    pump.set_flow(250.0)
    pump.set_composition(12.5)
    pump_manual.sim.inject("stall", 0.8)  # driver timeout 0.5 s: the reply arrives after it gave up
    assert pump.flow() == 250.0  # timed out, reopened, resynchronised, asked again
    assert pump.reconnects == 1
    # without the resync the late "FLOW:250" would answer the next request
    assert pump.state() is PumpState.IDLE
    assert pump.composition() == 12.5 and pump.flow() == 250.0


def test_late_reply_to_an_action_is_a_timeout_and_the_line_recovers(pump_manual: Rig) -> None:
    pump = pump_manual.pump
    pump_manual.sim.inject("stall", 0.8)
    with pytest.raises(InstrumentTimeoutError):
        pump.purge(5)
    assert pump.state() is PumpState.PURGING  # the purge did run; its late OK was discarded
    assert pump.pressure_limits()[1] > 0


def test_faults_armed_at_construction(pump_manual: Rig) -> None:
    sim = SimulatedLCPump(clock=ManualClock(), faults=PumpFaultPlan(drop=1, garble=1))
    driver = {"timeout_s": 1.0, "retries": 3}  # a loaded machine may slow a retry's reply too
    with _serve(pump_manual.kind, sim) as server, LCPump(server.resource, **driver) as pump:
        assert pump.state() is PumpState.IDLE  # dropped, garbled, then answered
        assert pump.reconnects >= 1  # the garbled reply may hit the resync's SYNC
    sim = SimulatedLCPump(clock=ManualClock(), faults=PumpFaultPlan(error_code=5))
    with _serve(pump_manual.kind, sim) as server, LCPump(server.resource, timeout_s=2.0) as pump:
        with pytest.raises(InstrumentError) as info:
            pump.state()
        assert _code(info) == 5 and pump.state() is PumpState.IDLE


def test_dropped_line_beyond_the_retries_is_a_typed_error(pump_manual: Rig) -> None:
    pump_manual.sim.inject("drop", 5)
    expected = InstrumentTimeoutError if pump_manual.kind == "pty" else ConnectionLostError
    with pytest.raises(expected):
        pump_manual.pump.pressure()
    pump_manual.sim.inject("clear")
    assert pump_manual.pump.identify().model == "SIM-LCP1300"


def test_dropped_action_is_not_repeated(pump_manual: Rig) -> None:
    pump_manual.pump.upload_gradient(SHORT)
    pump_manual.sim.inject("drop", 1)
    with pytest.raises((InstrumentTimeoutError, ConnectionLostError)):
        pump_manual.pump.start()
    assert pump_manual.pump.state() is PumpState.IDLE  # the request never reached the pump
    pump_manual.pump.start()
    assert pump_manual.pump.state() is PumpState.RUNNING


def test_gradient_upload_restarts_after_a_dropped_line(pump_manual: Rig) -> None:
    pump_manual.sim.inject("drop", 1)
    pump_manual.pump.upload_gradient(SHORT)
    assert pump_manual.pump.gradient() == SHORT and pump_manual.pump.reconnects == 1


def test_garbled_reply_to_a_query_is_retried(pump_manual: Rig) -> None:
    pump_manual.pump.simulate_fault("garble", 1)
    assert pump_manual.pump.pressure_limits() == (0, 1000)
    assert pump_manual.pump.reconnects == 1
    pump_manual.sim.inject("garble", 5)  # every try and every resync in between is garbled
    with pytest.raises(ProtocolError, match="not ASCII") as info:
        pump_manual.pump.flow()
    assert info.value.value == GARBLED_REPLY[:-2]


def test_garbled_reply_to_an_action_is_a_protocol_error(pump_pty: Rig) -> None:
    pump_pty.pump.upload_gradient(SHORT)
    pump_pty.sim.inject("garble", 1)
    with pytest.raises(ProtocolError):
        pump_pty.pump.start()
    assert pump_pty.pump.state() is PumpState.RUNNING  # executed; only the reply was lost


def test_injected_error_code_is_raised_once(pump_rig: Rig) -> None:
    pump_rig.pump.simulate_fault("error", 11)
    with pytest.raises(InstrumentError) as info:
        pump_rig.pump.identify()
    assert _code(info) == 11 and info.value.text == "Hardware error"
    assert pump_rig.pump.identify().model == "SIM-LCP1300"


def test_unknown_simulated_fault_is_refused(pump_pty: Rig) -> None:
    with pytest.raises(InstrumentError) as info:
        pump_pty.pump.simulate_fault("meltdown")
    assert _code(info) == PumpErrorCode.BAD_VALUE


# ------------------------------------------------------------------- exact bytes
