"""Simulator physics and determinism (no network)."""

from __future__ import annotations

import time

import numpy as np
from scipy.integrate import quad

from msuite.drivers.protocol import SRM_ROW_DTYPE, ScanMode, decode_scans
from msuite.drivers.protocol.grammar import parse_command
from msuite.hardware_sim.clock import SimClock
from msuite.hardware_sim.ms_instrument import SimulatedMassSpec
from msuite.hardware_sim.physics import emg
from msuite.hardware_sim.sample import RtModel, build_sample, default_sample, predict_irt
from tests.drivers.simfixtures import LVN_HEAVY, LVN_LIGHT, srm_table


def test_emg_is_a_density_with_a_tail() -> None:
    area, _ = quad(lambda t: float(emg(t, 100.0, 5.0, 3.0)), 0, 300)
    assert abs(area - 1.0) < 1e-6
    assert emg(100.0 + 40.0, 100.0, 5.0, 3.0) > emg(100.0 - 40.0, 100.0, 5.0, 3.0)
    assert np.isfinite(emg(np.array([0.0, 1e5]), 10.0, 1.0, 0.5)).all()


def test_irt_model_orders_peptides_and_heavy_coelutes() -> None:
    assert predict_irt("LGGNEQVTR") == -24.92
    rng = np.random.default_rng(1)
    analytes = build_sample(default_sample(), RtModel(3600.0, jitter_s=5.0), rng)
    by_name = {a.name: a for a in analytes}
    assert by_name["iRT LGGNEQVTR"].rt < by_name["iRT LFLQFGAQGSPFLK"].rt
    light, heavy = by_name["ALB LVNEVTEFAK"], by_name["ALB LVNEVTEFAK heavy"]
    assert light.rt == heavy.rt
    assert abs(heavy.precursor_mz - light.precursor_mz - 8.014199 / 2) < 1e-6
    assert 5.0 < light.sigma < 20.0  # seconds, for a 60-min gradient


def test_clock_speed() -> None:
    clock = SimClock(100.0)
    t0 = clock.now()
    time.sleep(0.05)
    assert 3.0 < clock.now() - t0 < 30.0
    clock.set_speed(1.0)
    t1 = clock.now()
    assert clock.now() - t1 < 1.0


def _run(seed: int) -> list:
    ms = SimulatedMassSpec("tq", speed=1000.0, seed=seed)
    table = srm_table(LVN_LIGHT + LVN_HEAVY).tobytes()
    from msuite.drivers.protocol import encode_block

    for line in (b"METH:SRM:DATA " + encode_block(table), b"CONF:MODE SRM", b"SOUR:STAT ON",
                 b"ACQ:DUR 30", b"ACQ:STAR"):
        ms.handle(parse_command(line))
    time.sleep(0.06)
    ms.handle(parse_command(b"ACQ:STOP"))
    payload = ms.handle(parse_command(b"FETC:SCAN? 0,100000"))
    return decode_scans(bytes(payload))


def test_same_seed_same_data() -> None:
    a, b, c = _run(5), _run(5), _run(6)
    n = min(len(a), len(b))
    assert n > 100
    for x, y in zip(a[:n], b[:n], strict=True):
        np.testing.assert_array_equal(x.points, y.points)
        assert x.rt == y.rt
    m = min(n, len(c))
    assert any(not np.array_equal(x.points, y.points) for x, y in zip(a[:m], c[:m], strict=True))


def test_error_queue_overflow_and_esr() -> None:
    ms = SimulatedMassSpec("tq")
    for _ in range(40):
        ms.handle(parse_command(b"NOPE"))
    entries = [ms.handle(parse_command(b"SYST:ERR?")) for _ in range(33)]
    assert entries[30].startswith("-113")
    assert entries[31] == '-350,"Queue overflow"'
    assert entries[32] == '0,"No error"'
    assert int(ms.handle(parse_command(b"*ESR?"))) & 32


def test_srm_limits() -> None:
    ms = SimulatedMassSpec("tq")
    from msuite.drivers.protocol import encode_block

    table = np.zeros(30001, SRM_ROW_DTYPE)
    table["dwell_ms"] = 1
    table["precursor_mz"] = table["product_mz"] = 500
    ms.handle(parse_command(b"METH:SRM:DATA " + encode_block(table.tobytes())))
    assert ms.handle(parse_command(b"SYST:ERR?")).startswith("201,")
    assert ms.mode == ScanMode.SRM
