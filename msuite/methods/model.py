"""The targeted-method model: proteins, peptide precursors with transitions, small molecules.

Conventions
-----------
- m/z values are monoisotopic; product and precursor m/z are stored as computed or imported.
- Peptide retention is given as iRT (dimensionless, Escher et al. 2012 scale) plus a window in iRT
  units; small-molecule retention times are in **seconds** (msuite's internal unit).
- ``label`` is ``"light"`` or ``"heavy"``; ``labelled_residues`` lists the residues that carry the
  heavy isotope label (``"KR"`` for the standard SIL peptides: K +8.0142, R +10.0083).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SCHEMA_VERSION",
    "DIAWindow",
    "Instrument",
    "Method",
    "PeptidePrecursor",
    "Protein",
    "SmallMolecule",
    "Transition",
    "label_from_text",
    "small_molecule_key",
]

#: version of the on-disk method format written by this msuite
SCHEMA_VERSION = 1

LABELS = ("light", "heavy")
#: residues that carry the heavy isotope label of SIL peptides
HEAVY_RESIDUES = "KR"


@dataclass(slots=True)
class Transition:
    """One precursor -> product transition.

    Attributes
    ----------
    ion_type
        ``"y"`` or ``"b"`` for peptide fragments, ``""`` when not annotated (small molecules).
    ordinal
        Fragment number (y3 -> 3); 0 when not annotated.
    charge
        Product ion charge.
    product_mz
        Product (Q3) m/z.
    library_intensity
        Relative library intensity (0-100, most intense = 100), NaN when unknown.
    quantifier
        True for the transition used for quantification, False for qualifiers.
    name
        The transition's own id or name from the list it came from (TraML ``Transition id``,
        OpenMS ``TransitionId``/``transition_name``); ``""`` when the list gave none.
    """

    ion_type: str
    ordinal: int
    charge: int
    product_mz: float
    library_intensity: float = math.nan
    quantifier: bool = False
    name: str = ""

    @property
    def annotation(self) -> str:
        """Fragment annotation such as ``y7`` or ``b3^2``; ``""`` when not annotated."""
        if not self.ion_type:
            return ""
        return f"{self.ion_type}{self.ordinal}" + (f"^{self.charge}" if self.charge > 1 else "")


@dataclass(slots=True)
class PeptidePrecursor:
    """A peptide at one charge and isotope label, with its transitions.

    Attributes
    ----------
    protein
        Protein accession(s), ``;``-separated when shared.
    modified_sequence
        Canonical ProForma sequence with Unimod names (see :mod:`msuite.methods.chemistry`).
    charge
        Precursor charge.
    precursor_mz
        Precursor (Q1) m/z.
    label, labelled_residues
        Isotope label and the residues carrying it.
    irt, irt_window
        Predicted or library iRT and the full scheduling window in iRT units (NaN = unscheduled).
    collision_energy
        Collision energy in volts (NaN = instrument default).
    irt_standard
        True for the iRT retention-time standard peptides.
    decoy
        True for decoy assays.
    """

    protein: str
    modified_sequence: str
    charge: int
    precursor_mz: float
    label: str = "light"
    labelled_residues: str = ""
    irt: float = math.nan
    irt_window: float = math.nan
    collision_energy: float = math.nan
    irt_standard: bool = False
    decoy: bool = False
    transitions: list[Transition] = field(default_factory=list)

    @property
    def sequence(self) -> str:
        """The plain residue sequence (no modifications).

        A sequence kept as given by a lenient read (letters outside the 20 residues, unknown
        modifications) gives its text without bracketed modifications instead of an error.
        """
        from msuite.methods.chemistry import plain_sequence

        return plain_sequence(self.modified_sequence)

    @property
    def key(self) -> tuple[str, int, str]:
        """Identity of the precursor within a method: (sequence, charge, label)."""
        return (self.modified_sequence, self.charge, self.label)


@dataclass(slots=True)
class Protein:
    """A protein of the method (accession, names, clinical-biomarker flag)."""

    accession: str
    name: str = ""
    gene: str = ""
    description: str = ""
    biomarker: bool = False


@dataclass(slots=True)
class SmallMolecule:
    """A small-molecule target (metabolite panels), or its isotope-labelled internal standard.

    ``rt`` and ``rt_window`` are in seconds; ``transitions`` may be empty (SIM/full-scan targets).
    ``label`` is ``"light"`` for the analyte and ``"heavy"`` for its stable-isotope-labelled
    internal standard; the pair shares ``name`` (and usually ``adduct``) and differs in
    ``precursor_mz``. :attr:`key` identifies the molecule within a method.
    """

    name: str
    formula: str
    adduct: str
    charge: int
    precursor_mz: float
    rt: float = math.nan
    rt_window: float = math.nan
    collision_energy: float = math.nan
    identifier: str = ""
    transitions: list[Transition] = field(default_factory=list)
    label: str = "light"

    @property
    def key(self) -> tuple[str, str, str, float]:
        """Identity within a method: (name, adduct, label, precursor m/z rounded to 4 decimals)."""
        return small_molecule_key(self.name, self.adduct, self.label, self.precursor_mz)


def small_molecule_key(name: str, adduct: str, label: str, precursor_mz: float) -> tuple:
    """The key readers group small-molecule rows by: (name, adduct, label, m/z to 4 decimals)."""
    return (name, adduct, label, round(precursor_mz, 4))


def label_from_text(text: str, default: str = "light") -> str:
    """Map a list's label cell (``Light``, ``Heavy``, ``heavy 13C``, ...) to a label in
    :data:`LABELS`; ``default`` when the cell is empty."""
    low = (text or "").strip().lower()
    if not low:
        return default
    return "heavy" if low.startswith("heavy") else "light"


@dataclass(slots=True)
class DIAWindow:
    """One isolation window of a DIA (SWATH) window set, m/z limits and collision energy."""

    lower: float
    upper: float
    collision_energy: float = math.nan

    @property
    def center(self) -> float:
        """Window centre m/z."""
        return (self.lower + self.upper) / 2


@dataclass(slots=True)
class Instrument:
    """The instrument parameters a method needs."""

    model: str = "generic triple quadrupole"
    ce_regression: str = "Thermo TSQ Quantiva"
    mz_min: float = 50.0
    mz_max: float = 1500.0
    polarity: str = "positive"
    min_dwell_ms: float = 5.0
    cycle_time_s: float = 1.0
    irt_slope: float = 24.0  # seconds per iRT unit (60-min gradient: iRT -25..125 over 60 min)
    irt_intercept: float = 900.0  # seconds at iRT 0

    def rt_seconds(self, irt: float) -> float:
        """Map an iRT to seconds on this instrument's gradient."""
        return self.irt_intercept + self.irt_slope * irt


@dataclass(slots=True)
class Method:
    """A targeted method: instrument, proteins, peptide precursors, small molecules, DIA windows."""

    name: str
    description: str = ""
    instrument: Instrument = field(default_factory=Instrument)
    proteins: list[Protein] = field(default_factory=list)
    precursors: list[PeptidePrecursor] = field(default_factory=list)
    small_molecules: list[SmallMolecule] = field(default_factory=list)
    dia_windows: list[DIAWindow] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def counts(self) -> dict[str, int]:
        """Counts of proteins, distinct peptides, precursors and transitions (peptides only).

        A protein that only holds iRT standard peptides (the iRT kit fusion protein) is not
        counted as a protein; its peptides are counted as peptides.
        """
        accessions = {p.accession for p in self.proteins}
        standards: set[str] = set()
        targets: set[str] = set()
        for prec in self.precursors:
            accs = {a for a in prec.protein.split(";") if a}
            (standards if prec.irt_standard else targets).update(accs)
        accessions = (accessions | targets | standards) - (standards - targets)
        peptides = {p.modified_sequence for p in self.precursors}
        return {
            "proteins": len(accessions),
            "peptides": len(peptides),
            "precursors": len(self.precursors),
            "transitions": sum(len(p.transitions) for p in self.precursors),
            "small_molecules": len(self.small_molecules),
            "small_molecule_transitions": sum(len(s.transitions) for s in self.small_molecules),
            "dia_windows": len(self.dia_windows),
        }

    def summary_line(self) -> str:
        """The one-line summary ``proteins=N peptides=N precursors=N transitions=N``."""
        c = self.counts()
        return (
            f"proteins={c['proteins']} peptides={c['peptides']} "
            f"precursors={c['precursors']} transitions={c['transitions']}"
        )
