"""Generated LC-MS runs with known truth, for the demo and tests until the simulator lands.

Peptides elute as Gaussian peaks along a gradient; MS1 scans are profile spectra (points
around each isotope peak plus chemical noise), each followed by MS2 scans of the most
intense co-eluting peptides with centroided b/y fragments. Masses and compositions come
from pyteomics; isotope envelopes are exact element-wise convolutions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pyteomics import mass

from msuite.core.model import (
    Chromatogram,
    ChromatogramKind,
    Polarity,
    Precursor,
    RunMetadata,
    ScanHeader,
    Spectrum,
)

__all__ = ["PeptideTruth", "SyntheticRun", "DEMO_PEPTIDES", "isotope_envelope", "generate_run"]

#: The 11 iRT kit peptides (Escher et al. 2012) with their published iRT values.
DEMO_PEPTIDES: tuple[tuple[str, float], ...] = (
    ("LGGNEQVTR", -24.92),
    ("GAGSSEPVTGLDAK", 0.00),
    ("VEATFGVDESNAK", 12.39),
    ("YILAGVENSK", 19.79),
    ("TPVISGGPYEYR", 28.71),
    ("TPVITGAPYEYR", 33.38),
    ("DGLDAASYYAPVR", 42.26),
    ("ADVTPADFSEWSK", 54.62),
    ("GTFIIDPGGVIR", 70.52),
    ("GTFIIDPAAVIR", 87.23),
    ("LFLQFGAQGSPFLK", 100.00),
)

_PROTON = mass.nist_mass["H+"][0][0]
_NEUTRON_SPACING = 1.0033548378


@dataclass(slots=True)
class PeptideTruth:
    """What was put into a generated run for one peptide."""

    sequence: str
    charge: int
    mz: float
    rt: float  # apex, seconds
    sigma: float  # Gaussian width, seconds
    abundance: float  # apex intensity of the monoisotopic peak


@dataclass(slots=True)
class SyntheticRun:
    """A generated run: spectra, chromatograms, metadata and the truth behind them."""

    metadata: RunMetadata
    spectra: list[Spectrum]
    chromatograms: list[Chromatogram]
    truth: list[PeptideTruth]


def isotope_envelope(sequence: str, n_peaks: int = 5) -> np.ndarray:
    """Relative abundances of M, M+1, ... M+n-1 for a peptide (monoisotopic = 1)."""
    comp = mass.Composition(sequence=sequence)
    total = np.zeros(n_peaks)
    total[0] = 1.0
    for element, count in comp.items():
        isotopes = sorted((k, v) for k, v in mass.nist_mass[element].items() if k and v[1] > 0)
        mono = isotopes[0][0]
        vec = np.zeros(n_peaks)
        for nominal, (_m, abundance) in isotopes:
            shift = nominal - mono
            if 0 <= shift < n_peaks:
                vec[shift] += abundance
        for _ in range(count):
            total = np.convolve(total, vec)[:n_peaks]
    return total / total[0]


def _fragments(sequence: str, charge: int = 1) -> np.ndarray:
    ions = []
    for i in range(1, len(sequence)):
        ions.append(mass.fast_mass(sequence[:i], ion_type="b", charge=charge))
        ions.append(mass.fast_mass(sequence[i:], ion_type="y", charge=charge))
    return np.array(sorted(ions))


def generate_run(
    *,
    seed: int = 7,
    gradient_s: float = 600.0,
    cycle_s: float = 1.0,
    ms2_per_cycle: int = 2,
    resolution: float = 60000.0,
) -> SyntheticRun:
    """Generate a short DDA-like run of the iRT peptides.

    Parameters
    ----------
    seed
        Random seed; the same seed gives the same run.
    gradient_s
        Run length in seconds.
    cycle_s
        Time between MS1 scans.
    ms2_per_cycle
        MS2 scans after each MS1 scan (most intense eluting peptides first).
    resolution
        Resolving power (m/z / FWHM at every m/z) of the profile peaks.
    """
    rng = np.random.default_rng(seed)
    truth = []
    for k, (seq, irt) in enumerate(DEMO_PEPTIDES):
        charge = 2
        mz = (mass.fast_mass(seq) + charge * _PROTON) / charge
        rt = 60.0 + (irt + 30.0) / 140.0 * (gradient_s - 120.0)
        truth.append(PeptideTruth(seq, charge, mz, rt, sigma=4.0, abundance=2e6 * (1 + k % 3)))
    envelopes = [isotope_envelope(p.sequence) for p in truth]
    fragments = [_fragments(p.sequence) for p in truth]

    spectra: list[Spectrum] = []
    tic_t, tic_i = [], []
    t = 0.0
    while t < gradient_s:
        ms1 = _ms1_scan(len(spectra), t, truth, envelopes, resolution, rng)
        spectra.append(ms1)
        tic_t.append(t)
        tic_i.append(float(ms1.intensity.sum()))
        elution = [p.abundance * math.exp(-0.5 * ((t - p.rt) / p.sigma) ** 2) for p in truth]
        order = np.argsort(elution)[::-1][:ms2_per_cycle]
        for j, k in enumerate(order):
            if elution[k] < 1e4:
                break
            spectra.append(
                _ms2_scan(
                    len(spectra),
                    t + 0.1 * (j + 1),
                    truth[k],
                    fragments[k],
                    elution[k],
                    ms1.header.native_id,
                    rng,
                )
            )
        t += cycle_s
    chrom = Chromatogram(
        "TIC", ChromatogramKind.TIC, np.array(tic_t), np.array(tic_i), polarity=Polarity.POSITIVE
    )
    meta = RunMetadata(
        run_id=f"synthetic_seed{seed}",
        instrument={"model": "Q Exactive", "accession": "MS:1001911"},
        sample={"name": "iRT peptides (generated)", "seed": seed},
        method={"name": "generated DDA", "cycle_s": cycle_s, "ms2_per_cycle": ms2_per_cycle},
    )
    return SyntheticRun(meta, spectra, [chrom], truth)


def _ms1_scan(index, t, truth, envelopes, resolution, rng) -> Spectrum:
    centers, heights = [], []
    for p, env in zip(truth, envelopes, strict=True):
        apex = p.abundance * math.exp(-0.5 * ((t - p.rt) / p.sigma) ** 2)
        if apex < 1.0:
            continue
        for k, rel in enumerate(env):
            centers.append(p.mz + k * _NEUTRON_SPACING / p.charge)
            heights.append(rng.poisson(apex * rel) if apex * rel < 1e7 else apex * rel)
    noise_mz = rng.uniform(350.0, 1200.0, 200)
    centers.extend(noise_mz)
    heights.extend(rng.exponential(2e3, noise_mz.size))
    c = np.asarray(centers, dtype=np.float64)[:, None]
    h = np.asarray(heights, dtype=np.float64)[:, None]
    sd = c / resolution / 2.3548
    steps = np.linspace(-4.0, 4.0, 17)[None, :]
    mz = (c + sd * steps).ravel()
    inten = (h * np.exp(-0.5 * steps**2)).ravel()
    order = np.argsort(mz, kind="stable")
    header = ScanHeader(
        index=index,
        native_id=f"scan={index + 1}",
        ms_level=1,
        rt=t,
        centroid=False,
        polarity=Polarity.POSITIVE,
        scan_window=(350.0, 1200.0),
        injection_time=20.0,
        sequence=index,
        filter_string="FTMS + p ESI Full ms",
    )
    return Spectrum(header, mz[order], inten[order])


def _ms2_scan(index, t, peptide, fragments, elution, parent_id, rng) -> Spectrum:
    inten = rng.poisson(np.maximum(elution * 0.02 * rng.uniform(0.2, 1.0, fragments.size), 1))
    mz = fragments * (1 + rng.normal(0, 2e-6, fragments.size))
    order = np.argsort(mz)
    prec = Precursor(
        mz=peptide.mz,
        charge=peptide.charge,
        intensity=elution,
        isolation_target=peptide.mz,
        isolation_lower=0.7,
        isolation_upper=0.7,
        collision_energy=27.0,
        activation="MS:1000422",
        spectrum_ref=parent_id,
    )
    header = ScanHeader(
        index=index,
        native_id=f"scan={index + 1}",
        ms_level=2,
        rt=t,
        centroid=True,
        polarity=Polarity.POSITIVE,
        precursors=(prec,),
        scan_window=(100.0, 2000.0),
        injection_time=50.0,
        sequence=index,
        filter_string=f"FTMS + c ESI d Full ms2 {peptide.mz:.4f}@hcd27.00",
    )
    return Spectrum(header, mz[order], inten[order].astype(np.float64))
