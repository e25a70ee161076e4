"""Import/export of every transition-list format, on built methods and the real files."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from lxml import etree

from msuite.core.errors import InputError
from msuite.methods.builder import build_method
from msuite.methods.formats import FORMATS, detect_output_format, read_any, write_any
from msuite.methods.small_molecules import metabolite_method
from msuite.methods.validate import check_method

pytestmark = pytest.mark.realdata

EXTENSIONS = {
    "msuite": "m.toml",
    "skyline": "m.csv",
    "traml": "m.TraML",
    "openms": "m.tsv",
    "thermo": "m.tsq.csv",
    "sciex": "m.sciex.csv",
}


@pytest.fixture(scope="module")
def method(testdata: Path):
    return build_method(
        [testdata / "human" / "human_sp_subset.fasta"],
        ["P69905", "P01008"],
        peptides=[("P69905", "[Acetyl]-VGAHAGEY[Phospho]GAEALER")],
    )


def _shared(p, fmt: str) -> tuple:
    """The fields every format keeps."""
    return (
        p.protein,
        p.modified_sequence,
        p.charge,
        round(p.precursor_mz, 4),
        p.label,
        p.labelled_residues,
        tuple((t.ion_type, t.ordinal, t.charge, round(t.product_mz, 4)) for t in p.transitions),
    )


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_round_trip_keeps_shared_fields(method, fmt: str, tmp_path: Path) -> None:
    path = tmp_path / EXTENSIONS[fmt]
    assert detect_output_format(path) == fmt
    write_any(method, path)
    back = read_any(path)
    assert back.summary_line() == method.summary_line()
    assert [_shared(p, fmt) for p in back.precursors] == [
        _shared(p, fmt) for p in method.precursors
    ]
    for a, b in zip(back.precursors, method.precursors, strict=True):
        assert a.collision_energy == pytest.approx(b.collision_energy, abs=0.01)
        assert a.irt == pytest.approx(b.irt, abs=0.02)
        if fmt in ("msuite", "skyline", "traml"):
            assert [t.quantifier for t in a.transitions] == [t.quantifier for t in b.transitions]
            assert a.irt_window == b.irt_window
        if fmt in ("msuite", "traml"):
            assert a.irt_standard == b.irt_standard
    assert check_method(back) == []


def test_traml_structure(method, tmp_path: Path) -> None:
    path = tmp_path / "m.TraML"
    write_any(method, path)
    root = etree.parse(str(path)).getroot()
    ns = {"t": "http://psi.hupo.org/ms/traml"}
    assert root.get("version") == "1.0.0"
    # element order of the TraML 1.0.0 schema
    order = [etree.QName(c).localname for c in root]
    assert order == ["cvList", "InstrumentList", "ProteinList", "CompoundList", "TransitionList"]
    tr = root.find("t:TransitionList/t:Transition", ns)
    assert [etree.QName(c).localname for c in tr][:2] == ["Precursor", "Product"]
    heavy = [
        p
        for p in root.iterfind("t:CompoundList/t:Peptide", ns)
        if p.find("t:userParam[@name='label']", ns).get("value") == "heavy"
    ]
    assert heavy and all(p.find("t:Modification", ns) is not None for p in heavy)


@pytest.mark.parametrize(
    ("name", "precursors", "transitions"),
    [
        ("fasta_and_assays/OpenSwathAssayGenerator_input.TraML", 9, 1231),
        ("srm_mrm/OpenSwathRTNormalizer_1_input.TraML", 9, 18),
        ("srm_mrm/MRMMapping_input.TraML", 1, 6),
    ],
)
def test_reads_real_traml(
    testdata: Path, name: str, precursors: int, transitions: int, tmp_path: Path
) -> None:
    m = read_any(testdata / "OpenMS" / name)
    c = m.counts()
    assert (c["precursors"], c["transitions"]) == (precursors, transitions)
    out = tmp_path / "again.TraML"
    write_any(m, out)
    again = read_any(out)
    assert again.counts()["transitions"] == transitions
    assert [p.modified_sequence for p in again.precursors] == [
        p.modified_sequence for p in m.precursors
    ]


def test_real_heavy_traml_validates(testdata: Path) -> None:
    m = read_any(testdata / "OpenMS" / "srm_mrm" / "OpenSwathRTNormalizer_1_input.TraML")
    heavy = [p for p in m.precursors if p.label == "heavy"]
    assert heavy and heavy[0].labelled_residues == "R"
    assert check_method(m) == []


def test_toy_traml_with_invalid_residue_gives_clear_error(testdata: Path) -> None:
    with pytest.raises(InputError) as info:
        read_any(testdata / "OpenMS" / "srm_mrm" / "OpenSwathAnalyzer_1_input.TraML")
    assert info.value.path.endswith("OpenSwathAnalyzer_1_input.TraML")
    assert "PEPTIDEB" in str(info.value)


def _smartpeak(testdata: Path) -> Path:
    return testdata / "SmartPeak" / "yeast_MRM_unknowns" / "LCMS_MRM_Unknowns_traML.csv"


def _labelled(m) -> list[tuple]:
    return [
        (s.name, s.label, round(s.precursor_mz, 4), len(s.transitions)) for s in m.small_molecules
    ]


def test_reads_smartpeak_openms_csv(testdata: Path, tmp_path: Path) -> None:
    m = read_any(_smartpeak(testdata))
    c = m.counts()
    # 118 compounds, each as its light form and its heavy internal standard
    assert c["small_molecules"] == 236
    assert c["small_molecule_transitions"] == 324
    assert sum(s.label == "heavy" for s in m.small_molecules) == 118
    arg = {s.label: s for s in m.small_molecules if s.name == "arg-L"}
    assert set(arg) == {"light", "heavy"}
    assert (arg["light"].precursor_mz, arg["heavy"].precursor_mz) == (173.0, 179.0)
    assert [t.product_mz for t in arg["light"].transitions] == [131.0]
    assert [t.product_mz for t in arg["heavy"].transitions] == [136.0]
    assert [t.name for t in arg["heavy"].transitions] == ["arg-L.arg-L_1.Heavy"]
    for fmt in ("openms", "traml", "msuite", "skyline", "thermo", "sciex"):
        out = tmp_path / EXTENSIONS[fmt]
        write_any(m, out)
        again = read_any(out)
        assert again.counts()["small_molecule_transitions"] == 324, fmt
        assert _labelled(again) == _labelled(m), fmt


def test_smartpeak_internal_standard_without_light_partner_is_a_warning(testdata: Path) -> None:
    m = read_any(_smartpeak(testdata))
    warnings = [p for p in check_method(m) if not p.is_error]
    lights = {s.name for s in m.small_molecules if s.label == "light"}
    orphans = [s.name for s in m.small_molecules if s.label == "heavy" and s.name not in lights]
    assert len(warnings) == len(orphans) == 1
    assert warnings[0].field == "label"
    assert "without a light partner" in warnings[0].message
    assert orphans[0] in warnings[0].target


def test_lenient_traml_keeps_unreadable_peptides(testdata: Path, tmp_path: Path) -> None:
    path = testdata / "OpenMS" / "srm_mrm" / "OpenSwathAnalyzer_1_input.TraML"
    m = read_any(path, strict=False)
    peps = {p.modified_sequence: p for p in m.precursors}
    assert list(peps) == ["PEPTIDEA", "PEPTIDEB"]
    assert peps["PEPTIDEA"].precursor_mz == 500.0
    assert [t.product_mz for t in peps["PEPTIDEA"].transitions] == [628.435, 654.38]
    assert [t.name for t in peps["PEPTIDEA"].transitions] == ["tr1", "tr2"]
    gr2 = peps["PEPTIDEB"]
    assert gr2.precursor_mz == 501.0
    assert [t.product_mz for t in gr2.transitions] == [618.31, 628.435, 651.3]
    assert [t.library_intensity for t in gr2.transitions] == [10000.0, 2000.0, 4300.0]
    assert (gr2.sequence, gr2.key) == ("PEPTIDEB", ("PEPTIDEB", 2, "light"))
    (warning,) = m.provenance["warnings"]
    assert "PEPTIDEB" in warning and "strict=False" in warning
    # lenient check: the kept sequence is a warning and its mass checks are skipped; the toy
    # file's made-up m/z 500 for PEPTIDEA is still caught by the mass check of that sequence
    found = check_method(m, strict=False)
    assert [(p.severity, p.field, p.value) for p in found] == [
        ("error", "precursor_mz", 500.0),
        ("warning", "modified_sequence", "PEPTIDEB"),
    ]
    assert [(p.severity, p.value) for p in check_method(m)] == [
        ("error", 500.0),
        ("error", "PEPTIDEB"),
    ]
    # every writer copes with the kept sequence; lenient reads give it back
    for fmt in ("traml", "openms", "skyline", "msuite", "thermo"):
        out = tmp_path / EXTENSIONS[fmt]
        write_any(m, out)
        again = read_any(out, strict=False)
        assert [
            (p.modified_sequence, p.precursor_mz, [t.product_mz for t in p.transitions])
            for p in again.precursors
        ] == [
            (p.modified_sequence, p.precursor_mz, [t.product_mz for t in p.transitions])
            for p in m.precursors
        ], fmt
        if fmt != "msuite":  # msuite's own format stores sequences without reading them
            with pytest.raises(InputError, match="PEPTIDEB"):
                read_any(out)


def test_metabolite_panel_formats(testdata: Path, tmp_path: Path) -> None:
    m = metabolite_method(sorted((testdata / "vimms").glob("StdMix*_pHILIC_Current.csv")))
    assert len(m.small_molecules) > 150
    assert check_method(m) == []
    for fmt in ("msuite", "skyline", "traml"):
        out = tmp_path / EXTENSIONS[fmt]
        write_any(m, out)
        again = read_any(out)
        a, b = again.small_molecules[0], m.small_molecules[0]
        assert (a.name, a.formula, a.adduct, a.charge) == (b.name, b.formula, b.adduct, b.charge)
        assert a.precursor_mz == pytest.approx(b.precursor_mz, abs=1e-4)
        assert a.rt == pytest.approx(b.rt, abs=0.01)
        assert len(again.small_molecules) == len(m.small_molecules)


def test_skyline_mixed_method_refused(method, testdata: Path, tmp_path: Path) -> None:
    mixed = metabolite_method([testdata / "vimms" / "StdMix3_pHILIC_Current.csv"])
    mixed.precursors = method.precursors
    with pytest.raises(InputError, match="not both"):
        write_any(mixed, tmp_path / "x.csv")


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot tell"):
        detect_output_format(tmp_path / "x.xyz")
    with pytest.raises(InputError, match="unknown method format"):
        detect_output_format(tmp_path / "x.csv", "foo")
    (tmp_path / "x.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match="cannot recognise") as info:
        read_any(tmp_path / "x.csv")
    assert info.value.line == 1


def test_skyline_bad_cell_row_and_column(method, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    write_any(method, path)
    lines = path.read_text().splitlines()
    cells = lines[4].split(",")
    cells[3] = "abc"
    lines[4] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as info:
        read_any(path)
    assert (info.value.line, info.value.field, info.value.value) == (5, "Precursor Mz", "abc")


def test_skyline_unknown_modification(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "Protein Name,Peptide Modified Sequence,Precursor Charge,Precursor Mz,"
        "Product Mz\nP,PEPT[+12.3456]IDEK,2,500,600\n"
    )
    with pytest.raises(InputError, match="unknown modification") as info:
        read_any(path)
    assert info.value.line == 2
    assert info.value.field == "Peptide Modified Sequence"
    assert not math.isnan(1.0)


def test_reads_spectrast_mrm(testdata: Path) -> None:
    path = testdata / "OpenMS" / "fasta_and_assays" / "ConvertTSVToTraML_4_input.mrm"
    m = read_any(path)
    assert m.summary_line() == "proteins=5 peptides=5 precursors=5 transitions=500"
    first = m.precursors[0]
    assert first.modified_sequence == ("AAC[Carbamidomethyl]AQLNDFLQEYGTQGC[Carbamidomethyl]QV")
    assert first.charge == 3 and first.protein == "P0C0L5;P0C0L4"
    # precursor and the annotated fragments agree with the sequence
    problems = check_method(m)
    assert [p.message for p in problems] == ["outside the instrument's m/z range"]


def test_spectrast_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "x.mrm"
    path.write_text("a\tb\tc\n")
    with pytest.raises(InputError, match="too few columns") as info:
        read_any(path)
    assert info.value.line == 1


def _traml_schema() -> etree.XMLSchema:
    """The PSI TraML 1.0.0 schema (the copy pyopenms ships); skip when it is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("pyopenms")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pyopenms (for the PSI TraML 1.0.0 XSD) is not installed")
    xsd = Path(next(iter(spec.submodule_search_locations))) / "share/OpenMS/SCHEMAS/TraML1.0.0.xsd"
    if not xsd.is_file():
        pytest.skip("TraML1.0.0.xsd not found in pyopenms")
    return etree.XMLSchema(etree.parse(str(xsd)))


def test_written_traml_is_schema_valid(method, testdata: Path, tmp_path: Path) -> None:
    schema = _traml_schema()
    sources = [
        method,
        read_any(testdata / "SmartPeak" / "yeast_MRM_unknowns" / "LCMS_MRM_Unknowns_traML.csv"),
        read_any(testdata / "OpenMS" / "srm_mrm" / "OpenSwathRTNormalizer_1_input.TraML"),
        metabolite_method([testdata / "vimms" / "StdMix3_pHILIC_Current.csv"]),
    ]
    for i, m in enumerate(sources):
        out = tmp_path / f"{i}.TraML"
        write_any(m, out)
        assert schema.validate(etree.parse(str(out))), str(schema.error_log)


def test_transition_names_are_read_and_kept(testdata: Path, tmp_path: Path) -> None:
    traml = read_any(testdata / "OpenMS" / "srm_mrm" / "MRMMapping_input.TraML")
    names = [t.name for p in traml.precursors for t in p.transitions]
    assert all(names) and len(set(names)) == len(names)
    csv_path = testdata / "SmartPeak" / "yeast_MRM_unknowns" / "LCMS_MRM_Unknowns_traML.csv"
    smartpeak = read_any(csv_path)
    arg_names = {
        t.name for s in smartpeak.small_molecules if s.name == "arg-L" for t in s.transitions
    }
    assert arg_names == {"arg-L.arg-L_1.Heavy", "arg-L.arg-L_1.Light"}
    for method, fmts in ((traml, ("traml", "openms")), (smartpeak, ("traml", "openms"))):
        for fmt in fmts:
            out = tmp_path / EXTENSIONS[fmt]
            write_any(method, out)
            again = read_any(out)
            assert sorted(t.name for p in again.precursors for t in p.transitions) == sorted(
                t.name for p in method.precursors for t in p.transitions
            )
            assert sorted(t.name for s in again.small_molecules for t in s.transitions) == sorted(
                t.name for s in method.small_molecules for t in s.transitions
            )


_OPENMS_COMPOUNDS = """<?xml version="1.0" encoding="UTF-8"?>
<TraML version="1.0.0" xmlns="http://psi.hupo.org/ms/traml">
  <CompoundList>
    <Compound id="arg-L_light">
      <cvParam cvRef="MS" accession="MS:1000041" name="charge state" value="1"/>
      <userParam name="CompoundName" type="xsd:string" value="arg-L"/>
      <userParam name="Adducts" type="xsd:string" value="[M+H]+"/>
      <userParam name="LabelType" type="xsd:string" value="Light"/>
    </Compound>
    <Compound id="arg-L_heavy">
      <cvParam cvRef="MS" accession="MS:1000041" name="charge state" value="1"/>
      <userParam name="CompoundName" type="xsd:string" value="arg-L"/>
      <userParam name="Adducts" type="xsd:string" value="[M+H]+"/>
      <userParam name="LabelType" type="xsd:string" value="Heavy"/>
    </Compound>
  </CompoundList>
  <TransitionList>
    <Transition id="t_light" compoundRef="arg-L_light">
      <Precursor><cvParam cvRef="MS" accession="MS:1000827"
        name="isolation window target m/z" value="173"/></Precursor>
      <Product><cvParam cvRef="MS" accession="MS:1000827"
        name="isolation window target m/z" value="131"/></Product>
    </Transition>
    <Transition id="t_heavy" compoundRef="arg-L_heavy">
      <Precursor><cvParam cvRef="MS" accession="MS:1000827"
        name="isolation window target m/z" value="179"/></Precursor>
      <Product><cvParam cvRef="MS" accession="MS:1000827"
        name="isolation window target m/z" value="136"/></Product>
    </Transition>
  </TransitionList>
</TraML>
"""


def test_traml_compound_label_from_openms_user_params(tmp_path: Path) -> None:
    path = tmp_path / "openms_compounds.TraML"
    path.write_text(_OPENMS_COMPOUNDS)
    m = read_any(path)
    assert [
        (s.name, s.adduct, s.label, s.precursor_mz, [t.name for t in s.transitions])
        for s in m.small_molecules
    ] == [
        ("arg-L", "[M+H]+", "light", 173.0, ["t_light"]),
        ("arg-L", "[M+H]+", "heavy", 179.0, ["t_heavy"]),
    ]
    assert check_method(m) == []
