"""Run-file schema, version 1: names, record layouts and the content checksum.

docs/run-file.md is the human-readable contract; this module is its executable copy.
Change the layout only together with :data:`SCHEMA_VERSION` and that document.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import h5py
import numpy as np

__all__ = [
    "CHECKSUM_ORDER",
    "CHROMATOGRAM_DTYPE",
    "FORMAT_NAME",
    "NATIVE_ID_BYTES",
    "PRECURSOR_DTYPE",
    "SCAN_DTYPE",
    "SCHEMA_VERSION",
    "combine_digests",
    "dataset_digest",
    "metadata_json",
]

FORMAT_NAME = "msuite-run"
SCHEMA_VERSION = 1
CHECKSUM_ALGORITHM = "sha256-datasets-v1"

NATIVE_ID_BYTES = 128
FILTER_STRING_BYTES = 256
ACTIVATION_BYTES = 16

#: One row per scan, in acquisition order. The scan table is the commit record:
#: a row exists only once the arrays it points at have been written.
SCAN_DTYPE = np.dtype(
    [
        ("sequence", "<i8"),
        ("ms_level", "<i2"),
        ("centroid", "i1"),  # 1 centroid, 0 profile, -1 unknown
        ("polarity", "i1"),  # 1 positive, -1 negative, 0 unknown
        ("rt", "<f8"),  # seconds
        ("offset", "<i8"),  # first point in spectra/mz and spectra/intensity
        ("length", "<i8"),  # number of points
        ("precursor_start", "<i8"),  # first row in spectra/precursors
        ("precursor_count", "<i4"),
        ("scan_lower", "<f8"),
        ("scan_upper", "<f8"),
        ("mz_min", "<f8"),  # lowest observed m/z, NaN for an empty scan
        ("mz_max", "<f8"),
        ("tic", "<f8"),
        ("base_peak_mz", "<f8"),
        ("base_peak_intensity", "<f8"),
        ("injection_time", "<f8"),  # ms
        ("native_id", f"S{NATIVE_ID_BYTES}"),
        ("filter_string", f"S{FILTER_STRING_BYTES}"),
    ]
)

PRECURSOR_DTYPE = np.dtype(
    [
        ("scan_index", "<i8"),
        ("mz", "<f8"),
        ("charge", "<i2"),
        ("intensity", "<f8"),
        ("isolation_target", "<f8"),
        ("isolation_lower", "<f8"),
        ("isolation_upper", "<f8"),
        ("collision_energy", "<f8"),
        ("activation", f"S{ACTIVATION_BYTES}"),
        ("spectrum_ref", f"S{NATIVE_ID_BYTES}"),
    ]
)

CHROMATOGRAM_DTYPE = np.dtype(
    [
        ("kind", "<i2"),
        ("polarity", "i1"),
        ("precursor_mz", "<f8"),
        ("product_mz", "<f8"),
        ("collision_energy", "<f8"),
        ("offset", "<i8"),
        ("length", "<i8"),
        ("native_id", f"S{NATIVE_ID_BYTES}"),
    ]
)

#: Written once, at close: when the file was closed and its content checksum.
CLOSE_RECORD = "close_record"
CLOSE_DTYPE = np.dtype(
    [("closed_utc", "S32"), ("checksum_algorithm", "S32"), ("content_sha256", "S64")]
)

#: Dataset paths, their record types, and the order they enter the checksum.
CHECKSUM_ORDER: tuple[str, ...] = (
    "spectra/mz",
    "spectra/intensity",
    "spectra/scans",
    "spectra/precursors",
    "chromatograms/time",
    "chromatograms/intensity",
    "chromatograms/index",
)

DATASET_DTYPES: dict[str, np.dtype] = {
    "spectra/mz": np.dtype("<f8"),
    "spectra/intensity": np.dtype("<f8"),
    "spectra/scans": SCAN_DTYPE,
    "spectra/precursors": PRECURSOR_DTYPE,
    "chromatograms/time": np.dtype("<f8"),
    "chromatograms/intensity": np.dtype("<f8"),
    "chromatograms/index": CHROMATOGRAM_DTYPE,
}

_DIGEST_BLOCK_BYTES = 32 * 1024 * 1024


def metadata_json(metadata: dict[str, Any]) -> str:
    """Serialise run metadata canonically (sorted keys), as stored and hashed."""
    return json.dumps(metadata, sort_keys=True, separators=(",", ":"), allow_nan=True)


def dataset_digest(dataset: h5py.Dataset, rows: int | None = None) -> tuple[int, str]:
    """Hash the first ``rows`` records of a dataset (all when None), reading in blocks.

    Returns
    -------
    tuple[int, str]
        Number of records hashed and the SHA-256 hex digest of their little-endian bytes.
    """
    n = dataset.shape[0] if rows is None else rows
    itemsize = dataset.dtype.itemsize
    step = max(1, _DIGEST_BLOCK_BYTES // max(itemsize, 1))
    h = hashlib.sha256()
    for start in range(0, n, step):
        block = dataset[start : min(n, start + step)]
        h.update(np.ascontiguousarray(block).tobytes())
    return n, h.hexdigest()


def combine_digests(digests: dict[str, tuple[int, str]], metadata: str) -> str:
    """Combine per-dataset digests and the metadata JSON into the content checksum."""
    h = hashlib.sha256()
    h.update(f"{CHECKSUM_ALGORITHM}\n".encode())
    for name in CHECKSUM_ORDER:
        count, digest = digests[name]
        h.update(f"{name}\0{count}\0{digest}\n".encode())
    h.update(b"metadata\0" + metadata.encode("utf-8"))
    return h.hexdigest()
