"""Small molecules: adduct m/z from a formula, and metabolite panels from standards lists."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from pyteomics import mass as pymass

from msuite.core.errors import FileFormatError, InputError
from msuite.methods.model import Method, SmallMolecule
from msuite.methods.tables import read_table

__all__ = ["ADDUCTS", "adduct_mz", "normalise_adduct", "read_standards", "metabolite_method"]

ELECTRON = 0.000548579909

#: adduct -> (molecules M, mass added (neutral formula), charge); charges carried by H/Na/K/NH4
ADDUCTS: dict[str, tuple[int, str, int]] = {
    "[M+H]+": (1, "H", 1),
    "[M+Na]+": (1, "Na", 1),
    "[M+K]+": (1, "K", 1),
    "[M+NH4]+": (1, "NH4", 1),
    "[M+H-H2O]+": (1, "H-H2O", 1),
    "[M+2H]2+": (1, "H2", 2),
    "[2M+H]+": (2, "H", 1),
    "[M]+": (1, "", 1),
    "[M-H]-": (1, "-H", -1),
    "[M+Cl]-": (1, "Cl", -1),
    "[M+FA-H]-": (1, "CHO2", -1),
    "[M-H2O-H]-": (1, "-H-H2O", -1),
}
_ALIASES = {
    "m+h[1+]": "[M+H]+", "m+h": "[M+H]+", "1": "[M+H]+", "+h": "[M+H]+",
    "m+na[1+]": "[M+Na]+", "m+na": "[M+Na]+",
    "m+k[1+]": "[M+K]+", "m+nh4[1+]": "[M+NH4]+", "m+nh4": "[M+NH4]+",
    "m-h[-]": "[M-H]-", "m-h[1-]": "[M-H]-", "m-h": "[M-H]-",
    "m+h2o+h[1+]": "[M+H-H2O]+", "m-h2o+h[1+]": "[M+H-H2O]+",
    "m+2h[2+]": "[M+2H]2+", "m[1+]": "[M]+",
}


def normalise_adduct(text: str) -> str:
    """Return the canonical adduct name (``[M+H]+`` ...) for common spellings."""
    t = text.strip()
    if t in ADDUCTS:
        return t
    key = t.lower().replace(" ", "")
    if key in _ALIASES:
        return _ALIASES[key]
    for name in ADDUCTS:
        if name.lower() == key or name.lower().strip("[]+-") == key.strip("[]+-"):
            return name
    raise InputError("unknown adduct", field="adduct", value=text, allowed=", ".join(ADDUCTS))


def _formula_mass(formula: str) -> float:
    total = 0.0
    for sign, part in re.findall(r"([+-]?)([A-Za-z0-9]+)", formula):
        m = pymass.calculate_mass(formula=part)
        total += -m if sign == "-" else m
    return total


def adduct_mz(formula: str, adduct: str) -> tuple[float, int]:
    """Return ``(m/z, charge)`` of ``formula`` as ``adduct`` (monoisotopic)."""
    name = normalise_adduct(adduct)
    n_m, added, charge = ADDUCTS[name]
    try:
        neutral = pymass.calculate_mass(formula=formula)
    except Exception as exc:  # pyteomics raises PyteomicsError for bad formulas
        raise InputError(f"cannot read formula ({exc})", field="formula", value=formula) from None
    added_mass = _formula_mass(added) if added else 0.0
    # a positive charge removes |z| electrons, a negative one adds them
    mz = (n_m * neutral + added_mass - charge * ELECTRON) / abs(charge)
    return mz, charge


def _row_to_molecule(name: str, formula: str, adduct: str, rt_s: float, window_s: float,
                     identifier: str = "") -> SmallMolecule:
    mz, charge = adduct_mz(formula, adduct)
    return SmallMolecule(name=name, formula=formula, adduct=normalise_adduct(adduct),
                         charge=abs(charge), precursor_mz=round(mz, 5), rt=round(rt_s, 2),
                         rt_window=window_s, identifier=identifier)


def read_standards(path: str | Path, rt_window_s: float = 60.0) -> list[SmallMolecule]:
    """Read an authentic-standards list: vimms ToxID CSV (``StdMix*_pHILIC_Current.csv``: RT in
    minutes, ``Adduct1`` = 1 for [M+H]+ in positive mode) or an asari JSON library (RT in
    seconds, ``ion`` such as ``M+H[1+]``). Entries whose adduct msuite does not know are skipped.
    """
    path = Path(path)
    out: list[SmallMolecule] = []
    if path.suffix.lower() == ".json":
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise FileFormatError(f"not valid JSON: {exc}", path=str(path)) from None
        if not isinstance(records, list):
            raise FileFormatError("expected a JSON list of records", path=str(path))
        for i, rec in enumerate(records):
            if not isinstance(rec, dict) or not rec.get("formula"):
                continue
            if rec.get("isotope", "M0") != "M0":
                continue
            try:
                adduct = normalise_adduct(str(rec.get("ion", "")))
                out.append(_row_to_molecule(str(rec.get("name", f"record {i}")),
                                            str(rec["formula"]), adduct,
                                            float(rec.get("rtime", math.nan)), rt_window_s,
                                            str(rec.get("identifier", ""))))
            except (InputError, TypeError, ValueError):
                continue
        return out
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    skip = next((i for i, ln in enumerate(lines) if ln.startswith("Index,")), 0)
    for row in read_table(path, required=("Compound Name", "Polarity"), text=text,
                          skip_lines=skip):
        formula_col = "Formula" if "Formula" in row.cells else "Elemental Composition"
        rt_col = "Expected RT" if "Expected RT" in row.cells else "Expected"
        polarity = row.text("Polarity", "+")
        if polarity not in "+-":
            raise InputError("unknown polarity", path=row.path, line=row.line,
                             field="Polarity", value=polarity, allowed="+ or -")
        adduct = "[M+H]+" if polarity == "+" else "[M-H]-"
        try:
            mol = _row_to_molecule(row.text("Compound Name"), row.text(formula_col), adduct,
                                   row.float(rt_col) * 60, rt_window_s)
        except InputError as exc:
            if exc.path:
                raise
            raise InputError(exc.message, path=row.path, line=row.line, field=formula_col,
                             value=exc.value) from None
        out.append(mol)
    return out


def metabolite_method(paths: list[str | Path], name: str = "metabolite panel",
                      rt_window_s: float = 60.0) -> Method:
    """A small-molecule (SIM/full-scan) method from standards lists; duplicates kept once."""
    method = Method(name=name)
    method.instrument.mz_min = 50.0
    method.instrument.mz_max = 1200.0
    method.instrument.polarity = "switching"
    seen = set()
    for path in paths:
        for mol in read_standards(path, rt_window_s):
            key = (mol.name.lower(), mol.adduct)
            if key not in seen:
                seen.add(key)
                method.small_molecules.append(mol)
    method.provenance = {"builder": "msuite method build --standards",
                         "sources": [Path(p).name for p in paths]}
    return method
