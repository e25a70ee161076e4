"""Protocol transcript tests: each driver call produces exactly the expected exchanges."""

from __future__ import annotations

import json

import numpy as np
import pytest

from msuite.drivers.errors import InstrumentError, InstrumentTimeoutError
from msuite.drivers.ms import InstrumentState, MassSpectrometer
from msuite.drivers.presets import PRESETS
from msuite.drivers.protocol import (
    SCAN_HEADER_DTYPE,
    SRM_ROW_DTYPE,
    ScanMode,
    encode_scans,
)
from tests.drivers.transcript import TranscriptTransport

NO_ERROR = ("SYST:ERR?", '0,"No error"')
LIMITS = json.dumps(PRESETS["tq"].as_dict())
CONNECT = [
    ("*IDN?", "msuite,SIM-TQ600,SN1,0.1.0"),
    ("*CLS", None),
    ("SYST:LIM?", LIMITS),
]


def _driver(script: list) -> tuple[MassSpectrometer, TranscriptTransport]:
    t = TranscriptTransport(CONNECT + script)
    ms = MassSpectrometer("TCPIP::127.0.0.1::1::SOCKET", transport=t, retries=1)  # type: ignore[arg-type]
    ms.connect()
    return ms, t


def test_connect_reads_identity_and_limits() -> None:
    ms, t = _driver([])
    assert ms.identity is not None and ms.identity.model == "SIM-TQ600"
    assert ms.name == "SIM-TQ600"
    assert ms.limits == PRESETS["tq"]
    assert t.done()


def test_setters_drain_the_error_queue() -> None:
    ms, t = _driver(
        [
            ("SOUR:STAT ON", None),
            NO_ERROR,
            ("CONF:MODE SRM", None),
            NO_ERROR,
            ("CONF:FULL 350,1250,60000,CENT", None),
            NO_ERROR,
            ("ACQ:DUR 120", None),
            NO_ERROR,
            ("ACQ:TRIG:SOUR EXT", None),
            NO_ERROR,
            ("ACQ:STAR", None),
            NO_ERROR,
            ("*TRG", None),
            NO_ERROR,
        ]
    )
    ms.source_on()
    ms.set_mode(ScanMode.SRM)
    ms.configure_full(350, 1250, 60000, centroid=True)
    ms.set_duration(120)
    ms.set_trigger(external=True)
    ms.start()
    ms.trigger()
    assert t.done()


def test_queued_errors_become_instrument_errors() -> None:
    ms, t = _driver(
        [
            ("METH:SRM:DATA <block 36>", None),
            ("SYST:ERR?", '202,"Dwell below minimum; row 0"'),
            ("SYST:ERR?", '-350,"Queue overflow"'),
            NO_ERROR,
        ]
    )
    table = np.zeros(1, SRM_ROW_DTYPE)
    with pytest.raises(InstrumentError) as info:
        ms.upload_srm(table)
    err = info.value
    assert (err.device, err.command, err.code) == ("SIM-TQ600", "METH:SRM:DATA", 202)
    assert str(err).startswith("SIM-TQ600 (202): Dwell below minimum")
    assert err.others == [(-350, "Queue overflow")]
    assert t.done()


def test_failed_query_empty_reply_raises_from_queue() -> None:
    ms, t = _driver([("STAT:STAT?", ""), ("SYST:ERR?", '-310,"System error"'), NO_ERROR])
    with pytest.raises(InstrumentError, match=r"\(-310\)"):
        ms.state()
    assert t.done()


def test_readbacks_and_state() -> None:
    ms, t = _driver(
        [
            ("STAT:STAT?", "READY"),
            ("READ:ALL?", "READY,2.000e-09,3.500,0.450,320.0,350.0,40.0,10.0"),
        ]
    )
    assert ms.state() is InstrumentState.READY
    rb = ms.readbacks()
    assert rb.vacuum_mbar == 2e-9 and rb.source_kv == 3.5 and rb.aux_gas == 10.0
    assert t.done()


def test_idempotent_query_retried_after_timeout_with_reconnect() -> None:
    ms, t = _driver([("STAT:STAT?", "TIMEOUT"), ("STAT:STAT?", "STANDBY")])
    opened = t.opened
    assert ms.state() is InstrumentState.STANDBY
    assert t.opened == opened + 1 and ms.reconnects == 1


def test_start_is_not_retried() -> None:
    ms, t = _driver([("ACQ:STAR", None), ("SYST:ERR?", "TIMEOUT")])
    with pytest.raises(InstrumentTimeoutError):
        ms.start()
    assert t.done()


def test_fetch_scans_decodes_records() -> None:
    h = np.zeros(1, SCAN_HEADER_DTYPE)
    h["sequence"] = 41
    payload = encode_scans([(h, np.zeros(2, dtype=[("mz", "<f8"), ("intensity", "<f4"),
                                                   ("tag", "<u4")]))])
    ms, t = _driver([("FETC:SCAN? 41,100", payload)])
    recs = ms.fetch_scans(41, 100)
    assert [r.sequence for r in recs] == [41] and recs[0].points.size == 2
    assert t.done()
