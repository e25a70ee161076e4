"""iRT: the 11 retention-time standard peptides and an iRT predictor fitted to them.

The standards and their published iRT values are those of Escher et al., "Using iRT, a normalized
retention time for more targeted measurement of peptides", Proteomics 12 (2012) 1111 (the
Biognosys iRT kit). The predictor is pyteomics' additive retention model
(:func:`pyteomics.achrom.calculate_RT`) with the Krokhin 100 A formic-acid coefficients
(``RCs_krokhin_100A_fa``), mapped linearly onto the iRT scale by a least-squares fit to the 11
standards (R^2 0.95, RMS residual about 8 iRT units). Of the coefficient sets pyteomics ships, this
one fits the standards best; it is a scheduling aid, to be replaced by measured iRTs when known.
Modifications are ignored by the predictor (the unmodified residues are used).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pyteomics import achrom

__all__ = ["IRT_PROTEIN", "IRT_STANDARDS", "IRTPredictor", "predict_irt"]

#: accession used for the iRT standard peptides in methods
IRT_PROTEIN = "iRT-Kit_WR_fusion"

#: the 11 iRT standard peptides and their published iRT values
IRT_STANDARDS: dict[str, float] = {
    "LGGNEQVTR": -24.92,
    "GAGSSEPVTGLDAK": 0.00,
    "VEATFGVDESNAK": 12.39,
    "YILAGVENSK": 19.79,
    "TPVISGGPYEYR": 28.71,
    "TPVITGAPYEYR": 33.38,
    "DGLDAASYYAPVR": 42.26,
    "ADVTPADFSEWSK": 54.62,
    "GTFIIDPGGVIR": 70.52,
    "GTFIIDPAAVIR": 87.23,
    "LFLQFGAQGSPFLK": 100.00,
}


class IRTPredictor:
    """``iRT = slope x achrom.calculate_RT(sequence) + intercept``, fitted to the standards."""

    def __init__(self, rcs: dict | None = None) -> None:
        self.rcs = rcs if rcs is not None else achrom.RCs_krokhin_100A_fa
        x = np.array([self._raw(s) for s in IRT_STANDARDS])
        y = np.array(list(IRT_STANDARDS.values()))
        self.slope, self.intercept = (float(v) for v in np.polyfit(x, y, 1))
        fitted = self.slope * x + self.intercept
        self.rmse = float(np.sqrt(np.mean((y - fitted) ** 2)))
        self.r2 = float(np.corrcoef(x, y)[0, 1] ** 2)

    def _raw(self, sequence: str) -> float:
        return float(achrom.calculate_RT(sequence, self.rcs))

    def __call__(self, sequence: str) -> float:
        """Predicted iRT of an unmodified residue sequence."""
        if sequence in IRT_STANDARDS:
            return IRT_STANDARDS[sequence]
        return round(self.slope * self._raw(sequence) + self.intercept, 2)


@lru_cache(maxsize=1)
def _default() -> IRTPredictor:
    return IRTPredictor()


def predict_irt(sequence: str) -> float:
    """Predict the iRT of a residue sequence with the default fitted model."""
    return _default()(sequence)
