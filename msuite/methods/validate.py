"""Method validation: every problem found, each naming the target, field, value and what is allowed.

Checks
------
- peptide sequences parse and use known modifications (:mod:`msuite.methods.chemistry`);
- precursor and annotated product m/z agree with the values recomputed with pyteomics masses
  within ``MZ_TOLERANCE`` (0.02 m/z, enough for 4-decimal vendor lists, far below one residue);
- every precursor and product m/z lies inside the instrument's m/z range;
- charges are at least 1, labels light/heavy, no transition repeated within a precursor (same
  product m/z within 0.001 or same annotation), no precursor repeated;
- small molecules: the precursor m/z agrees with formula + adduct when both are given;
- iRT windows and collision energies are not negative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from msuite.core.errors import InputError
from msuite.methods.chemistry import fragment_mz, parse_peptide, precursor_mz
from msuite.methods.model import LABELS, Method

__all__ = ["MZ_TOLERANCE", "MethodValidationError", "Problem", "check_method", "validate_method"]

MZ_TOLERANCE = 0.02
DUPLICATE_TOLERANCE = 0.001


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation finding."""

    target: str
    field: str
    value: object
    message: str
    allowed: str = ""

    def __str__(self) -> str:
        text = f"{self.target}: field '{self.field}' = {self.value!r}: {self.message}"
        return text + (f" (allowed: {self.allowed})" if self.allowed else "")


class MethodValidationError(InputError):
    """A method failed validation; ``problems`` lists every finding."""


def check_method(method: Method) -> list[Problem]:
    """Return every problem found in ``method`` (empty when it is valid)."""
    problems: list[Problem] = []
    inst = method.instrument
    mz_range = f"{inst.mz_min:g}-{inst.mz_max:g} ({inst.model})"
    seen_precursors: set[tuple] = set()
    for p in method.precursors:
        target = f"{p.protein}/{p.modified_sequence}/{p.charge}+/{p.label}"
        try:
            parsed = parse_peptide(p.modified_sequence)
        except InputError as exc:
            problems.append(Problem(target, "modified_sequence", p.modified_sequence,
                                    exc.message, str(exc.allowed or "")))
            continue
        if p.label not in LABELS:
            problems.append(Problem(target, "label", p.label, "unknown isotope label",
                                    ", ".join(LABELS)))
            continue
        if p.charge < 1:
            problems.append(Problem(target, "precursor_charge", p.charge, "charge below 1", ">= 1"))
            continue
        if p.key in seen_precursors:
            problems.append(Problem(target, "precursor", p.key, "precursor listed twice"))
        seen_precursors.add(p.key)
        expected = precursor_mz(parsed, p.charge, p.label, p.labelled_residues)
        if not abs(expected - p.precursor_mz) <= MZ_TOLERANCE:
            problems.append(Problem(
                target, "precursor_mz", p.precursor_mz,
                f"inconsistent with the sequence (computed {expected:.4f})",
                f"within {MZ_TOLERANCE} m/z of the computed value"))
        if not inst.mz_min <= p.precursor_mz <= inst.mz_max:
            problems.append(Problem(target, "precursor_mz", p.precursor_mz,
                                    "outside the instrument's m/z range", mz_range))
        if p.irt_window < 0:
            problems.append(Problem(target, "irt_window", p.irt_window, "negative window", ">= 0"))
        if p.collision_energy < 0:
            problems.append(Problem(target, "collision_energy", p.collision_energy,
                                    "negative collision energy", ">= 0"))
        seen_mz: list[float] = []
        seen_ann: set[str] = set()
        for t in p.transitions:
            where = f"{target} {t.annotation or f'{t.product_mz:g}'}"
            if t.charge < 1:
                problems.append(Problem(where, "product_charge", t.charge, "charge below 1",
                                        ">= 1"))
                continue
            if any(abs(t.product_mz - m) <= DUPLICATE_TOLERANCE for m in seen_mz) or (
                t.annotation and t.annotation in seen_ann
            ):
                problems.append(Problem(where, "product_mz", t.product_mz,
                                        "duplicate transition"))
            seen_mz.append(t.product_mz)
            if t.annotation:
                seen_ann.add(t.annotation)
            if not inst.mz_min <= t.product_mz <= inst.mz_max:
                problems.append(Problem(where, "product_mz", t.product_mz,
                                        "outside the instrument's m/z range", mz_range))
            if t.ion_type:
                try:
                    frag = fragment_mz(parsed, t.ion_type, t.ordinal, t.charge, p.label,
                                       p.labelled_residues)
                except InputError as exc:
                    problems.append(Problem(where, exc.field or "fragment", exc.value,
                                            exc.message, str(exc.allowed or "")))
                    continue
                if not abs(frag - t.product_mz) <= MZ_TOLERANCE:
                    problems.append(Problem(
                        where, "product_mz", t.product_mz,
                        f"inconsistent with {t.annotation} of the sequence (computed {frag:.4f})",
                        f"within {MZ_TOLERANCE} m/z of the computed value"))
    problems += _check_small_molecules(method, mz_range)
    return problems


def _check_small_molecules(method: Method, mz_range: str) -> list[Problem]:
    from msuite.methods.small_molecules import adduct_mz

    inst = method.instrument
    problems = []
    seen = set()
    for s in method.small_molecules:
        target = f"{s.name}/{s.adduct or '?'}"
        if (s.name, s.adduct) in seen:
            problems.append(Problem(target, "name", s.name, "small molecule listed twice"))
        seen.add((s.name, s.adduct))
        if s.formula and s.adduct:
            try:
                mz, _ = adduct_mz(s.formula, s.adduct)
            except InputError as exc:
                problems.append(Problem(target, exc.field or "formula", exc.value, exc.message,
                                        str(exc.allowed or "")))
            else:
                if not abs(mz - s.precursor_mz) <= MZ_TOLERANCE:
                    problems.append(Problem(
                        target, "precursor_mz", s.precursor_mz,
                        f"inconsistent with {s.formula} {s.adduct} (computed {mz:.4f})",
                        f"within {MZ_TOLERANCE} m/z of the computed value"))
        if not inst.mz_min <= s.precursor_mz <= inst.mz_max:
            problems.append(Problem(target, "precursor_mz", s.precursor_mz,
                                    "outside the instrument's m/z range", mz_range))
        seen_mz: list[float] = []
        for t in s.transitions:
            if any(abs(t.product_mz - m) <= DUPLICATE_TOLERANCE for m in seen_mz):
                problems.append(Problem(target, "product_mz", t.product_mz,
                                        "duplicate transition"))
            seen_mz.append(t.product_mz)
            if not inst.mz_min <= t.product_mz <= inst.mz_max:
                problems.append(Problem(target, "product_mz", t.product_mz,
                                        "outside the instrument's m/z range", mz_range))
        if not math.isnan(s.rt) and s.rt < 0:
            problems.append(Problem(target, "rt_s", s.rt, "negative retention time", ">= 0"))
    return problems


def validate_method(method: Method) -> None:
    """Raise :class:`MethodValidationError` listing every problem, if any."""
    problems = check_method(method)
    if problems:
        first = problems[0]
        raise MethodValidationError(
            f"{len(problems)} problem(s); first: {first}",
            field=first.field,
            value=first.value,
            problems=[str(p) for p in problems],
        )
