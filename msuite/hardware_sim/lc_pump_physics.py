"""Hydraulics of the simulated LC pump: mixture viscosity, column resistance, pump response.

Steady-state pressure at the pump head is

    P = F * eta(%B, T) * (R_column * blockage + R_system) * (1 - leak fraction)

with F the flow, ``eta`` the water/acetonitrile viscosity and ``R`` laminar (Darcy)
resistances; the pressure follows that target with a first-order lag (system compliance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "PRESSURE_TIME_CONSTANT_S",
    "ColumnSpec",
    "HydraulicModel",
    "first_order_step",
    "viscosity_cp",
    "viscosity_cp_scalar",
]

#: Time constant of the pressure response to flow/composition changes (pump + compliance).
PRESSURE_TIME_CONSTANT_S = 1.5
_PA_PER_BAR = 1.0e5
_M3_S_PER_UL_MIN = 1.0e-9 / 60.0


def viscosity_cp(percent_b: float | np.ndarray, temperature_c: float = 40.0) -> np.ndarray:
    """Viscosity (cP = mPa s) of a water/acetonitrile mixture with ``percent_b`` % (v/v) ACN.

    Correlation of H. Chen and Cs. Horváth, "High-speed high-performance liquid chromatography
    of peptides and proteins", J. Chromatogr. A 705 (1995) 3-20 (eq. for ACN/water,
    phi = volume fraction of ACN, T in K)::

        ln eta = phi (-3.476 + 726/T) + (1 - phi)(-5.414 + 1566/T) + phi (1 - phi)(-1.762 + 929/T)

    It reproduces the viscosity maximum of the mixture near 15-20 % ACN (about 0.69 cP at
    40 °C against 0.66 cP for water and 0.31 cP for acetonitrile).
    """
    phi = np.clip(np.asarray(percent_b, dtype=float) / 100.0, 0.0, 1.0)
    t_k = temperature_c + 273.15
    ln_eta = (
        phi * (-3.476 + 726.0 / t_k)
        + (1.0 - phi) * (-5.414 + 1566.0 / t_k)
        + phi * (1.0 - phi) * (-1.762 + 929.0 / t_k)
    )
    return np.exp(ln_eta)


def viscosity_cp_scalar(percent_b: float, temperature_c: float = 40.0) -> float:
    """:func:`viscosity_cp` for one composition, without numpy (the simulator's inner loop)."""
    phi = min(max(percent_b / 100.0, 0.0), 1.0)
    t_k = temperature_c + 273.15
    return math.exp(
        phi * (-3.476 + 726.0 / t_k)
        + (1.0 - phi) * (-5.414 + 1566.0 / t_k)
        + phi * (1.0 - phi) * (-1.762 + 929.0 / t_k)
    )


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """A packed column (default: 150 mm x 2.1 mm, 1.7 µm fully porous particles).

    Parameters
    ----------
    length_mm, inner_diameter_mm, particle_um
        Geometry.
    interstitial_porosity
        Bed porosity between particles (Kozeny-Carman).
    total_porosity
        Liquid fraction of the column (defines the column volume).
    """

    length_mm: float = 150.0
    inner_diameter_mm: float = 2.1
    particle_um: float = 1.7
    interstitial_porosity: float = 0.40
    total_porosity: float = 0.65

    @property
    def cross_section_m2(self) -> float:
        """Open cross-section of the tube."""
        return math.pi * (self.inner_diameter_mm * 1e-3 / 2.0) ** 2

    @property
    def volume_ul(self) -> float:
        """Column (void) volume in µL: geometric volume times total porosity."""
        return self.cross_section_m2 * self.length_mm * 1e-3 * self.total_porosity * 1e9

    @property
    def permeability_m2(self) -> float:
        """Darcy permeability from Kozeny-Carman: K = dp^2 e^3 / (180 (1 - e)^2)."""
        e = self.interstitial_porosity
        dp = self.particle_um * 1e-6
        return dp * dp * e**3 / (180.0 * (1.0 - e) ** 2)

    def resistance_bar_per_ul_min_cp(self) -> float:
        """Pressure drop per unit flow and viscosity (bar per µL/min per cP).

        Darcy's law for the packed bed: dP = eta * L * u / K with u = F / A the superficial
        velocity.
        """
        per_m3_s = (1e-3 * self.length_mm) / (self.permeability_m2 * self.cross_section_m2)
        return per_m3_s * 1e-3 * _M3_S_PER_UL_MIN / _PA_PER_BAR


@dataclass(slots=True)
class HydraulicModel:
    """Target pressures for the flow paths of the pump.

    Parameters
    ----------
    column
        The column on the pump.
    temperature_c
        Column oven temperature.
    system_bar_at_300
        Pressure of the system without the column (tubing, mixer, injector) at 300 µL/min of
        water at ``temperature_c``.
    purge_bar_at_5000
        Pressure through the open purge valve at 5000 µL/min of water.
    """

    column: ColumnSpec
    temperature_c: float = 40.0
    system_bar_at_300: float = 40.0
    purge_bar_at_5000: float = 4.0

    def _water_cp(self) -> float:
        return viscosity_cp_scalar(0.0, self.temperature_c)

    def column_pressure_bar(
        self,
        flow_ul_min: float | np.ndarray,
        percent_b: float | np.ndarray,
        blockage: float = 1.0,
        leak_fraction: float = 0.0,
    ) -> np.ndarray:
        """Steady-state pressure with the flow going through the column."""
        eta = viscosity_cp(percent_b, self.temperature_c)
        r_sys = self.system_bar_at_300 / (300.0 * self._water_cp())
        r_col = self.column.resistance_bar_per_ul_min_cp() * blockage
        flow = np.asarray(flow_ul_min, dtype=float) * (1.0 - leak_fraction)
        return flow * eta * (r_col + r_sys)

    def column_pressure_scalar(
        self, flow_ul_min: float, percent_b: float, blockage: float, leak_fraction: float
    ) -> float:
        """:meth:`column_pressure_bar` for scalars, without numpy."""
        eta = viscosity_cp_scalar(percent_b, self.temperature_c)
        r_sys = self.system_bar_at_300 / (300.0 * self._water_cp())
        r_col = self.column.resistance_bar_per_ul_min_cp() * blockage
        return flow_ul_min * (1.0 - leak_fraction) * eta * (r_col + r_sys)

    def purge_pressure_bar(self, flow_ul_min: float, percent_b: float) -> float:
        """Steady-state pressure through the open purge valve."""
        eta = float(viscosity_cp(percent_b, self.temperature_c))
        return flow_ul_min * eta * self.purge_bar_at_5000 / (5000.0 * self._water_cp())


def first_order_step(pressure: float, target: float, dt_s: float, tau_s: float) -> float:
    """Advance a first-order lag by ``dt_s`` towards a (held) ``target``."""
    return target + (pressure - target) * math.exp(-dt_s / tau_s)
