"""The core data model validates array shapes and converts to float64."""

from __future__ import annotations

import numpy as np
import pytest

from msuite.core.model import (
    Chromatogram,
    ChromatogramKind,
    RunMetadata,
    ScanHeader,
    Spectrum,
)


def test_spectrum_arrays_become_float64_and_must_match() -> None:
    s = Spectrum(ScanHeader(0, "s0", 1, 1.5), np.array([1, 2], dtype=np.float32), [3, 4])
    assert s.mz.dtype == np.float64 and s.intensity.dtype == np.float64
    assert (len(s), s.ms_level, s.rt, s.native_id) == (2, 1, 1.5, "s0")
    with pytest.raises(ValueError, match="differ in length"):
        Spectrum(ScanHeader(0, "s0", 1, 1.5), [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="1-D"):
        Spectrum(ScanHeader(0, "s0", 1, 1.5), [[1.0]], [[1.0]])


def test_chromatogram_checks_lengths() -> None:
    c = Chromatogram("TIC", ChromatogramKind.TIC, [0, 1, 2], [5, 6, 7])
    assert len(c) == 3
    with pytest.raises(ValueError, match="differ in length"):
        Chromatogram("TIC", ChromatogramKind.TIC, [0, 1], [5])


def test_metadata_round_trips_through_dict_and_ignores_unknown_keys() -> None:
    meta = RunMetadata(run_id="r", instrument={"model": "QTRAP 5500"}, sample={"well": "A1"})
    data = meta.to_dict()
    data["future_field"] = 1
    assert RunMetadata.from_dict(data) == meta
