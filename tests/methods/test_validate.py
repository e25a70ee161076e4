"""Validation: every problem named with its target, field, value and what is allowed."""

from __future__ import annotations

import itertools
import pickle

import pytest

from msuite.core.errors import InputError
from msuite.methods.builder import BuildOptions, build_peptide_precursors
from msuite.methods.model import Instrument, Method, SmallMolecule, Transition
from msuite.methods.small_molecules import adduct_mz
from msuite.methods.validate import MethodValidationError, check_method, validate_method


def _method() -> Method:
    m = Method(name="v")
    m.precursors = build_peptide_precursors("SAMPLEDIDEK", "P1", BuildOptions(), Instrument())
    return m


def test_clean_method_passes() -> None:
    m = _method()
    assert check_method(m) == []
    validate_method(m)


def test_precursor_mz_inconsistent() -> None:
    m = _method()
    m.precursors[0].precursor_mz += 0.5
    (problem,) = check_method(m)
    assert problem.field == "precursor_mz"
    assert "inconsistent with the sequence" in problem.message
    assert "0.02" in problem.allowed


def test_product_mz_inconsistent_and_out_of_range() -> None:
    m = _method()
    m.instrument.mz_max = 700
    m.precursors[0].transitions[1].product_mz += 1.0
    problems = check_method(m)
    fields = {(p.field, p.message.split(" (")[0]) for p in problems}
    assert ("product_mz", "outside the instrument's m/z range") in fields
    assert any(
        "inconsistent with y" in p.message or "inconsistent with b" in p.message for p in problems
    )


def test_duplicates_unknown_mod_and_label() -> None:
    m = _method()
    p0 = m.precursors[0]
    p0.transitions.append(
        Transition(
            p0.transitions[0].ion_type, p0.transitions[0].ordinal, 1, p0.transitions[0].product_mz
        )
    )
    m.precursors.append(m.precursors[0])
    bad = build_peptide_precursors("SAMPLEDIDEK", "P2", BuildOptions(), Instrument())[0]
    bad.modified_sequence = "SAMPLE[Foo]DIDEK"
    m.precursors.append(bad)
    problems = check_method(m)
    messages = [p.message for p in problems]
    assert "duplicate transition" in messages
    assert "precursor listed twice" in messages
    assert "unknown modification" in messages
    with pytest.raises(MethodValidationError) as info:
        validate_method(m)
    assert len(info.value.problems) == len(problems)
    again = pickle.loads(pickle.dumps(info.value))
    assert again.problems == info.value.problems


def test_small_molecule_checks() -> None:
    mz, z = adduct_mz("C13H16N2O2", "[M+H]+")
    assert mz == pytest.approx(233.1285, abs=1e-3) and z == 1
    m = Method(name="s")
    m.small_molecules = [
        SmallMolecule("Melatonin", "C13H16N2O2", "[M+H]+", 1, mz),
        SmallMolecule("Wrong", "C13H16N2O2", "[M+H]+", 1, mz + 1),
        SmallMolecule("Bad", "C13H16N2O2", "[M+Xe]+", 1, mz),
    ]
    problems = check_method(m)
    assert [p.target.split("/")[0] for p in problems] == ["Wrong", "Bad"]
    assert problems[1].message == "unknown adduct"
    with pytest.raises(InputError, match="cannot read formula"):
        adduct_mz("C13H16Q2", "[M+H]+")


def test_dia_windows() -> None:
    from msuite.methods.dia import fixed_windows

    windows = fixed_windows(400, 1000, 25, overlap=1)
    assert windows[0].lower == 400 and windows[-1].upper == 1000
    assert all(b.lower == pytest.approx(a.upper - 1) for a, b in itertools.pairwise(windows))
    assert windows[0].collision_energy == pytest.approx(0.0339 * 412.5 + 2.3597, abs=0.01)
    with pytest.raises(InputError, match="bad DIA window set"):
        fixed_windows(400, 300, 25)


def test_internal_standard_needs_a_light_partner() -> None:
    mz, _ = adduct_mz("C13H16N2O2", "[M+H]+")
    m = Method(name="is")
    m.small_molecules = [
        SmallMolecule("Melatonin", "C13H16N2O2", "[M+H]+", 1, mz),
        SmallMolecule("Melatonin", "", "[M+H]+", 1, mz + 4.0251, label="heavy"),
        SmallMolecule("Caffeine", "", "[M+H]+", 1, 198.1, label="heavy"),
    ]
    (problem,) = check_method(m)
    assert (problem.severity, problem.field, problem.value) == ("warning", "label", "heavy")
    assert problem.target == "Caffeine/[M+H]+/heavy"
    assert "'Caffeine'" in problem.allowed
    assert str(problem).startswith("warning: ")
    validate_method(m)  # warnings do not make a method invalid


def test_small_molecule_label_and_duplicate_key() -> None:
    m = Method(name="k")
    m.small_molecules = [
        SmallMolecule("A", "", "", 1, 200.0),
        SmallMolecule("A", "", "", 1, 200.0),  # same name, adduct, label and m/z
        SmallMolecule("A", "", "", 1, 206.0, label="heavy"),  # its internal standard: fine
        SmallMolecule("B", "", "", 1, 300.0, label="medium"),
    ]
    problems = check_method(m)
    assert [(p.target, p.field, p.message) for p in problems] == [
        ("A/?", "name", "small molecule listed twice"),
        ("B/?/medium", "label", "unknown isotope label"),
    ]
    with pytest.raises(MethodValidationError):
        validate_method(m)


def test_lenient_check_skips_mass_checks_of_kept_sequences() -> None:
    m = _method()
    kept = m.precursors[0]
    kept.modified_sequence = "SAMPLEDIDEB"  # B is not a residue: kept as given
    kept.transitions[0].product_mz = 2000.0
    strict = check_method(m)
    assert [(p.severity, p.field) for p in strict] == [("error", "modified_sequence")]
    lenient = check_method(m, strict=False)
    assert [(p.severity, p.field, p.message.split(" (")[0]) for p in lenient] == [
        (
            "warning",
            "modified_sequence",
            "not an amino-acid letter; kept as given, mass checks skipped",
        ),
        ("error", "product_mz", "outside the instrument's m/z range"),
    ]
    assert kept.sequence == "SAMPLEDIDEB"
