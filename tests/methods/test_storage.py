"""msuite's own format: TOML header + CSV tables."""

from __future__ import annotations

import math
import pickle
import tomllib
from pathlib import Path

import pytest

from msuite.core.errors import FileFormatError, InputError, SchemaVersionError
from msuite.methods.model import (
    SCHEMA_VERSION,
    DIAWindow,
    Method,
    PeptidePrecursor,
    Protein,
    SmallMolecule,
    Transition,
)
from msuite.methods.storage import load_method, save_method, to_toml


def _method() -> Method:
    m = Method(name='panel "A"', description="line1\nline2")
    m.proteins = [Protein("P1", "NAME_HUMAN", "GENE", "a protein, with comma", True)]
    m.precursors = [
        PeptidePrecursor(
            "P1",
            "SAMPLER",
            2,
            401.21,
            "light",
            "",
            12.5,
            10.0,
            20.0,
            transitions=[
                Transition("y", 4, 1, 500.3, 100.0, True, name="PEP_y4"),
                Transition("b", 3, 1, 300.1),
            ],
        ),
    ]
    m.small_molecules = [
        SmallMolecule(
            "Melatonin",
            "C13H16N2O2",
            "[M+H]+",
            1,
            233.12845,
            257.4,
            60.0,
            transitions=[Transition("", 0, 1, 174.1, name="melatonin_174")],
        )
    ]
    m.dia_windows = [DIAWindow(400, 425, 25.0), DIAWindow(425, 450)]
    m.provenance = {"fasta": ["a.fasta"], "options": {"x": 1}}
    return m


def test_round_trip(tmp_path: Path) -> None:
    m = _method()
    written = save_method(m, tmp_path / "m.toml")
    assert {p.name for p in written} == {
        "m.toml",
        "m.proteins.csv",
        "m.transitions.csv",
        "m.small_molecules.csv",
    }
    back = load_method(tmp_path / "m.toml")
    assert back.name == m.name and back.description == m.description
    assert back.proteins == m.proteins
    assert back.precursors[0].transitions[0] == m.precursors[0].transitions[0]
    assert math.isnan(back.precursors[0].transitions[1].library_intensity)
    assert back.small_molecules[0].name == "Melatonin"
    assert back.small_molecules[0].transitions[0].product_mz == 174.1
    assert back.precursors[0].transitions[0].name == "PEP_y4"
    assert back.precursors[0].transitions[1].name == ""
    assert back.small_molecules[0].transitions[0].name == "melatonin_174"
    assert back.dia_windows[0] == m.dia_windows[0]
    assert math.isnan(back.dia_windows[1].collision_energy)
    assert back.provenance["options"] == {"x": 1}


def test_header_is_valid_toml_with_schema_version(tmp_path: Path) -> None:
    save_method(_method(), tmp_path / "m.toml")
    data = tomllib.loads((tmp_path / "m.toml").read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["tables"]["transitions"] == "m.transitions.csv"


def test_toml_writer_escapes() -> None:
    text = to_toml({"a": 'q"\\\x01\x7f', "b": [1, 2.5, True], "t": {"k": "v"}})
    assert tomllib.loads(text) == {"a": 'q"\\\x01\x7f', "b": [1, 2.5, True], "t": {"k": "v"}}


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    save_method(_method(), tmp_path / "m.toml")
    path = tmp_path / "m.toml"
    path.write_text(
        path.read_text().replace(
            f"schema_version = {SCHEMA_VERSION}", f"schema_version = {SCHEMA_VERSION + 1}"
        )
    )
    with pytest.raises(SchemaVersionError) as info:
        load_method(path)
    assert info.value.field == "schema_version"
    assert pickle.loads(pickle.dumps(info.value)).value == SCHEMA_VERSION + 1


def test_bad_cell_names_row_and_column(tmp_path: Path) -> None:
    save_method(_method(), tmp_path / "m.toml")
    table = tmp_path / "m.transitions.csv"
    lines = table.read_text().splitlines()
    lines[2] = lines[2].replace("300.1", "3OO.1")
    table.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as info:
        load_method(tmp_path / "m.toml")
    assert info.value.line == 3
    assert info.value.field == "product_mz"
    assert info.value.value == "3OO.1"
    assert "m.transitions.csv:3" in str(info.value)


def test_bad_toml(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text("schema_version = = 1\n")
    with pytest.raises(FileFormatError, match="not valid TOML"):
        load_method(tmp_path / "x.toml")
    (tmp_path / "y.toml").write_text('name = "x"\n')
    with pytest.raises(FileFormatError, match="schema_version"):
        load_method(tmp_path / "y.toml")


def test_small_molecule_labels_round_trip(tmp_path: Path) -> None:
    m = _method()
    light = m.small_molecules[0]
    heavy = SmallMolecule(
        "Melatonin",
        "",
        "[M+H]+",
        1,
        237.1536,
        257.4,
        60.0,
        label="heavy",
        transitions=[Transition("", 0, 1, 178.1, name="melatonin_d4_178")],
    )
    m.small_molecules.append(heavy)
    save_method(m, tmp_path / "m.toml")
    header = (tmp_path / "m.small_molecules.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["name", "formula", "adduct", "label"]
    back = load_method(tmp_path / "m.toml")
    assert [(s.name, s.label, s.precursor_mz) for s in back.small_molecules] == [
        ("Melatonin", "light", light.precursor_mz),
        ("Melatonin", "heavy", 237.1536),
    ]
    assert back.small_molecules[1].transitions[0].name == "melatonin_d4_178"


def test_small_molecule_table_without_label_column_reads_light(tmp_path: Path) -> None:
    save_method(_method(), tmp_path / "m.toml")
    table = tmp_path / "m.small_molecules.csv"
    rows = [line.split(",") for line in table.read_text().splitlines()]
    at = rows[0].index("label")
    table.write_text("\n".join(",".join(r[:at] + r[at + 1 :]) for r in rows) + "\n")
    (mol,) = load_method(tmp_path / "m.toml").small_molecules
    assert (mol.name, mol.label, mol.precursor_mz) == ("Melatonin", "light", 233.12845)
    assert mol.transitions[0].product_mz == 174.1


def test_small_molecule_unknown_label_is_refused(tmp_path: Path) -> None:
    save_method(_method(), tmp_path / "m.toml")
    table = tmp_path / "m.small_molecules.csv"
    table.write_text(table.read_text().replace(",light,", ",medium,"))
    with pytest.raises(FileFormatError) as info:
        load_method(tmp_path / "m.toml")
    assert (info.value.field, info.value.value, info.value.line) == ("label", "medium", 2)


def test_reader_warnings_are_kept(tmp_path: Path) -> None:
    m = _method()
    m.provenance["warnings"] = ["Peptide x 'PEPTIDEB': not an amino-acid letter"]
    save_method(m, tmp_path / "m.toml")
    assert load_method(tmp_path / "m.toml").provenance["warnings"] == m.provenance["warnings"]
