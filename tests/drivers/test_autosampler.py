"""The autosampler driver against the simulator over real ptys and TCP sockets.

Every command runs over a pty and over TCP; every fault ends in a typed error or a recovery.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from msuite.core.errors import InputError, MSuiteError
from msuite.drivers.autosampler import Autosampler
from msuite.drivers.autosampler_types import AutosamplerState
from msuite.drivers.errors import (
    ConnectionLostError,
    InstrumentError,
    InstrumentTimeoutError,
    ProtocolError,
    TransportError,
)
from msuite.drivers.protocol.autosampler_frames import ETX, STX, checksum, encode_frame
from msuite.drivers.protocol.plates import PLATE_96, PLATE_384, VIAL_RACK_54, Position
from msuite.hardware_sim.autosampler_server import AutosamplerServer, PtyAutosamplerServer
from msuite.hardware_sim.autosampler_sim import (
    MOVE_S,
    AutosamplerFaults,
    Labware,
    SimulatedAutosampler,
)
from msuite.hardware_sim.stream_server import TcpStreamServer, incoming

Server = AutosamplerServer | PtyAutosamplerServer


def _serve(kind: str, sim: SimulatedAutosampler) -> Server:
    server = PtyAutosamplerServer(sim) if kind == "pty" else AutosamplerServer(sim)
    return server.start()


@pytest.fixture(params=["pty", "tcp"])
def served(request: pytest.FixtureRequest) -> Iterator[Server]:
    server = _serve(request.param, SimulatedAutosampler(speed=100.0, seed=7))
    yield server
    server.stop()


@pytest.fixture
def sampler(served: Server) -> Iterator[Autosampler]:
    driver = Autosampler(served.resource, timeout_s=0.5, retries=2, busy_timeout_s=10.0)
    yield driver.connect()
    driver.close()


def _sim(served: Server) -> SimulatedAutosampler:
    return served.instrument


# -------------------------------------------------------------------- commands
def test_identify_and_status(sampler: Autosampler) -> None:
    ident = sampler.identity
    assert ident is not None and ident == sampler.identify()
    assert (ident.maker, ident.model, ident.serial) == ("msuite", "SIM-AS200", "AS000007")
    assert (ident.loop_ul, ident.trays) == (100.0, 4)
    st = sampler.status()
    assert st.state is AutosamplerState.IDLE and not st.door_open and st.fault_code == 0
    assert st.last_injection is None and st.injections_started == st.injections_done == 0
    assert st.sim_time_s > 0


def test_trays_and_plate_type_query(sampler: Autosampler) -> None:
    assert sampler.trays() == {1: PLATE_96, 2: PLATE_384, 3: VIAL_RACK_54, 4: None}
    info = sampler.tray_info(2)
    assert info.labware is PLATE_384 and info.filled == 48 and info.barcode.startswith("PL")
    empty = sampler.tray_info(4)
    assert (empty.labware, empty.barcode, empty.filled) == (None, None, 0)


def test_load_and_unload_labware_with_barcode(served: Server, sampler: Autosampler) -> None:
    _sim(served).clock.set_speed(10.0)  # the 8 s move lasts 0.8 s of wall time
    _sim(served).stage_labware(Labware(PLATE_384, "PREP0042", {"C5": 60.0, "C6": 55.0}))
    loaded = sampler.load_labware(4, "P384", "PREP0042")
    assert (loaded.tray, loaded.labware, loaded.barcode) == (4, PLATE_384, "PREP0042")
    assert sampler.status().state is AutosamplerState.BUSY  # the plate is moving
    _sim(served).clock.set_speed(100.0)
    assert sampler.check_position("4:C5").volume_ul == 60.0
    assert sampler.tray_info(4).filled == 2
    assert sampler.read_barcode(4) == "PREP0042"
    assert sampler.unload_labware(4) == "PREP0042"  # waits out BUSY
    assert sampler.tray_info(4).labware is None
    fresh = sampler.load_labware(4, VIAL_RACK_54)
    assert fresh.labware is VIAL_RACK_54 and fresh.barcode is None
    with pytest.raises(InstrumentError) as info:
        sampler.load_labware(1, "P96")
    assert info.value.code == 34 and info.value.device == "autosampler"
    with pytest.raises(InputError, match="barcode"):
        sampler.load_labware(4, "P96", "has space")
    with pytest.raises(InputError, match="labware"):
        sampler.load_labware(4, "P1536")


def test_read_barcodes(served: Server, sampler: Autosampler) -> None:
    sim = _sim(served)
    assert sampler.read_barcode(1) == sim.deck[1].barcode
    assert sampler.read_barcode("3:2") == sim.deck[3].vial_barcodes["2"] == "V52897893"
    assert sampler.read_barcode(Position(3, "1")) == sim.deck[3].vial_barcodes["1"]
    for target, code in (("3:24", 35), ("3:30", 31), (4, 30)):
        with pytest.raises(InstrumentError) as info:
            sampler.read_barcode(target)
        assert info.value.code == code


def test_position_check(sampler: Autosampler) -> None:
    full = sampler.check_position("1:a1")
    assert full.position == Position(1, "A1") and full.present and full.volume_ul == 59.0
    empty = sampler.check_position("1:H12")
    assert not empty.present and empty.volume_ul == 0.0
    assert sampler.check_position("3:24").present


def test_injection_volume_and_draw_speed(sampler: Autosampler) -> None:
    assert sampler.injection_volume().value == 5.0
    setting = sampler.set_injection_volume(12.5)
    assert (setting.value, setting.minimum, setting.maximum) == (12.5, 0.1, 100.0)
    assert sampler.injection_volume().value == 12.5
    assert sampler.set_draw_speed(2.5).value == 2.5 and sampler.draw_speed().maximum == 50.0
    with pytest.raises(InputError) as info:
        sampler.set_injection_volume(150)
    assert info.value.field == "volume_ul" and info.value.allowed == "0.1..100 µL"
    with pytest.raises(InputError, match="draw_speed"):
        sampler.set_draw_speed(0)
    with pytest.raises(InstrumentError) as err:
        sampler.command("VOLUME", "150")  # the device checks the range too
    assert err.value.code == 12 and "0.1..100" in err.value.text


def test_tray_temperature(sampler: Autosampler) -> None:
    before = sampler.tray_temperature()
    assert before.setpoint_c == 22.0
    assert sampler.set_tray_temperature(8).setpoint_c == 8.0
    time.sleep(0.3)  # 30 s of simulated cooling
    after = sampler.tray_temperature()
    assert 8.0 < after.actual_c < before.actual_c
    with pytest.raises(InputError, match="temperature_c"):
        sampler.set_tray_temperature(60)


def test_needle_wash_busy_then_idle(served: Server, sampler: Autosampler) -> None:
    _sim(served).clock.set_speed(50.0)
    started = _sim(served).clock.now()
    until = sampler.wash_needle("strong", 10)  # 50 s simulated, 1 s of wall time
    assert started + 50.0 <= until <= _sim(served).clock.now() + 50.0
    assert sampler.status().state is AutosamplerState.WASHING
    ticket = sampler.inject("1:A3", 2.0)  # BUSY while washing: the driver waits it out
    assert _sim(served).busy_replies >= 1
    assert ticket.number == 1
    sampler.wait_injection_done(10)
    assert sampler.wait_idle(5).state is AutosamplerState.IDLE
    with pytest.raises(InputError, match="solvent"):
        sampler.wash_needle("ACID")
    with pytest.raises(InputError, match="cycles"):
        sampler.wash_needle("WEAK", 0)


def test_inject_draws_volume_and_signals_done(served: Server, sampler: Autosampler) -> None:
    sim = _sim(served)
    heard: list[tuple[str, float, float]] = []
    sim.add_injection_listener(lambda p, v, t: heard.append((p, v, t)))
    before = sampler.inventory(1).volumes_ul["B2"]
    sampler.set_draw_speed(0.1)  # 75 s of drawing
    ticket = sampler.inject("1:B2", 7.5)
    assert (ticket.number, ticket.position, ticket.volume_ul) == (1, Position(1, "B2"), 7.5)
    assert sampler.status().state is AutosamplerState.INJECTING
    record = sampler.wait_injection_done(timeout_s=10)
    assert (record.number, record.position, record.volume_ul) == (1, Position(1, "B2"), 7.5)
    assert record.sim_time_s == pytest.approx(ticket.inject_at_s, abs=2e-3)
    assert heard == [("1:B2", 7.5, pytest.approx(ticket.inject_at_s, abs=1e-3))]
    inventory = sampler.inventory(1)
    assert inventory.labware is PLATE_96 and len(inventory.volumes_ul) == 48
    assert inventory.volumes_ul["B2"] == pytest.approx(before - 7.5)
    st = sampler.status()
    assert st.injections_done == 1 and st.last_injection == record
    sampler.set_injection_volume(3)
    sampler.set_draw_speed(5)
    assert sampler.inject("3:5").volume_ul == 3.0  # default volume, vial rack
    assert sampler.wait_injection_done(10).position == Position(3, "5")
    assert [h[0] for h in heard] == ["1:B2", "3:5"]


def test_listener_time_is_draw_time_after_acceptance(served: Server, sampler: Autosampler) -> None:
    sim = _sim(served)
    heard: list[float] = []
    sim.add_injection_listener(lambda p, v, t: heard.append(t))
    sampler.set_draw_speed(4.0)
    accepted_after = sim.clock.now()
    ticket = sampler.inject("2:A7", 8.0)
    accepted_before = sim.clock.now()
    sampler.wait_injection_done(10)
    assert accepted_after + MOVE_S + 2.0 <= heard[0] <= accepted_before + MOVE_S + 2.0
    assert heard[0] == pytest.approx(ticket.inject_at_s, abs=1e-3)


def test_inventory_of_384_plate_and_rack(sampler: Autosampler) -> None:
    plate = sampler.inventory(2)
    assert plate.labware is PLATE_384 and list(plate.volumes_ul)[:3] == ["A1", "A2", "A3"]
    assert list(plate.volumes_ul)[-1] == "B24" and all(
        20 <= v <= 30 for v in plate.volumes_ul.values()
    )
    rack = sampler.inventory(3)
    assert rack.labware is VIAL_RACK_54 and list(rack.volumes_ul) == [str(i) for i in range(1, 25)]
    with pytest.raises(InstrumentError) as info:
        sampler.inventory(4)
    assert info.value.code == 30


def test_abort_cancels_the_injection(served: Server, sampler: Autosampler) -> None:
    heard: list[str] = []
    _sim(served).add_injection_listener(lambda p, v, t: heard.append(p))
    sampler.set_draw_speed(0.1)  # 100 s of drawing
    sampler.inject("1:C1", 10)
    assert sampler.abort() == "INJECT"
    with pytest.raises(InstrumentError) as info:
        sampler.wait_injection_done(5)
    assert info.value.code == 40 and "did not complete" in info.value.text
    assert sampler.status().state is AutosamplerState.IDLE and heard == []
    assert sampler.abort() == "NONE"
    with pytest.raises(MSuiteError, match="no injection"):
        Autosampler(sampler.port).wait_injection_done(1)


def test_wait_injection_done_times_out(sampler: Autosampler) -> None:
    sampler.set_draw_speed(0.1)  # 100 s of drawing = 1 s of wall time
    sampler.inject("1:C2", 10)
    with pytest.raises(InstrumentTimeoutError, match="not done"):
        sampler.wait_injection_done(timeout_s=0.1)
    sampler.abort()


def test_busy_beyond_the_busy_timeout_is_a_timeout_error(served: Server) -> None:
    _sim(served).clock.set_speed(20.0)
    with Autosampler(served.resource, timeout_s=0.5, busy_timeout_s=0.1) as driver:
        driver.wash_needle("WEAK", 10)  # 50 s simulated = 2.5 s wall
        with pytest.raises(InstrumentTimeoutError, match="still busy"):
            driver.inject("1:A1", 1)
        driver.abort()
        assert driver.inject("1:A1", 1).number == 1


# ---------------------------------------------------------------------- faults
def test_door_open_refuses_injections(served: Server, sampler: Autosampler) -> None:
    sim = _sim(served)
    sim.door_open()
    st = sampler.status()
    assert st.state is AutosamplerState.DOOR_OPEN and st.door_open and st.fault_code == 0
    with pytest.raises(InstrumentError) as info:
        sampler.inject("1:A1", 2)
    assert (info.value.code, info.value.text) == (20, "Door open")
    assert "INJECT 1:A1 2" in str(info.value)
    assert sampler.check_position("1:A1").present  # queries still work
    sim.door_close()
    assert sampler.inject("1:A1", 2).number == 1
    sampler.wait_injection_done(10)


def test_door_opened_during_injection_faults_it(served: Server, sampler: Autosampler) -> None:
    sampler.set_draw_speed(0.1)
    sampler.inject("1:D1", 10)
    sampler.command("DOOR", "OPEN")  # the operator, simulated on the wire
    with pytest.raises(InstrumentError) as info:
        sampler.wait_injection_done(5)
    assert info.value.code == 20 and info.value.text == "Door opened during INJECT"
    with pytest.raises(InstrumentError) as clear:
        sampler.clear_fault()
    assert clear.value.code == 20
    sampler.command("DOOR", "CLOSE")
    st = sampler.status()
    assert st.state is AutosamplerState.FAULT and st.fault_text == "Door opened during INJECT"
    with pytest.raises(InstrumentError) as refused:
        sampler.wash_needle()
    assert refused.value.code == 21
    with pytest.raises(InstrumentError):
        sampler.wait_idle(2)
    assert sampler.clear_fault() is AutosamplerState.IDLE
    assert sampler.inject("1:D1", 1).number == 2


def test_vial_not_found_and_insufficient_volume(served: Server, sampler: Autosampler) -> None:
    with pytest.raises(InstrumentError) as empty:
        sampler.inject("1:H12", 5)
    assert (empty.value.code, empty.value.text) == (31, "No sample at 1:H12")
    _sim(served).remove_sample("1:A5")
    with pytest.raises(InstrumentError) as gone:
        sampler.inject("1:A5", 5)
    assert gone.value.code == 31
    sampler.command("FAULT", "VIAL", "3:7")
    with pytest.raises(InstrumentError) as vial:
        sampler.inject("3:7", 5)
    assert vial.value.code == 31
    with pytest.raises(InstrumentError) as short:
        sampler.inject("1:A1", 58)
    assert short.value.code == 32


@pytest.mark.parametrize(
    ("position", "field"),
    [("A1", "position"), ("1:Q1", "well"), ("5:A1", "tray"), ("1:0", "vial"), ("x", "position")],
)
def test_bad_positions_rejected_before_sending(
    served: Server, sampler: Autosampler, position: str, field: str
) -> None:
    with pytest.raises(InputError) as info:
        sampler.inject(position, 1)
    assert info.value.field == field and info.value.value is not None and info.value.allowed
    assert _sim(served).started == 0


@pytest.mark.parametrize(
    ("position", "code", "text"),
    [
        ("1:A13", 33, "Bad position 1:A13: well outside the 96-well plate (wells A1..H12)"),
        ("1:5", 33, "Bad position 1:5: a 96-well plate has named wells (wells A1..H12)"),
        ("3:A1", 33, "Bad position 3:A1: a 54-vial rack (2 mL vials) has numbered vials"),
        ("3:55", 33, "Bad position 3:55: vial outside the 54-vial rack (2 mL vials) (vial 1..54)"),
        ("4:A1", 30, "No labware in tray 4"),
    ],
)
def test_positions_not_on_the_labware_are_device_errors(
    sampler: Autosampler, position: str, code: int, text: str
) -> None:
    with pytest.raises(InstrumentError) as info:
        sampler.check_position(position)
    assert info.value.code == code and info.value.text.startswith(text)


def test_dropped_line_is_resent_after_reconnect(served: Server, sampler: Autosampler) -> None:
    sim = _sim(served)
    sim.drop_line(1)
    ticket = sampler.inject("1:A2", 3)  # the dropped INJECT never ran; its resend does
    assert ticket.number == 1 and sim.started == 1
    assert sampler.reconnects == 1
    sampler.wait_injection_done(10)


def test_line_dropped_beyond_the_retries_is_a_typed_error(served: Server) -> None:
    sim = _sim(served)
    with Autosampler(served.resource, timeout_s=0.3, retries=1) as driver:
        sim.drop_line(3)
        with pytest.raises((InstrumentTimeoutError, ConnectionLostError)):
            driver.status()
        assert sim.faults.drop_frames == 1
        sim.clear_faults()
        assert driver.status().state is AutosamplerState.IDLE


def test_drop_armed_over_the_wire(served: Server, sampler: Autosampler) -> None:
    sampler.command("FAULT", "DROP", "1")
    assert sampler.status().state is AutosamplerState.IDLE
    assert sampler.reconnects == 1


def test_corrupted_reply_is_refetched_without_running_twice(
    served: Server, sampler: Autosampler
) -> None:
    sim = _sim(served)
    sim.corrupt_checksums(2)
    ticket = sampler.inject("1:A4", 2)
    assert ticket.number == 1 and sim.started == 1  # the resent frame was recognised
    assert sampler.resends == 2 and sampler.reconnects == 0
    sampler.wait_injection_done(10)


def test_naks_are_resent_then_a_protocol_error(served: Server, sampler: Autosampler) -> None:
    sim = _sim(served)
    sim.nak_frames(2)
    assert sampler.identify().model == "SIM-AS200"
    assert sampler.resends == 2
    sampler.command("FAULT", "NAK", "4")  # max_resends is 3: the fourth NAK gives up
    with pytest.raises(ProtocolError, match="3 resends") as info:
        sampler.status()
    assert info.value.value == "STATUS" and isinstance(info.value, TransportError)
    assert sampler.status().state is AutosamplerState.IDLE


def test_error_code_injection(served: Server, sampler: Autosampler) -> None:
    _sim(served).inject_error(51)
    with pytest.raises(InstrumentError) as info:
        sampler.status()
    err = info.value
    assert (err.device, err.command, err.code, err.text) == (
        "autosampler",
        "STATUS",
        51,
        "Needle blocked",
    )
    assert str(err) == "autosampler (51): Needle blocked [command 'STATUS']"
    sampler.command("FAULT", "ERROR", "50")
    with pytest.raises(InstrumentError, match=r"\(50\): Hardware error"):
        sampler.tray_temperature()
    assert sampler.status().state is AutosamplerState.IDLE


def test_faults_armed_at_construction() -> None:
    faults = AutosamplerFaults(nak_frames=1, corrupt_replies=1, error_codes=[50])
    with PtyAutosamplerServer(SimulatedAutosampler(seed=1, faults=faults)) as server:
        driver = Autosampler(server.resource, timeout_s=0.5)
        with pytest.raises(InstrumentError) as info:
            driver.connect()
        assert info.value.code == 50 and driver.resends == 2
        assert driver.identify().serial == "AS000001"
        driver.close()


# ------------------------------------------------------------ stream hygiene
def _scripted(replies: Callable[[bytes], bytes]) -> TcpStreamServer:
    """A TCP device answering each request frame with ``replies(body)``."""

    def session(recv, send, stop: threading.Event) -> None:
        buf = b""
        for data in incoming(recv, stop):
            buf += data
            while ETX in buf and len(buf) >= buf.index(ETX) + 3:
                end = buf.index(ETX)
                body, buf = buf[buf.index(STX) + 1 : end], buf[end + 3 :]
                send(replies(body))

    return TcpStreamServer(session).start()


def _reply(seq: bytes, text: bytes) -> bytes:
    body = seq + b" " + text
    return STX + body + ETX + checksum(body)


def test_stale_unsolicited_and_noisy_frames_are_skipped() -> None:
    def replies(body: bytes) -> bytes:
        seq = body[:2]
        stale = _reply(b"42", b"ACK STATE=IDLE")  # an old reply to another request
        event = _reply(b"77", b"EVT INJECTED 1:A1 12.5")  # unsolicited event
        return b"\xff\x00noise" + stale + event + _reply(seq, b"ACK SPEED=2 MIN=0.1 MAX=50")

    server = _scripted(replies)
    try:
        driver = Autosampler(server.url, timeout_s=0.5)
        assert driver.draw_speed().value == 2.0
        assert driver.resends == 0
        driver.close()
    finally:
        server.stop()


def test_silent_device_is_a_timeout_after_retries() -> None:
    server = _scripted(lambda body: b"")
    try:
        driver = Autosampler(server.url, timeout_s=0.2, retries=1)
        t0 = time.monotonic()
        with pytest.raises(InstrumentTimeoutError):
            driver.status()
        assert driver.reconnects == 2 and time.monotonic() - t0 < 10
        driver.close()
    finally:
        server.stop()


def test_transcript_through_the_driver() -> None:
    seen: list[bytes] = []

    def replies(body: bytes) -> bytes:
        seen.append(STX + body + ETX + checksum(body))
        return _reply(body[:2], b"ACK POS=2:P24 PRESENT=1 VOLUME=25.5")

    server = _scripted(replies)
    try:
        driver = Autosampler(server.url, timeout_s=0.5)
        check = driver.check_position("2:p24")
        assert (check.position, check.present, check.volume_ul) == (Position(2, "P24"), True, 25.5)
        assert seen == [encode_frame(1, "CHECK?", "2:P24")] == [b"\x0201 CHECK? 2:P24\x0360"]
        driver.close()
    finally:
        server.stop()


# ---------------------------------------------------------------- concurrency
def test_two_threads_share_one_driver(served: Server, sampler: Autosampler) -> None:
    errors: list[BaseException] = []
    results: dict[str, list[object]] = {"status": [], "check": []}

    def poll_status() -> None:
        try:
            for _ in range(25):
                results["status"].append(sampler.status().state)
        except BaseException as exc:
            errors.append(exc)

    def check_and_inject() -> None:
        try:
            for site in ("A6", "A7", "A8"):
                results["check"].append(sampler.check_position(f"1:{site}").present)
                sampler.inject(f"1:{site}", 1.0)
                sampler.wait_injection_done(10)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poll_status), threading.Thread(target=check_and_inject)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors and not any(t.is_alive() for t in threads)
    assert len(results["status"]) == 25 and results["check"] == [True, True, True]
    assert [e.position for e in _sim(served).injections] == ["1:A6", "1:A7", "1:A8"]


def test_two_clients_on_one_tcp_server() -> None:
    sim = SimulatedAutosampler(seed=2)
    with AutosamplerServer(sim) as server:
        first = Autosampler(server.resource, timeout_s=0.5).connect()
        second = Autosampler(server.resource, timeout_s=0.5).connect()
        ticket = first.inject("1:A1", 2)
        # same sequence numbers on both connections: no reply is taken for a retransmission
        assert second.status().injections_started == 1
        assert second.inject("1:A2", 2).number == ticket.number + 1  # waited out BUSY
        assert first.wait_injection_done(10, ticket).number == 1
        assert second.wait_injection_done(10).position == Position(1, "A2")
        first.close()
        second.close()
