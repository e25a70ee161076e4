"""Profile -> centroid conversion: validating numpy wrappers around the Numba kernels.

Example
-------
>>> from msuite.quant.centroid import CentroidParams, centroid_spectra    # doctest: +SKIP
>>> peaks = centroid_spectra(profile_spectra, CentroidParams(min_snr=1.0))  # doctest: +SKIP
>>> peaks[0].mz, peaks[0].height, peaks[0].fwhm                            # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from msuite.core.errors import InputError
from msuite.core.model import Spectrum
from msuite.quant.centroid_kernels import (
    F_MIN_SNR,
    F_NOISE_EMPTY,
    F_SPACING,
    F_SPACING_GAP,
    F_WINDOW,
    I_BINS,
    I_CHECK_SPACINGS,
    I_INTERPOLATE,
    I_MIN_POINTS,
    I_MISSING,
    I_USE_NOISE,
    WORK_ROWS_F,
    WORK_ROWS_I,
    centroid_batch_kernel,
    centroid_range_kernel,
)

__all__ = [
    "CentroidParams",
    "Centroids",
    "centroid_arrays",
    "centroid_spectra",
    "default_threads",
]


def default_threads() -> int:
    """Threads to use by default: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class CentroidParams:
    """Parameters of profile centroiding (names and defaults as OpenMS PeakPickerHiRes).

    Attributes
    ----------
    min_snr
        Minimal signal-to-noise ratio of a peak's core and extension points; 0 disables the
        noise estimation (S/N is then reported as NaN).
    spacing_difference
        Largest allowed m/z step during peak extension, in multiples of the smaller spacing
        around the apex; a larger step counts as a missing point. 0 disables the check.
    spacing_difference_gap
        Peak extension stops at an m/z step larger than this multiple. 0 disables the check.
    missing
        Missing points allowed on each side of a peak.
    noise_window
        Width (m/z) of the sliding window of the median noise estimate.
    noise_bins
        Histogram bins of the median noise estimate.
    noise_min_points
        Windows with fewer points have no usable noise estimate (their points get S/N ~ 0).
    noise_interpolate
        Interpolate the median inside its histogram bin (as OpenMS 3.x does); False takes
        the bin centre (as OpenMS releases up to 2024 did, e.g. the stored reference output
        of PeakPickerHiRes).
    """

    min_snr: float = 0.0
    spacing_difference: float = 1.5
    spacing_difference_gap: float = 4.0
    missing: int = 1
    noise_window: float = 200.0
    noise_bins: int = 30
    noise_min_points: int = 10
    noise_interpolate: bool = True

    def validate(self) -> None:
        """Raise :class:`InputError` naming the first bad parameter."""
        for name in ("min_snr", "spacing_difference", "spacing_difference_gap"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise InputError("must be a finite number >= 0", field=name, value=value)
        if self.missing < 0:
            raise InputError("must be >= 0", field="missing", value=self.missing)
        if not (math.isfinite(self.noise_window) and self.noise_window >= 1):
            raise InputError("must be >= 1 (m/z)", field="noise_window", value=self.noise_window)
        if self.noise_bins < 3:
            raise InputError("must be >= 3", field="noise_bins", value=self.noise_bins)
        if self.noise_min_points < 1:
            raise InputError("must be >= 1", field="noise_min_points", value=self.noise_min_points)


@dataclass(slots=True)
class Centroids:
    """Centroided peaks of one spectrum (all arrays of equal length, m/z ascending).

    Attributes
    ----------
    mz
        Apex m/z (maximum of the cubic spline through the peak's profile points).
    height
        Spline maximum.
    area
        Trapezoid area of the peak's profile points (intensity x m/z).
    fwhm
        Full width at half maximum, m/z.
    snr
        Height over the median noise level at the apex; NaN when noise was not estimated.
    first, last
        Index of the peak's first and last profile point in the input spectrum.
    """

    mz: np.ndarray
    height: np.ndarray
    area: np.ndarray
    fwhm: np.ndarray
    snr: np.ndarray
    first: np.ndarray
    last: np.ndarray

    def __len__(self) -> int:
        return int(self.mz.size)


_NOISE_FOR_EMPTY = 1e20  # OpenMS's noise of a window with too few points: S/N ~ 0
_SERIAL_POINTS = 20_000  # below this many points threads cost more than they save
_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pack(params: CentroidParams) -> tuple[np.ndarray, np.ndarray]:
    """The kernels' parameter vectors (see :mod:`msuite.quant.centroid_kernels`)."""
    sd = params.spacing_difference or math.inf
    sdg = params.spacing_difference_gap or math.inf
    fparams = np.empty(5, dtype=np.float64)
    fparams[[F_MIN_SNR, F_WINDOW, F_SPACING, F_SPACING_GAP, F_NOISE_EMPTY]] = (
        params.min_snr,
        params.noise_window,
        sd,
        sdg,
        _NOISE_FOR_EMPTY,
    )
    iparams = np.empty(6, dtype=np.int64)
    iparams[[I_USE_NOISE, I_BINS, I_MIN_POINTS, I_INTERPOLATE, I_MISSING, I_CHECK_SPACINGS]] = (
        params.min_snr > 0,
        params.noise_bins,
        params.noise_min_points,
        params.noise_interpolate,
        params.missing,
        not (math.isinf(sd) and math.isinf(sdg)),
    )
    return fparams, iparams


def _workspace(longest: int, bins: int) -> tuple[np.ndarray, ...]:
    """Work space and output room for spectra of up to ``longest`` points."""
    room = longest // 2 + 1
    return (
        np.empty((WORK_ROWS_F, longest + 1), dtype=np.float64),
        np.empty((WORK_ROWS_I, longest + 1), dtype=np.int64),
        np.zeros(bins, dtype=np.int64),
        np.empty((2, longest + 1), dtype=np.uint8),
        np.empty((5, room), dtype=np.float64),
        np.empty((2, room), dtype=np.int64),
    )


def _pool(workers: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``workers`` threads (created once, reused by every call)."""
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = _POOLS[workers] = ThreadPoolExecutor(workers, "msuite-centroid")
        return pool


def _run_workers(work: Callable[[], None], workers: int) -> None:
    """Run ``work`` in ``workers`` threads (the caller's among them) and wait for all."""
    if workers <= 1:
        work()
        return
    futures = [_pool(workers - 1).submit(work) for _ in range(workers - 1)]
    try:
        work()
    finally:
        errors = [f.exception() for f in futures]
    for err in errors:
        if err is not None:
            raise err


def _check_arrays(mz: np.ndarray, intensity: np.ndarray, starts: np.ndarray, lengths: np.ndarray):
    if mz.ndim != 1 or mz.shape != intensity.shape:
        raise InputError(
            "m/z and intensity must be 1-D arrays of equal length",
            field="intensity",
            value=f"{mz.shape} vs {intensity.shape}",
        )
    if starts.ndim != 1 or starts.shape != lengths.shape:
        raise InputError("starts and lengths must be 1-D arrays of equal length", field="starts")
    if np.any(lengths < 0) or np.any(starts < 0) or np.any(starts + lengths > mz.size):
        raise InputError("spectrum bounds fall outside the arrays", field="starts")


def _chunks(lengths: np.ndarray, n: int) -> list[tuple[int, int]]:
    """Split spectra into at most ``n`` contiguous runs of about equal point counts."""
    total = int(lengths.sum())
    if n <= 1 or lengths.size <= 1 or total == 0:
        return [(0, int(lengths.size))]
    cum = np.cumsum(lengths)
    cuts = np.searchsorted(cum, [total * k / n for k in range(1, n)], side="left") + 1
    bounds = [0, *sorted({int(min(c, lengths.size)) for c in cuts}), int(lengths.size)]
    return [(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]


def _workers(threads: int | None, spectra: int, points: int) -> int:
    if points < _SERIAL_POINTS:
        return 1
    return max(1, min(threads or default_threads(), spectra))


def centroid_arrays(
    mz: np.ndarray,
    intensity: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    params: CentroidParams | None = None,
    *,
    threads: int | None = None,
) -> tuple[Centroids, np.ndarray]:
    """Centroid profile spectra stored one after another in concatenated arrays.

    Parameters
    ----------
    mz, intensity
        Concatenated profile points, m/z ascending within each spectrum.
    starts, lengths
        Where each spectrum starts and how many points it has.
    params
        Picking parameters (defaults: :class:`CentroidParams`).
    threads
        Worker threads (spectra are shared between them); default: all usable CPUs.

    Returns
    -------
    (Centroids, counts)
        The peaks of all spectra one after another (``first``/``last`` index into the
        concatenated input) and the number of peaks of each spectrum.
    """
    params = params or CentroidParams()
    params.validate()
    mz = np.ascontiguousarray(mz, dtype=np.float64)
    intensity = np.ascontiguousarray(intensity, dtype=np.float64)
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    lengths = np.ascontiguousarray(lengths, dtype=np.int64)
    _check_arrays(mz, intensity, starts, lengths)
    fparams, iparams = _pack(params)
    room = lengths // 2 + 1
    base = np.zeros(room.size + 1, dtype=np.int64)
    np.cumsum(room, out=base[1:])
    out_f = np.empty((5, int(base[-1])), dtype=np.float64)
    out_i = np.empty((2, int(base[-1])), dtype=np.int64)
    counts = np.zeros(starts.size, dtype=np.int64)
    workers = _workers(threads, int(lengths.size), int(lengths.sum()))
    spans = _chunks(lengths, 4 * workers if workers > 1 else 1)
    filled: list[int] = [0] * len(spans)
    order = itertools.count()

    def work() -> None:
        while (k := next(order)) < len(spans):
            lo, hi = spans[k]
            filled[k] = centroid_batch_kernel(
                mz,
                intensity,
                starts,
                lengths,
                lo,
                hi,
                fparams,
                iparams,
                out_f,
                out_i,
                int(base[lo]),
                counts,
            )

    _run_workers(work, workers)
    if min(filled, default=0) < 0:
        raise InputError("intensities must be finite", field="intensity")
    cols = np.concatenate(
        [np.arange(base[lo], base[lo] + n) for (lo, _), n in zip(spans, filled, strict=True)]
    )
    f = out_f[:, cols]
    i = out_i[:, cols]
    return Centroids(f[0], f[1], f[2], f[3], f[4], i[0], i[1]), counts


def centroid_spectra(
    spectra: Sequence[Spectrum] | Sequence[tuple[np.ndarray, np.ndarray]],
    params: CentroidParams | None = None,
    *,
    threads: int | None = None,
) -> list[Centroids]:
    """Centroid profile spectra (or ``(mz, intensity)`` pairs); one :class:`Centroids` each.

    The caller decides which spectra are profile data (see :func:`msuite.quant.pick.is_profile`);
    this function centroids whatever it is given. Spectra are shared between ``threads``
    worker threads (default: all usable CPUs; a small batch stays in the calling thread);
    the kernel releases the GIL.
    """
    params = params or CentroidParams()
    params.validate()
    pairs = [(s.mz, s.intensity) if isinstance(s, Spectrum) else s for s in spectra]
    if not pairs:
        return []
    fparams, iparams = _pack(params)
    sizes = [len(p[0]) for p in pairs]
    longest = max(sizes)
    result: list[Centroids | None] = [None] * len(pairs)
    order = itertools.count()
    bins = int(params.noise_bins)

    def work() -> None:
        fwork, iwork, hist, flags, out_f, out_i = _workspace(longest, bins)
        while (k := next(order)) < len(pairs):
            mz = np.ascontiguousarray(pairs[k][0], dtype=np.float64)
            intensity = np.ascontiguousarray(pairs[k][1], dtype=np.float64)
            if mz.ndim != 1 or mz.shape != intensity.shape:
                raise InputError(
                    "m/z and intensity arrays differ in length",
                    field=f"spectra[{k}]",
                    value=f"{mz.shape} vs {intensity.shape}",
                )
            n = centroid_range_kernel(
                mz,
                intensity,
                0,
                mz.size,
                fparams,
                iparams,
                fwork,
                iwork,
                hist,
                flags,
                0,
                out_f,
                out_i,
            )
            if n < 0:
                raise InputError("intensities must be finite", field=f"spectra[{k}]")
            f = out_f[:, :n].copy()
            i = out_i[:, :n].copy()
            result[k] = Centroids(f[0], f[1], f[2], f[3], f[4], i[0], i[1])

    _run_workers(work, _workers(threads, len(pairs), sum(sizes)))
    return result  # type: ignore[return-value]
