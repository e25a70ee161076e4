"""Reclaim the space SWMR appending leaves behind in a closed run file.

Every flush of a compressed, chunked dataset writes its partly filled last chunk to a new place
in the file, and in SWMR mode HDF5 never reuses the space of the copy it replaces. A live
acquisition that flushes every second for an hour therefore leaves up to thousands of dead chunk
copies (hundreds of MB for tens of MB of data). After the close record is written, a bloated file
is copied object by object into a fresh file (raw chunks are copied as they are, so filters,
chunking, attributes and the content checksum are unchanged) and renamed over the original. A
crash during the copy leaves the original untouched; the partial copy is removed on the next try.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import h5py

__all__ = ["compact_if_bloated", "stored_bytes"]

#: compact when the file exceeds its stored data by this factor ...
BLOAT_FACTOR = 1.5
#: ... and by at least this many bytes
MIN_WASTE_BYTES = 8 << 20


def stored_bytes(path: str | os.PathLike[str]) -> int:
    """Bytes the datasets of ``path`` really occupy (compressed chunks)."""
    total = 0

    def visit(_name: str, obj: object) -> None:
        nonlocal total
        if isinstance(obj, h5py.Dataset):
            total += obj.id.get_storage_size()

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return total


def compact_if_bloated(
    path: str | os.PathLike[str],
    *,
    factor: float = BLOAT_FACTOR,
    min_waste: int = MIN_WASTE_BYTES,
) -> bool:
    """Rewrite ``path`` without dead space when it is bloated; return True when it was.

    The rewrite goes to ``<name>.compact`` and replaces the file atomically; readers that still
    have the old file open keep reading the old (complete, closed) copy.
    """
    path = Path(path)
    size = path.stat().st_size
    used = stored_bytes(path)
    if size < used * factor + min_waste:
        return False
    tmp = path.with_name(path.name + ".compact")
    try:
        with h5py.File(path, "r") as src, h5py.File(tmp, "w", libver="latest") as dst:
            for key, value in src.attrs.items():
                dst.attrs[key] = value
            for name in src:
                src.copy(src[name], dst, name=name)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return True
