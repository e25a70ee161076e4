"""Reading run files: random access by scan and RT, XICs, checksum verification, live follow."""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import hdf5plugin  # noqa: F401  (registers the blosc filter for reading)
import numpy as np

from msuite.core.errors import FileFormatError, InputError, SchemaVersionError
from msuite.core.model import (
    Chromatogram,
    ChromatogramKind,
    Polarity,
    Precursor,
    RunMetadata,
    ScanHeader,
    Spectrum,
)
from msuite.io.runfile.chromatograms import (
    chromatogram_from_row,
    chromatogram_ids,
    committed_rows,
    iter_chromatogram_blocks,
)
from msuite.io.runfile.schema import (
    CHECKSUM_ORDER,
    CLOSE_RECORD,
    FORMAT_NAME,
    SCHEMA_VERSION,
    combine_digests,
    dataset_digest,
)
from msuite.io.runfile.xic import Xic, extract_xic

__all__ = ["ChecksumStatus", "RunFile", "open_run_file"]

_CHUNK_CACHE_BYTES = 32 * 1024 * 1024
_READ_BLOCK_POINTS = 4_000_000


@dataclass(slots=True, frozen=True)
class ChecksumStatus:
    """Outcome of :meth:`RunFile.verify_checksum`.

    Attributes
    ----------
    state
        ``ok`` (content matches), ``mismatch`` (content changed since close) or
        ``absent`` (the writer never closed the file: still writing, or killed).
    recorded, computed
        The stored and the recomputed SHA-256 (``computed`` is always filled).
    """

    state: str
    recorded: str
    computed: str

    @property
    def ok(self) -> bool:
        """True when the content matches the recorded checksum."""
        return self.state == "ok"


def _text(raw: bytes) -> str:
    return raw.decode("utf-8")


class RunFile:
    """Read-only view of a run file; also follows a file that is still being written.

    Open with :func:`open_run_file` or ``RunFile(path)``; use as a context manager.
    The scan table is cached in memory (a few hundred bytes per scan); arrays are read
    on demand. Call :meth:`refresh` to see scans a live writer has flushed since.

    Raises
    ------
    FileFormatError
        The path is not an HDF5 file or not an msuite run file.
    SchemaVersionError
        The file was written with a newer schema than this msuite reads.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputError("no such file", path=str(self.path))
        try:
            self._file = h5py.File(
                self.path, "r", swmr=True, libver="latest", rdcc_nbytes=_CHUNK_CACHE_BYTES
            )
        except OSError as exc:
            raise FileFormatError(
                f"not a readable HDF5 run file ({exc})", path=str(self.path)
            ) from None
        try:
            self._check_format()
        except BaseException:
            self._file.close()
            raise
        self._ds = {name: self._file[name] for name in CHECKSUM_ORDER}
        self._scans = np.empty(0, dtype=self._ds["spectra/scans"].dtype)
        self.refresh()

    def _check_format(self) -> None:
        attrs = self._file.attrs
        fmt = attrs.get("format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode()
        if fmt != FORMAT_NAME:
            raise FileFormatError(
                "not an msuite run file",
                path=str(self.path),
                field="format",
                value=fmt,
                allowed=FORMAT_NAME,
            )
        version = int(attrs.get("schema_version", -1))
        if version > SCHEMA_VERSION or version < 1:
            raise SchemaVersionError(
                "run file schema version not supported by this msuite",
                path=str(self.path),
                field="schema_version",
                value=version,
                allowed=f"1..{SCHEMA_VERSION} (upgrade msuite to read newer files)",
            )
        missing = [n for n in (*CHECKSUM_ORDER, CLOSE_RECORD) if n not in self._file]
        if missing:
            raise FileFormatError(
                "run file lacks datasets",
                path=str(self.path),
                field="datasets",
                value=", ".join(missing),
            )

    # -- life cycle --------------------------------------------------------------
    def refresh(self) -> int:
        """Pick up scans and chromatograms flushed by a live writer; return the scan count.

        Only scans whose arrays are complete on disk are counted.
        """
        for ds in self._ds.values():
            ds.refresh()
        scans_ds = self._ds["spectra/scans"]
        have = self._scans.size
        total = scans_ds.shape[0]
        if total > have:
            self._scans = np.concatenate([self._scans, scans_ds[have:total]])
        # a row is valid only once its arrays and precursors are on disk
        n_points = min(self._ds["spectra/mz"].shape[0], self._ds["spectra/intensity"].shape[0])
        n_prec = self._ds["spectra/precursors"].shape[0]
        ends = self._scans["offset"] + self._scans["length"]
        pend = self._scans["precursor_start"] + self._scans["precursor_count"]
        valid = (ends <= n_points) & (pend <= n_prec)
        if not valid.all():
            self._scans = self._scans[: int(np.argmin(valid))]
        self._chrom_index = committed_rows(
            self._ds["chromatograms/index"][:],
            self._ds["chromatograms/time"].shape[0],
            self._ds["chromatograms/intensity"].shape[0],
        )
        return int(self._scans.size)

    def close(self) -> None:
        """Close the underlying HDF5 file."""
        self._file.close()

    def __enter__(self) -> RunFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- file-level facts --------------------------------------------------------
    @property
    def schema_version(self) -> int:
        """Schema version the file was written with."""
        return int(self._file.attrs["schema_version"])

    @property
    def is_closed_cleanly(self) -> bool:
        """True when the writer closed the file and recorded its checksum."""
        return bool(self._close_record())

    def _close_record(self) -> dict[str, str]:
        ds = self._file.get(CLOSE_RECORD)
        if ds is None:
            return {}
        ds.refresh()
        if ds.shape[0] == 0:
            return {}
        row = ds[0]
        return {name: _text(row[name]) for name in row.dtype.names}

    def attributes(self) -> dict[str, Any]:
        """Return the root attributes (format, versions, times, checksum) as plain values."""
        out: dict[str, Any] = {}
        for key, val in self._file.attrs.items():
            if key == "metadata":
                continue
            out[key] = (
                val.decode()
                if isinstance(val, bytes)
                else (val.item() if isinstance(val, np.generic) else val)
            )
        out.update(self._close_record())
        return out

    def metadata(self) -> RunMetadata:
        """Return the run metadata stored with the file."""
        return RunMetadata.from_dict(json.loads(self._metadata_text()))

    def _metadata_text(self) -> str:
        raw = self._file.attrs.get("metadata", "{}")
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    # -- scans -------------------------------------------------------------------
    @property
    def n_spectra(self) -> int:
        """Number of complete scans (as of the last :meth:`refresh`)."""
        return int(self._scans.size)

    def __len__(self) -> int:
        return self.n_spectra

    def scan_table(self) -> np.ndarray:
        """Return the scan table (structured array, one row per scan; see docs/run-file.md)."""
        return self._scans

    def header(self, index: int) -> ScanHeader:
        """Return the header of scan ``index``."""
        row = self._scans[self._check_index(index)]
        return self._make_header(int(index), row, self._precursors_of(row))

    def _check_index(self, index: int) -> int:
        n = self.n_spectra
        if not -n <= index < n:
            raise InputError(
                "scan index out of range",
                path=str(self.path),
                field="index",
                value=index,
                allowed=f"0..{n - 1}" if n else "none (the file holds no scans)",
            )
        return index % n

    def _precursors_of(self, row: np.void) -> tuple[Precursor, ...]:
        count = int(row["precursor_count"])
        if count == 0:
            return ()
        start = int(row["precursor_start"])
        recs = self._ds["spectra/precursors"][start : start + count]
        return tuple(_make_precursor(r) for r in recs)

    @staticmethod
    def _make_header(index: int, row: np.void, precursors: tuple[Precursor, ...]) -> ScanHeader:
        centroid = int(row["centroid"])
        return ScanHeader(
            index=index,
            native_id=_text(row["native_id"]),
            ms_level=int(row["ms_level"]),
            rt=float(row["rt"]),
            centroid=None if centroid < 0 else bool(centroid),
            polarity=Polarity(int(row["polarity"])),
            precursors=precursors,
            scan_window=(float(row["scan_lower"]), float(row["scan_upper"])),
            tic=float(row["tic"]),
            base_peak_mz=float(row["base_peak_mz"]),
            base_peak_intensity=float(row["base_peak_intensity"]),
            injection_time=float(row["injection_time"]),
            sequence=int(row["sequence"]),
            filter_string=_text(row["filter_string"]),
        )

    def spectrum(self, index: int) -> Spectrum:
        """Return scan ``index`` with its arrays."""
        i = self._check_index(index)
        row = self._scans[i]
        a, n = int(row["offset"]), int(row["length"])
        return Spectrum(
            self._make_header(i, row, self._precursors_of(row)),
            self._ds["spectra/mz"][a : a + n],
            self._ds["spectra/intensity"][a : a + n],
        )

    def iter_spectra(self, indices: np.ndarray | list[int] | None = None) -> Iterator[Spectrum]:
        """Yield spectra in order, reading the arrays in large contiguous blocks.

        Parameters
        ----------
        indices
            Ascending scan indices to yield; all scans when None.
        """
        idx = np.arange(self.n_spectra) if indices is None else np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_spectra):
            raise InputError(
                "scan index out of range",
                path=str(self.path),
                field="indices",
                allowed=f"0..{self.n_spectra - 1}",
            )
        prec_all = (
            self._ds["spectra/precursors"][:] if self._ds["spectra/precursors"].shape[0] else None
        )
        pos = 0
        while pos < idx.size:
            block, pos = self._next_block(idx, pos)
            rows = self._scans[block]
            a = int(rows["offset"][0])
            b = int((rows["offset"] + rows["length"]).max())
            mz = self._ds["spectra/mz"][a:b]
            inten = self._ds["spectra/intensity"][a:b]
            for i, row in zip(block, rows, strict=True):
                o, n = int(row["offset"]) - a, int(row["length"])
                precs: tuple[Precursor, ...] = ()
                if prec_all is not None and row["precursor_count"]:
                    s = int(row["precursor_start"])
                    precs = tuple(
                        _make_precursor(r) for r in prec_all[s : s + int(row["precursor_count"])]
                    )
                yield Spectrum(
                    self._make_header(int(i), row, precs),
                    mz[o : o + n].copy(),
                    inten[o : o + n].copy(),
                )

    def _next_block(self, idx: np.ndarray, pos: int) -> tuple[np.ndarray, int]:
        start_off = int(self._scans["offset"][idx[pos]])
        end = pos + 1
        while end < idx.size:
            r = self._scans[idx[end]]
            if int(r["offset"]) + int(r["length"]) - start_off > _READ_BLOCK_POINTS:
                break
            end += 1
        return idx[pos:end], end

    def indices_in_rt(
        self, rt_min: float = -math.inf, rt_max: float = math.inf, ms_level: int | None = None
    ) -> np.ndarray:
        """Return indices of scans with ``rt_min <= rt <= rt_max`` (s), of one MS level or all."""
        rt = self._scans["rt"]
        mask = (rt >= rt_min) & (rt <= rt_max)
        if ms_level is not None:
            mask &= self._scans["ms_level"] == ms_level
        return np.flatnonzero(mask)

    def spectra_in_rt(
        self, rt_min: float, rt_max: float, ms_level: int | None = None
    ) -> list[Spectrum]:
        """Return the spectra in an RT range (seconds), optionally of one MS level."""
        return list(self.iter_spectra(self.indices_in_rt(rt_min, rt_max, ms_level)))

    def xic(
        self,
        mz: float | np.ndarray | list[float],
        ppm: float | np.ndarray = 10.0,
        rt_range: tuple[float, float] | np.ndarray | None = None,
        ms_level: int = 1,
        aggregate: str = "sum",
    ) -> Xic:
        """Extract ion chromatograms for many targets at once.

        Parameters
        ----------
        mz
            Target m/z values.
        ppm
            Half-width of the m/z window in ppm (scalar or one per target).
        rt_range
            ``(rt_min, rt_max)`` in seconds for all targets, or an ``(n_targets, 2)`` array
            of per-target windows (scheduled extraction); the whole run when None.
        ms_level
            MS level of the scans to extract from.
        aggregate
            ``sum`` (default) or ``max`` of the intensities inside the window.

        Returns
        -------
        Xic
            ``intensity[t, s]`` for target ``t`` and scan ``s`` (NaN outside its RT window).
        """
        targets = np.atleast_1d(np.asarray(mz, dtype=np.float64))
        if rt_range is None:
            windows = np.tile([-math.inf, math.inf], (targets.size, 1))
        else:
            windows = np.asarray(rt_range, dtype=np.float64)
            if windows.shape == (2,):
                windows = np.tile(windows, (targets.size, 1))
            if windows.shape != (targets.size, 2):
                raise InputError(
                    "rt_range must be (min, max) or one (min, max) per target",
                    field="rt_range",
                    value=windows.shape,
                    allowed=f"(2,) or ({targets.size}, 2)",
                )
        idx = self.indices_in_rt(float(windows[:, 0].min()), float(windows[:, 1].max()), ms_level)
        rows = self._scans[idx]
        out_parts = []
        pos = 0
        while pos < idx.size:
            block, pos = self._next_block(idx, pos)
            sel = rows[np.searchsorted(idx, block[0]) : np.searchsorted(idx, block[0]) + block.size]
            a = int(sel["offset"][0])
            b = int((sel["offset"] + sel["length"]).max())
            out_parts.append(
                extract_xic(
                    self._ds["spectra/mz"][a:b],
                    self._ds["spectra/intensity"][a:b],
                    sel["offset"] - a,
                    sel["length"],
                    sel["rt"],
                    targets,
                    ppm,
                    windows,
                    aggregate,
                )
            )
        intensity = np.concatenate(out_parts, axis=1) if out_parts else np.empty((targets.size, 0))
        return Xic(rt=rows["rt"].copy(), scan_index=idx, intensity=intensity, mz=targets)

    # -- chromatograms -----------------------------------------------------------
    @property
    def n_chromatograms(self) -> int:
        """Number of chromatograms stored."""
        return int(self._chrom_index.size)

    def chromatogram_table(self) -> np.ndarray:
        """Return the chromatogram index (structured array, one row per chromatogram).

        Fields as in docs/run-file.md (``chromatograms/index``): kind, polarity,
        precursor_mz, product_mz, collision_energy, offset, length, native_id.
        """
        return self._chrom_index

    def chromatogram(self, index: int) -> Chromatogram:
        """Return chromatogram ``index`` (for many, :meth:`chromatograms` is much faster)."""
        n = self.n_chromatograms
        if not -n <= index < n:
            raise InputError(
                "chromatogram index out of range",
                path=str(self.path),
                field="index",
                value=index,
                allowed=f"0..{n - 1}" if n else "none (the file holds no chromatograms)",
            )
        row = self._chrom_index[index]
        a, k = int(row["offset"]), int(row["length"])
        return chromatogram_from_row(
            row,
            self._ds["chromatograms/time"][a : a + k],
            self._ds["chromatograms/intensity"][a : a + k],
        )

    def chromatograms(
        self, indices: np.ndarray | list[int] | range | None = None
    ) -> list[Chromatogram]:
        """Return many chromatograms at once, reading their points in large slices.

        Reading 16,000 SRM traces this way takes a few dataset reads instead of two per
        chromatogram. The returned arrays are views of the slices read by this call: they
        share memory with no other call (a repeated index gets the same arrays).

        Parameters
        ----------
        indices
            Chromatogram indices, in the order wanted (repeats allowed); all when None.

        Raises
        ------
        InputError
            An index is out of range or ``indices`` is not a 1-D sequence of integers.
        """
        rows = (
            self._chrom_index
            if indices is None
            else self._chrom_index[chromatogram_ids(indices, self.n_chromatograms, self.path)]
        )
        out: list[Chromatogram | None] = [None] * rows.size
        for k, chrom in iter_chromatogram_blocks(
            self._ds["chromatograms/time"], self._ds["chromatograms/intensity"], rows
        ):
            out[k] = chrom
        return out  # type: ignore[return-value]  # every position is filled

    def iter_chromatograms(self) -> Iterator[Chromatogram]:
        """Yield every chromatogram in order, reading the points in large slices."""
        for _, chrom in iter_chromatogram_blocks(
            self._ds["chromatograms/time"], self._ds["chromatograms/intensity"], self._chrom_index
        ):
            yield chrom

    # -- integrity and summary -----------------------------------------------------
    def verify_checksum(self) -> ChecksumStatus:
        """Recompute the content checksum and compare it with the one recorded at close."""
        digests = {name: dataset_digest(self._ds[name]) for name in CHECKSUM_ORDER}
        computed = combine_digests(digests, self._metadata_text())
        recorded = self._close_record().get("content_sha256", "")
        if not recorded:
            return ChecksumStatus("absent", "", computed)
        return ChecksumStatus("ok" if recorded == computed else "mismatch", recorded, computed)

    def summary(self) -> dict[str, Any]:
        """Return counts and ranges: scans per MS level, RT (s) and m/z ranges, chromatograms."""
        s = self._scans
        levels = Counter(int(v) for v in s["ms_level"])
        kinds = Counter(ChromatogramKind(int(k)).name for k in self._chrom_index["kind"])
        mz_min = s["mz_min"][~np.isnan(s["mz_min"])]
        mz_max = s["mz_max"][~np.isnan(s["mz_max"])]
        return {
            "spectra": int(s.size),
            "points": int(self._ds["spectra/mz"].shape[0]),
            "ms_levels": dict(sorted(levels.items())),
            "centroid": int((s["centroid"] == 1).sum()),
            "profile": int((s["centroid"] == 0).sum()),
            "rt_range": (float(s["rt"].min()), float(s["rt"].max())) if s.size else None,
            "mz_range": (float(mz_min.min()), float(mz_max.max())) if mz_min.size else None,
            "chromatograms": self.n_chromatograms,
            "chromatogram_kinds": dict(sorted(kinds.items())),
        }


def _make_precursor(r: np.void) -> Precursor:
    return Precursor(
        mz=float(r["mz"]),
        charge=int(r["charge"]),
        intensity=float(r["intensity"]),
        isolation_target=float(r["isolation_target"]),
        isolation_lower=float(r["isolation_lower"]),
        isolation_upper=float(r["isolation_upper"]),
        collision_energy=float(r["collision_energy"]),
        activation=_text(r["activation"]),
        spectrum_ref=_text(r["spectrum_ref"]),
    )


def open_run_file(path: str | os.PathLike[str]) -> RunFile:
    """Open a run file for reading (see :class:`RunFile`)."""
    return RunFile(path)
