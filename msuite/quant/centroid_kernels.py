"""Numba kernels for profile -> centroid conversion.

The peak model follows the high-resolution picker of OpenMS (PeakPickerHiRes): a peak core
is a point higher than both neighbours (with m/z spacing checks); it is extended outwards
while the intensity keeps falling; a natural cubic spline through the extended points gives
the apex and the height (:mod:`.centroid_spline`); FWHM is interpolated between profile
points. Noise is the sliding-window histogram median of OpenMS's
SignalToNoiseEstimatorMedian (:mod:`.centroid_noise`), the same point by point.

Work per spectrum: the noise bin size (two vectorised passes), low-bin prefix counts, noise
bounds per block of ``2**NOISE_SHIFT`` points and from them an S/N flag per point (exact
noise only for the few points near the threshold); then one branch-free scan collects the
candidate cores and only those are examined, extended and fitted.

Parameters travel packed (by :mod:`msuite.quant.centroid`): ``fparams`` (float64) and
``iparams`` (int64), indexed by the ``F_*`` and ``I_*`` constants. Work space travels as
``fwork`` (float64, ``(WORK_ROWS_F, longest + 1)``), ``iwork`` (int64,
``(WORK_ROWS_I, longest + 1)``) and ``flags`` (uint8, ``(2, longest + 1)``) so that one
allocation serves every spectrum of a thread.

Every kernel is a plain function over arrays (``nogil=True, cache=True``) that fills
preallocated outputs; :mod:`msuite.quant.centroid` validates, allocates and threads them.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from msuite.quant.centroid_noise import (
    low_bin_prefix,
    median_noise_sliding,
    noise_bin_size,
    noise_bounds,
    point_noise,
    resolve_flag,
    snr_flags,
    snr_flags_exact,
)
from msuite.quant.centroid_spline import half_max_left, half_max_right, spline_apex

__all__ = [
    "F_MIN_SNR",
    "F_NOISE_EMPTY",
    "F_SPACING",
    "F_SPACING_GAP",
    "F_WINDOW",
    "I_BINS",
    "I_CHECK_SPACINGS",
    "I_INTERPOLATE",
    "I_MIN_POINTS",
    "I_MISSING",
    "I_USE_NOISE",
    "WORK_ROWS_F",
    "WORK_ROWS_I",
    "centroid_batch_kernel",
    "centroid_range_kernel",
    "NOISE_SHIFT",
    "pick_kernel",
]

_EPS = 2.220446049250313e-16

F_MIN_SNR, F_WINDOW, F_SPACING, F_SPACING_GAP, F_NOISE_EMPTY = range(5)
I_USE_NOISE, I_BINS, I_MIN_POINTS, I_INTERPOLATE, I_MISSING, I_CHECK_SPACINGS = range(6)
WORK_ROWS_F = 2  # noise lower and upper bounds (or the noise itself)
WORK_ROWS_I = 4  # candidate cores, noise prefix counts, window starts and ends
NOISE_SHIFT = 4  # blocks of 16 points share noise bounds


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _passes(passes: np.ndarray, q: int, mz: np.ndarray, intensity: np.ndarray, ns: tuple) -> bool:
    """S/N flag of point ``q``; an undecided one (2) is resolved exactly, once."""
    v = passes[q]
    if v < 2:
        return v == 1
    return resolve_flag(
        mz,
        intensity,
        q,
        ns[0],
        ns[1],
        ns[2],
        ns[3],
        ns[4],
        ns[5],
        ns[6],
        ns[7],
        ns[8],
        ns[9],
        passes,
    )


@numba.njit(nogil=True, cache=True, error_model="numpy")
def pick_kernel(
    mz: np.ndarray,
    intensity: np.ndarray,
    passes: np.ndarray,
    use_noise: bool,
    ns: tuple,
    mask: np.ndarray,
    fparams: np.ndarray,
    iparams: np.ndarray,
    cand: np.ndarray,
    o: int,
    out_f: np.ndarray,
    out_i: np.ndarray,
) -> int:
    """Centroid one profile spectrum; write peaks from column ``o`` on; return their count.

    ``passes[q]`` tells whether point ``q`` passes the S/N threshold (read only when
    ``use_noise``): 1 yes, 0 no, 2 to be resolved (once) by
    :func:`~msuite.quant.centroid_noise.resolve_flag` with the arguments ``ns``. ``mask``
    (uint8) and ``cand`` (integer) are work space of at least ``n`` elements; on return
    ``cand[:count]`` holds the core index of each peak. ``out_f`` rows 0-3 receive m/z,
    height, area and FWHM (row 4, S/N, is NaN) and ``out_i`` rows the first and last
    profile index of each peak.
    """
    n = mz.size
    if n < 5:
        return 0
    check_spacings = iparams[I_CHECK_SPACINGS] != 0
    missing = iparams[I_MISSING]
    spacing = fparams[F_SPACING]
    spacing_gap = fparams[F_SPACING_GAP]
    # candidate cores: higher than both neighbours, neighbours not zero, core not known to
    # fail S/N; a vectorised mask over views indexed from 0, then a branch-free compaction
    centre = intensity[2 : n - 2]
    left = intensity[1 : n - 3]
    right = intensity[3 : n - 1]
    core = mask[2 : n - 2]
    if use_noise:
        core_snr = passes[2 : n - 2]
        for k in range(n - 4):
            ci = centre[k]
            li = left[k]
            ri = right[k]
            core[k] = (
                (ci > li) & (ci > ri) & (abs(li) >= _EPS) & (abs(ri) >= _EPS) & (core_snr[k] != 0)
            )
    else:
        for k in range(n - 4):
            ci = centre[k]
            li = left[k]
            ri = right[k]
            core[k] = (ci > li) & (ci > ri) & (abs(li) >= _EPS) & (abs(ri) >= _EPS)
    n_cand = 0
    for k in range(n - 4):
        cand[n_cand] = k + 2
        n_cand += core[k]
    count = 0
    resume = 2  # the first index not yet consumed by a peak or an oscillation
    for t in range(n_cand):
        p = cand[t]
        if p < resume:
            continue
        if use_noise and not (
            _passes(passes, p, mz, intensity, ns)
            and _passes(passes, p - 1, mz, intensity, ns)
            and _passes(passes, p + 1, mz, intensity, ns)
        ):
            continue
        li = intensity[p - 1]
        ri = intensity[p + 1]
        cm = mz[p]
        lm = mz[p - 1]
        rm = mz[p + 1]
        ms = 0.0
        if check_spacings:
            l2c = cm - lm
            c2r = rm - cm
            ms = min(l2c, c2r)
            if not (l2c < spacing * ms and c2r < spacing * ms):
                continue
        # a core flanked by higher satellites is an oscillation, not a peak
        if (
            li < intensity[p - 2]
            and ri < intensity[p + 2]
            and (
                not use_noise
                or (
                    _passes(passes, p - 2, mz, intensity, ns)
                    and _passes(passes, p + 2, mz, intensity, ns)
                )
            )
            and (
                not check_spacings
                or (lm - mz[p - 2] < spacing * ms and mz[p + 2] - rm < spacing * ms)
            )
        ):
            resume = p + 2
            continue
        # extend to the left (the area, trapezoids of the peak's points, grows on the way)
        ci = intensity[p]
        area = 0.5 * ((li + ci) * (cm - lm) + (ci + ri) * (rm - cm))
        first = p - 1
        q = p - 2
        prev_zero = False
        miss = 0
        while (
            q >= 0
            and not prev_zero
            and miss <= missing
            and intensity[q] <= intensity[first]
            and (not check_spacings or mz[first] - mz[q] < spacing_gap * ms)
        ):
            if (not use_noise or _passes(passes, q, mz, intensity, ns)) and (
                not check_spacings or mz[first] - mz[q] < spacing * ms
            ):
                ok = True
            else:
                miss += 1
                ok = miss <= missing
            if ok:  # the peak takes q: its trapezoid joins the area
                area += 0.5 * (intensity[q] + intensity[first]) * (mz[first] - mz[q])
                first = q
            prev_zero = intensity[q] == 0.0
            q -= 1
        # extend to the right
        last = p + 1
        q = p + 2
        prev_zero = False
        miss = 0
        while (
            q < n
            and not prev_zero
            and miss <= missing
            and intensity[q] <= intensity[last]
            and (not check_spacings or mz[q] - mz[last] < spacing_gap * ms)
        ):
            if (not use_noise or _passes(passes, q, mz, intensity, ns)) and (
                not check_spacings or mz[q] - mz[last] < spacing * ms
            ):
                ok = True
            else:
                miss += 1
                ok = miss <= missing
            if ok:
                area += 0.5 * (intensity[last] + intensity[q]) * (mz[q] - mz[last])
                last = q
            prev_zero = intensity[q] == 0.0
            q += 1
        resume = q  # OpenMS goes on after the last point its right extension looked at
        apex, height = spline_apex(mz, intensity, first, last, p)
        half = 0.5 * height
        fl = half_max_left(mz, intensity, first, p, half)
        fr = half_max_right(mz, intensity, last, p, half)
        w = o + count
        out_f[0, w] = apex
        out_f[1, w] = height
        out_f[2, w] = area
        out_f[3, w] = fr - fl
        out_f[4, w] = math.nan
        out_i[0, w] = first
        out_i[1, w] = last
        cand[count] = p  # count <= t: entries before t are consumed
        count += 1
    return count


@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc"})
def _all_finite(intensity: np.ndarray) -> bool:
    total = 0.0
    for p in range(intensity.size):  # x * 0 is NaN for an infinite or NaN x
        total += intensity[p] * 0.0
    return total == 0.0


@numba.njit(nogil=True, cache=True, error_model="numpy")
def centroid_range_kernel(
    mz: np.ndarray,
    intensity: np.ndarray,
    a: int,
    b: int,
    fparams: np.ndarray,
    iparams: np.ndarray,
    fwork: np.ndarray,
    iwork: np.ndarray,
    hist: np.ndarray,
    flags: np.ndarray,
    o: int,
    out_f: np.ndarray,
    out_i: np.ndarray,
) -> int:
    """Noise estimate and peak picking of the profile points ``a:b`` (one spectrum).

    Writes the peaks from column ``o`` of ``out_f``/``out_i`` on (room for
    ``(b - a) // 2 + 1`` peaks is enough: cores are never adjacent) and returns their
    number, or -1 when an intensity is not finite; the peaks' first/last indices count
    from ``a``. ``fwork``/``iwork`` have at least ``b - a + 1`` columns and ``hist`` at
    least ``iparams[I_BINS]`` elements, ``flags`` (uint8) two rows of at least ``b - a``.
    """
    mz = mz[a:b]
    intensity = intensity[a:b]
    n = b - a
    use_noise = iparams[I_USE_NOISE] != 0 and n > 0
    prefix = iwork[1]
    win_lo = iwork[2]
    win_hi = iwork[3]
    if not use_noise:
        if not _all_finite(intensity):
            return -1
        ns = (1.0, 1.0, 1.0, 1, 1.0, False, prefix, NOISE_SHIFT, win_lo, win_hi)
        return pick_kernel(
            mz,
            intensity,
            flags[0],
            False,
            ns,
            flags[1],
            fparams,
            iparams,
            iwork[0],
            o,
            out_f,
            out_i,
        )
    bins = iparams[I_BINS]
    bin_size = noise_bin_size(intensity, bins)
    if math.isnan(bin_size):
        return -1
    min_snr = fparams[F_MIN_SNR]
    win_len = fparams[F_WINDOW]
    min_points = iparams[I_MIN_POINTS]
    empty = fparams[F_NOISE_EMPTY]
    interpolate = iparams[I_INTERPOLATE] != 0
    bounded = low_bin_prefix(intensity, bin_size, bins, prefix) and noise_bounds(
        mz,
        bin_size,
        win_len,
        min_points,
        empty,
        interpolate,
        prefix,
        NOISE_SHIFT,
        win_lo,
        win_hi,
        fwork[0],
        fwork[1],
    )
    if bounded:
        snr_flags(
            mz,
            intensity,
            min_snr,
            bin_size,
            win_len,
            min_points,
            empty,
            interpolate,
            prefix,
            NOISE_SHIFT,
            win_lo,
            win_hi,
            fwork[0],
            fwork[1],
            flags[0],
        )
    else:  # a median above the lowest bins: the exact noise of every point
        median_noise_sliding(
            mz,
            intensity,
            bin_size,
            bins,
            win_len,
            min_points,
            empty,
            interpolate,
            hist,
            fwork[0],
        )
        snr_flags_exact(intensity, fwork[0], min_snr, flags[0])
    ns = (
        min_snr,
        bin_size,
        win_len,
        min_points,
        empty,
        interpolate,
        prefix,
        NOISE_SHIFT,
        win_lo,
        win_hi,
    )
    count = pick_kernel(
        mz, intensity, flags[0], True, ns, flags[1], fparams, iparams, iwork[0], o, out_f, out_i
    )
    for k in range(count):  # S/N of each peak: height over the noise at its core
        p = iwork[0, k]
        if bounded:
            noise = point_noise(
                mz,
                p,
                bin_size,
                win_len,
                min_points,
                empty,
                interpolate,
                prefix,
                NOISE_SHIFT,
                win_lo,
                win_hi,
            )
        else:
            noise = fwork[0, p]
        out_f[4, o + k] = out_f[1, o + k] / noise
    return count


@numba.njit(nogil=True, cache=True, error_model="numpy")
def centroid_batch_kernel(
    mz: np.ndarray,
    intensity: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    s_lo: int,
    s_hi: int,
    fparams: np.ndarray,
    iparams: np.ndarray,
    out_f: np.ndarray,
    out_i: np.ndarray,
    out_start: int,
    counts: np.ndarray,
) -> int:
    """Centroid spectra ``s_lo:s_hi`` of concatenated arrays; return the number of peaks.

    The peaks of the spectra are written one after another from column ``out_start`` on
    (room for ``lengths[s] // 2 + 1`` peaks per spectrum is enough) and the number of each
    spectrum's peaks into ``counts[s]``; ``out_i`` holds indices into the concatenated
    arrays. Returns -1 when an intensity is not finite.
    """
    longest = 0
    for s in range(s_lo, s_hi):
        longest = max(longest, lengths[s])
    fwork = np.empty((WORK_ROWS_F, longest + 1), dtype=np.float64)
    iwork = np.empty((WORK_ROWS_I, longest + 1), dtype=np.int64)
    hist = np.zeros(max(iparams[I_BINS], 1), dtype=np.int64)
    flags = np.empty((2, longest + 1), dtype=np.uint8)
    w = out_start
    for s in range(s_lo, s_hi):
        a = starts[s]
        k = centroid_range_kernel(
            mz,
            intensity,
            a,
            a + lengths[s],
            fparams,
            iparams,
            fwork,
            iwork,
            hist,
            flags,
            w,
            out_f,
            out_i,
        )
        if k < 0:
            return -1
        for r in range(w, w + k):
            out_i[0, r] += a
            out_i[1, r] += a
        counts[s] = k
        w += k
    return w - out_start
