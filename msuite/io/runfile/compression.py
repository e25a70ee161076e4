"""Compression filters for run-file datasets (blosc-zstd through hdf5plugin, gzip fallback)."""

from __future__ import annotations

from typing import Any

from msuite.core.errors import InputError

__all__ = ["COMPRESSIONS", "DEFAULT_COMPRESSION", "filter_options"]

COMPRESSIONS = ("blosc-zstd", "blosc-lz4", "gzip", "none")
DEFAULT_COMPRESSION = "blosc-zstd"


def _blosc(cname: str, clevel: int) -> dict[str, Any] | None:
    try:
        import hdf5plugin
    except ImportError:  # pragma: no cover - hdf5plugin is a runtime dependency
        return None
    return dict(hdf5plugin.Blosc2(cname=cname, clevel=clevel, filters=hdf5plugin.Blosc2.SHUFFLE))


def filter_options(name: str) -> dict[str, Any]:
    """Return h5py ``create_dataset`` keyword arguments for a compression name.

    Blosc (byte-shuffled zstd or lz4) is lossless and fast; when hdf5plugin is not
    importable the blosc choices fall back to gzip, which every HDF5 reader has.

    Parameters
    ----------
    name
        One of :data:`COMPRESSIONS`.
    """
    if name == "blosc-zstd":
        opts = _blosc("zstd", 1)
    elif name == "blosc-lz4":
        opts = _blosc("lz4", 5)
    elif name == "gzip":
        opts = None
    elif name == "none":
        return {}
    else:
        raise InputError(
            "unknown compression", field="compression", value=name, allowed=", ".join(COMPRESSIONS)
        )
    if opts is None:
        return {"compression": "gzip", "compression_opts": 4, "shuffle": True}
    return opts
