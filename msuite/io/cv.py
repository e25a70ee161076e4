"""The PSI-MS and Unit Ontology vocabularies, and the accessions mzML input and output use.

The vocabulary is read once, on first use, from the OBO files that :mod:`psims` ships
(``psi-ms.obo.gz`` and ``unit.obo.gz``). Only what msuite needs is kept: each term's
name and its ``is_a`` parents, enough to tell a known accession from an unknown one and
to find every child term of, say, "dissociation method".
"""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

__all__ = [
    "Vocabulary",
    "vocabulary",
    "is_known",
    "term_name",
    "descendants",
    "OBO_FILES",
]

#: The vendored OBO files, relative to the psims package folder.
OBO_FILES: tuple[str, ...] = (
    "controlled_vocabulary/vendor/psi-ms.obo.gz",
    "controlled_vocabulary/vendor/unit.obo.gz",
)

# --- spectrum and scan terms -------------------------------------------------------------
MS_LEVEL = "MS:1000511"
MS1_SPECTRUM = "MS:1000579"
MSN_SPECTRUM = "MS:1000580"
CENTROID = "MS:1000127"
PROFILE = "MS:1000128"
POSITIVE_SCAN = "MS:1000130"
NEGATIVE_SCAN = "MS:1000129"
SCAN_START_TIME = "MS:1000016"
TOTAL_ION_CURRENT = "MS:1000285"
BASE_PEAK_MZ = "MS:1000504"
BASE_PEAK_INTENSITY = "MS:1000505"
ION_INJECTION_TIME = "MS:1000927"
FILTER_STRING = "MS:1000512"
SCAN_WINDOW_LOWER = "MS:1000501"
SCAN_WINDOW_UPPER = "MS:1000500"
NO_COMBINATION = "MS:1000795"

# --- precursor terms ---------------------------------------------------------------------
SELECTED_ION_MZ = "MS:1000744"
CHARGE_STATE = "MS:1000041"
PEAK_INTENSITY = "MS:1000042"
ISOLATION_TARGET = "MS:1000827"
ISOLATION_LOWER = "MS:1000828"
ISOLATION_UPPER = "MS:1000829"
COLLISION_ENERGY = "MS:1000045"
DISSOCIATION_METHOD = "MS:1000044"
CID = "MS:1000133"
HCD = "MS:1000422"
ETD = "MS:1000598"
ECD = "MS:1000250"

# --- chromatogram kinds ------------------------------------------------------------------
TIC_CHROMATOGRAM = "MS:1000235"
BASEPEAK_CHROMATOGRAM = "MS:1000628"
SRM_CHROMATOGRAM = "MS:1001473"
SIM_CHROMATOGRAM = "MS:1001472"
SELECTED_ION_CURRENT_CHROMATOGRAM = "MS:1000627"
ABSORPTION_CHROMATOGRAM = "MS:1000812"
PRESSURE_CHROMATOGRAM = "MS:1003019"

# --- binary data arrays ------------------------------------------------------------------
MZ_ARRAY = "MS:1000514"
INTENSITY_ARRAY = "MS:1000515"
TIME_ARRAY = "MS:1000595"
NON_STANDARD_ARRAY = "MS:1000786"
FLOAT32 = "MS:1000521"
FLOAT64 = "MS:1000523"
INT32 = "MS:1000519"
INT64 = "MS:1000522"
NO_COMPRESSION = "MS:1000576"
ZLIB = "MS:1000574"
NUMPRESS_LINEAR = "MS:1002312"
NUMPRESS_PIC = "MS:1002313"
NUMPRESS_SLOF = "MS:1002314"
NUMPRESS_LINEAR_ZLIB = "MS:1002746"
NUMPRESS_PIC_ZLIB = "MS:1002747"
NUMPRESS_SLOF_ZLIB = "MS:1002748"
EXTERNAL_DATASET = "MS:1002841"
EXTERNAL_OFFSET = "MS:1002842"
EXTERNAL_LENGTH = "MS:1002843"

# --- run header --------------------------------------------------------------------------
INSTRUMENT_MODEL = "MS:1000031"
INSTRUMENT_SERIAL = "MS:1000529"
SHA1 = "MS:1000569"
CONVERSION_TO_MZML = "MS:1000544"
CUSTOM_SOFTWARE = "MS:1000799"

# --- units -------------------------------------------------------------------------------
UO_SECOND = "UO:0000010"
UO_MINUTE = "UO:0000031"
UO_MILLISECOND = "UO:0000028"
UO_HOUR = "UO:0000032"
UO_ELECTRONVOLT = "UO:0000266"
MZ_UNIT = "MS:1000040"

#: Seconds per unit of time, by unit accession.
SECONDS_PER_UNIT: dict[str, float] = {
    UO_SECOND: 1.0,
    UO_MINUTE: 60.0,
    UO_MILLISECOND: 1e-3,
    UO_HOUR: 3600.0,
}


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Terms of the PSI-MS and UO vocabularies.

    Attributes
    ----------
    names
        Term name by accession (every known accession is a key).
    parents
        ``is_a`` parents by accession.
    """

    names: dict[str, str]
    parents: dict[str, tuple[str, ...]]

    def __contains__(self, accession: object) -> bool:
        return accession in self.names

    def descendants(self, accession: str) -> frozenset[str]:
        """Return ``accession`` and every term below it through ``is_a``."""
        children: dict[str, list[str]] = {}
        for child, parents in self.parents.items():
            for parent in parents:
                children.setdefault(parent, []).append(child)
        out = {accession}
        stack = [accession]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in out:
                    out.add(child)
                    stack.append(child)
        return frozenset(out)


def _scan_obo(
    lines: list[bytes], names: dict[str, str], parents: dict[str, tuple[str, ...]]
) -> None:
    current: str | None = None
    current_parents: list[str] = []
    for raw in lines:
        if raw.startswith(b"["):
            if current is not None and current_parents:
                parents[current] = tuple(current_parents)
            current, current_parents = None, []
            in_term = raw.startswith(b"[Term]")
            if not in_term:
                current = None
            continue
        if raw.startswith(b"id: "):
            accession = raw[4:].strip().decode("ascii", "replace")
            if ":" in accession:
                current = accession
                names.setdefault(current, "")
        elif current is None:
            continue
        elif raw.startswith(b"name: "):
            names[current] = raw[6:].strip().decode("utf-8", "replace")
        elif raw.startswith(b"is_a: "):
            current_parents.append(raw[6:].split(b"!")[0].strip().decode("ascii", "replace"))
    if current is not None and current_parents:
        parents[current] = tuple(current_parents)


def load_vocabulary(paths: list[Path] | None = None) -> Vocabulary:
    """Read a vocabulary from OBO files (gzip-compressed or plain).

    Parameters
    ----------
    paths
        OBO files to read; the vendored psims files when omitted.

    Returns
    -------
    Vocabulary
    """
    if paths is None:
        # locate psims without importing it (its import is slow)
        spec = find_spec("psims")
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError("psims is required for the PSI-MS vocabulary")
        root = Path(spec.origin).parent
        paths = [root / name for name in OBO_FILES]
    names: dict[str, str] = {}
    parents: dict[str, tuple[str, ...]] = {}
    for path in paths:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        _scan_obo(data.splitlines(), names, parents)
    return Vocabulary(names=names, parents=parents)


_lock = threading.Lock()
_cached: Vocabulary | None = None


def vocabulary() -> Vocabulary:
    """Return the PSI-MS + UO vocabulary, loading it on first use (thread-safe)."""
    global _cached
    if _cached is None:
        with _lock:
            if _cached is None:
                _cached = load_vocabulary()
    return _cached


def is_known(accession: str) -> bool:
    """Return True when ``accession`` is a PSI-MS or UO term."""
    return accession in vocabulary().names


def term_name(accession: str) -> str | None:
    """Return the name of a term, or None when the accession is unknown."""
    return vocabulary().names.get(accession)


@lru_cache(maxsize=64)
def descendants(accession: str) -> frozenset[str]:
    """Return ``accession`` and all its ``is_a`` descendants (e.g. every dissociation method)."""
    return vocabulary().descendants(accession)
