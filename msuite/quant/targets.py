"""Quantification targets: a method or transition list grouped into peak groups.

One :class:`TargetGroup` is what one peak group integrates: every transition of a peptide
precursor (light) together with its heavy standard, or a small molecule together with its
internal standard. Light and heavy precursors of the same protein, modified sequence and charge
are paired; a small molecule's transitions are split by label when the list gives one.

Transition ids are the list's own (``Transition.name``: TraML ``Transition id``, OpenMS
``TransitionId``/``transition_name``). :func:`list_rows` also reads ids, labels and precursor m/z
from OpenMS tables and TraML directly, and :func:`build_targets` lays them over the method,
transition by transition, matched on the id (else on product and precursor m/z or name), so the
groups follow the list exactly even where a format's reader normalises it. Lists without ids
(Skyline, vendor) get ids made from the group, label and fragment (``LVNEVTEFAK_2_light_y7``).

A TraML whose peptides :func:`msuite.methods.formats.read_any` refuses (sequences with letters
outside the 20 residues, such as OpenMS's test ``PEPTIDEB``) is still quantifiable: quantification
needs no chemistry, so :func:`load_targets` then builds the groups from the TraML rows alone and
says so in :attr:`TargetSet.notes`.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from msuite.core.errors import InputError, MSuiteError
from msuite.methods.model import Method

__all__ = [
    "ListRow",
    "TargetGroup",
    "TargetSet",
    "TraceTarget",
    "build_targets",
    "list_rows",
    "load_targets",
]

_MZ_MATCH = 1e-3


@dataclass(frozen=True, slots=True)
class TraceTarget:
    """One trace to find in a run.

    Attributes
    ----------
    transition_id
        The transition's id or name in the input list (made up when the list has none).
    label
        ``"light"`` or ``"heavy"`` (the heavy trace is the reference of its group).
    precursor_mz, product_mz
        Q1 and Q3 m/z; ``product_mz`` is NaN for a precursor (MS1/SIM) trace.
    quantifier
        True for the transition flagged as quantifier in the list.
    annotation
        Fragment annotation (``y7``), ``""`` when unknown.
    """

    transition_id: str
    label: str
    precursor_mz: float
    product_mz: float
    quantifier: bool = False
    annotation: str = ""

    @property
    def is_reference(self) -> bool:
        """True for the heavy (internal standard) trace."""
        return self.label == "heavy"


@dataclass(frozen=True, slots=True)
class TargetGroup:
    """The traces integrated together as one peak group.

    Attributes
    ----------
    group_id
        Unique id (``PEPTIDEK_2`` or the compound name).
    kind
        ``"peptide"`` or ``"compound"``.
    protein
        Protein accession(s) (``;``-separated), ``""`` for compounds.
    name
        Modified peptide sequence or compound name (the ``peptide_or_compound`` column).
    charge
        Precursor charge (0 when unknown).
    expected_rt
        Expected retention time in seconds (NaN when unknown).
    rt_window
        Full width of the list's retention-time window in seconds (NaN when unknown).
    traces
        Light traces first, then heavy.
    irt
        The peptide's iRT from the method (NaN when unknown); ``--align-rt`` maps it to
        seconds per run.
    """

    group_id: str
    kind: str
    protein: str
    name: str
    charge: int
    expected_rt: float
    rt_window: float
    traces: tuple[TraceTarget, ...]
    irt: float = math.nan

    @property
    def fixed_window(self) -> tuple[float, float] | None:
        """The list's integration window ``expected_rt +- rt_window / 2`` (s), None if unknown."""
        if math.isnan(self.expected_rt) or math.isnan(self.rt_window) or self.rt_window <= 0:
            return None
        half = self.rt_window / 2
        return (self.expected_rt - half, self.expected_rt + half)


@dataclass(slots=True)
class TargetSet:
    """All groups of a method, with where they came from."""

    groups: list[TargetGroup]
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def n_transitions(self) -> int:
        """Number of traces over all groups."""
        return sum(len(g.traces) for g in self.groups)


@dataclass(frozen=True, slots=True)
class ListRow:
    """What a list says about one transition that the method model does not keep."""

    transition_id: str
    names: tuple[str, ...]
    label: str
    precursor_mz: float
    product_mz: float
    protein: str = ""
    sequence: str = ""
    charge: int = 0
    rt: float = math.nan
    quantifier: bool = False


# ---------------------------------------------------------------------------- list rows
def _float(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


def _int(text: str | None) -> int:
    value = _float(text)
    return int(value) if math.isfinite(value) else 0


def _label(text: str | None) -> str:
    return "heavy" if (text or "").strip().lower().startswith("heavy") else "light"


def _bool(text: str | None) -> bool:
    return (text or "").strip().lower() in ("1", "true", "yes", "t")


def _openms_rows(path: Path) -> list[ListRow]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        head = fh.readline()
        fh.seek(0)
        delim = "\t" if head.count("\t") > head.count(",") else ","
        out = []
        for cells in csv.DictReader(fh, delimiter=delim):

            def get(*keys: str, _c: dict = cells) -> str:
                for k in keys:
                    v = _c.get(k)
                    if v not in (None, ""):
                        return str(v).strip()
                return ""

            names = tuple(
                n
                for n in (
                    get("CompoundName"),
                    get("TransitionGroupId", "transition_group_id"),
                    get("ProteinId", "ProteinName"),
                )
                if n
            )
            out.append(
                ListRow(
                    transition_id=get("TransitionId", "transition_name"),
                    names=names,
                    label=_label(get("LabelType")),
                    precursor_mz=_float(get("PrecursorMz")),
                    product_mz=_float(get("ProductMz")),
                    protein=get("ProteinId", "ProteinName"),
                    sequence=get("ModifiedPeptideSequence", "FullPeptideName", "PeptideSequence"),
                    charge=_int(get("PrecursorCharge")),
                    rt=_float(get("NormalizedRetentionTime", "RetentionTime")),
                    quantifier=_bool(get("QuantifyingTransition", "quantifying_transition")),
                )
            )
    return out


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _cv_values(el: etree._Element) -> dict[str, str]:
    out = {}
    for p in el.iter():
        if _local(p.tag) in ("cvParam", "userParam"):
            out[p.get("name", "")] = p.get("value", "")
    return out


def _traml_rows(path: Path) -> list[ListRow]:
    peptides: dict[str, tuple[str, str, int, float, str]] = {}
    compounds: dict[str, str] = {}
    out = []
    for _, el in etree.iterparse(str(path), events=("end",), huge_tree=True):
        tag = _local(el.tag)
        if tag == "Peptide":
            refs = [r.get("ref", "") for r in el if _local(r.tag) == "ProteinRef"]
            params = _cv_values(el)
            heavy = any("heavy" in k.lower() or k.lower().startswith("label:") for k in params)
            label = "heavy" if heavy else "light"
            rt = _float(
                params.get("normalized retention time")
                or params.get("local retention time")
                or params.get("predicted retention time")
            )
            charge = _int(params.get("charge state"))
            peptides[el.get("id", "")] = (
                el.get("sequence", ""),
                ";".join(r for r in refs if r),
                charge,
                rt,
                label,
            )
        elif tag == "Compound":
            compounds[el.get("id", "")] = el.get("name", "") or el.get("id", "")
        elif tag == "Transition":
            pre = next((c for c in el if _local(c.tag) == "Precursor"), None)
            prod = next((c for c in el if _local(c.tag) == "Product"), None)
            q1 = (
                _float(_cv_values(pre).get("isolation window target m/z"))
                if pre is not None
                else math.nan
            )
            q3 = (
                _float(_cv_values(prod).get("isolation window target m/z"))
                if prod is not None
                else math.nan
            )
            pep_ref, cmp_ref = el.get("peptideRef"), el.get("compoundRef")
            if pep_ref is not None:
                seq, prot, charge, rt, label = peptides.get(pep_ref, ("", "", 0, math.nan, "light"))
                names: tuple[str, ...] = (pep_ref, seq)
            else:
                seq, prot, charge, rt, label = "", "", 0, math.nan, "light"
                names = (compounds.get(cmp_ref or "", cmp_ref or ""), cmp_ref or "")
            params = _cv_values(el)
            out.append(
                ListRow(
                    transition_id=el.get("id", ""),
                    names=names,
                    label=label,
                    precursor_mz=q1,
                    product_mz=q3,
                    protein=prot,
                    sequence=seq,
                    charge=charge,
                    rt=rt,
                    quantifier="quantifier" in " ".join(params).lower()
                    or params.get("QuantifyingTransition", "") in ("1", "true"),
                )
            )
            el.clear()
    return out


def list_rows(path: str | Path) -> list[ListRow]:
    """Per-transition ids, labels and precursor m/z of an OpenMS table or TraML (file order).

    Other formats carry no transition ids: an empty list is returned for them.
    """
    p = Path(path)
    name = p.name.lower()
    try:
        if name.endswith(".traml"):
            return _traml_rows(p)
        with open(p, encoding="utf-8-sig", errors="replace") as fh:
            first = fh.readline().lower()
        if first.lstrip().startswith("<"):
            return _traml_rows(p)
        if "precursormz" in first and "productmz" in first:
            return _openms_rows(p)
    except (OSError, etree.XMLSyntaxError, csv.Error) as exc:
        raise InputError(f"cannot read the transition list ({exc})", path=str(p)) from None
    return []


# ------------------------------------------------------------------------- build groups
class _RowPool:
    """List rows waiting to be matched to method transitions, by id or product m/z."""

    def __init__(self, rows: Iterable[ListRow]) -> None:
        self._by_q3: dict[int, list[ListRow]] = defaultdict(list)
        self._by_id: dict[str, ListRow] = {}
        for r in rows:
            if not math.isnan(r.product_mz):
                self._by_q3[round(r.product_mz * 1000)].append(r)
            if r.transition_id:
                self._by_id.setdefault(r.transition_id, r)

    def _remove(self, row: ListRow) -> ListRow:
        self._by_id.pop(row.transition_id, None)
        if not math.isnan(row.product_mz):
            rows = self._by_q3[round(row.product_mz * 1000)]
            for i, r in enumerate(rows):
                if r is row:
                    del rows[i]
                    break
        return row

    def take(
        self, q1: float, q3: float, names: tuple[str, ...], transition_id: str = ""
    ) -> ListRow | None:
        """Remove and return the row of ``transition_id``, else the first row with this
        product m/z that fits ``q1`` or one of ``names``."""
        if transition_id and transition_id in self._by_id:
            return self._remove(self._by_id[transition_id])
        if math.isnan(q3):
            return None
        key = round(q3 * 1000)
        for k in (key, key - 1, key + 1):
            for r in self._by_q3.get(k, []):
                if abs(r.product_mz - q3) > _MZ_MATCH:
                    continue
                if abs(r.precursor_mz - q1) <= _MZ_MATCH or set(names) & set(r.names):
                    return self._remove(r)
        return None


def _made_id(group_id: str, label: str, annotation: str, product_mz: float) -> str:
    return f"{group_id}_{label}_{annotation or f'{product_mz:.4f}'}"


def _sort_traces(traces: list[TraceTarget]) -> tuple[TraceTarget, ...]:
    return tuple(sorted(traces, key=lambda t: t.label == "heavy"))


def build_targets(method: Method, rows: list[ListRow] | None = None) -> list[TargetGroup]:
    """Group a method's transitions into peak groups, with ids and labels from ``rows``.

    Decoy precursors are left out.
    """
    pool = _RowPool(rows or [])
    inst = method.instrument
    by_key: dict[tuple[str, str, int], list] = {}
    for prec in method.precursors:
        if prec.decoy:  # decoy assays score peak picking; they are not quantified
            continue
        by_key.setdefault((prec.protein, prec.modified_sequence, prec.charge), []).append(prec)
    groups: list[TargetGroup] = []
    for (protein, seq, charge), precs in by_key.items():
        group_id = f"{seq}_{charge}"
        traces = []
        rt = math.nan
        window = math.nan
        irt = math.nan
        for prec in precs:
            if math.isnan(rt) and not math.isnan(prec.irt):
                irt = prec.irt
                rt = inst.rt_seconds(prec.irt)
                window = abs(inst.irt_slope) * prec.irt_window
            for t in prec.transitions:
                row = pool.take(prec.precursor_mz, t.product_mz, (seq, group_id), t.name)
                tid = t.name or (row.transition_id if row else "")
                traces.append(
                    TraceTarget(
                        tid or _made_id(group_id, prec.label, t.annotation, t.product_mz),
                        prec.label,
                        prec.precursor_mz,
                        t.product_mz,
                        t.quantifier,
                        t.annotation,
                    )
                )
        groups.append(
            TargetGroup(
                group_id, "peptide", protein, seq, charge, rt, window, _sort_traces(traces), irt
            )
        )
    by_name: dict[str, list] = {}
    for mol in method.small_molecules:  # a compound and its internal standard: one group
        by_name.setdefault(mol.name, []).append(mol)
    for name, mols in by_name.items():
        traces = []
        for mol in mols:
            names = (mol.name, mol.identifier)
            for t in mol.transitions:
                row = pool.take(mol.precursor_mz, t.product_mz, names, t.name)
                label = getattr(mol, "label", "") or (row.label if row else "light")
                q1 = mol.precursor_mz
                if row is not None and not math.isnan(row.precursor_mz):
                    q1 = row.precursor_mz
                tid = t.name or (row.transition_id if row else "")
                made = _made_id(name, label, t.annotation, t.product_mz)
                traces.append(
                    TraceTarget(tid or made, label, q1, t.product_mz, t.quantifier, t.annotation)
                )
            if not mol.transitions:
                label = getattr(mol, "label", "") or "light"
                made = _made_id(name, label, f"{mol.adduct or 'MS1'}", mol.precursor_mz)
                traces.append(TraceTarget(made, label, mol.precursor_mz, math.nan, True, "MS1"))
        rt = next((m.rt for m in mols if math.isfinite(m.rt)), math.nan)
        window = next((m.rt_window for m in mols if math.isfinite(m.rt_window)), math.nan)
        groups.append(
            TargetGroup(
                name, "compound", "", name, mols[0].charge, rt, window, _sort_traces(traces)
            )
        )
    return groups


def _groups_from_rows(rows: list[ListRow]) -> list[TargetGroup]:
    """Groups from list rows alone (used when the method reader refuses the list)."""
    by_group: dict[tuple[str, str, int], list[ListRow]] = {}
    for r in rows:
        name = r.sequence or (r.names[0] if r.names else r.transition_id)
        by_group.setdefault((r.protein, name, r.charge), []).append(r)
    out = []
    for (protein, name, charge), members in by_group.items():
        kind = "peptide" if members[0].sequence else "compound"
        gid = f"{name}_{charge}" if kind == "peptide" and charge else name
        traces = [
            TraceTarget(
                r.transition_id or _made_id(gid, r.label, "", r.product_mz),
                r.label,
                r.precursor_mz,
                r.product_mz,
                r.quantifier,
            )
            for r in members
        ]
        rt = members[0].rt if kind == "compound" else math.nan
        out.append(
            TargetGroup(gid, kind, protein, name, charge, rt, math.nan, _sort_traces(traces))
        )
    return out


def _check_unique_ids(groups: list[TargetGroup], source: str) -> None:
    seen: dict[str, str] = {}
    for g in groups:
        for t in g.traces:
            if t.transition_id in seen:
                raise InputError(
                    "transition id used twice",
                    path=source,
                    field="transition_id",
                    value=t.transition_id,
                    allowed="one id per transition",
                )
            seen[t.transition_id] = g.group_id


def _decoy_notes(method: Method) -> list[str]:
    n = sum(p.decoy for p in method.precursors)
    return [f"{n} decoy precursors not quantified"] if n else []


def load_targets(
    transitions: str | Path | None = None, method: str | Path | None = None
) -> TargetSet:
    """Read a transition list (any format ``read_any`` reads) or an msuite method into groups.

    Exactly one of ``transitions`` and ``method`` is given.
    """
    from msuite.methods.formats import read_any

    if (transitions is None) == (method is None):
        raise InputError(
            "give either a transition list or a method",
            field="--transitions",
            allowed="--transitions FILE or --method M",
        )
    if method is not None:
        from msuite.methods.storage import load_method

        mpath = Path(method)
        if not mpath.exists():
            raise InputError("method not found", path=str(mpath), field="--method")
        m = load_method(mpath)
        groups = build_targets(m, [])
        _check_unique_ids(groups, str(mpath))
        return TargetSet(groups, str(mpath), _decoy_notes(m))
    path = Path(transitions)  # type: ignore[arg-type]
    if not path.is_file():
        raise InputError("transition list not found", path=str(path), field="--transitions")
    notes: list[str] = []
    try:
        m = read_any(path)
    except InputError as exc:
        rows = list_rows(path) if path.name.lower().endswith(".traml") else []
        if not rows:
            raise
        notes.append(f"method reader refused the list ({exc}); groups built from TraML rows")
        groups = _groups_from_rows(rows)
    except MSuiteError:
        raise
    except Exception as exc:  # a reader crash on a malformed file is still bad input
        raise InputError(
            f"cannot read the transition list ({type(exc).__name__}: {exc})",
            path=str(path),
            field="--transitions",
        ) from None
    else:
        groups = build_targets(m, list_rows(path))
        notes += _decoy_notes(m)
    if not groups:
        raise InputError(
            "the transition list holds no transitions", path=str(path), field="--transitions"
        )
    _check_unique_ids(groups, str(path))
    return TargetSet(groups, str(path), notes)
