"""``msuite quant`` end to end: real SRM files, simulated runs, Dask, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from pyteomics import mztab

from msuite.cli import main
from msuite.methods.storage import save_method
from msuite.quant.results import TRANSITION_COLUMNS
from msuite.quant.targets import list_rows
from tests.quant.test_quantify import PROTEIN, SEQUENCE, acquire_series, srm_method

REQUIRED = (
    "run",
    "transition_id",
    "protein",
    "peptide_or_compound",
    "label",
    "precursor_mz",
    "product_mz",
    "rt",
    "rt_left",
    "rt_right",
    "area",
    "height",
    "background",
    "points_across",
)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def sim_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    folder = tmp_path_factory.mktemp("cli_sim")
    paths = acquire_series(folder, [0.1, 1.0, 1.0], seed=101)
    method = folder / "panel.toml"
    save_method(srm_method(), method)
    return method, paths


def test_smartpeak_small_molecules_through_the_cli(testdata: Path, tmp_path: Path) -> None:
    d = testdata / "SmartPeak" / "yeast_MRM_unknowns"
    lst = d / "LCMS_MRM_Unknowns_traML.csv"
    out = tmp_path / "out"
    assert (
        main(
            [
                "quant",
                str(d / "170808_Jonathan_yeast_Sacc1_1x.mzML"),
                "--transitions",
                str(lst),
                "--out",
                str(out),
                "--rt-window",
                "1",
            ]
        )
        == 0
    )
    header, rows = read_csv(out / "transitions.csv")
    assert tuple(header) == TRANSITION_COLUMNS
    assert tuple(header[: len(REQUIRED)]) == REQUIRED
    # every transition of the list, with its own name, exactly once
    assert sorted(r["transition_id"] for r in rows) == sorted(
        r.transition_id for r in list_rows(lst)
    )
    assert len(rows) == 324
    found = [r for r in rows if r["found"] == "true"]
    assert len(found) > 300
    for r in found:
        assert float(r["rt_left"]) <= float(r["rt"]) <= float(r["rt_right"])
        assert int(r["points_across"]) >= 1
    # minutes: every apex lies within the 1-min window around the list's RT (seconds in the
    # list, minutes in expected_rt); the run lasts 23 min
    assert all(abs(float(r["rt"]) - float(r["expected_rt"])) <= 0.5 + 1e-9 for r in found)
    assert max(float(r["rt"]) for r in found) > 10.0
    for r in rows:
        if r["found"] == "false":
            assert r["note"] and r["area"] == ""
    _, compounds = read_csv(out / "compounds.csv")
    assert len(compounds) == 118
    arg = next(c for c in compounds if c["group_id"] == "arg-L")
    assert arg["ratio_basis"] == "quantifier" and float(arg["ratio"]) > 0
    assert not (out / "peptides.csv").exists()
    tab = mztab.MzTab(str(out / "compounds.mzTab"), table_format="dict")
    assert tab.version == "2.0.0-M" and len(tab.small_molecule_table["rows"]) == 118
    params = json.loads((out / "parameters.json").read_text())
    assert params["parameters"]["mz_tolerance"] == 0.055
    assert params["targets"]["transitions"] == 324


def test_openms_traml_through_the_cli(testdata: Path, tmp_path: Path) -> None:
    d = testdata / "OpenMS" / "srm_mrm"
    out = tmp_path / "out"
    assert (
        main(
            [
                "quant",
                str(d / "OpenSwathAnalyzer_1_input_chrom.mzML"),
                "--transitions",
                str(d / "OpenSwathAnalyzer_1_input.TraML"),
                "--out",
                str(out),
                "--rt-window",
                "5",
                "--min-snr",
                "2",
            ]
        )
        == 0
    )
    header, rows = read_csv(out / "transitions.csv")
    assert tuple(header) == TRANSITION_COLUMNS
    assert [r["transition_id"] for r in rows] == ["tr1", "tr2", "tr3", "tr4", "tr5"]
    assert all(r["found"] == "true" for r in rows)
    assert all(50 < float(r["rt"]) < 53 for r in rows)  # minutes (3000-3180 s run)
    tab = mztab.MzTab(str(out / "peptides.mzTab"), table_format="dict")
    assert tab.version == "1.0.0" and len(tab.peptide_table["rows"]) == 2
    settings = [v for k, v in tab.metadata.items() if k.startswith("software[1]-setting")]
    assert "rt_window_min=5.0" in settings and "min_snr=2.0" in settings
    params = json.loads((out / "parameters.json").read_text())
    assert params["parameters"]["rt_window_min"] == 5.0
    assert params["parameters"]["peak_group"]["rt_window_s"] == 150.0
    assert params["targets"]["notes"]  # the TraML fell back to its own rows


def test_simulated_runs_with_a_method_and_calibration(
    sim_runs: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    method, paths = sim_runs
    cal = tmp_path / "cal.json"
    cal.write_text(json.dumps({"curves": {SEQUENCE: {"coefficients": [0.0, 1.0]}}}))
    out = tmp_path / "out"
    assert (
        main(
            [
                "quant",
                *map(str, paths),
                "--method",
                str(method),
                "--out",
                str(out),
                "--jobs",
                "2",
                "--calibration",
                str(cal),
            ]
        )
        == 0
    )
    _, rows = read_csv(out / "transitions.csv")
    assert len(rows) == 4 * len(paths)
    assert [r["run"] for r in rows[::4]] == [p.stem for p in paths]
    _, peps = read_csv(out / "peptides.csv")
    assert [p["protein"] for p in peps] == [PROTEIN] * 3
    conc = [float(p["concentration"]) for p in peps]
    assert conc[0] == pytest.approx(0.1, rel=0.15)
    assert conc[1] == pytest.approx(1.0, rel=0.05) and conc[2] == pytest.approx(1.0, rel=0.05)
    assert all(p["ratio_basis"] == "quantifier" and p["n_found"] == "4" for p in peps)
    _, prots = read_csv(out / "proteins.csv")
    assert [(p["protein"], p["n_peptides"]) for p in prots] == [(PROTEIN, "1")] * 3
    assert float(prots[1]["concentration"]) == pytest.approx(conc[1])


def test_dask_cluster_gives_the_same_transitions(
    sim_runs: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    from dask.distributed import LocalCluster

    method, paths = sim_runs
    local = tmp_path / "local"
    assert (
        main(
            ["quant", *map(str, paths), "--method", str(method), "--out", str(local), "--jobs", "1"]
        )
        == 0
    )
    with LocalCluster(
        n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        dist = tmp_path / "dask"
        assert (
            main(
                [
                    "quant",
                    *map(str, paths),
                    "--method",
                    str(method),
                    "--out",
                    str(dist),
                    "--scheduler",
                    cluster.scheduler_address,
                ]
            )
            == 0
        )
    assert (dist / "transitions.csv").read_text() == (local / "transitions.csv").read_text()
    assert (dist / "peptides.csv").read_text() == (local / "peptides.csv").read_text()


def test_unreachable_scheduler_is_a_clear_error(
    sim_runs: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    method, paths = sim_runs
    out = tmp_path / "out"
    rc = main(
        [
            "quant",
            str(paths[0]),
            "--method",
            str(method),
            "--out",
            str(out),
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--connect-timeout",
            "2",
        ]
    )
    assert rc == 2
    assert "scheduler" in capsys.readouterr().err
    assert not out.exists()


def test_missing_run_is_refused_before_anything_is_written(
    sim_runs: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    method, paths = sim_runs
    out = tmp_path / "out"
    rc = main(
        [
            "quant",
            str(paths[0]),
            str(tmp_path / "absent.mzML"),
            "--method",
            str(method),
            "--out",
            str(out),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "run not found" in err and "absent.mzML" in err
    assert not out.exists()


def test_unreadable_list_is_a_clear_error(
    sim_runs: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, paths = sim_runs
    bad = tmp_path / "list.csv"
    bad.write_text("this,is\nnot,a transition list\n")
    rc = main(["quant", str(paths[0]), "--transitions", str(bad), "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "list.csv" in capsys.readouterr().err


def test_a_failing_run_leaves_previous_results_intact(
    sim_runs: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    method, paths = sim_runs
    out = tmp_path / "out"
    assert main(["quant", str(paths[0]), "--method", str(method), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"not an HDF5 file at all" * 10)
    rc = main(
        [
            "quant",
            str(paths[1]),
            str(corrupt),
            "--method",
            str(method),
            "--out",
            str(out),
            "--jobs",
            "1",
        ]
    )
    assert rc == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_bad_option_values_name_the_option(
    sim_runs: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    method, paths = sim_runs
    rc = main(
        [
            "quant",
            str(paths[0]),
            "--method",
            str(method),
            "--out",
            str(tmp_path / "o"),
            "--rt-window",
            "-1",
        ]
    )
    assert rc == 2
    assert "--rt-window" in capsys.readouterr().err


def test_results_of_an_earlier_run_do_not_linger(testdata: Path, tmp_path: Path) -> None:
    srm = testdata / "OpenMS" / "srm_mrm"
    yeast = testdata / "SmartPeak" / "yeast_MRM_unknowns"
    out = tmp_path / "out"
    assert (
        main(
            [
                "quant",
                str(srm / "OpenSwathAnalyzer_1_input_chrom.mzML"),
                "--transitions",
                str(srm / "OpenSwathAnalyzer_1_input.TraML"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert (out / "peptides.csv").exists() and (out / "peptides.mzTab").exists()
    assert (
        main(
            [
                "quant",
                str(yeast / "170808_Jonathan_yeast_Sacc1_1x.mzML"),
                "--transitions",
                str(yeast / "LCMS_MRM_Unknowns_traML.csv"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "compounds.csv",
        "compounds.mzTab",
        "parameters.json",
        "transitions.csv",
    ]
