"""Driver <-> simulator figures over loopback TCP.

- command round trip (``*IDN?``), median and p99;
- streaming throughput at the given clock speed: PRM scans/s (Orbitrap-class preset) and SRM
  points/s (triple-quad preset), with sequence numbers checked (any gap raises).

Run: ``python benchmarks/driver_bench.py [--speed 100] [--seconds 600]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from msuite.drivers.ms import MassSpectrometer
from msuite.drivers.protocol import PRM_ROW_DTYPE, SRM_ROW_DTYPE, ScanMode
from msuite.hardware_sim.ms_instrument import SimulatedMassSpec
from msuite.hardware_sim.server import MassSpecServer


def round_trip(ms: MassSpectrometer, n: int = 2000) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        ms.identify()
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times) * 1e3, times[int(0.99 * n)] * 1e3


def stream(ms: MassSpectrometer, seconds: float) -> tuple[int, int, float]:
    ms.source_on()
    ms.set_duration(seconds)
    st = ms.stream()
    t0 = time.perf_counter()
    ms.start()
    n = sum(1 for _ in st)
    return n, st.points, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--speed", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=600.0, help="simulated run length")
    args = parser.parse_args()

    with MassSpecServer(SimulatedMassSpec("orbitrap", speed=args.speed)) as srv, \
            MassSpectrometer(srv.resource) as ms:
        med, p99 = round_trip(ms)
        print(f"round trip *IDN?: median {med:.3f} ms, p99 {p99:.3f} ms")
        prm = np.zeros(50, PRM_ROW_DTYPE)
        prm["id"] = np.arange(50)
        prm["precursor_mz"] = np.linspace(400, 1000, 50)
        prm["charge"], prm["isolation_width"], prm["collision_energy"] = 2, 1.2, 27
        prm["resolution"], prm["rt_start"], prm["rt_stop"] = 15000, -1, -1
        ms.upload_prm(prm)
        ms.set_mode(ScanMode.PRM)
        n, _pts, wall = stream(ms, args.seconds)
        print(f"PRM at {args.speed:g}x: {n} scans in {wall:.2f} s = {n / wall:,.0f} scans/s, "
              "0 lost (sequence checked)")

    with MassSpecServer(SimulatedMassSpec("tq", speed=args.speed)) as srv, \
            MassSpectrometer(srv.resource) as ms:
        srm = np.zeros(500, SRM_ROW_DTYPE)
        srm["id"] = np.arange(500)
        srm["precursor_mz"] = np.repeat(np.linspace(400, 1000, 250), 2)
        srm["product_mz"] = np.tile([500.0, 700.0], 250)
        srm["dwell_ms"], srm["rt_start"], srm["rt_stop"] = 0.2, -1, -1
        ms.upload_srm(srm)
        ms.set_mode(ScanMode.SRM)
        n, pts, wall = stream(ms, args.seconds)
        print(f"SRM at {args.speed:g}x: {pts} points in {wall:.2f} s = {pts / wall:,.0f} "
              f"points/s ({n} cycles), 0 lost (sequence checked)")


if __name__ == "__main__":
    main()
