"""Quantification (not yet built).

Will hold the Numba kernels (centroiding, chromatographic peak picking) and quantification:
light/heavy ratios, calibration, LOD/LOQ and QC rules, with CSV and mzTab results.
"""
