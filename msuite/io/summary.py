"""One summary for any readable file: counts, MS levels, RT and m/z ranges, checksum state."""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

from msuite.core.errors import InputError
from msuite.core.model import Chromatogram, Spectrum
from msuite.io.convert import open_source
from msuite.io.formats import RUN, detect_format
from msuite.io.runfile import RunFile

__all__ = ["summarize", "format_summary"]


def summarize(path: str | os.PathLike[str], *, verify: bool = True) -> dict[str, Any]:
    """Summarise a run file, mzML or mzMLb.

    For run files the content checksum is recomputed (unless ``verify`` is False) and
    compared with the one recorded at close: ``checksum`` is ``ok``, ``MISMATCH``,
    ``absent`` (the writer never closed the file) or ``not verified``.
    """
    p = Path(path)
    fmt = detect_format(p)
    if not p.is_file():
        raise InputError("no such file", path=str(p))
    if fmt == RUN:
        with RunFile(p) as run:
            out = {"file": str(p), "format": "msuite run file", **run.summary()}
            attrs = run.attributes()
            out["schema_version"] = attrs.get("schema_version")
            out["created_utc"] = attrs.get("created_utc", "")
            out["closed_utc"] = attrs.get("closed_utc", "")
            out["instrument"] = run.metadata().instrument.get("model", "")
            if verify:
                status = run.verify_checksum()
                out["checksum"] = {"ok": "ok", "mismatch": "MISMATCH"}.get(
                    status.state, "absent (file not closed: writer still running or killed)"
                )
                out["sha256"] = status.recorded or status.computed
            else:
                out["checksum"] = "not verified"
        return out
    return _stream_summary(p, fmt)


def _stream_summary(p: Path, fmt: str) -> dict[str, Any]:
    source = open_source(p)
    meta = source.read_metadata()
    levels: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    n_spec = n_chrom = points = centroid = profile = 0
    rt_lo = mz_lo = math.inf
    rt_hi = mz_hi = -math.inf
    for item in source:
        if isinstance(item, Spectrum):
            n_spec += 1
            levels[item.ms_level] += 1
            points += len(item)
            centroid += item.header.centroid is True
            profile += item.header.centroid is False
            rt_lo, rt_hi = min(rt_lo, item.rt), max(rt_hi, item.rt)
            if len(item):
                mz_lo, mz_hi = min(mz_lo, float(item.mz.min())), max(mz_hi, float(item.mz.max()))
        elif isinstance(item, Chromatogram):
            n_chrom += 1
            kinds[item.kind.name] += 1
    return {
        "file": str(p),
        "format": fmt,
        "spectra": n_spec,
        "points": points,
        "ms_levels": dict(sorted(levels.items())),
        "centroid": centroid,
        "profile": profile,
        "rt_range": (rt_lo, rt_hi) if n_spec else None,
        "mz_range": (mz_lo, mz_hi) if mz_lo <= mz_hi else None,
        "chromatograms": n_chrom,
        "chromatogram_kinds": dict(sorted(kinds.items())),
        "instrument": meta.instrument.get("model", ""),
        "checksum": "not recorded (only run files carry a content checksum)",
    }


def format_summary(summary: dict[str, Any]) -> str:
    """Render a summary as ``key: value`` lines (RT in seconds and minutes)."""
    lines = []
    for key, value in summary.items():
        if key == "rt_range" and value is not None:
            lo, hi = value
            value = f"{lo:.3f} - {hi:.3f} s ({lo / 60:.3f} - {hi / 60:.3f} min)"
        elif key == "mz_range" and value is not None:
            value = f"{value[0]:.4f} - {value[1]:.4f}"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
        lines.append(f"{key}: {value}")
    return "\n".join(lines)
