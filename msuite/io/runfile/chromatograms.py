"""Bulk reading of run-file chromatograms: few large slices instead of one per chromatogram."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from msuite.core.errors import InputError
from msuite.core.model import Chromatogram, ChromatogramKind, Polarity

__all__ = [
    "chromatogram_from_row",
    "chromatogram_ids",
    "committed_rows",
    "iter_chromatogram_blocks",
]

#: Largest span of points (time and intensity each) read in one slice.
READ_BLOCK_POINTS = 4_000_000


def committed_rows(index: np.ndarray, n_time: int, n_intensity: int) -> np.ndarray:
    """Return the leading index rows whose points are on disk (a live file may lag).

    The index row is the commit record of a chromatogram: the writer flushes the arrays
    first, so rows past the arrays' end only appear if the file was altered.
    """
    if index.size == 0:
        return index
    ends = index["offset"] + index["length"]
    valid = ends <= min(n_time, n_intensity)
    if valid.all():
        return index
    return index[: int(np.argmin(valid))]


def chromatogram_ids(indices: np.ndarray | list[int] | range, n: int, path: Path) -> np.ndarray:
    """Check chromatogram indices against a count ``n``; return them as non-negative int64.

    Raises
    ------
    InputError
        ``indices`` is not a 1-D sequence of integers, or one is outside ``-n..n-1``.
    """
    raw = np.asarray(indices)
    if raw.size == 0:
        return np.empty(0, dtype=np.int64)
    if raw.ndim != 1 or not np.issubdtype(raw.dtype, np.integer):
        raise InputError(
            "chromatogram indices must be a 1-D sequence of integers",
            path=str(path),
            field="indices",
            value=f"{raw.dtype} array of shape {raw.shape}",
            allowed="integers",
        )
    bad = (raw < -n) | (raw >= n)
    if bad.any():
        raise InputError(
            "chromatogram index out of range",
            path=str(path),
            field="indices",
            value=int(raw[bad][0]),
            allowed=f"0..{n - 1}" if n else "none (the file holds no chromatograms)",
        )
    return raw.astype(np.int64) % n


def chromatogram_from_row(row: np.void, time: np.ndarray, intensity: np.ndarray) -> Chromatogram:
    """Build a :class:`Chromatogram` from its index row and its own time/intensity points."""
    native = row["native_id"]
    return Chromatogram(
        native_id=native.decode("utf-8") if isinstance(native, bytes) else str(native),
        kind=ChromatogramKind(int(row["kind"])),
        time=time,
        intensity=intensity,
        precursor_mz=float(row["precursor_mz"]),
        product_mz=float(row["product_mz"]),
        polarity=Polarity(int(row["polarity"])),
        collision_energy=float(row["collision_energy"]),
    )


def _blocks(offsets: np.ndarray, ends: np.ndarray) -> Iterator[tuple[int, int]]:
    """Split positions (sorted by offset) into runs spanning at most READ_BLOCK_POINTS."""
    pos = 0
    n = offsets.size
    while pos < n:
        start = int(offsets[pos])
        end = pos + 1
        while end < n and int(ends[end]) - start <= READ_BLOCK_POINTS:
            end += 1
        yield pos, end
        pos = end


def iter_chromatogram_blocks(
    time_ds: h5py.Dataset, intensity_ds: h5py.Dataset, rows: np.ndarray
) -> Iterator[tuple[int, Chromatogram]]:
    """Yield ``(position in rows, chromatogram)``, reading the points in large slices.

    Rows are visited in the order of their offsets (file order); each block of rows is
    served by one slice of ``time_ds`` and one of ``intensity_ds``, and the chromatograms'
    arrays are views of those slices.
    """
    if rows.size == 0:
        return
    order = np.argsort(rows["offset"], kind="stable")
    offsets = rows["offset"][order]
    ends = offsets + rows["length"][order]
    # a block's end is the largest end inside it, not the last row's
    running_end = np.maximum.accumulate(ends)
    for a, b in _blocks(offsets, running_end):
        lo, hi = int(offsets[a]), int(running_end[b - 1])
        time = time_ds[lo:hi]
        intensity = intensity_ds[lo:hi]
        positions = order[a:b]
        block = rows[positions]
        # whole columns to Python once: per-row field access costs more than the read
        columns = zip(
            positions.tolist(),
            (block["offset"] - lo).tolist(),
            block["length"].tolist(),
            block["native_id"].tolist(),
            block["kind"].tolist(),
            block["polarity"].tolist(),
            block["precursor_mz"].tolist(),
            block["product_mz"].tolist(),
            block["collision_energy"].tolist(),
            strict=True,
        )
        for k, o, n, native, kind, polarity, q1, q3, ce in columns:
            yield (
                k,
                Chromatogram(
                    native_id=native.decode("utf-8"),
                    kind=ChromatogramKind(kind),
                    time=time[o : o + n],
                    intensity=intensity[o : o + n],
                    precursor_mz=q1,
                    product_mz=q3,
                    polarity=Polarity(polarity),
                    collision_energy=ce,
                ),
            )
