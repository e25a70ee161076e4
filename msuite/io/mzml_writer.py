"""Write spectra and chromatograms as indexed mzML (gzip-compressed for ``.gz`` paths).

Arrays are written as zlib-compressed 64-bit floats, so every value read back is
bit-identical to the one written. Retention times are written in seconds.
"""

from __future__ import annotations

import gzip
import math
import threading
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from psims.controlled_vocabulary.controlled_vocabulary import OBOCache
from psims.mzml.writer import MzMLWriter
from psims.xml import CVParam

import msuite
from msuite.core.errors import InputError
from msuite.core.model import Chromatogram, ChromatogramKind, Polarity, RunMetadata, Spectrum
from msuite.io import cv
from msuite.io.atomic import atomic_output

__all__ = ["write_mzml", "write_document", "ProgressCallback"]

ProgressCallback = Callable[[int], None]

_PROGRESS_STEP = 64
_SPECTRUM_ENCODING = {"m/z array": np.float64, "intensity array": np.float64}
_CHROMATOGRAM_ENCODING = {"time array": np.float64, "intensity array": np.float64}
_KIND_TERMS: dict[ChromatogramKind, str] = {
    ChromatogramKind.TIC: cv.TIC_CHROMATOGRAM,
    ChromatogramKind.BPC: cv.BASEPEAK_CHROMATOGRAM,
    ChromatogramKind.SRM: cv.SRM_CHROMATOGRAM,
    ChromatogramKind.SIM: cv.SIM_CHROMATOGRAM,
    ChromatogramKind.XIC: cv.SELECTED_ION_CURRENT_CHROMATOGRAM,
    ChromatogramKind.ABSORPTION: cv.ABSORPTION_CHROMATOGRAM,
    ChromatogramKind.PRESSURE: cv.PRESSURE_CHROMATOGRAM,
    ChromatogramKind.UNKNOWN: "MS:1000626",  # chromatogram type
}
_UNITS = {
    cv.UO_SECOND: ("UO", "second"),
    cv.UO_MILLISECOND: ("UO", "millisecond"),
    cv.UO_ELECTRONVOLT: ("UO", "electronvolt"),
    cv.MZ_UNIT: ("PSI-MS", "m/z"),
    "MS:1000131": ("PSI-MS", "number of detector counts"),
}


class _OfflineVocabularies(OBOCache):
    """psims vocabulary resolver: never goes online, parses each bundled OBO once per process."""

    def __init__(self) -> None:
        super().__init__(enabled=False, use_remote=False)
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def load(self, uri: str) -> Any:
        with self._lock:
            if uri not in self._loaded:
                self._loaded[uri] = super().load(uri)
            return self._loaded[uri]


_vocabularies: _OfflineVocabularies | None = None


def new_writer(factory: Callable[..., Any], target: Any, **kwargs: Any) -> Any:
    """Create a psims writer that uses the bundled vocabularies (shared, offline)."""
    global _vocabularies
    if _vocabularies is None:
        _vocabularies = _OfflineVocabularies()
    return factory(target, close=False, vocabulary_resolver=_vocabularies, **kwargs)


def term(accession: str, value: Any = None, unit: str | None = None) -> CVParam:
    """Build a cvParam from an accession (name from the vocabulary), skipping psims' lookup."""
    ref = "PSI-MS" if accession.startswith("MS:") else accession.split(":", 1)[0]
    attrs: dict[str, Any] = {}
    if unit is not None:
        unit_ref, unit_name = _UNITS.get(unit) or ("", cv.term_name(unit) or "")
        unit_ref = unit_ref or ("PSI-MS" if unit.startswith("MS:") else unit.split(":", 1)[0])
        attrs = {"unit_accession": unit, "unit_name": unit_name, "unit_cv_ref": unit_ref}
    return CVParam(
        accession=accession,
        name=cv.term_name(accession) or accession,
        ref=ref,
        value=value,
        **attrs,
    )


def _opt(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _precursor_info(p: Any) -> dict[str, Any]:
    activation: list[Any] = []
    if p.activation and cv.is_known(p.activation):
        activation.append(term(p.activation))
    if not math.isnan(p.collision_energy):
        activation.append(term(cv.COLLISION_ENERGY, float(p.collision_energy), cv.UO_ELECTRONVOLT))
    window = {
        "target": _opt(p.isolation_target),
        "lower": _opt(p.isolation_lower),
        "upper": _opt(p.isolation_upper),
    }
    return {
        "mz": _opt(p.mz),
        "intensity": _opt(p.intensity),
        "charge": int(p.charge) if p.charge else None,
        "spectrum_reference": p.spectrum_ref or None,
        "activation": activation,
        "isolation_window_args": window if any(v is not None for v in window.values()) else None,
    }


def _write_spectrum(writer: MzMLWriter, spectrum: Spectrum, compression: str) -> None:
    h = spectrum.header
    params: list[Any] = [
        term(cv.MS_LEVEL, int(h.ms_level)),
        term(cv.MS1_SPECTRUM if h.ms_level == 1 else cv.MSN_SPECTRUM),
    ]
    for accession, value in (
        (cv.TOTAL_ION_CURRENT, h.tic),
        (cv.BASE_PEAK_MZ, h.base_peak_mz),
        (cv.BASE_PEAK_INTENSITY, h.base_peak_intensity),
    ):
        if not math.isnan(value):
            unit = cv.MZ_UNIT if accession == cv.BASE_PEAK_MZ else None
            params.append(term(accession, float(value), unit))
    scan_params: list[Any] = []
    if h.filter_string:
        scan_params.append(term(cv.FILTER_STRING, h.filter_string))
    if not math.isnan(h.injection_time):
        scan_params.append(term(cv.ION_INJECTION_TIME, float(h.injection_time), cv.UO_MILLISECOND))
    lower, upper = h.scan_window
    windows = [] if math.isnan(lower) or math.isnan(upper) else [(float(lower), float(upper))]
    built = writer.spectrum(
        spectrum.mz,
        spectrum.intensity,
        id=h.native_id or f"index={h.index}",
        polarity=int(h.polarity),
        centroided=bool(h.centroid),
        precursor_information=[_precursor_info(p) for p in h.precursors] or None,
        scan_start_time=term(cv.SCAN_START_TIME, float(h.rt), cv.UO_SECOND),
        params=params,
        compression=compression,
        encoding=_SPECTRUM_ENCODING,
        scan_params=scan_params,
        scan_window_list=windows,
    )
    if h.centroid is None:  # psims always states a peak mode; the source did not
        built.params = [p for p in built.params if p != "profile spectrum"]
    built.write(writer.writer)


def _write_chromatogram(writer: MzMLWriter, chrom: Chromatogram, compression: str) -> None:
    params: list[Any] = []
    if chrom.polarity == Polarity.POSITIVE:
        params.append(term(cv.POSITIVE_SCAN))
    elif chrom.polarity == Polarity.NEGATIVE:
        params.append(term(cv.NEGATIVE_SCAN))
    precursor = None
    if not math.isnan(chrom.precursor_mz) or not math.isnan(chrom.collision_energy):
        activation = []
        if not math.isnan(chrom.collision_energy):
            activation.append(
                term(cv.COLLISION_ENERGY, float(chrom.collision_energy), cv.UO_ELECTRONVOLT)
            )
        precursor = {
            "activation": activation,
            "isolation_window_args": {"target": _opt(chrom.precursor_mz)},
        }
    built = writer.chromatogram(
        chrom.time,
        chrom.intensity,
        id=chrom.native_id,
        chromatogram_type=term(_KIND_TERMS[ChromatogramKind(chrom.kind)]),
        precursor_information=precursor,
        params=params,
        compression=compression,
        encoding=_CHROMATOGRAM_ENCODING,
        time_unit="second",
    )
    if not math.isnan(chrom.product_mz):
        built.product = writer.Product(isolation_window={"target": float(chrom.product_mz)})
    built.write(writer.writer)


def _instrument(writer: MzMLWriter, instrument: dict[str, Any]) -> Any:
    params: list[Any] = []
    accession = instrument.get("accession") or ""
    if accession and cv.is_known(accession):
        params.append(term(accession))
    else:
        params.append(term(cv.INSTRUMENT_MODEL, instrument.get("model") or None))
    if instrument.get("serial"):
        params.append(term(cv.INSTRUMENT_SERIAL, str(instrument["serial"])))
    kinds = {"source": writer.Source, "analyzer": writer.Analyzer, "detector": writer.Detector}
    components = []
    for i, comp in enumerate(instrument.get("components") or [], start=1):
        make = kinds.get(comp.get("type"))
        terms = [
            term(t["accession"], t.get("value") or None)
            for t in comp.get("terms", [])
            if cv.is_known(t.get("accession", ""))
        ]
        if make is not None:
            components.append(make(int(comp.get("order") or i), terms))
    config = writer.InstrumentConfiguration("IC1", components, params)
    if not components:
        config.component_list = None  # optional in mzML; psims would write an empty list
    return config


def _source_files(metadata: RunMetadata) -> list[dict[str, Any]]:
    out = []
    for i, sf in enumerate(metadata.source_files, start=1):
        params: list[Any] = []
        for key in ("native_id_format", "format_accession"):
            if sf.get(key) and cv.is_known(sf[key]):
                params.append(term(sf[key]))
        if sf.get("sha1"):
            params.append(term(cv.SHA1, sf["sha1"]))
        out.append(
            {
                "id": sf.get("id") or f"SF{i}",
                "name": sf.get("name") or f"source{i}",
                "location": sf.get("location") or "file:///",
                "params": params,
            }
        )
    return out


def _software(metadata: RunMetadata) -> list[dict[str, Any]]:
    out = [
        {
            "id": "msuite",
            "version": msuite.__version__,
            "params": [
                CVParam(
                    accession=cv.CUSTOM_SOFTWARE,
                    name="custom unreleased software tool",
                    ref="PSI-MS",
                    value="msuite",
                )
            ],
        }
    ]
    for i, sw in enumerate(metadata.software, start=1):
        sw_id = sw.get("id") or f"software{i}"
        if sw_id == "msuite":
            continue
        accession = sw.get("accession") or ""
        param = (
            term(accession)
            if cv.is_known(accession)
            else term(cv.CUSTOM_SOFTWARE, sw.get("name") or sw_id)
        )
        out.append({"id": sw_id, "version": str(sw.get("version") or "unknown"), "params": [param]})
    return out


def write_document(
    writer: MzMLWriter,
    metadata: RunMetadata,
    spectra: Iterable[Spectrum],
    chromatograms: Iterable[Chromatogram],
    *,
    n_spectra: int,
    n_chromatograms: int,
    progress: ProgressCallback | None = None,
    compression: str = "zlib",
) -> None:
    """Write a whole mzML document through a psims writer (mzML or mzMLb).

    ``compression`` is the psims array compression: ``"zlib"`` for mzML, ``"none"``
    for mzMLb (whose HDF5 datasets are compressed instead).

    Raises
    ------
    InputError
        When the iterables do not hold ``n_spectra`` spectra and ``n_chromatograms``
        chromatograms.
    """
    pending = 0

    def tick(force: bool = False) -> None:
        nonlocal pending
        if progress is not None and pending and (force or pending >= _PROGRESS_STEP):
            progress(pending)
            pending = 0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # psims warns about optional content it would like
        with writer:
            writer.controlled_vocabularies()
            contents = [term(cv.MS1_SPECTRUM)] if n_spectra else []
            writer.file_description(file_contents=contents, source_files=_source_files(metadata))
            writer.software_list(_software(metadata))
            writer.instrument_configuration_list([_instrument(writer, metadata.instrument)])
            writer.data_processing_list(
                [
                    {
                        "id": "msuite_processing",
                        "processing_methods": [
                            {
                                "order": 1,
                                "software_reference": "msuite",
                                "params": [term(cv.CONVERSION_TO_MZML)],
                            }
                        ],
                    }
                ]
            )
            with writer.run(id=metadata.run_id or "run", start_time=metadata.start_time or None):
                lists = (
                    ("n_spectra", writer.spectrum_list, n_spectra, spectra, _write_spectrum),
                    (
                        "n_chromatograms",
                        writer.chromatogram_list,
                        n_chromatograms,
                        chromatograms,
                        _write_chromatogram,
                    ),
                )
                for name, open_list, declared, items, write_item in lists:
                    written = 0
                    with open_list(count=declared):
                        for item in items:
                            write_item(writer, item, compression)
                            written += 1
                            pending += 1
                            tick()
                    _check_count(name, written, declared)
    tick(force=True)


def _check_count(name: str, written: int, declared: int) -> None:
    if written != declared:
        raise InputError(
            f"{written} items given, the count declared was {declared}",
            field=name,
            value=written,
            allowed=declared,
        )


def write_mzml(
    path: str | Path,
    metadata: RunMetadata,
    spectra: Iterable[Spectrum],
    chromatograms: Iterable[Chromatogram],
    *,
    n_spectra: int,
    n_chromatograms: int,
    progress: ProgressCallback | None = None,
) -> None:
    """Write an indexed mzML file (gzip-compressed when ``path`` ends in ``.gz``).

    The file appears only when complete: it is written under a temporary name and
    renamed into place, so a failure leaves any previous file untouched.

    Parameters
    ----------
    path
        Output file (``.mzML`` or ``.mzML.gz``).
    metadata
        Run facts: run id, instrument, software, source files, start time.
    spectra, chromatograms
        What to write, in order (may be generators).
    n_spectra, n_chromatograms
        How many items the iterables hold (written as the list counts and checked).
    progress
        Called with the number of items written since its previous call.

    Raises
    ------
    InputError
        When the counts do not match the iterables.
    """
    with atomic_output(path) as tmp:
        compressed = tmp.name.lower().endswith(".gz")
        with gzip.open(tmp, "wb", compresslevel=6) if compressed else open(tmp, "wb") as raw:
            writer = new_writer(MzMLWriter, raw)
            write_document(
                writer,
                metadata,
                spectra,
                chromatograms,
                n_spectra=n_spectra,
                n_chromatograms=n_chromatograms,
                progress=progress,
            )
