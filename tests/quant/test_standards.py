"""Response measures, surrogate internal standards and OpenMS/SmartPeak quantitation methods:
simulated runs, the real SmartPeak yeast run against SmartPeak's own concentrations, bad files."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from lxml import etree

from msuite.cli import main
from msuite.core.errors import InputError
from msuite.core.model import RunMetadata
from msuite.drivers.scan_convert import srm_chromatograms
from msuite.hardware_sim.demo_acquisition import srm_table_for
from msuite.hardware_sim.sample import SampleSpec
from msuite.io.runfile import RunFileWriter
from msuite.methods.model import Method
from msuite.quant.quantify import QuantParams, quantify_runs
from msuite.quant.results import summarise_groups
from msuite.quant.standards import read_internal_standards, read_openms_quantitation
from msuite.quant.targets import build_targets, load_targets
from tests.quant.helpers import simulate
from tests.quant.test_quantify import RUN_S, SEQUENCE, srm_method, srm_setup

YEAST = Path("SmartPeak") / "yeast_MRM_unknowns"


SECOND = "DYVSQFEGSALGK"  # a second peptide of the panel, without a standard of its own


def two_peptide_method() -> Method:
    """LVNEVTEFAK with its heavy standard, and DYVSQFEGSALGK light only."""
    method = srm_method()
    method.precursors.append(next(p for p in srm_method(SECOND).precursors if p.label == "light"))
    return method


def acquire_two_peptides(path: Path, amounts: tuple[float, float, float], seed: int) -> Path:
    """One SRM run of both peptides (light amounts) and the first one's heavy standard."""
    method = two_peptide_method()
    table = srm_table_for(method)
    sample = [
        SampleSpec("light", amounts[0], sequence=SEQUENCE),
        SampleSpec("heavy", amounts[1], sequence=SEQUENCE, heavy=True),
        SampleSpec("second", amounts[2], sequence=SECOND),
    ]
    records = simulate("tq", sample, srm_setup(table), seed=seed, duration_s=RUN_S)
    with RunFileWriter(path, RunMetadata(run_id=path.stem)) as writer:
        writer.append_chromatograms(srm_chromatograms(records, table))
        writer.close()
    return path


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_measures_and_a_surrogate_standard(tmp_path: Path) -> None:
    runs = [
        acquire_two_peptides(tmp_path / f"r{k}.h5", amounts, seed=91 + k)
        for k, amounts in enumerate([(1.0, 1.0, 0.5), (2.0, 1.0, 3.0)])
    ]
    groups = build_targets(two_peptide_method())
    results = quantify_runs(runs, groups, QuantParams(), jobs=1)
    std = read_internal_standards(
        write(tmp_path, "is.csv", ["target,standard", f"{SECOND},LVNEVTEFAK"]), groups
    )
    assert std == {f"{SECOND}_2": "LVNEVTEFAK_2"}
    for measure, column in (("area", "area"), ("height", "height"), ("apex", "apex_intensity")):
        rows = summarise_groups(results, measure=measure, standards=std)
        for res in results:
            by = {r["transition_id"]: r for r in res.rows}
            own = next(r for r in rows if r["run"] == res.run and r["group_id"] == "LVNEVTEFAK_2")
            light = by["LVNEVTEFAK_2_light_y6"][column]  # the quantifiers
            heavy = by["LVNEVTEFAK_2_heavy_y6"][column]
            assert own["ratio"] == pytest.approx(light / heavy)
            assert own["measure"] == measure and own["standard"] == "LVNEVTEFAK_2"
            # the second peptide has no standard of its own: its ratio uses the first's heavy
            sur = next(r for r in rows if r["run"] == res.run and r["group_id"] == f"{SECOND}_2")
            second = by[f"{SECOND}_2_light_y6"][column]
            assert sur["ratio"] == pytest.approx(second / heavy)
            assert sur["standard"] == "LVNEVTEFAK_2"
            assert "standard LVNEVTEFAK_2" in sur["ratio_basis"]
    plain = summarise_groups(results)
    alone = next(r for r in plain if r["group_id"] == f"{SECOND}_2")
    assert math.isnan(alone["ratio"]) and alone["standard"] == ""
    # the surrogate ratio follows the amounts (0.5 and 3 fmol against 1 fmol heavy)
    area = summarise_groups(results, standards=std)
    ratios = [r["ratio"] for r in area if r["group_id"] == f"{SECOND}_2"]
    assert ratios[1] / ratios[0] == pytest.approx(6.0, rel=0.1)
    # the apex intensity is the raw apex: height above background plus the background level
    row = results[0].rows[0]
    assert row["apex_intensity"] >= row["height"] > 0


def test_smartpeak_quantitation_methods_against_smartpeak(testdata: Path, tmp_path: Path) -> None:
    """SmartPeak's own calibration models (peak_apex_int ratios, 6 surrogate standards) on its
    yeast run; compared with the concentrations SmartPeak computed for the same run."""
    d = testdata / YEAST
    out = tmp_path / "out"
    argv = [
        "quant",
        str(d / "170808_Jonathan_yeast_Sacc1_1x.mzML"),
        "--transitions",
        str(d / "LCMS_MRM_Unknowns_traML.csv"),
        "--calibration",
        str(d / "LCMS_MRM_Unknowns_quantitationMethods.csv"),
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    with open(out / "compounds.csv", newline="", encoding="utf-8") as fh:
        rows = {r["group_id"]: r for r in csv.DictReader(fh)}
    reference = load_yeast_concentrations(d)
    assert len(reference) == 28
    assert rows["orn"]["standard"] == "arg-L" and rows["his-L"]["standard"] == "ser-L"
    same_peak, close = 0, 0
    for group, (conc, rt_min) in reference.items():
        row = rows[group]
        assert row["measure"] == "apex"
        if row["rt"] and abs(float(row["rt"]) - rt_min) * 60 <= 5:
            same_peak += 1
            close += abs(float(row["concentration"]) - conc) <= 0.2 * conc
    # measured: 21 of 28 on the same peak, 16 of those within 20 %
    assert same_peak >= 19 and close >= 14, (same_peak, close)
    assert main([*argv, "--response", "area"]) == 2  # the methods say peak_apex_int


def load_yeast_concentrations(d: Path) -> dict[str, tuple[float, float]]:
    """SmartPeak's calculated_concentration and feature RT (min) per component group."""
    path = d / "170808_Jonathan_yeast_Sacc1_1x_1_FluxTest_1900-01-01_000000.featureXML"
    out = {}
    for feature in etree.parse(str(path)).getroot().iterfind("featureList/feature"):
        rt = float(feature.findtext("position"))
        for sub in feature.iterfind("subordinate/feature"):
            params = {u.get("name"): u.get("value") for u in sub.iterfind("UserParam")}
            if params.get("calculated_concentration"):
                group = params["native_id"].split(".")[0]
                out[group] = (float(params["calculated_concentration"]), rt)
    return out


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        (["target,standard", "DYVSQFEGSALGK_2,NOPE"], "standard"),
        (["target,standard", "NOPE,LVNEVTEFAK_2"], "target"),
        (["target,standard", "LVNEVTEFAK_2,DYVSQFEGSALGK_2"], "standard"),  # no heavy
        (["target,std", "a,b"], "standard"),
    ],
)
def test_bad_internal_standards(tmp_path: Path, lines: list[str], field: str) -> None:
    groups = build_targets(two_peptide_method())
    path = write(tmp_path, "is.csv", lines)
    with pytest.raises(InputError) as err:
        read_internal_standards(path, groups)
    assert (err.value.path, err.value.field) == (str(path), field)


def test_bad_quantitation_methods(testdata: Path, tmp_path: Path) -> None:
    d = testdata / YEAST
    groups = load_targets(d / "LCMS_MRM_Unknowns_traML.csv").groups
    head = (
        "IS_name,component_name,feature_name,transformation_model,"
        "transformation_model_param_slope,transformation_model_param_intercept"
    )
    good = "arg-L.arg-L_1.Heavy,arg-L.arg-L_1.Light,peak_apex_int,linear,1.2,5.0"
    methods = read_openms_quantitation(write(tmp_path, "q.csv", [head, good]), groups)
    assert methods.measure == "apex" and methods.standards == {}
    assert methods.curves["arg-L"].back_calculate(6.2)[0] == pytest.approx(1.0)
    for row, field in (
        (good.replace("peak_apex_int", "peak_area"), "feature_name"),
        (good.replace("linear", "b_spline"), "transformation_model"),
        (good.replace("arg-L.arg-L_1.Light", "nope.Light"), "component_name"),
        (good.replace(",1.2,", ",abc,"), "transformation_model_param_slope"),
        (good.replace(",1.2,", ",0,"), "transformation_model_param_slope"),
    ):
        path = write(tmp_path, "bad.csv", [head, row])
        with pytest.raises(InputError) as err:
            read_openms_quantitation(path, groups)
        assert (err.value.line, err.value.field) == (2, field)
