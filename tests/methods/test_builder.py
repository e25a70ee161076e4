"""The builder against the real human FASTA subset."""

from __future__ import annotations

from pathlib import Path

import pytest

from msuite.core.errors import InputError
from msuite.methods.builder import BuildOptions, build_method, build_peptide_precursors
from msuite.methods.chemistry import parse_peptide
from msuite.methods.fasta_input import read_fasta, read_protein_list
from msuite.methods.irt import IRT_STANDARDS, IRTPredictor, predict_irt
from msuite.methods.model import Instrument
from msuite.methods.validate import check_method

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def human(testdata: Path) -> Path:
    return testdata / "human" / "human_sp_subset.fasta"


@pytest.fixture(scope="module")
def small_method(human: Path, testdata: Path):
    biomarkers = read_protein_list(testdata / "human" / "biomarkers_list.csv")
    return build_method([human], ["P69905", "P01008", "P01579"], biomarkers=biomarkers,
                        name="test")


def test_counts_and_structure(small_method) -> None:
    m = small_method
    targets = [p for p in m.precursors if not p.irt_standard]
    assert m.counts()["proteins"] == 3
    # 2 peptides x light/heavy x 4 transitions per protein
    for acc in ("P69905", "P01008", "P01579"):
        precs = [p for p in targets if p.protein == acc]
        assert len({p.modified_sequence for p in precs}) == 2
        assert sorted(p.label for p in precs) == ["heavy", "heavy", "light", "light"]
        assert all(len(p.transitions) == 4 for p in precs)
    assert all(p.biomarker for p in m.proteins if p.accession in ("P69905", "P01008", "P01579"))
    assert check_method(m) == []
    assert m.summary_line() == "proteins=3 peptides=17 precursors=23 transitions=92"


def test_proteotypic_rules(small_method, human: Path) -> None:
    proteome = "\n".join(p.sequence for p in read_fasta(human))
    for p in small_method.precursors:
        if p.irt_standard:
            continue
        seq = parse_peptide(p.modified_sequence).residues
        assert 7 <= len(seq) <= 25
        assert "M" not in seq and "C" not in seq and seq[0] != "Q"
        assert not any(m in seq for m in ("NG", "NS", "QG"))
        assert seq[-1] in "KR" or proteome.count(seq) == 1
        assert proteome.replace("I", "L").count(seq.replace("I", "L")) == 1


def test_heavy_labels_and_fragment_order(small_method) -> None:
    by_key = {(p.modified_sequence, p.label): p for p in small_method.precursors}
    for (seq, label), heavy in by_key.items():
        if label != "heavy":
            continue
        light = by_key[(seq, "light")]
        shift = heavy.precursor_mz - light.precursor_mz
        assert shift * 2 == pytest.approx(8.014199 if seq.endswith("K") else 10.008269, abs=1e-3)
        assert [t.annotation for t in heavy.transitions] == [
            t.annotation for t in light.transitions]
    for p in small_method.precursors:
        t0 = p.transitions[0]
        assert t0.quantifier and not any(t.quantifier for t in p.transitions[1:])
        above = [t.ion_type == "y" and t.product_mz > p.precursor_mz for t in p.transitions]
        # y ions above the precursor come first
        assert above == sorted(above, reverse=True)


def test_irt_standards_added(small_method) -> None:
    std = {p.modified_sequence: p for p in small_method.precursors if p.irt_standard}
    assert set(std) == set(IRT_STANDARDS)
    assert std["LFLQFGAQGSPFLK"].irt == 100.0
    assert all(p.label == "light" for p in std.values())


def test_irt_predictor_fits_standards() -> None:
    model = IRTPredictor()
    assert model.r2 > 0.9
    assert model.rmse < 10
    assert predict_irt("AAAAAAAK") < predict_irt("LLLLFFFFLLLK")


def test_modified_peptides_are_targets() -> None:
    opts = BuildOptions()
    inst = Instrument()
    for seq in ("SAMPLEPT[Phospho]IDEK", "[Acetyl]-SAMPLEDIDEK", "SAMPLEM[Oxidation]IDEK"):
        precs = build_peptide_precursors(seq, "X", opts, inst)
        assert [p.label for p in precs] == ["light", "heavy"]
        assert precs[0].modified_sequence == seq
        assert len(precs[0].transitions) == 4


def test_extra_peptides_and_options(human: Path) -> None:
    opts = BuildOptions(peptides_per_protein=1, transitions=3, heavy=False,
                        add_irt_standards=False, missed_cleavages=1, charges=(2, 3))
    m = build_method([human], ["P69905"], opts, peptides=[("P69905", "VGAHAGEY[Phospho]GAEALER")])
    assert {p.label for p in m.precursors} == {"light"}
    assert {p.charge for p in m.precursors} == {2, 3}
    assert any("Phospho" in p.modified_sequence for p in m.precursors)
    assert all(len(p.transitions) <= 3 for p in m.precursors)
    assert check_method(m) == []


def test_unknown_accession_and_options(human: Path) -> None:
    with pytest.raises(InputError, match="not in the FASTA") as info:
        build_method([human], ["P69905", "NOPE123"])
    assert "NOPE123" in str(info.value)
    m = build_method([human], ["P69905", "NOPE123"], skip_missing=True)
    assert m.provenance["missing"] == ["NOPE123"]
    assert m.counts()["proteins"] == 1
    with pytest.raises(InputError, match="unknown exclusion"):
        BuildOptions(exclude=("X",))


@pytest.mark.slow
def test_mixed_proteomes_fill_to_count(human: Path, testdata: Path) -> None:
    folder = testdata / "OpenMS" / "fasta_and_assays"
    ecoli = folder / "target_decoy_Ecoli_K12_TaxID_83333.proteomes.fasta"
    opts = BuildOptions(min_peptides=2, max_proteins=1000)
    m = build_method([human, ecoli], None, opts)
    assert m.counts()["proteins"] == 1000
    accs = [p.accession for p in m.proteins if p.accession != "iRT-Kit_WR_fusion"]
    first_ecoli = next(i for i, a in enumerate(accs) if a.startswith("VIMSS"))
    assert all(not a.startswith("VIMSS") for a in accs[:first_ecoli])
    assert all(a.startswith("VIMSS") for a in accs[first_ecoli:])
    assert not any(a.startswith("rev_") for a in accs)
