"""mzTab 1.0 (peptides, proteins) and mzTab-M 2.0 (small molecules) written by msuite quant,
checked line by line against the specification's rules and read back with pyteomics."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pyteomics import mass as pymass
from pyteomics import mztab

from msuite.methods.chemistry import HEAVY_LABELS, parse_peptide, precursor_mz
from msuite.methods.model import HEAVY_RESIDUES
from msuite.quant.mztab import write_mztab_m, write_mztab_peptides
from msuite.quant.mztab_mods import (
    format_modifications,
    label_modifications,
    modification_metadata,
    sequence_modifications,
    unimod_isotopic_labels,
)

RUNS = [("run_a", "/data/run_a.mzML"), ("run_b", "/data/run_b.h5")]
PARAMS = {"rt_window_min": None, "mz_tolerance": 0.055, "peak_group": {"rt_weight": 0.0}}


def _peptide(run: str, ratio: float, found: bool = True) -> dict:
    return {
        "run": run,
        "group_id": "C[Carbamidomethyl]PEPTIDEK_2",
        "protein": "P1",
        "peptide_or_compound": "C[Carbamidomethyl]PEPTIDEK",
        "charge": 2,
        "found": found,
        "rt": 10.5 if found else math.nan,
        "rt_left": 10.4 if found else math.nan,
        "rt_right": 10.6 if found else math.nan,
        "light_area": ratio * 100.0,
        "heavy_area": 100.0,
        "ratio": ratio,
        "ratio_basis": "quantifier",
        "response": ratio,
        "concentration": math.nan,
        "n_heavy_found": 2,
        "kind": "peptide",
    }


def _compound(run: str, response: float) -> dict:
    return {
        "run": run,
        "group_id": "caffeine",
        "protein": "",
        "peptide_or_compound": "caffeine",
        "charge": 1,
        "found": True,
        "rt": 2.0,
        "rt_left": 1.9,
        "rt_right": 2.1,
        "light_area": 50.0,
        "heavy_area": 25.0,
        "ratio": response,
        "ratio_basis": "quantifier",
        "response": response,
        "concentration": 4.2,
        "kind": "compound",
    }


TRANSITIONS = [
    {
        "group_id": "C[Carbamidomethyl]PEPTIDEK_2",
        "label": "light",
        "precursor_mz": 523.77,
        "group_score": 1.5,
    },
    {"group_id": "caffeine", "label": "light", "precursor_mz": 195.0877, "group_score": 2.0},
]


def _check_lines(text: str) -> None:
    """Every line is prefixed, tab-separated, without empty cells; tables match headers."""
    widths = {}
    for line in text.splitlines():
        if not line:
            continue
        cells = line.split("\t")
        assert cells[0] in ("MTD", "PRH", "PRT", "PEH", "PEP", "SMH", "SML", "SFH", "SMF")
        assert all(c != "" for c in cells), line
        if cells[0].endswith("H"):
            widths[cells[0]] = len(cells)
        elif cells[0] != "MTD":
            head = {"PRT": "PRH", "PEP": "PEH", "SML": "SMH", "SMF": "SFH"}[cells[0]]
            assert len(cells) == widths[head], line


def test_peptide_mztab_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "p.mzTab"
    peps = [_peptide("run_a", 0.5), _peptide("run_b", math.nan, found=False)]
    prots = [
        {"run": "run_a", "protein": "P1", "ratio": 0.5, "n_peptides": 1},
        {"run": "run_b", "protein": "P1", "ratio": math.nan, "n_peptides": 1},
    ]
    write_mztab_peptides(path, RUNS, peps, prots, TRANSITIONS, PARAMS)
    text = path.read_text()
    _check_lines(text)
    tab = mztab.MzTab(str(path), table_format="dict")
    assert tab.version == "1.0.0"
    md = tab.metadata
    assert md["mzTab-mode"] == "Summary" and md["mzTab-type"] == "Quantification"
    assert md["ms_run[2]-location"] == "file:///data/run_b.h5"
    assert md["assay[2]-ms_run_ref"] == "ms_run[2]"
    assert "mz_tolerance=0.055" in md.values() and "peak_group.rt_weight=0.0" in md.values()
    [row] = tab.peptide_table["rows"]
    assert row["sequence"] == "CPEPTIDEK"
    assert row["modifications"] == "1-UNIMOD:4"
    assert row["accession"] == "P1" and row["charge"] == 2
    assert row["peptide_abundance_study_variable[1]"] == 0.5
    assert math.isnan(row["peptide_abundance_study_variable[2]"])
    assert row["retention_time"] == 630.0  # seconds in mzTab (10.5 min)
    assert row["mass_to_charge"] == 523.77
    [prot] = tab.protein_table["rows"]
    assert prot["protein_abundance_study_variable[1]"] == 0.5


def test_small_molecule_mztab_m_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "c.mzTab"
    write_mztab_m(
        path, RUNS, [_compound("run_a", 2.0), _compound("run_b", 3.0)], TRANSITIONS, PARAMS
    )
    text = path.read_text()
    _check_lines(text)
    tab = mztab.MzTab(str(path), table_format="dict")
    assert tab.version == "2.0.0-M" and tab.variant == "M"
    md = tab.metadata
    for key in (
        "mzTab-ID",
        "cv[1]-label",
        "database[1]",
        "ms_run[1]-scan_polarity[1]",
        "small_molecule-quantification_unit",
        "id_confidence_measure[1]",
        "quantification_method",
        "study_variable[2]-assay_refs",
    ):
        assert key in md, key
    [sml] = tab.small_molecule_table["rows"]
    assert sml["chemical_name"] == "caffeine"
    assert sml["abundance_assay[1]"] == 2.0 and sml["abundance_assay[2]"] == 3.0
    assert sml["opt_assay[1]_concentration"] == 4.2
    assert str(sml["SMF_ID_REFS"]) == "1|2"
    features = tab.small_molecule_feature_table["rows"]
    assert [f["retention_time_in_seconds"] for f in features] == [120.0, 120.0]
    assert features[0]["abundance_assay[1]"] == 50.0 and features[0]["abundance_assay[2]"] is None
    assert features[0]["exp_mass_to_charge"] == 195.0877


# ----------------------------------------------------------------- heavy isotope labels
HEAVY_FLAG = "opt_global_cv_MS:1000891_heavy_labeled_peptidoform"


def _group(sequence: str, charge: int, run: str, ratio: float, heavy: bool = True) -> dict:
    row = _peptide(run, ratio)
    row.update(group_id=f"{sequence}_{charge}", peptide_or_compound=sequence, charge=charge)
    if not heavy:
        row.update(heavy_area=math.nan, ratio=math.nan, ratio_basis="quantifier (no standard)")
    return row


def _transitions(sequence: str, charge: int, heavy_mz: float | None = None) -> list[dict]:
    """Light (and heavy) transition rows with the precursor m/z msuite's chemistry computes;
    ``heavy_mz`` overrides the heavy m/z (standards labelled other than on K and R)."""
    peptide = parse_peptide(sequence)
    rows = [
        {
            "group_id": f"{sequence}_{charge}",
            "label": "light",
            "precursor_mz": precursor_mz(peptide, charge),
            "group_score": 1.0,
        }
    ]
    if heavy_mz is None:
        heavy_mz = precursor_mz(peptide, charge, "heavy", HEAVY_RESIDUES)
    if heavy_mz:
        rows.append({**rows[0], "label": "heavy", "precursor_mz": heavy_mz})
    return rows


def _variable_mods(md: dict) -> dict[str, tuple[str, str, str]]:
    """accession -> (name, site, position) of every variable_mod[n] pyteomics read."""
    out = {}
    n = 1
    while f"variable_mod[{n}]" in md:
        param = md[f"variable_mod[{n}]"]  # a pyteomics cvstr: the name, with .accession
        out[param.accession] = (
            str(param),
            md.get(f"variable_mod[{n}]-site"),
            md.get(f"variable_mod[{n}]-position"),
        )
        n += 1
    return out


def _write_peptides(tmp_path: Path, peptides: list[dict], transitions: list[dict]) -> mztab.MzTab:
    path = tmp_path / "p.mzTab"
    write_mztab_peptides(path, RUNS, peptides, [], transitions, PARAMS)
    _check_lines(path.read_text())
    oms = pytest.importorskip("pyopenms")
    oms.MzTabFile().load(str(path))  # OpenMS' reader parses every modification object
    return mztab.MzTab(str(path), table_format="dict")


def test_light_only_peptides_declare_no_modifications(tmp_path: Path) -> None:
    peps = [_group("LVNEVTEFAK", 2, r, 1.0, heavy=False) for r in ("run_a", "run_b")]
    tab = _write_peptides(tmp_path, peps, _transitions("LVNEVTEFAK", 2, heavy_mz=0.0))
    md = tab.metadata
    assert md["fixed_mod[1]"].accession == "MS:1002453"  # No fixed modifications searched
    assert _variable_mods(md) == {"MS:1002454": ("No variable modifications searched", None, None)}
    assert md["peptide-quantification_unit"].accession == "PRIDE:0000330"  # areas, no ratios
    [row] = tab.peptide_table["rows"]
    assert row["sequence"] == "LVNEVTEFAK" and row["modifications"] is None  # "null"
    assert row[HEAVY_FLAG] == 0 and row["opt_global_abundance_type"] == "light area"
    assert row["peptide_abundance_assay[1]"] == 100.0  # the light area


def test_heavy_standards_get_their_own_rows_with_k_and_r_labels(tmp_path: Path) -> None:
    sequences = {
        "LVNEVTEFAK": (2, "10-UNIMOD:259"),
        "SAMPLER": (2, "7-UNIMOD:267"),
        # msuite's standards label every K and R; combined with a ProForma modification
        "SLHTLFGDKLC[Carbamidomethyl]TVATLR": (3, "9-UNIMOD:259,11-UNIMOD:4,17-UNIMOD:267"),
    }
    peps, transitions = [], []
    for seq, (z, _) in sequences.items():
        peps += [_group(seq, z, "run_a", 0.5), _group(seq, z, "run_b", 2.0)]
        transitions += _transitions(seq, z)
    tab = _write_peptides(tmp_path, peps, transitions)
    rows = tab.peptide_table["rows"]
    assert len(rows) == 6
    for seq, (z, labelled) in sequences.items():
        light, heavy = [r for r in rows if r["opt_global_group_id"] == f"{seq}_{z}"]
        mz = {t["label"]: t["precursor_mz"] for t in transitions if t["group_id"] == f"{seq}_{z}"}
        assert light["sequence"] == heavy["sequence"] == parse_peptide(seq).residues
        assert light["modifications"] == ("11-UNIMOD:4" if "Carbamidomethyl" in seq else None)
        assert heavy["modifications"] == labelled
        assert (light[HEAVY_FLAG], heavy[HEAVY_FLAG]) == (0, 1)
        assert light["mass_to_charge"] == pytest.approx(mz["light"], abs=1e-6)
        assert heavy["mass_to_charge"] == pytest.approx(mz["heavy"], abs=1e-6)
        assert light["opt_global_abundance_type"] == "light/heavy ratio"
        assert heavy["opt_global_abundance_type"] == "heavy area"
        assert light["peptide_abundance_assay[1]"] == 0.5  # the ratio
        assert light["peptide_abundance_study_variable[2]"] == 2.0
        assert heavy["peptide_abundance_assay[1]"] == 100.0  # the standard's area
        assert heavy["peptide_abundance_study_variable[2]"] == 100.0
        assert (
            heavy["opt_assay[1]_heavy_area"] == 100.0 and heavy["opt_assay[1]_light_area"] is None
        )
        assert heavy["charge"] == light["charge"] == z
    md = tab.metadata
    assert md["fixed_mod[1]"].accession == "MS:1002453"
    assert _variable_mods(md) == {
        "UNIMOD:4": ("Carbamidomethyl", "C", "Anywhere"),
        "UNIMOD:259": ("Label:13C(6)15N(2)", "K", "Anywhere"),
        "UNIMOD:267": ("Label:13C(6)15N(4)", "R", "Anywhere"),
    }
    text = (tmp_path / "p.mzTab").read_text()
    assert "MTD\tvariable_mod[2]\t[UNIMOD, UNIMOD:259, Label:13C(6)15N(2), ]\n" in text
    assert md["peptide-quantification_unit"].accession == "PRIDE:0000395"  # ratios


def test_c_terminal_only_label_and_unknown_charge(tmp_path: Path) -> None:
    """An AQUA-type standard labelled on its C-terminal K only (missed cleavage inside)."""
    seq = "AKDLGEEHFK"
    light = precursor_mz(parse_peptide(seq), 2)
    heavy = light + HEAVY_LABELS["K"].delta / 2
    peps = [_group(seq, 2, r, 1.0) for r in ("run_a", "run_b")]
    for p in peps:
        p["charge"] = 0  # a list without charges: the shift is tried at charges 1-4
    transitions = _transitions(seq, 2, heavy_mz=heavy)
    for t in transitions:
        t["group_id"] = peps[0]["group_id"]
    tab = _write_peptides(tmp_path, peps, transitions)
    _, heavy_row = tab.peptide_table["rows"]
    assert heavy_row["modifications"] == "10-UNIMOD:259"


def test_labels_beyond_k_and_r_are_never_dropped(tmp_path: Path) -> None:
    """13C6 15N1 Leu maps to its Unimod accession; an unknown shift becomes a CHEMMOD."""
    leu = precursor_mz(parse_peptide("LVNEVTEFAK"), 2)
    custom = precursor_mz(parse_peptide("SAMPLER"), 2)
    transitions = _transitions("LVNEVTEFAK", 2, heavy_mz=leu + 7.017164 / 2)
    transitions += _transitions("SAMPLER", 2, heavy_mz=custom + 3.1234 / 2)
    peps = [_group("LVNEVTEFAK", 2, "run_a", 1.0), _group("SAMPLER", 2, "run_a", 1.0)]
    tab = _write_peptides(tmp_path, peps, transitions)
    heavy = {r["sequence"]: r for r in tab.peptide_table["rows"] if r[HEAVY_FLAG] == 1}
    assert heavy["LVNEVTEFAK"]["modifications"] == "1-UNIMOD:695"
    assert heavy["SAMPLER"]["modifications"] == "CHEMMOD:+3.1234"
    mods = _variable_mods(tab.metadata)
    assert mods["UNIMOD:695"] == ("Label:13C(6)15N(1)", "L", "Anywhere")
    assert mods["CHEMMOD:+3.1234"] == ("", None, None)
    assert "\t[CHEMMOD, CHEMMOD:+3.1234, , ]\n" in (tmp_path / "p.mzTab").read_text()


def test_label_assignment_rules() -> None:
    kr = HEAVY_LABELS["K"].delta * 2 + HEAVY_LABELS["R"].delta
    assert format_modifications(label_modifications("KLVNEVTEFAKR", kr)) == (
        "1-UNIMOD:259,11-UNIMOD:259,12-UNIMOD:267"
    )
    # 13C(6) fits K and L alike: an ambiguous site, as mzTab 1.0 section 5.8 writes it
    assert format_modifications(label_modifications("LVNEVTEFAK", 6.020129)) == "1|10-UNIMOD:188"
    assert label_modifications("LVNEVTEFAK", 0.0) == []
    assert format_modifications(label_modifications("LVNEVTEFAK", math.nan)) == (
        "[MS, MS:1001460, unknown modification, ]"
    )
    assert format_modifications(label_modifications("PEPTIDE", -4.5)) == "CHEMMOD:-4.5000"


def test_sil_label_masses_match_unimod_and_pyteomics() -> None:
    """K +8.014199 (UNIMOD:259) and R +10.008269 (UNIMOD:267): msuite's table, the isotope
    masses in pyteomics and the Unimod database agree."""
    iso = pymass.nist_mass
    c13 = iso["C"][13][0] - iso["C"][12][0]
    n15 = iso["N"][15][0] - iso["N"][14][0]
    assert HEAVY_LABELS["K"].delta == pytest.approx(6 * c13 + 2 * n15, abs=1e-6)
    assert HEAVY_LABELS["R"].delta == pytest.approx(6 * c13 + 4 * n15, abs=1e-6)
    unimod = {(lab.unimod, lab.residue): lab for lab in unimod_isotopic_labels()}
    for residue, mod in HEAVY_LABELS.items():
        entry = unimod[(mod.unimod, residue)]
        assert entry.name == mod.name and entry.delta == pytest.approx(mod.delta, abs=1e-6)
    leu = unimod[(695, "L")]
    assert leu.delta == pytest.approx(6 * c13 + n15, abs=1e-6)


def test_small_molecule_internal_standard_is_identifiable(tmp_path: Path) -> None:
    path = tmp_path / "c.mzTab"
    transitions = [
        *TRANSITIONS,
        {"group_id": "caffeine", "label": "heavy", "precursor_mz": 198.0978, "group_score": 2.0},
    ]
    compounds = [_compound("run_a", 2.0), _compound("run_b", 3.0)]
    write_mztab_m(path, RUNS, compounds, transitions, PARAMS)
    _check_lines(path.read_text())
    tab = mztab.MzTab(str(path), table_format="dict")
    [sml] = tab.small_molecule_table["rows"]
    assert str(sml["SMF_ID_REFS"]) == "1|2|3|4"  # the response rests on analyte and standard
    features = tab.small_molecule_feature_table["rows"]
    standard = [f for f in features if f["opt_global_internal_standard"] == 1]
    analyte = [f for f in features if f["opt_global_internal_standard"] == 0]
    assert [f["SMF_ID"] for f in standard] == [2, 4] and len(analyte) == 2
    assert all(f["exp_mass_to_charge"] == 198.0978 for f in standard)
    assert all(f["exp_mass_to_charge"] == 195.0877 for f in analyte)
    assert standard[0]["abundance_assay[1]"] == 25.0 and standard[0]["abundance_assay[2]"] is None
    assert standard[1]["abundance_assay[2]"] == 25.0
    assert analyte[0]["abundance_assay[1]"] == 50.0
    assert all(f["isotopomer"] is None for f in features)  # not an isotope peak of the analyte


def test_sequences_outside_msuites_parser_keep_their_modifications() -> None:
    """Mass shifts become CHEMMOD, names are looked up in Unimod, an unknown name is PSI-MS
    "unknown modification", never left out."""
    residues, mods = sequence_modifications("[Acetyl]-PEPS[+42.0106]K")
    assert residues == "PEPSK"
    assert format_modifications(mods) == "0-UNIMOD:1,4-CHEMMOD:+42.0106"
    assert [(m.spec.site, m.spec.position) for m in mods] == [
        ("N-term", "Any N-term"),
        ("S", "Anywhere"),
    ]
    residues, mods = sequence_modifications("PEPT[Phospho]IDEK[Foo]-[Amidated]")
    assert residues == "PEPTIDEK"
    assert format_modifications(mods) == (
        "4-UNIMOD:21,8-[MS, MS:1001460, unknown modification, ],9-UNIMOD:2"
    )
    metadata = dict(modification_metadata(mods))
    assert metadata["variable_mod[1]"] == "[UNIMOD, UNIMOD:2, Amidated, ]"
    assert metadata["variable_mod[1]-site"] == "C-term"
    assert metadata["variable_mod[1]-position"] == "Any C-term"
    assert metadata["variable_mod[2]"] == "[UNIMOD, UNIMOD:21, Phospho, ]"
    assert metadata["variable_mod[3]"] == "[MS, MS:1001460, unknown modification, ]"
    assert "variable_mod[3]-site" not in metadata
    # OpenMS-style parentheses with a nested formula, and a Unimod accession msuite lacks
    residues, mods = sequence_modifications("PEPK(Dimethyl)K(Label:13C(6))R[U:737]")
    assert residues == "PEPKKR"
    assert format_modifications(mods) == "4-UNIMOD:36,5-UNIMOD:188,6-UNIMOD:737"
