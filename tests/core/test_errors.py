"""Errors render one clear line with their fields and survive pickling."""

from __future__ import annotations

import pickle

import pytest

from msuite.core.errors import (
    ChecksumError,
    FileFormatError,
    InputError,
    MSuiteError,
    SchemaVersionError,
    UnknownCVTermError,
)


def test_message_names_file_line_field_value_and_allowed() -> None:
    err = UnknownCVTermError(
        "unknown CV term",
        path="run.mzML",
        line=42,
        field="cvParam",
        value="MS:9999999",
        allowed="PSI-MS accessions",
    )
    text = str(err)
    assert text == (
        "run.mzML:42: field 'cvParam' = 'MS:9999999': unknown CV term (allowed: PSI-MS accessions)"
    )
    assert "\n" not in text


@pytest.mark.parametrize(
    "cls", [MSuiteError, InputError, FileFormatError, SchemaVersionError, ChecksumError]
)
def test_errors_pickle_with_their_fields(cls: type[MSuiteError]) -> None:
    err = cls(
        "broken", path="a.h5", line=3, field="schema_version", value=9, allowed="1", device="ms1"
    )
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls
    assert str(back) == str(err)
    assert back.fields() == err.fields()
    assert back.device == "ms1"


def test_hierarchy_has_one_root() -> None:
    assert issubclass(UnknownCVTermError, FileFormatError)
    assert issubclass(FileFormatError, InputError)
    assert issubclass(InputError, MSuiteError)
    assert issubclass(InputError, ValueError)
    assert issubclass(ChecksumError, MSuiteError)
