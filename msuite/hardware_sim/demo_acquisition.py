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
from msuite.hardware_sim.sample import HEAVY_SHIFT, PROTON
from msuite.hardware_sim.server import MassSpecServer
from msuite.io.runfile import RunFileWriter

__all__ = ["DEMO_SRM_PEPTIDES", "acquire_demo_run", "demo_srm_table"]

DEMO_SRM_PEPTIDES = ("LVNEVTEFAK", "DYVSQFEGSALGK", "ATEHLSTLSEK", "EGYYGYTGAFR")


def demo_srm_table(dwell_ms: float = 10.0) -> np.ndarray:
    """Two y-ion transitions (y4 and y6) per peptide, light and heavy, over the whole run."""
    rows = []
    for seq in DEMO_SRM_PEPTIDES:
        shift_all = HEAVY_SHIFT[seq[-1]]
        for shift in (0.0, shift_all):
            q1 = (mass.fast_mass(seq) + shift + 2 * PROTON) / 2
            for n in (4, 6):
                rows.append((q1, mass.fast_mass(seq[-n:], ion_type="y", charge=1) + shift))
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
        for c in chroms:
            writer.append_chromatogram(c)
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
