"""Find each target's trace in a run.

- SRM/MRM runs (chromatograms with Q1/Q3): a chromatogram whose native id equals the
  transition id wins; otherwise the chromatogram whose Q1 and Q3 both lie within
  ``mz_tolerance`` (m/z units) of the target's, nearest first (largest of the two deviations),
  ties going to the trace that covers the expected RT, then to the longer trace.
- PRM and full-scan runs (spectra): an XIC of the product m/z over the MS2 scans whose
  isolation window holds the target's precursor m/z, or of the precursor m/z over MS1 scans
  for precursor (MS1) targets, summed within ``ppm`` (msuite's XIC kernel,
  :func:`msuite.io.runfile.xic.extract_xic`).

A run holding SRM chromatograms is treated as SRM; otherwise its spectra are used.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from msuite.core.errors import InputError
from msuite.core.model import Chromatogram, ChromatogramKind
from msuite.io.formats import RUN, detect_format
from msuite.io.runfile.xic import extract_xic
from msuite.quant.targets import TraceTarget

__all__ = ["MatchedTrace", "RunTraces", "find_traces", "read_run"]


@dataclass(slots=True)
class MatchedTrace:
    """The trace found for a target: where it came from, and its points (time in s)."""

    source_id: str
    time: np.ndarray
    intensity: np.ndarray


@dataclass(slots=True)
class RunTraces:
    """What a run offers for matching: SRM chromatograms, or spectra as concatenated arrays.

    Attributes
    ----------
    chromatograms
        SRM chromatograms (those with finite Q1 and Q3), in file order.
    mz, intensity, starts, lengths
        All spectra concatenated (``starts``/``lengths`` per scan); empty for SRM runs.
    rt, ms_level, isolation_lo, isolation_hi
        Per scan: retention time (s), MS level and isolation window bounds (NaN for MS1).
    """

    chromatograms: list[Chromatogram]
    mz: np.ndarray
    intensity: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    rt: np.ndarray
    ms_level: np.ndarray
    isolation_lo: np.ndarray
    isolation_hi: np.ndarray

    @property
    def is_srm(self) -> bool:
        """True when the run holds SRM chromatograms."""
        return bool(self.chromatograms)


def _is_srm(c: Chromatogram) -> bool:
    return c.kind == ChromatogramKind.SRM or (
        math.isfinite(c.precursor_mz) and math.isfinite(c.product_mz)
    )


def _source(path: Path):
    from msuite.io.convert import open_source

    return open_source(path)


def _run_file_chromatograms(path: Path) -> list[Chromatogram]:
    """All chromatograms of a run file, read in bulk (:meth:`RunFile.chromatograms`)."""
    from msuite.io.runfile import RunFile

    with RunFile(path) as run:
        return run.chromatograms()


def _chromatograms(path: Path) -> list[Chromatogram]:
    if detect_format(path) == RUN:
        return [c for c in _run_file_chromatograms(path) if _is_srm(c)]
    return [c for c in _source(path).chromatograms() if _is_srm(c)]


def _isolation(header) -> tuple[float, float]:
    if not header.precursors:
        return math.nan, math.nan
    p = header.precursors[0]
    target = p.isolation_target if math.isfinite(p.isolation_target) else p.mz
    lo = p.isolation_lower if math.isfinite(p.isolation_lower) else 0.0
    hi = p.isolation_upper if math.isfinite(p.isolation_upper) else 0.0
    return target - lo, target + hi


def read_run(path: str | Path) -> RunTraces:
    """Read what matching needs from a run (mzML, mzML.gz, mzMLb or run file)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("run not found", path=str(p), field="RUN")
    chroms = _chromatograms(p)
    empty_f, empty_i = np.empty(0), np.empty(0, dtype=np.int64)
    if chroms:
        return RunTraces(
            chroms, empty_f, empty_f, empty_i, empty_i, empty_f, empty_i, empty_f, empty_f
        )
    mzs, ints, rts, levels, lo, hi = [], [], [], [], [], []
    for s in _source(p).spectra():
        mzs.append(s.mz)
        ints.append(s.intensity)
        rts.append(s.header.rt)
        levels.append(s.header.ms_level)
        a, b = _isolation(s.header)
        lo.append(a)
        hi.append(b)
    lengths = np.array([m.size for m in mzs], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if mzs else empty_i
    return RunTraces(
        [],
        np.concatenate(mzs) if mzs else empty_f,
        np.concatenate(ints) if ints else empty_f,
        starts,
        lengths,
        np.asarray(rts, dtype=np.float64),
        np.asarray(levels, dtype=np.int64),
        np.asarray(lo, dtype=np.float64),
        np.asarray(hi, dtype=np.float64),
    )


def _covers(c: Chromatogram, rt: float) -> bool:
    return bool(c.time.size) and math.isfinite(rt) and c.time[0] <= rt <= c.time[-1]


def _match_srm(
    run: RunTraces,
    targets: Sequence[TraceTarget],
    expected_rt: Sequence[float],
    mz_tolerance: float,
) -> list[MatchedTrace | None]:
    chroms = run.chromatograms
    by_id = {c.native_id: i for i, c in enumerate(chroms)}
    q1 = np.array([c.precursor_mz for c in chroms])
    q3 = np.array([c.product_mz for c in chroms])
    order = np.argsort(q1, kind="stable")
    q1s = q1[order]
    exact: dict[tuple[float, float], list[int]] = {}  # the usual case: Q1/Q3 as in the list
    for i, c in enumerate(chroms):
        exact.setdefault((c.precursor_mz, c.product_mz), []).append(i)
    out: list[MatchedTrace | None] = []
    for t, rt in zip(targets, expected_rt, strict=True):
        idx = by_id.get(t.transition_id)
        same = exact.get((t.precursor_mz, t.product_mz), ())
        if idx is None and len(same) == 1:
            idx = same[0]
        if idx is None and math.isfinite(t.product_mz):
            a = np.searchsorted(q1s, t.precursor_mz - mz_tolerance, "left")
            b = np.searchsorted(q1s, t.precursor_mz + mz_tolerance, "right")
            cand = order[a:b]
            if cand.size:
                dev = np.maximum(np.abs(q1[cand] - t.precursor_mz), np.abs(q3[cand] - t.product_mz))
                ok = dev <= mz_tolerance
                cand, dev = cand[ok], dev[ok]
            if cand.size == 1:
                idx = int(cand[0])
            elif cand.size > 1:
                idx = int(
                    min(
                        cand,
                        key=lambda k: (
                            round(float(dev[cand == k][0]), 6),
                            not _covers(chroms[k], rt),
                            -chroms[k].time.size,
                        ),
                    )
                )
        if idx is None:
            out.append(None)
        else:
            c = chroms[idx]
            out.append(MatchedTrace(c.native_id, c.time, c.intensity))
    return out


def _match_spectra(
    run: RunTraces, targets: Sequence[TraceTarget], ppm: float
) -> list[MatchedTrace | None]:
    out: list[MatchedTrace | None] = [None] * len(targets)
    if run.rt.size == 0:
        return out
    # targets that read the same scans share one XIC call
    jobs: dict[tuple[int, float], list[int]] = defaultdict(list)
    for k, t in enumerate(targets):
        if math.isfinite(t.product_mz):
            jobs[(2, round(t.precursor_mz, 4))].append(k)
        else:
            jobs[(1, 0.0)].append(k)
    for (level, q1), members in jobs.items():
        if level == 1:
            scans = np.flatnonzero(run.ms_level == 1)
            mz = np.array([targets[k].precursor_mz for k in members])
        else:
            scans = np.flatnonzero(
                (run.ms_level >= 2)
                & (run.isolation_lo <= q1 + 1e-6)
                & (run.isolation_hi >= q1 - 1e-6)
            )
            mz = np.array([targets[k].product_mz for k in members])
        if scans.size == 0:
            continue
        rt = run.rt[scans]
        windows = np.tile([-math.inf, math.inf], (mz.size, 1))
        xic = extract_xic(
            run.mz, run.intensity, run.starts[scans], run.lengths[scans], rt, mz, ppm, windows
        )
        order = np.argsort(rt, kind="stable")
        for row, k in enumerate(members):
            label = "MS1" if level == 1 else f"MS2 {q1:g}"
            out[k] = MatchedTrace(
                f"XIC {label} m/z {mz[row]:.4f} +-{ppm:g} ppm", rt[order], xic[row][order]
            )
    return out


def find_traces(
    run: RunTraces,
    targets: Sequence[TraceTarget],
    *,
    expected_rt: Sequence[float] | None = None,
    mz_tolerance: float = 0.055,
    ppm: float = 10.0,
) -> list[MatchedTrace | None]:
    """Return each target's trace in ``run`` (None where nothing matches).

    Parameters
    ----------
    run
        The run, from :func:`read_run`.
    targets
        The traces looked for.
    expected_rt
        Per target, the expected RT in seconds (NaN unknown); breaks ties between SRM traces.
    mz_tolerance
        Largest Q1 and Q3 deviation (m/z) of an SRM chromatogram from the target.
    ppm
        Half-width of the XIC window of spectra runs.
    """
    if not (math.isfinite(mz_tolerance) and mz_tolerance >= 0):
        raise InputError("must be a finite number >= 0", field="--mz-tolerance", value=mz_tolerance)
    if not (math.isfinite(ppm) and ppm > 0):
        raise InputError("must be a finite number > 0", field="--ppm", value=ppm)
    rts = list(expected_rt) if expected_rt is not None else [math.nan] * len(targets)
    if run.is_srm:
        return _match_srm(run, targets, rts, mz_tolerance)
    return _match_spectra(run, targets, ppm)
