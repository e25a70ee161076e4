"""mzTab 1.0 (peptides, proteins) and mzTab-M 2.0 (small molecules) written by msuite quant,
checked line by line against the specification's rules and read back with pyteomics."""

from __future__ import annotations

import math
from pathlib import Path

from pyteomics import mztab

from msuite.quant.mztab import write_mztab_m, write_mztab_peptides

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
