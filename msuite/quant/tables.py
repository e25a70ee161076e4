"""Small user tables (sample sheets, boundaries, standards): read once, the same way.

A table is a CSV file whose delimiter (comma, tab or semicolon) is sniffed from its header line;
a UTF-8 byte-order mark is ignored; blank lines are skipped, and every row keeps its line number
in the file for error messages.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from msuite.core.errors import InputError

__all__ = ["Table", "read_table"]


@dataclass(frozen=True)
class Table:
    """A table's header cells, its rows with their line numbers, and the file's checksum."""

    path: str
    header: list[str]
    rows: list[tuple[int, list[str]]]
    sha256: str


def read_table(path: str | Path, what: str, *, option: str | None = None) -> Table:
    """Read a small delimited table.

    Parameters
    ----------
    path
        The file.
    what
        What it is, for error messages (``"sample sheet"``).
    option
        The command-line option that named it, for error messages.

    Raises
    ------
    InputError
        The file is missing, unreadable, not UTF-8, or has no header line.
    """
    p = Path(path)
    where = str(p)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} not found", path=where, field=option) from None
    except OSError as exc:
        raise InputError(f"cannot read the {what} ({exc})", path=where, field=option) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"the {what} is not UTF-8 text ({exc})", path=where) from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InputError(f"empty {what}", path=where, line=1, allowed="a header row")
    try:
        delimiter = csv.Sniffer().sniff(lines[0], delimiters=",\t;").delimiter
    except csv.Error:
        delimiter = ","
    parsed = list(csv.reader(lines, delimiter=delimiter))
    rows = [
        (n, [c.strip() for c in row])
        for n, row in enumerate(parsed[1:], start=2)
        if any(c.strip() for c in row)
    ]
    header = [h.strip() for h in parsed[0]]
    return Table(where, header, rows, hashlib.sha256(raw).hexdigest())
