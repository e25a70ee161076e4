"""Reading PSI TraML (1.0.0 and OpenMS's 0.9 files) with :mod:`pyteomics.traml`.

The mapping is described in :mod:`msuite.methods.formats.traml`, which re-exports
:func:`read_traml`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from lxml import etree
from pyteomics import traml

from msuite.core.errors import FileFormatError, InputError
from msuite.methods.chemistry import HEAVY_LABELS, MODIFICATIONS, ParsedPeptide, parse_peptide
from msuite.methods.formats.common import LENIENT_NOTE, add_warning, protein_list
from msuite.methods.model import (
    LABELS,
    Method,
    PeptidePrecursor,
    Protein,
    SmallMolecule,
    Transition,
    label_from_text,
)

__all__ = ["read_traml"]

_LABEL_NAMES = {m.name for m in HEAVY_LABELS.values()}


def _float(value: Any, default: float = math.nan) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _peptide_precursor(pep: dict, path: str, method: Method | None = None) -> PeptidePrecursor:
    """The precursor of a TraML ``Peptide``; ``method`` given = lenient (keep what cannot be
    read, with a warning in the method's provenance)."""
    seq = re.sub(r"\(.*?\)|\[.*?\]", "", str(pep.get("sequence", "")))
    full = str(pep.get("full_peptide_name", "") or "")
    mods = pep.get("Modification", []) or []
    label = str(pep.get("label", "") or "").lower()
    residues = list(seq)
    site_mods: dict[int, str] = {}
    labelled = ""
    for mod in mods:
        name = mod.get("name", "")
        loc = int(_float(mod.get("location"), -1))
        if name in _LABEL_NAMES:
            if 1 <= loc <= len(residues):
                labelled += residues[loc - 1]
            continue
        if name not in MODIFICATIONS:
            delta = _float(mod.get("monoisotopicMassDelta"))
            name = f"{delta:+.4f}" if not math.isnan(delta) else str(name)
        site_mods[loc] = name
    parts = [f"[{site_mods[0]}]-"] if 0 in site_mods else []
    for k, aa in enumerate(residues, start=1):
        parts.append(f"{aa}[{site_mods[k]}]" if k in site_mods else aa)
    rebuilt = "".join(parts)
    parsed = None
    if full:
        try:
            parsed = parse_peptide(full)
        except InputError:
            parsed = None
    if parsed is None:
        try:
            parsed = parse_peptide(rebuilt)
        except InputError as exc:
            if method is None:
                raise InputError(
                    exc.message,
                    path=path,
                    field=f"Peptide {pep.get('id')}",
                    value=exc.value,
                    allowed=exc.allowed,
                ) from None
            add_warning(
                method, f"Peptide {pep.get('id')} {exc.value!r}: {exc.message}; {LENIENT_NOTE}"
            )
            return _kept_precursor(pep, full or rebuilt, label, labelled)
    # isotope labels are carried by label/labelled_residues, not as modifications
    plain_mods = []
    for aa, mod in zip(parsed.residues, parsed.mods, strict=True):
        if mod is not None and mod.name in _LABEL_NAMES:
            labelled += aa
            mod = None
        plain_mods.append(mod)
    parsed = ParsedPeptide(parsed.residues, tuple(plain_mods), parsed.nterm)
    if label not in LABELS:
        label = ""
    if not label:
        label = "heavy" if labelled else "light"
    labelled = "".join(r for r in HEAVY_LABELS if r in labelled) if label == "heavy" else ""
    if label == "heavy" and not labelled:
        labelled = "".join(r for r in HEAVY_LABELS if r in parsed.residues)
    return _precursor_fields(pep, parsed.proforma, label, labelled)


def _kept_precursor(pep: dict, text: str, label: str, labelled: str) -> PeptidePrecursor:
    """A precursor whose sequence text is kept as given (lenient read)."""
    from msuite.methods.chemistry import plain_sequence

    residues = plain_sequence(text)
    if label not in LABELS:
        label = ""
    if not label:
        label = "heavy" if labelled else "light"
    if label == "heavy" and not labelled:
        labelled = "".join(r for r in HEAVY_LABELS if r in residues)
    return _precursor_fields(pep, text, label, labelled if label == "heavy" else "")


def _precursor_fields(pep: dict, modified: str, label: str, labelled: str) -> PeptidePrecursor:
    irt = math.nan
    for rtl in pep.get("RetentionTimeList", []) or []:
        for rt in rtl.get("RetentionTime", []) or []:
            if "normalized retention time" in rt:
                irt = _float(rt["normalized retention time"])
    proteins = [p.get("ref") for p in pep.get("Protein", []) or []]
    charge = int(_float(pep.get("charge state"), 0)) or 0
    return PeptidePrecursor(
        protein=";".join(str(p) for p in proteins if p),
        modified_sequence=modified,
        charge=charge,
        precursor_mz=math.nan,
        label=label,
        labelled_residues=labelled,
        irt=irt,
        irt_window=_float(pep.get("irt_window")),
        irt_standard=bool(_float(pep.get("irt_standard"), 0)),
    )


def _ion_from(product: dict) -> tuple[str, int]:
    for interp in (product.get("InterpretationList", {}) or {}).get("Interpretation", []) or []:
        names = set(interp) | {interp.get("name")}
        for ion in ("y", "b"):
            if f"frag: {ion} ion" in names:
                return ion, int(_float(interp.get("product ion series ordinal"), 0))
    return "", 0


def _ce_from(product: dict, trans: dict) -> float:
    if "collision energy" in trans:
        return _float(trans["collision energy"])
    for conf in (product.get("ConfigurationList", {}) or {}).get("Configuration", []) or []:
        if "collision energy" in conf:
            return _float(conf["collision energy"])
    return math.nan


def read_traml(path: str | Path, strict: bool = True) -> Method:
    """Read a TraML file (1.0.0, and the 0.9 files OpenMS still ships) with pyteomics.

    Parameters
    ----------
    path
        The TraML file.
    strict
        When True (default) a peptide whose sequence msuite cannot read is an
        :class:`InputError` naming the peptide and the sequence. When False it is kept with
        its sequence text as given and the transitions' precursor/product m/z, and a warning
        is added to ``method.provenance["warnings"]``.
    """
    path = Path(path)
    method = Method(name=path.stem)
    precursors: dict[str, PeptidePrecursor] = {}
    compounds: dict[str, SmallMolecule] = {}
    try:
        # references are resolved here, by id (pyteomics' retrieve_refs is quadratic)
        with traml.TraML(
            str(path), read_schema=False, retrieve_refs=False, use_index=False
        ) as reader:
            for inst in reader.iterfind("Instrument"):
                if inst.get("model"):
                    method.instrument.model = str(inst["model"])
                if inst.get("ce_regression"):
                    method.instrument.ce_regression = str(inst["ce_regression"])
                lo, hi = _float(inst.get("mz_min")), _float(inst.get("mz_max"))
                if 0 < lo < hi:
                    method.instrument.mz_min, method.instrument.mz_max = lo, hi
                break
            reader.reset()
            reader_proteins = list(reader.iterfind("Protein"))
            for prot in reader_proteins:
                method.proteins.append(
                    Protein(
                        accession=str(prot.get("protein accession") or prot.get("id", "")),
                        name=str(prot.get("name", "") or ""),
                        gene=str(prot.get("gene", "") or ""),
                        description=str(prot.get("protein name", "") or ""),
                        biomarker=bool(_float(prot.get("biomarker"), 0)),
                    )
                )
            accessions = {
                str(prot.get("id", "")): p.accession
                for prot, p in zip(reader_proteins, method.proteins, strict=True)
            }
            reader.reset()
            peptides = {str(pep.get("id")): pep for pep in reader.iterfind("Peptide")}
            for pep in peptides.values():
                pep["Protein"] = [
                    {"ref": accessions.get(str(r.get("ref")), r.get("ref"))}
                    for r in pep.get("ProteinRef", []) or []
                ]
            reader.reset()
            comps = {str(c.get("id")): c for c in reader.iterfind("Compound")}
            reader.reset()
            for tr in reader.iterfind("Transition"):
                if "peptideRef" in tr:
                    tr["peptide"] = peptides.get(str(tr["peptideRef"]))
                if "compoundRef" in tr:
                    tr["compound"] = comps.get(str(tr["compoundRef"]))
                _read_transition(tr, precursors, compounds, str(path), None if strict else method)
            for key, comp in comps.items():  # targets without transitions (SIM)
                if key not in compounds:
                    compounds[key] = _compound(
                        comp, _float(comp.get("precursor_mz")), _float(comp.get("collision_energy"))
                    )
    except etree.XMLSyntaxError as exc:
        raise FileFormatError(f"not well-formed XML: {exc}", path=str(path)) from None
    except (KeyError, AttributeError) as exc:
        raise FileFormatError(f"unexpected TraML structure ({exc})", path=str(path)) from None
    method.precursors = list(precursors.values())
    method.small_molecules = list(compounds.values())
    method.proteins = [p for p in method.proteins if p.accession]
    protein_list(method)
    return method


def _compound(comp: dict, prec_mz: float, ce: float) -> SmallMolecule:
    rt = math.nan
    for rtl in comp.get("RetentionTimeList", []) or []:
        for r in rtl.get("RetentionTime", []) or []:
            rt = _float(r.get("local retention time", rt))
    if math.isnan(prec_mz):
        raise FileFormatError("compound without precursor m/z", field=f"Compound {comp.get('id')}")
    label = str(comp.get("label", "") or "").lower()
    if label not in LABELS:
        label = label_from_text(str(comp.get("LabelType", "") or ""))
    return SmallMolecule(
        name=str(comp.get("name") or comp.get("CompoundName") or comp.get("id")),
        formula=str(comp.get("molecular formula", "") or ""),
        adduct=str(comp.get("adduct") or comp.get("Adducts") or ""),
        charge=int(_float(comp.get("charge state"), 1)),
        precursor_mz=prec_mz,
        rt=rt,
        rt_window=_float(comp.get("rt_window_s")),
        collision_energy=ce,
        identifier=str(comp.get("identifier", "") or ""),
        label=label,
    )


def _read_transition(
    tr: dict, precursors: dict, compounds: dict, path: str, lenient: Method | None = None
) -> None:
    product = tr.get("Product", {}) or {}
    prec_mz = _float((tr.get("Precursor", {}) or {}).get("isolation window target m/z"))
    prod_mz = _float(product.get("isolation window target m/z"))
    if math.isnan(prod_mz) or math.isnan(prec_mz):
        raise FileFormatError(
            "transition without precursor/product m/z",
            path=path,
            field=f"Transition {tr.get('id')}",
        )
    ion, ordinal = _ion_from(product)
    ce = _ce_from(product, tr)
    trans = Transition(
        ion,
        ordinal,
        int(_float(product.get("charge state"), 1)) or 1,
        prod_mz,
        _float(tr.get("product ion intensity")),
        bool(_float(tr.get("quantifying_transition"), 0)),
        name=str(tr.get("id", "")),
    )
    decoy = (
        "decoy SRM transition" in tr
        or tr.get("name") == "decoy SRM transition"
        or bool(_float(tr.get("decoy"), 0))
    )
    if "peptide" in tr and isinstance(tr["peptide"], dict):
        pep = tr["peptide"]
        key = str(pep.get("id"))
        prec = precursors.get(key)
        if prec is None:
            prec = _peptide_precursor(pep, path, lenient)
            prec.precursor_mz = prec_mz
            prec.collision_energy = ce
            prec.decoy = decoy
            if prec.charge == 0:
                prec.charge = int(_float(tr.get("Precursor", {}).get("charge state"), 2))
            precursors[key] = prec
        prec.transitions.append(trans)
    elif "compound" in tr and isinstance(tr["compound"], dict):
        comp = tr["compound"]
        key = str(comp.get("id"))
        mol = compounds.get(key)
        if mol is None:
            mol = _compound(comp, prec_mz, ce)
            compounds[key] = mol
        mol.transitions.append(trans)
    else:
        raise FileFormatError(
            "transition refers to no peptide or compound",
            path=path,
            field=f"Transition {tr.get('id')}",
        )
