"""SpectraST MRM transition lists (``.mrm``, tab-separated, no header; read only).

Columns used (0-based), as OpenMS' TargetedFileConverter reads them: 3 precursor m/z,
4 retention time in seconds (``3887.50(57.30)``: mean and spread), 5 product m/z,
6 library intensity, 7 annotations (``y7/0.003,m2:4/0.01``; the first one is used, only plain
b/y ions with an optional ``^charge`` are kept as annotations), 9 ``SEQUENCE/charge`` with TPP
residue-mass modifications (``C[160]``, ``M[147]``, ``n[43]``), 12 protein accessions
(``;``-separated). Retention times are converted to iRT with the default instrument mapping.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from msuite.core.errors import FileFormatError, InputError
from msuite.methods.chemistry import AA_MASS, MODIFICATIONS, parse_peptide
from msuite.methods.formats.common import group_precursors, protein_list
from msuite.methods.model import Method, Transition

__all__ = ["read_spectrast"]

_TPP = re.compile(r"(n?)([A-Z]?)\[(\d+(?:\.\d+)?)\]")
_PLAIN_ION = re.compile(r"^([by])(\d+)(?:\^(\d+))?$")
H_MASS = 1.007825


def tpp_to_proforma(text: str) -> str:
    """Rewrite TPP residue masses (``C[160]``, ``n[43]``) as mass shifts (``C[+57.0215]``)."""

    def repl(m: re.Match) -> str:
        nterm, residue, value = m.group(1), m.group(2), float(m.group(3))
        if nterm:
            return f"[{value - H_MASS:+.4f}]-" + residue
        if residue not in AA_MASS:
            raise InputError("unknown residue before modification", value=text)
        delta = value - AA_MASS[residue]
        # TPP masses are rounded to integers: pick the known modification within 0.5
        for mod in MODIFICATIONS.values():
            if residue in mod.sites and abs(mod.delta - delta) <= 0.5:
                return f"{residue}[{mod.name}]"
        return f"{residue}[{delta:+.4f}]"

    return _TPP.sub(repl, text)


def read_spectrast(path: str | Path) -> Method:
    """Read a SpectraST ``.mrm`` list."""
    path = Path(path)
    method = Method(name=path.stem)
    inst = method.instrument
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise FileFormatError("not a text file", path=str(path)) from None
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        where = {"path": str(path), "line": number}
        if len(cells) < 13:
            raise FileFormatError("too few columns for a SpectraST MRM line", value=len(cells),
                                  allowed="13 tab-separated columns", **where)
        try:
            prec_mz = float(cells[3])
            prod_mz = float(cells[5])
            intensity = float(cells[6]) if cells[6].strip() else math.nan
            rt = float(cells[4].split("(")[0]) if cells[4].strip() else math.nan
        except ValueError as exc:
            raise InputError(f"not a number ({exc})", field="columns 4-7", value=cells[3:7],
                             **where) from None
        seq_text, _, charge_text = cells[9].partition("/")
        if not charge_text.isdigit() or int(charge_text) < 1:
            raise InputError("expected SEQUENCE/charge", field="column 10", value=cells[9],
                             **where)
        try:
            parsed = parse_peptide(tpp_to_proforma(seq_text))
        except InputError as exc:
            raise InputError(exc.message, field="column 10", value=cells[9],
                             allowed=exc.allowed, **where) from None
        first = cells[7].split(",")[0].split("/")[0]
        m = _PLAIN_ION.match(first)
        ion, ordinal, zfrag = ("", 0, 1)
        if m:
            ion, ordinal, zfrag = m.group(1), int(m.group(2)), int(m.group(3) or 1)
        charge = int(charge_text)
        fields = {
            "protein": cells[12].strip(),
            "modified_sequence": parsed.proforma,
            "charge": charge,
            "precursor_mz": prec_mz,
            "irt": round((rt - inst.irt_intercept) / inst.irt_slope, 2)
            if not math.isnan(rt) else math.nan,
        }
        rows.append(((fields["protein"], parsed.proforma, charge, "light"), fields,
                     Transition(ion, ordinal, zfrag, prod_mz, intensity)))
    if not rows:
        raise FileFormatError("no transitions found", path=str(path))
    method.precursors = group_precursors(rows)
    protein_list(method)
    return method
