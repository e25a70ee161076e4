"""The virtual sample: analytes with amounts, masses, fragments and retention times.

Peptide masses, isotope envelopes and b/y fragments come from pyteomics; retention times from a
linear map of pyteomics' achrom retention coefficients onto iRT, fitted on the 11 iRT peptides,
then from iRT to seconds for the run's gradient with run-to-run drift (shift, scale, jitter).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from pyteomics import achrom, mass

from msuite.hardware_sim.synthetic_run import DEMO_PEPTIDES, isotope_envelope

__all__ = [
    "Analyte",
    "HEAVY_SHIFT",
    "RtModel",
    "SampleSpec",
    "build_sample",
    "default_sample",
    "predict_irt",
]

PROTON = mass.nist_mass["H+"][0][0]
#: Mass shift of the C-terminal heavy label (13C6 15N2 lysine, 13C6 15N4 arginine).
HEAVY_SHIFT = {"K": 8.014199, "R": 10.008269}


def _fit_irt_map() -> tuple[float, float]:
    x = np.array([achrom.calculate_RT(s, achrom.RCs_zubarev) for s, _ in DEMO_PEPTIDES])
    y = np.array([irt for _, irt in DEMO_PEPTIDES])
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


_IRT_SLOPE, _IRT_INTERCEPT = _fit_irt_map()
_KNOWN_IRT = dict(DEMO_PEPTIDES)


def predict_irt(sequence: str) -> float:
    """iRT of a peptide: the published value for iRT peptides, else the fitted achrom model."""
    if sequence in _KNOWN_IRT:
        return _KNOWN_IRT[sequence]
    return _IRT_SLOPE * achrom.calculate_RT(sequence, achrom.RCs_zubarev) + _IRT_INTERCEPT


@dataclass(frozen=True, slots=True)
class RtModel:
    """iRT -> seconds for one run: ``rt = (a + b * iRT) * scale + shift`` plus per-analyte jitter.

    ``a`` and ``b`` put iRT -25 at 12 % and iRT 100 at 80 % of the gradient.
    """

    gradient_s: float = 3600.0
    shift_s: float = 0.0
    scale: float = 1.0
    jitter_s: float = 0.0

    def rt(self, irt: float, rng: np.random.Generator) -> float:
        """Retention time in seconds of an analyte with ``irt``."""
        lo, hi = 0.12 * self.gradient_s, 0.80 * self.gradient_s
        base = lo + (irt + 25.0) / 125.0 * (hi - lo)
        return base * self.scale + self.shift_s + rng.normal(0.0, self.jitter_s)

    @classmethod
    def drifted(cls, gradient_s: float, rng: np.random.Generator) -> RtModel:
        """A run-to-run variant: shift ~ N(0, 0.3 % of the gradient), scale ~ N(1, 0.5 %)."""
        return cls(
            gradient_s=gradient_s,
            shift_s=float(rng.normal(0.0, 0.003 * gradient_s)),
            scale=float(rng.normal(1.0, 0.005)),
            jitter_s=0.002 * gradient_s,
        )


@dataclass(frozen=True, slots=True)
class SampleSpec:
    """One analyte to put into the sample: peptide sequence (or small molecule) and amount."""

    name: str
    amount_fmol: float
    sequence: str = ""
    charge: int = 2
    heavy: bool = False
    formula: str = ""  # small molecules: elemental formula of the neutral
    fragments: tuple[float, ...] = ()  # small molecules: product ion m/z
    irt: float | None = None


@dataclass(slots=True)
class Analyte:
    """An analyte as the simulator sees it (all masses are m/z of the stated charge)."""

    name: str
    precursor_mz: float
    charge: int
    amount_fmol: float
    envelope: np.ndarray  # relative isotope abundances (M = 1)
    fragment_mz: np.ndarray  # singly charged b/y ions (or given product ions)
    fragment_rel: np.ndarray  # relative fragment yields, max 1
    rt: float  # apex, seconds
    sigma: float  # Gaussian part of the EMG, seconds
    tau: float  # exponential tail, seconds


def default_sample() -> list[SampleSpec]:
    """The iRT peptides plus a small plasma panel with heavy standards and two metabolites."""
    specs = [SampleSpec(f"iRT {s}", 50.0, sequence=s) for s, _ in DEMO_PEPTIDES]
    panel = [
        ("ALB LVNEVTEFAK", "LVNEVTEFAK", 5000.0),
        ("APOA1 DYVSQFEGSALGK", "DYVSQFEGSALGK", 800.0),
        ("APOA1 ATEHLSTLSEK", "ATEHLSTLSEK", 600.0),
        ("CRP ESDTSYVSLK", "ESDTSYVSLK", 2.0),
        ("TF EGYYGYTGAFR", "EGYYGYTGAFR", 300.0),
    ]
    for name, seq, amount in panel:
        specs.append(SampleSpec(name, amount, sequence=seq))
        specs.append(SampleSpec(name + " heavy", 100.0, sequence=seq, heavy=True))
    specs.append(
        SampleSpec(
            "caffeine",
            200.0,
            charge=1,
            formula="C8H10N4O2",
            fragments=(138.0662, 110.0713),
            irt=-20.0,
        )
    )
    specs.append(
        SampleSpec(
            "creatinine",
            2000.0,
            charge=1,
            formula="C4H7N3O",
            fragments=(86.0713, 44.0500),
            irt=-30.0,
        )
    )
    return specs


def _fragments(sequence: str, heavy_shift: float) -> tuple[np.ndarray, np.ndarray]:
    mzs, rel = [], []
    rng = np.random.default_rng(zlib.crc32(sequence.encode()))
    n = len(sequence)
    for i in range(1, n):
        b = mass.fast_mass(sequence[:i], ion_type="b", charge=1)
        y = mass.fast_mass(sequence[i:], ion_type="y", charge=1) + heavy_shift
        mzs += [b, y]
        y_len = n - i
        rel += [rng.uniform(0.02, 0.3), rng.uniform(0.2, 1.0) if y_len >= 3 else 0.05]
    order = np.argsort(mzs)
    rel_arr = np.asarray(rel)[order]
    return np.asarray(mzs)[order], rel_arr / rel_arr.max()


def build_sample(
    specs: list[SampleSpec], rt_model: RtModel, rng: np.random.Generator
) -> list[Analyte]:
    """Turn sample specifications into analytes for one run."""
    out = []
    run_seed = int(rng.integers(2**31))
    for spec in specs:
        if spec.sequence:
            shift = HEAVY_SHIFT.get(spec.sequence[-1], 0.0) if spec.heavy else 0.0
            neutral = mass.fast_mass(spec.sequence) + shift
            envelope = isotope_envelope(spec.sequence)
            frag_mz, frag_rel = _fragments(spec.sequence, shift)
            irt = predict_irt(spec.sequence) if spec.irt is None else spec.irt
        else:
            neutral = mass.calculate_mass(formula=spec.formula)
            envelope = np.array([1.0, 0.1, 0.01])
            frag_mz = np.asarray(spec.fragments, dtype=float)
            frag_rel = np.linspace(1.0, 0.5, frag_mz.size) if frag_mz.size else frag_mz
            irt = 0.0 if spec.irt is None else spec.irt
        z = spec.charge
        # the heavy standard co-elutes with its light peptide: same jitter draw
        key = zlib.crc32((spec.sequence or spec.name).encode())
        rt_rng = np.random.default_rng([run_seed, key])
        rt = rt_model.rt(irt, rt_rng)
        width = 0.0025 * rt_model.gradient_s  # sigma ~ 9 s for a 60-min gradient
        out.append(
            Analyte(
                name=spec.name,
                precursor_mz=(neutral + z * PROTON) / z,
                charge=z,
                amount_fmol=spec.amount_fmol,
                envelope=envelope,
                fragment_mz=frag_mz,
                fragment_rel=frag_rel,
                rt=max(rt, 1.0),
                sigma=width,
                tau=0.6 * width,
            )
        )
    return out
