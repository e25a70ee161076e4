"""The data model shared by every layer: spectra, chromatograms and their headers.

Conventions
-----------
- Retention times are in **seconds** internally (mzML files in minutes are converted on
  read; tables shown to users may use minutes and say so).
- m/z and intensity arrays are contiguous ``float64`` numpy arrays.
- ``Spectrum`` and ``Chromatogram`` are plain data holders: no I/O happens in them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

__all__ = [
    "Chromatogram",
    "ChromatogramKind",
    "Polarity",
    "Precursor",
    "RunMetadata",
    "ScanHeader",
    "Spectrum",
]


class Polarity(IntEnum):
    """Ion polarity of a scan or chromatogram."""

    NEGATIVE = -1
    UNKNOWN = 0
    POSITIVE = 1


class ChromatogramKind(IntEnum):
    """What a chromatogram traces. Values are stored in run files: never renumber."""

    UNKNOWN = 0
    TIC = 1  # MS:1000235 total ion current chromatogram
    BPC = 2  # MS:1000628 basepeak chromatogram
    SRM = 3  # MS:1001473 selected reaction monitoring chromatogram
    SIM = 4  # MS:1001472 selected ion monitoring chromatogram
    XIC = 5  # MS:1000627 selected ion current chromatogram
    ABSORPTION = 6  # MS:1000812 absorption chromatogram
    PRESSURE = 7  # MS:1003019 pressure chromatogram


def _as_f64(values: Any) -> np.ndarray:
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D array, got shape {arr.shape}")
    return arr


@dataclass(slots=True)
class Precursor:
    """A precursor ion of an MSn scan (one entry of mzML's ``precursorList``).

    Attributes
    ----------
    mz
        Selected ion m/z (falls back to the isolation window target when not given).
    charge
        Charge state; 0 when unknown.
    intensity
        Selected ion intensity; NaN when unknown.
    isolation_target, isolation_lower, isolation_upper
        Isolation window target m/z and its lower/upper offsets (m/z units, as in mzML).
    collision_energy
        Collision energy (eV, or the vendor's normalised units); NaN when unknown.
    activation
        PSI-MS accession of the dissociation method (e.g. ``MS:1000133`` for CID), "" when unknown.
    spectrum_ref
        Native id of the scan the precursor was selected in, "" when unknown.
    """

    mz: float
    charge: int = 0
    intensity: float = math.nan
    isolation_target: float = math.nan
    isolation_lower: float = math.nan
    isolation_upper: float = math.nan
    collision_energy: float = math.nan
    activation: str = ""
    spectrum_ref: str = ""


@dataclass(slots=True)
class ScanHeader:
    """Everything about a scan except its arrays.

    Attributes
    ----------
    index
        0-based position of the scan in its run.
    native_id
        The instrument's identifier (mzML ``id``), e.g. ``scan=42``.
    ms_level
        1 for survey scans, 2 for MS/MS, ...
    rt
        Scan start time in seconds.
    centroid
        True for centroided data, False for profile, None when the source does not say.
    polarity
        Ion polarity.
    precursors
        Precursor ions (empty for MS1).
    scan_window
        ``(lower, upper)`` m/z limits of the scan, NaN when unknown.
    tic, base_peak_mz, base_peak_intensity
        Summary values; computed from the arrays when the source does not give them.
    injection_time
        Ion injection (fill) time in milliseconds, NaN when unknown.
    sequence
        Instrument sequence number (monotonic within a run), -1 when unknown.
    filter_string
        Vendor filter/scan description, "" when unknown.
    """

    index: int
    native_id: str
    ms_level: int
    rt: float
    centroid: bool | None = None
    polarity: Polarity = Polarity.UNKNOWN
    precursors: tuple[Precursor, ...] = ()
    scan_window: tuple[float, float] = (math.nan, math.nan)
    tic: float = math.nan
    base_peak_mz: float = math.nan
    base_peak_intensity: float = math.nan
    injection_time: float = math.nan
    sequence: int = -1
    filter_string: str = ""


@dataclass(slots=True)
class Spectrum:
    """A mass spectrum: a header plus m/z and intensity arrays of equal length."""

    header: ScanHeader
    mz: np.ndarray
    intensity: np.ndarray

    def __post_init__(self) -> None:
        self.mz = _as_f64(self.mz)
        self.intensity = _as_f64(self.intensity)
        if self.mz.shape != self.intensity.shape:
            raise ValueError(
                f"spectrum {self.header.native_id!r}: m/z ({self.mz.size}) and intensity "
                f"({self.intensity.size}) arrays differ in length"
            )

    def __len__(self) -> int:
        return int(self.mz.size)

    @property
    def ms_level(self) -> int:
        """MS level of the scan."""
        return self.header.ms_level

    @property
    def rt(self) -> float:
        """Scan start time in seconds."""
        return self.header.rt

    @property
    def native_id(self) -> str:
        """The scan's native id."""
        return self.header.native_id


@dataclass(slots=True)
class Chromatogram:
    """A chromatogram: intensity over time (seconds) with what it traces.

    Attributes
    ----------
    native_id
        Identifier (mzML ``id``), e.g. ``TIC`` or an SRM transition name.
    kind
        What the trace is (TIC, SRM, ...).
    time, intensity
        Arrays of equal length; time in seconds.
    precursor_mz, product_mz
        Q1/Q3 m/z for SRM traces, NaN when not applicable.
    polarity
        Ion polarity.
    collision_energy
        Collision energy used for an SRM trace, NaN when unknown.
    """

    native_id: str
    kind: ChromatogramKind
    time: np.ndarray
    intensity: np.ndarray
    precursor_mz: float = math.nan
    product_mz: float = math.nan
    polarity: Polarity = Polarity.UNKNOWN
    collision_energy: float = math.nan

    def __post_init__(self) -> None:
        self.time = _as_f64(self.time)
        self.intensity = _as_f64(self.intensity)
        if self.time.shape != self.intensity.shape:
            raise ValueError(
                f"chromatogram {self.native_id!r}: time ({self.time.size}) and intensity "
                f"({self.intensity.size}) arrays differ in length"
            )

    def __len__(self) -> int:
        return int(self.time.size)


@dataclass(slots=True)
class RunMetadata:
    """Run-level facts carried from acquisition or import to every output.

    Every value is JSON-serialisable so it can be stored verbatim in a run file.

    Attributes
    ----------
    run_id
        Identifier of the run (mzML ``run/@id``).
    instrument
        ``{"model": name, "accession": "MS:...", "serial": ..., "components": [...]}``.
    method
        The acquisition method (or its name and digest).
    sample
        Sample facts (name, id, plate well, ...).
    software
        Software that produced or processed the data: list of ``{"name", "version", "accession"}``.
    source_files
        Files the data came from: list of ``{"name", "location", "format", "sha1"}``.
    start_time
        ISO 8601 UTC start of acquisition, "" when unknown.
    extra
        Anything else worth keeping.
    """

    run_id: str = "run"
    instrument: dict[str, Any] = field(default_factory=dict)
    method: dict[str, Any] = field(default_factory=dict)
    sample: dict[str, Any] = field(default_factory=dict)
    software: list[dict[str, Any]] = field(default_factory=list)
    source_files: list[dict[str, Any]] = field(default_factory=list)
    start_time: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary."""
        return {
            "run_id": self.run_id,
            "instrument": self.instrument,
            "method": self.method,
            "sample": self.sample,
            "software": self.software,
            "source_files": self.source_files,
            "start_time": self.start_time,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunMetadata:
        """Build from :meth:`to_dict` output, ignoring unknown keys."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
