"""OpenMS assay tables (TargetedFileConverter TSV, also the CSV flavour SmartPeak ships).

Columns written (OpenMS 3 names): ``PrecursorMz, ProductMz, PrecursorCharge, ProductCharge,
LibraryIntensity, NormalizedRetentionTime, PeptideSequence, ModifiedPeptideSequence,
PeptideGroupLabel, LabelType, ProteinId, FragmentType, FragmentSeriesNumber, Annotation,
CollisionEnergy, TransitionGroupId, TransitionId, Decoy, QuantifyingTransition, CompoundName,
SumFormula, Adducts``. On input the older spellings (``ProteinName``, ``FullPeptideName``,
``FullUniModPeptideName``, ``RetentionTime``, ``FragmentCharge``, ``decoy``,
``transition_group_id``, ``quantifying_transition``, ``Collision Energy``) are accepted.
Rows without a peptide sequence are small molecules; their ``RetentionTime`` /
``NormalizedRetentionTime`` is taken as seconds. Small-molecule rows are grouped by compound
name (``CompoundName``, else ``TransitionGroupId``, else ``ProteinId``), adduct, ``LabelType``
and precursor m/z, so an internal standard listed under its analyte's name (SmartPeak's
``arg-L`` Light 173 / Heavy 179) becomes its own ``heavy`` molecule.

``read_openms(path, strict=False)`` keeps peptide sequences it cannot read as given (with the
list's m/z) and records a warning in ``method.provenance["warnings"]``.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from msuite.methods.formats.common import fmt, group_precursors, peptide_or_text, protein_list
from msuite.methods.model import (
    HEAVY_RESIDUES,
    Method,
    SmallMolecule,
    Transition,
    label_from_text,
    small_molecule_key,
)
from msuite.methods.tables import Row, read_table

__all__ = ["COLUMNS", "read_openms", "write_openms"]

COLUMNS = (
    "PrecursorMz",
    "ProductMz",
    "PrecursorCharge",
    "ProductCharge",
    "LibraryIntensity",
    "NormalizedRetentionTime",
    "PeptideSequence",
    "ModifiedPeptideSequence",
    "PeptideGroupLabel",
    "LabelType",
    "ProteinId",
    "FragmentType",
    "FragmentSeriesNumber",
    "Annotation",
    "CollisionEnergy",
    "TransitionGroupId",
    "TransitionId",
    "Decoy",
    "QuantifyingTransition",
    "CompoundName",
    "SumFormula",
    "Adducts",
)
_ALIASES = {
    "ProteinName": "ProteinId",
    "FullPeptideName": "ModifiedPeptideSequence",
    "FullUniModPeptideName": "ModifiedPeptideSequence",
    "RetentionTime": "NormalizedRetentionTime",
    "Tr_recalibrated": "NormalizedRetentionTime",
    "FragmentCharge": "ProductCharge",
    "decoy": "Decoy",
    "transition_group_id": "TransitionGroupId",
    "transition_name": "TransitionId",
    "quantifying_transition": "QuantifyingTransition",
    "Collision Energy": "CollisionEnergy",
}


def write_openms(method: Method, path: str | Path) -> None:
    """Write ``method`` as an OpenMS assay TSV."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(COLUMNS)
        n = 0
        for p in method.precursors:
            group = f"{p.modified_sequence}_{p.charge}"
            gid = f"{p.protein}_{group}_{p.label}"
            residues = p.sequence
            for t in p.transitions:
                n += 1
                w.writerow(
                    [
                        fmt(p.precursor_mz),
                        fmt(t.product_mz),
                        p.charge,
                        t.charge,
                        fmt(t.library_intensity, 2),
                        fmt(p.irt, 2),
                        residues,
                        p.modified_sequence,
                        group,
                        p.label,
                        p.protein,
                        t.ion_type,
                        t.ordinal or "",
                        t.annotation,
                        fmt(p.collision_energy, 2),
                        gid,
                        t.name or f"{n}_{gid}_{t.annotation}",
                        int(p.decoy),
                        int(t.quantifier),
                        "",
                        "",
                        "",
                    ]
                )
        for s in method.small_molecules:
            gid = f"{s.name}_{s.adduct}" + ("_heavy" if s.label == "heavy" else "")
            for t in s.transitions:
                n += 1
                w.writerow(
                    [
                        fmt(s.precursor_mz),
                        fmt(t.product_mz),
                        s.charge,
                        t.charge,
                        fmt(t.library_intensity, 2),
                        fmt(s.rt, 4),
                        "",
                        "",
                        "",
                        s.label,
                        "",
                        "",
                        "",
                        "",
                        fmt(s.collision_energy, 2),
                        gid,
                        t.name or f"{n}_{gid}",
                        0,
                        int(t.quantifier),
                        s.name,
                        s.formula,
                        s.adduct,
                    ]
                )


def read_openms(path: str | Path, strict: bool = True) -> Method:
    """Read an OpenMS assay TSV/CSV.

    Parameters
    ----------
    path
        The table (tab- or comma-separated).
    strict
        When True (default) a peptide sequence msuite cannot read is an :class:`InputError`;
        when False it is kept as given and a warning is added to
        ``method.provenance["warnings"]``.
    """
    path = Path(path)
    method = Method(name=path.stem)
    rows = []
    mols: dict[tuple, SmallMolecule] = {}
    for raw in read_table(path, required=("PrecursorMz", "ProductMz")):
        cells = {}
        for k, v in raw.cells.items():
            cells.setdefault(_ALIASES.get(k, k), v)
        row = Row(cells, raw.path, raw.line)
        where = {"path": row.path, "line": row.line}
        seq_text = row.text("ModifiedPeptideSequence", "") or row.text("PeptideSequence", "")
        trans = Transition(
            row.text("FragmentType", "").lower()
            if row.text("FragmentType", "").lower() in ("b", "y")
            else "",
            row.int("FragmentSeriesNumber", 0, minimum=0),
            row.int("ProductCharge", 1, minimum=1),
            row.float("ProductMz"),
            row.float("LibraryIntensity", math.nan),
            row.bool("QuantifyingTransition"),
            name=row.text("TransitionId", ""),
        )
        if not trans.ion_type:
            trans.ordinal = 0
        if not seq_text:
            _small_molecule_row(row, trans, mols)
            continue
        modified, residues = peptide_or_text(
            seq_text, strict=strict, field="ModifiedPeptideSequence", where=where, method=method
        )
        label = label_from_text(row.text("LabelType", ""))
        labelled = "".join(r for r in HEAVY_RESIDUES if r in residues) if (label == "heavy") else ""
        charge = row.int("PrecursorCharge", minimum=1)
        fields = {
            "protein": row.text("ProteinId", ""),
            "modified_sequence": modified,
            "charge": charge,
            "precursor_mz": row.float("PrecursorMz"),
            "label": label,
            "labelled_residues": labelled,
            "irt": row.float("NormalizedRetentionTime", math.nan),
            "collision_energy": row.float("CollisionEnergy", math.nan),
            "decoy": row.bool("Decoy"),
        }
        key = (fields["protein"], modified, charge, label)
        rows.append((key, fields, trans))
    method.precursors = group_precursors(rows)
    method.small_molecules = list(mols.values())
    protein_list(method)
    return method


def _small_molecule_row(row: Row, trans: Transition, mols: dict[tuple, SmallMolecule]) -> None:
    """Add one small-molecule row to its molecule, keyed by name, adduct, label and m/z."""
    name = (
        row.text("CompoundName", "") or row.text("TransitionGroupId", "") or row.text("ProteinId")
    )
    adduct = row.text("Adducts", "")
    label = label_from_text(row.text("LabelType", ""))
    prec_mz = row.float("PrecursorMz")
    key = small_molecule_key(name, adduct, label, prec_mz)
    mol = mols.get(key)
    if mol is None:
        mol = SmallMolecule(
            name=name,
            formula=row.text("SumFormula", ""),
            adduct=adduct,
            charge=row.int("PrecursorCharge", 1),
            precursor_mz=prec_mz,
            rt=row.float("NormalizedRetentionTime", math.nan),
            collision_energy=row.float("CollisionEnergy", math.nan),
            label=label,
        )
        mols[key] = mol
    mol.transitions.append(trans)
