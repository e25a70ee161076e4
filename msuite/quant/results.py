"""Result tables of ``msuite quant``: transitions, peptides, proteins, compounds (CSV).

Peptide precursors and compounds are summarised per run from their transition rows:

- ``light_area`` / ``heavy_area``: summed background-subtracted areas of the **quantifier**
  transitions when the list flags a quantifier for both light and heavy, otherwise of **all**
  found transitions (``ratio_basis`` says which, per row);
- ``ratio`` = light / heavy (NaN without a heavy standard or with zero heavy area);
- ``response`` = ``ratio`` when there is a standard, else ``light_area``; with a calibration
  for the target, ``concentration`` is the response read back through the curve.

Proteins are rolled up from their peptides with :func:`msuite.quant.calibration.protein_rollup`
(median by default). Every file is written under a temporary name and all are renamed into
place only once every one has been written (:func:`write_files`).
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from msuite.core.errors import InputError
from msuite.io.atomic import atomic_output
from msuite.quant.batch import BATCH_FILES, SAMPLE_COLUMNS
from msuite.quant.calibration import CalibrationCurve, light_heavy_ratio, protein_rollup
from msuite.quant.quantify import QuantParams, RunResult
from msuite.quant.targets import TargetSet

if TYPE_CHECKING:
    from msuite.quant.batch_output import BatchOptions

__all__ = [
    "COMPOUND_COLUMNS",
    "PEPTIDE_COLUMNS",
    "PROTEIN_COLUMNS",
    "format_cell",
    "load_calibration",
    "summarise_groups",
    "summarise_proteins",
    "write_csv",
    "write_files",
]

#: columns of transitions.csv, in order (the first fourteen are the documented minimum)
TRANSITION_COLUMNS = (
    "run",
    "transition_id",
    "protein",
    "peptide_or_compound",
    "label",
    "precursor_mz",
    "product_mz",
    "rt",
    "rt_left",
    "rt_right",
    "area",
    "height",
    "background",
    "points_across",
    "found",
    "quantifier",
    "group_id",
    "kind",
    "charge",
    "trace_id",
    "integration",
    "expected_rt",
    "apex_rt",
    "fwhm",
    "snr",
    "group_score",
    "shape_score",
    "coelution_score",
    "note",
    "apex_intensity",
)
PEPTIDE_COLUMNS = (
    "run",
    "group_id",
    "protein",
    "peptide_or_compound",
    "charge",
    "found",
    "rt",
    "rt_left",
    "rt_right",
    "light_area",
    "heavy_area",
    "ratio",
    "ratio_basis",
    "response",
    "concentration",
    "n_transitions",
    "n_found",
    "n_light_found",
    "n_heavy_found",
    "integration",
    *SAMPLE_COLUMNS,
    "measure",
    "light_value",
    "heavy_value",
    "standard",
)
COMPOUND_COLUMNS = tuple(c for c in PEPTIDE_COLUMNS if c not in ("protein", "charge"))
#: every file msuite quant writes into DIR
RESULT_FILES = (
    frozenset(
        {
            "transitions.csv",
            "peptides.csv",
            "proteins.csv",
            "compounds.csv",
            "peptides.mzTab",
            "compounds.mzTab",
            "parameters.json",
        }
    )
    | BATCH_FILES
)
PROTEIN_COLUMNS = (
    "run",
    "protein",
    "n_peptides",
    "n_quantified",
    "ratio",
    "concentration",
    "rollup",
)


# --------------------------------------------------------------------------- calibration
def load_calibration(path: str | Path) -> dict[str, CalibrationCurve]:
    """Read calibration curves: JSON ``{"curves": {target: curve}}``.

    ``target`` is a ``peptide_or_compound`` value or a ``group_id``; ``curve`` holds
    ``coefficients`` (lowest order first), optionally ``model`` (``linear``/``quadratic``),
    ``weighting`` and ``range`` ``[lowest, highest calibrator]`` (needed for quadratics).
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("calibration file not found", path=str(p), field="--calibration") from None
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read the calibration ({exc})", path=str(p), field="--calibration"
        ) from None
    curves = data.get("curves") if isinstance(data, dict) else None
    if not isinstance(curves, dict):
        raise InputError(
            "no 'curves' object",
            path=str(p),
            field="curves",
            allowed='{"curves": {"TARGET": {"coefficients": [c0, c1]}}}',
        )
    out = {}
    for name, c in curves.items():
        try:
            coef = tuple(float(v) for v in c["coefficients"])
            model = str(c.get("model", "linear" if len(coef) == 2 else "quadratic"))
            lo, hi = (float(v) for v in c.get("range", (0.0, math.inf)))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"bad curve ({exc})",
                path=str(p),
                field=f"curves.{name}",
                value=c,
                allowed="coefficients, model, weighting, range",
            ) from None
        if (model, len(coef)) not in (("linear", 2), ("quadratic", 3)):
            raise InputError(
                "coefficients do not fit the model",
                path=str(p),
                field=f"curves.{name}",
                value=list(coef),
                allowed="linear: [c0, c1]; quadratic: [c0, c1, c2]",
            )
        out[str(name)] = CalibrationCurve(
            coef,
            model,
            str(c.get("weighting", "none")),
            float(c.get("r_squared", math.nan)),
            int(c.get("n_points", 0)),
            np.array([lo, hi]),
            np.array([]),
        )
    return out


# ------------------------------------------------------------------------------ summaries
def _sum(values: list[float]) -> float:
    v = [x for x in values if math.isfinite(x)]
    return float(sum(v)) if v else math.nan


#: what a response is made of (``--response``): transition-row column per measure
MEASURES = {"area": "area", "height": "height", "apex": "apex_intensity"}


def _basis(rows: list[dict[str, Any]]) -> tuple[str, bool]:
    light = [r for r in rows if r["label"] == "light"]
    heavy = [r for r in rows if r["label"] == "heavy"]
    use_quant = any(r["quantifier"] for r in light) and (
        not heavy or any(r["quantifier"] for r in heavy)
    )
    return ("quantifier" if use_quant else "all"), use_quant


def _summed(rows: list[dict[str, Any]], label: str, column: str, use_quant: bool) -> float:
    return _sum(
        [
            r[column]
            for r in rows
            if r["label"] == label and r["found"] and (r["quantifier"] or not use_quant)
        ]
    )


def _summary(
    rows: list[dict[str, Any]],
    curves: dict[str, CalibrationCurve],
    measure: str = "area",
    standard: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One group's summary row; ``standard``: the rows of the group whose heavy traces are
    this group's internal standard (a surrogate), None for its own."""
    first = rows[0]
    column = MEASURES[measure]
    basis, use_quant = _basis(rows)
    light = [r for r in rows if r["label"] == "light"]
    heavy = [r for r in rows if r["label"] == "heavy"]
    light_area = _summed(rows, "light", "area", use_quant)
    heavy_area = _summed(rows, "heavy", "area", use_quant) if heavy else math.nan
    light_value = _summed(rows, "light", column, use_quant)
    if standard is not None:
        std_basis, std_quant = _basis(standard)
        has_standard = any(r["label"] == "heavy" for r in standard)
        heavy_value = _summed(standard, "heavy", column, std_quant) if has_standard else math.nan
        basis = f"{basis}, standard {standard[0]['group_id']} ({std_basis})"
    else:
        has_standard = bool(heavy)
        heavy_value = _summed(rows, "heavy", column, use_quant) if heavy else math.nan
    ratio = (
        float(light_heavy_ratio(np.array([light_value]), np.array([heavy_value]))[0])
        if has_standard
        else math.nan
    )
    response = ratio if has_standard else light_value
    curve = curves.get(first["peptide_or_compound"]) or curves.get(first["group_id"])
    conc = math.nan
    if curve is not None and math.isfinite(response):
        conc = float(curve.back_calculate(response)[0])
    found_rows = [r for r in rows if r["found"]]
    ref = found_rows[0] if found_rows else first
    return {
        "run": first["run"],
        "group_id": first["group_id"],
        "protein": first["protein"],
        "peptide_or_compound": first["peptide_or_compound"],
        "charge": first["charge"],
        "found": bool(found_rows),
        "rt": ref["rt"],
        "rt_left": ref["rt_left"],
        "rt_right": ref["rt_right"],
        "light_area": light_area,
        "heavy_area": heavy_area,
        "ratio": ratio,
        "ratio_basis": basis if has_standard else f"{basis} (no standard)",
        "response": response,
        "concentration": conc,
        "n_transitions": len(rows),
        "n_found": len(found_rows),
        "n_light_found": sum(r["found"] for r in light),
        "n_heavy_found": sum(r["found"] for r in heavy),
        "integration": first["integration"],
        "kind": first["kind"],
        "measure": measure,
        "light_value": light_value,
        "heavy_value": heavy_value,
        "standard": (standard[0]["group_id"] if standard is not None else first["group_id"])
        if has_standard
        else "",
    }


def summarise_groups(
    results: Sequence[RunResult],
    curves: dict[str, CalibrationCurve] | None = None,
    measure: str = "area",
    standards: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One summary row per run and target group (peptide precursor or compound).

    Parameters
    ----------
    results
        The runs' transition rows.
    curves
        Calibration curves by ``peptide_or_compound`` or ``group_id``.
    measure
        What a response is made of: ``area`` (above background), ``height`` (above
        background) or ``apex`` (the highest raw intensity between the boundaries).
    standards
        Surrogate internal standards: group id -> group id whose heavy traces normalise it.
    """
    if measure not in MEASURES:
        raise InputError("unknown measure", field="--response", value=measure,
                         allowed=list(MEASURES))  # fmt: skip
    standards = standards or {}
    out = []
    for res in results:
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in res.rows:
            groups.setdefault(r["group_id"], []).append(r)
        for group_id, rows in groups.items():
            std = standards.get(group_id)
            out.append(_summary(rows, curves or {}, measure, groups[std] if std else None))
    return out


def summarise_proteins(peptides: Iterable[dict[str, Any]], rollup: str = "median") -> list[dict]:
    """One row per run and protein, rolled up from its peptide precursors."""
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in peptides:
        if p["kind"] == "peptide" and p["protein"]:
            by.setdefault((p["run"], p["protein"]), []).append(p)
    out = []
    for (run, protein), peps in by.items():
        ratios = [p["ratio"] for p in peps]
        concs = [p["concentration"] for p in peps]
        out.append(
            {
                "run": run,
                "protein": protein,
                "n_peptides": len(peps),
                "n_quantified": sum(math.isfinite(r) for r in ratios),
                "ratio": protein_rollup(ratios, rollup),
                "concentration": protein_rollup(concs, rollup),
                "rollup": rollup,
            }
        )
    return out


# --------------------------------------------------------------------------------- output
def format_cell(value: Any) -> str:
    """One CSV cell: NaN/None empty, booleans ``true``/``false``, floats to 10 digits."""
    kind = type(value)
    if kind is str:
        return value
    if kind is float or isinstance(value, np.floating):
        return format(float(value), ".10g") if math.isfinite(value) else ""
    if kind is bool or isinstance(value, np.bool_):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _column(values: list[Any]) -> list[str]:
    """Cells of one column (as :func:`format_cell`, one comprehension per column type)."""
    kinds = {type(v) for v in values}
    if kinds == {float}:  # v - v == 0 is False for NaN and +-inf
        return [format(v, ".10g") if v - v == 0 else "" for v in values]
    if kinds == {str}:
        return values
    if kinds == {bool}:
        return ["true" if v else "false" for v in values]
    return [format_cell(v) for v in values]


def write_csv(fh: TextIO, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    """Write ``rows`` (dicts) as CSV with exactly ``columns`` (cells as :func:`format_cell`)."""
    rows = list(rows)
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(columns)
    cells = [_column([r.get(c) for r in rows]) for c in columns]
    w.writerows(zip(*cells, strict=True))


def write_files(out_dir: str | Path, writers: dict[str, Callable[[Path], None]]) -> list[Path]:
    """Write every file of ``writers`` (name -> writer of a path) into ``out_dir`` atomically.

    All files are first written under temporary names; they are renamed into place only when
    every writer has succeeded. A failure leaves ``out_dir`` as it was.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError("output exists and is not a directory", path=str(out), field="--out")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    finals = [out / name for name in writers]
    try:
        with contextlib.ExitStack() as stack:
            for final, writer in zip(finals, writers.values(), strict=True):
                tmp = stack.enter_context(atomic_output(final))
                writer(tmp)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()
        raise
    return finals


def csv_writer(columns: Sequence[str], rows: list[dict[str, Any]]) -> Callable[[Path], None]:
    """A writer (for :func:`write_files`) of one CSV table."""

    def write(path: Path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            write_csv(fh, columns, rows)

    return write


def transition_rows(results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """All transition rows of all runs, in run then target order."""
    return [r for res in results for r in res.rows]


def _json_writer(data: dict[str, Any]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")

    return write


def parameters_record(
    results: Sequence[RunResult],
    targets: TargetSet,
    params: QuantParams,
    curves: dict[str, CalibrationCurve],
    rollup: str,
    command: str,
    batch: dict[str, Any] | None = None,
    manual: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything needed to audit the numbers: software, inputs, every parameter."""
    from msuite import __version__

    runs = []
    for r in results:
        p = Path(r.path)
        st = p.stat()
        runs.append(
            {
                "name": r.run,
                "path": str(p.resolve()),
                "bytes": st.st_size,
                "modified": datetime.fromtimestamp(st.st_mtime, UTC).isoformat(),
                "rt_alignment": r.alignment,
            }
        )
    return {
        "software": {"name": "msuite", "version": __version__},
        "command": command,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": runs,
        "targets": {
            "source": str(Path(targets.source).resolve()),
            "groups": len(targets.groups),
            "transitions": targets.n_transitions,
            "notes": targets.notes,
        },
        "parameters": params.to_dict(),
        "ratio": "light/heavy of summed background-subtracted areas: quantifier transitions "
        "when flagged for light and heavy, otherwise all found transitions "
        "(ratio_basis column)",
        "protein_rollup": rollup,
        "calibration": {k: c.to_dict() for k, c in curves.items()},
        "batch": batch,
        "manual_boundaries": manual,
    }


def write_results(
    out_dir: str | Path,
    results: Sequence[RunResult],
    targets: TargetSet,
    params: QuantParams,
    *,
    curves: dict[str, CalibrationCurve] | None = None,
    rollup: str = "median",
    command: str = "",
    batch: BatchOptions | None = None,
    manual: dict[str, Any] | None = None,
    measure: str = "area",
    standards: dict[str, str] | None = None,
) -> str:
    """Write every result file of ``msuite quant`` into ``out_dir`` (all or nothing).

    Files: ``transitions.csv``, ``parameters.json``; with peptides ``peptides.csv``,
    ``proteins.csv`` and ``peptides.mzTab`` (mzTab 1.0); with compounds ``compounds.csv`` and
    ``compounds.mzTab`` (mzTab-M 2.0). With ``batch`` (a sample sheet), the batch's curves are
    fitted, every sample's concentration filled in and the files of
    :mod:`msuite.quant.batch_output` written too. Returns a one-line summary.
    """
    from msuite.quant.mztab import write_mztab_m, write_mztab_peptides

    curves = curves or {}
    rows = transition_rows(results)
    groups = summarise_groups(results, curves, measure, standards)
    writers: dict[str, Callable[[Path], None]] = {
        "transitions.csv": csv_writer(TRANSITION_COLUMNS, rows),
    }
    batch_summary = ""
    if batch is not None:
        from msuite.quant.batch_output import batch_outputs

        batch_writers, fitted, batch_summary = batch_outputs(
            groups, rows, batch, curves, csv_writer, {r.run: r.path for r in results}
        )
        writers.update(batch_writers)
        curves = {**curves, **fitted.curves}
    peptides = [g for g in groups if g["kind"] == "peptide"]
    compounds = [g for g in groups if g["kind"] == "compound"]
    proteins = summarise_proteins(peptides, rollup)
    record = parameters_record(
        results,
        targets,
        params,
        curves,
        rollup,
        command,
        batch.to_dict() if batch is not None else None,
        manual,
    )
    record["response"] = {"measure": measure, "internal_standards": standards or {}}
    runs = [(r.run, r.path) for r in results]
    flat = params.to_dict()
    if peptides:
        writers["peptides.csv"] = csv_writer(PEPTIDE_COLUMNS, peptides)
        writers["proteins.csv"] = csv_writer(PROTEIN_COLUMNS, proteins)
        writers["peptides.mzTab"] = lambda p: write_mztab_peptides(
            p, runs, peptides, proteins, rows, flat
        )
    if compounds:
        writers["compounds.csv"] = csv_writer(COMPOUND_COLUMNS, compounds)
        writers["compounds.mzTab"] = lambda p: write_mztab_m(p, runs, compounds, rows, flat)
    writers["parameters.json"] = _json_writer(record)
    write_files(out_dir, writers)
    for stale in RESULT_FILES - set(writers):  # from an earlier run of another kind of target
        (Path(out_dir) / stale).unlink(missing_ok=True)
    found = sum(1 for r in rows if r["found"])
    return (
        f"wrote {Path(out_dir)}: {len(results)} runs, {len(rows)} transition rows "
        f"({found} found), {len(peptides)} peptide and {len(compounds)} compound rows, "
        f"{len(proteins)} protein rows" + (f"; {batch_summary}" if batch_summary else "")
    )


__all__ += [
    "TRANSITION_COLUMNS",
    "csv_writer",
    "parameters_record",
    "transition_rows",
    "write_results",
]
