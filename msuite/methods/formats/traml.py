"""PSI TraML 1.0.0: read with :mod:`pyteomics.traml`, write with :mod:`lxml`.

Mapping
-------
- Protein -> ``Protein`` (``id`` = accession; name/description as cvParams MS:1000885/MS:1000886).
- Peptide precursor -> ``Peptide`` (``sequence``, ``Modification`` elements with Unimod
  cvParams, ``charge state`` MS:1000041, ``peptide group label`` MS:1000893 shared by a light/heavy
  pair, ``normalized retention time`` MS:1000896 for iRT); heavy labels are ``Modification``
  elements ``Label:13C(6)15N(2)`` (UNIMOD:259) / ``Label:13C(6)15N(4)`` (UNIMOD:267).
- Small molecule -> ``Compound`` (``molecular formula`` MS:1000866, ``charge state``,
  ``local retention time`` MS:1000895 in seconds, adduct as userParam).
- Transition -> ``Transition`` with ``Precursor``/``Product`` target m/z (MS:1000827),
  ``Interpretation`` (``frag: y ion`` MS:1001220 / ``frag: b ion`` MS:1001224, ordinal
  MS:1000903), collision energy (MS:1000045) in a ``Configuration`` on the method's instrument,
  ``product ion intensity`` MS:1001226 and ``target``/``decoy SRM transition``.
Values without a CV term (iRT window, iRT-standard flag, quantifier) are userParams.
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
from msuite.methods.formats.common import fmt, protein_list
from msuite.methods.model import (
    LABELS,
    Method,
    PeptidePrecursor,
    Protein,
    SmallMolecule,
    Transition,
)

__all__ = ["read_traml", "write_traml"]

NS = "http://psi.hupo.org/ms/traml"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_LABEL_NAMES = {m.name for m in HEAVY_LABELS.values()}


def _cv(parent: etree._Element, cv: str, acc: str, name: str, value: Any = None,
        unit: tuple[str, str, str] | None = None) -> None:
    el = etree.SubElement(parent, f"{{{NS}}}cvParam", cvRef=cv, accession=acc, name=name)
    if value is not None:
        el.set("value", str(value))
    if unit:
        el.set("unitCvRef", unit[0])
        el.set("unitAccession", unit[1])
        el.set("unitName", unit[2])


def _up(parent: etree._Element, name: str, value: Any, xsd: str = "xsd:string") -> None:
    etree.SubElement(parent, f"{{{NS}}}userParam", name=name, type=xsd, value=str(value))


_MZ = ("MS", "MS:1000040", "m/z")
_NOT_NCNAME = re.compile(r"[^A-Za-z0-9._-]+")


def _xml_id(text: str) -> str:
    """An xsd:ID-safe identifier (letters, digits, '.', '-', '_'; starts with a letter)."""
    return _NOT_NCNAME.sub("_", text)


def write_traml(method: Method, path: str | Path) -> None:
    """Write ``method`` as TraML 1.0.0."""
    root = etree.Element(f"{{{NS}}}TraML", nsmap={None: NS, "xsi": XSI}, version="1.0.0")
    root.set(f"{{{XSI}}}schemaLocation", f"{NS} TraML1.0.0.xsd")
    cvs = etree.SubElement(root, f"{{{NS}}}cvList")
    for cid, full, uri in (
        ("MS", "Proteomics Standards Initiative Mass Spectrometry Ontology",
         "https://raw.githubusercontent.com/HUPO-PSI/psi-ms-CV/master/psi-ms.obo"),
        ("UO", "Unit Ontology",
         "https://raw.githubusercontent.com/bio-ontology-research-group/unit-ontology/master/unit.obo"),
        ("UNIMOD", "UNIMOD", "http://www.unimod.org/obo/unimod.obo"),
    ):
        etree.SubElement(cvs, f"{{{NS}}}cv", id=cid, fullName=full, version="unknown", URI=uri)
    insts = etree.SubElement(root, f"{{{NS}}}InstrumentList")
    inst = etree.SubElement(insts, f"{{{NS}}}Instrument", id="instrument")
    _cv(inst, "MS", "MS:1000031", "instrument model")
    _up(inst, "model", method.instrument.model)
    _up(inst, "ce_regression", method.instrument.ce_regression)
    _up(inst, "mz_min", method.instrument.mz_min, "xsd:double")
    _up(inst, "mz_max", method.instrument.mz_max, "xsd:double")
    protein_list(method)
    if method.proteins:
        plist = etree.SubElement(root, f"{{{NS}}}ProteinList")
        for p in method.proteins:
            pe = etree.SubElement(plist, f"{{{NS}}}Protein", id=_xml_id(p.accession))
            _cv(pe, "MS", "MS:1000885", "protein accession", p.accession)
            if p.description:
                _cv(pe, "MS", "MS:1000886", "protein name", p.description)
            if p.name:
                _up(pe, "name", p.name)
            if p.gene:
                _up(pe, "gene", p.gene)
            if p.biomarker:
                _up(pe, "biomarker", 1, "xsd:integer")
    known_proteins = {p.accession for p in method.proteins}
    comps = etree.SubElement(root, f"{{{NS}}}CompoundList")
    pep_ids = []
    for i, p in enumerate(method.precursors):
        pid = _xml_id(f"pep{i}_{p.modified_sequence}_{p.charge}_{p.label}")
        pep_ids.append(pid)
        parsed = parse_peptide(p.modified_sequence)
        pe = etree.SubElement(comps, f"{{{NS}}}Peptide", id=pid, sequence=parsed.residues)
        _cv(pe, "MS", "MS:1000041", "charge state", p.charge)
        _cv(pe, "MS", "MS:1000893", "peptide group label", f"{p.modified_sequence}_{p.charge}")
        _up(pe, "full_peptide_name", p.modified_sequence)
        _up(pe, "label", p.label)
        if p.irt_standard:
            _up(pe, "irt_standard", 1, "xsd:integer")
        if not math.isnan(p.irt_window):
            _up(pe, "irt_window", fmt(p.irt_window, 2), "xsd:double")
        for acc in p.protein.split(";"):
            if acc and acc in known_proteins:
                etree.SubElement(pe, f"{{{NS}}}ProteinRef", ref=_xml_id(acc))
        mods: list[tuple[int, Any]] = []
        if parsed.nterm:
            mods.append((0, parsed.nterm))
        for k, (aa, mod) in enumerate(zip(parsed.residues, parsed.mods, strict=True), start=1):
            if mod:
                mods.append((k, mod))
            if p.label == "heavy" and aa in p.labelled_residues and aa in HEAVY_LABELS:
                mods.append((k, HEAVY_LABELS[aa]))
        for loc, mod in mods:
            me = etree.SubElement(pe, f"{{{NS}}}Modification", location=str(loc),
                                  monoisotopicMassDelta=f"{mod.delta:.6f}")
            _cv(me, "UNIMOD", f"UNIMOD:{mod.unimod}", mod.name)
        if not math.isnan(p.irt):
            rtl = etree.SubElement(pe, f"{{{NS}}}RetentionTimeList")
            rt = etree.SubElement(rtl, f"{{{NS}}}RetentionTime")
            _cv(rt, "MS", "MS:1000896", "normalized retention time", fmt(p.irt, 2))
            _cv(rt, "MS", "MS:1002005", "iRT retention time normalization standard")
    comp_ids = []
    for i, s in enumerate(method.small_molecules):
        cid = _xml_id(f"cmp{i}_{s.name}_{s.adduct}")
        comp_ids.append(cid)
        ce = etree.SubElement(comps, f"{{{NS}}}Compound", id=cid)
        _cv(ce, "MS", "MS:1000041", "charge state", s.charge)
        if s.formula:
            _cv(ce, "MS", "MS:1000866", "molecular formula", s.formula)
        _up(ce, "name", s.name)
        if s.adduct:
            _up(ce, "adduct", s.adduct)
        if s.identifier:
            _up(ce, "identifier", s.identifier)
        _up(ce, "precursor_mz", fmt(s.precursor_mz), "xsd:double")
        if not math.isnan(s.rt_window):
            _up(ce, "rt_window_s", fmt(s.rt_window, 2), "xsd:double")
        if not math.isnan(s.collision_energy):
            _up(ce, "collision_energy", fmt(s.collision_energy, 2), "xsd:double")
        if not math.isnan(s.rt):
            rtl = etree.SubElement(ce, f"{{{NS}}}RetentionTimeList")
            rt = etree.SubElement(rtl, f"{{{NS}}}RetentionTime")
            _cv(rt, "MS", "MS:1000895", "local retention time", fmt(s.rt, 2),
                ("UO", "UO:0000010", "second"))
    if not len(comps):
        root.remove(comps)
    tlist = etree.SubElement(root, f"{{{NS}}}TransitionList")
    n = 0
    used: set[str] = set()
    for pid, p in zip(pep_ids, method.precursors, strict=True):
        for t in p.transitions:
            n += 1
            tid = _transition_id(t, f"tr{n}_{pid}_{t.annotation or fmt(t.product_mz)}", used)
            _transition(tlist, tid,
                        "peptideRef",
                        pid, p.precursor_mz, t, p.collision_energy, p.decoy)
    for cid, s in zip(comp_ids, method.small_molecules, strict=True):
        for t in s.transitions:
            n += 1
            tid = _transition_id(t, f"tr{n}_{cid}_{fmt(t.product_mz)}", used)
            _transition(tlist, tid, "compoundRef", cid,
                        s.precursor_mz, t, s.collision_energy, False)
    if not len(tlist):
        root.remove(tlist)
    etree.ElementTree(root).write(str(path), xml_declaration=True, encoding="UTF-8",
                                  pretty_print=True)


def _transition_id(t: Transition, generated: str, used: set[str]) -> str:
    """The transition's own name as its XML id when it has one not used yet, else ``generated``."""
    tid = _xml_id(t.name) if t.name else ""
    if not tid or tid in used:
        tid = _xml_id(generated)
    used.add(tid)
    return tid


def _transition(parent: etree._Element, tid: str, ref_attr: str, ref: str, prec_mz: float,
                t: Transition, ce: float, decoy: bool) -> None:
    te = etree.SubElement(parent, f"{{{NS}}}Transition", id=tid, **{ref_attr: ref})
    pre = etree.SubElement(te, f"{{{NS}}}Precursor")
    _cv(pre, "MS", "MS:1000827", "isolation window target m/z", fmt(prec_mz), _MZ)
    prod = etree.SubElement(te, f"{{{NS}}}Product")
    _cv(prod, "MS", "MS:1000827", "isolation window target m/z", fmt(t.product_mz), _MZ)
    _cv(prod, "MS", "MS:1000041", "charge state", t.charge)
    if t.ion_type:
        il = etree.SubElement(prod, f"{{{NS}}}InterpretationList")
        it = etree.SubElement(il, f"{{{NS}}}Interpretation")
        if t.ion_type == "y":
            _cv(it, "MS", "MS:1001220", "frag: y ion")
        else:
            _cv(it, "MS", "MS:1001224", "frag: b ion")
        _cv(it, "MS", "MS:1000903", "product ion series ordinal", t.ordinal)
    if not math.isnan(ce):
        cl = etree.SubElement(prod, f"{{{NS}}}ConfigurationList")
        conf = etree.SubElement(cl, f"{{{NS}}}Configuration", instrumentRef="instrument")
        _cv(conf, "MS", "MS:1000045", "collision energy", fmt(ce, 2),
            ("UO", "UO:0000266", "electronvolt"))
    if not math.isnan(t.library_intensity):
        _cv(te, "MS", "MS:1001226", "product ion intensity", fmt(t.library_intensity, 2))
    if decoy:
        _cv(te, "MS", "MS:1002008", "decoy SRM transition")
    else:
        _cv(te, "MS", "MS:1002007", "target SRM transition")
    _up(te, "quantifying_transition", int(t.quantifier), "xsd:integer")


# ---------------------------------------------------------------------------------- reading
def _float(value: Any, default: float = math.nan) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _peptide_precursor(pep: dict, path: str) -> PeptidePrecursor:
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
            raise InputError(exc.message, path=path, field=f"Peptide {pep.get('id')}",
                             value=exc.value, allowed=exc.allowed) from None
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
    irt = math.nan
    for rtl in pep.get("RetentionTimeList", []) or []:
        for rt in rtl.get("RetentionTime", []) or []:
            if "normalized retention time" in rt:
                irt = _float(rt["normalized retention time"])
    proteins = [p.get("ref") for p in pep.get("Protein", []) or []]
    charge = int(_float(pep.get("charge state"), 0)) or 0
    return PeptidePrecursor(
        protein=";".join(str(p) for p in proteins if p),
        modified_sequence=parsed.proforma,
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


def read_traml(path: str | Path) -> Method:
    """Read a TraML file (1.0.0, and the 0.9 files OpenMS still ships) with pyteomics."""
    path = Path(path)
    method = Method(name=path.stem)
    precursors: dict[str, PeptidePrecursor] = {}
    compounds: dict[str, SmallMolecule] = {}
    try:
        # references are resolved here, by id (pyteomics' retrieve_refs is quadratic)
        with traml.TraML(str(path), read_schema=False, retrieve_refs=False,
                         use_index=False) as reader:
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
                method.proteins.append(Protein(
                    accession=str(prot.get("protein accession") or prot.get("id", "")),
                    name=str(prot.get("name", "") or ""),
                    gene=str(prot.get("gene", "") or ""),
                    description=str(prot.get("protein name", "") or ""),
                    biomarker=bool(_float(prot.get("biomarker"), 0)),
                ))
            accessions = {str(prot.get("id", "")): p.accession
                          for prot, p in zip(reader_proteins, method.proteins, strict=True)}
            reader.reset()
            peptides = {str(pep.get("id")): pep for pep in reader.iterfind("Peptide")}
            for pep in peptides.values():
                pep["Protein"] = [{"ref": accessions.get(str(r.get("ref")), r.get("ref"))}
                                  for r in pep.get("ProteinRef", []) or []]
            reader.reset()
            comps = {str(c.get("id")): c for c in reader.iterfind("Compound")}
            reader.reset()
            for tr in reader.iterfind("Transition"):
                if "peptideRef" in tr:
                    tr["peptide"] = peptides.get(str(tr["peptideRef"]))
                if "compoundRef" in tr:
                    tr["compound"] = comps.get(str(tr["compoundRef"]))
                _read_transition(tr, precursors, compounds, str(path))
            for key, comp in comps.items():  # targets without transitions (SIM)
                if key not in compounds:
                    compounds[key] = _compound(comp, _float(comp.get("precursor_mz")),
                                               _float(comp.get("collision_energy")))
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
    return SmallMolecule(
        name=str(comp.get("name", comp.get("id"))),
        formula=str(comp.get("molecular formula", "") or ""),
        adduct=str(comp.get("adduct", "") or ""),
        charge=int(_float(comp.get("charge state"), 1)),
        precursor_mz=prec_mz,
        rt=rt,
        rt_window=_float(comp.get("rt_window_s")),
        collision_energy=ce,
        identifier=str(comp.get("identifier", "") or ""),
    )


def _read_transition(tr: dict, precursors: dict, compounds: dict, path: str) -> None:
    product = tr.get("Product", {}) or {}
    prec_mz = _float((tr.get("Precursor", {}) or {}).get("isolation window target m/z"))
    prod_mz = _float(product.get("isolation window target m/z"))
    if math.isnan(prod_mz) or math.isnan(prec_mz):
        raise FileFormatError("transition without precursor/product m/z", path=path,
                              field=f"Transition {tr.get('id')}")
    ion, ordinal = _ion_from(product)
    ce = _ce_from(product, tr)
    trans = Transition(ion, ordinal, int(_float(product.get("charge state"), 1)) or 1, prod_mz,
                       _float(tr.get("product ion intensity")),
                       bool(_float(tr.get("quantifying_transition"), 0)),
                       name=str(tr.get("id", "")))
    decoy = "decoy SRM transition" in tr or tr.get("name") == "decoy SRM transition" or bool(
        _float(tr.get("decoy"), 0)
    )
    if "peptide" in tr and isinstance(tr["peptide"], dict):
        pep = tr["peptide"]
        key = str(pep.get("id"))
        prec = precursors.get(key)
        if prec is None:
            prec = _peptide_precursor(pep, path)
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
        raise FileFormatError("transition refers to no peptide or compound", path=path,
                              field=f"Transition {tr.get('id')}")
