"""The simulated autosampler on the wire: frames, transcript, retransmissions, faults, model."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from msuite.drivers.errors import ConnectionLostError, InstrumentTimeoutError, ProtocolError
from msuite.drivers.protocol.autosampler_frames import (
    ETX,
    checksum,
    encode_frame,
    format_fields,
    next_seq,
    parse_body,
    parse_fields,
    split_frames,
)
from msuite.drivers.protocol.plates import PLATE_96, VIAL_RACK_54
from msuite.drivers.serial_transport import SerialTransport
from msuite.hardware_sim.autosampler_server import AutosamplerServer, PtyAutosamplerServer
from msuite.hardware_sim.autosampler_sim import (
    MOVE_S,
    AutosamplerFaults,
    Labware,
    SimulatedAutosampler,
)
from msuite.hardware_sim.clock import SimClock


# ---------------------------------------------------------------- frame code
def test_checksum_worked_example() -> None:
    # "01 ID" = 0x30 + 0x31 + 0x20 + 0x49 + 0x44 = 270; 270 mod 256 = 14 = 0x0E
    assert checksum(b"01 ID") == b"0E"
    assert encode_frame(1, "ID") == b"\x0201 ID\x030E"
    assert encode_frame(12, "INJECT", "1:A1", "5") == b"\x0212 INJECT 1:A1 5\x03" + checksum(
        b"12 INJECT 1:A1 5"
    )


def test_encode_rejects_bad_frames() -> None:
    with pytest.raises(ProtocolError):
        encode_frame(100, "ID")
    with pytest.raises(ProtocolError):
        encode_frame(1, "LOAD", "1", "P96", "a\x03b")
    with pytest.raises(ProtocolError, match="ASCII"):
        encode_frame(1, "LOAD", "1", "P96", "µ")


def test_sequence_numbers_wrap_and_skip_zero() -> None:
    assert next_seq(0) == 1 and next_seq(98) == 99 and next_seq(99) == 1


def test_split_frames_resynchronises_on_noise() -> None:
    buf = bytearray(b"noise" + encode_frame(1, "ID") + b"\x02junk" + encode_frame(2, "STATUS"))
    buf += b"\x0203 ID\x03FF" + encode_frame(4, "ID")[:5]
    frames = split_frames(buf)
    assert frames == [(b"01 ID", True), (b"02 STATUS", True), (b"03 ID", False)]
    assert bytes(buf) == encode_frame(4, "ID")[:5]  # unfinished frame kept
    buf += encode_frame(4, "ID")[5:]
    assert split_frames(buf) == [(b"04 ID", True)] and not buf


def test_body_and_field_parsing() -> None:
    frame = parse_body(b"07 inject 1:A1 5")
    assert (frame.seq, frame.verb, frame.args, frame.text) == (
        7,
        "INJECT",
        ["1:A1", "5"],
        "INJECT 1:A1 5",
    )
    for bad in (b"7 ID", b"xx ID", b"01", b"01 \xff"):
        with pytest.raises(ProtocolError):
            parse_body(bad)
    text = format_fields({"STATE": "FAULT", "FAULT": 20}, "Door opened during INJECT")
    assert text == "STATE=FAULT FAULT=20 MSG=Door opened during INJECT"
    assert parse_fields(text) == {
        "STATE": "FAULT",
        "FAULT": "20",
        "MSG": "Door opened during INJECT",
    }
    assert parse_fields("MSG=a b") == {"MSG": "a b"} and parse_fields("") == {}
    with pytest.raises(ProtocolError):
        parse_fields("A=1 junk")


# ------------------------------------------------------------------ transcript
def _read_frame(t: SerialTransport) -> bytes:
    return t.read_until(ETX) + ETX + t.read_exact(2)


@pytest.fixture
def pty_sim() -> Iterator[PtyAutosamplerServer]:
    # 10x: an injection lasts about 0.6 s of wall time, long enough to see it BUSY
    server = PtyAutosamplerServer(SimulatedAutosampler(speed=10.0, seed=7)).start()
    yield server
    server.stop()


@pytest.fixture
def raw(pty_sim: PtyAutosamplerServer) -> Iterator[SerialTransport]:
    t = SerialTransport(pty_sim.resource, timeout_s=1.0)
    yield t
    t.close()


TRANSCRIPT = [
    (
        b"\x0201 ID\x030E",
        b"\x0201 ACK MAKER=msuite MODEL=SIM-AS200 SERIAL=AS000007 FW=2.1.0 LOOP=100 TRAYS=4\x03CB",
    ),
    (b"\x0202 VOLUME 5\x03AF", b"\x0202 ACK VOLUME=5 MIN=0.1 MAX=100\x035F"),
    (b"\x0203 CHECK? 1:A1\x031D", b"\x0203 ACK POS=1:A1 PRESENT=1 VOLUME=59\x03D0"),
    (b"\x0204 TRAYS?\x0356", b"\x0204 ACK COUNT=4 1=P96 2=P384 3=V54 4=NONE\x0348"),
    (b"\x0205 BARCODE? 3:2\x0373", b"\x0205 ACK AT=3:2 BARCODE=V52897893\x033B"),
    (b"\x0206 FROB\x03AF", b"\x0206 ERROR 10 Unknown command FROB\x03E9"),
    (b"\x0207 ID\x0300", b"\x0207 NAK\x0361"),  # wrong checksum (should be 14)
    (
        b"\x0210 CHECK? 1:A13\x034E",
        b"\x0210 ERROR 33 Bad position 1:A13: well outside the 96-well plate (wells A1..H12)\x03E0",
    ),
]


def test_transcript_exact_frames(raw: SerialTransport) -> None:
    for request, reply in TRANSCRIPT:
        raw.write(request)
        assert _read_frame(raw) == reply, request
    # a busy mechanism answers BUSY with its state
    raw.write(encode_frame(8, "INJECT", "1:A1", "5"))
    assert _read_frame(raw).startswith(b"\x0208 ACK INJ=1 POS=1:A1 VOLUME=5 AT=")
    raw.write(b"\x0209 INJECT 1:A2 5\x0399")
    assert _read_frame(raw) == b"\x0209 BUSY INJECTING\x0387"


def test_repeated_frame_is_a_retransmission_not_a_second_command(
    pty_sim: PtyAutosamplerServer, raw: SerialTransport
) -> None:
    sim = pty_sim.instrument
    inject = encode_frame(11, "INJECT", "1:B1", "4")
    raw.write(inject)
    first = _read_frame(raw)
    raw.write(inject)
    assert _read_frame(raw) == first
    assert sim.started == 1
    raw.write(encode_frame(12, "INJECT", "1:B1", "4"))  # a new sequence number is a new command
    assert b"BUSY INJECTING" in _read_frame(raw)


def test_bad_client_frames_are_naked_and_noise_is_skipped(raw: SerialTransport) -> None:
    raw.write(b"\x0233 STATUS\x03ZZ")
    assert _read_frame(raw) == b"\x0233 NAK\x03" + checksum(b"33 NAK")
    raw.write(b"\x02?? STATUS\x0300")  # unreadable sequence number: NAK 00
    assert _read_frame(raw) == b"\x0200 NAK\x03" + checksum(b"00 NAK")
    raw.write(b"line noise \xff\xfe" + encode_frame(34, "TEMP?"))
    assert _read_frame(raw).startswith(b"\x0234 ACK SET=22.0 ACT=22.00")
    raw.write(b"\x0235\x03" + checksum(b"35"))  # checksum fine, no verb
    assert b"35 ERROR 11 Bad frame" in _read_frame(raw)


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (("ID", "extra"), b"ERROR 11 Usage: ID"),
        (("VOLUME", "0"), b"ERROR 12 volume 0 uL not in 0.1..100"),
        (("VOLUME", "abc"), b"ERROR 12"),
        (("SPEED", "51"), b"ERROR 12 speed 51 uL/s not in 0.1..50"),
        (("TEMP", "2"), b"ERROR 12 temperature 2 C not in 4..40"),
        (("WASH", "ACID", "1"), b"ERROR 11 Solvent ACID not WEAK/STRONG"),
        (("WASH", "WEAK", "11"), b"ERROR 12"),
        (("LOAD", "1", "P96"), b"ERROR 34 Tray 1 holds labware"),
        (("LOAD", "4", "P1536"), b"ERROR 11 Unknown labware P1536"),
        (("TRAY?", "5"), b"ERROR 33 No tray 5 (1..4)"),
        (("INVENTORY?", "4"), b"ERROR 30 No labware in tray 4"),
        (("BARCODE?", "3:24"), b"ERROR 35 No barcode read at 3:24"),
        (("BARCODE?", "3:30"), b"ERROR 31 No vial at 3:30"),
        (("INJECT", "1:H12"), b"ERROR 31 No sample at 1:H12"),
        (("INJECT", "1:A1", "58"), b"ERROR 32 1:A1 holds 59 uL, needs 58"),
        (("INJECT", "3:A1"), b"ERROR 33 Bad position 3:A1"),
        (("FAULT", "WIBBLE"), b"ERROR 11 Unknown fault WIBBLE"),
        (("DOOR", "AJAR"), b"ERROR 11 Usage: DOOR OPEN|CLOSE"),
    ],
)
def test_refusals(raw: SerialTransport, request_: tuple[str, ...], code: bytes) -> None:
    raw.write(encode_frame(40, *request_))
    assert code in _read_frame(raw)


# ---------------------------------------------------------------- wire faults
def test_fault_commands_arm_wire_faults(
    pty_sim: PtyAutosamplerServer, raw: SerialTransport
) -> None:
    raw.write(encode_frame(50, "FAULT", "CHECKSUM", "1"))
    assert b"ACK FAULT=CHECKSUM" in _read_frame(raw)
    raw.write(encode_frame(51, "ID"))
    reply = _read_frame(raw)
    body = reply[1 : reply.index(ETX)]
    assert reply[-2:] != checksum(body)  # corrupted once
    raw.write(encode_frame(51, "ID"))
    reply = _read_frame(raw)
    assert reply[-2:] == checksum(reply[1 : reply.index(ETX)])  # the resend is clean
    raw.write(encode_frame(52, "FAULT", "NAK", "2"))
    _read_frame(raw)
    for _ in range(2):
        raw.write(encode_frame(53, "ID"))
        assert b"53 NAK" in _read_frame(raw)
    raw.write(encode_frame(54, "FAULT", "ERROR", "51"))
    _read_frame(raw)
    raw.write(encode_frame(55, "STATUS"))
    assert b"55 ERROR 51 Needle blocked" in _read_frame(raw)
    raw.write(encode_frame(56, "FAULT", "VIAL", "1:A1"))
    _read_frame(raw)
    raw.write(encode_frame(57, "INJECT", "1:A1"))
    assert b"ERROR 31" in _read_frame(raw)
    raw.write(encode_frame(58, "FAULT", "DROP", "1"))
    _read_frame(raw)
    raw.write(encode_frame(59, "ID"))
    with pytest.raises(InstrumentTimeoutError):
        raw.read_until(ETX)  # on a pty a dropped frame goes unanswered
    raw.write(encode_frame(60, "FAULT", "CLEAR"))
    assert b"ACK FAULT=CLEAR" in _read_frame(raw)
    assert pty_sim.instrument.faults == AutosamplerFaults()


def test_dropped_line_closes_the_tcp_connection() -> None:
    sim = SimulatedAutosampler(faults=AutosamplerFaults(drop_frames=2))
    with AutosamplerServer(sim) as server:
        for _ in range(2):
            with socket.create_connection((server.host, server.port), timeout=2) as s:
                s.sendall(encode_frame(1, "ID"))
                assert s.recv(100) == b""  # closed without an answer
        t = SerialTransport(server.resource, timeout_s=1.0)
        t.write(encode_frame(1, "ID"))
        assert b"ACK MAKER=msuite" in _read_frame(t)
        t.write(encode_frame(2, "FAULT", "DROP"))
        _read_frame(t)
        t.write(encode_frame(3, "ID"))
        with pytest.raises(ConnectionLostError):
            t.read_until(ETX)
        t.close()


def test_door_command_and_fault_latch(raw: SerialTransport) -> None:
    raw.write(encode_frame(1, "INJECT", "1:A2", "5"))
    assert b"ACK INJ=1" in _read_frame(raw)
    raw.write(encode_frame(2, "DOOR", "OPEN"))
    assert b"ACK DOOR=OPEN" in _read_frame(raw)
    raw.write(encode_frame(3, "STATUS"))
    status = parse_fields(parse_body(_read_frame(raw)[1:-3]).rest)
    assert status["STATE"] == "DOOR_OPEN" and status["FAULT"] == "20"
    assert status["MSG"] == "Door opened during INJECT" and status["DONE"] == "0"
    raw.write(encode_frame(4, "CLEAR"))
    assert b"ERROR 20 Close the door before clearing" in _read_frame(raw)
    raw.write(encode_frame(5, "DOOR", "CLOSE"))
    _read_frame(raw)
    raw.write(encode_frame(6, "WASH", "WEAK", "1"))
    assert b"ERROR 21 Fault active: Door opened during INJECT" in _read_frame(raw)
    raw.write(encode_frame(7, "CLEAR"))
    assert b"ACK STATE=IDLE" in _read_frame(raw)


# ---------------------------------------------------------------------- model
def test_same_seed_same_deck() -> None:
    a, b, c = (SimulatedAutosampler(seed=s) for s in (3, 3, 4))
    assert a.deck == b.deck and a.deck != c.deck
    assert a.deck[1].fmt is PLATE_96 and a.deck[3].fmt is VIAL_RACK_54 and 4 not in a.deck
    assert len(a.deck[1].volumes) == 48 and "24" not in a.deck[3].vial_barcodes


def test_injection_listener_fires_on_time_without_polling() -> None:
    clock = SimClock(200.0)
    sim = SimulatedAutosampler(clock, seed=1)
    calls: list[tuple[str, float, float]] = []
    fired = threading.Event()

    def listener(position: str, volume_ul: float, sim_time_s: float) -> None:
        calls.append((position, volume_ul, sim_time_s))
        fired.set()

    sim.add_injection_listener(listener)
    sim.draw_speed_ul_s = 2.0
    t0 = clock.now()
    data = sim.inject("2:B3", "10")
    lower = t0 + MOVE_S + 10 / 2.0
    assert fired.wait(5.0)  # the timer fired it: nobody polled the simulator
    (position, volume, at) = calls[0]
    assert position == "2:B3" and volume == 10.0
    assert at == pytest.approx(float(data["AT"]), abs=1e-3)
    assert lower <= at <= clock.now()
    assert sim.injections[0].sim_time_s == at
    sim.catch_up()
    assert len(calls) == 1  # once only
    sim.close()


def test_shared_clock_and_staged_labware() -> None:
    clock = SimClock(100.0)
    a = SimulatedAutosampler(clock, seed=1)
    b = SimulatedAutosampler(clock, seed=2)
    assert a.clock is b.clock
    lab = Labware(PLATE_96, "PREP0001", {"A1": 100.0, "A2": 90.0})
    a.stage_labware(lab)
    a.load("4", "P96", "PREP0001")
    assert a.deck[4] is lab and a.state == "BUSY"
    time.sleep(0.15)  # 8 s of simulated move
    a.catch_up()
    assert a.state == "IDLE"
