"""Deterministic synthetic spectra and chromatograms for run-file tests (same in every process)."""

from __future__ import annotations

import numpy as np

from msuite.core.model import (
    Chromatogram,
    ChromatogramKind,
    Polarity,
    Precursor,
    ScanHeader,
    Spectrum,
)


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


def synthetic_chromatogram(i: int, n_points: int | None = None) -> Chromatogram:
    """Return SRM chromatogram ``i`` (20-60 points unless ``n_points`` is given)."""
    rng = np.random.default_rng(10_000 + i)
    n = int(rng.integers(20, 61)) if n_points is None else n_points
    time = np.sort(rng.uniform(0.0, 3600.0, n))
    intensity = rng.poisson(50.0, n).astype(np.float64)
    return Chromatogram(
        native_id=f"SRM SIC Q1={400.0 + i * 0.01:.4f} Q3={300.0 + i % 97:.4f} id={i}",
        kind=ChromatogramKind.SRM,
        time=time,
        intensity=intensity,
        precursor_mz=400.0 + i * 0.01,
        product_mz=300.0 + i % 97,
        polarity=Polarity.POSITIVE if i % 3 else Polarity.NEGATIVE,
        collision_energy=20.0 + i % 11,
    )
