"""Labware positions: microplates (96- and 384-well), vial racks and trays.

A *position* names one sample site on an instrument deck: ``<tray>:<site>``, where ``tray`` is
the 1-based tray (slot) number and ``site`` is a well name on a plate (``A1`` .. ``H12`` on a
96-well plate, ``A1`` .. ``P24`` on a 384-well plate) or a 1-based vial number in a rack
(``1`` .. ``54`` on a 54-vial rack). Examples: ``1:A1``, ``2:P24``, ``3:17``.

Well names are case-insensitive and accept a leading zero in the column (``b03`` is ``B3``);
they are always written back in the canonical form. Vials are numbered row-major (vial 1 is
the top-left, vial 10 the first of the second row of a 6 x 9 rack).

Everything here is pure data and parsing (no I/O), shared by the autosampler, the sample-prep
robot and their simulators. Invalid input raises :class:`~msuite.core.errors.InputError` naming
the field, the value and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from msuite.core.errors import InputError

__all__ = [
    "MAX_TRAYS",
    "PLATE_384",
    "PLATE_96",
    "VIAL_RACK_54",
    "LabwareFormat",
    "Order",
    "Position",
    "format_by_code",
    "parse_position",
    "parse_site",
    "parse_tray",
    "parse_well",
    "site_from_index",
    "site_index",
    "sites",
    "well_name",
]

#: Largest tray number any position may name.
MAX_TRAYS = 99

_WELL_RE = re.compile(r"^([A-Za-z])0*([1-9][0-9]*)$")
_VIAL_RE = re.compile(r"^0*([1-9][0-9]*)$")
_ROW_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Order(Enum):
    """Walking order over a labware's sites."""

    ROW_MAJOR = "row"  # A1, A2, ... A12, B1, ...
    COLUMN_MAJOR = "column"  # A1, B1, ... H1, A2, ...


@dataclass(frozen=True, slots=True)
class LabwareFormat:
    """A labware footprint: a plate of named wells or a rack of numbered vials.

    Attributes
    ----------
    code
        Wire code of the format (``P96``, ``P384``, ``V54``).
    rows, columns
        Grid size.
    is_vial_rack
        True when sites are vial numbers, False when they are well names.
    max_volume_ul
        Working volume of one well or vial (µL).
    description
        Human-readable name.
    """

    code: str
    rows: int
    columns: int
    is_vial_rack: bool
    max_volume_ul: float
    description: str

    @property
    def size(self) -> int:
        """Number of sites."""
        return self.rows * self.columns

    @property
    def allowed(self) -> str:
        """The accepted site names, in words (for error messages)."""
        if self.is_vial_rack:
            return f"vial 1..{self.size}"
        return f"wells A1..{_ROW_LETTERS[self.rows - 1]}{self.columns}"

    def __str__(self) -> str:
        return self.code


PLATE_96 = LabwareFormat("P96", 8, 12, False, 300.0, "96-well plate")
PLATE_384 = LabwareFormat("P384", 16, 24, False, 80.0, "384-well plate")
VIAL_RACK_54 = LabwareFormat("V54", 6, 9, True, 1500.0, "54-vial rack (2 mL vials)")

_FORMATS = {f.code: f for f in (PLATE_96, PLATE_384, VIAL_RACK_54)}


def format_by_code(code: str) -> LabwareFormat:
    """Return the labware format for a wire code (``P96``, ``P384``, ``V54``; any case)."""
    fmt = _FORMATS.get(code.strip().upper())
    if fmt is None:
        raise InputError(
            "unknown labware format", field="labware", value=code, allowed=", ".join(_FORMATS)
        )
    return fmt


def well_name(row: int, column: int) -> str:
    """Canonical well name of a 0-based ``row`` and ``column`` (``0, 0`` -> ``A1``)."""
    if not 0 <= row < len(_ROW_LETTERS) or column < 0:
        raise InputError(
            "well index out of range", field="well", value=(row, column), allowed="row 0..25"
        )
    return f"{_ROW_LETTERS[row]}{column + 1}"


def parse_well(name: str, fmt: LabwareFormat = PLATE_384) -> tuple[int, int]:
    """Return the 0-based (row, column) of a well name on a plate of format ``fmt``.

    Raises
    ------
    InputError
        When ``name`` is not a well name or lies outside the plate.
    """
    if fmt.is_vial_rack:
        raise InputError(
            "a vial rack has numbered vials, not wells",
            field="well",
            value=name,
            allowed=fmt.allowed,
        )
    m = _WELL_RE.match(name.strip())
    if m is None:
        raise InputError("not a well name", field="well", value=name, allowed=fmt.allowed)
    row = ord(m.group(1).upper()) - ord("A")
    column = int(m.group(2)) - 1
    if row >= fmt.rows or column >= fmt.columns:
        raise InputError(
            f"well outside the {fmt.description}", field="well", value=name, allowed=fmt.allowed
        )
    return row, column


def _parse_vial(text: str, fmt: LabwareFormat | None) -> int:
    m = _VIAL_RE.match(text.strip())
    if m is None:
        allowed = fmt.allowed if fmt is not None else "vial numbers from 1"
        raise InputError("not a vial number", field="vial", value=text, allowed=allowed)
    number = int(m.group(1))
    if fmt is not None and number > fmt.size:
        raise InputError(
            f"vial outside the {fmt.description}", field="vial", value=text, allowed=fmt.allowed
        )
    return number


def parse_site(text: str, fmt: LabwareFormat | None = None) -> str:
    """Validate a site (well name or vial number) and return its canonical spelling.

    Without ``fmt`` any syntactically valid site on the largest formats is accepted (wells
    ``A1..P24``, vials ``1..999``); with ``fmt`` the site must exist on that labware.
    """
    stripped = text.strip()
    if stripped[:1].isdigit():
        if fmt is not None and not fmt.is_vial_rack:
            raise InputError(
                f"a {fmt.description} has named wells",
                field="well",
                value=text,
                allowed=fmt.allowed,
            )
        number = _parse_vial(stripped, fmt)
        if fmt is None and number > 999:
            raise InputError("vial number too large", field="vial", value=text, allowed="1..999")
        return str(number)
    if fmt is not None and fmt.is_vial_rack:
        raise InputError(
            f"a {fmt.description} has numbered vials", field="vial", value=text, allowed=fmt.allowed
        )
    row, column = parse_well(stripped, fmt or PLATE_384)
    return well_name(row, column)


def parse_tray(value: str | int, max_trays: int = MAX_TRAYS) -> int:
    """Validate a 1-based tray number."""
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= max_trays:
        raise InputError("not a tray number", field="tray", value=value, allowed=f"1..{max_trays}")
    return int(text)


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """One sample site: ``tray`` (1-based) and canonical ``site`` (``A1`` or ``17``)."""

    tray: int
    site: str

    @property
    def is_vial(self) -> bool:
        """True when the site is a vial number."""
        return self.site.isdigit()

    def __str__(self) -> str:
        return f"{self.tray}:{self.site}"


def parse_position(
    text: str | Position, fmt: LabwareFormat | None = None, max_trays: int = MAX_TRAYS
) -> Position:
    """Parse ``<tray>:<site>`` (``1:A1``, ``3:17``) into a :class:`Position`.

    Parameters
    ----------
    text
        The position text (a :class:`Position` is re-validated and returned).
    fmt
        The labware in that tray, when known: the site must exist on it.
    max_trays
        Highest tray number allowed.
    """
    if isinstance(text, Position):
        text = str(text)
    tray_text, sep, site_text = str(text).partition(":")
    if not sep or not site_text.strip():
        raise InputError(
            "not a position",
            field="position",
            value=text,
            allowed="<tray>:<well or vial>, e.g. 1:A1",
        )
    tray = parse_tray(tray_text, max_trays)
    return Position(tray, parse_site(site_text, fmt))


def _grid(fmt: LabwareFormat, order: Order) -> Iterator[tuple[int, int]]:
    if order is Order.ROW_MAJOR:
        for r in range(fmt.rows):
            for c in range(fmt.columns):
                yield r, c
    else:
        for c in range(fmt.columns):
            for r in range(fmt.rows):
                yield r, c


def site_index(site: str, fmt: LabwareFormat, order: Order = Order.ROW_MAJOR) -> int:
    """0-based index of ``site`` when walking ``fmt`` in ``order``."""
    if fmt.is_vial_rack:
        number = _parse_vial(site, fmt) - 1
        row, column = divmod(number, fmt.columns)
    else:
        row, column = parse_well(site, fmt)
    if order is Order.ROW_MAJOR:
        return row * fmt.columns + column
    return column * fmt.rows + row


def site_from_index(index: int, fmt: LabwareFormat, order: Order = Order.ROW_MAJOR) -> str:
    """The site at 0-based ``index`` when walking ``fmt`` in ``order``."""
    if not 0 <= index < fmt.size:
        raise InputError(
            "site index out of range", field="index", value=index, allowed=f"0..{fmt.size - 1}"
        )
    if order is Order.ROW_MAJOR:
        row, column = divmod(index, fmt.columns)
    else:
        column, row = divmod(index, fmt.rows)
    if fmt.is_vial_rack:
        return str(row * fmt.columns + column + 1)
    return well_name(row, column)


def sites(fmt: LabwareFormat, order: Order = Order.ROW_MAJOR) -> list[str]:
    """Every site of ``fmt`` in walking ``order`` (vials: numbers; plates: well names)."""
    if fmt.is_vial_rack:
        return [str(r * fmt.columns + c + 1) for r, c in _grid(fmt, order)]
    return [well_name(r, c) for r, c in _grid(fmt, order)]
