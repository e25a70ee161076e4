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
    assert any("inconsistent with y" in p.message or "inconsistent with b" in p.message
               for p in problems)


def test_duplicates_unknown_mod_and_label() -> None:
    m = _method()
    p0 = m.precursors[0]
    p0.transitions.append(Transition(p0.transitions[0].ion_type, p0.transitions[0].ordinal, 1,
                                     p0.transitions[0].product_mz))
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
