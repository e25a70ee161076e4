"""Peptide chemistry: modifications, modified-sequence parsing, precursor and fragment m/z.

Modified sequences are written in a ProForma 2.0 subset with Unimod names, for example
``[Acetyl]-SAMPLEM[Oxidation]K`` or ``PEPT[Phospho]IDEK``. On input the parser also accepts
Unimod accessions (``[UNIMOD:21]``, ``(UniMod:21)``), mass shifts (``[+79.966]``, ``C[+57]`` as
Skyline writes them), OpenMS' parenthesised names (``C(Carbamidomethyl)``) and pyteomics modX
(``acPEPpTIDEoxMK``, ``camC``).

Masses are monoisotopic, from :mod:`pyteomics.mass` (``std_aa_mass`` and ``calculate_mass``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyteomics import mass as pymass

from msuite.core.errors import InputError

__all__ = [
    "HEAVY_LABELS",
    "MODIFICATIONS",
    "PROTON",
    "Modification",
    "ParsedPeptide",
    "fragment_mz",
    "parse_peptide",
    "plain_sequence",
    "precursor_mz",
    "try_parse_peptide",
]

PROTON = 1.00727646677
WATER = pymass.calculate_mass(formula="H2O")
AA_MASS = dict(pymass.std_aa_mass)


@dataclass(frozen=True, slots=True)
class Modification:
    """A modification msuite knows: Unimod name/accession, mass shift, sites and modX prefix."""

    name: str
    unimod: int
    delta: float
    sites: str  # residues; "^" = peptide N-terminus
    modx: str


MODIFICATIONS: dict[str, Modification] = {
    m.name: m
    for m in (
        Modification("Carbamidomethyl", 4, 57.021464, "C", "cam"),
        Modification("Oxidation", 35, 15.994915, "MW", "ox"),
        Modification("Phospho", 21, 79.966331, "STY", "p"),
        Modification("Acetyl", 1, 42.010565, "^K", "ac"),
        Modification("Deamidated", 7, 0.984016, "NQ", "deam"),
        Modification("Gln->pyro-Glu", 28, -17.026549, "Q", "pyro"),
        Modification("Label:13C(6)15N(2)", 259, 8.014199, "K", "hk"),
        Modification("Label:13C(6)15N(4)", 267, 10.008269, "R", "hr"),
    )
}
_BY_UNIMOD = {m.unimod: m for m in MODIFICATIONS.values()}
_BY_MODX = {m.modx: m for m in MODIFICATIONS.values()}
_BY_LOWER = {m.name.lower(): m for m in MODIFICATIONS.values()}

#: heavy-isotope labels of the heavy standards: residue -> (Unimod name, mass shift)
HEAVY_LABELS: dict[str, Modification] = {
    "K": MODIFICATIONS["Label:13C(6)15N(2)"],
    "R": MODIFICATIONS["Label:13C(6)15N(4)"],
}


@dataclass(frozen=True, slots=True)
class ParsedPeptide:
    """A peptide as residues plus one optional modification per residue and on the N-terminus."""

    residues: str
    mods: tuple[Modification | None, ...]
    nterm: Modification | None = None

    @property
    def proforma(self) -> str:
        """The canonical modified sequence (ProForma with Unimod names)."""
        out = [f"[{self.nterm.name}]-"] if self.nterm else []
        for aa, mod in zip(self.residues, self.mods, strict=True):
            out.append(aa if mod is None else f"{aa}[{mod.name}]")
        return "".join(out)

    def residue_masses(self, label: str = "light", labelled: str = "") -> list[float]:
        """Per-residue masses including modifications and, for ``heavy``, the isotope labels."""
        masses = []
        for aa, mod in zip(self.residues, self.mods, strict=True):
            m = AA_MASS[aa] + (mod.delta if mod else 0.0)
            if label == "heavy" and aa in labelled and aa in HEAVY_LABELS:
                m += HEAVY_LABELS[aa].delta
            masses.append(m)
        if self.nterm and masses:
            masses[0] += self.nterm.delta
        return masses

    def neutral_mass(self, label: str = "light", labelled: str = "") -> float:
        """Monoisotopic neutral mass."""
        return sum(self.residue_masses(label, labelled)) + WATER


_TOKEN = re.compile(r"\[([^\]]*)\]|\(([^)]*)\)")
_MODX = re.compile(r"([a-z]+)?([A-Z])")


def _lookup(text: str, residue: str, sequence: str) -> Modification:
    """Resolve one modification written as a name, Unimod accession or mass shift."""
    key = text.strip()
    low = key.lower()
    mod: Modification | None = None
    if low.startswith("unimod:"):
        try:
            mod = _BY_UNIMOD.get(int(low[7:]))
        except ValueError:
            mod = None
    elif key[:1] in "+-" and key[1:2].isdigit():
        try:
            shift = float(key)
        except ValueError:
            shift = None
        if shift is not None:
            tol = 0.5 if "." not in key else 0.01
            for cand in MODIFICATIONS.values():
                if abs(cand.delta - shift) <= tol and (residue in cand.sites or residue == "^"):
                    mod = cand
                    break
    else:
        mod = _BY_LOWER.get(low)
    if mod is None:
        raise InputError(
            "unknown modification",
            field="modified_sequence",
            value=f"{sequence} ({key})",
            allowed=", ".join(MODIFICATIONS) + " (or their Unimod accessions/mass shifts)",
        )
    if residue != "^" and residue not in mod.sites:
        raise InputError(
            f"modification {mod.name} is not allowed on {residue}",
            field="modified_sequence",
            value=sequence,
            allowed=f"{mod.name} on {mod.sites.replace('^', 'N-term ')}",
        )
    return mod


def _parse_bracketed(text: str) -> ParsedPeptide:
    residues: list[str] = []
    mods: list[Modification | None] = []
    nterm: Modification | None = None
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "[(":
            m = _TOKEN.match(text, i)
            if m is None:
                raise InputError("unbalanced bracket", field="modified_sequence", value=text)
            content = m.group(1) if m.group(1) is not None else m.group(2)
            i = m.end()
            if not residues:
                nterm = _lookup(content, "^", text)
                if i < n and text[i] == "-":
                    i += 1
                continue
            if mods[-1] is not None:
                raise InputError(
                    "two modifications on one residue",
                    field="modified_sequence",
                    value=text,
                )
            mods[-1] = _lookup(content, residues[-1], text)
            continue
        if ch == "-" and residues and i == n - 1:
            i += 1
            continue
        if ch not in AA_MASS or not ch.isupper() or ch in "XBZJUO":
            raise InputError(
                "not an amino-acid letter",
                field="modified_sequence",
                value=text,
                allowed="the 20 standard residues ACDEFGHIKLMNPQRSTVWY",
            )
        residues.append(ch)
        mods.append(None)
        i += 1
    return ParsedPeptide("".join(residues), tuple(mods), nterm)


def _parse_modx(text: str) -> ParsedPeptide:
    residues: list[str] = []
    mods: list[Modification | None] = []
    nterm: Modification | None = None
    body = text
    if "-" in body:
        head, _, body = body.partition("-")
        if head not in ("H", ""):
            nterm = _lookup(_BY_MODX[head].name if head in _BY_MODX else head, "^", text)
        body = body.split("-", 1)[0]
    pos = 0
    for m in _MODX.finditer(body):
        if m.start() != pos:
            break
        prefix, aa = m.group(1), m.group(2)
        pos = m.end()
        mod = None
        if prefix:
            if prefix not in _BY_MODX:
                raise InputError(
                    "unknown modification",
                    field="modified_sequence",
                    value=f"{text} ({prefix})",
                    allowed=", ".join(f"{v.modx} ({v.name})" for v in MODIFICATIONS.values()),
                )
            mod = _BY_MODX[prefix]
            if prefix == "ac" and not residues and aa not in mod.sites:
                nterm, mod = mod, None
            elif aa not in mod.sites:
                raise InputError(
                    f"modification {mod.name} is not allowed on {aa}",
                    field="modified_sequence",
                    value=text,
                )
        if aa not in AA_MASS or aa in "XBZJUO":
            raise InputError(
                "not an amino-acid letter",
                field="modified_sequence",
                value=text,
                allowed="the 20 standard residues ACDEFGHIKLMNPQRSTVWY",
            )
        residues.append(aa)
        mods.append(mod)
    if pos != len(body) or not residues:
        raise InputError(
            "cannot read peptide sequence",
            field="modified_sequence",
            value=text,
            allowed="ProForma (PEPT[Phospho]IDEK) or modX (PEPpTIDEK)",
        )
    return ParsedPeptide("".join(residues), tuple(mods), nterm)


def parse_peptide(text: str) -> ParsedPeptide:
    """Parse a modified peptide sequence (ProForma subset, Skyline/OpenMS brackets or modX).

    Raises
    ------
    InputError
        For an empty sequence, a letter that is not a standard residue, an unknown modification
        or one placed on a residue it cannot modify.
    """
    text = (text or "").strip()
    if text.startswith("_") and text.endswith("_"):  # MaxQuant-style wrapping
        text = text[1:-1]
    if text.startswith(".") or text.endswith("."):
        text = text.strip(".")
    if not text:
        raise InputError("empty peptide sequence", field="modified_sequence", value=text)
    if "[" in text or "(" in text:
        parsed = _parse_bracketed(text)
    elif any(c.islower() for c in text):
        parsed = _parse_modx(text)
    else:
        parsed = _parse_bracketed(text)
    if not parsed.residues:
        raise InputError("empty peptide sequence", field="modified_sequence", value=text)
    return parsed


def try_parse_peptide(text: str) -> ParsedPeptide | None:
    """:func:`parse_peptide`, or None when the sequence cannot be read (kept-as-given text)."""
    try:
        return parse_peptide(text)
    except InputError:
        return None


_BRACKETED = re.compile(r"\[[^\]]*\]-?|\([^)]*\)")


def plain_sequence(text: str) -> str:
    """The residues of a modified sequence; never raises.

    Sequences :func:`parse_peptide` reads give their residues; others (a lenient read keeps
    ``PEPTIDEB`` or unknown modifications as given) give their text with bracketed
    modifications removed.
    """
    parsed = try_parse_peptide(text)
    if parsed is not None:
        return parsed.residues
    return _BRACKETED.sub("", text or "").strip().strip("_.-")


def precursor_mz(
    peptide: ParsedPeptide, charge: int, label: str = "light", labelled: str = ""
) -> float:
    """Return the precursor m/z of ``peptide`` at ``charge``."""
    if charge < 1:
        raise InputError("charge must be at least 1", field="precursor_charge", value=charge)
    return (peptide.neutral_mass(label, labelled) + charge * PROTON) / charge


def fragment_mz(
    peptide: ParsedPeptide,
    ion_type: str,
    ordinal: int,
    charge: int = 1,
    label: str = "light",
    labelled: str = "",
) -> float:
    """Return the m/z of the b or y fragment ``ordinal`` (1-based) at ``charge``."""
    masses = peptide.residue_masses(label, labelled)
    n = len(masses)
    if not 1 <= ordinal < n:
        raise InputError(
            "fragment ordinal out of range",
            field="fragment_ordinal",
            value=ordinal,
            allowed=f"1..{n - 1} for {peptide.proforma}",
        )
    if charge < 1:
        raise InputError("charge must be at least 1", field="product_charge", value=charge)
    if ion_type == "b":
        neutral = sum(masses[:ordinal])
    elif ion_type == "y":
        neutral = sum(masses[n - ordinal :]) + WATER
    else:
        raise InputError("unknown ion type", field="ion_type", value=ion_type, allowed="b, y")
    return (neutral + charge * PROTON) / charge
