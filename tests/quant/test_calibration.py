import numpy as np
import pytest

from msuite.core.errors import InputError
from msuite.quant.calibration import (
    fit_calibration,
    light_heavy_ratio,
    limit_of_detection,
    limit_of_quantification,
    percent_cv,
)

X = np.array([1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0])


def test_exact_line_recovered():
    curve = fit_calibration(X, 0.5 + 2.0 * X)
    assert curve.coefficients == pytest.approx((0.5, 2.0))
    assert curve.r_squared == pytest.approx(1.0)
    assert np.allclose(curve.back_calculate(0.5 + 2.0 * X), X)
    assert np.allclose(curve.percent_error(), 0.0, atol=1e-9)


def test_exact_parabola_recovered_and_inverted():
    y = 1.0 + 3.0 * X - 0.01 * X**2
    curve = fit_calibration(X, y, model="quadratic")
    assert curve.coefficients == pytest.approx((1.0, 3.0, -0.01))
    assert np.allclose(curve.back_calculate(y), X)
    assert np.isnan(curve.back_calculate(1.0 + 3.0 * 200 - 0.01 * 200**2 + 1000)[0])


@pytest.mark.parametrize("weighting,power", [("1/x", 1), ("1/x^2", 2)])
def test_weighted_fit_matches_hand_solved(weighting, power):
    rng = np.random.default_rng(1)
    x = np.concatenate([[0.0], X])
    y = 0.2 + 1.5 * x + rng.normal(0, 0.05, x.size) * (1 + x)
    curve = fit_calibration(x, y, weighting=weighting)
    keep = x > 0
    sw = np.sqrt(1 / x[keep] ** power)
    a = np.column_stack([np.ones(keep.sum()), x[keep]]) * sw[:, None]
    ref, *_ = np.linalg.lstsq(a, y[keep] * sw, rcond=None)
    assert curve.coefficients == pytest.approx(tuple(ref))
    assert curve.n_points == 7
    assert curve.to_dict()["weighting"] == weighting


def test_percent_error_known():
    curve = fit_calibration([1.0, 2.0, 3.0], [1.0, 2.0, 3.3])
    back = curve.back_calculate([1.0, 2.0, 3.3])
    assert np.allclose(curve.percent_error(), 100 * (back - [1, 2, 3]) / [1, 2, 3])


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"concentration": [1, 2], "response": [1, 2, 3]}, "response"),
        ({"concentration": [-1, 2, 3], "response": [1, 2, 3]}, "concentration"),
        ({"concentration": [1, 2], "response": [1, 2], "model": "quadratic"}, "concentration"),
        ({"concentration": [1, 2], "response": [1, 2], "model": "cubic"}, "model"),
        ({"concentration": [1, 2], "response": [1, 2], "weighting": "1/y"}, "weighting"),
    ],
)
def test_bad_input(kwargs, field):
    with pytest.raises(InputError) as err:
        fit_calibration(**kwargs)
    assert err.value.field == field
    assert err.value.allowed is not None


def test_ratio_zero_heavy_is_nan():
    r = light_heavy_ratio([2.0, 1.0], [4.0, 0.0])
    assert r[0] == 0.5 and np.isnan(r[1])


def test_lod_loq_on_dilution_series():
    rng = np.random.default_rng(7)
    curve = fit_calibration(X, 10.0 * X)
    blanks = rng.normal(1.0, 0.5, 20)
    lod = limit_of_detection(blanks, curve)
    assert lod == pytest.approx((blanks.mean() + 3 * blanks.std(ddof=1)) / 10.0)
    levels = [0.5, 1.0, 5.0, 20.0]
    sd = 0.5
    reps = [lv + rng.normal(0, sd, 6) for lv in levels]
    # CV at 0.5 and 1.0 is ~100 % / ~50 %; at 5 and 20 well below 20 %.
    assert limit_of_quantification(levels, reps) == 5.0
    assert percent_cv([9.0, 10.0, 11.0]) == pytest.approx(10.0)


def test_peptide_ratios_and_rollup():
    from msuite.quant.calibration import peptide_ratios, protein_rollup

    r = peptide_ratios(["A", "A", "B"], [1.0, 3.0, 2.0], [2.0, 2.0, 0.0])
    assert r["A"]["sum_ratio"] == 1.0 and r["A"]["median_ratio"] == 1.0
    assert np.isnan(r["B"]["sum_ratio"])
    assert protein_rollup([1.0, 2.0, 9.0, 10.0], "top3") == 7.0
    assert protein_rollup([1.0, 2.0, np.nan], "median") == 1.5
    with pytest.raises(InputError):
        protein_rollup([1.0], "max")
