"""Conversion between run files, mzML (plain or gzip) and mzMLb, chosen by extension."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from msuite.core.errors import InputError
from msuite.core.model import Chromatogram, RunMetadata, Spectrum
from msuite.io.atomic import atomic_output
from msuite.io.formats import MZML, RUN, detect_format
from msuite.io.runfile import RunFile, RunFileWriter
from msuite.io.runfile.compression import DEFAULT_COMPRESSION

__all__ = ["ConversionReport", "SpectraSource", "convert", "open_source"]

Progress = Callable[[int], None]


class SpectraSource(Protocol):
    """What the converter needs from any readable format."""

    def read_metadata(self) -> RunMetadata: ...

    def count_hint(self) -> tuple[int | None, int | None]: ...

    def __iter__(self) -> Iterator[Spectrum | Chromatogram]: ...

    def spectra(self) -> Iterator[Spectrum]: ...

    def chromatograms(self) -> Iterator[Chromatogram]: ...


class RunFileSource:
    """A run file seen through the :class:`SpectraSource` interface."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def read_metadata(self) -> RunMetadata:
        with RunFile(self.path) as run:
            return run.metadata()

    def count_hint(self) -> tuple[int | None, int | None]:
        with RunFile(self.path) as run:
            return run.n_spectra, run.n_chromatograms

    def spectra(self) -> Iterator[Spectrum]:
        with RunFile(self.path) as run:
            yield from run.iter_spectra()

    def chromatograms(self) -> Iterator[Chromatogram]:
        with RunFile(self.path) as run:
            yield from run.iter_chromatograms()

    def __iter__(self) -> Iterator[Spectrum | Chromatogram]:
        yield from self.spectra()
        yield from self.chromatograms()


def open_source(path: str | os.PathLike[str]) -> SpectraSource:
    """Open any readable format (by extension) as a :class:`SpectraSource`."""
    p = Path(path)
    fmt = detect_format(p)
    if not p.is_file():
        raise InputError("no such file", path=str(p))
    if fmt == RUN:
        return RunFileSource(p)
    if fmt == MZML:
        from msuite.io.mzml_reader import MzMLReader

        return MzMLReader(p)
    from msuite.io.mzmlb import MzMLbReader

    return MzMLbReader(p)


@dataclass(slots=True)
class ConversionReport:
    """What a conversion did."""

    source: Path
    output: Path
    source_format: str
    output_format: str
    spectra: int = 0
    chromatograms: int = 0
    checksum: str = ""
    notes: list[str] = field(default_factory=list)


def _with_provenance(meta: RunMetadata, source: Path, fmt: str) -> RunMetadata:
    from msuite import __version__

    files = list(meta.source_files)
    if fmt != RUN or not files:
        files.append({"name": source.name, "location": str(source.resolve().parent), "format": fmt})
    software = [s for s in meta.software if s.get("name") != "msuite"]
    software.append({"name": "msuite", "version": __version__})
    return RunMetadata(
        run_id=meta.run_id,
        instrument=meta.instrument,
        method=meta.method,
        sample=meta.sample,
        software=software,
        source_files=files,
        start_time=meta.start_time,
        extra=meta.extra,
    )


def convert(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    compression: str = DEFAULT_COMPRESSION,
) -> ConversionReport:
    """Convert ``source`` to ``output``; formats are chosen by extension.

    The output is written under a temporary name and renamed at the end, so a failed
    conversion never leaves a half-written file (an existing output stays as it was).

    Parameters
    ----------
    source, output
        Paths; ``.h5``/``.hdf5`` run files, ``.mzML``/``.mzML.gz``, ``.mzMLb``.
    progress
        Called with the number of spectra/chromatograms done since its last call.
    compression
        Compression of run-file output (see :mod:`msuite.io.runfile.compression`).
    """
    src, dst = Path(source), Path(output)
    src_fmt, dst_fmt = detect_format(src), detect_format(dst)
    if src.resolve() == dst.resolve():
        raise InputError("output would overwrite the input", path=str(dst))
    if not dst.parent.is_dir():
        raise InputError("output folder does not exist", path=str(dst.parent))
    reader = open_source(src)
    meta = _with_provenance(reader.read_metadata(), src, src_fmt)
    report = ConversionReport(src, dst, src_fmt, dst_fmt)
    tick = progress or (lambda _n: None)
    with atomic_output(dst) as tmp:
        if dst_fmt == RUN:
            with RunFileWriter(tmp, meta, compression=compression, swmr=False) as writer:
                for item in reader:
                    if isinstance(item, Spectrum):
                        writer.append_spectrum(item)
                        report.spectra += 1
                    else:
                        writer.append_chromatogram(item)
                        report.chromatograms += 1
                    tick(1)
                report.checksum = writer.close()
        else:
            n_spec, n_chrom = reader.count_hint()
            if src_fmt != RUN:
                # declared counts in mzML headers can be wrong; the writers need true ones
                n_spec = n_chrom = 0
                for item in reader:
                    n_spec += isinstance(item, Spectrum)
                    n_chrom += isinstance(item, Chromatogram)
            if dst_fmt == MZML:
                from msuite.io.mzml_writer import write_mzml as write
            else:
                from msuite.io.mzmlb import write_mzmlb as write
            write(
                tmp,
                meta,
                reader.spectra(),
                reader.chromatograms(),
                n_spectra=n_spec,
                n_chromatograms=n_chrom,
                progress=tick,
            )
            report.spectra, report.chromatograms = n_spec, n_chrom
    return report
