"""Centroid the profile spectra of a file (mzML, mzMLb or run file) into a new file.

Whether a spectrum is profile or centroid data comes from its CV terms
(``header.centroid``); a spectrum that does not say is refused unless the caller states
what to assume. Centroided spectra and chromatograms pass through unchanged.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from msuite.core.errors import InputError
from msuite.core.model import Chromatogram, RunMetadata, Spectrum
from msuite.io.atomic import atomic_output
from msuite.io.convert import open_source
from msuite.io.formats import MZML, RUN, detect_format
from msuite.io.runfile import RunFileWriter
from msuite.io.runfile.compression import DEFAULT_COMPRESSION
from msuite.quant.centroid import CentroidParams, Centroids, centroid_spectra

__all__ = ["ASSUME_CHOICES", "PickReport", "is_profile", "pick_file", "pick_spectra"]

#: What a caller may assume for spectra whose peak mode the file does not state.
ASSUME_CHOICES = ("profile", "centroid")
_BATCH = 256


@dataclass(slots=True)
class PickReport:
    """What :func:`pick_file` did."""

    source: Path
    output: Path
    spectra: int = 0
    centroided: int = 0
    passed_through: int = 0
    peaks: int = 0
    chromatograms: int = 0
    notes: list[str] = field(default_factory=list)


def is_profile(spectrum: Spectrum, assume: str | None = None, *, path: str | None = None) -> bool:
    """Return True when ``spectrum`` holds profile data, from its CV terms.

    Parameters
    ----------
    spectrum
        The spectrum; ``header.centroid`` is True (MS:1000127), False (MS:1000128) or None.
    assume
        ``"profile"`` or ``"centroid"`` for spectra that do not say; None refuses them.
    path
        File named in the error.

    Raises
    ------
    InputError
        The spectrum does not say and nothing is assumed.
    """
    if spectrum.header.centroid is not None:
        return not spectrum.header.centroid
    if assume is None:
        raise InputError(
            "cannot tell profile from centroid data: the spectrum has neither "
            "'profile spectrum' (MS:1000128) nor 'centroid spectrum' (MS:1000127); "
            "state what to assume",
            path=path,
            field="spectrum",
            value=spectrum.native_id,
            allowed="assume=" + " | ".join(ASSUME_CHOICES),
        )
    if assume not in ASSUME_CHOICES:
        raise InputError("unknown choice", field="assume", value=assume,
                         allowed=", ".join(ASSUME_CHOICES))
    return assume == "profile"


def _centroided(spectrum: Spectrum, peaks: Centroids) -> Spectrum:
    height = peaks.height
    if height.size:
        top = int(np.argmax(height))
        base_mz, base_int, tic = float(peaks.mz[top]), float(height[top]), float(height.sum())
    else:
        base_mz = base_int = float("nan")
        tic = 0.0
    header = dataclasses.replace(
        spectrum.header, centroid=True, tic=tic, base_peak_mz=base_mz,
        base_peak_intensity=base_int,
    )
    return Spectrum(header, peaks.mz.copy(), height.copy())


def pick_spectra(
    spectra: Sequence[Spectrum],
    params: CentroidParams | None = None,
    *,
    ms_levels: Iterable[int] | None = None,
    assume: str | None = None,
    threads: int | None = None,
    path: str | None = None,
) -> list[Spectrum]:
    """Centroid the profile spectra among ``spectra``; return all spectra in order.

    Spectra outside ``ms_levels`` (None: every level) and centroided spectra are returned
    as they are. Raises :class:`InputError` for a spectrum of unknown peak mode in
    ``ms_levels`` when ``assume`` is None.
    """
    levels = None if ms_levels is None else set(ms_levels)
    todo = [
        k for k, s in enumerate(spectra)
        if (levels is None or s.ms_level in levels) and is_profile(s, assume, path=path)
    ]
    out = list(spectra)
    for k, peaks in zip(todo, centroid_spectra([spectra[k] for k in todo], params,
                                               threads=threads), strict=True):
        out[k] = _centroided(spectra[k], peaks)
    return out


def _batched(items: Iterable[Spectrum], size: int) -> Iterator[list[Spectrum]]:
    batch: list[Spectrum] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _metadata(meta: RunMetadata, source: Path, fmt: str) -> RunMetadata:
    from msuite import __version__

    files = list(meta.source_files)
    files.append({"name": source.name, "location": str(source.resolve().parent), "format": fmt})
    software = [s for s in meta.software if s.get("name") != "msuite"]
    software.append({"name": "msuite", "version": __version__})
    extra = dict(meta.extra)
    extra["processing"] = [*extra.get("processing", []), "peak picking (msuite pick)"]
    return dataclasses.replace(meta, software=software, source_files=files, extra=extra)


def pick_file(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    params: CentroidParams | None = None,
    *,
    ms_levels: Iterable[int] | None = None,
    assume: str | None = None,
    threads: int | None = None,
    compression: str = DEFAULT_COMPRESSION,
    progress: Callable[[int], None] | None = None,
) -> PickReport:
    """Centroid the profile spectra of ``source`` and write every spectrum and chromatogram
    to ``output`` (format by extension). The output appears only when complete.
    """
    src, dst = Path(source), Path(output)
    src_fmt, dst_fmt = detect_format(src), detect_format(dst)
    if src.resolve() == dst.resolve():
        raise InputError("output would overwrite the input", path=str(dst))
    if not dst.parent.is_dir():
        raise InputError("output folder does not exist", path=str(dst.parent))
    levels = None if ms_levels is None else sorted(set(ms_levels))
    reader = open_source(src)
    meta = _metadata(reader.read_metadata(), src, src_fmt)
    report = PickReport(src, dst)
    tick = progress or (lambda _n: None)

    def picked() -> Iterator[Spectrum]:
        for batch in _batched(reader.spectra(), _BATCH):
            done = pick_spectra(batch, params, ms_levels=levels, assume=assume,
                                threads=threads, path=str(src))
            for before, after in zip(batch, done, strict=True):
                report.spectra += 1
                if after is before:
                    report.passed_through += 1
                else:
                    report.centroided += 1
                    report.peaks += len(after)
                tick(1)
                yield after

    def chromatograms() -> Iterator[Chromatogram]:
        for chrom in reader.chromatograms():
            report.chromatograms += 1
            yield chrom

    with atomic_output(dst) as tmp:
        if dst_fmt == RUN:
            with RunFileWriter(tmp, meta, compression=compression, swmr=False) as writer:
                for spectrum in picked():
                    writer.append_spectrum(spectrum)
                for chrom in chromatograms():
                    writer.append_chromatogram(chrom)
                writer.close()
        else:
            n_spec, n_chrom = reader.count_hint()
            if src_fmt != RUN or n_spec is None or n_chrom is None:
                n_spec = sum(1 for _ in reader.spectra())
                n_chrom = sum(1 for _ in reader.chromatograms())
            if dst_fmt == MZML:
                from msuite.io.mzml_writer import write_mzml as write
            else:
                from msuite.io.mzmlb import write_mzmlb as write
            write(tmp, meta, picked(), chromatograms(), n_spectra=n_spec,
                  n_chromatograms=n_chrom)
    return report
