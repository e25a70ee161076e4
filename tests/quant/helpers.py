"""Shared helpers of the quant tests: reference files and nearest-peak matching."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from msuite.core.model import Spectrum
from msuite.io.mzml_reader import MzMLReader

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
