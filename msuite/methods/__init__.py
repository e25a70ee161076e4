"""Targeted methods (not yet built).

Will hold the method model (targets, transitions, collision-energy regressions, iRT windows,
small-molecule targets, DIA windows), the builder from FASTA and protein lists, Skyline/TraML/vendor
list I/O and validation.
"""
