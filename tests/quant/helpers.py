"""Shared helpers of the quant tests: reference files, nearest-peak matching, simulated runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from msuite.core.model import Spectrum
from msuite.drivers.ms import MassSpectrometer
from msuite.hardware_sim.ms_instrument import SimulatedMassSpec
from msuite.hardware_sim.server import MassSpecServer
from msuite.io.mzml_reader import MzMLReader
from msuite.quant.results import format_cell

PROFILE_DIR = Path("OpenMS") / "profile_peakpicking"
SRM_DIR = Path("OpenMS") / "srm_mrm"


def read_spectra(path: Path) -> list[Spectrum]:
    """All spectra of an mzML file."""
    return list(MzMLReader(path).spectra())


def match_peaks(
    ref_mz: np.ndarray,
    ref_height: np.ndarray,
    mz: np.ndarray,
    height: np.ndarray,
    ppm: float = 2.0,
    rel_height: float = 0.01,
) -> np.ndarray:
    """For each reference peak: True when our nearest peak is within ``ppm`` and ``rel_height``."""
    if mz.size == 0:
        return np.zeros(ref_mz.size, dtype=bool)
    j = np.searchsorted(mz, ref_mz).clip(1, max(mz.size - 1, 1))
    left = (j - 1).clip(0)
    nearest = np.where(np.abs(mz[left] - ref_mz) <= np.abs(mz[j] - ref_mz), left, j)
    ppm_err = np.abs(mz[nearest] - ref_mz) / ref_mz * 1e6
    h_err = np.abs(height[nearest] - ref_height) / ref_height
    return (ppm_err <= ppm) & (h_err <= rel_height)


def simulate(
    preset: str,
    sample: list,
    setup: Callable[[MassSpectrometer], None],
    *,
    seed: int,
    duration_s: float,
    speed: float = 1000.0,
) -> list:
    """Acquire one run from a simulated instrument over loopback TCP; return its records.

    ``setup`` configures the connected driver (tables, scan mode) before the run starts.
    """
    with (
        MassSpecServer(SimulatedMassSpec(preset, speed=speed, seed=seed, sample=sample)) as server,
        MassSpectrometer(server.resource, timeout_s=5.0) as ms,
    ):
        ms.source_on()
        setup(ms)
        ms.set_duration(duration_s)
        stream = ms.stream()
        ms.start()
        return list(stream)


def cells(rows: Iterable[dict]) -> list[dict[str, str]]:
    """Result rows as their CSV cells, so that NaN compares equal to NaN."""
    return [{k: format_cell(v) for k, v in row.items()} for row in rows]
