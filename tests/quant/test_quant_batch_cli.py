"""``msuite quant --samples``: a simulated batch (simulator over TCP -> run files) with
calibrators, blanks, QCs and unknowns, quantified against the simulated truth."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from msuite.cli import main
from msuite.methods.storage import save_method
from msuite.quant.batch import CALIBRATION_COLUMNS, CALIBRATOR_COLUMNS, REPLICATE_COLUMNS
from msuite.quant.calibration import fit_calibration
from tests.quant.test_quantify import acquire_series, srm_method

#: (run kind, light fmol) in injection order; the heavy standard is 1 fmol in every run
BATCH = [
    ("blank", 0.0),
    *[("calibrator", lv) for lv in (0.03, 0.1, 0.3, 1.0, 3.0) for _ in range(2)],
    ("blank", 0.0),
    ("qc", 0.2),
    ("qc", 2.0),
    ("unknown", 0.5),
    ("unknown", 0.5),
    ("blank", 0.0),
]


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def batch_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], Path]:
    folder = tmp_path_factory.mktemp("batch")
    paths = acquire_series(folder, [amount for _, amount in BATCH], seed=301)
    method = folder / "panel.toml"
    save_method(srm_method(), method)
    sheet = folder / "samples.csv"
    lines = ["run,sample_type,concentration,sample"]
    for (kind, amount), path in zip(BATCH, paths, strict=True):
        conc = f"{amount:g}" if kind in ("calibrator", "qc") else ""
        sample = "patient 1" if kind == "unknown" else ""
        lines.append(f"{path.name},{kind},{conc},{sample}")
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return method, paths, sheet


def run_quant(method: Path, paths: list[Path], out: Path, *extra: str) -> int:
    return main(["quant", *map(str, paths), "--method", str(method), "--out", str(out), *extra])


def test_batch_calibrates_and_quantifies_against_the_truth(
    batch_runs: tuple[Path, list[Path], Path], tmp_path: Path
) -> None:
    method, paths, sheet = batch_runs
    out = tmp_path / "out"
    assert run_quant(method, paths, out, "--samples", str(sheet)) == 0
    header, cal = read_csv(out / "calibration.csv")
    assert tuple(header) == CALIBRATION_COLUMNS
    assert len(cal) == 1 and cal[0]["status"] == "accepted"
    assert (float(cal[0]["lloq"]), float(cal[0]["uloq"])) == (0.03, 3.0)
    assert float(cal[0]["r_squared"]) > 0.99
    assert float(cal[0]["lod"]) < 0.03  # clean blanks
    header, points = read_csv(out / "calibrators.csv")
    assert tuple(header) == CALIBRATOR_COLUMNS and len(points) == 10
    assert all(p["accepted"] == "true" for p in points)
    # the curve is the weighted fit of the calibrators' responses
    x = np.array([float(p["nominal_concentration"]) for p in points])
    y = np.array([float(p["response"]) for p in points])
    curve = fit_calibration(x, y, weighting="1/x")
    assert float(cal[0]["c1"]) == pytest.approx(curve.coefficients[1], rel=1e-9)
    _, peptides = read_csv(out / "peptides.csv")
    by_run = {p["run"]: p for p in peptides}
    for (kind, amount), path in zip(BATCH, paths, strict=True):
        p = by_run[path.stem]
        assert p["sample_type"] == kind
        if kind in ("qc", "unknown"):
            # truth: the light amount in fmol (heavy 1 fmol), within 10 %
            assert float(p["concentration"]) == pytest.approx(amount, rel=0.10), p
        if kind == "qc":
            assert abs(float(p["accuracy"]) - 100) < 10
    _, reps = read_csv(out / "replicates.csv")
    patient = next(r for r in reps if r["sample"] == "patient 1")
    assert int(patient["n"]) == 2 and float(patient["concentration_cv"]) < 10
    assert tuple(read_csv(out / "replicates.csv")[0]) == REPLICATE_COLUMNS
    # the fitted curves can be given back with --calibration
    again = tmp_path / "again"
    unknowns = [p for (kind, _), p in zip(BATCH, paths, strict=True) if kind == "unknown"]
    cal_json = out / "calibration.json"
    assert run_quant(method, unknowns, again, "--calibration", str(cal_json)) == 0
    _, peps = read_csv(again / "peptides.csv")
    for p in peps:
        assert float(p["concentration"]) == pytest.approx(
            float(by_run[p["run"]]["concentration"]), rel=1e-9
        )
    record = json.loads((out / "parameters.json").read_text())
    assert record["batch"]["calibration"]["weighting"] == "1/x"
    assert record["batch"]["sample_sheet"] == str(sheet.resolve())


def test_suitability_and_qc_history(
    batch_runs: tuple[Path, list[Path], Path], tmp_path: Path
) -> None:
    method, paths, sheet = batch_runs
    history = tmp_path / "history.csv"
    # an established QC history around the nominal values, so this batch's QCs are in control
    rng = np.random.default_rng(5)
    lines = ["target,qc_level,run,acquired,value"]
    for level, nominal in (("QC 0.2", 0.2), ("QC 2", 2.0)):
        for k, v in enumerate(nominal * (1 + 0.04 * rng.standard_normal(20))):
            lines.append(f"LVNEVTEFAK,{level},old_{k},2026-11-{k + 1:02d}T08:00:00,{v:.5f}")
    history.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    extra = ("--samples", str(sheet), "--qc-history", str(history))
    assert run_quant(method, paths, out, *extra) == 0
    _, checks = read_csv(out / "qc.csv")
    kinds = {c["check"] for c in checks}
    assert {"retention_time", "is_area_cv", "ion_ratio", "carryover", "qc_accuracy"} <= kinds
    for c in checks:
        if c["check"] in ("retention_time", "is_area_cv", "qc_accuracy", "carryover"):
            assert c["passed"] == "true", c
    _, series = read_csv(out / "levey_jennings.csv")
    batch_points = [s for s in series if s["source"] == "batch"]
    assert len(batch_points) == 2
    for s in batch_points:
        assert s["rejected"] == "false", s
        k = next(i for i, p in enumerate(paths) if p.stem == s["run"])
        assert s["acquired"] == f"2026-12-01T08:{k:02d}:00Z"  # the run's start time
        assert math.isfinite(float(s["z"]))
    _, merged = read_csv(out / "qc_history.csv")
    assert len(merged) == 42


def test_sheet_must_match_the_runs(
    batch_runs: tuple[Path, list[Path], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    method, paths, sheet = batch_runs
    out = tmp_path / "out"
    assert run_quant(method, paths[:-1], out, "--samples", str(sheet)) == 2
    err = capsys.readouterr().err
    assert "not given" in err and paths[-1].stem in err
    assert not out.exists()
    assert run_quant(method, paths, out, "--qc-history", str(sheet)) == 2
    assert "--qc-history" in capsys.readouterr().err
    assert not out.exists()
