"""Retention-time alignment of a run on its iRT standard peptides.

A method gives peptides iRT values; the seconds they elute at depend on the run's column and
gradient. With ``msuite quant --align-rt`` each run is aligned on the iRT standards among its
targets (the 11 Biognosys iRT-kit peptides, Escher et al. 2012): their peak groups are picked
over the whole trace, ``RT = intercept + slope x iRT`` is fitted to their apexes, and every
peptide's expected RT (the centre of its ``--rt-window``) is read from that line, as OpenSWATH
does with its iRT normalisation. The fit drops the standard furthest off the line while it is
more than four robust SDs (and 10 s) off and at least four standards remain, so one
interfered standard cannot tilt it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from msuite.core.errors import MSuiteError
from msuite.methods.irt import IRT_STANDARDS
from msuite.quant.targets import TargetGroup

__all__ = ["MIN_ANCHORS", "RtAlignment", "anchor_indices", "fit_rt_alignment"]

#: fewest iRT standards found in a run to align it
MIN_ANCHORS = 3
_MODIFICATION = re.compile(r"\[[^\]]*\]|\([^)]*\)")


@dataclass(frozen=True)
class RtAlignment:
    """``RT (s) = intercept_s + slope_s x iRT`` of one run, and how well it fits."""

    intercept_s: float
    slope_s: float
    r_squared: float
    rms_s: float
    anchors: tuple[str, ...]
    dropped: tuple[str, ...] = ()

    def rt(self, irt: float) -> float:
        """Expected retention time (s) of a peptide with ``irt``."""
        return self.intercept_s + self.slope_s * irt

    def to_dict(self) -> dict[str, object]:
        """Plain values for parameters.json."""
        return {
            "intercept_s": self.intercept_s,
            "slope_s_per_irt": self.slope_s,
            "r_squared": self.r_squared,
            "rms_s": self.rms_s,
            "anchors": list(self.anchors),
            "dropped": list(self.dropped),
        }


def anchor_indices(groups: Sequence[TargetGroup]) -> list[int]:
    """Indices of the groups that are iRT standards with a known iRT."""
    return [
        k
        for k, g in enumerate(groups)
        if g.kind == "peptide"
        and _MODIFICATION.sub("", g.name) in IRT_STANDARDS
        and math.isfinite(g.irt)
    ]


def fit_rt_alignment(
    irt: Sequence[float], rt_s: Sequence[float], names: Sequence[str], run: str = ""
) -> RtAlignment:
    """Fit ``RT = a + b x iRT`` robustly (see the module documentation).

    Raises
    ------
    MSuiteError
        Fewer than :data:`MIN_ANCHORS` standards, or a line that does not rise.
    """
    x = np.asarray(irt, dtype=float)
    y = np.asarray(rt_s, dtype=float)
    if x.size < MIN_ANCHORS:
        raise MSuiteError(
            f"RT alignment of {run or 'a run'} found {x.size} iRT standards",
            field="--align-rt",
            value=list(names),
            allowed=f">= {MIN_ANCHORS} iRT standard peptides found in every run",
        )
    keep = np.ones(x.size, dtype=bool)
    while True:
        slope, intercept = np.polyfit(x[keep], y[keep], 1)
        resid = y - (intercept + slope * x)
        scale = 1.4826 * float(np.median(np.abs(resid[keep])))
        worst = int(np.argmax(np.where(keep, np.abs(resid), -1.0)))
        if keep.sum() > MIN_ANCHORS and abs(resid[worst]) > max(4.0 * scale, 10.0):
            keep[worst] = False
            continue
        break
    if not slope > 0:
        raise MSuiteError(
            f"RT alignment of {run or 'a run'} does not rise with iRT",
            field="--align-rt",
            value={"slope_s_per_irt": float(slope)},
            allowed="iRT standards eluting in iRT order",
        )
    fitted = intercept + slope * x[keep]
    ss_tot = float(np.sum((y[keep] - y[keep].mean()) ** 2))
    ss_res = float(np.sum((y[keep] - fitted) ** 2))
    return RtAlignment(
        intercept_s=float(intercept),
        slope_s=float(slope),
        r_squared=1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan,
        rms_s=float(np.sqrt(ss_res / keep.sum())),
        anchors=tuple(n for n, k in zip(names, keep, strict=True) if k),
        dropped=tuple(n for n, k in zip(names, keep, strict=True) if not k),
    )
