"""Modifications for mzTab: ProForma modifications and heavy isotope labels as mzTab objects.

mzTab 1.0 (section 5.8) reports a modification as ``{position}-{identifier}``: positions are
1-based residues, ``0`` the N-terminus, ``length + 1`` the C-terminus, ``3|7`` an ambiguous
site (an unknown one is left out, see :attr:`SiteMod.text`); identifiers are Unimod
accessions (``UNIMOD:259``) or, when Unimod has no entry, a mass shift (``CHEMMOD:+8.0142``).
Every modification reported in the rows is declared in the metadata as ``variable_mod[n]``
with its ``-site`` and ``-position``.

Heavy labels are not part of the modified sequence (light and heavy precursors share it); they
are recovered from the precursor m/z of the heavy standard: the neutral mass shift
``(heavy m/z - light m/z) x charge`` is explained, in this order, by

1. the SIL labels msuite builds standards with (:data:`msuite.methods.chemistry.HEAVY_LABELS`:
   K ``Label:13C(6)15N(2)`` UNIMOD:259 +8.014199 Da, R ``Label:13C(6)15N(4)`` UNIMOD:267
   +10.008269 Da) on every K and R, or on the C-terminal K/R only (AQUA-type peptides);
2. any Unimod "Isotopic label" modification (the Unimod database shipped with psims, loaded on
   first use) on every residue of one kind, else on one site (``3|9-UNIMOD:188`` when the
   label fits several residues of the peptide);
3. otherwise one ``CHEMMOD:+{shift}`` at an unknown position, so that no label is ever
   dropped.
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from msuite.methods.chemistry import HEAVY_LABELS, Modification, parse_peptide

__all__ = [
    "ModSpec",
    "SiteMod",
    "UnimodLabel",
    "format_modifications",
    "heavy_label_modifications",
    "label_modifications",
    "modification_metadata",
    "precursor_mz_by_label",
    "sequence_modifications",
    "unimod_isotopic_labels",
]

#: largest difference (Da) between a measured label shift and the label's Unimod mass
LABEL_TOLERANCE = 0.003


@dataclass(frozen=True, slots=True, order=True)
class ModSpec:
    """A modification kind as the metadata declares it (one ``variable_mod[n]``).

    Attributes
    ----------
    accession
        ``UNIMOD:259`` or ``CHEMMOD:+8.0142``.
    name
        Unimod name (``Label:13C(6)15N(2)``), ``""`` for a CHEMMOD.
    site
        Residue (``K``) or terminus (``N-term``, ``C-term``); ``""`` when unknown.
    """

    accession: str
    name: str
    site: str

    @property
    def param(self) -> str:
        """The mzTab parameter, ``[UNIMOD, UNIMOD:259, Label:13C(6)15N(2), ]``."""
        cv = self.accession.split(":", 1)[0]
        return f"[{cv}, {self.accession}, {self.name}, ]"

    @property
    def position(self) -> str:
        """Term specificity in Unimod's words (``Anywhere``, ``Any N-term``, ``Any C-term``)."""
        return {"N-term": "Any N-term", "C-term": "Any C-term"}.get(self.site, "Anywhere")


#: PSI-MS term for a label whose mass shift is unknown (no m/z of the light or heavy form)
UNKNOWN_MODIFICATION = ModSpec("MS:1001460", "unknown modification", "")


@dataclass(frozen=True, slots=True)
class SiteMod:
    """One modification of one peptide: its possible positions (empty = unknown) and kind."""

    positions: tuple[int, ...]
    spec: ModSpec

    @property
    def text(self) -> str:
        """The mzTab modification object: ``8-UNIMOD:259``, ``3|9-UNIMOD:188``, and without a
        position ``CHEMMOD:+3.1234``; a PSI-MS term is written as its parameter
        (``8-[MS, MS:1001460, unknown modification, ]``).

        mzTab 1.0 asks for ``null`` as an unknown position, but OpenMS' reader refuses
        ``null-...`` while it and jmzTab read the bare identifier (the form the specification
        itself uses for a neutral loss without position), so the position is left out.
        """
        what = self.spec.param if self.spec.accession.startswith("MS:") else self.spec.accession
        if not self.positions:
            return what
        return "|".join(str(p) for p in self.positions) + f"-{what}"


@dataclass(frozen=True, slots=True)
class UnimodLabel:
    """A Unimod isotopic label: accession number, name, monoisotopic shift, residue."""

    unimod: int
    name: str
    delta: float
    residue: str


def _chemmod(delta: float) -> str:
    return f"CHEMMOD:{delta:+.4f}"


def _unimod_spec(mod: Modification, site: str) -> ModSpec:
    return ModSpec(f"UNIMOD:{mod.unimod}", mod.name, site)


# ------------------------------------------------------------------------ Unimod database
@functools.cache
def _unimod_database() -> object:
    """The Unimod database vendored with psims (``unimod_tables.xml.gz``), in memory (~3 s)."""
    from psims.controlled_vocabulary.unimod import Unimod

    source = importlib.resources.files("psims.controlled_vocabulary.vendor")
    with (source / "unimod_tables.xml.gz").open("rb") as raw, gzip.open(raw) as xml:
        return Unimod(unimod_xml_uri=xml)


@functools.cache
def unimod_isotopic_labels() -> tuple[UnimodLabel, ...]:
    """Every Unimod modification classified "Isotopic label" on an amino acid residue."""
    from psims.controlled_vocabulary.unimod import (
        Classification,
        Specificity,
    )
    from psims.controlled_vocabulary.unimod import (
        Modification as UnimodModification,
    )

    db = _unimod_database()
    rows = (
        db.session.query(UnimodModification, Specificity.amino_acid)  # type: ignore[attr-defined]
        .join(Specificity, Specificity.modification_id == UnimodModification.id)
        .join(Classification, Specificity.classification_id == Classification.id)
        .filter(Classification.classification == "Isotopic label")
        .all()
    )
    out = set()
    for m, residue in rows:
        if len(residue or "") == 1 and m.monoisotopic_mass:
            name = m.ex_code_name or m.code_name
            out.add(UnimodLabel(m.id, name, float(m.monoisotopic_mass), residue))
    return tuple(sorted(out, key=lambda x: (x.unimod, x.residue)))


def _unimod_by_name(name: str) -> tuple[int, str, float] | None:
    """(accession number, Unimod name, mass shift) of a modification name, None if unknown."""
    try:
        m = _unimod_database().get(name)  # type: ignore[attr-defined]
    except KeyError:
        return None
    return int(m.id), str(m.ex_code_name or m.code_name), float(m.monoisotopic_mass or 0.0)


# --------------------------------------------------------------------- sequence mods
def sequence_modifications(sequence: str) -> tuple[str, list[SiteMod]]:
    """Residues and modifications of a modified sequence (ProForma, as msuite writes it).

    Sequences msuite's parser does not accept are split at their brackets: mass shifts become
    ``CHEMMOD``, names and accessions are looked up in Unimod, anything else is PSI-MS
    "unknown modification" (MS:1001460) rather than left out.
    """
    if "[" not in sequence and "(" not in sequence and sequence.isupper():
        return sequence, []
    try:
        parsed = parse_peptide(sequence)
    except Exception:
        return _proforma_modifications(sequence)
    out = [SiteMod((0,), _unimod_spec(parsed.nterm, "N-term"))] if parsed.nterm else []
    for i, (aa, mod) in enumerate(zip(parsed.residues, parsed.mods, strict=True), 1):
        if mod is not None:
            out.append(SiteMod((i,), _unimod_spec(mod, aa)))
    return parsed.residues, out


_TAGS = r"(?:\[[^\]]*\])+"
_NTERM = re.compile(rf"^({_TAGS})-")
_CTERM = re.compile(rf"-({_TAGS})$")
_PARENS = r"\(((?:[^()]|\([^()]*\))*)\)"  # OpenMS style, one level of nesting: (Label:13C(6))
_RESIDUE = re.compile(rf"([A-Z])((?:\[[^\]]*\]|{_PARENS})*)")
_TAG = re.compile(rf"\[([^\]]*)\]|{_PARENS}")


def _tag_spec(tag: str, site: str) -> ModSpec:
    """One bracketed modification: a mass shift, a Unimod accession or name, else unknown."""
    text = tag.strip()
    if text[:1] in "+-":
        try:
            return ModSpec(_chemmod(float(text)), "", site)
        except ValueError:
            return UNKNOWN_MODIFICATION
    if text.upper().startswith(("U:", "UNIMOD:")):
        text = "UNIMOD:" + text.split(":", 1)[1]
    found = _unimod_by_name(text)
    if found is None:
        return UNKNOWN_MODIFICATION
    return ModSpec(f"UNIMOD:{found[0]}", found[1], site)


def _proforma_modifications(sequence: str) -> tuple[str, list[SiteMod]]:
    """Residues and modifications of a ProForma-like sequence msuite's parser refused.

    :func:`pyteomics.proforma.parse` is not used here: it resolves every name it does not
    know through all its databases (loading the 17 MB GNO ontology, ~30 s) just to read the
    sequence; the bracket syntax is simple enough to split directly.
    """
    text = sequence.strip()
    placed: list[tuple[int, str, str]] = []
    if m := _NTERM.match(text):
        placed += [(0, "N-term", a or b) for a, b in _TAG.findall(m.group(1))]
        text = text[m.end() :]
    cterm = _CTERM.search(text)
    if cterm:
        text = text[: cterm.start()]
    residues = ""
    for m in _RESIDUE.finditer(text):
        residues += m.group(1)
        placed += [(len(residues), m.group(1), a or b) for a, b in _TAG.findall(m.group(2))]
    if cterm:
        placed += [(len(residues) + 1, "C-term", a or b) for a, b in _TAG.findall(cterm.group(1))]
    return residues, [SiteMod((pos,), _tag_spec(tag, site)) for pos, site, tag in placed]


# ------------------------------------------------------------------------ heavy labels
def _close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance


def _sil_labels(residues: str, shift: float, tolerance: float) -> list[SiteMod] | None:
    """The msuite SIL labels (K, R) on every K/R, else on the C-terminal K/R only."""
    sites = [(i, aa) for i, aa in enumerate(residues, 1) if aa in HEAVY_LABELS]
    if sites and _close(sum(HEAVY_LABELS[aa].delta for _, aa in sites), shift, tolerance):
        return [SiteMod((i,), _unimod_spec(HEAVY_LABELS[aa], aa)) for i, aa in sites]
    last = residues[-1:] if residues else ""
    if last in HEAVY_LABELS and _close(HEAVY_LABELS[last].delta, shift, tolerance):
        return [SiteMod((len(residues),), _unimod_spec(HEAVY_LABELS[last], last))]
    return None


def _unimod_labels(residues: str, shift: float, tolerance: float) -> list[SiteMod] | None:
    """One Unimod isotopic label on every residue of one kind (two or more of them), else on
    one site; the sites of the closest-matching label are reported as ambiguous (``3|9``)."""
    labels = [lab for lab in unimod_isotopic_labels() if lab.residue in residues]
    for lab in labels:
        positions = tuple(i for i, aa in enumerate(residues, 1) if aa == lab.residue)
        if len(positions) > 1 and _close(lab.delta * len(positions), shift, tolerance):
            spec = ModSpec(f"UNIMOD:{lab.unimod}", lab.name, lab.residue)
            return [SiteMod((i,), spec) for i in positions]
    single = [lab for lab in labels if _close(lab.delta, shift, tolerance)]
    if not single:
        return None
    best = min(single, key=lambda lab: (abs(lab.delta - shift), lab.unimod))
    same = {lab.residue for lab in single if lab.unimod == best.unimod}
    positions = tuple(i for i, aa in enumerate(residues, 1) if aa in same)
    site = best.residue if len(same) == 1 else ""
    return [SiteMod(positions, ModSpec(f"UNIMOD:{best.unimod}", best.name, site))]


def label_modifications(
    residues: str, shift: float, tolerance: float = LABEL_TOLERANCE
) -> list[SiteMod]:
    """The heavy-label modifications that explain a neutral mass ``shift`` (Da) of a peptide.

    Parameters
    ----------
    residues
        The plain residue sequence.
    shift
        Neutral mass of the heavy standard minus that of the light peptide.
    tolerance
        Largest accepted difference between ``shift`` and the labels' masses (Da).

    Returns
    -------
    list of SiteMod
        Empty for a shift within ``tolerance`` of zero; a single ``CHEMMOD`` without
        position when no Unimod label explains the shift; "unknown modification" for a
        non-finite shift.
    """
    if not math.isfinite(shift):
        return [SiteMod((), UNKNOWN_MODIFICATION)]
    if _close(shift, 0.0, tolerance):
        return []
    found = _sil_labels(residues, shift, tolerance)
    if found is None and residues:
        found = _unimod_labels(residues, shift, tolerance)
    return found or [SiteMod((), ModSpec(_chemmod(shift), "", ""))]


def precursor_mz_by_label(transitions: Iterable[dict[str, Any]]) -> dict[tuple[str, str], float]:
    """Precursor m/z per (group id, label), the first the transition rows give."""
    out: dict[tuple[str, str], float] = {}
    for t in transitions:
        out.setdefault((t["group_id"], t["label"]), t["precursor_mz"])
    return out


def heavy_label_modifications(
    residues: str, light_mz: Any, heavy_mz: Any, charge: int
) -> list[SiteMod]:
    """Label modifications of a heavy standard from its precursor m/z shift.

    With an unknown charge (0) the charges 1-4 are tried in turn, first for msuite's K/R
    labels, then for any Unimod label, else the shift at charge 1 is reported as a
    ``CHEMMOD``. Without both precursor m/z the label is PSI-MS "unknown modification"
    (MS:1001460).
    """
    shift = heavy_mz - light_mz if isinstance(light_mz, float) else math.nan
    if not isinstance(heavy_mz, float) or not math.isfinite(shift):
        return [SiteMod((), UNKNOWN_MODIFICATION)]
    if not _close(shift, 0.0, LABEL_TOLERANCE) and residues:
        charges = [charge] if charge else [1, 2, 3, 4]
        for explain in (_sil_labels, _unimod_labels):  # msuite's SIL labels first
            for z in charges:
                found = explain(residues, shift * z, LABEL_TOLERANCE)
                if found:
                    return found
    return label_modifications(residues, shift * (charge or 1))


# ------------------------------------------------------------------------------ output
def format_modifications(mods: Iterable[SiteMod]) -> str:
    """The ``modifications`` cell: objects sorted by position, comma separated, or ``null``."""
    ordered = sorted(mods, key=lambda m: (not m.positions, m.positions, m.spec))
    return ",".join(m.text for m in ordered) or "null"


def _declaration_order(spec: ModSpec) -> tuple[str, float, str]:
    """Unimod accessions in numeric order, then CHEMMODs by mass, then other terms."""
    cv, _, number = spec.accession.partition(":")
    try:
        value = float(number)
    except ValueError:
        value = math.inf
    return ({"UNIMOD": "0", "CHEMMOD": "1"}.get(cv, cv), value, spec.site)


def modification_metadata(mods: Sequence[SiteMod]) -> list[tuple[str, str]]:
    """``fixed_mod``/``variable_mod`` metadata (key, value) declaring every kind in ``mods``.

    Everything reported in PEP rows is declared variable (mzTab 1.0 section 5.8: fixed
    modifications SHOULD NOT be reported in peptide rows).
    """
    out = [("fixed_mod[1]", "[MS, MS:1002453, No fixed modifications searched, ]")]
    specs = sorted({m.spec for m in mods}, key=_declaration_order)
    if not specs:
        return [*out, ("variable_mod[1]", "[MS, MS:1002454, No variable modifications searched, ]")]
    for n, spec in enumerate(specs, 1):
        out.append((f"variable_mod[{n}]", spec.param))
        if spec.site:
            out.append((f"variable_mod[{n}]-site", spec.site))
            out.append((f"variable_mod[{n}]-position", spec.position))
    return out
