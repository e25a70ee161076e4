"""Quantification: Numba kernels, peak groups, ratios, calibration, QC and results.

- :mod:`msuite.quant.centroid` - profile -> centroid (m/z, height, area, FWHM, S/N per peak).
- :mod:`msuite.quant.chrom_peaks` - peaks of SRM/PRM traces (RT, boundaries, Skyline
  background, area, height, FWHM, S/N, points across the peak).
- :mod:`msuite.quant.peak_groups` - one peak group decided over all transitions of a precursor
  and its heavy standard (shape and co-elution scores; fixed windows).
- :mod:`msuite.quant.pick` - centroid a whole file (``msuite pick``, see :mod:`msuite.quant.cli`).
- :mod:`msuite.quant.targets`, :mod:`msuite.quant.trace_match`, :mod:`msuite.quant.quantify`,
  :mod:`msuite.quant.results`, :mod:`msuite.quant.mztab` - ``msuite quant``: transition lists
  to traces to peak groups to CSV and mzTab results, on a process pool or Dask.
- :mod:`msuite.quant.calibration` - ratios, calibration curves, LOD/LOQ, %CV, protein roll-up.
- :mod:`msuite.quant.qc` - system suitability, Westgard rules, Levey-Jennings data.
"""
