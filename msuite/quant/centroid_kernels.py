"""Numba kernels for profile -> centroid conversion.

The peak model follows the high-resolution picker of OpenMS (PeakPickerHiRes): a peak core
is a point higher than both neighbours (with m/z spacing checks); it is extended outwards
while the intensity keeps falling; a natural cubic spline through the extended points gives
the apex (root of the spline's first derivative, in closed form) and the height (spline
maximum); FWHM is interpolated between profile points. Noise is the sliding-window
histogram median of OpenMS's SignalToNoiseEstimatorMedian.

Every kernel is a plain function over arrays (``nogil=True, cache=True``) that fills
preallocated outputs; :mod:`msuite.quant.centroid` validates, allocates and threads them.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "centroid_batch_kernel",
    "count_maxima_kernel",
    "noise_kernel",
    "pick_kernel",
    "spectrum_kernel",
]

_EPS = 2.220446049250313e-16


@numba.njit(nogil=True, cache=True, error_model="numpy")
def noise_kernel(
    mz: np.ndarray,
    intensity: np.ndarray,
    a: int,
    b: int,
    win_len: float,
    bin_count: int,
    min_required: int,
    noise_for_empty: float,
    interpolate: bool,
    hist: np.ndarray,
    out_noise: np.ndarray,
) -> None:
    """Fill ``out_noise[a:b]`` with the median-based noise level of each point.

    The noise of a point is the median intensity of the points within ``win_len / 2`` m/z
    of it, read from a ``bin_count``-bin histogram whose range is mean + 3 SD of the scan.
    Windows with fewer than ``min_required`` points get ``noise_for_empty``. With
    ``interpolate`` the median is interpolated inside its bin (OpenMS >= 3.x); without, it
    is the bin centre (older OpenMS releases).
    ``hist`` is integer scratch space of at least ``bin_count`` elements.
    """
    n = b - a
    if n <= 0:
        return
    mean = 0.0
    for p in range(a, b):
        mean += intensity[p]
    mean /= n
    var = 0.0
    for p in range(a, b):
        d = intensity[p] - mean
        var += d * d
    var /= n
    max_int = mean + math.sqrt(var) * 3.0
    bin_size = max(1.0, max_int / bin_count)
    inv = 1.0 / bin_size
    last = bin_count - 1
    for q in range(bin_count):
        hist[q] = 0
    half = win_len / 2.0
    left = a
    right = a
    count = 0
    mb = 0  # median bin of the current window
    below = 0  # points of the window in bins below mb
    for c in range(a, b):
        lo_mz = mz[c] - half
        while mz[left] < lo_mz:
            q = min(int(intensity[left] * inv), last)
            hist[q] -= 1
            below -= q < mb
            count -= 1
            left += 1
        hi_mz = mz[c] + half
        while right < b and mz[right] <= hi_mz:
            q = min(int(intensity[right] * inv), last)
            hist[q] += 1
            below += q < mb
            count += 1
            right += 1
        if count < min_required:
            out_noise[c] = noise_for_empty
            continue
        # the median bin: the first bin where the cumulative count reaches (count + 1) // 2
        want = (count + 1) // 2
        while mb > 0 and below >= want:
            mb -= 1
            below -= hist[mb]
        while mb < last and below + hist[mb] < want:
            below += hist[mb]
            mb += 1
        frac = 0.5
        if interpolate and hist[mb] > 0:
            frac = (want - below) / hist[mb]
        out_noise[c] = max(1.0, (mb + frac) * bin_size)


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _spline_fit(
    x: np.ndarray,
    y: np.ndarray,
    lo: int,
    m: int,
    j0: int,
    mu: np.ndarray,
    z: np.ndarray,
    c: np.ndarray,
    sb: np.ndarray,
    sd: np.ndarray,
) -> None:
    """Natural cubic spline through ``x[lo:lo+m], y[lo:lo+m]``.

    Solves for every node's curvature (``c``) from the right end down to node ``j0`` and
    fills the linear (``sb``) and cubic (``sd``) coefficients of segments ``j0`` and
    ``j0 + 1`` only: the apex search needs no others.
    """
    n = m - 1
    mu[0] = 0.0
    z[0] = 0.0
    h_prev = x[lo + 1] - x[lo]
    for i in range(1, n):
        p = lo + i
        h_i = x[p + 1] - x[p]
        span = h_prev + h_i
        inv = 1.0 / (2.0 * span - h_prev * mu[i - 1])
        mu[i] = h_i * inv
        alpha = 3.0 * (y[p + 1] * h_prev - y[p] * span + y[p - 1] * h_i) / (h_prev * h_i)
        z[i] = (alpha - h_prev * z[i - 1]) * inv
        h_prev = h_i
    c[n] = 0.0
    for j in range(n - 1, j0 - 1, -1):
        c[j] = z[j] - mu[j] * c[j + 1]
    for j in range(j0, min(j0 + 2, n)):
        h_j = x[lo + j + 1] - x[lo + j]
        sb[j] = (y[lo + j + 1] - y[lo + j]) / h_j - h_j * (c[j + 1] + 2.0 * c[j]) / 3.0
        sd[j] = (c[j + 1] - c[j]) / (3.0 * h_j)


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _spline_eval(
    x: np.ndarray, y: np.ndarray, lo: int, j: int, xv: float,
    c: np.ndarray, sb: np.ndarray, sd: np.ndarray,
) -> float:
    t = xv - x[lo + j]
    return ((sd[j] * t + c[j]) * t + sb[j]) * t + y[lo + j]


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _spline_deriv(
    x: np.ndarray, lo: int, j: int, xv: float, c: np.ndarray, sb: np.ndarray, sd: np.ndarray
) -> float:
    t = xv - x[lo + j]
    return (3.0 * sd[j] * t + 2.0 * c[j]) * t + sb[j]


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _segment_max(
    x0: float, x1: float, j: int, c: np.ndarray, sb: np.ndarray, sd: np.ndarray
) -> float:
    """Position of the spline maximum in segment ``j`` (``[x0, x1]``), clamped to the segment."""
    h = x1 - x0
    qa = 3.0 * sd[j]
    qb = 2.0 * c[j]
    qc = sb[j]
    if qc <= 0.0:
        return x0
    if (qa * h + qb) * h + qc >= 0.0:
        return x1
    disc = qb * qb - 4.0 * qa * qc
    den = -qb + math.sqrt(max(disc, 0.0))
    if den <= 0.0:
        return x1
    return x0 + min(max(2.0 * qc / den, 0.0), h)


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _half_max_left(x: np.ndarray, y: np.ndarray, first: int, p: int, target: float) -> float:
    """Left half-maximum crossing, linearly interpolated between profile points."""
    q = p
    while q > first and y[q] >= target:
        q -= 1
    if y[q] >= target:
        return x[first]
    return x[q] + (target - y[q]) * (x[q + 1] - x[q]) / (y[q + 1] - y[q])


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _half_max_right(x: np.ndarray, y: np.ndarray, last: int, p: int, target: float) -> float:
    """Right half-maximum crossing, linearly interpolated between profile points."""
    q = p
    while q < last and y[q] >= target:
        q += 1
    if y[q] >= target:
        return x[last]
    return x[q] - (target - y[q]) * (x[q] - x[q - 1]) / (y[q - 1] - y[q])


@numba.njit(nogil=True, cache=True, error_model="numpy")
def pick_kernel(
    mz: np.ndarray,
    intensity: np.ndarray,
    noise: np.ndarray,
    a: int,
    b: int,
    use_noise: bool,
    min_snr: float,
    spacing_difference: float,
    spacing_difference_gap: float,
    missing: int,
    check_spacings: bool,
    o: int,
    out_mz: np.ndarray,
    out_height: np.ndarray,
    out_area: np.ndarray,
    out_fwhm: np.ndarray,
    out_snr: np.ndarray,
    out_lo: np.ndarray,
    out_hi: np.ndarray,
    scratch: np.ndarray,
) -> int:
    """Centroid the profile points ``a:b``; write peaks from ``out_*[o]`` on; return their count.

    ``noise`` holds the noise level of each point (read only when ``use_noise``);
    ``spacing_difference``/``spacing_difference_gap`` may be ``inf`` to disable a check.
    ``out_lo``/``out_hi`` receive the first/last profile index (absolute) of each peak.
    ``scratch`` is ``(6, k)`` float64 work space for the spline (grown when a peak has
    ``k`` points or more).
    """
    n = b - a
    if n < 5:
        return 0
    mu = scratch[1]
    z = scratch[2]
    c = scratch[3]
    sb = scratch[4]
    sd = scratch[5]
    count = 0
    i = 2
    while i < n - 2:
        p = a + i
        ci = intensity[p]
        li = intensity[p - 1]
        ri = intensity[p + 1]
        # cheapest test first: most points are not local maxima
        if not (ci > li and ci > ri) or abs(li) < _EPS or abs(ri) < _EPS:
            i += 1
            continue
        cm = mz[p]
        lm = mz[p - 1]
        rm = mz[p + 1]
        l2c = 0.0
        c2r = 0.0
        ms = 0.0
        if check_spacings:
            l2c = cm - lm
            c2r = rm - cm
            ms = min(l2c, c2r)
            if not (l2c < spacing_difference * ms and c2r < spacing_difference * ms):
                i += 1
                continue
        if use_noise and not (
            ci >= min_snr * noise[p]
            and li >= min_snr * noise[p - 1]
            and ri >= min_snr * noise[p + 1]
        ):
            i += 1
            continue
        # a core flanked by higher satellites is an oscillation, not a peak
        if (
            li < intensity[p - 2]
            and ri < intensity[p + 2]
            and (
                not use_noise
                or (
                    intensity[p - 2] >= min_snr * noise[p - 2]
                    and intensity[p + 2] >= min_snr * noise[p + 2]
                )
            )
            and (
                not check_spacings
                or (
                    lm - mz[p - 2] < spacing_difference * ms
                    and mz[p + 2] - rm < spacing_difference * ms
                )
            )
        ):
            i += 2
            continue
        # extend to the left
        first = p - 1
        k = 2
        prev_zero = False
        miss = 0
        while (
            k <= i
            and not prev_zero
            and miss <= missing
            and intensity[p - k] <= intensity[first]
            and (not check_spacings or mz[first] - mz[p - k] < spacing_difference_gap * ms)
        ):
            q = p - k
            if (not use_noise or intensity[q] >= min_snr * noise[q]) and (
                not check_spacings or mz[first] - mz[q] < spacing_difference * ms
            ):
                first = q
            else:
                miss += 1
                if miss <= missing:
                    first = q
            prev_zero = intensity[q] == 0.0
            k += 1
        # extend to the right
        last = p + 1
        k = 2
        prev_zero = False
        miss = 0
        while (
            i + k < n
            and not prev_zero
            and miss <= missing
            and intensity[p + k] <= intensity[last]
            and (not check_spacings or mz[p + k] - mz[last] < spacing_difference_gap * ms)
        ):
            q = p + k
            if (not use_noise or intensity[q] >= min_snr * noise[q]) and (
                not check_spacings or mz[q] - mz[last] < spacing_difference * ms
            ):
                last = q
            else:
                miss += 1
                if miss <= missing:
                    last = q
            prev_zero = intensity[q] == 0.0
            k += 1
        m = last - first + 1
        if m + 1 > mu.size:  # a wider peak than any before: grow the work space
            scratch = np.empty((6, 2 * (m + 1)), dtype=np.float64)
            mu = scratch[1]
            z = scratch[2]
            c = scratch[3]
            sb = scratch[4]
            sd = scratch[5]
        jl = p - 1 - first  # segment ending at the core point
        _spline_fit(mz, intensity, first, m, jl, mu, z, c, sb, sd)
        # apex: root of the spline's first derivative next to the core point
        j = jl + 1 if _spline_deriv(mz, first, jl + 1, cm, c, sb, sd) > 0.0 else jl
        apex = _segment_max(mz[first + j], mz[first + j + 1], j, c, sb, sd)
        height = _spline_eval(mz, intensity, first, j, apex, c, sb, sd)
        half = 0.5 * height
        fl = _half_max_left(mz, intensity, first, p, half)
        fr = _half_max_right(mz, intensity, last, p, half)
        area = 0.0
        for q in range(first, last):
            area += 0.5 * (intensity[q] + intensity[q + 1]) * (mz[q + 1] - mz[q])
        w = o + count
        out_mz[w] = apex
        out_height[w] = height
        out_area[w] = area
        out_fwhm[w] = fr - fl
        out_snr[w] = height / noise[p] if use_noise else math.nan
        out_lo[w] = first
        out_hi[w] = last
        count += 1
        i += k
    return count


@numba.njit(nogil=True, cache=True, error_model="numpy")
def centroid_batch_kernel(
    mz: np.ndarray,
    intensity: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    s_lo: int,
    s_hi: int,
    use_noise: bool,
    min_snr: float,
    win_len: float,
    bin_count: int,
    min_required: int,
    interpolate: bool,
    spacing_difference: float,
    spacing_difference_gap: float,
    missing: int,
    check_spacings: bool,
    noise: np.ndarray,
    out_mz: np.ndarray,
    out_height: np.ndarray,
    out_area: np.ndarray,
    out_fwhm: np.ndarray,
    out_snr: np.ndarray,
    out_lo: np.ndarray,
    out_hi: np.ndarray,
    out_start: int,
    counts: np.ndarray,
) -> int:
    """Centroid spectra ``s_lo:s_hi`` of concatenated arrays; return the number of peaks.

    The peaks of the spectra are written one after another from ``out_*[out_start]`` on
    (room for ``lengths[s] // 2 + 1`` peaks per spectrum is enough: cores are never
    adjacent) and the number of each spectrum's peaks into ``counts[s]``. ``noise`` (same
    length as ``mz``) receives the noise level of each point when ``use_noise``.
    """
    scratch = np.empty((6, 64), dtype=np.float64)  # row 0 unused
    hist = np.zeros(max(bin_count, 1), dtype=np.int64)
    w = out_start
    for s in range(s_lo, s_hi):
        a = starts[s]
        b = a + lengths[s]
        if use_noise:
            noise_kernel(
                mz, intensity, a, b, win_len, bin_count, min_required, 1e20, interpolate, hist,
                noise,
            )
        counts[s] = pick_kernel(
            mz, intensity, noise, a, b, use_noise, min_snr, spacing_difference,
            spacing_difference_gap, missing, check_spacings, w, out_mz, out_height,
            out_area, out_fwhm, out_snr, out_lo, out_hi, scratch,
        )
        w += counts[s]
    return w - out_start


@numba.njit(nogil=True, cache=True, error_model="numpy")
def spectrum_kernel(
    mz: np.ndarray,
    intensity: np.ndarray,
    use_noise: bool,
    min_snr: float,
    win_len: float,
    bin_count: int,
    min_required: int,
    interpolate: bool,
    spacing_difference: float,
    spacing_difference_gap: float,
    missing: int,
    check_spacings: bool,
    noise: np.ndarray,
    out_f: np.ndarray,
    out_i: np.ndarray,
) -> int:
    """Centroid one spectrum; return its number of peaks, or -1 for a non-finite intensity.

    ``out_f`` is ``(5, k)`` (m/z, height, area, FWHM, S/N) and ``out_i`` ``(2, k)`` (first
    and last profile index), ``k`` at least :func:`count_maxima_kernel` of the intensities;
    ``noise`` has at least ``n`` elements when ``use_noise``.
    """
    n = mz.size
    for p in range(n):
        if not math.isfinite(intensity[p]):
            return -1
    scratch = np.empty((6, 64), dtype=np.float64)  # row 0 unused
    if use_noise:
        hist = np.zeros(max(bin_count, 1), dtype=np.int64)
        noise_kernel(
            mz, intensity, 0, n, win_len, bin_count, min_required, 1e20, interpolate, hist,
            noise,
        )
    return pick_kernel(
        mz, intensity, noise, 0, n, use_noise, min_snr, spacing_difference,
        spacing_difference_gap, missing, check_spacings, 0, out_f[0], out_f[1], out_f[2],
        out_f[3], out_f[4], out_i[0], out_i[1], scratch,
    )


@numba.njit(nogil=True, cache=True, error_model="numpy")
def count_maxima_kernel(intensity: np.ndarray) -> int:
    """Number of points higher than both neighbours: a bound on the peaks of a spectrum."""
    count = 0
    for p in range(1, intensity.size - 1):
        if intensity[p] > intensity[p - 1] and intensity[p] > intensity[p + 1]:
            count += 1
    return count
