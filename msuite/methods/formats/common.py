"""Helpers shared by the transition-list formats."""

from __future__ import annotations

import math

from msuite.core.errors import InputError
from msuite.methods.chemistry import MODIFICATIONS, parse_peptide, plain_sequence, try_parse_peptide
from msuite.methods.irt import IRT_PROTEIN, IRT_STANDARDS
from msuite.methods.model import Method, PeptidePrecursor, Protein, Transition

__all__ = [
    "LENIENT_NOTE",
    "add_warning",
    "fmt",
    "mass_shift_sequence",
    "parse_annotation",
    "peptide_or_text",
    "protein_list",
]

#: how a lenient read describes a sequence it keeps as given
LENIENT_NOTE = "kept as given with the list's m/z (strict=False); mass checks skipped"


def fmt(value: float, digits: int = 5) -> str:
    """Format a number compactly; NaN -> empty cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def mass_shift_sequence(modified_sequence: str) -> str:
    """Rewrite a ProForma sequence with mass shifts (``C[+57.021464]``), as Skyline reads them.

    A sequence kept as given by a lenient read is returned unchanged.
    """
    parsed = try_parse_peptide(modified_sequence)
    if parsed is None:
        return modified_sequence
    out = []
    if parsed.nterm:
        out.append(f"[{parsed.nterm.delta:+.6f}]")
    for aa, mod in zip(parsed.residues, parsed.mods, strict=True):
        out.append(aa if mod is None else f"{aa}[{mod.delta:+.6f}]")
    return "".join(out)


def add_warning(method: Method, text: str) -> None:
    """Record a reader warning in ``method.provenance["warnings"]`` (once per text)."""
    warnings = method.provenance.setdefault("warnings", [])
    if text not in warnings:
        warnings.append(text)


def peptide_or_text(
    text: str, *, strict: bool, field: str, where: dict, method: Method
) -> tuple[str, str]:
    """Read a list's modified sequence; return (modified sequence, plain residues).

    With ``strict`` a sequence :func:`parse_peptide` refuses raises :class:`InputError` naming
    ``field``, the value and the file position in ``where``. Without it the text is kept as
    given (stripped), its residues are the text without bracketed modifications, and a warning
    naming the sequence is added to ``method.provenance["warnings"]``.
    """
    try:
        parsed = parse_peptide(text)
    except InputError as exc:
        if strict:
            raise InputError(
                exc.message, field=field, value=text, allowed=exc.allowed, **where
            ) from None
        kept = text.strip()
        add_warning(method, f"{field} {kept!r}: {exc.message}; {LENIENT_NOTE}")
        return kept, plain_sequence(kept)
    return parsed.proforma, parsed.residues


def parse_annotation(text: str, where: dict) -> tuple[str, int, int]:
    """Parse ``y7``, ``b3^2``, ``y7+2``, ``y7++`` into (ion type, ordinal, charge)."""
    raw = text.strip()
    if not raw:
        return "", 0, 1
    s = raw.lower()
    charge = 1
    if "^" in s:
        s, _, c = s.partition("^")
        charge = int(c) if c.isdigit() else -1
    elif s.endswith("+") and s.rstrip("+") and s.rstrip("+")[-1].isdigit() and "+" in s:
        plus = len(s) - len(s.rstrip("+"))
        s = s.rstrip("+")
        charge = plus
    elif "+" in s[1:]:
        s, _, c = s.partition("+")
        charge = int(c) if c.isdigit() else -1
    if charge < 1 or len(s) < 2 or s[0] not in "by" or not s[1:].isdigit():
        raise InputError(
            "cannot read fragment annotation",
            value=raw,
            allowed="y7, b3, y7^2, y7+2 or y7++",
            **where,
        )
    return s[0], int(s[1:]), charge


def protein_list(method: Method) -> None:
    """Finish a method read from a list: mark the iRT standards (formats without a flag for
    them: sequence is an iRT peptide and protein or iRT match the kit) and fill
    ``method.proteins`` from the precursors' accessions when it is empty."""
    for p in method.precursors:
        published = IRT_STANDARDS.get(p.modified_sequence)
        if published is not None and (p.protein == IRT_PROTEIN or abs(p.irt - published) < 0.05):
            p.irt_standard = True
    if method.proteins:
        return
    seen: dict[str, None] = {}
    for p in method.precursors:
        for acc in p.protein.split(";"):
            if acc:
                seen.setdefault(acc, None)
    method.proteins = [Protein(acc) for acc in seen]


def group_precursors(
    rows: list[tuple[tuple, dict, Transition | None]],
) -> list[PeptidePrecursor]:
    """Group rows ``(key, precursor fields, transition)`` into precursors, keeping order."""
    out: dict[tuple, PeptidePrecursor] = {}
    for key, fields, trans in rows:
        prec = out.get(key)
        if prec is None:
            prec = PeptidePrecursor(**fields)
            out[key] = prec
        if trans is not None:
            prec.transitions.append(trans)
    return list(out.values())


KNOWN_MODS = ", ".join(MODIFICATIONS)
