"""Turn decoded scan records into the core data model (Spectrum, SRM Chromatograms)."""

from __future__ import annotations

import math

import numpy as np

from msuite.core.model import (
    Chromatogram,
    ChromatogramKind,
    Polarity,
    Precursor,
    ScanHeader,
    Spectrum,
)
from msuite.drivers.protocol.records import FLAG_CENTROID, ScanMode, ScanRecord

__all__ = ["record_to_spectrum", "srm_chromatograms"]


def record_to_spectrum(rec: ScanRecord, index: int) -> Spectrum:
    """A FULL/PRM/DIA record as a :class:`Spectrum` (``index`` = position in the run)."""
    h = rec.header
    precursors: tuple[Precursor, ...] = ()
    if rec.mode in (ScanMode.PRM, ScanMode.DIA):
        width = float(h["isolation_width"])
        precursors = (
            Precursor(
                mz=float(h["precursor_mz"]),
                isolation_target=float(h["precursor_mz"]),
                isolation_lower=width / 2,
                isolation_upper=width / 2,
                collision_energy=float(h["collision_energy"]),
                activation="MS:1000422",
            ),
        )
    header = ScanHeader(
        index=index,
        native_id=f"scan={rec.sequence}",
        ms_level=int(h["ms_level"]),
        rt=float(h["rt"]),
        centroid=bool(int(h["flags"]) & FLAG_CENTROID),
        polarity=Polarity(int(h["polarity"])),
        precursors=precursors,
        scan_window=(float(h["scan_low"]), float(h["scan_high"])),
        injection_time=float(h["injection_time_ms"]),
        sequence=rec.sequence,
        filter_string=f"{rec.mode.name} ms{int(h['ms_level'])}",
    )
    return Spectrum(header, rec.points["mz"], rec.points["intensity"].astype(np.float64))


def srm_chromatograms(records: list[ScanRecord], table: np.ndarray) -> list[Chromatogram]:
    """One SRM chromatogram per transition of ``table`` (SRM_ROW_DTYPE) from SRM records."""
    times: dict[int, list[float]] = {int(i): [] for i in table["id"]}
    values: dict[int, list[float]] = {int(i): [] for i in table["id"]}
    for rec in records:
        if rec.mode != ScanMode.SRM:
            continue
        t = rec.rt
        for tag, inten in zip(rec.points["tag"], rec.points["intensity"], strict=True):
            if int(tag) in times:
                times[int(tag)].append(t)
                values[int(tag)].append(float(inten))
    out = []
    for row in table:
        k = int(row["id"])
        out.append(
            Chromatogram(
                native_id=f"SRM SIC Q1={row['precursor_mz']:.4f} Q3={row['product_mz']:.4f} id={k}",
                kind=ChromatogramKind.SRM,
                time=np.asarray(times[k]),
                intensity=np.asarray(values[k]),
                precursor_mz=float(row["precursor_mz"]),
                product_mz=float(row["product_mz"]),
                polarity=Polarity.POSITIVE,
                collision_energy=float(row["collision_energy"]) or math.nan,
            )
        )
    return out
