"""Sample sheets: columns, Skyline names, defaults, and errors naming file, line and field."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from msuite.core.errors import InputError
from msuite.quant.samples import SAMPLE_TYPES, read_sample_sheet


def write(tmp_path: Path, text: str, name: str = "sheet.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_types_concentrations_and_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "run,sample_type,concentration,dilution_factor\n"
        "cal_1.mzML,calibrator,0.5,\n"
        "cal_1b.h5,Standard,0.5,\n"
        "qc_low.mzML,Quality Control,1.5,\n"
        "blank_1.mzML,blank,,\n"
        "/data/pat_7.mzML.gz,unknown,,4\n",
    )
    sheet = read_sample_sheet(path)
    by = sheet.by_run()
    assert list(by) == ["cal_1", "cal_1b", "qc_low", "blank_1", "pat_7"]
    assert [s.sample_type for s in sheet.samples] == [
        "calibrator",
        "calibrator",
        "qc",
        "blank",
        "unknown",
    ]
    # replicate injections of one calibrator level share a sample name
    assert by["cal_1"].sample == by["cal_1b"].sample == "calibrator 0.5"
    assert by["qc_low"].qc_level == "QC 1.5" and by["qc_low"].sample == "QC 1.5"
    assert by["pat_7"].sample == "pat_7" and by["pat_7"].dilution_factor == 4.0
    assert math.isnan(by["blank_1"].concentration)
    assert [s.run for s in sheet.ordered()] == list(by)  # sheet order is injection order


def test_skyline_headers_tabs_order_and_per_target_concentrations(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "File Name\tSample Type\tAnalyte Concentration\tInjection Order\tconcentration: caffeine\n"
        "b.mzML\tDouble Blank\t\t2\t\n"
        "a.mzML\tStandard\t10\t1\t25\n",
        "sheet.tsv",
    )
    sheet = read_sample_sheet(path)
    assert [s.run for s in sheet.ordered()] == ["a", "b"]
    a = sheet["a"]
    assert a.nominal("caffeine") == 25.0
    assert a.nominal("theobromine") == 10.0
    assert sheet["b"].sample_type == "double_blank"


@pytest.mark.parametrize(
    ("text", "line", "field", "value"),
    [
        ("run,sample_type\nx.mzML,patient\n", 2, "sample_type", "patient"),
        ("run,sample_type,concentration\nx.mzML,calibrator,\n", 2, "concentration", ""),
        ("run,sample_type,concentration\nx.mzML,qc,abc\n", 2, "concentration", "abc"),
        ("run,sample_type,concentration\nx.mzML,qc,-1\n", 2, "concentration", "-1"),
        ("run,sample_type,dilution_factor\nx,unknown,1\ny,unknown,0\n", 3, "dilution_factor", "0"),
        ("run,concentration\nx.mzML,1\n", 1, "sample_type", None),
        ("run,sample_type\n,unknown\n", 2, "run", ""),
    ],
)
def test_bad_cells_name_line_field_and_value(
    tmp_path: Path, text: str, line: int, field: str, value: str | None
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        read_sample_sheet(path)
    e = err.value
    assert (e.path, e.line, e.field) == (str(path), line, field)
    if value is not None:
        assert e.value == value
    assert e.allowed


def test_unknown_type_lists_the_allowed_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "run,sample_type\nx.mzML,patient\n")
    with pytest.raises(InputError) as err:
        read_sample_sheet(path)
    assert set(SAMPLE_TYPES) <= set(err.value.allowed)


def test_duplicate_run_and_runs_not_matching(tmp_path: Path) -> None:
    dup = write(tmp_path, "run,sample_type\na.mzML,unknown\na.h5,unknown\n")
    with pytest.raises(InputError, match="run listed twice") as err:
        read_sample_sheet(dup)
    assert err.value.line == 3
    sheet = read_sample_sheet(write(tmp_path, "run,sample_type\na,unknown\nb,unknown\n"))
    sheet.check_runs(["a", "b"])
    with pytest.raises(InputError, match="not in the sample sheet") as err:
        sheet.check_runs(["a", "b", "c"])
    assert err.value.value == ["c"]
    with pytest.raises(InputError, match="not given") as err:
        sheet.check_runs(["a"])
    assert err.value.value == ["b"]


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_sample_sheet(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="empty"):
        read_sample_sheet(write(tmp_path, ""))
    with pytest.raises(InputError, match="no rows"):
        read_sample_sheet(write(tmp_path, "run,sample_type\n\n"))
