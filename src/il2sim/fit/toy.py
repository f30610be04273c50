"""Reference structural models with closed forms, fitted through the same code path as the
il2sim model (tests, the theophylline comparison with nlmixr2, the recovery benchmark).

* :class:`OneCompartmentOral`: single oral dose ``D``, first-order absorption ``ka`` (1/h),
  volume ``V`` (l), clearance ``CL`` (l/h):
  ``C(t) = D ka / (V (ka - k)) (exp(-k t) - exp(-ka t))``, ``k = CL/V`` (mg/l for D in mg);
  the limit ``D k t exp(-k t) / V`` where ``ka = k``.
* :class:`LinearTurnover`: ``dR/dt = kin - kout R``, ``R(0) = R0``:
  ``R(t) = kin/kout + (R0 - kin/kout) exp(-kout t)``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt

from il2sim.fit.data import FitData

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = ["LinearTurnover", "OneCompartmentOral"]


class OneCompartmentOral:
    """One-compartment model with first-order absorption after one dose per subject."""

    param_names: ClassVar[tuple[str, ...]] = ("ka", "V", "CL")
    units: ClassVar[dict[str, str]] = {"ka": "1/h", "V": "l", "CL": "l/h"}

    def __init__(self, data: FitData, dose: npt.ArrayLike) -> None:
        self.time = np.nan_to_num(np.asarray(data.time, dtype=float))
        self.dose = np.asarray(dose, dtype=float)
        if self.dose.shape != (data.n_subjects,):
            raise ValueError("one dose per subject")

    def predict(self, phi: FloatArray, subjects: IntArray) -> FloatArray:
        """Concentrations (R, J) for log (ka, V, CL) rows."""
        ka = np.exp(phi[:, 0])[:, None]
        v = np.exp(phi[:, 1])[:, None]
        k = (np.exp(phi[:, 2]) / np.exp(phi[:, 1]))[:, None]
        t = self.time[subjects]
        d = self.dose[subjects][:, None]
        diff = ka - k
        close = np.abs(diff) < 1e-8 * ka
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            c = d * ka / (v * diff) * (np.exp(-k * t) - np.exp(-ka * t))
            lim = d * k * t * np.exp(-k * t) / v
        return np.asarray(np.where(close, lim, c), dtype=float)


class LinearTurnover:
    """Linear turnover (zero-order production, first-order loss) from a baseline."""

    param_names: ClassVar[tuple[str, ...]] = ("r0", "kin", "kout")
    units: ClassVar[dict[str, str]] = {"r0": "unit", "kin": "unit/h", "kout": "1/h"}

    def __init__(self, data: FitData) -> None:
        self.time = np.nan_to_num(np.asarray(data.time, dtype=float))

    def predict(self, phi: FloatArray, subjects: IntArray) -> FloatArray:
        """Responses (R, J) for log (R0, kin, kout) rows."""
        r0 = np.exp(phi[:, 0])[:, None]
        kin = np.exp(phi[:, 1])[:, None]
        kout = np.exp(phi[:, 2])[:, None]
        t = self.time[subjects]
        rss = kin / kout
        return np.asarray(rss + (r0 - rss) * np.exp(-kout * t), dtype=float)
