"""Driver <-> simulator over real loopback TCP."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import pyvisa

from msuite.drivers.errors import InstrumentError
from msuite.drivers.ms import InstrumentState, MassSpectrometer
from msuite.drivers.protocol import (
    FLAG_CENTROID,
    PRM_ROW_DTYPE,
    WINDOW_UPDATE_DTYPE,
    ScanMode,
    decode_scans,
    encode_block,
)
from msuite.hardware_sim.server import MassSpecServer
from tests.drivers.simfixtures import LVN_HEAVY, LVN_LIGHT, srm_table


def test_identity_limits_and_readbacks(ms: MassSpectrometer) -> None:
    assert ms.identity is not None and ms.identity.model == "SIM-TQ600"
    assert ms.limits is not None and ms.limits.max_srm_per_s == 600
    assert ms.self_test() == 0
    assert ms.state() is InstrumentState.STANDBY
    ms.source_on()
    rb = ms.readbacks()
    assert rb.state is InstrumentState.READY and rb.source_kv > 0 and rb.vacuum_mbar < 1e-6
    assert ms.errors() == []


def test_instrument_limits_enforced(ms: MassSpectrometer) -> None:
    with pytest.raises(InstrumentError) as info:
        ms.upload_srm(srm_table(LVN_LIGHT, dwell_ms=0.01))
    assert info.value.code == 202 and "Dwell below minimum" in str(info.value)
    with pytest.raises(InstrumentError) as info:
        ms.upload_srm(srm_table(LVN_LIGHT * 15001))
    assert info.value.code == 201
    with pytest.raises(InstrumentError) as info:
        ms.set_mode(ScanMode.PRM)
    assert info.value.code == -221
    with pytest.raises(InstrumentError) as info:
        ms.start()  # source off
    assert info.value.code == 103
    assert ms.event_status() & 8


def test_srm_run_streams_every_scan_in_order(ms: MassSpectrometer) -> None:
    ms.upload_srm(srm_table(LVN_LIGHT + LVN_HEAVY, dwell_ms=20.0))
    assert ms.table_size(ScanMode.SRM) == 4
    ms.set_mode(ScanMode.SRM)
    ms.source_on()
    ms.set_duration(120)
    stream = ms.stream()
    ms.start()
    records = list(stream)
    assert ms.acquisition_state() == "DONE"
    seqs = [r.sequence for r in records]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert all(r.points.size == 4 for r in records)
    stamps = np.array([int(r.header["timestamp_us"]) for r in records])
    assert (np.diff(stamps) > 0).all()
    # cycle of 4 x (20 ms dwell + 1.5 ms pause) -> 86 ms
    assert len(records) == pytest.approx(120 / 0.086, rel=0.02)
    intens = np.array([r.points["intensity"] for r in records])
    # LVNEVTEFAK elutes: the light y8 trace rises far above the background
    assert intens[:, 0].max() > 50 * np.median(intens[:, 0])


def test_full_profile_scans(ms: MassSpectrometer) -> None:
    ms.configure_full(400, 1200)
    ms.set_mode(ScanMode.FULL)
    ms.source_on()
    ms.set_duration(5)
    stream = ms.stream()
    ms.start()
    recs = list(stream)
    assert recs and all(r.header["ms_level"] == 1 for r in recs)
    assert not int(recs[0].header["flags"]) & FLAG_CENTROID
    mz = recs[0].points["mz"]
    assert (np.diff(mz) >= 0).all() and mz.min() >= 399 and mz.max() <= 1201


def test_prm_scan_rate_follows_resolution(orbitrap_sim: MassSpecServer) -> None:
    with MassSpectrometer(orbitrap_sim.resource, timeout_s=1.0) as ms:
        table = np.zeros(2, PRM_ROW_DTYPE)
        table["id"] = [1, 2]
        table["precursor_mz"] = [575.3111, 579.3182]
        table["charge"] = 2
        table["isolation_width"] = 1.2
        table["collision_energy"] = 27
        table["resolution"] = 30000
        table["rt_start"] = -1
        table["rt_stop"] = -1
        ms.upload_prm(table)
        ms.set_mode(ScanMode.PRM)
        ms.source_on()
        ms.set_duration(20)
        stream = ms.stream()
        ms.start()
        recs = list(stream)
        assert len(recs) == pytest.approx(20 * 13, abs=2)  # 13 Hz at 30k
        assert {int(r.header["table_index"]) for r in recs} == {1, 2}
        table["resolution"] = 12345
        with pytest.raises(InstrumentError) as info:
            ms.upload_prm(table)
        assert info.value.code == 205


def test_external_trigger_and_live_window_update(ms: MassSpectrometer) -> None:
    table = srm_table(LVN_LIGHT, dwell_ms=10.0)
    table["rt_start"] = [0.0, 100.0]
    table["rt_stop"] = [1000.0, 200.0]
    ms.upload_srm(table)
    ms.set_mode(ScanMode.SRM)
    ms.source_on()
    ms.set_duration(200)  # 2 s of wall time: room for the update even on a loaded machine
    ms.set_trigger(external=True)
    ms.start()
    assert ms.acquisition_state() == "ARMED"
    first = ms.next_sequence()
    ms.trigger()
    upd = np.zeros(1, WINDOW_UPDATE_DTYPE)
    upd["id"], upd["rt_start"], upd["rt_stop"] = 2, 0.0, 1000.0
    ms.update_windows(ScanMode.SRM, upd)
    updated_at = ms.run_time()
    deadline = time.monotonic() + 30
    while ms.acquisition_state() != "DONE" and time.monotonic() < deadline:
        time.sleep(0.05)
    recs = ms.fetch_scans(first, 100_000)
    late = [r for r in recs if r.rt > updated_at + 1.0]
    assert late and all(r.points.size == 2 for r in late)
    assert recs[0].points.size == 1


def test_several_clients_share_one_instrument(sim: MassSpecServer) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with MassSpectrometer(sim.resource, timeout_s=2.0) as ms:
                for _ in range(30):
                    assert ms.identify().model == "SIM-TQ600"
                    ms.readbacks()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors


def test_driver_is_thread_safe(ms: MassSpectrometer) -> None:
    out: list[str] = []

    def worker() -> None:
        for _ in range(50):
            out.append(ms.identify().model)
            ms.state()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert out == ["SIM-TQ600"] * 150


def test_stock_pyvisa_client(sim: MassSpecServer) -> None:
    rm = pyvisa.ResourceManager("@py")
    inst = rm.open_resource(sim.resource, read_termination="\n", write_termination="\n",
                            timeout=2000)
    try:
        assert inst.query("*IDN?").startswith("msuite,SIM-TQ600,")
        assert inst.query("SYST:ERR?") == '0,"No error"'
        table = srm_table(LVN_LIGHT).tobytes()
        inst.write_raw(b"METH:SRM:DATA " + encode_block(table) + b"\n")
        inst.write("CONF:MODE SRM")
        inst.write("SOUR:STAT ON")
        inst.write("ACQ:DUR 10")
        inst.write("ACQ:STAR")
        assert inst.query("SYST:ERR?") == '0,"No error"'
        time.sleep(0.2)
        data = inst.query_binary_values("FETC:SCAN? 0,50", datatype="B", container=bytes)
        recs = decode_scans(data)
        assert 0 < len(recs) <= 50 and recs[0].sequence == 0
    finally:
        inst.close()
        rm.close()


def test_contact_closure_starts_only_an_armed_run(sim, ms: MassSpectrometer) -> None:
    ms.upload_srm(srm_table(LVN_LIGHT, dwell_ms=10.0))
    ms.set_mode(ScanMode.SRM)
    ms.source_on()
    ms.set_duration(30)
    assert sim.instrument.contact_closure() is False  # not armed: ignored
    assert ms.acquisition_state() == "IDLE"
    ms.set_trigger(external=True)
    ms.start()
    assert ms.acquisition_state() == "ARMED"
    assert sim.instrument.contact_closure() is True
    assert ms.acquisition_state() == "RUNNING"
    assert sim.instrument.contact_closure() is False  # already running
