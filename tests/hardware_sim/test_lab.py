"""The whole simulated bench: prep robot -> autosampler -> LC gradient + MS run, over real ptys/TCP.

One injection runs across the four devices in accelerated time, each reached through its own
driver on its own transport, with the contact closure modelled as a message between simulators.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from msuite.drivers.autosampler import Autosampler
from msuite.drivers.lc_pump import LCPump
from msuite.drivers.lc_pump_gradient import Gradient, GradientStep
from msuite.drivers.ms import MassSpectrometer
from msuite.drivers.prep_robot import PrepRobot
from msuite.drivers.prep_robot_model import default_clinical_protocol
from msuite.drivers.protocol import ScanMode
from msuite.drivers.protocol.lc_pump_codes import PumpState
from msuite.hardware_sim.lab import DEVICE_KINDS, SimulatedLab
from tests.drivers.simfixtures import LVN_HEAVY, LVN_LIGHT, srm_table

ROOT = Path(__file__).resolve().parents[2]
PLATE = "PLT-0001"


@pytest.fixture(params=["pty", "tcp"])
def lab(request: pytest.FixtureRequest) -> Iterator[SimulatedLab]:
    bench = SimulatedLab(speed=100.0, seed=5, serial=request.param).start()
    yield bench
    bench.stop()


def _prepare_plate(lab: SimulatedLab) -> None:
    """Run the clinical prep on three wells; the finished plate goes to the autosampler."""
    with PrepRobot(lab.resource("prep_robot"), timeout_s=2.0) as robot:
        robot.load_plate(PLATE, 96, "A1,A2,A3")
        lab.clock.set_speed(200_000.0)  # about 17 h of incubations in well under a second
        try:
            robot.run_protocol(default_clinical_protocol())
            wells = robot.wait_plate_ready(timeout_s=30)
        finally:
            lab.clock.set_speed(100.0)
    assert {w: s.state.value for w, s in wells.items() if w in ("A1", "A2", "A3")} == dict.fromkeys(
        ("A1", "A2", "A3"), "READY"
    )


def _wait_for_events(lab: SimulatedLab, kind: str, timeout_s: float = 5.0) -> list:
    """The lab's events of ``kind`` once there is one (listeners run on the device's timer)."""
    deadline = time.monotonic() + timeout_s
    while not lab.events_of(kind) and time.monotonic() < deadline:
        time.sleep(0.01)
    return lab.events_of(kind)


def test_one_injection_runs_across_every_device(lab: SimulatedLab) -> None:
    _prepare_plate(lab)
    handed = lab.events_of("plate_handed_over")
    assert [e.detail["plate_id"] for e in handed] == [PLATE]
    assert handed[0].detail["ready_wells"] == 3

    with LCPump(lab.resource("lc_pump"), timeout_s=2.0) as pump, Autosampler(
        lab.resource("autosampler"), timeout_s=2.0
    ) as sampler, MassSpectrometer(lab.resource("mass_spectrometer"), timeout_s=2.0) as ms:
        # autosampler: clear tray 1, take the prepared plate from the drawer by its barcode
        sampler.unload_labware(1)
        tray = sampler.load_labware(1, "P96", barcode=PLATE)
        assert tray.barcode == PLATE
        assert sampler.check_position("1:A1").present
        # LC: a two-minute gradient, equilibrated, armed for the contact closure
        pump.set_flow(300.0)
        pump.upload_gradient(Gradient((GradientStep(0.0, 5.0, 300.0),
                                       GradientStep(1.5, 35.0, 300.0),
                                       GradientStep(2.0, 95.0, 300.0))))
        pump.equilibrate(2.0)
        pump.wait_for_state(PumpState.READY, timeout_s=30)
        pump.arm()
        assert pump.state() is PumpState.ARMED
        # MS: SRM of a peptide with its heavy standard, started by the external trigger
        ms.upload_srm(srm_table(LVN_LIGHT + LVN_HEAVY, dwell_ms=20.0))
        ms.set_mode(ScanMode.SRM)
        ms.source_on()
        ms.set_duration(120.0)
        ms.set_trigger(external=True)
        first = ms.next_sequence()
        ms.start()
        assert ms.acquisition_state() == "ARMED"

        ticket = sampler.inject("1:A1", 5.0)
        record = sampler.wait_injection_done(timeout_s=30)
        assert record.number == ticket.number and str(record.position) == "1:A1"

        injection = _wait_for_events(lab, "injection")
        assert len(injection) == 1
        assert injection[0].detail["pump_started"] and injection[0].detail["ms_started"]
        assert injection[0].sim_time_s == pytest.approx(record.sim_time_s, abs=1e-3)
        # both runs started at the valve switch: each run clock reads the time since it
        assert pump.state() is PumpState.RUNNING
        before = lab.clock.now() - record.sim_time_s
        pump_s, ms_s = pump.runtime_min() * 60.0, ms.run_time()
        after = lab.clock.now() - record.sim_time_s
        # the pump reports 1/1000 min and may start up to the listener latency after the valve
        assert before - 0.5 <= pump_s <= after + 0.06
        assert before <= ms_s <= after
        assert lab.ms.run is not None
        assert lab.ms.run.start_instrument_s == pytest.approx(record.sim_time_s, abs=1e-3)

        deadline = time.monotonic() + 30
        while ms.acquisition_state() != "DONE" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ms.acquisition_state() == "DONE"
        records = ms.fetch_scans(first, 100_000)
        rts = np.array([r.rt for r in records])
        assert records and rts.min() < 2.0 and rts.max() > 115.0
        assert np.all(np.diff([r.sequence for r in records]) == 1)
        pump.wait_for_state((PumpState.EQUILIBRATING, PumpState.READY), timeout_s=30)

    started = lab.events_of("gradient_started")
    finished = lab.events_of("gradient_finished")
    assert started and finished
    # the pump cannot start before its own clock: it may lag the valve by the listener latency
    assert started[0].sim_time_s == pytest.approx(record.sim_time_s, abs=0.5)
    assert finished[0].sim_time_s - started[0].sim_time_s == pytest.approx(120.0, abs=1.0)
    # the sample was drawn from the well the robot prepared
    assert lab.autosampler.deck[1].volumes["A1"] == pytest.approx(100.0 - 5.0, abs=1.0)


def test_an_injection_with_nothing_armed_starts_nothing(lab: SimulatedLab) -> None:
    _prepare_plate(lab)
    with Autosampler(lab.resource("autosampler"), timeout_s=2.0) as sampler:
        sampler.unload_labware(1)
        sampler.load_labware(1, "P96", barcode=PLATE)
        sampler.inject("1:A2", 2.0)
        sampler.wait_injection_done(timeout_s=30)
    (event,) = _wait_for_events(lab, "injection")
    assert event.detail == {"position": "1:A2", "volume_ul": 2.0, "pump_started": False,
                            "ms_started": False}


def test_sim_start_all_prints_one_line_per_device() -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "msuite.cli", "sim", "start", "--all", "--seed", "2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().split() for _ in DEVICE_KINDS]
        assert [kind for kind, _resource in lines] == list(DEVICE_KINDS)
        resources = dict(lines)
        assert resources["mass_spectrometer"].startswith("TCPIP::127.0.0.1::")
        for kind in ("lc_pump", "autosampler", "prep_robot"):
            assert resources[kind].startswith("/dev/")
        with PrepRobot(resources["prep_robot"], timeout_s=2.0) as robot:
            assert robot.identify().model == "SIM-PREP96"
        with LCPump(resources["lc_pump"], timeout_s=2.0) as pump:
            assert pump.state() is PumpState.IDLE
        with MassSpectrometer(resources["mass_spectrometer"], timeout_s=2.0) as ms:
            assert ms.identity is not None
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
