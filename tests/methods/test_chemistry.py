"""Modified-sequence parsing and m/z against pyteomics."""

from __future__ import annotations

import pytest
from pyteomics import mass

from msuite.core.errors import InputError
from msuite.methods.chemistry import fragment_mz, parse_peptide, precursor_mz
from msuite.methods.collision_energy import REGRESSIONS, collision_energy, get_regression


@pytest.mark.parametrize(
    "text",
    [
        "PEPT[Phospho]IDEK",
        "PEPT[UNIMOD:21]IDEK",
        "PEPT(UniMod:21)IDEK",
        "PEPT(Phospho)IDEK",
        "PEPT[+79.966331]IDEK",
        "PEPT[+80]IDEK",
        "PEPpTIDEK",
    ],
)
def test_phospho_spellings_agree(text: str) -> None:
    assert parse_peptide(text).proforma == "PEPT[Phospho]IDEK"


def test_nterm_acetyl_and_oxidation() -> None:
    assert parse_peptide("acSAMPLEoxMK").proforma == "[Acetyl]-SAMPLEM[Oxidation]K"
    assert parse_peptide("[Acetyl]-SAMPLEM[Oxidation]K").proforma == "[Acetyl]-SAMPLEM[Oxidation]K"


def test_masses_match_pyteomics() -> None:
    pep = parse_peptide("LGGNEQVTR")
    assert precursor_mz(pep, 2) == pytest.approx(mass.calculate_mass(sequence="LGGNEQVTR",
                                                                       charge=2), abs=1e-6)
    assert fragment_mz(pep, "y", 3) == pytest.approx(
        mass.fast_mass("VTR", ion_type="y", charge=1), abs=1e-6)
    assert fragment_mz(pep, "b", 2, charge=1) == pytest.approx(
        mass.fast_mass("LG", ion_type="b", charge=1), abs=1e-6)
    phospho = parse_peptide("PEPT[Phospho]IDEK")
    expected = mass.calculate_mass(sequence="PEPTIDEK", charge=2) + 79.966331 / 2
    assert precursor_mz(phospho, 2) == pytest.approx(expected, abs=1e-5)


def test_heavy_label_shifts() -> None:
    pep = parse_peptide("SAMPLER")
    light = precursor_mz(pep, 2)
    assert precursor_mz(pep, 2, "heavy", "KR") - light == pytest.approx(10.008269 / 2, abs=1e-6)
    k = parse_peptide("SAMPLEK")
    assert precursor_mz(k, 1, "heavy", "KR") - precursor_mz(k, 1) == pytest.approx(8.014199)
    # b ions do not carry the C-terminal label, y ions do
    assert fragment_mz(k, "b", 3, 1, "heavy", "KR") == pytest.approx(fragment_mz(k, "b", 3))
    assert fragment_mz(k, "y", 3, 1, "heavy", "KR") - fragment_mz(k, "y", 3) == pytest.approx(
        8.014199)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PEPT[Foo]IDE", "unknown modification"),
        ("PEPA[Phospho]IDE", "not allowed on A"),
        ("PEPXIDE", "not an amino-acid letter"),
        ("", "empty peptide"),
        ("PEPT[+123.456]IDE", "unknown modification"),
        ("PEPzzTIDE", "unknown modification"),
    ],
)
def test_bad_sequences_raise_clear_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_peptide(text)
    assert info.value.field == "modified_sequence"


def test_collision_energy_regressions_are_skylines() -> None:
    # Thermo TSQ Quantiva, charge 2: 0.0339 * m/z + 2.3597
    assert collision_energy(500.0, 2, "Thermo TSQ Quantiva") == pytest.approx(19.31, abs=0.01)
    assert collision_energy(500.0, 3, "Thermo TSQ Vantage") == pytest.approx(21.281, abs=0.01)
    # a charge without its own line uses the nearest lower one
    assert get_regression("SCIEX").energy(600, 5) == pytest.approx(0.05 * 600 - 2)
    assert get_regression("thermo tsq quantiva").name == "Thermo TSQ Quantiva"
    assert len(REGRESSIONS) >= 7
    with pytest.raises(InputError, match="unknown collision-energy regression"):
        get_regression("Foo 9000")
