"""Wire-format units: blocks, error entries, grammar, scan records, tables, errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from msuite.core.errors import MSuiteError
from msuite.drivers.errors import InstrumentError, SequenceGapError
from msuite.drivers.protocol import (
    POINT_DTYPE,
    SCAN_HEADER_DTYPE,
    SRM_ROW_DTYPE,
    BlockError,
    decode_block,
    decode_scans,
    decode_table,
    encode_block,
    encode_scans,
    encode_table,
    format_error,
    parse_command,
    parse_error,
    short_form,
)
from msuite.drivers.protocol.blocks import read_block
from msuite.drivers.protocol.grammar import HeaderTable


def test_block_roundtrip() -> None:
    payload = bytes(range(256)) * 3 + b"\n#\n"
    block = encode_block(payload)
    assert block.startswith(b"#3771")
    assert decode_block(block) == payload
    assert decode_block(block + b"\n", terminator=b"\n") == payload
    assert encode_block(b"") == b"#10"


@pytest.mark.parametrize(
    "bad",
    [b"X3abc", b"#0abc", b"#3ab", b"#2a1xx", b"#15abc", b"#13abcd"],
)
def test_bad_blocks_are_rejected(bad: bytes) -> None:
    with pytest.raises(BlockError):
        decode_block(bad)


def test_read_block_checks_terminator_and_length() -> None:
    def reader(data: bytes):
        buf = bytearray(data)

        def read_exact(n: int) -> bytes:
            out = bytes(buf[:n])
            del buf[:n]
            return out

        return read_exact

    assert read_block(reader(b"#13abc\n")) == b"abc"
    with pytest.raises(BlockError, match="terminator"):
        read_block(reader(b"#13abcX"))
    with pytest.raises(BlockError, match="shorter"):
        read_block(reader(b"#15abc"))


def test_error_entries() -> None:
    assert format_error(0) == '0,"No error"'
    assert format_error(-350) == '-350,"Queue overflow"'
    assert parse_error(format_error(202, "row 3")) == (202, "Dwell below minimum; row 3")
    with pytest.raises(ValueError):
        parse_error("garbage")


def test_grammar_short_and_long_forms() -> None:
    assert short_form("SYSTem:ERRor?") == "SYST:ERR?"
    table = HeaderTable(["SYSTem:ERRor", "ACQuire:STARt"])
    for text in (b"SYST:ERR?", b"system:error?", b":SYSTem:ERRor?"):
        cmd = parse_command(text)
        assert cmd.query
        assert table.canonical(cmd.header) == "SYST:ERR"
    cmd = parse_command(b"CONF:FULL 350,1250, 60000,PROF")
    assert cmd.args == ("350", "1250", "60000", "PROF")
    cmd = parse_command(b"METH:SRM:DATA " + encode_block(b"\n\n12"))
    assert cmd.block == b"\n\n12" and cmd.args == ()
    with pytest.raises(ValueError):
        parse_command(b"   ")


def _record(seq: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    h = np.zeros(1, SCAN_HEADER_DTYPE)
    h["sequence"] = seq
    h["rt"] = 1.5 * seq
    pts = np.zeros(n, POINT_DTYPE)
    pts["mz"] = np.linspace(100, 200, n)
    pts["intensity"] = 7
    return h, pts


def test_scan_records_roundtrip_and_layout() -> None:
    assert SCAN_HEADER_DTYPE.itemsize == 80
    assert POINT_DTYPE.itemsize == 16
    payload = encode_scans([_record(5, 3), _record(6, 0), _record(7, 10)])
    assert len(payload) == 3 * 80 + 13 * 16
    recs = decode_scans(payload)
    assert [r.sequence for r in recs] == [5, 6, 7]
    assert recs[2].points["mz"][-1] == 200.0
    assert recs[0].rt == 7.5
    # little-endian on the wire regardless of the host
    assert payload[8:16] == (5).to_bytes(8, "little")


def test_scan_record_length_checks() -> None:
    payload = encode_scans([_record(1, 4)])
    with pytest.raises(BlockError, match="truncated"):
        decode_scans(payload[:-1])
    with pytest.raises(BlockError, match="magic"):
        decode_scans(b"\0" * 80)
    bad = bytearray(payload)
    bad[4:8] = (999).to_bytes(4, "little")
    with pytest.raises(BlockError, match="disagrees"):
        decode_scans(bytes(bad))


def test_tables_roundtrip_and_size_check() -> None:
    t = np.zeros(3, SRM_ROW_DTYPE)
    t["id"] = [1, 2, 3]
    t["dwell_ms"] = 5
    data = encode_table(t, SRM_ROW_DTYPE)
    assert len(data) == 3 * SRM_ROW_DTYPE.itemsize
    np.testing.assert_array_equal(decode_table(data, SRM_ROW_DTYPE), t)
    with pytest.raises(BlockError):
        decode_table(data[:-1], SRM_ROW_DTYPE)


def test_instrument_error_renders_and_pickles() -> None:
    err = InstrumentError("SIM-TQ600", "METH:SRM:DATA", 202, "Dwell below minimum")
    assert str(err).startswith("SIM-TQ600 (202): Dwell below minimum")
    assert isinstance(err, MSuiteError)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is InstrumentError
    assert (back.device, back.command, back.code, back.text) == (
        "SIM-TQ600",
        "METH:SRM:DATA",
        202,
        "Dwell below minimum",
    )
    assert str(back) == str(err)
    gap = SequenceGapError("gap", field="sequence", value=9, allowed=7, lost=2)
    assert pickle.loads(pickle.dumps(gap)).lost == 2
