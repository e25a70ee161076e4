"""Deterministic synthetic spectra for run-file tests (scan i is the same in every process)."""

from __future__ import annotations

import numpy as np

from msuite.core.model import Polarity, Precursor, ScanHeader, Spectrum


def synthetic_spectrum(i: int, n_points: int = 300) -> Spectrum:
    """Return scan ``i``: MS1 every fourth scan, MS2 (with a precursor) otherwise."""
    rng = np.random.default_rng(i)
    mz = np.sort(rng.uniform(100.0, 2000.0, n_points))
    intensity = rng.exponential(1e4, n_points)
    level = 1 if i % 4 == 0 else 2
    precursors = ()
    if level == 2:
        precursors = (
            Precursor(
                mz=400.0 + i * 0.01,
                charge=2 + i % 2,
                intensity=1e5,
                isolation_target=400.0 + i * 0.01,
                isolation_lower=0.8,
                isolation_upper=0.8,
                collision_energy=27.0,
                activation="MS:1000422",
                spectrum_ref=f"scan={i - i % 4}",
            ),
        )
    header = ScanHeader(
        index=i,
        native_id=f"scan={i}",
        ms_level=level,
        rt=0.25 * i,
        centroid=True,
        polarity=Polarity.POSITIVE if i % 2 == 0 else Polarity.NEGATIVE,
        precursors=precursors,
        scan_window=(100.0, 2000.0),
        injection_time=10.0 + i % 7,
        sequence=1000 + i,
        filter_string=f"FTMS + c NSI {'Full ms' if level == 1 else 'd Full ms2'}",
    )
    return Spectrum(header, mz, intensity)
