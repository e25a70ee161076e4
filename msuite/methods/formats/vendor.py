"""Instrument-vendor scheduled transition lists: Thermo TSQ-style and SCIEX-style CSV.

Thermo TSQ-style columns: ``Compound, Retention Time (min), RT Window (min), Polarity,
Precursor (m/z), Product (m/z), Collision Energy (V)`` (the mass-list table of TSQ methods).
SCIEX-style columns: ``Q1, Q3, RT, ID, CE, Window`` (retention time and window in minutes; the
layout of scheduled-MRM lists).

Both carry the target in one text field; msuite writes it as
``PROTEIN.MODIFIED_SEQUENCE.+CHARGE ION.LABEL`` (e.g. ``P69905.FLASVSTVLTSK.+2y7.heavy``, the
convention Skyline uses for these lists) and reads it back, so a round trip keeps protein,
sequence, charges, label, fragment, m/z, collision energy and retention time. Small molecules
are written under their name, internal standards as ``NAME.heavy``. iRT is converted to
minutes with the method's instrument mapping.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

from msuite.core.errors import InputError
from msuite.methods.formats.common import (
    fmt,
    group_precursors,
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

__all__ = ["SCIEX_COLUMNS", "THERMO_COLUMNS", "read_vendor", "write_vendor"]

THERMO_COLUMNS = (
    "Compound",
    "Retention Time (min)",
    "RT Window (min)",
    "Polarity",
    "Precursor (m/z)",
    "Product (m/z)",
    "Collision Energy (V)",
)
SCIEX_COLUMNS = ("Q1", "Q3", "RT", "ID", "CE", "Window")
_ID = re.compile(r"^(?P<rest>.+)\.\+(?P<z>\d+)(?P<ion>[by]\d+(?:\^\d+)?)?\.(?P<label>\w+)$")


def _rows(method: Method) -> list[tuple[str, float, float, float, float, float]]:
    """(id, precursor m/z, product m/z, rt min, window min, CE) for every transition."""
    inst = method.instrument
    out = []
    for p in method.precursors:
        rt = inst.rt_seconds(p.irt) / 60 if not math.isnan(p.irt) else math.nan
        win = p.irt_window * inst.irt_slope / 60
        for t in p.transitions:
            ident = f"{p.protein}.{p.modified_sequence}.+{p.charge}{t.annotation}.{p.label}"
            out.append((ident, p.precursor_mz, t.product_mz, rt, win, p.collision_energy))
    for s in method.small_molecules:
        ident = f"{s.name}.heavy" if s.label == "heavy" else s.name
        for t in s.transitions:
            out.append(
                (
                    ident,
                    s.precursor_mz,
                    t.product_mz,
                    s.rt / 60,
                    s.rt_window / 60,
                    s.collision_energy,
                )
            )
    return out


def write_vendor(method: Method, path: str | Path, fmt_name: str) -> None:
    """Write a Thermo (``fmt_name="thermo"``) or SCIEX (``"sciex"``) list."""
    polarity = "Positive" if method.instrument.polarity.startswith("pos") else "Negative"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        if fmt_name == "thermo":
            w.writerow(THERMO_COLUMNS)
            for ident, q1, q3, rt, win, ce in _rows(method):
                w.writerow([ident, fmt(rt, 4), fmt(win, 4), polarity, fmt(q1), fmt(q3), fmt(ce, 2)])
        elif fmt_name == "sciex":
            w.writerow(SCIEX_COLUMNS)
            for ident, q1, q3, rt, win, ce in _rows(method):
                w.writerow([fmt(q1), fmt(q3), fmt(rt, 4), ident, fmt(ce, 2), fmt(win, 4)])
        else:
            raise InputError("unknown vendor list format", value=fmt_name, allowed="thermo, sciex")


def read_vendor(path: str | Path, fmt_name: str, strict: bool = True) -> Method:
    """Read a Thermo TSQ-style or SCIEX-style list written as described above.

    With ``strict=False`` a peptide sequence msuite cannot read is kept as given (warning in
    ``method.provenance["warnings"]``) instead of raising :class:`InputError`.
    """
    path = Path(path)
    method = Method(name=path.stem)
    inst = method.instrument
    if fmt_name == "thermo":
        cols = {
            "id": "Compound",
            "q1": "Precursor (m/z)",
            "q3": "Product (m/z)",
            "rt": "Retention Time (min)",
            "win": "RT Window (min)",
            "ce": "Collision Energy (V)",
        }
    else:
        cols = {"id": "ID", "q1": "Q1", "q3": "Q3", "rt": "RT", "win": "Window", "ce": "CE"}
    rows = []
    mols: dict[tuple, SmallMolecule] = {}
    for row in read_table(path, required=(cols["id"], cols["q1"], cols["q3"])):
        _read_row(row, cols, rows, mols, method, inst, strict)
    method.precursors = group_precursors(rows)
    method.small_molecules = list(mols.values())
    protein_list(method)
    return method


def _read_row(
    row: Row, cols: dict, rows: list, mols: dict, method: Method, inst, strict: bool = True
) -> None:
    where = {"path": row.path, "line": row.line}
    ident = row.text(cols["id"])
    q1, q3 = row.float(cols["q1"]), row.float(cols["q3"])
    rt = row.float(cols["rt"], math.nan)
    win = row.float(cols["win"], math.nan)
    ce = row.float(cols["ce"], math.nan)
    m = _ID.match(ident)
    if m is None or m.group("label") not in LABELS or "." not in m.group("rest"):
        name, label = ident, "light"
        if ident.endswith(".heavy") and len(ident) > len(".heavy"):
            name, label = ident.removesuffix(".heavy"), "heavy"
        key = small_molecule_key(name, "", label, q1)
        mol = mols.get(key)
        if mol is None:
            mol = SmallMolecule(
                name,
                "",
                "",
                1,
                q1,
                round(rt * 60, 2) if not math.isnan(rt) else math.nan,
                round(win * 60, 2) if not math.isnan(win) else math.nan,
                ce,
                label=label,
            )
            mols[key] = mol
        mol.transitions.append(Transition("", 0, 1, q3))
        return
    protein, _, seq_text = m.group("rest").rpartition(".")
    modified, residues = peptide_or_text(
        seq_text, strict=strict, field=cols["id"], where=where, method=method
    )
    ion, ordinal, zfrag = parse_annotation(m.group("ion") or "", where)
    label = m.group("label")
    charge = int(m.group("z"))
    if charge < 1:
        raise InputError(
            "precursor charge must be at least 1", field=cols["id"], value=ident, **where
        )
    fields = {
        "protein": protein,
        "modified_sequence": modified,
        "charge": charge,
        "precursor_mz": q1,
        "label": label,
        "labelled_residues": "".join(r for r in HEAVY_RESIDUES if r in residues)
        if label == "heavy"
        else "",
        "irt": round((rt * 60 - inst.irt_intercept) / inst.irt_slope, 2)
        if not math.isnan(rt)
        else math.nan,
        "irt_window": round(win * 60 / inst.irt_slope, 2) if not math.isnan(win) else math.nan,
        "collision_energy": ce,
    }
    rows.append(((protein, modified, charge, label), fields, Transition(ion, ordinal, zfrag, q3)))
