"""The sample sheet of a quantification batch: which run is a calibrator, a QC, a blank or an
unknown, at which nominal concentration, in which injection order.

A sheet is a CSV (or tab- or semicolon-separated) table with a header row. Column names are
matched without regard to case, spaces, hyphens or underscores, and Skyline's names are
understood:

=================  =====================================================================
column             meaning
=================  =====================================================================
run                the run's file name or path (matched to the RUN arguments by name
                   without format suffix), also ``file``, ``file name``, ``data file``
sample_type        ``unknown``, ``calibrator`` (also ``standard``), ``qc`` (also
                   ``quality control``), ``blank`` (matrix with internal standard),
                   ``double_blank`` (no internal standard), ``solvent``
concentration      nominal analyte concentration of calibrators and QCs (also
                   ``analyte concentration``); required for them, ignored otherwise
concentration:T    optional: the nominal concentration of target ``T`` (a peptide,
                   compound or group id) in this sample, where targets differ
sample             optional: the sample a run is a replicate injection of (default: the
                   calibrator level or QC level, for other types the run)
dilution_factor    optional: the reported concentration is multiplied by it (default 1)
injection_order    optional: position in the injection sequence (default: sheet order)
qc_level           optional: the QC level's name, e.g. ``QC-L`` (default: from the
                   concentration)
=================  =====================================================================
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from msuite.core.errors import InputError
from msuite.quant.quantify import run_name
from msuite.quant.tables import read_table

__all__ = [
    "SAMPLE_TYPES",
    "Sample",
    "SampleSheet",
    "read_sample_sheet",
]

#: the sample types a sheet may give, in the canonical spelling used in the results
SAMPLE_TYPES = ("unknown", "calibrator", "qc", "blank", "double_blank", "solvent")
_TYPE_ALIASES = {
    "standard": "calibrator",
    "cal": "calibrator",
    "calibration": "calibrator",
    "std": "calibrator",
    "qualitycontrol": "qc",
    "doubleblank": "double_blank",
    "sample": "unknown",
}
_COLUMN_ALIASES = {
    "run": ("run", "file", "filename", "datafile", "rawfile", "path"),
    "sample_type": ("sampletype", "type"),
    "concentration": ("concentration", "analyteconcentration", "nominalconcentration"),
    "sample": ("sample", "samplename", "sampleid"),
    "dilution_factor": ("dilutionfactor", "dilution"),
    "injection_order": ("injectionorder", "order"),
    "qc_level": ("qclevel", "level"),
}
_CONC_PREFIX = "concentration:"


def _key(text: str) -> str:
    return "".join(ch for ch in text.strip().lower() if ch not in " _-")


@dataclass(frozen=True)
class Sample:
    """One run of the batch as the sheet describes it.

    Attributes
    ----------
    run
        The run's name in the results (file name without format suffix).
    sample_type
        One of :data:`SAMPLE_TYPES`.
    concentration
        Nominal analyte concentration (NaN for unknowns and blanks).
    sample
        The sample this run is an injection of; replicate injections share it.
    dilution_factor
        Factor the back-calculated concentration is multiplied by.
    order
        Injection order (smaller is earlier).
    qc_level
        The QC level's name (empty unless ``sample_type`` is ``qc``).
    target_concentrations
        Per-target nominal concentrations overriding ``concentration``.
    line
        The sheet line the sample was read from.
    """

    run: str
    sample_type: str
    concentration: float = math.nan
    sample: str = ""
    dilution_factor: float = 1.0
    order: int = 0
    qc_level: str = ""
    target_concentrations: Mapping[str, float] = field(default_factory=dict)
    line: int = 0

    def nominal(self, *names: str) -> float:
        """Nominal concentration of the first of ``names`` the sheet gives, else the sample's."""
        for name in names:
            if name in self.target_concentrations:
                return self.target_concentrations[name]
        return self.concentration


@dataclass(frozen=True)
class SampleSheet:
    """The samples of a batch, by run name, in injection order."""

    samples: tuple[Sample, ...]
    source: str = ""

    def __post_init__(self) -> None:
        seen: dict[str, Sample] = {}
        for s in self.samples:
            if s.run in seen:
                raise InputError(
                    f"run listed twice (also on line {seen[s.run].line})",
                    path=self.source or None,
                    line=s.line or None,
                    field="run",
                    value=s.run,
                    allowed="each run once",
                )
            seen[s.run] = s

    def __getitem__(self, run: str) -> Sample:
        return self.by_run()[run]

    def by_run(self) -> dict[str, Sample]:
        """Samples keyed by run name."""
        return {s.run: s for s in self.samples}

    def of_type(self, *types: str) -> list[Sample]:
        """Samples of the given types, in injection order."""
        return [s for s in self.ordered() if s.sample_type in types]

    def ordered(self) -> list[Sample]:
        """All samples in injection order."""
        return sorted(self.samples, key=lambda s: (s.order, s.line))

    def check_runs(self, runs: Iterable[str]) -> None:
        """Refuse a batch whose runs and sheet rows do not correspond one to one."""
        names = list(runs)
        listed = self.by_run()
        missing = [r for r in names if r not in listed]
        if missing:
            raise InputError(
                "runs not in the sample sheet",
                path=self.source or None,
                field="run",
                value=missing[:10],
                allowed=f"one of the {len(listed)} runs the sheet lists",
            )
        extra = [r for r in listed if r not in set(names)]
        if extra:
            raise InputError(
                "the sample sheet lists runs that were not given",
                path=self.source or None,
                field="run",
                value=extra[:10],
                allowed="give every run of the sheet, or remove its row",
            )


def _number(text: str, *, path: str, line: int, column: str, positive: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            "not a number", path=path, line=line, field=column, value=text, allowed="a number"
        ) from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise InputError(
            "out of range",
            path=path,
            line=line,
            field=column,
            value=text,
            allowed="a finite number > 0" if positive else "a finite number >= 0",
        )
    return value


def _header(fields: list[str], path: str) -> tuple[dict[str, int], dict[str, int]]:
    """Map canonical column names and per-target concentration columns to indices."""
    columns: dict[str, int] = {}
    targets: dict[str, int] = {}
    lookup = {alias: name for name, aliases in _COLUMN_ALIASES.items() for alias in aliases}
    for i, raw in enumerate(fields):
        text = raw.strip()
        if text.lower().startswith(_CONC_PREFIX):
            targets[text[len(_CONC_PREFIX) :].strip()] = i
            continue
        name = lookup.get(_key(text))
        if name and name not in columns:
            columns[name] = i
    for required in ("run", "sample_type"):
        if required not in columns:
            raise InputError(
                "missing column",
                path=path,
                line=1,
                field=required,
                value=fields,
                allowed=f"a header with {', '.join(_COLUMN_ALIASES)}",
            )
    return columns, targets


def _sample_type(text: str, *, path: str, line: int) -> str:
    key = _key(text)
    canonical = {_key(t): t for t in SAMPLE_TYPES}
    found = canonical.get(key) or _TYPE_ALIASES.get(key)
    if found is None:
        raise InputError(
            "unknown sample type",
            path=path,
            line=line,
            field="sample_type",
            value=text,
            allowed=[*SAMPLE_TYPES, "standard", "quality control", "double blank"],
        )
    return found


def _row_to_sample(
    row: list[str],
    columns: dict[str, int],
    targets: dict[str, int],
    *,
    path: str,
    line: int,
) -> Sample:
    def cell(name: str) -> str:
        i = columns.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    run = run_name(cell("run")) if cell("run") else ""
    if not run:
        raise InputError(
            "empty run", path=path, line=line, field="run", value="", allowed="a run file name"
        )
    kind = _sample_type(cell("sample_type"), path=path, line=line)
    conc_text = cell("concentration")
    conc = (
        _number(conc_text, path=path, line=line, column="concentration") if conc_text else math.nan
    )
    per_target = {}
    for name, i in targets.items():
        text = row[i].strip() if i < len(row) else ""
        if text:
            per_target[name] = _number(text, path=path, line=line, column=_CONC_PREFIX + name)
    if kind in ("calibrator", "qc") and not math.isfinite(conc) and not per_target:
        raise InputError(
            f"a {kind} needs its nominal concentration",
            path=path,
            line=line,
            field="concentration",
            value=conc_text,
            allowed="a number >= 0",
        )
    dilution_text = cell("dilution_factor")
    dilution = (
        _number(dilution_text, path=path, line=line, column="dilution_factor", positive=True)
        if dilution_text
        else 1.0
    )
    order_text = cell("injection_order")
    order = (
        int(_number(order_text, path=path, line=line, column="injection_order"))
        if order_text
        else line
    )
    level = cell("qc_level")
    if kind == "qc" and not level:
        level = f"QC {conc:g}" if math.isfinite(conc) else "QC"
    sample = cell("sample")
    if not sample:  # replicate injections of a calibrator or QC level share its name
        level_name = f"calibrator {conc:g}" if math.isfinite(conc) else run
        sample = {"calibrator": level_name, "qc": level}.get(kind, run)
    return Sample(
        run=run,
        sample_type=kind,
        concentration=conc,
        sample=sample,
        dilution_factor=dilution,
        order=order,
        qc_level=level if kind == "qc" else "",
        target_concentrations=per_target,
        line=line,
    )


def read_sample_sheet(path: str | Path) -> SampleSheet:
    """Read a sample sheet (see the module documentation for its columns).

    Raises
    ------
    InputError
        Naming the file, line, column and value of the first thing that is not acceptable.
    """
    table = read_table(path, "sample sheet", option="--samples")
    where = table.path
    columns, targets = _header(table.header, where)
    samples = [_row_to_sample(row, columns, targets, path=where, line=n) for n, row in table.rows]
    if not samples:
        raise InputError(
            "the sample sheet has no rows", path=where, line=2, allowed="one row per run"
        )
    return SampleSheet(tuple(samples), where)
