"""Every injected fault ends in a typed error or a successful reconnect, never a hang.

Each test runs over loopback TCP and over a pseudo-terminal (the serial variant): on a pty a
dropped line cannot close anything, so the driver sees silence, times out and reopens the port.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import numpy as np
import pytest

from msuite.drivers.errors import (
    ConnectionLostError,
    InstrumentError,
    InstrumentTimeoutError,
    SequenceGapError,
)
from msuite.drivers.ms import InstrumentState, MassSpectrometer
from msuite.drivers.protocol import FLAG_FAULT, ScanMode
from msuite.hardware_sim.ms_instrument import SimulatedMassSpec
from msuite.hardware_sim.server import MassSpecServer, PtyMassSpecServer
from tests.drivers.simfixtures import LVN_HEAVY, LVN_LIGHT, srm_table


@pytest.fixture(params=["tcp", "pty"])
def sim(request: pytest.FixtureRequest) -> Iterator[MassSpecServer | PtyMassSpecServer]:
    """The triple-quad simulator at 100x, served on loopback TCP or on a pty."""
    instrument = SimulatedMassSpec("tq", speed=100.0, seed=3)
    server_cls = MassSpecServer if request.param == "tcp" else PtyMassSpecServer
    server = server_cls(instrument).start()
    yield server
    server.stop()


def _prepare_srm(ms: MassSpectrometer, duration: float = 60.0) -> None:
    ms.upload_srm(srm_table(LVN_LIGHT + LVN_HEAVY, dwell_ms=20.0))
    ms.set_mode(ScanMode.SRM)
    ms.source_on()
    ms.set_duration(duration)


def test_dropped_connection_reconnects(sim: MassSpecServer, ms: MassSpectrometer) -> None:
    sim.instrument.inject("drop")
    assert ms.identify().model == "SIM-TQ600"
    assert ms.reconnects == 1


def test_stall_past_timeout_reconnects_then_succeeds(
    sim: MassSpecServer, ms: MassSpectrometer
) -> None:
    sim.instrument.inject("stall", 1.5)  # driver timeout is 1 s
    t0 = time.monotonic()
    assert ms.state() is InstrumentState.STANDBY
    assert ms.reconnects == 1 and time.monotonic() - t0 < 5


def test_stall_on_a_command_that_cannot_be_repeated_is_a_timeout_error(
    sim: MassSpecServer, ms: MassSpectrometer
) -> None:
    _prepare_srm(ms)
    sim.instrument.inject("stall", 1.5)
    with pytest.raises(InstrumentTimeoutError):
        ms.start()
    assert ms.identify().model == "SIM-TQ600"  # the session is usable again


def test_stall_beyond_every_retry_is_a_timeout_error(sim: MassSpecServer) -> None:
    with MassSpectrometer(sim.resource, timeout_s=0.3, retries=0) as ms:
        sim.instrument.inject("stall", 1.0)
        with pytest.raises(InstrumentTimeoutError):
            ms.state()


@pytest.mark.parametrize("kind", ["garbage", "partial"])
def test_damaged_block_is_refetched(
    sim: MassSpecServer, ms: MassSpectrometer, kind: str
) -> None:
    _prepare_srm(ms, duration=10)
    first = ms.next_sequence()
    ms.start()
    time.sleep(0.15)
    sim.instrument.inject(kind)
    recs = ms.fetch_scans(first, 50)
    assert recs and recs[0].sequence == first
    assert ms.reconnects == 1


def test_error_code_injection_is_raised(sim: MassSpecServer, ms: MassSpectrometer) -> None:
    sim.instrument.inject("error", -240)
    with pytest.raises(InstrumentError) as info:
        ms.check_errors("poll")
    assert info.value.code == -240 and info.value.text == "Hardware error"


def test_vacuum_fault_mid_run_ends_the_stream(sim: MassSpecServer, ms: MassSpectrometer) -> None:
    _prepare_srm(ms, duration=300)
    sim.instrument.inject("vacuum", 30.0)
    stream = ms.stream()
    ms.start()
    got = []
    with pytest.raises(InstrumentError) as info:
        for rec in stream:
            got.append(rec)
    assert info.value.code == 101
    assert got and max(r.rt for r in got) <= 30.0
    assert ms.state() is InstrumentState.FAULT
    assert ms.readbacks().vacuum_mbar > 1e-4
    with pytest.raises(InstrumentError) as again:
        ms.source_on()
    assert again.value.code == 101


def test_spray_loss_flags_scans_and_queues_an_error(
    sim: MassSpecServer, ms: MassSpectrometer
) -> None:
    _prepare_srm(ms, duration=20)
    sim.instrument.inject("spray", 10.0)
    stream = ms.stream()
    ms.start()
    recs = list(stream)
    flagged = [r for r in recs if int(r.header["flags"]) & FLAG_FAULT]
    assert flagged and min(r.rt for r in flagged) >= 10.0
    assert ms.readbacks().source_ua < 0.1
    with pytest.raises(InstrumentError) as info:
        ms.check_errors()
    assert info.value.code == 102


def test_sequence_gap_is_an_error(sim: MassSpecServer, ms: MassSpectrometer) -> None:
    _prepare_srm(ms, duration=20)
    sim.instrument.inject("gap", 5.0)
    stream = ms.stream()
    ms.start()
    with pytest.raises(SequenceGapError) as info:
        for _ in stream:
            pass
    assert info.value.lost == 1


def test_gap_reported_through_callback_join(sim: MassSpecServer, ms: MassSpectrometer) -> None:
    _prepare_srm(ms, duration=20)
    sim.instrument.inject("gap", 5.0)
    got = []
    stream = ms.stream(callback=got.append)
    ms.start()
    with pytest.raises(SequenceGapError):
        stream.join(timeout=20)
    assert got


def test_server_gone_is_connection_lost(sim: MassSpecServer) -> None:
    ms = MassSpectrometer(sim.resource, timeout_s=0.5, retries=1).connect()
    sim.stop()
    with pytest.raises((ConnectionLostError, InstrumentTimeoutError)):
        ms.state()
    ms.close()


def test_nothing_listening_is_connection_lost() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ms = MassSpectrometer(f"TCPIP::127.0.0.1::{port}::SOCKET", timeout_s=0.5)
    with pytest.raises(ConnectionLostError):
        ms.connect()


def test_faults_by_wire_command(sim: MassSpecServer, ms: MassSpectrometer) -> None:
    with pytest.raises(InstrumentError) as info:
        ms._write("SIM:FAUL ERROR,-310")
    assert info.value.code == -310
    assert ms.errors() == []
    ms.transport.write("SIM:FAUL DROP")
    assert ms.identify().model == "SIM-TQ600"
    assert np.isfinite(ms.run_time())
