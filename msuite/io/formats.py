"""File formats msuite reads and writes, chosen by extension."""

from __future__ import annotations

import os
from pathlib import Path

from msuite.core.errors import InputError

__all__ = ["RUN", "MZML", "MZMLB", "FORMAT_SUFFIXES", "detect_format"]

RUN = "run"
MZML = "mzml"
MZMLB = "mzmlb"

#: Suffixes of each format (matched case-insensitively); the first one is the canonical one.
FORMAT_SUFFIXES: dict[str, tuple[str, ...]] = {
    RUN: (".h5", ".hdf5"),
    MZML: (".mzML", ".mzML.gz"),
    MZMLB: (".mzMLb",),
}


def detect_format(path: str | os.PathLike[str]) -> str:
    """Return the format of ``path`` from its extension.

    Raises
    ------
    InputError
        The extension is not one msuite knows; the message lists those it does.
    """
    name = Path(path).name.lower()
    for fmt, suffixes in FORMAT_SUFFIXES.items():
        if any(name.endswith(s.lower()) for s in suffixes):
            return fmt
    allowed = ", ".join(s for suffixes in FORMAT_SUFFIXES.values() for s in suffixes)
    return _unknown(path, allowed)


def _unknown(path: str | os.PathLike[str], allowed: str) -> str:
    raise InputError(
        "unknown file type (chosen by extension)",
        path=str(path),
        field="extension",
        value="".join(Path(path).suffixes) or "(none)",
        allowed=allowed,
    )
