import numpy as np
import pytest

from msuite.core.errors import InputError
from msuite.quant.qc import levey_jennings, westgard


def rules(values):
    return {v.rule for v in westgard(np.asarray(values) + 100.0, 100.0, 1.0)}


@pytest.mark.parametrize(
    "rule,hit,miss",
    [
        ("1-2s", [0, 2.1], [0, 1.9]),
        ("1-3s", [0, -3.1], [0, -2.9]),
        ("2-2s", [2.1, 2.1], [2.1, 1.9]),
        ("R-4s", [2.1, -2.1], [1.9, -1.9]),
        ("4-1s", [1.1] * 4, [1.1, 1.1, 1.1, 0.9]),
        ("10x", [0.1] * 10, [0.1] * 9 + [-0.1]),
    ],
)
def test_westgard_rules(rule, hit, miss):
    assert rule in rules(hit)
    assert rule not in rules(miss)


def test_violation_record():
    v = next(x for x in westgard([100, 103.5], 100, 1) if x.rule == "1-3s")
    assert v.index == 1 and v.values == (103.5,)


def test_levey_jennings():
    lj = levey_jennings([98.0, 101.0], 100.0, 2.0)
    assert np.allclose(lj["z"], [-1.0, 0.5])
    assert lj["lines"]["+3sd"] == 106.0


def test_bad_sd():
    with pytest.raises(InputError) as err:
        westgard([1.0], 0.0, 0.0)
    assert err.value.field == "sd"


def test_suitability_checks():
    from msuite.quant.qc import (
        check_carryover,
        check_ion_ratio,
        check_is_area_cv,
        check_retention_time,
    )

    assert check_retention_time(10.2, 10.0).passed
    assert not check_retention_time(10.3, 10.0).passed
    assert check_is_area_cv([100, 105, 95]).passed
    assert not check_is_area_cv([100, 150, 50]).passed
    assert check_ion_ratio(0.55, [0.5, 0.5]).passed
    r = check_ion_ratio(0.65, [0.5, 0.5])
    assert not r.passed and r.value == pytest.approx(30.0) and r.limit == 20.0
    assert check_carryover(19.0, 100.0).passed
    assert not check_carryover(21.0, 100.0).passed
    assert check_carryover(21.0, 100.0, max_percent=25.0).passed
