"""Method validation: every problem found, each naming the target, field, value and what is allowed.

Checks
------
- peptide sequences parse and use known modifications (:mod:`msuite.methods.chemistry`);
- precursor and annotated product m/z agree with the values recomputed with pyteomics masses
  within ``MZ_TOLERANCE`` (0.02 m/z, enough for 4-decimal vendor lists, far below one residue);
- every precursor and product m/z lies inside the instrument's m/z range;
- charges are at least 1, labels light/heavy, no transition repeated within a precursor (same
  product m/z within 0.001 or same annotation), no precursor repeated;
- small molecules: the precursor m/z agrees with formula + adduct when both are given, labels
  light/heavy, no molecule repeated (same name, adduct, label and precursor m/z), and every
  ``heavy`` internal standard has a ``light`` molecule of the same name (a warning otherwise);
- iRT windows and collision energies are not negative.

Problems have a ``severity``: ``"error"`` (the method is wrong) or ``"warning"`` (worth a look,
the method is usable). :func:`validate_method` raises for errors only. ``check_method(method,
strict=False)`` checks a method read leniently: a sequence kept as given is a warning and its
mass-derived checks are skipped, the other checks still run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from msuite.core.errors import InputError
from msuite.methods.chemistry import fragment_mz, parse_peptide, precursor_mz
from msuite.methods.model import LABELS, Method, PeptidePrecursor

__all__ = [
    "MZ_TOLERANCE",
    "SEVERITIES",
    "MethodValidationError",
    "Problem",
    "check_method",
    "validate_method",
]

#: problem severities: errors make a method invalid, warnings do not
SEVERITIES = ("error", "warning")

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
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        """True for errors, False for warnings."""
        return self.severity == "error"

    def __str__(self) -> str:
        text = f"{self.target}: field '{self.field}' = {self.value!r}: {self.message}"
        text += f" (allowed: {self.allowed})" if self.allowed else ""
        return text if self.is_error else f"warning: {text}"


class MethodValidationError(InputError):
    """A method failed validation; ``problems`` lists every finding."""


def check_method(method: Method, strict: bool = True) -> list[Problem]:
    """Return every problem found in ``method``, errors and warnings (empty when it is clean).

    Parameters
    ----------
    method
        The method to check.
    strict
        When True (default) a sequence that cannot be read is an error and its precursor is
        not checked further. When False (methods read with ``read_any(path, strict=False)``)
        it is a warning, the mass-derived checks of that precursor are skipped and the others
        (label, charge, duplicates, m/z range, windows, collision energy) still run.
    """
    problems: list[Problem] = []
    inst = method.instrument
    mz_range = f"{inst.mz_min:g}-{inst.mz_max:g} ({inst.model})"
    seen_precursors: set[tuple] = set()
    for p in method.precursors:
        target = f"{p.protein}/{p.modified_sequence}/{p.charge}+/{p.label}"
        try:
            parsed = parse_peptide(p.modified_sequence)
        except InputError as exc:
            if strict:
                problems.append(
                    Problem(
                        target,
                        "modified_sequence",
                        p.modified_sequence,
                        exc.message,
                        str(exc.allowed or ""),
                    )
                )
                continue
            problems.append(
                Problem(
                    target,
                    "modified_sequence",
                    p.modified_sequence,
                    f"{exc.message}; kept as given, mass checks skipped",
                    str(exc.allowed or ""),
                    severity="warning",
                )
            )
            parsed = None
        if p.label not in LABELS:
            problems.append(
                Problem(target, "label", p.label, "unknown isotope label", ", ".join(LABELS))
            )
            continue
        if p.charge < 1:
            problems.append(Problem(target, "precursor_charge", p.charge, "charge below 1", ">= 1"))
            continue
        if p.key in seen_precursors:
            problems.append(Problem(target, "precursor", p.key, "precursor listed twice"))
        seen_precursors.add(p.key)
        if parsed is not None:
            expected = precursor_mz(parsed, p.charge, p.label, p.labelled_residues)
            if not abs(expected - p.precursor_mz) <= MZ_TOLERANCE:
                problems.append(
                    Problem(
                        target,
                        "precursor_mz",
                        p.precursor_mz,
                        f"inconsistent with the sequence (computed {expected:.4f})",
                        f"within {MZ_TOLERANCE} m/z of the computed value",
                    )
                )
        if not inst.mz_min <= p.precursor_mz <= inst.mz_max:
            problems.append(
                Problem(
                    target,
                    "precursor_mz",
                    p.precursor_mz,
                    "outside the instrument's m/z range",
                    mz_range,
                )
            )
        if p.irt_window < 0:
            problems.append(Problem(target, "irt_window", p.irt_window, "negative window", ">= 0"))
        if p.collision_energy < 0:
            problems.append(
                Problem(
                    target,
                    "collision_energy",
                    p.collision_energy,
                    "negative collision energy",
                    ">= 0",
                )
            )
        problems += _check_transitions(p, target, parsed, mz_range, inst.mz_min, inst.mz_max)
    problems += _check_small_molecules(method, mz_range)
    return problems


def _check_transitions(
    p: PeptidePrecursor, target: str, parsed, mz_range: str, mz_min: float, mz_max: float
) -> list[Problem]:
    """Transition checks of one precursor (fragment m/z only when ``parsed`` is given)."""
    problems: list[Problem] = []
    seen_mz: list[float] = []
    seen_ann: set[str] = set()
    for t in p.transitions:
        where = f"{target} {t.annotation or f'{t.product_mz:g}'}"
        if t.charge < 1:
            problems.append(Problem(where, "product_charge", t.charge, "charge below 1", ">= 1"))
            continue
        if any(abs(t.product_mz - m) <= DUPLICATE_TOLERANCE for m in seen_mz) or (
            t.annotation and t.annotation in seen_ann
        ):
            problems.append(Problem(where, "product_mz", t.product_mz, "duplicate transition"))
        seen_mz.append(t.product_mz)
        if t.annotation:
            seen_ann.add(t.annotation)
        if not mz_min <= t.product_mz <= mz_max:
            problems.append(
                Problem(
                    where,
                    "product_mz",
                    t.product_mz,
                    "outside the instrument's m/z range",
                    mz_range,
                )
            )
        if t.ion_type and parsed is not None:
            try:
                frag = fragment_mz(
                    parsed, t.ion_type, t.ordinal, t.charge, p.label, p.labelled_residues
                )
            except InputError as exc:
                problems.append(
                    Problem(
                        where,
                        exc.field or "fragment",
                        exc.value,
                        exc.message,
                        str(exc.allowed or ""),
                    )
                )
                continue
            if not abs(frag - t.product_mz) <= MZ_TOLERANCE:
                problems.append(
                    Problem(
                        where,
                        "product_mz",
                        t.product_mz,
                        f"inconsistent with {t.annotation} of the sequence (computed {frag:.4f})",
                        f"within {MZ_TOLERANCE} m/z of the computed value",
                    )
                )
    return problems


def _check_small_molecules(method: Method, mz_range: str) -> list[Problem]:
    from msuite.methods.small_molecules import adduct_mz

    inst = method.instrument
    problems = []
    seen = set()
    light_names = {s.name for s in method.small_molecules if s.label == "light"}
    for s in method.small_molecules:
        target = f"{s.name}/{s.adduct or '?'}" + (f"/{s.label}" if s.label != "light" else "")
        if s.label not in LABELS:
            problems.append(
                Problem(target, "label", s.label, "unknown isotope label", ", ".join(LABELS))
            )
        elif s.label == "heavy" and s.name not in light_names:
            problems.append(
                Problem(
                    target,
                    "label",
                    s.label,
                    "internal standard without a light partner",
                    f"a light small molecule named {s.name!r}",
                    severity="warning",
                )
            )
        if s.key in seen:
            problems.append(Problem(target, "name", s.name, "small molecule listed twice"))
        seen.add(s.key)
        if s.formula and s.adduct:
            try:
                mz, _ = adduct_mz(s.formula, s.adduct)
            except InputError as exc:
                problems.append(
                    Problem(
                        target,
                        exc.field or "formula",
                        exc.value,
                        exc.message,
                        str(exc.allowed or ""),
                    )
                )
            else:
                if not abs(mz - s.precursor_mz) <= MZ_TOLERANCE:
                    problems.append(
                        Problem(
                            target,
                            "precursor_mz",
                            s.precursor_mz,
                            f"inconsistent with {s.formula} {s.adduct} (computed {mz:.4f})",
                            f"within {MZ_TOLERANCE} m/z of the computed value",
                        )
                    )
        if not inst.mz_min <= s.precursor_mz <= inst.mz_max:
            problems.append(
                Problem(
                    target,
                    "precursor_mz",
                    s.precursor_mz,
                    "outside the instrument's m/z range",
                    mz_range,
                )
            )
        seen_mz: list[float] = []
        for t in s.transitions:
            if any(abs(t.product_mz - m) <= DUPLICATE_TOLERANCE for m in seen_mz):
                problems.append(Problem(target, "product_mz", t.product_mz, "duplicate transition"))
            seen_mz.append(t.product_mz)
            if not inst.mz_min <= t.product_mz <= inst.mz_max:
                problems.append(
                    Problem(
                        target,
                        "product_mz",
                        t.product_mz,
                        "outside the instrument's m/z range",
                        mz_range,
                    )
                )
        if not math.isnan(s.rt) and s.rt < 0:
            problems.append(Problem(target, "rt_s", s.rt, "negative retention time", ">= 0"))
    return problems


def validate_method(method: Method, strict: bool = True) -> None:
    """Raise :class:`MethodValidationError` listing every error, if any (warnings pass)."""
    problems = [p for p in check_method(method, strict) if p.is_error]
    if problems:
        first = problems[0]
        raise MethodValidationError(
            f"{len(problems)} problem(s); first: {first}",
            field=first.field,
            value=first.value,
            problems=[str(p) for p in problems],
        )
