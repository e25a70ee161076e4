"""The acquisition part of the demo: embedded simulator -> driver over TCP -> run file.

Starts a simulated triple quadrupole on 127.0.0.1, connects with the driver, acquires FULL scans
and then an SRM run of peptides with their heavy standards, and writes both into one run file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pyteomics import mass

from msuite.core.model import RunMetadata
from msuite.drivers.ms import MassSpectrometer
from msuite.drivers.protocol import SRM_ROW_DTYPE, ScanMode
from msuite.drivers.scan_convert import record_to_spectrum, srm_chromatograms
from msuite.hardware_sim.ms_instrument import SimulatedMassSpec
from msuite.hardware_sim.sample import HEAVY_SHIFT, PROTON, SampleSpec, default_sample
from msuite.hardware_sim.server import MassSpecServer
from msuite.io.runfile import RunFileWriter
from msuite.methods.model import Method, PeptidePrecursor, Protein, Transition

__all__ = [
    "DEMO_SRM_PEPTIDES",
    "acquire_demo_run",
    "demo_srm_method",
    "demo_srm_table",
    "demo_truth_ratios",
    "srm_table_for",
]

DEMO_SRM_PEPTIDES = ("LVNEVTEFAK", "DYVSQFEGSALGK", "ATEHLSTLSEK", "EGYYGYTGAFR")
_PROTEIN_OF = {"LVNEVTEFAK": "ALB", "DYVSQFEGSALGK": "APOA1", "ATEHLSTLSEK": "APOA1",
               "EGYYGYTGAFR": "TF"}


def demo_srm_method() -> Method:
    """The demo's SRM method: each peptide (2+) light and heavy, y4 (qualifier) and y6
    (quantifier), transitions named ``SEQUENCE.label.yN``."""
    precursors = []
    for seq in DEMO_SRM_PEPTIDES:
        for label, shift in (("light", 0.0), ("heavy", HEAVY_SHIFT[seq[-1]])):
            transitions = [
                Transition(
                    "y", n, 1,
                    round(mass.fast_mass(seq[-n:], ion_type="y", charge=1) + shift, 5),
                    quantifier=n == 6,
                    name=f"{seq}.{label}.y{n}",
                )
                for n in (4, 6)
            ]
            precursors.append(
                PeptidePrecursor(
                    _PROTEIN_OF[seq], seq, 2,
                    round((mass.fast_mass(seq) + shift + 2 * PROTON) / 2, 5),
                    label=label,
                    labelled_residues=seq[-1] if label == "heavy" else "",
                    transitions=transitions,
                )
            )
    proteins = [Protein(acc, acc) for acc in dict.fromkeys(_PROTEIN_OF.values())]
    return Method(name="demo SRM", description="demo peptides with heavy standards",
                  proteins=proteins, precursors=precursors)


def demo_truth_ratios(sample: list[SampleSpec] | None = None) -> dict[str, float]:
    """Light/heavy amount ratio per demo peptide in the simulated sample (the truth)."""
    specs = sample if sample is not None else default_sample()
    light = {s.sequence: s.amount_fmol for s in specs if s.sequence and not s.heavy}
    heavy = {s.sequence: s.amount_fmol for s in specs if s.sequence and s.heavy}
    return {seq: light[seq] / heavy[seq] for seq in DEMO_SRM_PEPTIDES}


def demo_srm_table(dwell_ms: float = 10.0) -> np.ndarray:
    """The SRM table of :func:`demo_srm_method` over the whole run."""
    return srm_table_for(demo_srm_method(), dwell_ms)


def srm_table_for(method: Method, dwell_ms: float = 10.0) -> np.ndarray:
    """An SRM table acquiring every peptide transition of ``method`` over the whole run."""
    rows = [(p.precursor_mz, t.product_mz) for p in method.precursors for t in p.transitions]
    table = np.zeros(len(rows), SRM_ROW_DTYPE)
    table["id"] = np.arange(1, len(rows) + 1)
    table["precursor_mz"] = [r[0] for r in rows]
    table["product_mz"] = [r[1] for r in rows]
    table["dwell_ms"] = dwell_ms
    table["collision_energy"] = 25.0
    table["rt_start"] = table["rt_stop"] = -1.0
    return table


def acquire_demo_run(
    out_path: str | os.PathLike[str],
    *,
    run_s: float = 600.0,
    full_s: float = 60.0,
    speed: float = 100.0,
    seed: int = 7,
    say: Callable[[str], None] = print,
) -> dict[str, object]:
    """Acquire FULL scans and an SRM run from the embedded simulator into ``out_path``."""
    out_path = Path(out_path)
    t0 = time.perf_counter()
    with (
        MassSpecServer(SimulatedMassSpec("tq", speed=speed, seed=seed)) as server,
        MassSpectrometer(server.resource, timeout_s=2.0) as ms,
    ):
        say(
            f"simulator at {server.resource} ({ms.identity.model if ms.identity else '?'}, "
            f"clock x{speed:g})"
        )
        ms.source_on()
        ms.configure_full(350, 1250)
        ms.set_mode(ScanMode.FULL)
        ms.set_duration(full_s)
        stream = ms.stream()
        ms.start()
        full = list(stream)
        table = demo_srm_table()
        ms.upload_srm(table)
        ms.set_mode(ScanMode.SRM)
        ms.set_duration(run_s)
        stream = ms.stream()
        ms.start()
        srm = list(stream)
        ms.check_errors("after the runs")
    spectra = [record_to_spectrum(r, i) for i, r in enumerate(full)]
    chroms = srm_chromatograms(srm, table)
    meta = RunMetadata(
        run_id=f"sim_tq_seed{seed}",
        instrument={"model": "SIM-TQ600", "resource": server.resource},
        method={"name": "demo FULL + SRM", "transitions": int(table.size), "run_s": run_s},
        sample={"name": "simulated plasma + iRT", "seed": seed},
    )
    with RunFileWriter(out_path, meta) as writer:
        for s in spectra:
            writer.append_spectrum(s)
        writer.append_chromatograms(chroms)
        checksum = writer.close()
    points = sum(r.points.size for r in srm)
    say(
        f"acquired {len(full)} FULL scans and {len(srm)} SRM cycles ({points:,} points, "
        f"{table.size} transitions, sequence checked) in {time.perf_counter() - t0:.1f} s; "
        f"wrote {out_path}"
    )
    return {
        "full_scans": len(full),
        "srm_cycles": len(srm),
        "srm_points": points,
        "checksum": checksum,
        "path": str(out_path),
    }
