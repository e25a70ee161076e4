"""Property tests: list parsers either read the input or raise an MSuiteError, never crash."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msuite.core.errors import MSuiteError
from msuite.methods.chemistry import parse_peptide, precursor_mz
from msuite.methods.formats import read_any
from msuite.methods.formats.openms import COLUMNS as OPENMS_COLUMNS
from msuite.methods.formats.skyline import PEPTIDE_COLUMNS
from msuite.methods.formats.vendor import SCIEX_COLUMNS, THERMO_COLUMNS
from msuite.methods.storage import TRANSITION_COLUMNS
from msuite.methods.validate import check_method

EXAMPLES = int(os.environ.get("MSUITE_HYPOTHESIS_EXAMPLES", "150"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

_cell = st.one_of(
    st.text(alphabet='0123456789.-+eE,;"\t yYbBKRSPEPTIDE[]()^:lighthvaynLFT', max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-5, 5).map(str),
    st.sampled_from(["", "y3", "b2^2", "heavy", "light", "PEPTIDEK", "SAMPLEM[Oxidation]K",
                     "TRUE", "1", "nan", "inf", "P1.PEPTIDEK.+2y3.light"]),
)


def _table(columns: tuple[str, ...], sep: str) -> st.SearchStrategy[str]:
    row = st.lists(_cell, min_size=0, max_size=len(columns) + 2)
    return st.lists(row, max_size=5).map(
        lambda rows: sep.join(columns) + "\n" + "\n".join(sep.join(r) for r in rows) + "\n"
    )


def _read(text: str, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        try:
            method = read_any(path)
        except MSuiteError as exc:
            assert str(exc)
            return
        check_method(method)  # whatever was read can be validated without crashing


@SETTINGS
@given(_table(PEPTIDE_COLUMNS, ","))
def test_skyline_parser(text: str) -> None:
    _read(text, "list.csv")


@SETTINGS
@given(_table(OPENMS_COLUMNS, "\t"))
def test_openms_parser(text: str) -> None:
    _read(text, "list.tsv")


@SETTINGS
@given(_table(THERMO_COLUMNS, ","))
def test_thermo_parser(text: str) -> None:
    _read(text, "list.tsq.csv")


@SETTINGS
@given(_table(SCIEX_COLUMNS, ","))
def test_sciex_parser(text: str) -> None:
    _read(text, "list.sciex.csv")


@SETTINGS
@given(_table(TRANSITION_COLUMNS, ","))
def test_msuite_table_parser(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "m.toml").write_text(
            'schema_version = 1\nname = "x"\n[tables]\ntransitions = "m.transitions.csv"\n')
        (Path(tmp) / "m.transitions.csv").write_text(text)
        try:
            method = read_any(Path(tmp) / "m.toml")
        except MSuiteError:
            return
        check_method(method)


@SETTINGS
@given(st.text(max_size=40))
def test_any_text_file(text: str) -> None:
    for name in ("x.csv", "x.TraML", "x.toml"):
        _read(text, name)


@SETTINGS
@given(st.text(alphabet="ACDEFGHIKLMNPQRSTVWYXacmoxp[]()+-.0123456789:UNIMODPhosxidtn",
               max_size=30))
def test_sequence_parser(text: str) -> None:
    try:
        pep = parse_peptide(text)
    except MSuiteError as exc:
        assert exc.field == "modified_sequence"
        return
    assert parse_peptide(pep.proforma) == pep
    assert precursor_mz(pep, 2) > 0
