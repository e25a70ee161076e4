"""Collision energy from per-instrument linear regressions (CE = slope x precursor m/z + intercept).

The coefficients are Skyline's default collision-energy regressions, copied from the
``CollisionEnergyList.GetDefaults`` table in Skyline's source (ProteoWizard,
``pwiz_tools/Skyline/Properties/Settings.cs``, revision 9 of the list, Skyline 4.1.1 and later;
Apache-2.0). MacLean et al., "Effect of collision energy optimization on the measurement of
peptides by selected reaction monitoring (SRM) mass spectrometry", Anal. Chem. 82 (2010) 10116,
describes how they were fitted.

As in Skyline, a charge without its own line uses the line of the nearest lower charge (or the
lowest charge listed when the precursor charge is below all of them).
"""

from __future__ import annotations

from dataclasses import dataclass

from msuite.core.errors import InputError

__all__ = ["CERegression", "REGRESSIONS", "collision_energy", "get_regression"]


@dataclass(frozen=True, slots=True)
class CERegression:
    """A named set of per-charge lines ``charge -> (slope, intercept)``."""

    name: str
    lines: tuple[tuple[int, float, float], ...]

    def energy(self, mz: float, charge: int) -> float:
        """Return the collision energy (V) for a precursor of ``mz`` and ``charge``."""
        chosen = self.lines[0]
        for line in self.lines:
            if line[0] <= charge:
                chosen = line
        _, slope, intercept = chosen
        return round(slope * mz + intercept, 2)


# Skyline CollisionEnergyList defaults (see module docstring), name: ((charge, slope, intercept),)
REGRESSIONS: dict[str, CERegression] = {
    r.name: r
    for r in (
        CERegression("Thermo TSQ Quantiva", ((2, 0.0339, 2.3597), (3, 0.0295, 1.5123))),
        CERegression("Thermo TSQ Vantage", ((2, 0.03, 2.905), (3, 0.038, 2.281))),
        CERegression("Thermo TSQ Ultra", ((2, 0.036, 0.954), (3, 0.037, 3.525))),
        CERegression("SCIEX", ((2, 0.049, -1.0), (3, 0.048, -2.0), (4, 0.05, -2.0))),
        CERegression("Agilent QQQ", ((2, 0.031, 1.0), (3, 0.036, -4.8))),
        CERegression("Waters Xevo", ((2, 0.037, -1.066), (3, 0.036, -1.328))),
        CERegression("Shimadzu QQQ", ((2, 0.04, -0.5082), (3, 0.037, -0.8368))),
        # older Skyline entries, still found in published methods
        CERegression("ABI 4000 QTrap", ((2, 0.057, -4.265), (3, 0.031, 7.082))),
        CERegression("ABI 5500 QTrap", ((2, 0.036, 8.857), (3, 0.0544, -2.4099))),
        CERegression("Thermo", ((2, 0.034, 3.314), (3, 0.044, 3.314))),
    )
}


def get_regression(name: str) -> CERegression:
    """Return the regression called ``name`` (case-insensitive)."""
    for key, reg in REGRESSIONS.items():
        if key.lower() == name.lower():
            return reg
    raise InputError(
        "unknown collision-energy regression",
        field="ce_regression",
        value=name,
        allowed=", ".join(REGRESSIONS),
    )


def collision_energy(mz: float, charge: int, regression: str = "Thermo TSQ Quantiva") -> float:
    """Return the collision energy for ``mz``/``charge`` from the named regression."""
    return get_regression(regression).energy(mz, charge)
