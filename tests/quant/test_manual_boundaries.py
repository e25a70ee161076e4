"""Manual integration (``msuite quant --boundaries``): reviewer windows on simulated runs, the
audit trail in the rows and parameters.json, and bad files."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from msuite.cli import main
from msuite.core.errors import InputError
from msuite.methods.storage import save_method
from msuite.quant.manual import read_boundaries
from msuite.quant.peak_groups import pick_peak_group
from msuite.quant.quantify import QuantParams, quantify_runs
from msuite.quant.targets import build_targets
from msuite.quant.trace_match import find_traces, read_run
from tests.quant.helpers import cells
from tests.quant.test_quantify import acquire_series, srm_method

GROUP = "LVNEVTEFAK_2"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return acquire_series(tmp_path_factory.mktemp("manual"), [0.3, 1.0, 3.0], seed=71)


def boundaries(tmp_path: Path, lines: list[str], name: str = "b.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_reviewer_window_is_integrated_and_audited(runs: list[Path], tmp_path: Path) -> None:
    groups = build_targets(srm_method())
    auto = quantify_runs(runs, groups, QuantParams(), jobs=1)
    apex = auto[1].rows[0]["rt"]  # minutes
    left, right = apex - 0.02, apex + 0.05  # an asymmetric window, unlike the picker's
    path = boundaries(
        tmp_path,
        [
            "run,group_id,rt_left,rt_right,reason,user",
            f"{runs[1].name},{GROUP},{left},{right},tail cut at the interference,jdoe",
        ],
    )
    manual = read_boundaries(path)
    for jobs in (1, 2):  # in this process and in pool workers
        got = quantify_runs(runs, groups, QuantParams(), jobs=jobs, manual=manual)
        for k in (0, 2):  # the other runs are picked as before
            assert cells(got[k].rows) == cells(auto[k].rows)
        rows = got[1].rows
        assert {r["integration"] for r in rows} == {"manual"}
        assert {r["note"] for r in rows} == {
            "manual boundaries: tail cut at the interference (jdoe)"
        }
        assert all(r["rt_left"] == pytest.approx(left) for r in rows)
        assert all(r["rt_right"] == pytest.approx(right) for r in rows)
    # the areas are those of the same window given to the peak-group picker directly
    run = read_run(runs[1])
    traces = find_traces(run, [t for g in groups for t in g.traces])
    direct = pick_peak_group(
        [t.time for t in traces],
        [t.intensity for t in traces],
        is_reference=[t.is_reference for g in groups for t in g.traces],
        fixed_window=(left * 60, right * 60),
    )
    for k, row in enumerate(rows):
        assert row["area"] == pytest.approx(direct.area[k] - direct.background[k])


def test_the_cli_records_the_file_and_refuses_typos(runs: list[Path], tmp_path: Path) -> None:
    method = tmp_path / "m.toml"
    save_method(srm_method(), method)
    path = boundaries(
        tmp_path,
        [
            "run;peptide_or_compound;rt_left;rt_right;reason",
            f"{runs[0].stem};LVNEVTEFAK;0.9;1.1;peak split by the picker",
        ],
    )
    out = tmp_path / "out"
    base = ["quant", *map(str, runs), "--method", str(method), "--out", str(out)]
    assert main([*base, "--boundaries", str(path)]) == 0
    record = json.loads((out / "parameters.json").read_text())["manual_boundaries"]
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["windows"] == [
        {
            "run": runs[0].stem,
            "group_id": GROUP,
            "rt_left_min": pytest.approx(0.9),
            "rt_right_min": pytest.approx(1.1),
            "reason": "peak split by the picker",
            "user": "",
        }
    ]
    with open(out / "transitions.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    manual_rows = [r for r in rows if r["integration"] == "manual"]
    assert {r["run"] for r in manual_rows} == {runs[0].stem} and len(manual_rows) == 4
    # a window for a run that is not given, or a group that does not exist: nothing is run
    for line, field in (
        (f"nosuchrun,{GROUP},0.9,1.1,x", "run"),
        (f"{runs[0].stem},NOPE_2,0.9,1.1,x", "group_id"),
    ):
        bad = boundaries(tmp_path, ["run,group_id,rt_left,rt_right,reason", line], "bad.csv")
        fresh = tmp_path / f"fresh_{field}"
        assert main([*base[:-1], str(fresh), "--boundaries", str(bad)]) == 2
        assert not fresh.exists()


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (f"r1,{GROUP},1.2,1.1,reason", "rt_right"),
        (f"r1,{GROUP},abc,1.1,reason", "rt_left"),
        (f"r1,{GROUP},-1,1.1,reason", "rt_left"),
        (f"r1,{GROUP},0.9,1.1,", "reason"),
        (f",{GROUP},0.9,1.1,reason", "run"),
    ],
)
def test_bad_rows_name_line_and_field(tmp_path: Path, line: str, field: str) -> None:
    path = boundaries(tmp_path, ["run,group_id,rt_left,rt_right,reason", line])
    with pytest.raises(InputError) as err:
        read_boundaries(path)
    assert (err.value.path, err.value.line, err.value.field) == (str(path), 2, field)


def test_missing_columns_and_duplicates(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing column") as err:
        read_boundaries(boundaries(tmp_path, ["run,group_id,rt_left,rt_right", "a,b,1,2"]))
    assert err.value.field == "reason"
    dup = boundaries(
        tmp_path,
        ["run,group_id,rt_left,rt_right,reason", "a,G,1,2,x", "a.mzML,G,1,3,y"],
    )
    with pytest.raises(InputError, match="twice") as err:
        read_boundaries(dup)
    assert err.value.line == 3
    with pytest.raises(InputError, match="cannot tell the target group"):
        read_boundaries(
            boundaries(tmp_path, ["run,peptide_or_compound,rt_left,rt_right,reason", "a,X,1,2,r"]),
            build_targets(srm_method()),
        )
