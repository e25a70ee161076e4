"""Labware position model: well names, vial numbers, trays, walking orders."""

from __future__ import annotations

import pickle

import pytest

from msuite.core.errors import InputError
from msuite.drivers.protocol.plates import (
    PLATE_96,
    PLATE_384,
    VIAL_RACK_54,
    Order,
    Position,
    format_by_code,
    parse_position,
    parse_site,
    parse_tray,
    parse_well,
    site_from_index,
    site_index,
    sites,
    well_name,
)


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("A1", PLATE_96, (0, 0)),
        ("h12", PLATE_96, (7, 11)),
        ("B03", PLATE_96, (1, 2)),
        ("P24", PLATE_384, (15, 23)),
        (" c7 ", PLATE_384, (2, 6)),
    ],
)
def test_parse_well(name: str, fmt, expected: tuple[int, int]) -> None:
    assert parse_well(name, fmt) == expected


@pytest.mark.parametrize(
    ("name", "fmt", "allowed"),
    [
        ("I1", PLATE_96, "wells A1..H12"),
        ("A13", PLATE_96, "wells A1..H12"),
        ("Q1", PLATE_384, "wells A1..P24"),
        ("A25", PLATE_384, "wells A1..P24"),
        ("A0", PLATE_96, "wells A1..H12"),
        ("AA1", PLATE_96, "wells A1..H12"),
        ("", PLATE_96, "wells A1..H12"),
        ("7", PLATE_96, "wells A1..H12"),
    ],
)
def test_bad_well_names_the_value_and_what_is_allowed(name: str, fmt, allowed: str) -> None:
    with pytest.raises(InputError) as info:
        parse_well(name, fmt)
    assert info.value.field == "well"
    assert info.value.value == name
    assert info.value.allowed == allowed
    assert repr(name) in str(info.value) and allowed in str(info.value)


def test_sites_canonical_and_format_checked() -> None:
    assert parse_site("b03") == "B3"
    assert parse_site("007") == "7"
    assert parse_site("54", VIAL_RACK_54) == "54"
    with pytest.raises(InputError, match=r"vial 1\.\.54") as info:
        parse_site("55", VIAL_RACK_54)
    assert info.value.field == "vial"
    with pytest.raises(InputError, match="numbered vials"):
        parse_site("A1", VIAL_RACK_54)
    with pytest.raises(InputError, match="named wells"):
        parse_site("5", PLATE_96)
    with pytest.raises(InputError, match="too large"):
        parse_site("1000")


def test_positions() -> None:
    pos = parse_position("2:p24")
    assert pos == Position(2, "P24") and str(pos) == "2:P24" and not pos.is_vial
    assert parse_position("03:017") == Position(3, "17") and Position(3, "17").is_vial
    assert parse_position(pos) == pos
    assert parse_position("1:A1", PLATE_96) == Position(1, "A1")
    assert sorted([Position(2, "A1"), Position(1, "B1")])[0] == Position(1, "B1")
    assert pickle.loads(pickle.dumps(pos)) == pos


@pytest.mark.parametrize(
    ("text", "field"),
    [("A1", "position"), ("1:", "position"), ("0:A1", "tray"), ("x:A1", "tray"), ("5:A1", "tray")],
)
def test_bad_positions(text: str, field: str) -> None:
    with pytest.raises(InputError) as info:
        parse_position(text, max_trays=4)
    assert info.value.field == field
    assert info.value.allowed


def test_tray_numbers() -> None:
    assert parse_tray("4", 4) == 4 and parse_tray(1) == 1
    with pytest.raises(InputError, match=r"1\.\.4"):
        parse_tray(5, 4)


def test_formats() -> None:
    assert format_by_code("p384") is PLATE_384
    assert (PLATE_96.size, PLATE_384.size, VIAL_RACK_54.size) == (96, 384, 54)
    with pytest.raises(InputError) as info:
        format_by_code("P1536")
    assert info.value.allowed == "P96, P384, V54"


def test_walking_orders() -> None:
    rows = sites(PLATE_96)
    cols = sites(PLATE_96, Order.COLUMN_MAJOR)
    assert rows[:3] == ["A1", "A2", "A3"] and rows[12] == "B1" and rows[-1] == "H12"
    assert cols[:3] == ["A1", "B1", "C1"] and cols[8] == "A2" and cols[-1] == "H12"
    assert sorted(rows) == sorted(cols) and len(set(rows)) == 96
    assert sites(VIAL_RACK_54)[:3] == ["1", "2", "3"]
    assert sites(VIAL_RACK_54, Order.COLUMN_MAJOR)[:3] == ["1", "10", "19"]
    for fmt in (PLATE_96, PLATE_384, VIAL_RACK_54):
        for order in Order:
            walked = sites(fmt, order)
            assert [site_index(s, fmt, order) for s in walked] == list(range(fmt.size))
            assert [site_from_index(i, fmt, order) for i in range(fmt.size)] == walked
    with pytest.raises(InputError, match="out of range"):
        site_from_index(96, PLATE_96)
    assert well_name(15, 23) == "P24"
