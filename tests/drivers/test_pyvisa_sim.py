"""The *IDN?/error-queue handshake against a pyvisa-sim description (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
import pyvisa

from msuite.drivers.protocol import parse_error

YAML = Path(__file__).with_name("ms_handshake.yaml")


@pytest.fixture
def inst():
    rm = pyvisa.ResourceManager(f"{YAML}@sim")
    res = rm.open_resource(
        "TCPIP::127.0.0.1::5025::SOCKET", read_termination="\n", write_termination="\n"
    )
    yield res
    res.close()
    rm.close()


def test_handshake(inst) -> None:
    assert inst.query("*IDN?").split(",")[1] == "SIM-TQ600"
    assert inst.query("*OPC?") == "1"
    assert float(inst.query("READ:VAC?")) == pytest.approx(2e-9)


def test_error_queue(inst) -> None:
    assert parse_error(inst.query("SYST:ERR?")) == (0, "No error")
    inst.write("NOT:A:COMMAND")
    assert parse_error(inst.query("SYST:ERR?")) == (-113, "Undefined header")
    assert parse_error(inst.query("SYST:ERR?")) == (0, "No error")
