"""Parse context for mzML elements: qualified tag names, the vocabulary check, param access.

A :class:`ParseContext` is what element parsing needs besides the element itself: the
file (for error messages), the namespace's tag names, the referenceable param groups
and the function that decodes binary arrays (inline base64 for mzML, HDF5 datasets for
mzMLb).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from lxml import etree

from msuite.core.errors import FileFormatError, UnknownCVTermError
from msuite.io import cv

__all__ = ["Tags", "ParseContext", "ArrayDecoder", "Element", "Params", "unit_seconds"]

Element = etree._Element
Params = dict[str, Element]
#: ``decoder(ctx, binaryDataArray element, its params, <binary> element or None, length)``
ArrayDecoder = Callable[["ParseContext", Element, Params, Element | None, int], np.ndarray]
NAN = math.nan


@dataclass(frozen=True, slots=True)
class Tags:
    """Qualified tag names of the mzML elements, for one namespace."""

    ns: str
    cv: str
    user: str
    ref: str
    group: str
    scan_list: str
    scan: str
    scan_window_list: str
    scan_window: str
    precursor_list: str
    precursor: str
    product: str
    isolation_window: str
    selected_ion_list: str
    selected_ion: str
    activation: str
    bda_list: str
    bda: str
    binary: str
    spectrum: str
    chromatogram: str

    @staticmethod
    @lru_cache(maxsize=8)
    def for_namespace(ns: str) -> Tags:
        """Return the tags in namespace ``ns`` (``""`` for none)."""
        q = f"{{{ns}}}" if ns else ""
        names = {
            "cv": "cvParam",
            "user": "userParam",
            "ref": "referenceableParamGroupRef",
            "group": "referenceableParamGroup",
            "scan_list": "scanList",
            "scan": "scan",
            "scan_window_list": "scanWindowList",
            "scan_window": "scanWindow",
            "precursor_list": "precursorList",
            "precursor": "precursor",
            "product": "product",
            "isolation_window": "isolationWindow",
            "selected_ion_list": "selectedIonList",
            "selected_ion": "selectedIon",
            "activation": "activation",
            "bda_list": "binaryDataArrayList",
            "bda": "binaryDataArray",
            "binary": "binary",
            "spectrum": "spectrum",
            "chromatogram": "chromatogram",
        }
        return Tags(ns=ns, **{k: q + v for k, v in names.items()})


@dataclass(slots=True)
class ParseContext:
    """What element parsing needs besides the element: file, vocabulary, groups, array source."""

    path: str
    tags: Tags
    decode_array: ArrayDecoder
    groups: dict[str, list[Element]] = field(default_factory=dict)
    known: dict[str, str] = field(default_factory=lambda: cv.vocabulary().names)
    dissociation: frozenset[str] = field(
        default_factory=lambda: cv.descendants(cv.DISSOCIATION_METHOD)
    )

    def error(self, message: str, el: Element | None, **fields: Any) -> FileFormatError:
        """Build a :class:`FileFormatError` located at ``el``."""
        line = None if el is None else el.sourceline
        return FileFormatError(message, path=self.path, line=line, **fields)

    def unknown(self, el: Element, accession: str | None) -> None:
        """Raise for an MS/UO accession missing from the vocabulary (other CVs pass)."""
        if accession is None:
            raise self.error("cvParam has no accession", el, field=el.get("name"))
        if el.get("cvRef") in ("MS", "UO") or accession.startswith(("MS:", "UO:")):
            raise UnknownCVTermError(
                "unknown CV term",
                path=self.path,
                line=el.sourceline,
                field=el.get("name"),
                value=accession,
                allowed="PSI-MS and UO terms",
            )

    def collect(self, el: Element, out: Params) -> Params:
        """Add ``el``'s cvParams (and those of referenced groups) to ``out``, checking each."""
        cv_tag, ref_tag, known = self.tags.cv, self.tags.ref, self.known
        for child in el:
            tag = child.tag
            if tag == cv_tag:
                acc = child.get("accession")
                if acc not in known:
                    self.unknown(child, acc)
                out[acc] = child
            elif tag == ref_tag:
                ref = child.get("ref")
                for param in self.groups.get(ref, ()):
                    out[param.get("accession")] = param
        return out

    def walk(self, el: Element, out: Params) -> list[Element]:
        """Collect ``el``'s params into ``out`` (like :meth:`collect`) in the same pass that
        returns its other child elements (userParams left out)."""
        tags = self.tags
        cv_tag, ref_tag, user_tag, known = tags.cv, tags.ref, tags.user, self.known
        rest = []
        for child in el:
            tag = child.tag
            if tag == cv_tag:
                acc = child.get("accession")
                if acc not in known:
                    self.unknown(child, acc)
                out[acc] = child
            elif tag == ref_tag:
                for param in self.groups.get(child.get("ref"), ()):
                    out[param.get("accession")] = param
            elif tag != user_tag:
                rest.append(child)
        return rest

    def check_tree(self, el: Element) -> None:
        """Check every cvParam below ``el`` (for parts whose content msuite does not use)."""
        known = self.known
        for param in el.iter(self.tags.cv):
            acc = param.get("accession")
            if acc not in known:
                self.unknown(param, acc)

    def number(self, params: Params, accession: str, default: float = NAN) -> float:
        """Return the float value of a param, ``default`` when absent."""
        el = params.get(accession)
        if el is None:
            return default
        value = el.get("value")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise self.error(
                "not a number", el, field=el.get("name"), value=value, allowed="a number"
            ) from None

    def seconds(self, params: Params, accession: str) -> float:
        """Return a time param converted to seconds (minutes, seconds, ms, hours)."""
        value = self.number(params, accession)
        if math.isnan(value):
            return value
        return value * unit_seconds(params[accession])

    def load_groups(self, root: Element) -> None:
        """Read every ``referenceableParamGroup`` under ``root``."""
        for group in root.iter(self.tags.group):
            params: Params = {}
            self.collect(group, params)
            self.groups[group.get("id", "")] = list(params.values())


def unit_seconds(el: Element) -> float:
    """Return seconds per unit of a time param (by unit accession, else unit name; default s)."""
    unit = el.get("unitAccession")
    factor = cv.SECONDS_PER_UNIT.get(unit) if unit else None
    if factor is None:
        name = (el.get("unitName") or "").lower()
        factor = 60.0 if name.startswith("min") else 1.0
    return factor
