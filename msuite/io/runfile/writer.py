"""Appending writer for run files, SWMR-enabled so a second process can follow live."""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import h5py
import numpy as np

from msuite.core.errors import InputError, RunFileStateError
from msuite.core.model import Chromatogram, RunMetadata, Spectrum
from msuite.io.runfile.compact import compact_if_bloated
from msuite.io.runfile.compression import DEFAULT_COMPRESSION, filter_options
from msuite.io.runfile.schema import (
    CHECKSUM_ALGORITHM,
    CHECKSUM_ORDER,
    CHROMATOGRAM_DTYPE,
    CLOSE_DTYPE,
    CLOSE_RECORD,
    DATASET_DTYPES,
    FORMAT_NAME,
    PRECURSOR_DTYPE,
    SCAN_DTYPE,
    SCHEMA_VERSION,
    combine_digests,
    metadata_json,
)

__all__ = ["DEFAULT_FLUSH_SCANS", "DEFAULT_FLUSH_SECONDS", "RunFileWriter"]

DEFAULT_FLUSH_SCANS = 256
DEFAULT_FLUSH_SECONDS = 1.0
_ARRAY_CHUNK = 32768
_TABLE_CHUNK = 1024
_FLUSH_POINTS = 1 << 20  # also flush once this many points are unflushed (16 MiB)
_DIRECT_POINTS = 16384  # scans this large are written straight to the datasets


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _encode_text(text: str, width: int, what: str, native_id: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > width:
        raise InputError(
            f"{what} too long for the run file",
            field=what,
            value=text if len(text) < 300 else text[:300] + "...",
            allowed=f"at most {width} UTF-8 bytes",
            native_id=native_id,
        )
    return raw


def _nan_min_max(mz: np.ndarray) -> tuple[float, float]:
    if mz.size == 0:
        return math.nan, math.nan
    return float(mz[0]), float(mz[-1])


class RunFileWriter:
    """Write one injection's spectra and chromatograms to an HDF5 run file.

    Scans and chromatograms are buffered and written in batches; a batch is flushed to
    disk every ``flush_scans`` scans (or chromatograms) or ``flush_seconds`` seconds,
    whichever comes first, and on :meth:`flush` and :meth:`close`. With ``swmr=True`` (the
    default) the file is in HDF5 single-writer/multiple-reader mode from creation: a reader
    in another process sees every flushed scan and chromatogram, and a writer killed at any
    moment leaves a file that opens and holds everything flushed before the kill.

    Parameters
    ----------
    path
        File to create; an existing file is replaced.
    metadata
        Run metadata stored with the file (and covered by its checksum).
    compression
        One of ``blosc-zstd`` (default), ``blosc-lz4``, ``gzip``, ``none``.
    flush_scans, flush_seconds
        The flush policy.
    compact
        After the close record, rewrite the file without the dead chunk copies that SWMR
        flushing leaves behind when they make it much larger than its data
        (:func:`~msuite.io.runfile.compact.compact_if_bloated`).
    swmr
        Enable SWMR mode so other processes can follow the file while it grows.

    Notes
    -----
    Spectra whose m/z array is not ascending are stored sorted by m/z (intensities
    follow their peaks); XIC extraction relies on sorted scans.

    Every flush rewrites the partly filled last chunk of each growing dataset, and in SWMR
    mode HDF5 does not reuse the file space of the chunk it replaces: flushing is what
    makes a file grow beyond its data, so the writer flushes per batch, never per item.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        metadata: RunMetadata | None = None,
        *,
        compression: str = DEFAULT_COMPRESSION,
        flush_scans: int = DEFAULT_FLUSH_SCANS,
        flush_seconds: float = DEFAULT_FLUSH_SECONDS,
        swmr: bool = True,
        compact: bool = True,
    ) -> None:
        self.path = Path(path)
        self.compact = compact
        self.metadata = metadata if metadata is not None else RunMetadata()
        self.flush_scans = max(1, int(flush_scans))
        self.flush_seconds = float(flush_seconds)
        filters = filter_options(compression)
        self._file = h5py.File(self.path, "w", libver="latest")
        f = self._file
        f.attrs["format"] = FORMAT_NAME
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["software"] = "msuite"
        f.attrs["software_version"] = _software_version()
        f.attrs["created_utc"] = _utc_now()
        f.attrs["compression"] = compression
        self._metadata_json = metadata_json(self.metadata.to_dict())
        f.attrs["metadata"] = self._metadata_json
        self._ds: dict[str, h5py.Dataset] = {}
        for name in CHECKSUM_ORDER:
            dtype = DATASET_DTYPES[name]
            chunk = _ARRAY_CHUNK if dtype.names is None else _TABLE_CHUNK
            self._ds[name] = f.create_dataset(
                name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(chunk,), **filters
            )
        self._close_ds = f.create_dataset(
            CLOSE_RECORD, shape=(0,), maxshape=(1,), dtype=CLOSE_DTYPE, chunks=(1,)
        )
        self._hash = {name: hashlib.sha256() for name in CHECKSUM_ORDER}
        if swmr:
            f.swmr_mode = True
        self._closed = False
        self._n_points = 0
        self._n_scans = 0
        self._n_precursors = 0
        self._n_chrom_points = 0
        self._n_chroms = 0
        self._buf_mz = np.empty(2 * _FLUSH_POINTS, dtype=np.float64)
        self._buf_int = np.empty(2 * _FLUSH_POINTS, dtype=np.float64)
        self._pending_points = 0
        self._unflushed_points = 0
        self._pending_scans: list[tuple] = []
        self._pending_precursors: list[tuple] = []
        self._pending_chrom_rows: list[tuple] = []
        self._pending_chrom_time: list[np.ndarray] = []
        self._pending_chrom_intensity: list[np.ndarray] = []
        self._pending_chrom_points = 0
        self._last_flush = time.monotonic()

    # -- appending ---------------------------------------------------------------
    @property
    def n_spectra(self) -> int:
        """Number of spectra appended so far (flushed or buffered)."""
        return self._n_scans + len(self._pending_scans)

    def append_spectrum(self, spectrum: Spectrum) -> int:
        """Append one spectrum; return its index in the run."""
        self._check_open()
        h = spectrum.header
        mz, inten = spectrum.mz, spectrum.intensity
        if mz.size > 1 and np.any(mz[1:] < mz[:-1]):
            order = np.argsort(mz, kind="stable")
            mz, inten = mz[order], inten[order]
        index = self.n_spectra
        offset = self._n_points + self._pending_points
        native_id = _encode_text(h.native_id, 128, "native_id", h.native_id)
        filter_string = _encode_text(h.filter_string, 256, "filter_string", h.native_id)
        pstart = self._n_precursors + len(self._pending_precursors)
        for p in h.precursors:
            self._pending_precursors.append(
                (
                    index,
                    p.mz,
                    p.charge,
                    p.intensity,
                    p.isolation_target,
                    p.isolation_lower,
                    p.isolation_upper,
                    p.collision_energy,
                    _encode_text(p.activation, 16, "activation", h.native_id),
                    _encode_text(p.spectrum_ref, 128, "spectrum_ref", h.native_id),
                )
            )
        tic = h.tic
        bp_mz, bp_int = h.base_peak_mz, h.base_peak_intensity
        if math.isnan(tic):
            tic = float(inten.sum()) if inten.size else 0.0
        if (math.isnan(bp_mz) or math.isnan(bp_int)) and inten.size:
            k = int(np.argmax(inten))
            bp_mz, bp_int = float(mz[k]), float(inten[k])
        lo, hi = _nan_min_max(mz)
        self._pending_scans.append(
            (
                h.sequence,
                h.ms_level,
                -1 if h.centroid is None else int(h.centroid),
                int(h.polarity),
                h.rt,
                offset,
                mz.size,
                pstart,
                len(h.precursors),
                h.scan_window[0],
                h.scan_window[1],
                lo,
                hi,
                tic,
                bp_mz,
                bp_int,
                h.injection_time,
                native_id,
                filter_string,
            )
        )
        if mz.size >= _DIRECT_POINTS:
            # large (profile) scans skip the copy into the batch buffer
            self._spill_buffer()
            self._append("spectra/mz", mz)
            self._append("spectra/intensity", inten)
            self._n_points += mz.size
        else:
            self._buffer_arrays(mz, inten)
        self._unflushed_points += mz.size
        self._flush_if_due()
        return index

    def _flush_if_due(self) -> None:
        """Apply the flush policy (count, points or time since the last flush)."""
        if (
            len(self._pending_scans) >= self.flush_scans
            or len(self._pending_chrom_rows) >= self.flush_scans
            or self._unflushed_points >= _FLUSH_POINTS
            or time.monotonic() - self._last_flush >= self.flush_seconds
        ):
            self.flush()

    def _buffer_arrays(self, mz: np.ndarray, inten: np.ndarray) -> None:
        start, end = self._pending_points, self._pending_points + mz.size
        if end > self._buf_mz.size:
            size = max(end, 2 * self._buf_mz.size)
            for name in ("_buf_mz", "_buf_int"):
                grown = np.empty(size, dtype=np.float64)
                grown[:start] = getattr(self, name)[:start]
                setattr(self, name, grown)
        self._buf_mz[start:end] = mz
        self._buf_int[start:end] = inten
        self._pending_points = end

    def _spill_buffer(self) -> None:
        """Write the batch buffer's arrays to the datasets (without an HDF5 flush)."""
        if self._pending_points:
            self._append("spectra/mz", self._buf_mz[: self._pending_points])
            self._append("spectra/intensity", self._buf_int[: self._pending_points])
            self._n_points += self._pending_points
            self._pending_points = 0

    def append_spectra(self, spectra: list[Spectrum]) -> None:
        """Append several spectra in order."""
        for s in spectra:
            self.append_spectrum(s)

    @property
    def n_chromatograms(self) -> int:
        """Number of chromatograms appended so far (flushed or buffered)."""
        return self._n_chroms + len(self._pending_chrom_rows)

    def append_chromatogram(self, chromatogram: Chromatogram) -> int:
        """Append one chromatogram; return its index in the run.

        It is buffered and flushed with the next batch (see the flush policy), like a scan.
        """
        self._check_open()
        row = self._chromatogram_row(chromatogram, "chromatogram")
        index = self.n_chromatograms
        self._queue_chromatograms([chromatogram], [row])
        self._flush_if_due()
        return index

    def append_chromatograms(self, chromatograms: Iterable[Chromatogram]) -> range:
        """Append many chromatograms at once; return their indices in the run.

        The batch is checked whole before anything is stored (a bad item leaves the writer
        unchanged) and written with one resize per dataset when it is flushed. The file
        content and checksum are the same as appending the chromatograms one by one.

        Raises
        ------
        InputError
            An item is not a :class:`~msuite.core.model.Chromatogram`, or its native id is
            longer than the schema allows.
        """
        self._check_open()
        items = list(chromatograms)
        rows = [self._chromatogram_row(c, f"chromatograms[{k}]") for k, c in enumerate(items)]
        first = self.n_chromatograms
        self._queue_chromatograms(items, rows)
        self._flush_if_due()
        return range(first, first + len(items))

    @staticmethod
    def _chromatogram_row(c: object, field: str) -> tuple:
        """Check one chromatogram and return its index row (offset filled in when queued)."""
        if not isinstance(c, Chromatogram):
            raise InputError(
                "not a chromatogram",
                field=field,
                value=type(c).__name__,
                allowed="msuite.core.model.Chromatogram",
            )
        native_id = _encode_text(c.native_id, 128, "native_id", c.native_id)
        return (
            int(c.kind),
            int(c.polarity),
            c.precursor_mz,
            c.product_mz,
            c.collision_energy,
            0,
            c.time.size,
            native_id,
        )

    def _queue_chromatograms(self, items: list[Chromatogram], rows: list[tuple]) -> None:
        offset = self._n_chrom_points + self._pending_chrom_points
        for c, row in zip(items, rows, strict=True):
            self._pending_chrom_rows.append((*row[:5], offset, *row[6:]))
            # copies: what is stored is the data as appended, even if the caller reuses arrays
            self._pending_chrom_time.append(c.time.copy())
            self._pending_chrom_intensity.append(c.intensity.copy())
            offset += c.time.size
            self._pending_chrom_points += c.time.size
            self._unflushed_points += c.time.size

    def _write_pending_chromatograms(self) -> None:
        """Write buffered chromatograms: arrays flushed first, index rows (the commit) last."""
        if not self._pending_chrom_rows:
            return
        if self._pending_chrom_points:
            self._append("chromatograms/time", np.concatenate(self._pending_chrom_time))
            self._append("chromatograms/intensity", np.concatenate(self._pending_chrom_intensity))
        self._ds["chromatograms/time"].flush()
        self._ds["chromatograms/intensity"].flush()
        self._append(
            "chromatograms/index", np.array(self._pending_chrom_rows, dtype=CHROMATOGRAM_DTYPE)
        )
        self._ds["chromatograms/index"].flush()
        self._n_chrom_points += self._pending_chrom_points
        self._n_chroms += len(self._pending_chrom_rows)
        self._pending_chrom_points = 0
        self._pending_chrom_rows.clear()
        self._pending_chrom_time.clear()
        self._pending_chrom_intensity.clear()

    def _append(self, name: str, data: np.ndarray) -> None:
        if data.size == 0:
            return
        ds = self._ds[name]
        n = ds.shape[0]
        ds.resize((n + data.size,))
        ds[n:] = data
        self._hash[name].update(memoryview(np.ascontiguousarray(data)).cast("B"))

    def flush(self) -> None:
        """Write buffered scans and chromatograms to disk (arrays first, tables last)."""
        self._check_open()
        if self._pending_scans:
            self._spill_buffer()
            if self._pending_precursors:
                self._append(
                    "spectra/precursors", np.array(self._pending_precursors, dtype=PRECURSOR_DTYPE)
                )
            self._ds["spectra/mz"].flush()
            self._ds["spectra/intensity"].flush()
            self._ds["spectra/precursors"].flush()
            self._append("spectra/scans", np.array(self._pending_scans, dtype=SCAN_DTYPE))
            self._ds["spectra/scans"].flush()
            self._n_scans += len(self._pending_scans)
            self._n_precursors += len(self._pending_precursors)
            self._pending_scans.clear()
            self._pending_precursors.clear()
        self._write_pending_chromatograms()
        self._unflushed_points = 0
        self._last_flush = time.monotonic()

    # -- closing -----------------------------------------------------------------
    def close(self) -> str:
        """Flush, record the content checksum and close time, and close the file.

        The close record is written as a dataset row (SWMR-safe), so readers that are
        following the file keep working and see it closed.

        Returns
        -------
        str
            The SHA-256 content checksum recorded in the file.
        """
        if self._closed:
            raise RunFileStateError("run file is already closed", path=str(self.path))
        self.flush()
        sizes = {name: ds.shape[0] for name, ds in self._ds.items()}
        digests = {name: (sizes[name], self._hash[name].hexdigest()) for name in CHECKSUM_ORDER}
        checksum = combine_digests(digests, self._metadata_json)
        record = np.array(
            [(_utc_now().encode(), CHECKSUM_ALGORITHM.encode(), checksum.encode())],
            dtype=CLOSE_DTYPE,
        )
        self._close_ds.resize((1,))
        self._close_ds[0:1] = record
        self._close_ds.flush()
        self._file.close()
        self._closed = True
        if self.compact:
            compact_if_bloated(self.path)
        return checksum

    def abandon(self) -> None:
        """Close the file without a checksum (it stays marked as not closed)."""
        if not self._closed:
            self._file.close()
            self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise RunFileStateError("run file is closed", path=str(self.path))

    def __enter__(self) -> RunFileWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._closed:
            return
        if exc_type is None:
            self.close()
        else:
            try:
                self.flush()
            finally:
                self.abandon()


def _software_version() -> str:
    from msuite import __version__

    return __version__
