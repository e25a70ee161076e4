"""The files a sample sheet adds to ``msuite quant``'s output folder.

=====================  ==============================================================
file                   content
=====================  ==============================================================
calibration.csv        one row per target: curve, r², levels, LLOQ/ULOQ, LOD, LOQ
calibrators.csv        one row per target and calibrator: back-calculated value, accuracy
calibration.json       the curves, readable again with ``--calibration``
replicates.csv         mean, SD and CV of replicate injections of one sample
qc.csv                 system-suitability checks (RT, IS area CV, ion ratio, carry-over,
                       QC accuracy)
levey_jennings.csv     with ``--qc-history``: the QC series with z-scores and Westgard rules
qc_history.csv         with ``--qc-history``: the history with this batch's QC values
                       appended, to pass as the next batch's ``--qc-history``
=====================  ==============================================================
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msuite.quant.batch import (
    BATCH_FILES,
    CALIBRATION_COLUMNS,
    CALIBRATOR_COLUMNS,
    REPLICATE_COLUMNS,
    BatchResult,
    CalibrationSettings,
    quantify_batch,
)
from msuite.quant.calibration import CalibrationCurve
from msuite.quant.qc_history import (
    LEVEY_JENNINGS_COLUMNS,
    batch_qc_values,
    levey_jennings_rows,
    read_qc_history,
    updated_history,
    write_history,
)
from msuite.quant.samples import SampleSheet
from msuite.quant.suitability import SUITABILITY_COLUMNS, SuitabilityCriteria, suitability_rows

__all__ = ["BATCH_FILES", "BatchOptions", "batch_outputs"]

Writer = Callable[[Path], None]


@dataclass(frozen=True)
class BatchOptions:
    """A batch's sample sheet, curve settings, suitability criteria and QC history."""

    sheet: SampleSheet
    settings: CalibrationSettings = field(default_factory=CalibrationSettings)
    criteria: SuitabilityCriteria = field(default_factory=SuitabilityCriteria)
    qc_history: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """What parameters.json records of the batch."""
        from dataclasses import asdict

        return {
            "sample_sheet": str(Path(self.sheet.source).resolve()) if self.sheet.source else "",
            "calibration": self.settings.to_dict(),
            "suitability": asdict(self.criteria),
            "qc_history": str(Path(self.qc_history).resolve()) if self.qc_history else None,
        }


def _start_time(path: str) -> str:
    """The run's start time as its file records it (empty when it does not)."""
    from msuite.io.convert import open_source

    return open_source(path).read_metadata().start_time or ""


def _curves_json(curves: dict[str, CalibrationCurve], info: list[dict[str, Any]]) -> Writer:
    ranges = {row["group_id"]: (row.get("lloq"), row.get("uloq")) for row in info}

    def cell(value: Any) -> float | None:
        return float(value) if isinstance(value, float) and math.isfinite(value) else None

    data: dict[str, Any] = {"curves": {}}
    for group_id, curve in curves.items():
        entry = curve.to_dict()
        lo, hi = ranges.get(group_id, (None, None))
        entry["r_squared"] = cell(entry["r_squared"])
        if cell(lo) is not None and cell(hi) is not None:
            entry["range"] = [cell(lo), cell(hi)]
        data["curves"][group_id] = entry

    def write(path: Path) -> None:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    return write


def batch_outputs(
    groups: list[dict[str, Any]],
    transitions: list[dict[str, Any]],
    options: BatchOptions,
    fixed_curves: dict[str, CalibrationCurve],
    csv_writer: Callable[..., Writer],
    run_paths: dict[str, str] | None = None,
) -> tuple[dict[str, Writer], BatchResult, str]:
    """Run the batch steps on the summary rows and return the writers of its files.

    ``groups`` (peptide and compound rows) get their sample columns and concentrations filled
    in. ``run_paths`` (run name -> file) lets the QC history record when each QC run was
    acquired (the run's start time). Returns the writers by file name, the batch result and a
    one-line summary.
    """
    result = quantify_batch(groups, options.sheet, options.settings, fixed_curves)
    checks = suitability_rows(groups, transitions, options.sheet, options.criteria)
    writers: dict[str, Writer] = {
        "calibration.csv": csv_writer(CALIBRATION_COLUMNS, result.calibration),
        "calibrators.csv": csv_writer(CALIBRATOR_COLUMNS, result.calibrators),
        "calibration.json": _curves_json(result.curves, result.calibration),
        "replicates.csv": csv_writer(REPLICATE_COLUMNS, result.replicates),
        "qc.csv": csv_writer(SUITABILITY_COLUMNS, checks),
    }
    rejected = 0
    if options.qc_history is not None:
        history = read_qc_history(options.qc_history, missing_ok=True)
        qc_runs = {s.run for s in options.sheet.of_type("qc")}
        acquired = {r: _start_time(p) for r, p in (run_paths or {}).items() if r in qc_runs}
        current = batch_qc_values(groups, options.sheet, acquired)
        series = levey_jennings_rows(history, current)
        rejected = sum(1 for r in series if r.get("rejected"))
        writers["levey_jennings.csv"] = csv_writer(LEVEY_JENNINGS_COLUMNS, series)
        merged = updated_history(history, current)
        writers["qc_history.csv"] = lambda p: write_history(p, merged)
    failed = sum(1 for c in checks if c.get("passed") is False)
    accepted = sum(1 for c in result.calibration if c.get("status") in ("accepted", "given"))
    summary = (
        f"{accepted} of {len(result.calibration)} curves accepted, "
        f"{failed} of {len(checks)} suitability checks failed"
    )
    if options.qc_history is not None:
        summary += f", {rejected} QC values rejected by Westgard rules"
    return writers, result, summary
