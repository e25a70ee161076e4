"""``msuite method build|convert|check`` on the real files."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from msuite.methods.cli import add_method_commands, main

pytestmark = pytest.mark.realdata


def test_registers_on_a_parser() -> None:
    parser = argparse.ArgumentParser(prog="msuite")
    add_method_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["method", "check", "x.toml"])
    assert args.command == "method" and args.method_command == "check"
    assert callable(args.func)


def test_build_convert_check(testdata: Path, tmp_path: Path, capsys) -> None:
    proteins = tmp_path / "proteins.txt"
    proteins.write_text("P69905\nP01008\n")
    out = tmp_path / "m.toml"
    rc = main(
        [
            "method",
            "build",
            "--fasta",
            str(testdata / "human" / "human_sp_subset.fasta"),
            "--proteins",
            str(proteins),
            "--out",
            str(out),
            "--biomarkers",
            str(testdata / "human" / "biomarkers_list.csv"),
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0
    assert "proteins=2 peptides=15 precursors=19 transitions=76" in text
    assert (tmp_path / "m.transitions.csv").is_file()
    for name in ("m.csv", "m.TraML", "m.tsv", "m.tsq.csv", "m.sciex.csv"):
        assert main(["method", "convert", str(out), str(tmp_path / name)]) == 0
        assert main(["method", "check", str(tmp_path / name)]) == 0
        out_text = capsys.readouterr().out
        assert "proteins=2 peptides=15 precursors=19 transitions=76" in out_text
        if name == "m.TraML":  # protein flags travel in TraML (and msuite's own format)
            assert "biomarkers=2" in out_text
    assert (
        main(
            [
                "method",
                "convert",
                str(tmp_path / "m.TraML"),
                str(tmp_path / "x.txt"),
                "--to",
                "skyline",
            ]
        )
        == 0
    )
    assert main(["method", "check", str(tmp_path / "x.txt")]) == 0
    assert "irt_standards=11" in capsys.readouterr().out


def test_check_reports_problems(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "Protein Name,Peptide Modified Sequence,Precursor Charge,Precursor Mz,Fragment Ion,"
        "Product Charge,Product Mz\n"
        "P1,SAMPLEDIDEK,2,600.0,y3,1,377.2\n"
        "P1,SAMPLEDIDEK,2,600.0,y3,1,377.2\n"
    )
    assert main(["method", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "inconsistent with the sequence" in out
    assert "duplicate transition" in out
    assert "FAILED: 4 problem(s)" in out


def test_bad_input_exit_status(tmp_path: Path, capsys) -> None:
    assert main(["method", "check", str(tmp_path / "missing.toml")]) == 2
    assert "file not found" in capsys.readouterr().err
    assert main(["method", "build", "--out", str(tmp_path / "x.toml")]) == 2
    assert "--fasta is required" in capsys.readouterr().err
    assert (
        main(
            [
                "method",
                "build",
                "--fasta",
                "x",
                "--proteins",
                "all",
                "--mz-range",
                "5",
                "--out",
                str(tmp_path / "x.toml"),
            ]
        )
        == 2
    )
    assert "bad m/z range" in capsys.readouterr().err


def test_biomarker_list_as_protein_list(testdata: Path, tmp_path: Path, capsys) -> None:
    markers = str(testdata / "human" / "biomarkers_list.csv")
    args = [
        "method",
        "build",
        "--fasta",
        str(testdata / "human" / "human_sp_subset.fasta"),
        "--proteins",
        markers,
        "--biomarkers",
        markers,
        "--out",
        str(tmp_path / "b.toml"),
    ]
    assert main(args) == 2
    assert "122 protein(s) not in the FASTA file(s)" in capsys.readouterr().err
    assert main([*args, "--skip-missing"]) == 0
    captured = capsys.readouterr()
    assert "skipped 122 protein(s)" in captured.err
    assert "proteins=7 " in captured.out


def test_irt_and_metabolite_builds(testdata: Path, tmp_path: Path, capsys) -> None:
    assert (
        main(
            [
                "method",
                "build",
                "--irt-only",
                "--dia-windows",
                "400,1000,25",
                "--out",
                str(tmp_path / "irt.toml"),
            ]
        )
        == 0
    )
    assert "proteins=0 peptides=11 precursors=11 transitions=44" in capsys.readouterr().out
    std = sorted(str(p) for p in (testdata / "vimms").glob("StdMix*_pHILIC_Current.csv"))
    args = ["method", "build", "--out", str(tmp_path / "met.toml")]
    for s in std:
        args += ["--standards", s]
    assert main(args) == 0
    assert "small_molecules=" in capsys.readouterr().out
    assert main(["method", "check", str(tmp_path / "met.toml")]) == 0


def test_lenient_convert_and_check(testdata: Path, tmp_path: Path, capsys) -> None:
    toy = testdata / "OpenMS" / "srm_mrm" / "OpenSwathAnalyzer_1_input.TraML"
    out = tmp_path / "toy.tsv"
    assert main(["method", "convert", str(toy), str(out)]) == 2
    assert "PEPTIDEB" in capsys.readouterr().err
    assert main(["method", "convert", str(toy), str(out), "--lenient"]) == 0
    printed = capsys.readouterr().out
    assert "warning: Peptide tr_gr2 'PEPTIDEB'" in printed
    assert "precursors=2 transitions=5" in printed
    # the toy list's m/z 500 for PEPTIDEA is not PEPTIDEA's: one error, PEPTIDEB a warning
    assert main(["method", "check", str(out), "--lenient"]) == 1
    printed = capsys.readouterr().out
    assert "warning: /PEPTIDEB/2+/light: field 'modified_sequence'" in printed
    assert "FAILED: 1 problem(s), 1 warning(s)" in printed
