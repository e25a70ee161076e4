"""CSV/TSV table reading with errors that name the file, row and column of a bad cell."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from msuite.core.errors import FileFormatError, InputError

__all__ = ["Row", "read_table", "sniff_delimiter"]

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


def sniff_delimiter(header_line: str) -> str:
    """Return the most likely delimiter of a header line (tab, comma or semicolon)."""
    counts = {d: header_line.count(d) for d in ("\t", ",", ";")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


@dataclass(slots=True)
class Row:
    """One table row with typed accessors that raise :class:`InputError` naming the cell."""

    cells: dict[str, str]
    path: str
    line: int

    def has(self, column: str) -> bool:
        """True when the column exists and the cell is not empty."""
        return bool(self.cells.get(column, "").strip())

    def _error(self, column: str, value: str, message: str, allowed: str) -> InputError:
        return InputError(message, path=self.path, line=self.line, field=column, value=value,
                          allowed=allowed)

    def text(self, column: str, default: str | None = None) -> str:
        """The stripped cell text; ``default`` when empty (error when no default is given)."""
        value = (self.cells.get(column) or "").strip()
        if not value:
            if default is None:
                raise self._error(column, value, "required cell is empty", "a value")
            return default
        return value

    def float(self, column: str, default: float | None = None) -> float:
        """The cell as a finite float (``default`` when empty)."""
        value = (self.cells.get(column) or "").strip()
        if not value:
            if default is None:
                raise self._error(column, value, "required number is empty", "a number")
            return default
        try:
            out = float(value)
        except ValueError:
            raise self._error(column, value, "not a number", "a decimal number") from None
        if math.isinf(out) or (math.isnan(out) and default is None):
            raise self._error(column, value, "not a finite number", "a finite decimal number")
        return out

    def int(self, column: str, default: int | None = None, minimum: int | None = None) -> int:
        """The cell as an integer (``2``, ``2.0`` and ``+2`` are accepted)."""
        value = (self.cells.get(column) or "").strip()
        if not value:
            if default is None:
                raise self._error(column, value, "required integer is empty", "an integer")
            return default
        try:
            f = float(value)
            if not f.is_integer():
                raise ValueError
            out = int(f)
        except (ValueError, OverflowError):
            raise self._error(column, value, "not an integer", "an integer") from None
        if minimum is not None and out < minimum:
            raise self._error(column, value, "integer too small", f">= {minimum}")
        return out

    def bool(self, column: str, default: bool = False) -> bool:
        """The cell as a boolean (1/0, true/false, yes/no)."""
        raw = self.cells.get(column)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False if value else default
        raise self._error(column, raw, "not a boolean", "1/0, true/false, yes/no")


def read_table(
    path: str | Path,
    required: tuple[str, ...] = (),
    delimiter: str | None = None,
    text: str | None = None,
    skip_lines: int = 0,
) -> Iterator[Row]:
    """Yield the rows of a delimited table with a header line.

    Parameters
    ----------
    path
        File to read (also used in error messages when ``text`` is given).
    required
        Columns that must be present in the header.
    delimiter
        Column separator; sniffed from the header line when None.
    text
        The table content, when already in memory.
    skip_lines
        Lines before the header (preambles such as vendor configuration lines).
    """
    path = str(path)
    if text is None:
        try:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                text = fh.read()
        except UnicodeDecodeError as exc:
            raise FileFormatError("not a UTF-8 text table", path=path, value=str(exc)) from None
    lines = text.splitlines(keepends=True)
    body = lines[skip_lines:]
    if not body or not body[0].strip():
        raise FileFormatError("table has no header line", path=path, line=skip_lines + 1)
    if delimiter is None:
        delimiter = sniff_delimiter(body[0])
    reader = csv.reader(io.StringIO("".join(body)), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise FileFormatError(f"bad CSV: {exc}", path=path, line=skip_lines + 1) from None
    missing = [c for c in required if c not in header]
    if missing:
        raise FileFormatError(
            "missing required column(s)",
            path=path,
            line=skip_lines + 1,
            field=", ".join(missing),
            allowed=", ".join(required),
        )
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileFormatError(
                f"bad CSV: {exc}", path=path, line=skip_lines + reader.line_num
            ) from None
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header) and any(v.strip() for v in values[len(header):]):
            raise FileFormatError(
                "row has more cells than the header",
                path=path,
                line=skip_lines + reader.line_num,
                value=len(values),
                allowed=f"{len(header)} cells",
            )
        yield Row(dict(zip(header, values, strict=False)), path, skip_lines + reader.line_num)
