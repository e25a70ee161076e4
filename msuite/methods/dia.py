"""DIA (SWATH) isolation-window sets."""

from __future__ import annotations

from msuite.core.errors import InputError
from msuite.methods.collision_energy import get_regression
from msuite.methods.model import DIAWindow

__all__ = ["fixed_windows"]


def fixed_windows(
    mz_min: float,
    mz_max: float,
    width: float,
    overlap: float = 1.0,
    ce_regression: str | None = "Thermo TSQ Quantiva",
    charge: int = 2,
) -> list[DIAWindow]:
    """Fixed-width windows covering ``mz_min..mz_max``, neighbours overlapping by ``overlap``.

    The collision energy of each window is the regression's value at the window centre for
    ``charge`` (NaN-free only when a regression is given).
    """
    if not (0 < mz_min < mz_max) or width <= 0 or not 0 <= overlap < width:
        raise InputError("bad DIA window set", field="mz_min/mz_max/width/overlap",
                         value=(mz_min, mz_max, width, overlap),
                         allowed="0 < mz_min < mz_max, width > 0, 0 <= overlap < width")
    if (mz_max - mz_min) / (width - overlap) > 10_000:
        raise InputError("too many DIA windows", field="width", value=width,
                         allowed="at most 10,000 windows")
    regression = get_regression(ce_regression) if ce_regression else None
    out = []
    lower = mz_min
    while lower < mz_max:
        upper = min(lower + width, mz_max)
        window = DIAWindow(round(lower, 4), round(upper, 4))
        if regression is not None:
            window.collision_energy = regression.energy(window.center, charge)
        out.append(window)
        if upper >= mz_max:
            break
        lower = upper - overlap
    return out
