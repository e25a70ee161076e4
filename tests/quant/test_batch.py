"""Batch calibration from a sample sheet: curves, acceptance, exclusion, LOD/LOQ, replicates.

Rows are built as ``summarise_groups`` gives them; expected values are computed here from the
inputs with numpy, independently of msuite's fitting code.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from msuite.core.errors import InputError
from msuite.quant.batch import CalibrationSettings, quantify_batch
from msuite.quant.calibration import fit_calibration
from msuite.quant.samples import Sample, SampleSheet

INTERCEPT, SLOPE = 0.02, 0.5
LEVELS = [0.1, 0.3, 1.0, 3.0, 10.0]
#: relative deviations of the replicate responses (two per level)
WOBBLE = [0.03, -0.02, 0.01, -0.01, -0.02, 0.02, 0.01, 0.0, -0.01, 0.015]


def row(run: str, response: float, group: str = "PEPTIDEK_2", found: bool = True) -> dict:
    return {
        "run": run,
        "group_id": group,
        "protein": "P1",
        "peptide_or_compound": group.split("_")[0],
        "kind": "peptide",
        "found": found,
        "response": response if found else math.nan,
        "concentration": math.nan,
    }


def batch(
    extra: list[tuple[Sample, float]] = (),
    wobble: list[float] = WOBBLE,
) -> tuple[list[dict[str, Any]], SampleSheet, np.ndarray, np.ndarray]:
    samples, groups, conc, resp = [], [], [], []
    k = 0
    for level in LEVELS:
        for _ in range(2):
            y = (INTERCEPT + SLOPE * level) * (1 + wobble[k])
            samples.append(Sample(f"cal{k}", "calibrator", level, f"calibrator {level}", order=k))
            groups.append(row(f"cal{k}", y))
            conc.append(level)
            resp.append(y)
            k += 1
    for i, (s, y) in enumerate(extra):
        samples.append(Sample(**{**s.__dict__, "order": 100 + i}))
        groups.append(row(s.run, y, found=math.isfinite(y)))
    return groups, SampleSheet(tuple(samples)), np.array(conc), np.array(resp)


def weighted_fit(x: np.ndarray, y: np.ndarray, power: float = 1.0) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line with weights 1/x**power."""
    w = 1.0 / x**power
    slope, intercept = np.polyfit(x, y, 1, w=np.sqrt(w))
    return float(intercept), float(slope)


def test_curve_concentrations_and_calibrator_accuracy() -> None:
    unknown = Sample("pat", "unknown", sample="pat", dilution_factor=2.0)
    qc = Sample("qc1", "qc", 2.0, "QC 2", qc_level="QC 2")
    groups, sheet, x, y = batch([(unknown, 0.77), (qc, INTERCEPT + SLOPE * 2.1)])
    result = quantify_batch(groups, sheet)
    c0, c1 = weighted_fit(x, y)
    curve = result.curves["PEPTIDEK_2"]
    assert curve.coefficients == pytest.approx((c0, c1), rel=1e-9)
    by = {g["run"]: g for g in groups}
    assert by["pat"]["concentration"] == pytest.approx(2.0 * (0.77 - c0) / c1)
    assert by["pat"]["sample_type"] == "unknown" and math.isnan(by["pat"]["accuracy"])
    qc_conc = (INTERCEPT + SLOPE * 2.1 - c0) / c1
    assert by["qc1"]["accuracy"] == pytest.approx(100 * qc_conc / 2.0)
    cals = [r for r in result.calibrators if r["group_id"] == "PEPTIDEK_2"]
    assert len(cals) == 10 and all(r["used"] for r in cals)
    for r in cals:
        back = (r["response"] - c0) / c1
        assert r["accuracy"] == pytest.approx(100 * back / r["nominal_concentration"])
        assert r["accepted"] == (abs(r["accuracy"] - 100) <= r["limit_percent"])
    assert {r["limit_percent"] for r in cals if r["nominal_concentration"] == 0.1} == {20.0}
    info = result.calibration[0]
    assert (info["lloq"], info["uloq"], info["n_levels"]) == (0.1, 10.0, 5)
    assert info["status"] == "accepted" and info["n_excluded"] == 0


def test_flags_outside_the_calibrated_range() -> None:
    low = Sample("low", "unknown", sample="low")
    high = Sample("high", "unknown", sample="high")
    groups, sheet, *_ = batch([(low, INTERCEPT + SLOPE * 0.01), (high, INTERCEPT + SLOPE * 50)])
    quantify_batch(groups, sheet)
    by = {g["run"]: g for g in groups}
    assert by["low"]["flag"] == "<LLOQ" and by["high"]["flag"] == ">ULOQ"
    # calibrators are never flagged, even where they read back just outside their own range
    assert min(by[f"cal{k}"]["concentration"] for k in range(10)) < 0.1
    assert all(by[f"cal{k}"]["flag"] == "" for k in range(10))


def test_auto_exclusion_drops_the_outlier_and_refits() -> None:
    wobble = list(WOBBLE)
    wobble[5] = 0.6  # one replicate at 1.0 reads 60 % high
    groups, sheet, x, y = batch(wobble=wobble)
    kept = np.arange(10) != 5
    c0, c1 = weighted_fit(x[kept], y[kept])
    none = quantify_batch([dict(g) for g in groups], sheet)
    assert not all(r["accepted"] for r in none.calibrators)
    auto = quantify_batch(groups, sheet, CalibrationSettings(exclusion="auto"))
    assert auto.curves["PEPTIDEK_2"].coefficients == pytest.approx((c0, c1), rel=1e-9)
    dropped = [r for r in auto.calibrators if not r["used"]]
    assert [r["run"] for r in dropped] == ["cal5"]
    assert "excluded" in dropped[0]["note"]
    assert auto.calibration[0]["n_excluded"] == 1


def test_auto_exclusion_keeps_three_quarters() -> None:
    wobble = [0.5, -0.4, 0.45, -0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    groups, sheet, *_ = batch(wobble=wobble)
    auto = quantify_batch(groups, sheet, CalibrationSettings(exclusion="auto"))
    assert sum(r["used"] for r in auto.calibrators) >= 0.75 * 10


def test_lod_from_blanks_and_loq_from_replicates() -> None:
    blanks = [(Sample(f"b{i}", "blank", sample=f"b{i}"), v) for i, v in enumerate([0.01, 0.03])]
    missing = (Sample("b2", "blank", sample="b2"), math.nan)  # not found: zero response
    wobble = list(WOBBLE)
    wobble[0], wobble[1] = 0.4, -0.4  # the lowest level scatters: CV far over 20 %
    groups, sheet, x, y = batch([*blanks, missing], wobble=wobble)
    result = quantify_batch(groups, sheet)
    c0, c1 = weighted_fit(x, y)
    b = np.array([0.01, 0.03, 0.0])
    assert result.calibration[0]["lod"] == pytest.approx((b.mean() + 3 * b.std(ddof=1) - c0) / c1)
    assert result.calibration[0]["loq"] == 0.3


def test_replicate_cv_per_sample() -> None:
    reps = [(Sample(f"r{i}", "unknown", sample="patient 1"), v) for i, v in enumerate([1.0, 1.1])]
    groups, sheet, x, y = batch(reps)
    result = quantify_batch(groups, sheet)
    c0, c1 = weighted_fit(x, y)
    conc = (np.array([1.0, 1.1]) - c0) / c1
    row = next(r for r in result.replicates if r["sample"] == "patient 1")
    assert row["n"] == 2 and row["sample_type"] == "unknown"
    assert row["concentration_cv"] == pytest.approx(100 * conc.std(ddof=1) / conc.mean())
    cal = next(r for r in result.replicates if r["sample"] == "calibrator 3.0")
    assert cal["n"] == 2 and cal["bias"] == pytest.approx(
        100 * (cal["mean_concentration"] - 3.0) / 3.0
    )


def test_missing_calibrators_and_failed_fits_are_reported() -> None:
    groups, sheet, *_ = batch()
    groups[0]["found"], groups[0]["response"] = False, math.nan
    result = quantify_batch(groups, sheet)
    first = next(r for r in result.calibrators if r["run"] == "cal0")
    assert first["used"] is False and first["note"] == "not quantified in this run"
    assert result.calibration[0]["n_points"] == 9
    # a target found in one calibrator only cannot be fitted: reported, not raised
    for g in groups[1:]:
        g["response"] = math.nan
    groups[1]["response"] = 0.1
    failed = quantify_batch(groups, sheet)
    assert failed.calibration[0]["status"] == "failed"
    assert "PEPTIDEK_2" not in failed.curves
    assert all(math.isnan(g["concentration"]) for g in groups)


def test_given_curve_for_targets_without_calibrators() -> None:
    curve = fit_calibration([1.0, 2.0], [0.5, 1.0])
    sheet = SampleSheet((Sample("u", "unknown", sample="u"),))
    groups = [row("u", 0.75, group="OTHERK_2")]
    result = quantify_batch(groups, sheet, fixed_curves={"OTHERK": curve})
    assert groups[0]["concentration"] == pytest.approx(1.5)
    assert result.calibration[0]["source"] == "--calibration"


def test_runs_must_match_the_sheet_and_settings_are_checked() -> None:
    groups, sheet, *_ = batch()
    with pytest.raises(InputError, match="not in the sample sheet"):
        quantify_batch([*groups, row("stray", 1.0)], sheet)
    for bad in (
        CalibrationSettings(model="cubic"),
        CalibrationSettings(weighting="1/y"),
        CalibrationSettings(exclusion="all"),
        CalibrationSettings(acceptance_percent=0),
        CalibrationSettings(min_kept_fraction=1.5),
    ):
        with pytest.raises(InputError):
            quantify_batch(groups, sheet, bad)


def test_compounds_with_per_target_concentrations() -> None:
    """Metabolite panels: one calibrator run holds each compound at its own level."""
    levels = {"caffeine": [1.0, 2.0, 5.0, 10.0], "theobromine": [0.5, 1.0, 2.5, 5.0]}
    slopes = {"caffeine": 0.8, "theobromine": 2.0}
    samples, groups = [], []
    for k in range(4):
        run = f"cal{k}"
        per = {name: lv[k] for name, lv in levels.items()}
        samples.append(Sample(run, "calibrator", sample=run, order=k, target_concentrations=per))
        for name, lv in per.items():
            groups.append(
                {**row(run, slopes[name] * lv, group=name), "kind": "compound", "protein": ""}
            )
    samples.append(Sample("u", "unknown", sample="u", order=9))
    groups += [
        {**row("u", 0.8 * 3.0, group="caffeine"), "kind": "compound"},
        {**row("u", 2.0 * 3.0, group="theobromine"), "kind": "compound"},
    ]
    result = quantify_batch(groups, SampleSheet(tuple(samples)))
    unknown = {g["group_id"]: g for g in groups if g["run"] == "u"}
    assert unknown["caffeine"]["concentration"] == pytest.approx(3.0)
    assert unknown["theobromine"]["concentration"] == pytest.approx(3.0)
    assert {c["group_id"]: c["uloq"] for c in result.calibration} == {
        "caffeine": 10.0,
        "theobromine": 5.0,
    }
