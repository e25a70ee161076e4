"""Reference outputs of OpenMS and SmartPeak for the peak-group comparison: a featureXML
reader, transition-group lists and the comparison itself (shared by the tests and
``benchmarks/srm_peers.py``)."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from lxml import etree

from msuite.core.model import Chromatogram
from msuite.io.mzml_reader import MzMLReader
from msuite.quant.peak_groups import PeakGroupParams, rank_peak_groups

SRM_DIR = Path("OpenMS") / "srm_mrm"
YEAST_DIR = Path("SmartPeak") / "yeast_MRM_unknowns"
YEAST_MZML = YEAST_DIR / "170808_Jonathan_yeast_Sacc1_1x.mzML"
YEAST_FEATURES = (
    YEAST_DIR / "170808_Jonathan_yeast_Sacc1_1x_1_FluxTest_1900-01-01_000000.featureXML"
)
YEAST_TRANSITIONS = YEAST_DIR / "LCMS_MRM_Unknowns_traML.csv"
TRAML_NS = "{http://psi.hupo.org/ms/traml}"


class PickedGroup(Protocol):
    """What the comparison reads of a picked group: its RT and per-trace areas."""

    rt: float
    area: np.ndarray


Picker = Callable[
    [list[str], list[np.ndarray], list[np.ndarray], list[bool]], Sequence[PickedGroup]
]


@dataclass(slots=True)
class RefTransition:
    """A subordinate feature: one transition's area in a reference feature."""

    native_id: str
    area: float
    apex_rt: float


@dataclass(slots=True)
class RefFeature:
    """A reference feature (one peak group) with its boundaries, in seconds."""

    group_id: str
    rt: float
    area: float
    left: float
    right: float
    transitions: list[RefTransition] = field(default_factory=list)


def read_feature_xml(path: Path, time_scale: float = 1.0) -> list[RefFeature]:
    """Top-level features of a featureXML file; RTs multiplied by ``time_scale``."""
    root = etree.parse(str(path)).getroot()
    features = []
    for feat in root.iterfind("featureList/feature"):
        params = {u.get("name"): u.get("value") for u in feat.iterfind("UserParam")}
        ref = RefFeature(
            group_id=params["PeptideRef"],
            rt=float(feat.findtext("position")) * time_scale,
            area=float(feat.findtext("intensity")),
            left=float(params["leftWidth"]) * time_scale,
            right=float(params["rightWidth"]) * time_scale,
        )
        for sub in feat.iterfind("subordinate/feature"):
            sp = {u.get("name"): u.get("value") for u in sub.iterfind("UserParam")}
            apex = float(sp.get("peak_apex_position", math.nan)) * time_scale
            ref.transitions.append(
                RefTransition(sp["native_id"], float(sub.findtext("intensity")), apex)
            )
        features.append(ref)
    return features


@dataclass(slots=True)
class TransitionGroup:
    """Transitions of one group: native ids, standard flags and expected RT (s)."""

    group_id: str
    native_ids: list[str] = field(default_factory=list)
    is_reference: list[bool] = field(default_factory=list)
    expected_rt: float = math.nan


def read_traml_groups(path: Path) -> dict[str, TransitionGroup]:
    """Transition groups of a TraML file (transition id -> peptide ref)."""
    root = etree.parse(str(path)).getroot()
    groups: dict[str, TransitionGroup] = {}
    for tr in root.iter(f"{TRAML_NS}Transition"):
        gid = tr.get("peptideRef") or tr.get("compoundRef")
        group = groups.setdefault(gid, TransitionGroup(gid))
        group.native_ids.append(tr.get("id"))
        group.is_reference.append(False)
    return groups


def read_csv_groups(path: Path, time_scale: float = 60.0) -> dict[str, TransitionGroup]:
    """Transition groups of an OpenMS TraML-CSV list (RetentionTime in minutes)."""
    groups: dict[str, TransitionGroup] = {}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            gid = row["transition_group_id"]
            group = groups.setdefault(gid, TransitionGroup(gid))
            group.native_ids.append(row["transition_name"])
            group.is_reference.append(row.get("LabelType", "").lower() == "heavy")
            rt = row.get("RetentionTime", "")
            if rt and math.isnan(group.expected_rt):
                group.expected_rt = float(rt) * time_scale
    return groups


def map_chromatograms_by_mz(
    chroms: list[Chromatogram], path: Path, tolerance: float = 0.0009
) -> dict[str, Chromatogram]:
    """Transition name -> chromatogram of the nearest Q1/Q3 within ``tolerance`` (Th), as
    OpenMS MRMMapping does (SmartPeak's yeast workflow maps with 0.0009 Th)."""
    out: dict[str, Chromatogram] = {}
    srm = [c for c in chroms if math.isfinite(c.precursor_mz)]
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            q1, q3 = float(row["PrecursorMz"]), float(row["ProductMz"])
            near = [
                (abs(c.precursor_mz - q1) + abs(c.product_mz - q3), k)
                for k, c in enumerate(srm)
                if abs(c.precursor_mz - q1) <= tolerance and abs(c.product_mz - q3) <= tolerance
            ]
            if near:
                out[row["transition_name"]] = srm[min(near)[1]]
    return out


@dataclass(slots=True)
class Comparison:
    """Agreement of msuite's peak groups with a reference set."""

    name: str
    features: int = 0
    rt_ok: int = 0
    area_ok: int = 0
    both_ok: int = 0
    rows: list[tuple[str, str, float, float, float, float]] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        """Fraction of compared features with RT and area both within tolerance."""
        return self.both_ok / self.features if self.features else 0.0

    def summary(self) -> str:
        """One line of figures."""
        n = max(self.features, 1)
        return (
            f"{self.name}: {self.features} features; RT within 5 s: {self.rt_ok / n:.1%}; "
            f"area within 10 %: {self.area_ok / n:.1%}; both: {self.fraction:.1%}"
        )


def compare(
    name: str,
    references: list[RefFeature],
    groups: dict[str, TransitionGroup],
    chroms: dict[str, Chromatogram],
    params: PeakGroupParams,
    *,
    rt_tol: float = 5.0,
    area_tol: float = 0.10,
    use_expected_rt: bool = False,
    max_groups: int | None = 5,
    picker: Picker | None = None,
) -> Comparison:
    """Pick every referenced group and compare per transition (subordinates) or per group.

    Each reference feature is matched to the picked group (of the same transition group,
    among the ``max_groups`` best ranked) whose RT is nearest; a reference group may hold
    several features (OpenSwathAnalyzer reports every peak group it finds). ``picker``
    replaces msuite's :func:`rank_peak_groups` (e.g. by a peer tool run in memory).
    """
    result = Comparison(name)
    by_group: dict[str, list[RefFeature]] = defaultdict(list)
    for ref in references:
        by_group[ref.group_id].append(ref)
    for gid, refs in by_group.items():
        group = groups[gid]
        pairs = [
            (i, f) for i, f in zip(group.native_ids, group.is_reference, strict=True) if i in chroms
        ]
        ids = [i for i, _ in pairs]
        expected = group.expected_rt if use_expected_rt else math.nan
        times = [chroms[i].time for i in ids]
        values = [chroms[i].intensity for i in ids]
        flags = [f for _, f in pairs]
        if picker is None:
            picked = rank_peak_groups(
                times,
                values,
                is_reference=flags,
                expected_rt=expected if math.isfinite(expected) else None,
                params=params,
                max_groups=max_groups,
            )
        else:
            picked = picker(ids, times, values, flags)[:max_groups]
        for ref in refs:
            _compare_feature(result, ref, ids, _nearest(picked, ref.rt), rt_tol, area_tol)
    return result


def _nearest(picked: Sequence[PickedGroup], rt: float) -> PickedGroup | None:
    if not picked:
        return None
    return min(picked, key=lambda g: abs(g.rt - rt))


def _compare_feature(
    result: Comparison,
    ref: RefFeature,
    ids: list[str],
    got: PickedGroup | None,
    rt_tol: float,
    area_tol: float,
) -> None:
    pairs: list[tuple[str, float, float]] = []
    if ref.transitions:
        for tr in ref.transitions:
            if tr.native_id in ids:
                area = got.area[ids.index(tr.native_id)] if got is not None else math.nan
                pairs.append((tr.native_id, tr.area, float(area)))
    else:
        pairs.append((ref.group_id, ref.area, float(np.sum(got.area)) if got else math.nan))
    rt = got.rt if got is not None else math.nan
    for native_id, ref_area, area in pairs:
        rt_ok = abs(rt - ref.rt) <= rt_tol
        area_ok = abs(area - ref_area) <= area_tol * abs(ref_area)
        result.features += 1
        result.rt_ok += rt_ok
        result.area_ok += area_ok
        result.both_ok += rt_ok and area_ok
        result.rows.append((ref.group_id, native_id, ref.rt, rt, ref_area, area))


def load_openswath(data: Path) -> tuple[list[RefFeature], dict, dict]:
    """OpenSwathAnalyzer test 1: references, transition groups and chromatograms."""
    refs = read_feature_xml(data / SRM_DIR / "OpenSwathAnalyzer_1_output.featureXML")
    groups = read_traml_groups(data / SRM_DIR / "OpenSwathAnalyzer_1_input.TraML")
    chroms = {
        c.native_id: c
        for c in MzMLReader(data / SRM_DIR / "OpenSwathAnalyzer_1_input_chrom.mzML").chromatograms()
    }
    return refs, groups, chroms


def load_yeast(data: Path) -> tuple[list[RefFeature], dict, dict]:
    """SmartPeak yeast MRM unknowns: references (minutes -> s), groups, chromatograms."""
    refs = read_feature_xml(data / YEAST_FEATURES, time_scale=60.0)
    groups = read_csv_groups(data / YEAST_TRANSITIONS)
    chroms = map_chromatograms_by_mz(
        list(MzMLReader(data / YEAST_MZML).chromatograms()), data / YEAST_TRANSITIONS
    )
    return refs, groups, chroms
