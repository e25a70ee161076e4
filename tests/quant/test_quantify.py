"""Quantification of simulated SRM runs (simulator over TCP -> driver -> run file) and of the
real OpenMS/SmartPeak SRM files: targets, trace matching, peak groups, ratios, calibration."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pyteomics import mass

from msuite.core.model import RunMetadata
from msuite.drivers.ms import MassSpectrometer
from msuite.drivers.protocol import PRM_ROW_DTYPE, ScanMode
from msuite.drivers.scan_convert import record_to_spectrum, srm_chromatograms
from msuite.hardware_sim.demo_acquisition import srm_table_for
from msuite.hardware_sim.ms_instrument import SimulatedMassSpec
from msuite.hardware_sim.sample import HEAVY_SHIFT, PROTON, SampleSpec
from msuite.hardware_sim.server import MassSpecServer
from msuite.io.convert import convert
from msuite.io.runfile import RunFile, RunFileWriter
from msuite.methods.model import Method, PeptidePrecursor, Transition
from msuite.quant.calibration import fit_calibration, limit_of_quantification, percent_cv
from msuite.quant.quantify import QuantParams, quantify_run, quantify_runs
from msuite.quant.results import summarise_groups
from msuite.quant.targets import build_targets, load_targets
from tests.quant.helpers import simulate

SEQUENCE = "LVNEVTEFAK"
PROTEIN = "P02768"
HEAVY_FMOL = 1.0
RUN_S = 120.0


def srm_method(sequence: str = SEQUENCE) -> Method:
    """Light and heavy precursor (2+) with y4 (qualifier) and y6 (quantifier)."""
    shift = HEAVY_SHIFT[sequence[-1]]
    precs = []
    for label, delta in (("light", 0.0), ("heavy", shift)):
        q1 = (mass.fast_mass(sequence) + delta + 2 * PROTON) / 2
        trans = [
            Transition(
                "y",
                n,
                1,
                mass.fast_mass(sequence[-n:], ion_type="y", charge=1) + delta,
                quantifier=n == 6,
            )
            for n in (4, 6)
        ]
        precs.append(
            PeptidePrecursor(
                PROTEIN,
                sequence,
                2,
                q1,
                label=label,
                labelled_residues="K" if label == "heavy" else "",
                transitions=trans,
            )
        )
    return Method(name="sim", precursors=precs)


def srm_table(method: Method, dwell_ms: float = 10.0) -> np.ndarray:
    return srm_table_for(method, dwell_ms)


def srm_setup(table: np.ndarray) -> Callable[[MassSpectrometer], None]:
    """Driver setup of an SRM run of ``table``."""

    def setup(ms: MassSpectrometer) -> None:
        ms.upload_srm(table)
        ms.set_mode(ScanMode.SRM)

    return setup


def acquire_series(
    folder: Path, light_fmol: list[float], *, seed: int = 11, speed: float = 1000.0
) -> list[Path]:
    """One SRM run per light amount (constant heavy spike), through the simulator over TCP."""
    method = srm_method()
    table = srm_table(method)
    paths = []
    for k, amount in enumerate(light_fmol):
        sample = [
            SampleSpec("light", amount, sequence=SEQUENCE),
            SampleSpec("heavy", HEAVY_FMOL, sequence=SEQUENCE, heavy=True),
        ]
        records = simulate(
            "tq", sample, srm_setup(table), seed=seed + k, duration_s=RUN_S, speed=speed
        )
        path = folder / f"sim_{k:02d}_{amount:g}fmol.h5"
        meta = RunMetadata(run_id=path.stem, start_time=f"2026-12-01T08:{k % 60:02d}:00Z")
        with RunFileWriter(path, meta) as writer:
            for c in srm_chromatograms(records, table):
                writer.append_chromatogram(c)
            writer.close()
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def dilution_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[float], list[Path]]:
    levels = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
    amounts = [lv for lv in levels for _ in range(3)]
    folder = tmp_path_factory.mktemp("dilution")
    return amounts, acquire_series(folder, amounts)


def test_targets_pair_light_and_heavy() -> None:
    groups = build_targets(srm_method())
    assert len(groups) == 1
    g = groups[0]
    assert (g.group_id, g.kind, g.protein, g.charge) == (f"{SEQUENCE}_2", "peptide", PROTEIN, 2)
    assert [t.label for t in g.traces] == ["light", "light", "heavy", "heavy"]
    assert [t.quantifier for t in g.traces] == [False, True, False, True]
    assert g.traces[0].transition_id == f"{SEQUENCE}_2_light_y4"


def test_dilution_series_bias_and_cv_at_and_above_loq(
    dilution_runs: tuple[list[float], list[Path]],
) -> None:
    amounts, paths = dilution_runs
    groups = build_targets(srm_method())
    results = quantify_runs(paths, groups, QuantParams(), jobs=1)
    summary = summarise_groups(results)
    assert [s["found"] for s in summary] == [True] * len(paths)
    assert all(s["ratio_basis"] == "quantifier" for s in summary)
    ratio = np.array([s["ratio"] for s in summary])
    conc = np.array(amounts)
    curve = fit_calibration(conc, ratio, weighting="1/x")
    back = curve.back_calculate(ratio)
    levels = sorted(set(amounts))
    reps = [back[conc == lv] for lv in levels]
    # LOQ: lowest level from which on every level has bias < 5 % and CV < 10 %
    loq = limit_of_quantification(levels, reps, max_cv=10.0, max_bias=5.0)
    assert math.isfinite(loq) and loq <= 0.1, loq
    at_or_above = [(lv, r) for lv, r in zip(levels, reps, strict=True) if lv >= loq]
    assert len(at_or_above) >= 4  # at least 30x dynamic range
    for lv, r in at_or_above:
        bias = 100.0 * (r.mean() - lv) / lv
        assert abs(bias) < 5.0, (lv, bias)
        assert percent_cv(r) < 10.0, (lv, percent_cv(r))
    assert curve.r_squared > 0.99
    # light/heavy equals the amount ratio (same fragment yields for both labels)
    top = conc == max(levels)
    assert np.median(ratio[top]) == pytest.approx(max(levels) / HEAVY_FMOL, rel=0.05)


def test_rows_carry_boundaries_in_minutes(dilution_runs: tuple[list[float], list[Path]]) -> None:
    _, paths = dilution_runs
    groups = build_targets(srm_method())
    res = quantify_run(str(paths[-1]), groups, QuantParams())
    assert len(res.rows) == 4
    rows = res.rows
    assert all(r["found"] for r in rows)
    assert len({(r["rt_left"], r["rt_right"]) for r in rows}) == 1  # shared boundaries
    r = rows[0]
    assert 0 < r["rt_left"] < r["rt"] < r["rt_right"] < RUN_S / 60
    assert r["points_across"] >= 10 and r["area"] > 0 and r["background"] >= 0


def test_missing_trace_gives_found_false_row(dilution_runs: tuple[list[float], list[Path]]) -> None:
    _, paths = dilution_runs
    method = srm_method()
    method.precursors[0].transitions.append(Transition("y", 8, 1, 999.5))
    res = quantify_run(str(paths[-1]), build_targets(method), QuantParams())
    missing = [r for r in res.rows if r["product_mz"] == 999.5]
    assert len(missing) == 1
    assert missing[0]["found"] is False and missing[0]["note"] == "no matching trace in the run"
    assert sum(r["found"] for r in res.rows) == 4


def test_fixed_integration_uses_the_list_window(
    dilution_runs: tuple[list[float], list[Path]],
) -> None:
    _, paths = dilution_runs
    method = srm_method()
    auto = quantify_run(str(paths[-1]), build_targets(method), QuantParams())
    apex_s = auto.rows[0]["rt"] * 60
    inst = method.instrument
    for p in method.precursors:
        p.irt = (apex_s - inst.irt_intercept) / inst.irt_slope
        p.irt_window = 6.0 / inst.irt_slope  # 6 s wide
    fixed = quantify_run(str(paths[-1]), build_targets(method), QuantParams(integration="fixed"))
    r = fixed.rows[0]
    assert r["integration"] == "fixed"
    assert r["rt_left"] * 60 == pytest.approx(apex_s - 3.0)
    assert r["rt_right"] * 60 == pytest.approx(apex_s + 3.0)


def test_real_openms_srm_file(testdata: Path) -> None:
    d = testdata / "OpenMS" / "srm_mrm"
    targets = load_targets(d / "OpenSwathAnalyzer_1_input.TraML")
    assert [t.transition_id for g in targets.groups for t in g.traces] == [
        "tr1",
        "tr2",
        "tr3",
        "tr4",
        "tr5",
    ]
    res = quantify_run(
        str(d / "OpenSwathAnalyzer_1_input_chrom.mzML"), targets.groups, QuantParams()
    )
    assert [r["trace_id"] for r in res.rows] == ["tr1", "tr2", "tr3", "tr4", "tr5"]
    assert all(r["found"] for r in res.rows)
    # OpenMS finds PEPTIDEA at ~3120 s and PEPTIDEB at ~3055 s in this file
    by = {r["transition_id"]: r for r in res.rows}
    assert by["tr1"]["rt"] * 60 == pytest.approx(3120, abs=15)
    assert by["tr3"]["rt"] * 60 == pytest.approx(3055, abs=15)


def test_real_smartpeak_small_molecules(testdata: Path) -> None:
    d = testdata / "SmartPeak" / "yeast_MRM_unknowns"
    targets = load_targets(d / "LCMS_MRM_Unknowns_traML.csv")
    arg = next(g for g in targets.groups if g.group_id == "arg-L")
    assert {(t.transition_id, t.label, t.precursor_mz) for t in arg.traces} == {
        ("arg-L.arg-L_1.Light", "light", 173.0),
        ("arg-L.arg-L_1.Heavy", "heavy", 179.0),
    }
    res = quantify_run(
        str(d / "170808_Jonathan_yeast_Sacc1_1x.mzML"), targets.groups, QuantParams()
    )
    assert len(res.rows) == 324
    assert sum(r["found"] for r in res.rows) > 300
    for r in res.rows:
        if not r["found"]:
            assert r["note"]


def acquire_prm_run(path: Path, light_fmol: float, heavy_fmol: float, seed: int = 3) -> Path:
    """A PRM run (Orbitrap preset, 1 m/z isolation of the light and heavy precursors)."""
    method = srm_method()
    table = np.zeros(2, PRM_ROW_DTYPE)
    table["id"] = [1, 2]
    table["precursor_mz"] = [p.precursor_mz for p in method.precursors]
    table["charge"] = 2
    table["isolation_width"] = 1.0
    table["collision_energy"] = 27.0
    table["resolution"] = 15000.0
    table["rt_start"] = table["rt_stop"] = -1.0
    sample = [
        SampleSpec("light", light_fmol, sequence=SEQUENCE),
        SampleSpec("heavy", heavy_fmol, sequence=SEQUENCE, heavy=True),
    ]

    def setup(ms: MassSpectrometer) -> None:
        ms.upload_prm(table)
        ms.set_mode(ScanMode.PRM)

    records = simulate("orbitrap", sample, setup, seed=seed, duration_s=RUN_S)
    write_spectra(path, [record_to_spectrum(rec, i) for i, rec in enumerate(records)])
    return path


def write_spectra(path: Path, spectra: list) -> Path:
    with RunFileWriter(path, RunMetadata(run_id=path.stem)) as writer:
        for i, spectrum in enumerate(spectra):
            spectrum.header.index = i
            writer.append_spectrum(spectrum)
        writer.close()
    return path


def test_prm_run_quantified_from_xics_of_spectra(tmp_path: Path) -> None:
    run = acquire_prm_run(tmp_path / "prm.h5", light_fmol=2.0, heavy_fmol=1.0)
    groups = build_targets(srm_method())
    res = quantify_run(str(run), groups, QuantParams(ppm=10.0))
    assert all(r["found"] for r in res.rows)
    assert [r["trace_id"].split(" m/z")[0] for r in res.rows] == [
        "XIC MS2 575.311",
        "XIC MS2 575.311",
        "XIC MS2 579.318",
        "XIC MS2 579.318",
    ]
    assert all(r["points_across"] >= 10 for r in res.rows)
    [summary] = summarise_groups([res])
    assert summary["ratio"] == pytest.approx(2.0, rel=0.05)
    # the same spectra as mzML give the same numbers (10 s around the peak: psims is slow)
    apex_s = res.rows[0]["rt"] * 60
    with RunFile(run) as f:
        near = list(f.iter_spectra(f.indices_in_rt(apex_s - 5, apex_s + 5)))
    part = write_spectra(tmp_path / "part.h5", near)
    mzml = tmp_path / "part.mzML"
    convert(part, mzml)
    rows_h5 = quantify_run(str(part), groups, QuantParams()).rows
    rows_mzml = quantify_run(str(mzml), groups, QuantParams()).rows
    for a, b in zip(rows_h5, rows_mzml, strict=True):
        assert a["found"] and b["found"]
        assert b["area"] == pytest.approx(a["area"], rel=1e-9)
        assert b["rt_left"] == pytest.approx(a["rt_left"], abs=1e-9)
    wrong_mz = quantify_run(str(run), groups, QuantParams(ppm=0.01))
    assert not any(r["found"] for r in wrong_mz.rows)


def test_worker_processes_give_the_same_rows(
    testdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import msuite.quant.quantify as quantify

    d = testdata / "SmartPeak" / "yeast_MRM_unknowns"
    targets = load_targets(d / "LCMS_MRM_Unknowns_traML.csv")
    run = str(d / "170808_Jonathan_yeast_Sacc1_1x.mzML")
    monkeypatch.setattr(quantify, "MIN_GROUPS_PER_WORKER", 10)  # 118 groups: two chunks
    one = quantify_run(run, targets.groups, QuantParams(), workers=1)
    two = quantify_run(run, targets.groups, QuantParams(), workers=2)
    assert len(one.rows) == len(two.rows) == 324
    for a, b in zip(one.rows, two.rows, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            same = a[k] == b[k] or (
                isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])
            )
            assert same, (k, a[k], b[k])


def test_full_scan_run_quantified_from_ms1_xics(tmp_path: Path) -> None:
    """Metabolites without transitions (MS1 targets) in full-scan spectra of the default
    simulated sample: caffeine 200 fmol at iRT -20, creatinine 2000 fmol at iRT -30."""
    from msuite.methods.model import SmallMolecule

    with (
        MassSpecServer(SimulatedMassSpec("orbitrap", speed=1000.0, seed=5)) as server,
        MassSpectrometer(server.resource, timeout_s=5.0) as ms,
    ):
        ms.source_on()
        ms.configure_full(100, 600)
        ms.set_mode(ScanMode.FULL)
        ms.set_duration(RUN_S)
        stream = ms.stream()
        ms.start()
        records = list(stream)
    run = write_spectra(
        tmp_path / "full.h5", [record_to_spectrum(r, i) for i, r in enumerate(records)]
    )
    mols = [
        SmallMolecule(name, formula, "[M+H]+", 1, mass.calculate_mass(formula=formula) + PROTON)
        for name, formula in (("caffeine", "C8H10N4O2"), ("creatinine", "C4H7N3O"))
    ]
    res = quantify_run(
        str(run), build_targets(Method(name="m", small_molecules=mols)), QuantParams(ppm=10.0)
    )
    caffeine, creatinine = res.rows
    assert caffeine["transition_id"] == "caffeine_light_[M+H]+"
    assert caffeine["trace_id"] == "XIC MS1 m/z 195.0877 +-10 ppm"
    assert caffeine["found"] and creatinine["found"]
    # the simulator elutes iRT -20 at 12 % + 5/125 x 68 % of the gradient (drift of ~1 s)
    assert caffeine["rt"] * 60 == pytest.approx((0.12 + 5 / 125 * 0.68) * RUN_S, abs=3.0)
    assert creatinine["area"] > 3 * caffeine["area"] > 0
