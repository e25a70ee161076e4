"""System-suitability checks of a batch (msuite.quant.suitability)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from msuite.core.errors import InputError
from msuite.quant.calibration import fit_calibration
from msuite.quant.quantify import QuantParams, quantify_runs, run_name
from msuite.quant.results import summarise_groups, transition_rows
from msuite.quant.samples import Sample, SampleSheet
from msuite.quant.suitability import (
    SUITABILITY_COLUMNS,
    SuitabilityCriteria,
    suitability_rows,
)
from msuite.quant.targets import build_targets
from tests.quant.test_quantify import acquire_series, srm_method

NAN = math.nan
GID = "PEPTIDEK_2"


def sheet_of(*samples: tuple[str, str, float]) -> SampleSheet:
    """Samples (run, type, nominal) in injection order."""
    return SampleSheet(
        tuple(
            Sample(
                run,
                kind,
                conc,
                order=i + 1,
                line=i + 2,
                qc_level=f"QC {conc:g}" if kind == "qc" else "",
            )
            for i, (run, kind, conc) in enumerate(samples)
        )
    )


def group(
    run: str,
    sample_type: str,
    *,
    rt: float = 5.0,
    light: float = 100.0,
    heavy: float = 1000.0,
    found: bool = True,
    nominal: float = NAN,
    accuracy: float = NAN,
    concentration: float = NAN,
    gid: str = GID,
) -> dict:
    ratio = light / heavy if math.isfinite(heavy) else NAN
    return {
        "run": run,
        "group_id": gid,
        "protein": "P1",
        "peptide_or_compound": gid.split("_")[0],
        "charge": 2,
        "kind": "peptide",
        "found": found,
        "rt": rt if found else NAN,
        "rt_left": rt - 0.1 if found else NAN,
        "rt_right": rt + 0.1 if found else NAN,
        "light_area": light,
        "heavy_area": heavy,
        "ratio": ratio,
        "response": ratio if math.isfinite(heavy) else light,
        "concentration": concentration,
        "sample_type": sample_type,
        "nominal_concentration": nominal,
        "accuracy": accuracy,
    }


def transition(
    run: str,
    name: str,
    area: float,
    *,
    label: str = "light",
    quantifier: bool = False,
    expected_rt: float = NAN,
    rt: float = 5.0,
    gid: str = GID,
) -> dict:
    found = math.isfinite(area)
    return {
        "run": run,
        "transition_id": f"{gid}_{label}_{name}",
        "group_id": gid,
        "peptide_or_compound": gid.split("_")[0],
        "label": label,
        "quantifier": quantifier,
        "found": found,
        "area": area,
        "rt": rt if found else NAN,
        "expected_rt": expected_rt,
    }


def of(rows: list[dict], check: str, run: str | None = None) -> list[dict]:
    return [r for r in rows if r["check"] == check and (run is None or r["run"] == run)]


def one(rows: list[dict], check: str, run: str) -> dict:
    found = of(rows, check, run)
    assert len(found) == 1, found
    return found[0]


# ------------------------------------------------------------------------------- criteria
@pytest.mark.parametrize(
    "name,value",
    [
        ("rt_percent", -1.0),
        ("is_area_cv", NAN),
        ("ion_ratio_percent", 0.0),
        ("carryover_percent", "20"),
        ("qc_accuracy_percent", math.inf),
        ("is_area_deviation_percent", True),
    ],
)
def test_bad_criteria_name_the_field(name: str, value: object) -> None:
    with pytest.raises(InputError) as err:
        SuitabilityCriteria(**{name: value})
    assert err.value.field == name
    assert name in str(err.value) and "> 0" in str(err.value)


def test_criteria_object_is_checked() -> None:
    with pytest.raises(InputError, match="criteria"):
        suitability_rows([], [], sheet_of(), criteria={"rt_percent": 2.5})  # type: ignore[arg-type]


# ------------------------------------------------------------------------- retention time
def test_retention_time_against_the_list() -> None:
    expected = 5.0
    rts = {"c1": 5.05, "u1": 5.2}
    sheet = sheet_of(("c1", "calibrator", 1.0), ("u1", "unknown", NAN))
    groups = [group(r, sheet[r].sample_type, rt=rt) for r, rt in rts.items()]
    trans = [transition(r, "y6", 10.0, expected_rt=expected) for r in rts]
    rows = suitability_rows(groups, trans, sheet)
    for run, rt in rts.items():
        row = one(rows, "retention_time", run)
        want = 100 * abs(rt - expected) / expected
        assert row["value"] == pytest.approx(want)
        assert row["passed"] is bool(want <= 2.5)
        assert row["reference"] == "list" and row["limit"] == 2.5
    assert one(rows, "retention_time", "c1")["passed"] is True
    assert one(rows, "retention_time", "u1")["passed"] is False


def test_retention_time_against_calibrators_then_all_runs() -> None:
    rts = {"c1": 5.0, "c2": 5.1, "u1": 5.3, "u2": 5.06}
    sheet = sheet_of(
        ("c1", "calibrator", 1.0),
        ("c2", "calibrator", 2.0),
        ("u1", "unknown", NAN),
        ("u2", "unknown", NAN),
    )
    groups = [group(r, sheet[r].sample_type, rt=rt) for r, rt in rts.items()]
    rows = suitability_rows(groups, [], sheet)
    ref = np.mean([rts["c1"], rts["c2"]])
    for run, rt in rts.items():
        row = one(rows, "retention_time", run)
        assert row["reference"] == "calibrators"
        assert row["value"] == pytest.approx(100 * abs(rt - ref) / ref)
    assert one(rows, "retention_time", "u1")["passed"] is False
    assert one(rows, "retention_time", "u2")["passed"] is True
    # no calibrators: the mean over all runs
    unknowns = sheet_of(*((r, "unknown", NAN) for r in rts))
    rows = suitability_rows([group(r, "unknown", rt=rt) for r, rt in rts.items()], [], unknowns)
    ref = np.mean(list(rts.values()))
    row = one(rows, "retention_time", "u1")
    assert row["reference"] == "all runs"
    assert row["value"] == pytest.approx(100 * abs(rts["u1"] - ref) / ref)


def test_retention_time_of_a_missing_target_is_not_evaluated() -> None:
    sheet = sheet_of(("c1", "calibrator", 1.0), ("u1", "unknown", NAN))
    groups = [group("c1", "calibrator"), group("u1", "unknown", found=False, light=NAN)]
    rows = suitability_rows(groups, [], sheet)
    row = one(rows, "retention_time", "u1")
    assert row["passed"] is None and "not found" in row["note"] and math.isnan(row["value"])
    # nowhere found: no reference, still rows and no exception
    groups = [group(r, "unknown", found=False, light=NAN, heavy=NAN) for r in ("c1", "u1")]
    rows = suitability_rows(groups, [], sheet)
    assert [r["passed"] for r in of(rows, "retention_time")] == [None, None]


# -------------------------------------------------------------------- internal standard area
IS_BATCH = {
    "c1": ("calibrator", 1000.0),
    "b1": ("blank", 1100.0),
    "q1": ("qc", 900.0),
    "u1": ("unknown", 1050.0),
    "d1": ("double_blank", NAN),
    "s1": ("solvent", NAN),
}


def is_batch(areas: dict[str, tuple[str, float]]) -> tuple[list[dict], SampleSheet]:
    sheet = sheet_of(
        *((r, kind, 1.0 if kind in ("calibrator", "qc") else NAN) for r, (kind, _) in areas.items())
    )
    groups = [group(r, kind, heavy=a) for r, (kind, a) in areas.items()]
    return groups, sheet


def test_is_area_cv_over_runs_with_the_standard() -> None:
    groups, sheet = is_batch(IS_BATCH)
    rows = suitability_rows(groups, [], sheet)
    areas = np.array(
        [a for kind, a in IS_BATCH.values() if kind not in ("double_blank", "solvent")]
    )
    cv = 100 * areas.std(ddof=1) / areas.mean()
    row = one(rows, "is_area_cv", "")
    assert row["value"] == pytest.approx(cv) and row["passed"] is True
    assert row["limit"] == 20.0 and row["note"].startswith("4 runs")
    devs = of(rows, "is_area_deviation")
    assert [d["run"] for d in devs] == ["c1", "b1", "q1", "u1"]  # no double blank, no solvent
    for d in devs:
        area = IS_BATCH[d["run"]][1]
        assert d["value"] == pytest.approx(100 * abs(area - areas.mean()) / areas.mean())
        assert d["passed"] is True


def test_is_area_cv_and_deviation_fail_on_a_lost_standard() -> None:
    batch = dict(IS_BATCH, u1=("unknown", 300.0))
    groups, sheet = is_batch(batch)
    rows = suitability_rows(groups, [], sheet, SuitabilityCriteria(is_area_cv=15.0))
    areas = np.array([1000.0, 1100.0, 900.0, 300.0])
    row = one(rows, "is_area_cv", "")
    assert row["value"] == pytest.approx(100 * areas.std(ddof=1) / areas.mean())
    assert row["passed"] is False and row["limit"] == 15.0
    dev = one(rows, "is_area_deviation", "u1")
    assert dev["value"] == pytest.approx(100 * (areas.mean() - 300.0) / areas.mean())
    assert dev["value"] > 50 and dev["passed"] is False
    assert one(rows, "is_area_deviation", "c1")["passed"] is True


def test_is_area_missing_standard() -> None:
    batch = dict(IS_BATCH, q1=("qc", NAN))
    groups, sheet = is_batch(batch)
    rows = suitability_rows(groups, [], sheet)
    row = one(rows, "is_area_cv", "")
    assert row["passed"] is not None and "not found in q1" in row["note"]
    dev = one(rows, "is_area_deviation", "q1")
    assert dev["passed"] is False and "not found" in dev["note"]  # a missing standard fails
    # no heavy at all: one row, not evaluated
    groups, sheet = is_batch({r: (kind, NAN) for r, (kind, _) in IS_BATCH.items()})
    rows = suitability_rows(groups, [transition("c1", "y6", 5.0, quantifier=True)], sheet)
    (row,) = of(rows, "is_area_cv")
    assert row["passed"] is None and "no internal standard" in row["note"]
    assert of(rows, "is_area_deviation") == []
    # a heavy transition in the list but found in one run only
    batch = {r: (kind, NAN) for r, (kind, _) in IS_BATCH.items()}
    batch["c1"] = ("calibrator", 1000.0)
    groups, sheet = is_batch(batch)
    (row,) = of(suitability_rows(groups, [], sheet), "is_area_cv")
    assert row["passed"] is None and "need 2" in row["note"]


# ------------------------------------------------------------------------------- ion ratio
def ion_batch(
    qual: dict[str, float], quant: dict[str, float], *, flagged: bool = True
) -> tuple[list[dict], list[dict], SampleSheet]:
    kinds = {"c": "calibrator", "u": "unknown", "q": "qc", "b": "blank"}
    sheet = sheet_of(*((r, kinds[r[0]], 1.0 if r[0] in "cq" else NAN) for r in quant))
    groups = [group(r, sheet[r].sample_type, light=quant[r]) for r in quant]
    trans = []
    for r in quant:
        trans.append(transition(r, "y4", qual[r]))
        trans.append(transition(r, "y6", quant[r], quantifier=flagged))
        trans.append(transition(r, "y6", 1000.0, label="heavy", quantifier=flagged))
    return groups, trans, sheet


def test_ion_ratio_against_the_calibrators_mean() -> None:
    quant = {"c1": 100.0, "c2": 200.0, "c3": 400.0, "u1": 300.0, "u2": 300.0, "q1": 50.0, "b1": 1.0}
    qual = {
        "c1": 50.0,
        "c2": 96.0,
        "c3": 212.0,
        "u1": 300 * 0.5 * 1.3,
        "u2": 300 * 0.5 * 1.05,
        "q1": NAN,
        "b1": 3.0,
    }
    groups, trans, sheet = ion_batch(qual, quant)
    rows = suitability_rows(groups, trans, sheet)
    ref = np.mean([qual[r] / quant[r] for r in ("c1", "c2", "c3")])
    assert {r["run"] for r in of(rows, "ion_ratio")} == {"c1", "c2", "c3", "u1", "u2", "q1"}
    for run in ("c1", "c2", "c3", "u1", "u2"):
        row = one(rows, "ion_ratio", run)
        want = 100 * abs(qual[run] / quant[run] - ref) / ref
        assert row["value"] == pytest.approx(want)
        assert row["passed"] is bool(want <= 20.0)
        assert row["transition_id"] == f"{GID}_light_y4"
        assert f"quantifier {GID}_light_y6" in row["note"]
        assert "largest" not in row["note"]
    assert one(rows, "ion_ratio", "u1")["passed"] is False
    assert one(rows, "ion_ratio", "u2")["passed"] is True
    q1 = one(rows, "ion_ratio", "q1")
    assert q1["passed"] is None and "not found" in q1["note"]


def test_ion_ratio_quantifier_chosen_by_calibrator_area() -> None:
    # y4 is the larger transition in the calibrators: it becomes the quantifier
    quant = {"c1": 100.0, "c2": 200.0, "u1": 100.0}
    qual = {"c1": 300.0, "c2": 640.0, "u1": 420.0}
    groups, trans, sheet = ion_batch(qual, quant, flagged=False)
    rows = suitability_rows(groups, trans, sheet)
    ref = np.mean([quant[r] / qual[r] for r in ("c1", "c2")])
    row = one(rows, "ion_ratio", "u1")
    assert row["transition_id"] == f"{GID}_light_y6"
    assert row["value"] == pytest.approx(100 * abs(quant["u1"] / qual["u1"] - ref) / ref)
    assert "largest mean calibrator area" in row["note"]
    assert f"quantifier {GID}_light_y4" in row["note"]


def test_ion_ratio_without_calibrators_is_not_evaluated() -> None:
    quant = {"u1": 100.0, "u2": 200.0}
    qual = {"u1": 50.0, "u2": 100.0}
    groups, trans, sheet = ion_batch(qual, quant)
    rows = of(suitability_rows(groups, trans, sheet), "ion_ratio")
    assert len(rows) == 2
    assert all(r["passed"] is None and "no calibrator ion ratio" in r["note"] for r in rows)
    groups, trans, sheet = ion_batch(qual, quant, flagged=False)
    rows = of(suitability_rows(groups, trans, sheet), "ion_ratio")
    assert rows and all(r["passed"] is None and "no quantifier" in r["note"] for r in rows)


# ------------------------------------------------------------------------------- carryover
def carry_batch(order: list[tuple[str, str, float, float, float]]):
    """(run, type, nominal, light area, heavy area) in injection order."""
    sheet = sheet_of(*((r, kind, nominal) for r, kind, nominal, _, _ in order))
    groups = [
        group(r, kind, nominal=nominal, light=light, heavy=heavy)
        for r, kind, nominal, light, heavy in order
    ]
    return groups, sheet


def test_carryover_after_the_top_calibrator_and_high_samples() -> None:
    lloq = [10.0, 12.0]
    order = [
        ("c1", "calibrator", 0.1, lloq[0], 1000.0),
        ("c1b", "calibrator", 0.1, lloq[1], 1000.0),
        ("c2", "calibrator", 1.0, 100.0, 1000.0),
        ("c3", "calibrator", 10.0, 1000.0, 1000.0),
        ("b1", "blank", NAN, 2.0, 1000.0),  # after the top calibrator: passes
        ("u1", "unknown", NAN, 5000.0, 1000.0),  # response above the top calibrator
        ("d1", "double_blank", NAN, 4.0, NAN),  # after u1: fails
        ("u2", "unknown", NAN, 50.0, 1000.0),
        ("s1", "solvent", NAN, 9.0, NAN),  # after a low sample: not checked
    ]
    groups, sheet = carry_batch(order)
    rows = suitability_rows(groups, [], sheet)
    assert [r["run"] for r in of(rows, "carryover")] == ["b1", "d1"]
    ref = np.mean(lloq)
    b1 = one(rows, "carryover", "b1")
    assert b1["value"] == pytest.approx(100 * 2.0 / ref) and b1["passed"] is True
    assert "after the highest calibrator c3" in b1["note"] and b1["reference"] == "LLOQ"
    d1 = one(rows, "carryover", "d1")
    assert d1["value"] == pytest.approx(100 * 4.0 / ref) and d1["passed"] is False
    assert d1["sample_type"] == "double_blank" and "u1" in d1["note"]


def test_carryover_clean_blank_and_missing_data() -> None:
    order = [
        ("c1", "calibrator", 0.1, 10.0, 1000.0),
        ("c2", "calibrator", 1.0, 100.0, 1000.0),
        ("b1", "blank", NAN, NAN, 1000.0),
    ]
    groups, sheet = carry_batch(order)
    row = one(suitability_rows(groups, [], sheet), "carryover", "b1")
    assert row["value"] == 0.0 and row["passed"] is True
    assert "no analyte peak" in row["note"]
    # the LLOQ calibrator has no light area: not evaluated
    order[0] = ("c1", "calibrator", 0.1, NAN, 1000.0)
    groups, sheet = carry_batch(order)
    row = one(suitability_rows(groups, [], sheet), "carryover", "b1")
    assert row["passed"] is None and "LLOQ" in row["note"]
    # no calibrators: one row saying so
    groups, sheet = carry_batch(
        [("u1", "unknown", NAN, 100.0, 1.0), ("b1", "blank", NAN, 5.0, 1.0)]
    )
    (row,) = of(suitability_rows(groups, [], sheet), "carryover")
    assert row["run"] == "" and row["passed"] is None and "no calibrators" in row["note"]


# ----------------------------------------------------------------------------- QC accuracy
def test_qc_accuracy() -> None:
    sheet = sheet_of(
        ("q1", "qc", 1.0), ("q2", "qc", 1.0), ("q3", "qc", 5.0), ("u1", "unknown", NAN)
    )
    acc = {"q1": 108.0, "q2": 118.0, "q3": NAN, "u1": NAN}
    groups = [
        group(
            r,
            sheet[r].sample_type,
            accuracy=a,
            nominal=sheet[r].concentration,
            concentration=a / 100 * sheet[r].concentration,
        )
        for r, a in acc.items()
    ]
    limit = 15.0
    rows = suitability_rows(groups, [], sheet, SuitabilityCriteria(qc_accuracy_percent=limit))
    assert [r["run"] for r in of(rows, "qc_accuracy")] == ["q1", "q2", "q3"]
    for run in ("q1", "q2"):
        row = one(rows, "qc_accuracy", run)
        assert row["value"] == acc[run] and row["limit"] == limit
        assert row["passed"] is (abs(acc[run] - 100) <= limit)
    q3 = one(rows, "qc_accuracy", "q3")
    assert q3["passed"] is None and "no back-calculated concentration" in q3["note"]


# ------------------------------------------------------------------------------ all checks
def test_rows_have_the_columns_and_typed_passed() -> None:
    groups, trans, sheet = ion_batch({"c1": 50.0, "u1": 50.0}, {"c1": 100.0, "u1": 100.0})
    rows = suitability_rows(groups, trans, sheet)
    assert rows
    for r in rows:
        assert tuple(r) == SUITABILITY_COLUMNS
        assert r["passed"] in (True, False, None)
        assert type(r["passed"]) is bool or r["passed"] is None


# ---------------------------------------------------------------------------- end to end
def test_simulated_batch_passes_the_checks(tmp_path: Path) -> None:
    # injection order: calibrators, blank after the top calibrator, QC, then a blank that
    # really holds analyte at the LLOQ level after a second top calibrator
    plan = [
        ("calibrator", 0.03),
        ("calibrator", 0.3),
        ("calibrator", 3.0),
        ("blank", 0.0),
        ("qc", 1.0),
        ("calibrator", 3.0),
        ("blank", 0.03),
    ]
    paths = acquire_series(tmp_path, [amount for _, amount in plan])
    results = quantify_runs(paths, build_targets(srm_method()), QuantParams(), jobs=1)
    groups = summarise_groups(results)
    transitions = transition_rows(results)
    runs = [run_name(p) for p in paths]
    sheet = sheet_of(
        *(
            (run, kind, amount if kind != "blank" else NAN)
            for run, (kind, amount) in zip(runs, plan, strict=True)
        )
    )
    cal = [g for g, (kind, _) in zip(groups, plan, strict=True) if kind == "calibrator"]
    curve = fit_calibration(
        [sheet[g["run"]].concentration for g in cal], [g["response"] for g in cal], weighting="1/x"
    )
    for g in groups:
        sample = sheet[g["run"]]
        g["sample_type"] = sample.sample_type
        g["nominal_concentration"] = sample.concentration
        g["concentration"] = float(curve.back_calculate(g["response"])[0])
        g["accuracy"] = 100 * g["concentration"] / sample.concentration

    rows = suitability_rows(groups, transitions, sheet)

    rt = of(rows, "retention_time")
    assert len(rt) == len(runs) and all(r["passed"] is True for r in rt), rt
    assert {r["reference"] for r in rt} == {"calibrators"}
    ion = of(rows, "ion_ratio")
    assert [r["run"] for r in ion] == [*runs[:3], runs[4], runs[5]]  # no blanks
    assert all(r["passed"] is True for r in ion), ion
    (cv,) = of(rows, "is_area_cv")
    heavy = np.array([g["heavy_area"] for g in groups])
    assert cv["value"] == pytest.approx(100 * heavy.std(ddof=1) / heavy.mean())
    assert cv["passed"] is True
    carry = of(rows, "carryover")
    assert [r["run"] for r in carry] == [runs[3], runs[6]]
    clean, dirty = carry
    assert clean["passed"] is True, clean
    assert dirty["passed"] is False and dirty["value"] > 50.0, dirty
    (qc,) = of(rows, "qc_accuracy")
    assert qc["run"] == runs[4] and qc["passed"] is True, qc
