"""Acquisition state of the simulated mass spectrometer: method tables and scan generation.

Scans are generated lazily: whenever the instrument is touched, every scan whose start time is
at or before the clock's "now" is produced (``catch_up``). Scan times follow the instrument's
own schedule, never the wall clock, and each scan draws from a generator seeded by
``(seed, run, sequence)``, so the same seed gives the same data at any clock speed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from msuite.drivers.presets import InstrumentLimits
from msuite.drivers.protocol.records import (
    FLAG_CENTROID,
    FLAG_FAULT,
    FLAG_SATURATED,
    POINT_DTYPE,
    SCAN_HEADER_DTYPE,
    ScanMode,
    encode_scans,
)
from msuite.hardware_sim.physics import (
    AnalyteArrays,
    fragment_points,
    full_scan_points,
    srm_match,
    srm_points,
)

__all__ = ["FullSettings", "RunState", "ScanBuffer"]

#: Time step while nothing is scheduled (seconds of run time).
IDLE_STEP_S = 0.05


@dataclass(slots=True)
class FullSettings:
    """FULL scan settings (``CONFigure:FULL``)."""

    low: float = 350.0
    high: float = 1250.0
    resolution: float = 0.0  # 0: the preset's MS1 resolution
    centroid: bool = False


class ScanBuffer:
    """Encoded scan records by sequence number, keeping the newest ``capacity`` records."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._records: list[bytes] = []
        self.first_seq = 0  # sequence number of _records[0]
        self.next_seq = 0  # sequence number the next record gets

    def append(self, record: bytes) -> None:
        """Store an encoded record with sequence number ``next_seq``."""
        self._records.append(record)
        self.next_seq += 1
        if len(self._records) > self.capacity:
            drop = len(self._records) - self.capacity // 2
            del self._records[:drop]
            self.first_seq += drop

    def skip(self) -> None:
        """Lose one sequence number (fault injection: a gap in the stream)."""
        self.append(b"")

    def fetch(self, from_seq: int, max_count: int, max_bytes: int) -> tuple[bytes, int]:
        """Records from ``from_seq`` on (at most ``max_count``/``max_bytes``); returns
        ``(payload, count)``."""
        start = max(from_seq, self.first_seq) - self.first_seq
        parts, size = [], 0
        for rec in self._records[start : start + max_count]:
            if parts and size + len(rec) > max_bytes:
                break
            parts.append(rec)
            size += len(rec)
        return b"".join(parts), len(parts)


@dataclass(slots=True)
class RunState:
    """One acquisition: what is scheduled and where generation has got to."""

    mode: ScanMode
    limits: InstrumentLimits
    arrays: AnalyteArrays
    seed: int
    run_number: int
    start_instrument_s: float  # instrument clock at run start
    duration_s: float
    srm: np.ndarray | None = None
    prm: np.ndarray | None = None
    dia: np.ndarray | None = None
    full: FullSettings = field(default_factory=FullSettings)
    next_t: float = 0.0  # run time of the next scan
    row_cursor: int = 0  # round-robin position (PRM/DIA)
    spray: float = 1.0
    fault: bool = False
    _srm_match: tuple[np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        if self.srm is not None:
            self._srm_match = srm_match(
                self.arrays.analytes, self.srm["precursor_mz"], self.srm["product_mz"]
            )

    @staticmethod
    def update_windows(table: np.ndarray, updates: np.ndarray) -> int:
        """Apply live window updates (id, start, stop) to ``table``; returns rows updated."""
        n = 0
        for row in updates:
            hit = table["id"] == row["id"]
            table["rt_start"][hit] = row["rt_start"]
            table["rt_stop"][hit] = row["rt_stop"]
            n += int(hit.sum())
        return n

    def _header(self, seq: int, t: float) -> np.ndarray:
        h = np.zeros(1, dtype=SCAN_HEADER_DTYPE)
        h["mode"] = int(self.mode)
        h["sequence"] = seq
        h["rt"] = t
        h["timestamp_us"] = round((self.start_instrument_s + t) * 1e6)
        h["polarity"] = 1
        h["precursor_mz"] = np.nan
        h["table_index"] = -1
        return h

    @staticmethod
    def _active(table: np.ndarray, t: float) -> np.ndarray:
        whole = (table["rt_start"] < 0) & (table["rt_stop"] < 0)
        return np.flatnonzero(whole | ((table["rt_start"] <= t) & (t < table["rt_stop"])))

    def catch_up(self, run_time: float, buffer: ScanBuffer, max_scans: int = 1_000_000) -> int:
        """Generate every scan starting at or before ``run_time``; returns how many."""
        n = 0
        end = min(run_time, self.duration_s)
        while self.next_t <= end and n < max_scans:
            made = self._one_scan(buffer)
            n += made
        return n

    def _one_scan(self, buffer: ScanBuffer) -> int:
        t = self.next_t
        seq = buffer.next_seq
        rng = np.random.default_rng([self.seed, self.run_number, seq])
        lim = self.limits
        h = self._header(seq, t)
        flags = FLAG_FAULT if self.fault or self.spray < 1.0 else 0
        if self.mode == ScanMode.SRM:
            assert self.srm is not None and self._srm_match is not None
            active = self._active(self.srm, t)
            if active.size == 0:
                self.next_t = t + IDLE_STEP_S
                return 0
            rows = self.srm[active]
            dwell_s = rows["dwell_ms"].astype(float) * 1e-3
            idx, rel = self._srm_match[0][active], self._srm_match[1][active]
            pts, sat = srm_points(
                t,
                self.arrays,
                idx,
                rel,
                rows["product_mz"],
                dwell_s,
                rows["id"],
                lim,
                rng,
                self.spray,
            )
            per = np.maximum(dwell_s + lim.inter_scan_pause_ms * 1e-3, 1.0 / lim.max_srm_per_s)
            h["injection_time_ms"] = float(dwell_s.sum() * 1e3)
            h["ms_level"] = 2
            h["flags"] = flags | FLAG_CENTROID | (FLAG_SATURATED if sat else 0)
            self.next_t = t + float(per.sum())
        elif self.mode == ScanMode.FULL:
            res = self.full.resolution or lim.resolution_ms1
            if lim.kind == "orbitrap":
                period = 1.0 / lim.prm_scan_rate(res)
            else:
                period = (self.full.high - self.full.low) / 10000.0 + 0.005  # 10,000 Da/s
            fill = (lim.fill_time_ms or 1.0) * 1e-3 * 2
            pts, sat = full_scan_points(
                t,
                self.arrays,
                self.full.low,
                self.full.high,
                fill,
                lim,
                res,
                self.full.centroid,
                rng,
                self.spray,
            )
            h["ms_level"] = 1
            h["scan_low"], h["scan_high"], h["resolution"] = self.full.low, self.full.high, res
            h["injection_time_ms"] = fill * 1e3
            h["flags"] = (
                flags
                | (FLAG_CENTROID if self.full.centroid else 0)
                | (FLAG_SATURATED if sat else 0)
            )
            self.next_t = t + period
        else:
            table = self.prm if self.mode == ScanMode.PRM else self.dia
            assert table is not None
            active = self._active(table, t) if self.mode == ScanMode.PRM else np.arange(table.size)
            if active.size == 0:
                self.next_t = t + IDLE_STEP_S
                return 0
            k = int(active[self.row_cursor % active.size])
            self.row_cursor += 1
            row = table[k]
            if self.mode == ScanMode.PRM:
                res = float(row["resolution"])
                width = float(row["isolation_width"])
                lo, hi = row["precursor_mz"] - width / 2, row["precursor_mz"] + width / 2
                h["precursor_mz"] = row["precursor_mz"]
            else:
                res = 15000.0 if lim.kind == "orbitrap" else 0.0
                lo, hi = float(row["low_mz"]), float(row["high_mz"])
                width = hi - lo
                h["precursor_mz"] = (lo + hi) / 2
            rate = lim.prm_scan_rate(res)
            fill = min(lim.fill_time_ms * 1e-3, 1.0 / rate)
            pts, sat = fragment_points(
                t, self.arrays, float(lo), float(hi), fill, lim, res, rng, self.spray
            )
            h["ms_level"] = 2
            h["isolation_width"] = width
            h["collision_energy"] = row["collision_energy"]
            h["resolution"] = res
            h["table_index"] = int(row["id"])
            h["injection_time_ms"] = fill * 1e3
            h["scan_low"], h["scan_high"] = 100.0, max(2.0 * hi, 200.0)
            h["flags"] = flags | FLAG_CENTROID | (FLAG_SATURATED if sat else 0)
            self.next_t = t + 1.0 / rate
        buffer.append(encode_scans([(h, np.ascontiguousarray(pts, dtype=POINT_DTYPE))]))
        return 1
