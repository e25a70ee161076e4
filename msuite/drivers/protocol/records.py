"""Binary layouts on the wire: scan records and method tables (all little-endian, packed).

A ``FETCh:SCAN?`` block holds zero or more scan records back to back. Each record is one
:data:`SCAN_HEADER_DTYPE` header followed by ``n_points`` entries of :data:`POINT_DTYPE`.
Method tables (``METHod:SRM:DATA`` etc.) are plain arrays of their row dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from msuite.drivers.protocol.blocks import BlockError

__all__ = [
    "DIA_WINDOW_DTYPE",
    "FLAG_CENTROID",
    "FLAG_FAULT",
    "FLAG_SATURATED",
    "POINT_DTYPE",
    "PRM_ROW_DTYPE",
    "SCAN_HEADER_DTYPE",
    "SRM_ROW_DTYPE",
    "WINDOW_UPDATE_DTYPE",
    "ScanMode",
    "ScanRecord",
    "decode_scans",
    "decode_table",
    "encode_scans",
    "encode_table",
]

#: Record magic: b"SC" as little-endian uint16, to catch desynchronised streams.
RECORD_MAGIC = 0x4353


class ScanMode(IntEnum):
    """Scan mode of the instrument and of each record. Values are on the wire: never renumber."""

    FULL = 0
    SRM = 1
    PRM = 2
    DIA = 3


#: Record flags (bit mask in ``flags``).
FLAG_SATURATED = 1  # at least one point hit the detector's ceiling
FLAG_CENTROID = 2  # points are centroids (else profile)
FLAG_FAULT = 4  # acquired while a fault (vacuum, spray) was active

SCAN_HEADER_DTYPE = np.dtype(
    [
        ("magic", "<u2"),
        ("mode", "u1"),
        ("ms_level", "u1"),
        ("record_bytes", "<u4"),  # header + points, bytes
        ("sequence", "<u8"),  # monotonic over the instrument's life, +1 per scan
        ("timestamp_us", "<u8"),  # instrument clock, microseconds since power-on
        ("rt", "<f8"),  # seconds since the run started
        ("precursor_mz", "<f8"),  # NaN for FULL/SRM
        ("isolation_width", "<f4"),
        ("collision_energy", "<f4"),
        ("injection_time_ms", "<f4"),  # fill time (PRM/FULL) or summed dwell (SRM)
        ("scan_low", "<f4"),
        ("scan_high", "<f4"),
        ("resolution", "<f4"),
        ("table_index", "<i4"),  # PRM row / DIA window; -1 otherwise
        ("polarity", "i1"),
        ("pad", "u1", (3,)),
        ("flags", "<u4"),
        ("n_points", "<u4"),
    ]
)

POINT_DTYPE = np.dtype(
    [
        ("mz", "<f8"),  # m/z (product m/z for SRM)
        ("intensity", "<f4"),  # counts
        ("tag", "<u4"),  # SRM: transition id; otherwise 0
    ]
)

SRM_ROW_DTYPE = np.dtype(
    [
        ("id", "<u4"),
        ("precursor_mz", "<f8"),
        ("product_mz", "<f8"),
        ("dwell_ms", "<f4"),
        ("collision_energy", "<f4"),
        ("rt_start", "<f4"),  # seconds; start < 0 and stop < 0 mean "whole run"
        ("rt_stop", "<f4"),
    ]
)

PRM_ROW_DTYPE = np.dtype(
    [
        ("id", "<u4"),
        ("precursor_mz", "<f8"),
        ("charge", "<i4"),
        ("isolation_width", "<f4"),
        ("collision_energy", "<f4"),
        ("resolution", "<f4"),
        ("rt_start", "<f4"),
        ("rt_stop", "<f4"),
    ]
)

DIA_WINDOW_DTYPE = np.dtype(
    [
        ("id", "<u4"),
        ("low_mz", "<f8"),
        ("high_mz", "<f8"),
        ("collision_energy", "<f4"),
    ]
)

#: A live update of a scheduled row's window (``METHod:<mode>:WINDow``): new start/stop.
WINDOW_UPDATE_DTYPE = np.dtype([("id", "<u4"), ("rt_start", "<f4"), ("rt_stop", "<f4")])


@dataclass(slots=True)
class ScanRecord:
    """One decoded scan record: its header (a numpy void of SCAN_HEADER_DTYPE) and points."""

    header: np.void
    points: np.ndarray

    @property
    def sequence(self) -> int:
        """Instrument sequence number."""
        return int(self.header["sequence"])

    @property
    def mode(self) -> ScanMode:
        """Scan mode."""
        return ScanMode(int(self.header["mode"]))

    @property
    def rt(self) -> float:
        """Seconds since the run started."""
        return float(self.header["rt"])


def encode_table(rows: np.ndarray, dtype: np.dtype) -> bytes:
    """Return the wire bytes of a method table (rows converted to ``dtype``)."""
    arr = np.asarray(rows)
    if arr.dtype != dtype:
        out = np.zeros(arr.shape[0], dtype=dtype)
        for name in dtype.names or ():
            out[name] = arr[name]
        arr = out
    return np.ascontiguousarray(arr, dtype=dtype).tobytes()


def decode_table(payload: bytes, dtype: np.dtype) -> np.ndarray:
    """Decode method table bytes; raises BlockError when the size is not a whole row count."""
    if len(payload) % dtype.itemsize:
        raise BlockError(
            "table size is not a multiple of the row size",
            field="length",
            value=len(payload),
            allowed=f"multiple of {dtype.itemsize}",
        )
    return np.frombuffer(payload, dtype=dtype).copy()


def encode_scans(records: list[tuple[np.ndarray, np.ndarray]]) -> bytes:
    """Encode ``(header, points)`` pairs; sets magic, ``n_points`` and ``record_bytes``."""
    parts: list[bytes] = []
    for header, points in records:
        h = np.array(header, dtype=SCAN_HEADER_DTYPE).reshape(1)
        pts = np.ascontiguousarray(points, dtype=POINT_DTYPE)
        h["magic"] = RECORD_MAGIC
        h["n_points"] = pts.size
        h["record_bytes"] = SCAN_HEADER_DTYPE.itemsize + pts.nbytes
        parts.append(h.tobytes())
        parts.append(pts.tobytes())
    return b"".join(parts)


def decode_scans(payload: bytes) -> list[ScanRecord]:
    """Decode a ``FETCh:SCAN?`` payload into records, checking every length.

    Raises
    ------
    BlockError
        On a bad magic, a truncated record or a record length that disagrees with ``n_points``.
    """
    out: list[ScanRecord] = []
    pos = 0
    hsize = SCAN_HEADER_DTYPE.itemsize
    buf = memoryview(payload)
    while pos < len(payload):
        if len(payload) - pos < hsize:
            raise BlockError("truncated scan header", field="offset", value=pos)
        header = np.frombuffer(buf[pos : pos + hsize], dtype=SCAN_HEADER_DTYPE)[0]
        if int(header["magic"]) != RECORD_MAGIC:
            raise BlockError("bad scan record magic", field="offset", value=pos)
        n = int(header["n_points"])
        size = hsize + n * POINT_DTYPE.itemsize
        if int(header["record_bytes"]) != size:
            raise BlockError(
                "scan record length disagrees with its point count",
                field="record_bytes",
                value=int(header["record_bytes"]),
                allowed=size,
            )
        if pos + size > len(payload):
            raise BlockError("truncated scan record", field="offset", value=pos)
        points = np.frombuffer(buf[pos + hsize : pos + size], dtype=POINT_DTYPE).copy()
        out.append(ScanRecord(header.copy(), points))
        pos += size
    return out
