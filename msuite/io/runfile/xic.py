"""Extracted-ion chromatograms from centroided scans: a Numba kernel and its numpy wrapper."""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from msuite.core.errors import InputError

__all__ = ["Xic", "extract_xic", "xic_kernel"]


@numba.njit(nogil=True, cache=True)
def xic_kernel(
    mz: np.ndarray,
    intensity: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    scan_rt: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    rt_lo: np.ndarray,
    rt_hi: np.ndarray,
    use_max: bool,
    out: np.ndarray,
) -> None:
    """Fill ``out[t, s]`` with the summed (or maximum) intensity of target ``t`` in scan ``s``.

    Parameters
    ----------
    mz, intensity
        Concatenated arrays of the scans, m/z ascending within each scan.
    starts, lengths
        Where each scan's points start in ``mz`` and how many there are.
    scan_rt
        Retention time of each scan.
    lo, hi
        Inclusive m/z bounds of each target.
    rt_lo, rt_hi
        Retention-time window of each target; outside it ``out`` is left untouched.
    use_max
        Take the maximum instead of the sum.
    out
        ``(n_targets, n_scans)`` output, preallocated by the caller (zeros).
    """
    for s in range(starts.size):
        a = starts[s]
        seg = mz[a : a + lengths[s]]
        rt = scan_rt[s]
        for t in range(lo.size):
            if rt < rt_lo[t] or rt > rt_hi[t]:
                continue
            i = np.searchsorted(seg, lo[t], side="left")
            j = np.searchsorted(seg, hi[t], side="right")
            acc = 0.0
            for k in range(a + i, a + j):
                v = intensity[k]
                if use_max:
                    if v > acc:
                        acc = v
                else:
                    acc += v
            out[t, s] = acc


@dataclass(slots=True)
class Xic:
    """Extracted-ion chromatograms of several targets over the same scans.

    Attributes
    ----------
    rt
        Retention time (seconds) of each scan, shape ``(n_scans,)``.
    scan_index
        Index of each scan in the run.
    intensity
        ``(n_targets, n_scans)``; NaN where a scan lies outside the target's RT window.
    mz
        Target m/z values, shape ``(n_targets,)``.
    """

    rt: np.ndarray
    scan_index: np.ndarray
    intensity: np.ndarray
    mz: np.ndarray


def target_bounds(mz: np.ndarray, ppm: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return inclusive m/z bounds ``mz +- ppm`` for each target, validating the input."""
    targets = np.atleast_1d(np.asarray(mz, dtype=np.float64))
    tol = np.broadcast_to(np.asarray(ppm, dtype=np.float64), targets.shape)
    if targets.ndim != 1 or not np.all(np.isfinite(targets)) or np.any(targets <= 0):
        raise InputError("target m/z must be positive finite numbers", field="mz", value=mz)
    if np.any(tol < 0) or not np.all(np.isfinite(tol)):
        raise InputError("ppm must be a finite number >= 0", field="ppm", value=ppm)
    delta = targets * tol * 1e-6
    return targets - delta, targets + delta


def extract_xic(
    mz: np.ndarray,
    intensity: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    scan_rt: np.ndarray,
    targets: np.ndarray,
    ppm: float | np.ndarray,
    rt_windows: np.ndarray,
    aggregate: str = "sum",
) -> np.ndarray:
    """Validate, allocate and run :func:`xic_kernel`; NaN outside each target's window."""
    if aggregate not in ("sum", "max"):
        raise InputError(
            "unknown aggregate", field="aggregate", value=aggregate, allowed="sum, max"
        )
    lo, hi = target_bounds(targets, ppm)
    rt_lo = np.ascontiguousarray(rt_windows[:, 0], dtype=np.float64)
    rt_hi = np.ascontiguousarray(rt_windows[:, 1], dtype=np.float64)
    out = np.zeros((lo.size, starts.size), dtype=np.float64)
    xic_kernel(
        np.ascontiguousarray(mz, dtype=np.float64),
        np.ascontiguousarray(intensity, dtype=np.float64),
        np.ascontiguousarray(starts, dtype=np.int64),
        np.ascontiguousarray(lengths, dtype=np.int64),
        np.ascontiguousarray(scan_rt, dtype=np.float64),
        lo,
        hi,
        rt_lo,
        rt_hi,
        aggregate == "max",
        out,
    )
    outside = (scan_rt[None, :] < rt_lo[:, None]) | (scan_rt[None, :] > rt_hi[:, None])
    out[outside] = np.nan
    return out
