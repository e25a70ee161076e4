"""Targeted metabolites end to end: a formula/adduct method with a 13C-labelled internal
standard, full-scan runs from the simulated Orbitrap over TCP, and ``msuite quant --samples``
against the simulated truth."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pyteomics import mztab

from msuite.cli import main
from msuite.core.model import RunMetadata
from msuite.drivers.ms import MassSpectrometer
from msuite.drivers.protocol import ScanMode
from msuite.drivers.scan_convert import record_to_spectrum
from msuite.hardware_sim.sample import SampleSpec
from msuite.io.runfile import RunFileWriter
from msuite.methods.model import Method, SmallMolecule
from msuite.methods.small_molecules import adduct_mz
from msuite.methods.storage import save_method
from tests.quant.helpers import simulate

CAFFEINE = "C8H10N4O2"
CAFFEINE_13C3 = "C[13]3C5H10N4O2"
STANDARD_FMOL = 100.0
#: (sample type, caffeine fmol) in injection order
BATCH = [
    ("blank", 0.0),
    *[("calibrator", a) for a in (1.0, 3.0, 10.0, 30.0, 100.0, 300.0)],
    ("blank", 0.0),
    ("qc", 20.0),
    ("unknown", 50.0),
    ("unknown", 5.0),
]


def caffeine_method() -> Method:
    """Caffeine [M+H]+ and its 13C3 standard as full-scan (MS1) targets from their formulas."""
    method = Method(name="caffeine")
    for label, formula in (("light", CAFFEINE), ("heavy", CAFFEINE_13C3)):
        mz, charge = adduct_mz(formula, "[M+H]+")
        method.small_molecules.append(
            SmallMolecule("caffeine", formula, "[M+H]+", charge, mz, label=label)
        )
    return method


def acquire_full_scan(path: Path, caffeine_fmol: float, seed: int) -> Path:
    """Two minutes of profile FULL scans (m/z 150-400) of caffeine + its standard."""
    sample = [  # one name: analyte and standard share the simulated RT jitter (co-elute)
        SampleSpec("caffeine", caffeine_fmol, charge=1, formula=CAFFEINE, irt=-20.0),
        SampleSpec("caffeine", STANDARD_FMOL, charge=1, formula=CAFFEINE_13C3, irt=-20.0),
    ]

    def setup(ms: MassSpectrometer) -> None:
        ms.configure_full(150, 400)
        ms.set_mode(ScanMode.FULL)

    records = simulate("orbitrap", sample, setup, seed=seed, duration_s=120.0)
    with RunFileWriter(path, RunMetadata(run_id=path.stem)) as writer:
        for i, record in enumerate(records):
            writer.append_spectrum(record_to_spectrum(record, i))
        writer.close()
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], Path]:
    folder = tmp_path_factory.mktemp("metabolites")
    runs = [
        acquire_full_scan(folder / f"run{k:02d}.h5", amount, seed=500 + k)
        for k, (_, amount) in enumerate(BATCH)
    ]
    method = folder / "caffeine.toml"
    save_method(caffeine_method(), method)
    sheet = folder / "samples.csv"
    rows = ["File Name,Sample Type,Analyte Concentration"]
    for (kind, amount), run in zip(BATCH, runs, strict=True):
        conc = f"{amount:g}" if kind in ("calibrator", "qc") else ""
        rows.append(f"{run.name},{kind},{conc}")
    sheet.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return method, runs, sheet


def test_caffeine_quantified_against_its_13c_standard(
    batch: tuple[Path, list[Path], Path], tmp_path: Path
) -> None:
    method, runs, sheet = batch
    out = tmp_path / "out"
    argv = ["quant", *map(str, runs), "--method", str(method), "--out", str(out)]
    assert main([*argv, "--samples", str(sheet)]) == 0
    (curve,) = read_csv(out / "calibration.csv")
    assert curve["group_id"] == "caffeine" and curve["status"] == "accepted"
    assert float(curve["r_squared"]) > 0.995
    assert (float(curve["lloq"]), float(curve["uloq"])) == (1.0, 300.0)
    compounds = {r["run"]: r for r in read_csv(out / "compounds.csv")}
    transitions = read_csv(out / "transitions.csv")
    assert {t["trace_id"].split(" m/z")[0] for t in transitions if t["found"] == "true"} == {
        "XIC MS1"
    }
    for (kind, amount), run in zip(BATCH, runs, strict=True):
        row = compounds[run.stem]
        assert row["sample_type"] == kind
        if kind in ("qc", "unknown"):
            assert float(row["concentration"]) == pytest.approx(amount, rel=0.10), row
            # the standard is found in every injection: the response is a ratio
            assert float(row["heavy_area"]) > 0 and row["ratio_basis"] == "quantifier"
    checks = read_csv(out / "qc.csv")
    is_cv = next(c for c in checks if c["check"] == "is_area_cv")
    assert is_cv["passed"] == "true", is_cv
    # mzTab-M: one compound, its standard reported as its own SMF rows
    tables = mztab.MzTab(str(out / "compounds.mzTab"), table_format="dict")
    [sml] = tables.small_molecule_table["rows"]
    assert sml["chemical_name"] == "caffeine"
    features = tables.small_molecule_feature_table["rows"]
    flags = [int(f["opt_global_internal_standard"]) for f in features]
    assert flags.count(1) == flags.count(0) == len(runs)
