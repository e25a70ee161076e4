"""Quantification: Numba kernels for profile centroiding and chromatographic peaks.

- :mod:`msuite.quant.centroid` - profile -> centroid (m/z, height, area, FWHM, S/N per peak).
- :mod:`msuite.quant.chrom_peaks` - peaks of SRM/PRM traces (RT, boundaries, Skyline
  background, area, height, FWHM, S/N, points across the peak).
- :mod:`msuite.quant.pick` - centroid a whole file (``msuite pick``, see :mod:`msuite.quant.cli`).

Still to come: peak groups over transitions, light/heavy ratios, calibration, LOD/LOQ and QC
rules, with CSV and mzTab results.
"""
