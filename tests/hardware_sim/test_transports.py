"""The simulator over a real pseudo-terminal and as the ``msuite sim start`` process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import serial

from msuite.drivers.ms import MassSpectrometer
from msuite.hardware_sim.ms_instrument import SimulatedMassSpec
from msuite.hardware_sim.server import PtyMassSpecServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pty_sim():
    server = PtyMassSpecServer(SimulatedMassSpec("tq", speed=100.0)).start()
    yield server
    server.stop()


def test_pyserial_over_pty(pty_sim: PtyMassSpecServer) -> None:
    with serial.Serial(pty_sim.port_name, 115200, timeout=2) as port:
        port.write(b"*IDN?\n")
        assert port.readline().startswith(b"msuite,SIM-TQ600,")
        port.write(b"SYST:ERR?\n")
        assert port.readline() == b'0,"No error"\n'


def test_compound_messages_over_pty(pty_sim: PtyMassSpecServer) -> None:
    with serial.Serial(pty_sim.port_name, 115200, timeout=2) as port:
        port.write(b"SOUR:STAT ON;SOUR:STAT?;*OPC?;BOGUS:CMD;SYST:ERR?\n")
        assert port.readline() == b'ON;1;-113,"Undefined header; BOGUS:CMD"\n'
        port.write(b"SYST:SYNC? \"a;b\";SYST:ERR:COUN?\n")
        assert port.readline() == b'"a;b";0\n'
        port.write(b"*CLS;SOUR:STAT OFF\n")  # no query: no reply
        port.write(b"SOUR:STAT?\n")
        assert port.readline() == b"OFF\n"


def test_late_reply_on_a_serial_line_is_discarded_after_resync(
    pty_sim: PtyMassSpecServer,
) -> None:
    with MassSpectrometer(pty_sim.resource, timeout_s=0.5, retries=1) as ms:
        pty_sim.instrument.inject("stall", 0.8)  # the reply to the next query comes late
        assert ms.run_time() >= 0.0  # timed out, reopened, resynchronised, repeated
        assert ms.reconnects == 1
        # without the resync, these would read each other's replies
        assert ms.identify().model == "SIM-TQ600"
        assert ms.errors() == []
        assert ms.state().name == "STANDBY"


def test_driver_over_pty_asrl(pty_sim: PtyMassSpecServer) -> None:
    with MassSpectrometer(pty_sim.resource, timeout_s=2.0) as ms:
        assert ms.identity is not None and ms.identity.model == "SIM-TQ600"
        ms.source_on()
        assert ms.readbacks().source_kv > 0


def test_sim_start_prints_resource_and_stops_on_sigint() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "msuite.hardware_sim.cli", "sim", "start", "--preset", "orbitrap",
         "--speed", "50", "--seed", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("TCPIP::127.0.0.1::") and first.endswith("::SOCKET")
        with MassSpectrometer(first, timeout_s=2.0) as ms:
            assert ms.identity is not None and ms.identity.model == "SIM-OT480"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
