"""The simulated LC pump: hydraulics, state machine over simulated time, faults and hooks."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from msuite.core.errors import InputError
from msuite.drivers.lc_pump_gradient import Gradient
from msuite.drivers.protocol.lc_pump_codes import PumpErrorCode, PumpState
from msuite.hardware_sim.clock import SimClock
from msuite.hardware_sim.lc_pump_physics import (
    PRESSURE_TIME_CONSTANT_S,
    ColumnSpec,
    HydraulicModel,
    viscosity_cp,
)
from msuite.hardware_sim.lc_pump_server import execute_line
from msuite.hardware_sim.lc_pump_sim import (
    LEAK_SENSOR_DELAY_S,
    PumpFaultPlan,
    SimulatedLCPump,
)


class ManualClock(SimClock):
    """A simulated clock that only moves when told (deterministic timing in tests)."""

    def __init__(self) -> None:
        super().__init__(1.0)
        self._manual_now = 0.0
        self._manual_lock = threading.Lock()

    def now(self) -> float:
        with self._manual_lock:
            return self._manual_now

    def advance(self, seconds: float) -> None:
        with self._manual_lock:
            self._manual_now += seconds


LINEAR = Gradient.from_rows([(0.0, 0.0, 300.0), (20.0, 100.0, 300.0)])


def _pump(clock: ManualClock, **kwargs) -> SimulatedLCPump:
    return SimulatedLCPump(clock=clock, seed=1, **kwargs)


def _ok(pump: SimulatedLCPump, *lines: str) -> None:
    for line in lines:
        assert execute_line(pump, line) == "OK", line


# ------------------------------------------------------------------------------ physics
def test_viscosity_has_its_maximum_near_20_percent_acetonitrile() -> None:
    b = np.linspace(0, 100, 1001)
    eta = viscosity_cp(b, 40.0)
    peak = b[int(np.argmax(eta))]
    assert 10.0 <= peak <= 30.0
    assert eta.max() > eta[0] > eta[-1]
    assert float(viscosity_cp(0.0, 40.0)) == pytest.approx(0.653, rel=0.03)  # water, 40 °C
    assert float(viscosity_cp(100.0, 25.0)) == pytest.approx(0.34, rel=0.06)  # ACN, 25 °C
    assert float(viscosity_cp(0.0, 25.0)) > float(viscosity_cp(0.0, 40.0))


def test_darcy_pressure_of_a_sub_2_micron_column_is_uhplc_range_and_linear_in_flow() -> None:
    column = ColumnSpec()
    assert column.volume_ul == pytest.approx(np.pi * 1.05**2 * 150 * 0.65, rel=1e-6)
    model = HydraulicModel(column)
    p300 = float(model.column_pressure_bar(300.0, 0.0))
    assert 400.0 < p300 < 800.0
    assert float(model.column_pressure_bar(600.0, 0.0)) == pytest.approx(2 * p300)
    coarse = HydraulicModel(ColumnSpec(particle_um=3.4))
    assert float(coarse.column_pressure_bar(300.0, 0.0)) < p300 / 2  # dP ~ 1/dp^2


def test_pressure_follows_a_flow_step_with_the_time_constant() -> None:
    clock = ManualClock()
    pump = _pump(clock)
    _ok(pump, "FLOW:300", "COMP:0", "EQUIL:50")
    target = float(pump.hydraulics.column_pressure_bar(300.0, 0.0))
    clock.advance(PRESSURE_TIME_CONSTANT_S)
    pump.tick()
    assert pump.pressure_bar == pytest.approx(target * (1 - np.exp(-1)), rel=1e-3)
    clock.advance(20 * PRESSURE_TIME_CONSTANT_S)
    pump.tick()
    assert pump.pressure_bar == pytest.approx(target, rel=1e-4)


def test_pressure_during_a_gradient_peaks_near_the_viscosity_maximum_delayed_by_dwell() -> None:
    clock = ManualClock()
    pump = _pump(clock, dwell_volume_ul=300.0)  # 1 min delay at 300 µL/min
    pump.load_gradient(LINEAR)
    _ok(pump, "RUN:START")
    times, pressures = [], []
    for _ in range(20 * 60 // 5):
        clock.advance(5.0)
        pump.tick()
        times.append(pump.run_time_s())
        pressures.append(pump.pressure_bar)
    peak_min = times[int(np.argmax(pressures))] / 60.0
    # %B at the column = programmed %B one minute earlier; the maximum lies near 15-20 %B.
    peak_b_at_column = (peak_min - 1.0) * 5.0
    assert 10.0 <= peak_b_at_column <= 30.0
    assert max(pressures) > pressures[10] and max(pressures) > pressures[-2]


def test_equilibration_takes_the_time_its_column_volumes_imply() -> None:
    clock = ManualClock()
    pump = _pump(clock)
    pump.load_gradient(LINEAR)
    _ok(pump, "EQUIL:3")
    needed_s = 3 * pump.hydraulics.column.volume_ul / 300.0 * 60.0
    clock.advance(needed_s - 0.5)
    assert execute_line(pump, "STATE?") == "STATE:EQUILIBRATING"
    done, target = (float(v) for v in execute_line(pump, "EQUIL?")[6:].split(","))
    assert target == 3 and done == pytest.approx(3 * (needed_s - 0.5) / needed_s, abs=0.01)
    clock.advance(1.0)
    assert execute_line(pump, "STATE?") == "STATE:READY"


def test_purge_is_busy_for_its_duration_at_low_pressure() -> None:
    clock = ManualClock()
    pump = _pump(clock)
    _ok(pump, "PURGE:30")
    clock.advance(29.0)
    assert execute_line(pump, "STATE?") == "STATE:PURGING"
    assert execute_line(pump, "FLOW:200") == f"ERROR:{PumpErrorCode.BUSY.value}"
    assert pump.pressure_bar < 10.0
    clock.advance(2.0)
    assert execute_line(pump, "STATE?") == "STATE:IDLE"


def test_same_seed_same_readbacks() -> None:
    readings = []
    for _ in range(2):
        clock = ManualClock()
        pump = _pump(clock)
        _ok(pump, "EQUIL:1")
        values = []
        for _ in range(5):
            clock.advance(3.0)
            values.append(execute_line(pump, "PRES?"))
        readings.append(values)
    assert readings[0] == readings[1]


# ------------------------------------------------------------------------- coupling hooks
def test_contact_closure_starts_an_armed_gradient_and_listeners_get_exact_times() -> None:
    clock = ManualClock()
    pump = _pump(clock)
    events: list[tuple[str, float]] = []
    pump.add_run_listener(lambda event, t: events.append((event, t)))
    pump.load_gradient(Gradient.from_rows([(0, 5, 300), (2, 50, 300)]))
    assert pump.contact_closure() is False  # not armed: ignored
    _ok(pump, "EQUIL:0.5", "PLIM:0,1300")
    clock.advance(60.0)
    _ok(pump, "RUN:ARM")
    clock.advance(10.0)
    assert pump.contact_closure() is True
    assert events == [("started", 70.0)]
    clock.advance(125.0)
    pump.tick()
    assert events == [("started", 70.0), ("finished", pytest.approx(190.0))]
    assert pump.state is PumpState.EQUILIBRATING  # back at initial conditions, 0.5 CV again
    clock.advance(0.5 * pump.hydraulics.column.volume_ul / 300.0 * 60.0)
    pump.tick()
    assert pump.state is PumpState.READY


def test_a_run_ended_by_a_fault_is_reported_finished_at_the_fault_time() -> None:
    clock = ManualClock()
    pump = _pump(clock, faults=PumpFaultPlan(blockage=3.0))
    events: list[tuple[str, float]] = []
    pump.add_run_listener(lambda event, t: events.append((event, t)))
    pump.load_gradient(LINEAR)
    _ok(pump, "RUN:START")
    clock.advance(60.0)
    assert execute_line(pump, "STATE?") == f"ERROR:{PumpErrorCode.OVERPRESSURE.value}"
    assert execute_line(pump, "STATE?") == "STATE:FAULT"
    assert events[-1][0] == "finished" and 0.0 < events[-1][1] < 10.0


# ---------------------------------------------------------------------------- faults
def test_leak_armed_at_construction_trips_the_sensor_after_its_delay() -> None:
    clock = ManualClock()
    pump = _pump(clock, faults=PumpFaultPlan(leak_fraction=0.5))
    clock.advance(LEAK_SENSOR_DELAY_S - 0.1)
    assert execute_line(pump, "STATE?") == "STATE:IDLE"
    clock.advance(0.2)
    assert execute_line(pump, "FLOW?") == f"ERROR:{PumpErrorCode.LEAK.value}"
    assert execute_line(pump, "FAULT?") == "FAULT:8"
    assert execute_line(pump, "FAULT:CLEAR") == "ERROR:8"  # sensor still wet
    pump.inject("clear")
    assert execute_line(pump, "FAULT:CLEAR") == "OK"
    assert pump.state is PumpState.IDLE


def test_leak_lowers_the_pressure() -> None:
    clock = ManualClock()
    pump = _pump(clock)
    _ok(pump, "EQUIL:50")
    clock.advance(30.0)
    pump.tick()
    before = pump.pressure_bar
    pump.inject("leak", 0.5)
    clock.advance(LEAK_SENSOR_DELAY_S - 0.5)
    pump.tick()
    assert pump.pressure_bar < 0.6 * before
    assert pump.state is PumpState.EQUILIBRATING


def test_underpressure_limit_trips_when_the_leak_is_big() -> None:
    clock = ManualClock()
    pump = _pump(clock)
    _ok(pump, "PLIM:100,1000", "EQUIL:50")
    clock.advance(30.0)
    pump.inject("leak", 0.95)
    clock.advance(LEAK_SENSOR_DELAY_S - 0.5)
    pump.tick()
    assert pump.state is PumpState.FAULT and pump.fault_code == PumpErrorCode.UNDERPRESSURE


def test_inject_rejects_unknown_faults_and_bad_arguments() -> None:
    pump = SimulatedLCPump(clock=ManualClock())
    with pytest.raises(InputError, match="unknown fault") as info:
        pump.inject("meltdown")
    assert info.value.value == "meltdown" and "leak" in info.value.allowed
    with pytest.raises(InputError, match="fraction"):
        pump.inject("leak", 1.5)
    assert execute_line(pump, "SIM:FAULT:MELTDOWN") == "ERROR:2"
    assert execute_line(pump, "SIM:FAULT:DROP,0") == "ERROR:3"
    assert execute_line(pump, "SIM:BOGUS") == "ERROR:1"


def test_every_query_answers_with_its_key() -> None:
    pump = SimulatedLCPump(clock=ManualClock())
    keys = [
        "ID",
        "FLOW",
        "COMP",
        "PRES",
        "PLIM",
        "GRAD",
        "STATE",
        "RUNTIME",
        "EQUIL",
        "COLUMN",
        "PTRACE",
        "FAULT",
        "STATUS",
    ]
    for key in keys:
        assert execute_line(pump, f"{key}?").startswith(f"{key}:")
    assert execute_line(pump, "flow?") == "FLOW:300"  # case-insensitive


def test_fault_clear_answers_even_while_the_fault_notification_is_pending() -> None:
    clock = ManualClock()
    pump = _pump(clock)
    _ok(pump, "EQUIL:50")
    pump.inject("overpressure")
    clock.advance(1.0)
    assert execute_line(pump, "FAULT?") == "FAULT:6"  # does not consume the notification
    assert execute_line(pump, "FAULT:CLEAR") == "OK"  # acknowledges it
    assert execute_line(pump, "STATE?") == "STATE:IDLE"


def test_overpressure_armed_while_stopped_fires_when_the_pump_starts() -> None:
    clock = ManualClock()
    pump = _pump(clock, faults=PumpFaultPlan(overpressure=True))
    clock.advance(30.0)
    assert execute_line(pump, "STATE?") == "STATE:IDLE"
    _ok(pump, "EQUIL:5")
    clock.advance(1.0)
    assert execute_line(pump, "STATE?") == "ERROR:6"
    assert pump.pressure_bar > pump.pressure_limits[1]


def test_late_reported_contact_closure_starts_the_gradient_at_its_instant() -> None:
    clock = ManualClock()
    pump = _pump(clock)
    events: list[tuple[str, float]] = []
    pump.add_run_listener(lambda event, t: events.append((event, t)))
    pump.add_run_listener(lambda event, t: 1 / 0)  # a broken listener is logged, not fatal
    pump.load_gradient(Gradient.from_rows([(0, 5, 300), (2, 50, 300)]))
    _ok(pump, "EQUIL:0.5")
    clock.advance(40.0)
    _ok(pump, "RUN:ARM")
    clock.advance(10.0)
    assert pump.contact_closure(at_s=45.0) is True
    assert events == [("started", 45.0)]
    assert execute_line(pump, "RUNTIME?") == "RUNTIME:0.083"  # 5 s
