"""Peak groups of SRM/PRM transitions, decided jointly over all traces of a precursor and
its isotope-labelled standard.

Every trace of a group is resampled onto one common time grid for the decision (SRM
cycles interleave transitions, so their time points differ). Candidate peaks come from
the summed trace and from each trace alone; each candidate is scored by how well the
traces agree inside its boundaries (cross-correlation shape and co-elution, as OpenSWATH
scores them), by its intensity and, when an expected RT is given, by its distance to it.
The best candidate's boundaries are shared by all traces, and each trace is integrated on
its own raw points (linearly interpolated at the boundaries).

Example
-------
>>> from msuite.quant.peak_groups import pick_peak_group                 # doctest: +SKIP
>>> group = pick_peak_group([t1, t2, t3], [y1, y2, y3], expected_rt=612.0)  # doctest: +SKIP
>>> group.rt, group.left, group.right, group.area                       # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from msuite.core.errors import InputError
from msuite.quant.chrom_peaks import ChromPeakParams
from msuite.quant.peak_group_kernels import (
    INTEGRATE_INTENSITY_SUM,
    INTEGRATE_TRAPEZOID,
    INTEGRATE_TRAPEZOID_POINTS,
    integrate_window_kernel,
)
from msuite.quant.peak_scores import (
    Candidate,
    PreparedGroup,
    WindowScores,
    find_candidates,
    prepare_group,
    reference_intensity,
    same_peak,
    score_window,
)

__all__ = [
    "INTEGRATION_MODES",
    "PeakGroup",
    "PeakGroupParams",
    "TraceGroup",
    "pick_peak_group",
    "pick_peak_groups",
    "rank_peak_groups",
]

INTEGRATION_MODES = {
    "trapezoid": INTEGRATE_TRAPEZOID,
    "intensity_sum": INTEGRATE_INTENSITY_SUM,
    "trapezoid_points": INTEGRATE_TRAPEZOID_POINTS,
}
SMOOTHING_MODES = ("savgol", "gauss")


def _check_number(name: str, value: object, *, positive: bool, optional: bool = False) -> None:
    ok = isinstance(value, (int, float)) and math.isfinite(value)
    ok = ok and (value > 0 if positive else value >= 0)
    if not ok:
        what = "a finite number > 0" if positive else "a finite number >= 0"
        raise InputError(
            f"must be {what}" + (" (or None)" if optional else ""), field=name, value=value
        )


@dataclass(frozen=True, slots=True)
class PeakGroupParams:
    """Parameters of peak-group picking.

    The defaults pick Skyline-style: Savitzky-Golay smoothing (``chrom.window``,
    ``chrom.order``), boundaries where the smoothed trace rises again or falls to
    ``chrom.boundary_fraction`` of the apex, candidates below ``chrom.min_snr`` dropped.
    :meth:`openms` gives the settings of OpenMS's MRMTransitionGroupPicker.

    Attributes
    ----------
    chrom
        Single-trace parameters: Savitzky-Golay window and order, ``min_snr`` (smoothed
        apex over the noise SD, 0 keeps every maximum), ``boundary_fraction`` (0: no
        fraction stop). ``chrom.min_points`` is not used: a candidate needs 3 points.
    rt_window_s
        When an expected RT is given, only candidates whose apex lies within
        ``expected_rt +- rt_window_s`` are considered (``None``: the whole trace).
    smoothing
        ``"savgol"`` (``chrom.window``/``chrom.order``) or ``"gauss"`` (Gaussian of width
        ``gauss_width_s``, OpenMS's ``use_gauss``).
    gauss_width_s
        Gaussian width (s) as OpenMS defines it: ``sigma = gauss_width_s / 8``.
    gauss_spacing_s
        Step (s) at which the Gaussian is sampled and then linearly interpolated, as
        OpenMS GaussFilter does (its ``spacing``, 0.01 in the data's time unit);
        ``None``: ``sigma / 100`` (a smooth kernel).
    boundary_snr
        A boundary walk stops before a smoothed point below ``boundary_snr`` x its median
        noise level (OpenMS SignalToNoiseEstimatorMedian, ``noise_window_s`` and
        ``noise_bins``); 0 disables (the default).
    boundary_snr_on_raw
        Read that S/N on the raw trace (as older OpenMS releases did).
    min_half_width_s
        Boundaries reach at least this far from the apex (OpenMS ``peak_width``); 0 off.
    noise_window_s, noise_bins
        Window and histogram bins of the median noise level used by ``boundary_snr``.
    use_summed_trace
        Also take candidates from the sum of all traces (per-trace ones are always taken).
    min_apex_ratio
        Candidates whose smoothed apex is below this fraction of the highest apex of the
        group are dropped (OpenMS ``stop_after_intensity_ratio``).
    max_candidates
        Most candidates scored per group, highest apex first (OpenMS stops after
        ``stop_after_feature``).
    integration
        ``"trapezoid"`` (raw trace, linearly interpolated at the boundaries; area in
        intensity x s), ``"intensity_sum"`` (sum of the raw points inside the boundaries,
        OpenMS PeakIntegrator's default) or ``"trapezoid_points"`` (trapezoid over the
        points inside the boundaries, OpenMS PeakIntegrator ``trapezoid``).
    boundary_float32_unit_s
        Round the boundaries to 32-bit floats in this time unit (s) before integrating, as
        OpenMS does (it keeps picked boundaries in float arrays, so a point lying on a
        boundary is in or out by rounding): 1 for data in seconds, 60 for data OpenMS
        read in minutes. ``None`` (default): exact boundaries.
    shape_weight, coelution_weight, intensity_weight, rt_weight, reference_weight
        Weights of the candidate score: ``shape_weight x shape - coelution_weight x
        coelution (grid points) + intensity_weight x log10(candidate intensity / best
        candidate intensity) - rt_weight x |apex - expected_rt| / rt_scale_s +
        reference_weight x (shape of analyte against standard traces) +
        reference_intensity_weight x log10(standard's intensity in the candidate / its
        highest in any candidate)``. The last term anchors the group on its standard where
        the analyte is absent (blanks, samples below the LOD); OpenMS has no such term, so
        :meth:`openms` sets it to 0.
    rt_scale_s
        RT distance (s) that costs ``rt_weight`` score units.
    max_lag_points
        Largest cross-correlation lag searched (grid points).
    grid_step_s
        Common grid step (s); ``None``: the median time step of the traces.
    """

    chrom: ChromPeakParams = field(default_factory=ChromPeakParams)
    rt_window_s: float | None = None
    smoothing: str = "savgol"
    gauss_width_s: float = 50.0
    gauss_spacing_s: float | None = None
    boundary_snr: float = 0.0
    boundary_snr_on_raw: bool = False
    min_half_width_s: float = 0.0
    noise_window_s: float = 1000.0
    noise_bins: int = 30
    use_summed_trace: bool = True
    min_apex_ratio: float = 1e-4
    max_candidates: int = 20
    integration: str = "trapezoid"
    boundary_float32_unit_s: float | None = None
    shape_weight: float = 1.0
    coelution_weight: float = 0.1
    intensity_weight: float = 0.5
    rt_weight: float = 0.0
    reference_weight: float = 0.5
    reference_intensity_weight: float = 1.0
    rt_scale_s: float = 60.0
    max_lag_points: int = 5
    grid_step_s: float | None = None

    @classmethod
    def openms(
        cls,
        *,
        gauss_width_s: float = 50.0,
        peak_width_s: float = -1.0,
        signal_to_noise: float = 1.0,
        gauss_spacing_s: float = 0.01,
        integration: str = "intensity_sum",
        **overrides: object,
    ) -> PeakGroupParams:
        """Settings of OpenMS MRMTransitionGroupPicker (PeakPickerChromatogram "corrected").

        Gaussian smoothing, every smoothed maximum a candidate, boundaries walked while the
        smoothed trace falls (at least ``peak_width_s`` from the apex when > 0) and
        stopped where its S/N drops below ``signal_to_noise``; area as PeakIntegrator's
        ``intensity_sum``. Arguments are OpenMS's values in seconds (OpenMS applies them in
        the data's time unit: for traces it read in minutes, multiply them by 60).
        """
        base = cls(
            chrom=ChromPeakParams(min_snr=0.0, boundary_fraction=0.0),
            smoothing="gauss",
            gauss_width_s=gauss_width_s,
            gauss_spacing_s=gauss_spacing_s,
            boundary_snr=signal_to_noise,
            min_half_width_s=max(peak_width_s, 0.0),
            use_summed_trace=False,
            integration=integration,
            reference_intensity_weight=0.0,
        )
        return replace(base, **overrides)

    def validate(self) -> None:
        """Raise :class:`InputError` naming the first bad parameter."""
        self.chrom.validate()
        for name, allowed in (("integration", INTEGRATION_MODES), ("smoothing", SMOOTHING_MODES)):
            if getattr(self, name) not in allowed:
                raise InputError(
                    f"unknown {name}", field=name, value=getattr(self, name), allowed=list(allowed)
                )
        for name in _NON_NEGATIVE:
            _check_number(name, getattr(self, name), positive=False)
        for name in _POSITIVE:
            _check_number(name, getattr(self, name), positive=True)
        for name in _POSITIVE_OR_NONE:
            if getattr(self, name) is not None:
                _check_number(name, getattr(self, name), positive=True, optional=True)
        if self.max_candidates < 1:
            raise InputError("must be >= 1", field="max_candidates", value=self.max_candidates)
        if self.noise_bins < 1:
            raise InputError("must be >= 1", field="noise_bins", value=self.noise_bins)
        if self.max_lag_points < 0:
            raise InputError("must be >= 0", field="max_lag_points", value=self.max_lag_points)


_NON_NEGATIVE = (
    "boundary_snr", "min_half_width_s", "min_apex_ratio", "shape_weight", "coelution_weight",
    "intensity_weight", "rt_weight", "reference_weight", "reference_intensity_weight",
)  # fmt: skip
_POSITIVE = ("rt_scale_s", "gauss_width_s", "noise_window_s")
_POSITIVE_OR_NONE = ("rt_window_s", "gauss_spacing_s", "boundary_float32_unit_s", "grid_step_s")


@dataclass(slots=True)
class PeakGroup:
    """The peak chosen for a group of traces, with per-trace figures (trace order kept).

    Attributes
    ----------
    found
        False when no candidate peak exists (then the arrays hold NaN and RTs are NaN).
    rt
        Apex of the group (s): the smoothed apex of the candidate's most intense trace (for
        a fixed window, of the summed smoothed traces inside it).
    left, right
        Integration boundaries (s) shared by all traces.
    area
        Per trace, raw area between ``left`` and ``right`` (background included; units
        follow :attr:`PeakGroupParams.integration`).
    background
        Per trace, Skyline background (lower boundary intensity x width).
    height
        Per trace, highest raw point above the background level.
    apex_rt
        Per trace, apex RT within the boundaries (smoothed trace).
    fwhm
        Per trace, full width at half height above background (s).
    snr
        Per trace, smoothed apex above the lower smoothed boundary over the trace's noise.
    points_across
        Per trace, raw points between the boundaries (inclusive).
    coelution_score
        Mean cross-correlation lag between traces (s; 0 = perfect co-elution).
    shape_score
        Mean cross-correlation at the best lag (1 = identical shapes).
    score
        Combined score used to choose among candidates.
    background_level
        Per trace, the background level (lower boundary intensity); ``height +
        background_level`` is the highest raw intensity between the boundaries.
    """

    found: bool
    rt: float
    left: float
    right: float
    area: np.ndarray
    background: np.ndarray
    height: np.ndarray
    apex_rt: np.ndarray
    fwhm: np.ndarray
    snr: np.ndarray
    points_across: np.ndarray
    coelution_score: float
    shape_score: float
    score: float
    background_level: np.ndarray

    @property
    def apex_intensity(self) -> np.ndarray:
        """Per trace, the highest raw intensity between the boundaries."""
        return self.height + self.background_level

    @property
    def corrected_area(self) -> np.ndarray:
        """Per trace, area above the Skyline background (``area - background``)."""
        return self.area - self.background


@dataclass(frozen=True, slots=True)
class TraceGroup:
    """One group's input for :func:`pick_peak_groups` (see :func:`pick_peak_group`)."""

    times: Sequence[np.ndarray]
    intensities: Sequence[np.ndarray]
    is_reference: Sequence[bool] | None = None
    expected_rt: float | None = None
    fixed_window: tuple[float, float] | None = None


def _not_found(n: int) -> PeakGroup:
    nan = np.full(n, np.nan)
    return PeakGroup(
        found=False,
        rt=math.nan,
        left=math.nan,
        right=math.nan,
        area=nan.copy(),
        background=nan.copy(),
        height=nan.copy(),
        apex_rt=nan.copy(),
        fwhm=nan.copy(),
        snr=nan.copy(),
        points_across=np.zeros(n, dtype=np.int64),
        coelution_score=math.nan,
        shape_score=math.nan,
        score=-math.inf,
        background_level=nan.copy(),
    )


def _check_window(fixed_window: tuple[float, float]) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in fixed_window)
    except (TypeError, ValueError) as exc:
        raise InputError(
            "must be a pair of numbers (left, right) in seconds",
            field="fixed_window",
            value=fixed_window,
        ) from exc
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        raise InputError(
            "must be finite with left < right", field="fixed_window", value=fixed_window
        )
    return a, b


def pick_peak_group(
    times: Sequence[np.ndarray],
    intensities: Sequence[np.ndarray],
    *,
    is_reference: Sequence[bool] | None = None,
    expected_rt: float | None = None,
    fixed_window: tuple[float, float] | None = None,
    params: PeakGroupParams = PeakGroupParams(),
) -> PeakGroup:
    """Choose one peak for a group of traces and integrate every trace inside it.

    Parameters
    ----------
    times, intensities
        One array per trace (time in seconds, ascending); traces may have different
        time points.
    is_reference
        Per trace, True for the isotope-labelled standard's traces.
    expected_rt
        Expected apex (s); with ``params.rt_window_s`` limits the search, with
        ``params.rt_weight`` favours near candidates.
    fixed_window
        Explicit integration window ``(left, right)`` in seconds: integrate, do not search.
    params
        Picking, scoring and integration parameters.

    Raises
    ------
    InputError
        Bad parameters, traces of unequal length, unsorted or non-finite times, a bad
        window or an ``is_reference`` of the wrong length.
    """
    groups = rank_peak_groups(
        times,
        intensities,
        is_reference=is_reference,
        expected_rt=expected_rt,
        fixed_window=fixed_window,
        params=params,
        max_groups=1,
    )
    return groups[0] if groups else _not_found(len(times))


def rank_peak_groups(
    times: Sequence[np.ndarray],
    intensities: Sequence[np.ndarray],
    *,
    is_reference: Sequence[bool] | None = None,
    expected_rt: float | None = None,
    fixed_window: tuple[float, float] | None = None,
    params: PeakGroupParams = PeakGroupParams(),
    max_groups: int | None = None,
) -> list[PeakGroup]:
    """All candidate peak groups of a group of traces, best score first.

    A candidate whose apex or a boundary lies inside the boundaries of a better one is
    left out, as OpenMS's MRMTransitionGroupPicker does when it reports several features
    per group. Arguments as :func:`pick_peak_group`; ``max_groups`` limits the list
    (``None``: all). An empty list means no peak was found.
    """
    params.validate()
    if max_groups is not None and max_groups < 1:
        raise InputError("must be >= 1 (or None)", field="max_groups", value=max_groups)
    prepared = prepare_group(times, intensities, is_reference, params)
    if expected_rt is not None and not (
        isinstance(expected_rt, (int, float)) and math.isfinite(expected_rt)
    ):
        raise InputError(
            "must be a finite number (or None)", field="expected_rt", value=expected_rt
        )
    window = None if fixed_window is None else _check_window(fixed_window)
    if prepared is None:
        return []
    if window is not None:
        left, right = window
        chosen = Candidate(apex=math.nan, left=left, right=right, intensity=math.nan)
        scores = score_window(prepared, chosen, None, 1.0, params)
        if scores is None:  # narrower than the grid: integrate all the same, no scores
            scores = WindowScores(apex=math.nan, shape=math.nan, coelution=math.nan, score=math.nan)
        return [_integrate(prepared, left, right, scores, params)]
    candidates = find_candidates(prepared, expected_rt, params)
    if not candidates:
        return []
    best_intensity = max(c.intensity for c in candidates)
    refs = [math.nan] * len(candidates)
    if params.reference_intensity_weight > 0 and prepared.reference.any():
        refs = [reference_intensity(prepared, c) for c in candidates]
    best_reference = max(refs)
    scored = [
        (score_window(prepared, c, expected_rt, best_intensity, params, best_reference, r), c)
        for c, r in zip(candidates, refs, strict=True)
    ]
    ranked = sorted(
        ((s, c) for s, c in scored if s is not None), key=lambda sc: sc[0].score, reverse=True
    )
    kept: list[tuple[WindowScores, Candidate]] = []
    for s, c in ranked:
        if any(same_peak(k, c.apex, c.left, c.right) for _, k in kept):
            continue
        kept.append((s, c))
        if max_groups is not None and len(kept) >= max_groups:
            break
    return [_integrate(prepared, c.left, c.right, s, params) for s, c in kept]


def _integrate(
    prepared: PreparedGroup,
    left: float,
    right: float,
    scores: WindowScores,
    params: PeakGroupParams,
) -> PeakGroup:
    n = len(prepared.times)
    figures = np.empty((n, 7))
    points = np.zeros(n, dtype=np.int64)
    mode = INTEGRATION_MODES[params.integration]
    unit = params.boundary_float32_unit_s
    if unit is not None:  # OpenMS keeps picked boundaries in 32-bit float arrays
        left = float(np.float32(left / unit)) * unit
        right = float(np.float32(right / unit)) * unit
    for i in range(n):
        points[i] = integrate_window_kernel(
            prepared.times[i],
            prepared.raw[i],
            prepared.smooth[i],
            prepared.noise[i],
            left,
            right,
            mode,
            figures[i],
        )
    rt = scores.apex
    if not math.isfinite(rt) and np.any(points > 0):
        rt = float(figures[int(np.nanargmax(np.where(points > 0, figures[:, 2], -np.inf))), 3])
    return PeakGroup(
        found=True,
        rt=rt,
        left=left,
        right=right,
        area=figures[:, 0].copy(),
        background=figures[:, 1].copy(),
        height=figures[:, 2].copy(),
        apex_rt=figures[:, 3].copy(),
        fwhm=figures[:, 4].copy(),
        snr=figures[:, 5].copy(),
        points_across=points,
        coelution_score=scores.coelution,
        shape_score=scores.shape,
        score=scores.score,
        background_level=figures[:, 6].copy(),
    )


def pick_peak_groups(
    groups: Sequence[TraceGroup],
    params: PeakGroupParams = PeakGroupParams(),
    *,
    threads: int | None = None,
) -> list[PeakGroup]:
    """Pick many groups (in order); ``threads`` > 1 shares them between threads."""
    params.validate()

    def one(g: TraceGroup) -> PeakGroup:
        return pick_peak_group(
            g.times,
            g.intensities,
            is_reference=g.is_reference,
            expected_rt=g.expected_rt,
            fixed_window=g.fixed_window,
            params=params,
        )

    n = min(threads or 1, max(1, len(groups)))
    if n == 1:
        return [one(g) for g in groups]
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, groups))
