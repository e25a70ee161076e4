"""RT alignment on iRT standards (``msuite quant --align-rt``): the robust line fit, and a
simulated 10-minute SRM run whose RTs the method's placeholder iRT mapping does not know."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from pyteomics import mass

from msuite.cli import main
from msuite.core.errors import InputError, MSuiteError
from msuite.core.model import RunMetadata
from msuite.drivers.scan_convert import srm_chromatograms
from msuite.hardware_sim.demo_acquisition import srm_table_for
from msuite.hardware_sim.sample import HEAVY_SHIFT, PROTON, default_sample, predict_irt
from msuite.io.runfile import RunFileWriter
from msuite.methods.irt import IRT_STANDARDS
from msuite.methods.model import Method, PeptidePrecursor, Transition
from msuite.methods.storage import save_method
from msuite.quant.quantify import QuantParams, quantify_run
from msuite.quant.rt_align import fit_rt_alignment
from msuite.quant.targets import build_targets
from tests.quant.helpers import simulate
from tests.quant.test_quantify import srm_setup

PANEL = ("LVNEVTEFAK", "DYVSQFEGSALGK", "EGYYGYTGAFR")
RUN_S = 600.0


def precursor(sequence: str, label: str = "light") -> PeptidePrecursor:
    """2+ precursor with y4 and y5 transitions; iRT as a measured library would give it."""
    shift = HEAVY_SHIFT[sequence[-1]] if label == "heavy" else 0.0
    trans = [
        Transition("y", n, 1, mass.fast_mass(sequence[-n:], ion_type="y", charge=1) + shift)
        for n in (4, 5)
    ]
    return PeptidePrecursor(
        "iRT-Kit_WR_fusion" if sequence in IRT_STANDARDS else "P02768",
        sequence,
        2,
        (mass.fast_mass(sequence) + shift + 2 * PROTON) / 2,
        label=label,
        labelled_residues=sequence[-1] if label == "heavy" else "",
        transitions=trans,
        irt=predict_irt(sequence),
    )


def aligned_method() -> Method:
    precs = [precursor(s) for s in IRT_STANDARDS]
    for s in PANEL:
        precs += [precursor(s), precursor(s, "heavy")]
    return Method(name="iRT + panel", precursors=precs)  # placeholder iRT -> s mapping


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    method = aligned_method()
    table = srm_table_for(method, dwell_ms=5.0)
    records = simulate("tq", default_sample(), srm_setup(table), seed=17, duration_s=RUN_S)
    path = tmp_path_factory.mktemp("align") / "irt_run.h5"
    with RunFileWriter(path, RunMetadata(run_id=path.stem)) as writer:
        writer.append_chromatograms(srm_chromatograms(records, table))
        writer.close()
    return path


def test_fit_recovers_the_line_and_drops_an_interfered_standard() -> None:
    irt = np.array(list(IRT_STANDARDS.values()))
    rng = np.random.default_rng(3)
    rt = 120.0 + 3.3 * irt + rng.normal(0.0, 1.0, irt.size)
    rt[4] += 60.0  # one standard picked on an interference
    names = list(IRT_STANDARDS)
    fit = fit_rt_alignment(irt, rt, names)
    assert fit.slope_s == pytest.approx(3.3, abs=0.05)
    assert fit.intercept_s == pytest.approx(120.0, abs=2.0)
    assert fit.dropped == (names[4],) and len(fit.anchors) == 10
    assert fit.r_squared > 0.999 and fit.rms_s < 2.0
    with pytest.raises(MSuiteError, match="found 2 iRT standards"):
        fit_rt_alignment(irt[:2], rt[:2], names[:2], run="r1")
    with pytest.raises(MSuiteError, match="does not rise"):
        fit_rt_alignment(irt[:5], -rt[:5], names[:5])


def test_aligned_windows_find_every_peptide(run: Path, tmp_path: Path) -> None:
    groups = build_targets(aligned_method())
    whole = quantify_run(str(run), groups, QuantParams())
    truth = {r["group_id"]: r["rt"] for r in whole.rows if r["found"]}
    assert len(truth) == len(groups)  # every peptide is in the run
    # the method's placeholder mapping puts every peptide far outside this 10-minute run
    blind = quantify_run(str(run), groups, QuantParams(rt_window_min=1.0))
    assert not any(r["found"] for r in blind.rows)
    aligned = quantify_run(str(run), groups, QuantParams(rt_window_min=1.0, align_rt=True))
    assert aligned.alignment is not None and aligned.alignment["r_squared"] > 0.99
    assert len(aligned.alignment["anchors"]) >= 10
    for r in aligned.rows:
        assert r["found"], r
        assert r["rt"] == pytest.approx(truth[r["group_id"]], abs=0.01)
        # the window centre (expected_rt) lies within the +-0.5 min window of the peak
        assert abs(r["expected_rt"] - r["rt"]) < 0.5
    # through the command: the alignment is recorded per run
    method = tmp_path / "m.toml"
    save_method(aligned_method(), method)
    out = tmp_path / "out"
    argv = ["quant", str(run), "--method", str(method), "--out", str(out), "--rt-window", "1"]
    assert main([*argv, "--align-rt"]) == 0
    record = json.loads((out / "parameters.json").read_text())
    (entry,) = record["runs"]
    assert math.isfinite(entry["rt_alignment"]["slope_s_per_irt"])
    assert record["parameters"]["align_rt"] is True


def test_alignment_needs_a_window() -> None:
    with pytest.raises(InputError, match="--rt-window"):
        QuantParams(align_rt=True).validate()
