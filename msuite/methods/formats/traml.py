"""PSI TraML 1.0.0: read with :mod:`pyteomics.traml` (:mod:`.traml_read`), write with :mod:`lxml`.

Mapping
-------
- Protein -> ``Protein`` (``id`` = accession; name/description as cvParams MS:1000885/MS:1000886).
- Peptide precursor -> ``Peptide`` (``sequence``, ``Modification`` elements with Unimod
  cvParams, ``charge state`` MS:1000041, ``peptide group label`` MS:1000893 shared by a light/heavy
  pair, ``normalized retention time`` MS:1000896 for iRT); heavy labels are ``Modification``
  elements ``Label:13C(6)15N(2)`` (UNIMOD:259) / ``Label:13C(6)15N(4)`` (UNIMOD:267).
- Small molecule -> ``Compound`` (``molecular formula`` MS:1000866, ``charge state``,
  ``local retention time`` MS:1000895 in seconds, name, adduct and ``label`` as userParams).
  On input OpenMS' userParams ``CompoundName``, ``Adducts`` and ``LabelType`` are read too.
- Transition -> ``Transition`` with ``Precursor``/``Product`` target m/z (MS:1000827),
  ``Interpretation`` (``frag: y ion`` MS:1001220 / ``frag: b ion`` MS:1001224, ordinal
  MS:1000903), collision energy (MS:1000045) in a ``Configuration`` on the method's instrument,
  ``product ion intensity`` MS:1001226 and ``target``/``decoy SRM transition``.
Values without a CV term (iRT window, iRT-standard flag, quantifier) are userParams.

``read_traml(path, strict=False)`` keeps peptides whose sequence msuite cannot read (OpenMS's
test ``PEPTIDEB``) with the sequence text as given and the transitions' m/z, and records a
warning in ``method.provenance["warnings"]``; such peptides are written back with their text
and without ``Modification`` elements.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from lxml import etree

from msuite.core.errors import InputError
from msuite.methods.chemistry import HEAVY_LABELS, ParsedPeptide, parse_peptide
from msuite.methods.formats.common import fmt, protein_list
from msuite.methods.formats.traml_read import read_traml
from msuite.methods.model import Method, Transition

__all__ = ["read_traml", "write_traml"]

NS = "http://psi.hupo.org/ms/traml"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def _cv(
    parent: etree._Element,
    cv: str,
    acc: str,
    name: str,
    value: Any = None,
    unit: tuple[str, str, str] | None = None,
) -> None:
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
        (
            "MS",
            "Proteomics Standards Initiative Mass Spectrometry Ontology",
            "https://raw.githubusercontent.com/HUPO-PSI/psi-ms-CV/master/psi-ms.obo",
        ),
        (
            "UO",
            "Unit Ontology",
            "https://raw.githubusercontent.com/bio-ontology-research-group/unit-ontology/master/unit.obo",
        ),
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
        try:
            parsed = parse_peptide(p.modified_sequence)
        except InputError:  # kept as given by a lenient read: no modifications to write
            parsed = ParsedPeptide(p.sequence, (None,) * len(p.sequence))
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
            me = etree.SubElement(
                pe,
                f"{{{NS}}}Modification",
                location=str(loc),
                monoisotopicMassDelta=f"{mod.delta:.6f}",
            )
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
        _up(ce, "label", s.label)
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
            _cv(
                rt,
                "MS",
                "MS:1000895",
                "local retention time",
                fmt(s.rt, 2),
                ("UO", "UO:0000010", "second"),
            )
    if not len(comps):
        root.remove(comps)
    tlist = etree.SubElement(root, f"{{{NS}}}TransitionList")
    n = 0
    used: set[str] = set()
    for pid, p in zip(pep_ids, method.precursors, strict=True):
        for t in p.transitions:
            n += 1
            tid = _transition_id(t, f"tr{n}_{pid}_{t.annotation or fmt(t.product_mz)}", used)
            _transition(
                tlist, tid, "peptideRef", pid, p.precursor_mz, t, p.collision_energy, p.decoy
            )
    for cid, s in zip(comp_ids, method.small_molecules, strict=True):
        for t in s.transitions:
            n += 1
            tid = _transition_id(t, f"tr{n}_{cid}_{fmt(t.product_mz)}", used)
            _transition(
                tlist, tid, "compoundRef", cid, s.precursor_mz, t, s.collision_energy, False
            )
    if not len(tlist):
        root.remove(tlist)
    etree.ElementTree(root).write(
        str(path), xml_declaration=True, encoding="UTF-8", pretty_print=True
    )


def _transition_id(t: Transition, generated: str, used: set[str]) -> str:
    """The transition's own name as its XML id when it has one not used yet, else ``generated``."""
    tid = _xml_id(t.name) if t.name else ""
    if not tid or tid in used:
        tid = _xml_id(generated)
    used.add(tid)
    return tid


def _transition(
    parent: etree._Element,
    tid: str,
    ref_attr: str,
    ref: str,
    prec_mz: float,
    t: Transition,
    ce: float,
    decoy: bool,
) -> None:
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
        _cv(
            conf,
            "MS",
            "MS:1000045",
            "collision energy",
            fmt(ce, 2),
            ("UO", "UO:0000266", "electronvolt"),
        )
    if not math.isnan(t.library_intensity):
        _cv(te, "MS", "MS:1001226", "product ion intensity", fmt(t.library_intensity, 2))
    if decoy:
        _cv(te, "MS", "MS:1002008", "decoy SRM transition")
    else:
        _cv(te, "MS", "MS:1002007", "target SRM transition")
    _up(te, "quantifying_transition", int(t.quantifier), "xsd:integer")
