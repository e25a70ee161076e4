"""Targeted methods: the method model, the builder, transition-list I/O and validation.

Modules
-------
model             dataclasses: Method, Instrument, Protein, PeptidePrecursor, Transition,
                  SmallMolecule, DIAWindow (``SCHEMA_VERSION``)
chemistry         modified sequences (ProForma/modX/Skyline/OpenMS spellings), precursor and
                  fragment m/z with pyteomics masses, heavy labels
collision_energy  Skyline's per-instrument CE regressions
irt               the 11 iRT standards and an achrom-based iRT predictor fitted to them
builder           FASTA + protein list -> proteotypic peptides -> light/heavy precursors
                  -> transitions
dia               DIA (SWATH) isolation-window sets
small_molecules   adduct m/z and metabolite panels from standards lists
storage           msuite's own format (TOML header + CSV tables)
formats           Skyline CSV, TraML, OpenMS TSV, Thermo TSQ-style, SCIEX-style lists
validate          every problem of a method, with target, field, value and what is allowed
cli               ``msuite method build|convert|check`` (:func:`add_method_commands`)

Heavy modules (pyteomics, lxml) are imported by the submodules, not here.
"""

from msuite.methods.model import (
    SCHEMA_VERSION,
    DIAWindow,
    Instrument,
    Method,
    PeptidePrecursor,
    Protein,
    SmallMolecule,
    Transition,
)

__all__ = [
    "SCHEMA_VERSION",
    "DIAWindow",
    "Instrument",
    "Method",
    "PeptidePrecursor",
    "Protein",
    "SmallMolecule",
    "Transition",
]
