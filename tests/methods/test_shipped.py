"""The method files shipped in methods/ are valid and rebuild to the same content."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from msuite.methods.cli import main
from msuite.methods.storage import load_method
from msuite.methods.validate import check_method
from tests.conftest import REPO_ROOT

METHODS = REPO_ROOT / "methods"


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("panel_1000", "proteins=1000 peptides=2011 precursors=3976 transitions=15904"),
        ("irt_standards", "proteins=0 peptides=11 precursors=11 transitions=44"),
        ("metabolites_philic", "proteins=0 peptides=0 precursors=0 transitions=0"),
        ("metabolites_hilicpos", "proteins=0 peptides=0 precursors=0 transitions=0"),
    ],
)
def test_shipped_method_is_valid(name: str, line: str) -> None:
    method = load_method(METHODS / f"{name}.toml")
    assert method.summary_line() == line
    assert check_method(method) == []


def test_panel_flags_biomarkers_and_human_first() -> None:
    method = load_method(METHODS / "panel_1000.toml")
    assert sum(p.biomarker for p in method.proteins) == 7
    kinds = ["ecoli" if p.accession.startswith("VIMSS") else "human" for p in method.proteins
             if p.accession != "iRT-Kit_WR_fusion"]
    assert kinds == sorted(kinds, key=["human", "ecoli"].index)


def _readme_commands() -> dict[str, list[str]]:
    out = {}
    for line in (METHODS / "README.md").read_text().splitlines():
        if line.startswith("msuite method build"):
            args = shlex.split(line)[1:]
            out[Path(args[args.index("--out") + 1]).stem] = args
    return out


def test_readme_has_one_command_per_method() -> None:
    assert set(_readme_commands()) == {p.stem for p in METHODS.glob("*.toml")}


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(p.stem for p in METHODS.glob("*.toml")))
def test_readme_command_rebuilds_the_same_files(name: str, testdata: Path, tmp_path: Path,
                                                capsys) -> None:
    args = _readme_commands()[name]
    args = [a.replace("../shared/data", str(testdata)) for a in args]
    args[args.index("--out") + 1] = str(tmp_path / f"{name}.toml")
    assert main(args) == 0
    for shipped in METHODS.glob(f"{name}.*"):
        assert (tmp_path / shipped.name).read_text() == shipped.read_text(), shipped.name
