"""Skyline transition lists (CSV), peptides and small molecules.

Peptide columns written: ``Protein Name, Peptide Modified Sequence, Precursor Charge,
Precursor Mz, Isotope Label Type, Fragment Ion, Product Charge, Product Mz, Collision Energy,
Library Intensity, iRT, iRT Window, Explicit Retention Time, Explicit Retention Time Window,
Quantitative, Decoy``. Modified sequences use mass shifts (``C[+57.021464]``) as Skyline does;
explicit retention times are in minutes, converted from iRT with the method's instrument
mapping. Small molecules: ``Molecule List Name, Molecule Name, Molecular Formula,
Precursor Adduct, Label Type, Precursor Charge, Precursor Mz, Product Mz, Product Charge,
Collision Energy, Explicit Retention Time, Explicit Retention Time Window, Library Intensity,
Quantitative``; Skyline's ``Label Type`` (``light``/``heavy``) marks internal standards, and
molecules are keyed by name, adduct, label and precursor m/z.

``read_skyline(path, strict=False)`` keeps peptide sequences it cannot read as given (with the
list's m/z) and records a warning in ``method.provenance["warnings"]``.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from msuite.core.errors import InputError
from msuite.methods.formats.common import (
    fmt,
    group_precursors,
    mass_shift_sequence,
    parse_annotation,
    peptide_or_text,
    protein_list,
)
from msuite.methods.model import (
    HEAVY_RESIDUES,
    LABELS,
    Method,
    SmallMolecule,
    Transition,
    small_molecule_key,
)
from msuite.methods.tables import Row, read_table

__all__ = ["PEPTIDE_COLUMNS", "SMALL_MOLECULE_COLUMNS", "read_skyline", "write_skyline"]

PEPTIDE_COLUMNS = (
    "Protein Name",
    "Peptide Modified Sequence",
    "Precursor Charge",
    "Precursor Mz",
    "Isotope Label Type",
    "Fragment Ion",
    "Product Charge",
    "Product Mz",
    "Collision Energy",
    "Library Intensity",
    "iRT",
    "iRT Window",
    "Explicit Retention Time",
    "Explicit Retention Time Window",
    "Quantitative",
    "Decoy",
)
SMALL_MOLECULE_COLUMNS = (
    "Molecule List Name",
    "Molecule Name",
    "Molecular Formula",
    "Precursor Adduct",
    "Label Type",
    "Precursor Charge",
    "Precursor Mz",
    "Product Mz",
    "Product Charge",
    "Collision Energy",
    "Explicit Retention Time",
    "Explicit Retention Time Window",
    "Library Intensity",
    "Quantitative",
)
# accepted spellings on input -> our column name
_ALIASES = {
    "precursor m/z": "Precursor Mz",
    "product m/z": "Product Mz",
    "label type": "Isotope Label Type",
    "label": "Isotope Label Type",
    "peptide sequence": "Peptide Modified Sequence",
    "modified sequence": "Peptide Modified Sequence",
    "retention time": "Explicit Retention Time",
    "explicit retention time": "Explicit Retention Time",
    "ce": "Collision Energy",
    "formula": "Molecular Formula",
    "adduct": "Precursor Adduct",
}


def write_skyline(method: Method, path: str | Path) -> None:
    """Write ``method`` as a Skyline transition list CSV."""
    if method.precursors and method.small_molecules:
        raise InputError(
            "a Skyline transition list holds peptides or small molecules, not both",
            path=str(path),
            allowed="convert peptide and small-molecule methods separately",
        )
    inst = method.instrument
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        if method.small_molecules:
            w.writerow(SMALL_MOLECULE_COLUMNS)
            for s in method.small_molecules:
                head = [
                    method.name,
                    s.name,
                    s.formula,
                    s.adduct,
                    s.label,
                    s.charge,
                    fmt(s.precursor_mz),
                ]
                tail = [fmt(s.collision_energy, 2), fmt(s.rt / 60, 4), fmt(s.rt_window / 60, 4)]
                for t in s.transitions or [None]:
                    if t is None:
                        w.writerow([*head, "", "", *tail, "", ""])
                    else:
                        w.writerow(
                            [
                                *head,
                                fmt(t.product_mz),
                                t.charge,
                                *tail,
                                fmt(t.library_intensity, 2),
                                str(t.quantifier).upper(),
                            ]
                        )
            return
        w.writerow(PEPTIDE_COLUMNS)
        for p in method.precursors:
            rt_min = inst.rt_seconds(p.irt) / 60 if not math.isnan(p.irt) else math.nan
            win_min = p.irt_window * inst.irt_slope / 60
            seq = mass_shift_sequence(p.modified_sequence)
            for t in p.transitions:
                w.writerow(
                    [
                        p.protein,
                        seq,
                        p.charge,
                        fmt(p.precursor_mz),
                        p.label,
                        t.annotation.split("^")[0],
                        t.charge,
                        fmt(t.product_mz),
                        fmt(p.collision_energy, 2),
                        fmt(t.library_intensity, 2),
                        fmt(p.irt, 2),
                        fmt(p.irt_window, 2),
                        fmt(rt_min, 4),
                        fmt(win_min, 4),
                        str(t.quantifier).upper(),
                        str(p.decoy).upper(),
                    ]
                )


def _normalise(cells: dict[str, str]) -> dict[str, str]:
    out = {}
    for k, v in cells.items():
        key = _ALIASES.get(k.strip().lower(), k.strip())
        out.setdefault(key, v)
    return out


def read_skyline(path: str | Path, strict: bool = True) -> Method:
    """Read a Skyline transition list CSV (peptide or small-molecule columns).

    With ``strict=False`` a peptide sequence msuite cannot read is kept as given (warning in
    ``method.provenance["warnings"]``) instead of raising :class:`InputError`.
    """
    path = Path(path)
    method = Method(name=path.stem)
    inst = method.instrument
    rows = []
    for raw in read_table(path):
        row = Row(_normalise(raw.cells), raw.path, raw.line)
        if "Molecule Name" in row.cells or "Molecular Formula" in row.cells:
            _small_molecule_row(method, row)
            continue
        where = {"path": row.path, "line": row.line}
        seq_text = row.text("Peptide Modified Sequence")
        modified, residues = peptide_or_text(
            seq_text, strict=strict, field="Peptide Modified Sequence", where=where, method=method
        )
        label = row.text("Isotope Label Type", "light").lower()
        if label not in LABELS:
            raise InputError(
                "unknown isotope label",
                field="Isotope Label Type",
                value=label,
                allowed=", ".join(LABELS),
                **where,
            )
        charge = row.int("Precursor Charge", minimum=1)
        irt = row.float("iRT", math.nan)
        if math.isnan(irt) and row.has("Explicit Retention Time"):
            irt = round(
                (row.float("Explicit Retention Time") * 60 - inst.irt_intercept) / inst.irt_slope, 2
            )
        window = row.float("iRT Window", math.nan)
        if math.isnan(window) and row.has("Explicit Retention Time Window"):
            window = round(row.float("Explicit Retention Time Window") * 60 / inst.irt_slope, 2)
        try:
            ion, ordinal, zfrag = parse_annotation(row.text("Fragment Ion", ""), where)
        except InputError as exc:
            exc.field = "Fragment Ion"
            raise InputError(
                exc.message, field="Fragment Ion", value=exc.value, allowed=exc.allowed, **where
            ) from None
        labelled = "".join(r for r in HEAVY_RESIDUES if r in residues) if (label == "heavy") else ""
        fields = {
            "protein": row.text("Protein Name", ""),
            "modified_sequence": modified,
            "charge": charge,
            "precursor_mz": row.float("Precursor Mz"),
            "label": label,
            "labelled_residues": labelled,
            "irt": irt,
            "irt_window": window,
            "collision_energy": row.float("Collision Energy", math.nan),
            "decoy": row.bool("Decoy"),
        }
        trans = None
        if row.has("Product Mz"):
            trans = Transition(
                ion,
                ordinal,
                row.int("Product Charge", zfrag, minimum=1),
                row.float("Product Mz"),
                row.float("Library Intensity", math.nan),
                row.bool("Quantitative"),
            )
        rows.append(((fields["protein"], modified, charge, label), fields, trans))
    method.precursors = group_precursors(rows)
    protein_list(method)
    return method


def _small_molecule_row(method: Method, row: Row) -> None:
    name = row.text("Molecule Name")
    adduct = row.text("Precursor Adduct", "")
    label = row.text("Isotope Label Type", "light").lower()
    if label not in LABELS:
        raise InputError(
            "unknown isotope label",
            path=row.path,
            line=row.line,
            field="Label Type",
            value=label,
            allowed=", ".join(LABELS),
        )
    prec_mz = row.float("Precursor Mz")
    key = small_molecule_key(name, adduct, label, prec_mz)
    mol = next((m for m in method.small_molecules if m.key == key), None)
    if mol is None:
        rt = row.float("Explicit Retention Time", math.nan)
        win = row.float("Explicit Retention Time Window", math.nan)
        mol = SmallMolecule(
            name=name,
            formula=row.text("Molecular Formula", ""),
            adduct=adduct,
            charge=row.int("Precursor Charge", 1),
            precursor_mz=prec_mz,
            rt=round(rt * 60, 2) if not math.isnan(rt) else math.nan,
            rt_window=round(win * 60, 2) if not math.isnan(win) else math.nan,
            collision_energy=row.float("Collision Energy", math.nan),
            label=label,
        )
        method.small_molecules.append(mol)
    if row.has("Product Mz"):
        mol.transitions.append(
            Transition(
                "",
                0,
                row.int("Product Charge", 1, minimum=1),
                row.float("Product Mz"),
                row.float("Library Intensity", math.nan),
                row.bool("Quantitative"),
            )
        )
