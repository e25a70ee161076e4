"""Numba kernels of the median noise level used by profile centroiding.

The noise model is OpenMS's SignalToNoiseEstimatorMedian: the noise of a point is the median
intensity of the points within ``win_len / 2`` m/z of it (its window), read from a
``bin_count``-bin histogram whose range is mean + 3 SD of the scan (bin size at least 1).
Windows with fewer than ``min_required`` points get ``noise_for_empty``. With
``interpolate`` the median is interpolated inside its bin (OpenMS >= 3.x); without, it is
the bin centre (older OpenMS). A point passes an S/N threshold ``t`` when
``intensity >= t * noise``.

The kernels give the same noise as OpenMS, point by point, in three ways:

- :func:`median_noise_sliding` slides a full histogram over the scan (any median bin); the
  reference, and the fallback of the others.
- :func:`median_noise_fast` reads each window's low-bin counts from prefix counts (no
  histogram to update as the window slides) and evaluates the median once per run of
  centres that share a window; for medians in the lowest :data:`FAST_BINS` bins.
- :func:`noise_bounds` + :func:`snr_flags` + :func:`point_noise` (what the picker uses):
  windows are located exactly only every ``2**shift`` points; between two such points every
  window lies between theirs, which bounds the noise of the block from below and above. A
  point well above or below the S/N threshold is decided by its block's bounds; only points
  near it (and peak cores, whose S/N is reported) get their window located and their noise
  computed exactly.

Every kernel is a plain function over the arrays of one scan (``nogil=True, cache=True``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "FAST_BINS",
    "MAX_FAST_POINTS",
    "low_bin_prefix",
    "median_noise_fast",
    "median_noise_sliding",
    "noise_bin_size",
    "noise_bounds",
    "point_noise",
    "resolve_flag",
    "snr_flags",
    "snr_flags_exact",
]

FAST_BINS = 3
"""Median bins (counted from the lowest) that the prefix-count kernels resolve."""
_FIELD = 21
_MASK = (1 << _FIELD) - 1
MAX_FAST_POINTS = _MASK
"""Longest scan the prefix-count kernels handle (their counts are packed 21 bits each)."""
_PAD = 1e-12  # relative margin of the noise bounds over rounding differences


@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc"})
def noise_bin_size(intensity: np.ndarray, bin_count: int) -> float:
    """Histogram bin size of a scan: ``max(1, (mean + 3 SD) / bin_count)``.

    The sums may be reordered (vectorised); that moves the bin size by ~1e-14 relative at
    most. Returns NaN when an intensity is not finite (the caller refuses the scan).
    """
    n = intensity.size
    total = 0.0
    for p in range(n):
        total += intensity[p]
    mean = total / n
    squares = 0.0
    for p in range(n):
        d = intensity[p] - mean
        squares += d * d
    var = squares / n
    if not math.isfinite(var):
        return math.nan
    return max(1.0, (mean + math.sqrt(var) * 3.0) / bin_count)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _bin_limit(bin_size: float, edge: float) -> float:
    """The least x with ``x / bin_size >= edge`` in floating point (an exact bin boundary)."""
    x = edge * bin_size
    while x / bin_size >= edge:
        x = np.nextafter(x, -math.inf)
    while x / bin_size < edge:
        x = np.nextafter(x, math.inf)
    return x


@numba.njit(nogil=True, cache=True, error_model="numpy")
def low_bin_prefix(
    intensity: np.ndarray, bin_size: float, bin_count: int, prefix: np.ndarray
) -> bool:
    """Fill ``prefix[0:n+1]`` with packed counts of the points before each index in bins
    ``<= 0``, ``<= 1`` and ``<= 2`` (21 bits each); False when the scan is too long."""
    n = intensity.size
    if n > MAX_FAST_POINTS:
        return False
    # bin(x) <= k  <=>  x / bin_size < k + 1 (bins are clamped to 0..last)  <=>  x < lim_k
    last = bin_count - 1
    lim0 = _bin_limit(bin_size, 1.0) if last > 0 else math.inf
    lim1 = _bin_limit(bin_size, 2.0) if last > 1 else math.inf
    lim2 = _bin_limit(bin_size, 3.0) if last > 2 else math.inf
    prefix[0] = 0
    for k in range(n):  # each point's packed increments (vectorises) ...
        x = intensity[k]
        prefix[k + 1] = (
            np.int64(x < lim0)
            + (np.int64(x < lim1) << _FIELD)
            + (np.int64(x < lim2) << (2 * _FIELD))
        )
    for k in range(n):  # ... then their running sum
        prefix[k + 1] += prefix[k]
    return True


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _level(c0: int, c1: int, c2: int, want: int, interpolate: bool) -> float:
    """Median position in bin units from cumulative low-bin counts; -1 when above bin 2."""
    if c0 >= want:
        mb = 0
        below = 0
        inside = c0
    elif c1 >= want:
        mb = 1
        below = c0
        inside = c1 - c0
    elif c2 >= want:
        mb = 2
        below = c1
        inside = c2 - c1
    else:
        return -1.0
    return mb + ((want - below) / inside if interpolate else 0.5)


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _window_noise(
    prefix: np.ndarray,
    left: int,
    right: int,
    bin_size: float,
    min_required: int,
    noise_for_empty: float,
    interpolate: bool,
) -> float:
    """Noise of the window ``left:right``; -1 when its median lies above bin 2."""
    count = right - left
    if count < min_required:
        return noise_for_empty
    d = prefix[right] - prefix[left]
    lev = _level(d & _MASK, (d >> _FIELD) & _MASK, d >> (2 * _FIELD), (count + 1) // 2, interpolate)
    if lev < 0.0:
        return -1.0
    return max(1.0, lev * bin_size)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def median_noise_fast(
    mz: np.ndarray,
    bin_size: float,
    win_len: float,
    min_required: int,
    noise_for_empty: float,
    interpolate: bool,
    prefix: np.ndarray,
    out_noise: np.ndarray,
) -> bool:
    """Fill ``out_noise[0:n]`` with the noise of every point, from :func:`low_bin_prefix`.

    Returns False (``out_noise`` partly filled) when a window's median lies above the
    lowest :data:`FAST_BINS` bins; :func:`median_noise_sliding` then gives the noise.
    """
    n = mz.size
    half = win_len / 2.0
    left = 0
    right = 0
    c = 0
    while c < n:
        # the window of centre c ...
        lo_mz = mz[c] - half
        while mz[left] < lo_mz:
            left += 1
        hi_mz = mz[c] + half
        while right < n and mz[right] <= hi_mz:
            right += 1
        noise = _window_noise(
            prefix, left, right, bin_size, min_required, noise_for_empty, interpolate
        )
        if noise < 0.0:
            return False
        out_noise[c] = noise
        c += 1
        # ... is the window of the following centres until a point enters or leaves it
        edge_left = mz[left]
        edge_right = mz[right] if right < n else math.inf
        while c < n and not (edge_left < mz[c] - half) and not (edge_right <= mz[c] + half):
            out_noise[c] = noise
            c += 1
    return True


@numba.njit(nogil=True, cache=True, error_model="numpy")
def noise_bounds(
    mz: np.ndarray,
    bin_size: float,
    win_len: float,
    min_required: int,
    noise_for_empty: float,
    interpolate: bool,
    prefix: np.ndarray,
    shift: int,
    win_lo: np.ndarray,
    win_hi: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> bool:
    """Noise bounds of the blocks of ``2**shift`` points, for :func:`point_noise`.

    Block ``k`` holds the points ``k << shift`` up to the next block. ``win_lo[k]`` and
    ``win_hi[k]`` receive the window (first point, end) of point ``min(k << shift, n - 1)``
    and ``lower[k]``/``upper[k]`` bounds of the noise of every point of block ``k`` (0 and
    inf when the block needs exact values). Each array needs ``(n - 1 >> shift) + 2``
    elements. Returns False when a median may lie above the lowest :data:`FAST_BINS` bins:
    :func:`median_noise_sliding` must then give the noise.
    """
    n = mz.size
    half = win_len / 2.0
    blocks = ((n - 1) >> shift) + 1
    left = 0
    right = 0
    for k in range(blocks + 1):
        c = min(k << shift, n - 1)
        lo_mz = mz[c] - half
        while left + 4 <= c and mz[left + 3] < lo_mz:  # strides of 4, then single steps
            left += 4
        while mz[left] < lo_mz:
            left += 1
        hi_mz = mz[c] + half
        while right + 4 <= n and mz[right + 3] <= hi_mz:
            right += 4
        while right < n and mz[right] <= hi_mz:
            right += 1
        win_lo[k] = left
        win_hi[k] = right
    for k in range(blocks):
        l0 = win_lo[k]
        l1 = win_lo[k + 1]
        r0 = win_hi[k]
        r1 = win_hi[k + 1]
        fewest = r0 - l1
        most = r1 - l0
        if most < min_required:
            lower[k] = noise_for_empty
            upper[k] = noise_for_empty
            continue
        if fewest >= min_required:
            # the cumulative counts of any window of the block lie between these
            d_most = prefix[r1] - prefix[l0]
            d_fewest = prefix[r0] - prefix[l1]
            lo_lev = _level(
                d_most & _MASK,
                (d_most >> _FIELD) & _MASK,
                d_most >> (2 * _FIELD),
                (fewest + 1) // 2,
                interpolate,
            )
            hi_lev = _level(
                d_fewest & _MASK,
                (d_fewest >> _FIELD) & _MASK,
                d_fewest >> (2 * _FIELD),
                (most + 1) // 2,
                interpolate,
            )
            if hi_lev >= 0.0:
                lower[k] = max(1.0, lo_lev * bin_size) * (1.0 - _PAD)
                upper[k] = max(1.0, hi_lev * bin_size) * (1.0 + _PAD)
                continue
        # loose bounds: every point of the block is decided exactly; make sure it can be
        lower[k] = 0.0
        upper[k] = math.inf
        left = l0
        right = r0
        for c in range(k << shift, min((k + 1) << shift, n)):
            lo_mz = mz[c] - half
            while mz[left] < lo_mz:
                left += 1
            hi_mz = mz[c] + half
            while right < n and mz[right] <= hi_mz:
                right += 1
            if (
                _window_noise(
                    prefix, left, right, bin_size, min_required, noise_for_empty, interpolate
                )
                < 0.0
            ):
                return False
    return True


@numba.njit(nogil=True, cache=True, error_model="numpy")
def point_noise(
    mz: np.ndarray,
    q: int,
    bin_size: float,
    win_len: float,
    min_required: int,
    noise_for_empty: float,
    interpolate: bool,
    prefix: np.ndarray,
    shift: int,
    win_lo: np.ndarray,
    win_hi: np.ndarray,
) -> float:
    """Exact noise of point ``q`` after :func:`noise_bounds` returned True."""
    k = q >> shift
    half = win_len / 2.0
    # the window of q lies between those of its block's ends: binary searches in between
    lo_mz = mz[q] - half
    left = win_lo[k]
    hi = win_lo[k + 1]  # mz[hi] >= lo_mz
    while left < hi:  # the first index with mz >= lo_mz
        mid = (left + hi) >> 1
        if mz[mid] < lo_mz:
            left = mid + 1
        else:
            hi = mid
    hi_mz = mz[q] + half
    right = win_hi[k]
    hi = win_hi[k + 1]  # mz[hi] > hi_mz or hi == n
    while right < hi:  # the first index with mz > hi_mz
        mid = (right + hi) >> 1
        if mz[mid] <= hi_mz:
            right = mid + 1
        else:
            hi = mid
    return _window_noise(prefix, left, right, bin_size, min_required, noise_for_empty, interpolate)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def median_noise_sliding(
    mz: np.ndarray,
    intensity: np.ndarray,
    bin_size: float,
    bin_count: int,
    win_len: float,
    min_required: int,
    noise_for_empty: float,
    interpolate: bool,
    hist: np.ndarray,
    out_noise: np.ndarray,
) -> None:
    """Fill ``out_noise[0:n]`` by sliding a full histogram over the scan (any median bin).

    ``hist`` is integer scratch of at least ``bin_count`` elements.
    """
    n = mz.size
    last = bin_count - 1
    for q in range(bin_count):
        hist[q] = 0
    half = win_len / 2.0
    left = 0
    right = 0
    count = 0
    mb = 0  # median bin of the current window
    below = 0  # points of the window in bins below mb
    for c in range(n):
        lo_mz = mz[c] - half
        while mz[left] < lo_mz:
            q = int(min(max(intensity[left] / bin_size, 0.0), last))
            hist[q] -= 1
            below -= q < mb
            count -= 1
            left += 1
        hi_mz = mz[c] + half
        while right < n and mz[right] <= hi_mz:
            q = int(min(max(intensity[right] / bin_size, 0.0), last))
            hist[q] += 1
            below += q < mb
            count += 1
            right += 1
        if count < min_required:
            out_noise[c] = noise_for_empty
            continue
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


@numba.njit(nogil=True, cache=True, error_model="numpy")
def snr_flags(
    mz: np.ndarray,
    intensity: np.ndarray,
    min_snr: float,
    bin_size: float,
    win_len: float,
    min_required: int,
    noise_for_empty: float,
    interpolate: bool,
    prefix: np.ndarray,
    shift: int,
    win_lo: np.ndarray,
    win_hi: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    flags: np.ndarray,
) -> None:
    """``flags[q]``: 1 if point ``q`` passes S/N ``min_snr`` (> 0), 0 if not, 2 if its
    block's noise bounds do not tell (:func:`resolve_flag` then decides when asked).

    Needs :func:`noise_bounds` done with the same arguments.

    ``lower``/``upper`` are scaled by ``min_snr`` in place.
    """
    n = mz.size
    for k in range(((n - 1) >> shift) + 1):
        lo = lower[k] * min_snr
        up = upper[k] * min_snr
        lower[k] = lo
        upper[k] = up
        start = k << shift
        end = min(start + (1 << shift), n)
        # 1: sure to pass (up >= min_snr > 0, so x > 0); 2: between the bounds. Branch-free
        # over views indexed from 0 (that lets the loop vectorise).
        xs = intensity[start:end]
        fs = flags[start:end]
        for j in range(end - start):
            x = xs[j]
            amb = (x < up) & (x >= lo) & (x > 0.0)
            fs[j] = (x >= up) | (amb << 1)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def resolve_flag(
    mz: np.ndarray,
    intensity: np.ndarray,
    q: int,
    min_snr: float,
    bin_size: float,
    win_len: float,
    min_required: int,
    noise_for_empty: float,
    interpolate: bool,
    prefix: np.ndarray,
    shift: int,
    win_lo: np.ndarray,
    win_hi: np.ndarray,
    flags: np.ndarray,
) -> bool:
    """Replace an undecided ``flags[q]`` (2) by the exact S/N test; return the flag."""
    noise = point_noise(
        mz,
        q,
        bin_size,
        win_len,
        min_required,
        noise_for_empty,
        interpolate,
        prefix,
        shift,
        win_lo,
        win_hi,
    )
    ok = intensity[q] >= min_snr * noise
    flags[q] = ok
    return ok


@numba.njit(nogil=True, cache=True, error_model="numpy")
def snr_flags_exact(
    intensity: np.ndarray, noise: np.ndarray, min_snr: float, flags: np.ndarray
) -> None:
    """``flags[q]`` = point ``q`` passes S/N ``min_snr`` (> 0) given every point's noise."""
    for q in range(intensity.size):
        x = intensity[q]
        flags[q] = (x > 0.0) & (x >= min_snr * noise[q])
