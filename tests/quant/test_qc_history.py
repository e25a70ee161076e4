"""QC history, Westgard rules and Levey-Jennings rows (msuite.quant.qc_history)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from msuite.core.errors import InputError
from msuite.quant.qc_history import (
    HISTORY_COLUMNS,
    LEVEY_JENNINGS_COLUMNS,
    batch_qc_values,
    levey_jennings_rows,
    read_qc_history,
    updated_history,
    write_history,
)
from msuite.quant.samples import Sample, SampleSheet

HEADER = ",".join(HISTORY_COLUMNS)
PAST = [0.98, 1.02, 1.00, 0.97, 1.03, 1.01, 0.99]


def history_rows(values: list[float], target: str = "PEP", level: str = "QC-M") -> list[dict]:
    return [
        {
            "target": target,
            "qc_level": level,
            "run": f"old_{level}_{i:02d}",
            "acquired": f"2026-11-{i + 1:02d}T09:00:00",
            "value": v,
        }
        for i, v in enumerate(values)
    ]


def batch_row(value: float, run: str = "b1_qc", target: str = "PEP", level: str = "QC-M"):
    return {"target": target, "qc_level": level, "run": run, "acquired": "", "value": value}


def limits(values: list[float]) -> tuple[float, float]:
    arr = np.array(values)
    return float(arr.mean()), float(arr.std(ddof=1))


def batch_points(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["source"] == "batch"]


# ----------------------------------------------------------------------------- file I/O
def test_write_then_read_round_trips(tmp_path: Path) -> None:
    rows = [*history_rows(PAST), batch_row(1.0 / 3.0)]
    path = write_history(tmp_path / "qc_history.csv", rows)
    assert path.read_text().splitlines()[0] == HEADER
    back = read_qc_history(path)
    assert back == [{c: r[c] for c in HISTORY_COLUMNS} for r in rows]
    assert back[-1]["value"] == 1.0 / 3.0  # exact


def test_write_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "qc_history.csv"
    write_history(path, history_rows(PAST))
    before = path.read_text()
    bad = [*history_rows([1.0]), {"target": "PEP", "qc_level": "L", "run": "x", "value": "n/a"}]
    with pytest.raises(ValueError):
        write_history(path, bad)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["qc_history.csv"]


def test_absent_or_empty_history(tmp_path: Path) -> None:
    absent = tmp_path / "none.csv"
    with pytest.raises(InputError) as err:
        read_qc_history(absent)
    assert str(absent) in str(err.value) and "not found" in str(err.value)
    assert read_qc_history(absent, missing_ok=True) == []
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert read_qc_history(empty, missing_ok=True) == []
    with pytest.raises(InputError) as err:
        read_qc_history(empty)
    assert f"{empty}:1" in str(err.value)
    header_only = tmp_path / "header.csv"
    header_only.write_text(HEADER + "\n")
    assert read_qc_history(header_only) == []


@pytest.mark.parametrize(
    "row,field,value",
    [
        ("PEP,QC-M,r2,2026-11-02T09:00:00,abc", "value", "abc"),
        ("PEP,QC-M,r2,2026-11-02T09:00:00,nan", "value", "nan"),
        ("PEP,QC-M,r2,yesterday,1.0", "acquired", "yesterday"),
        (",QC-M,r2,,1.0", "target", ""),
        ("PEP,,r2,,1.0", "qc_level", ""),
        ("PEP,QC-M,r2,,", "value", ""),
    ],
)
def test_bad_history_rows_name_file_line_and_field(
    tmp_path: Path, row: str, field: str, value: str
) -> None:
    path = tmp_path / "h.csv"
    path.write_text(f"{HEADER}\nPEP,QC-M,r1,2026-11-01,1.0\n{row}\n")
    with pytest.raises(InputError) as err:
        read_qc_history(path)
    e = err.value
    assert (e.path, e.line, e.field, e.value) == (str(path), 3, field, value)
    assert f"{path}:3" in str(e) and f"'{field}'" in str(e) and "allowed" in str(e)


def test_missing_column_and_ragged_row(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("target,qc_level,run,value\nPEP,QC-M,r1,1.0\n")
    with pytest.raises(InputError) as err:
        read_qc_history(path)
    assert (err.value.line, err.value.field) == (1, "acquired")
    path.write_text(f"{HEADER}\nPEP,QC-M,r1,,1.0,extra\n")
    with pytest.raises(InputError) as err:
        read_qc_history(path)
    assert err.value.line == 2 and "cells" in str(err.value)


def test_columns_in_any_order(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("value,run,target,acquired,qc_level\n1.5,r1,PEP,,QC-H\n")
    assert read_qc_history(path) == [
        {"target": "PEP", "qc_level": "QC-H", "run": "r1", "acquired": "", "value": 1.5}
    ]


# ---------------------------------------------------------------------- batch QC values
def test_batch_qc_values_in_injection_order() -> None:
    sheet = SampleSheet(
        (
            Sample("q_high", "qc", 5.0, order=4, qc_level="QC-H", line=2),
            Sample("cal", "calibrator", 1.0, order=1, line=3),
            Sample("q_low", "qc", 0.5, order=2, qc_level="QC-L", line=4),
            Sample("unk", "unknown", order=3, line=5),
        )
    )
    groups = [
        {"run": run, "peptide_or_compound": target, "concentration": conc}
        for run, target, conc in [
            ("q_high", "A", 5.1),
            ("q_high", "B", math.nan),
            ("cal", "A", 1.0),
            ("q_low", "A", 0.49),
            ("q_low", "B", 0.52),
            ("unk", "A", 3.0),
        ]
    ]
    rows = batch_qc_values(groups, sheet, acquired={"q_low": "2026-12-01T04:00:00"})
    assert [(r["run"], r["target"], r["qc_level"], r["value"]) for r in rows] == [
        ("q_low", "A", "QC-L", 0.49),
        ("q_low", "B", "QC-L", 0.52),
        ("q_high", "A", "QC-H", 5.1),
    ]
    assert [r["acquired"] for r in rows] == ["2026-12-01T04:00:00"] * 2 + [""]
    assert all(tuple(r) == HISTORY_COLUMNS for r in rows)
    assert {r["acquired"] for r in batch_qc_values(groups, sheet, "2026-12-01")} == {"2026-12-01"}


# ---------------------------------------------------------------------- Levey-Jennings
def test_limits_come_from_the_history_only() -> None:
    mean, sd = limits(PAST)
    new = mean + 2.5 * sd
    rows = levey_jennings_rows(history_rows(PAST), [batch_row(new)])
    assert [r["index"] for r in rows] == list(range(1, len(PAST) + 2))
    assert [r["source"] for r in rows] == ["history"] * len(PAST) + ["batch"]
    for r in rows:
        assert tuple(r) == LEVEY_JENNINGS_COLUMNS
        assert r["mean"] == pytest.approx(mean) and r["sd"] == pytest.approx(sd)
        assert r["z"] == pytest.approx((r["value"] - mean) / sd)
    last = rows[-1]
    assert last["violations"] == "1-2s" and last["rejected"] is False  # warning only
    assert all(r["rejected"] is False for r in rows[:-1])


def test_rejection_rules_at_batch_points() -> None:
    mean, sd = limits(PAST)
    rows = levey_jennings_rows(history_rows(PAST), [batch_row(mean - 3.5 * sd)])
    last = rows[-1]
    assert last["violations"].split(";") == ["1-2s", "1-3s"] and last["rejected"] is True
    # 2-2s over two batch values of one level
    two = [batch_row(mean + 2.2 * sd, "b1"), batch_row(mean + 2.4 * sd, "b2")]
    first, second = batch_points(levey_jennings_rows(history_rows(PAST), two))
    assert first["rejected"] is False and "2-2s" in second["violations"].split(";")
    assert second["rejected"] is True
    # R-4s between consecutive values
    swing = [batch_row(mean + 2.2 * sd, "b1"), batch_row(mean - 2.2 * sd, "b2")]
    assert "R-4s" in batch_points(levey_jennings_rows(history_rows(PAST), swing))[1]["violations"]


def test_rule_spanning_history_and_batch() -> None:
    past = [*PAST, 1.10]  # the last history value is high
    mean, sd = limits(past)
    assert (1.10 - mean) / sd > 2
    rows = levey_jennings_rows(history_rows(past), [batch_row(mean + 2.1 * sd)])
    assert rows[-2]["rejected"] is False  # history points never reject this batch
    assert "2-2s" in rows[-1]["violations"].split(";") and rows[-1]["rejected"] is True


def test_too_little_history_gives_no_limits() -> None:
    rows = levey_jennings_rows(history_rows([1.0]), [batch_row(5.0)])
    assert len(rows) == 2
    for r in rows:
        assert math.isnan(r["mean"]) and math.isnan(r["sd"]) and math.isnan(r["z"])
        assert r["violations"].startswith("no established limits (1 history values")
    assert rows[-1]["rejected"] is None
    rows = levey_jennings_rows(history_rows(PAST[:3]), [batch_row(1.0)], min_history=5)
    assert rows[-1]["rejected"] is None and "need 5" in rows[-1]["violations"]
    rows = levey_jennings_rows([], [batch_row(1.0)])
    assert rows[-1]["source"] == "batch" and "0 history values" in rows[-1]["violations"]
    rows = levey_jennings_rows(history_rows([1.0, 1.0]), [batch_row(1.0)])
    assert "SD 0" in rows[-1]["violations"]


@pytest.mark.parametrize("bad", [1, 0, 2.5, True, "3"])
def test_bad_min_history(bad: object) -> None:
    with pytest.raises(InputError) as err:
        levey_jennings_rows([], [], min_history=bad)  # type: ignore[arg-type]
    assert err.value.field == "min_history" and ">= 2" in str(err.value)


def test_series_are_separate() -> None:
    low = [0.10, 0.11, 0.09, 0.10]
    high = [10.0, 10.5, 9.5, 10.2]
    history = history_rows(low, level="QC-L") + history_rows(high, level="QC-H")
    batch = [batch_row(0.10, level="QC-L", run="b1"), batch_row(10.1, level="QC-H", run="b1")]
    rows = levey_jennings_rows(history, batch)
    by = {(r["qc_level"], r["source"], r["index"]): r for r in rows}
    assert by[("QC-L", "batch", 5)]["mean"] == pytest.approx(np.mean(low))
    assert by[("QC-H", "batch", 5)]["sd"] == pytest.approx(np.std(high, ddof=1))
    assert not any(r["rejected"] for r in rows)


def test_across_level_rules_within_one_run() -> None:
    low, high = [0.10, 0.11, 0.09, 0.10], [10.0, 10.5, 9.5, 10.2]
    history = history_rows(low, level="QC-L") + history_rows(high, level="QC-H")
    (ml, sl), (mh, sh) = limits(low), limits(high)
    # both levels just beyond +2 SD in one run: 2-2s across levels
    batch = [
        batch_row(ml + 2.1 * sl, "b1", level="QC-L"),
        batch_row(mh + 2.1 * sh, "b1", level="QC-H"),
    ]
    rows = batch_points(levey_jennings_rows(history, batch))
    for r in rows:
        assert r["violations"].split(";") == ["1-2s", "2-2s across levels"]
        assert r["rejected"] is True
    # one level above +2 SD, the other below -2 SD: R-4s across levels
    batch = [
        batch_row(ml + 2.1 * sl, "b1", level="QC-L"),
        batch_row(mh - 2.1 * sh, "b1", level="QC-H"),
    ]
    rows = batch_points(levey_jennings_rows(history, batch))
    assert all("R-4s across levels" in r["violations"] and r["rejected"] for r in rows)
    # the same values in different runs: within-level warnings only
    batch = [
        batch_row(ml + 2.1 * sl, "b1", level="QC-L"),
        batch_row(mh + 2.1 * sh, "b2", level="QC-H"),
    ]
    rows = batch_points(levey_jennings_rows(history, batch))
    assert [r["violations"] for r in rows] == ["1-2s", "1-2s"]
    assert not any(r["rejected"] for r in rows)


def test_reprocessed_batch_is_not_its_own_history(tmp_path: Path) -> None:
    mean, sd = limits(PAST)
    batch = [batch_row(mean + 3.5 * sd, "b1")]
    history = updated_history(history_rows(PAST), batch)
    assert len(history) == len(PAST) + 1 and history[-1]["run"] == "b1"
    path = write_history(tmp_path / "qc_history.csv", history)
    again = read_qc_history(path)
    rows = levey_jennings_rows(again, batch)
    assert len(rows) == len(PAST) + 1
    assert rows[-1]["mean"] == pytest.approx(mean) and rows[-1]["rejected"] is True
    # updating twice does not duplicate the batch
    assert updated_history(again, batch) == again
