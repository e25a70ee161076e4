"""Core data model, units and errors; every other layer builds on this package."""

from msuite.core.errors import (
    ChecksumError,
    FileFormatError,
    InputError,
    MSuiteError,
    RunFileStateError,
    SchemaVersionError,
    UnknownCVTermError,
)
from msuite.core.model import (
    Chromatogram,
    ChromatogramKind,
    Polarity,
    Precursor,
    RunMetadata,
    ScanHeader,
    Spectrum,
)

__all__ = [
    "ChecksumError",
    "Chromatogram",
    "ChromatogramKind",
    "FileFormatError",
    "InputError",
    "MSuiteError",
    "Polarity",
    "Precursor",
    "RunFileStateError",
    "RunMetadata",
    "ScanHeader",
    "SchemaVersionError",
    "Spectrum",
    "UnknownCVTermError",
]
