"""Quantify runs: find every target's traces, pick one peak group per target group, integrate.

:func:`quantify_run` is the per-run work function (a plain top-level function of picklable
arguments, so it runs the same in a local process pool and on a Dask distributed cluster);
:func:`quantify_runs` farms the runs out. Each run gives one row per transition (the columns
of :data:`msuite.quant.results.TRANSITION_COLUMNS`): a target whose trace is missing or whose
group has no peak gets a row with ``found = False`` and a ``note`` saying why, never an
exception.

Units in the rows: retention times (``rt``, ``rt_left``, ``rt_right``, ``apex_rt``,
``expected_rt``) and ``fwhm`` in **minutes**, as vendor software and Skyline show them; areas in
intensity x seconds (trapezoid over the raw points, linearly interpolated at the shared
boundaries); ``area`` is above the Skyline background (``background`` = lower boundary
intensity x width, reported beside it), as Skyline reports "Area" and "Background".
"""

from __future__ import annotations

import itertools
import math
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from msuite.core.errors import InputError, MSuiteError
from msuite.quant.chrom_peaks import ChromPeakParams
from msuite.quant.group_rows import pack_traces, quantify_group, quantify_groups, quantify_packed
from msuite.quant.peak_groups import PeakGroupParams
from msuite.quant.targets import TargetGroup
from msuite.quant.trace_match import MatchedTrace, find_traces, read_run

__all__ = [
    "INTEGRATION_CHOICES",
    "QuantParams",
    "RunResult",
    "quantify_run",
    "quantify_runs",
]

#: ``auto``: search the peak; ``fixed``: integrate the list's per-target RT window
INTEGRATION_CHOICES = ("auto", "fixed")


@dataclass(frozen=True, slots=True)
class QuantParams:
    """Everything that decides a number in the results (written to parameters.json).

    Attributes
    ----------
    rt_window_min
        Full width (minutes) of the RT search window centred on a target's expected RT;
        None searches the whole trace. Targets without an expected RT are searched whole.
    mz_tolerance
        Largest Q1/Q3 deviation (m/z) of an SRM chromatogram from its target.
    ppm
        XIC half-width (ppm) for PRM/full-scan runs.
    integration
        ``auto`` or ``fixed`` (the list's window ``expected RT +- window/2``; groups whose list
        gives no window fall back to ``auto`` and say so in their rows' ``integration``).
    min_snr
        Minimal S/N of a candidate peak (single-trace picking, see ChromPeakParams).
    smoothing_window, smoothing_order
        Savitzky-Golay smoothing of the traces (points, polynomial order).
    boundary_fraction
        A boundary walk stops where the smoothed trace falls to this fraction of the apex.
    min_points
        Fewest points across a candidate peak.
    align_rt
        Align each run on its iRT standard peptides (:mod:`msuite.quant.rt_align`) and
        centre the RT window of every peptide with an iRT on the aligned RT (needs
        ``rt_window_min``).
    """

    rt_window_min: float | None = None
    mz_tolerance: float = 0.055
    ppm: float = 10.0
    integration: str = "auto"
    min_snr: float = 3.0
    smoothing_window: int = 7
    smoothing_order: int = 2
    boundary_fraction: float = 0.01
    min_points: int = 3
    align_rt: bool = False

    def validate(self) -> None:
        """Raise :class:`InputError` naming the first bad parameter."""
        if self.integration not in INTEGRATION_CHOICES:
            raise InputError(
                "unknown integration",
                field="--integration",
                value=self.integration,
                allowed=", ".join(INTEGRATION_CHOICES),
            )
        if self.rt_window_min is not None and not (
            math.isfinite(self.rt_window_min) and self.rt_window_min > 0
        ):
            raise InputError(
                "must be a number of minutes > 0", field="--rt-window", value=self.rt_window_min
            )
        if not (math.isfinite(self.mz_tolerance) and self.mz_tolerance >= 0):
            raise InputError(
                "must be a finite number >= 0", field="--mz-tolerance", value=self.mz_tolerance
            )
        if not (math.isfinite(self.ppm) and self.ppm > 0):
            raise InputError("must be a finite number > 0", field="--ppm", value=self.ppm)
        if self.align_rt and self.rt_window_min is None:
            raise InputError(
                "RT alignment centres the RT window: it needs one",
                field="--align-rt",
                value=True,
                allowed="use it with --rt-window MIN",
            )
        if not (math.isfinite(self.min_snr) and self.min_snr >= 0):
            raise InputError("must be a finite number >= 0", field="--min-snr", value=self.min_snr)
        self.peak_group_params().validate()

    def peak_group_params(self) -> PeakGroupParams:
        """The peak-group picking parameters these settings give."""
        chrom = ChromPeakParams(
            window=self.smoothing_window,
            order=self.smoothing_order,
            min_snr=self.min_snr,
            boundary_fraction=self.boundary_fraction,
            min_points=self.min_points,
        )
        half = None if self.rt_window_min is None else self.rt_window_min * 60.0 / 2.0
        return PeakGroupParams(chrom=chrom, rt_window_s=half)

    def to_dict(self) -> dict[str, Any]:
        """All parameters, including the full peak-group settings, as plain values."""
        out = asdict(self)
        pg = self.peak_group_params()
        out["peak_group"] = {
            name: getattr(pg, name) for name in pg.__dataclass_fields__ if name != "chrom"
        }
        out["peak_group"]["chrom"] = asdict(pg.chrom)
        out["units"] = {
            "rt": "min",
            "fwhm": "min",
            "area": "intensity x s, above background",
            "background": "intensity x s",
            "mz_tolerance": "m/z",
            "rt_window_min": "min",
        }
        return out


@dataclass(slots=True)
class RunResult:
    """One run's transition rows (dicts keyed by ``results.TRANSITION_COLUMNS``)."""

    run: str
    path: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    alignment: dict[str, Any] | None = None


def run_name(path: str | Path) -> str:
    """The run's name in the results: the file name without its format suffix(es)."""
    name = Path(path).name
    for suffix in (".mzML.gz", ".mzML", ".mzMLb", ".h5", ".hdf5", ".gz"):
        if name.lower().endswith(suffix.lower()):
            return name[: -len(suffix)]
    return name


#: fewest groups per worker process worth the cost of shipping traces to it
MIN_GROUPS_PER_WORKER = 250


def _align(
    name: str,
    groups: Sequence[TargetGroup],
    matched: Sequence[MatchedTrace | None],
    params: QuantParams,
) -> tuple[list[TargetGroup], Any]:
    """Align the run on its iRT standards; the groups with their expected RT from the line."""
    from msuite.quant.rt_align import anchor_indices, fit_rt_alignment

    starts = np.concatenate([[0], np.cumsum([len(g.traces) for g in groups])])
    whole = replace(params, rt_window_min=None, align_rt=False)
    pg = whole.peak_group_params()
    irts, rts, names = [], [], []
    for k in anchor_indices(groups):
        g = replace(groups[k], expected_rt=math.nan)
        rows = quantify_group(name, g, matched[starts[k] : starts[k + 1]], whole, pg)
        found = [r for r in rows if r["found"]]
        if found:
            irts.append(g.irt)
            rts.append(found[0]["rt"] * 60.0)
            names.append(g.group_id)
    alignment = fit_rt_alignment(irts, rts, names, run=name)
    aligned = [
        replace(g, expected_rt=alignment.rt(g.irt)) if math.isfinite(g.irt) else g for g in groups
    ]
    return aligned, alignment


def quantify_run(
    path: str,
    groups: Sequence[TargetGroup],
    params: QuantParams,
    workers: int = 1,
    manual: Mapping[str, Any] | None = None,
) -> RunResult:
    """Quantify one run: one row per transition of ``groups`` (picklable; runs anywhere).

    Parameters
    ----------
    path
        The run file.
    groups
        Target groups.
    params
        Quantification parameters.
    workers
        Processes sharing this run's peak groups (1: this process only). The rows do not
        depend on it.
    manual
        Manual integration windows of this run by group id
        (:class:`msuite.quant.manual.ManualWindow`).

    Raises
    ------
    InputError, FileFormatError
        The run is missing or unreadable.
    """
    params.validate()
    run = read_run(path)
    flat = [t for g in groups for t in g.traces]
    rts = [g.expected_rt for g in groups for _ in g.traces]
    matched = find_traces(
        run, flat, expected_rt=rts, mz_tolerance=params.mz_tolerance, ppm=params.ppm
    )
    del run
    name = run_name(path)
    result = RunResult(name, str(path))
    if params.align_rt:
        groups, alignment = _align(name, groups, matched, params)
        result.alignment = alignment.to_dict()
    n_chunks = max(1, min(workers, len(groups) // MIN_GROUPS_PER_WORKER))
    if n_chunks == 1:
        result.rows = quantify_groups(name, groups, matched, params, manual)
        return result
    bounds = np.linspace(0, len(groups), n_chunks + 1).astype(int)
    starts = np.concatenate([[0], np.cumsum([len(g.traces) for g in groups])])
    # the first group here, before the fork: the children inherit the loaded JIT kernels
    result.rows = quantify_groups(name, groups[:1], matched[: starts[1]], params, manual)
    bounds[0] = 1
    chunks = list(itertools.pairwise(bounds))

    def here(k: int) -> list[dict[str, Any]]:
        a, b = chunks[k]
        return quantify_groups(name, groups[a:b], matched[starts[a] : starts[b]], params, manual)

    done: dict[int, list[dict[str, Any]]] = {}
    try:
        with ProcessPoolExecutor(max_workers=n_chunks - 1) as pool:
            futures = {
                k: pool.submit(
                    quantify_packed,
                    name,
                    list(groups[a:b]),
                    pack_traces(matched[starts[a] : starts[b]]),
                    params,
                    manual,
                )
                for k, (a, b) in enumerate(chunks[1:], start=1)
            }
            done[0] = here(0)  # this process takes the first chunk itself
            for k, fut in futures.items():
                done[k] = fut.result()
    except BrokenProcessPool:  # a worker was killed (e.g. out of memory): the rest is done here
        pass
    for k in range(len(chunks)):
        result.rows.extend(done[k] if k in done else here(k))
    return result


def _check_runs(runs: Sequence[str | Path]) -> list[str]:
    if not runs:
        raise InputError("no runs given", field="RUN", allowed="one or more run files")
    out = []
    for r in runs:
        p = Path(r)
        if not p.is_file():
            raise InputError("run not found", path=str(p), field="RUN")
        out.append(str(p))
    names = [run_name(r) for r in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise InputError(
            "two runs have the same name",
            field="RUN",
            value=sorted(dup)[0],
            allowed="runs with distinct file names",
        )
    return out


#: fresh process pools tried after a pool whose worker was killed
POOL_RETRIES = 1


def _local(
    runs: list[str],
    groups: Sequence[TargetGroup],
    params: QuantParams,
    jobs: int,
    tick: Callable[[int], None],
    manual: Mapping[str, Mapping[str, Any]],
) -> dict[str, RunResult]:
    out: dict[str, RunResult] = {}
    if jobs <= 1 or len(runs) == 1:
        for r in runs:  # one run at a time, its groups shared between the jobs
            out[r] = quantify_run(r, groups, params, workers=jobs, manual=manual.get(r))
            tick(1)
        return out
    pending = list(runs)
    for attempt in range(1 + POOL_RETRIES):
        try:
            with ProcessPoolExecutor(max_workers=min(jobs, len(pending))) as pool:
                futures = {
                    pool.submit(quantify_run, r, groups, params, 1, manual.get(r)): r
                    for r in pending
                }
                for fut in as_completed(futures):
                    out[futures[fut]] = fut.result()
                    tick(1)
            return out
        except BrokenProcessPool:  # a worker was killed: the runs it left go to a new pool
            pending = [r for r in pending if r not in out]
            if attempt == POOL_RETRIES:
                raise MSuiteError(
                    f"worker processes ended unexpectedly (killed, or out of memory) "
                    f"{attempt + 1} times; nothing was written",
                    field="--jobs",
                    value=[run_name(r) for r in pending[:5]],
                    allowed="fewer --jobs (less memory), or find what kills the processes",
                ) from None
    return out


def _dask(
    runs: list[str],
    groups: Sequence[TargetGroup],
    params: QuantParams,
    scheduler: str,
    tick: Callable[[int], None],
    timeout_s: float,
    manual: Mapping[str, Mapping[str, Any]],
) -> dict[str, RunResult]:
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise MSuiteError(
            "running on a Dask cluster needs dask.distributed",
            field="--scheduler",
            value=scheduler,
            allowed="pip install 'msuite[dask]', or leave --scheduler out for local processes",
        ) from None

    try:
        client = Client(scheduler, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise MSuiteError(
            f"cannot reach the Dask scheduler ({exc})", field="--scheduler", value=scheduler
        ) from None
    out: dict[str, RunResult] = {}
    try:
        [shared] = client.scatter([list(groups)], broadcast=True)
        batch = uuid.uuid4().hex[:12]  # task keys unique across invocations on one cluster
        futures = [
            client.submit(
                quantify_run,
                r,
                shared,
                params,
                1,
                manual.get(r),
                key=f"msuite-quant-{batch}-{i}",
                pure=False,
            )
            for i, r in enumerate(runs)
        ]
        where = {f.key: r for f, r in zip(futures, runs, strict=True)}
        for fut in dask_completed(futures, loop=client.loop):
            out[where[fut.key]] = fut.result()
            tick(1)
    finally:
        client.close()
    return out


def quantify_runs(
    runs: Sequence[str | Path],
    groups: Sequence[TargetGroup],
    params: QuantParams,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
    timeout_s: float = 30.0,
    manual: Any = None,
) -> list[RunResult]:
    """Quantify many runs, in input order.

    Parameters
    ----------
    runs
        Run files (mzML, mzML.gz, mzMLb, run file).
    groups
        Target groups (:func:`msuite.quant.targets.load_targets`).
    params
        Quantification parameters.
    jobs
        Local worker processes (default: CPUs, at most one per run); ignored with ``scheduler``.
    scheduler
        Dask distributed scheduler address (``tcp://HOST:PORT``): run the same work there.
    progress
        Called with 1 after each finished run.
    timeout_s
        Time allowed to connect to the scheduler.
    manual
        Manual integration windows (:class:`msuite.quant.manual.ManualBoundaries`).
    """
    params.validate()
    paths = _check_runs(runs)
    tick = progress or (lambda n: None)
    if jobs is not None and jobs < 1:
        raise InputError("must be >= 1", field="--jobs", value=jobs)
    windows = {p: manual.for_run(p) for p in paths} if manual is not None else {}
    if scheduler:
        done = _dask(paths, groups, params, scheduler, tick, timeout_s, windows)
    else:
        done = _local(paths, groups, params, jobs or os.cpu_count() or 1, tick, windows)
    return [done[p] for p in paths]
