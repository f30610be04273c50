"""Measurement noise on observed values, so simulated data look like real data.

* Flow cytometry (CP: NK and CD56bright counts): multiplicative log-normal error with CV
  ``FLOW_CV`` = 12% -- an assumption inside the 10-15% range usual for absolute lymphocyte-subset
  counts.  Small subsets counted from few events are noisier: the CV used is
  ``sqrt(FLOW_CV**2 + 1 / events)`` with ``events = count_per_ul * FLOW_UL_ACQUIRED`` (Poisson
  counting error), ``FLOW_UL_ACQUIRED = 50`` ul of blood acquired (assumption).
* Serum IL-2 (PC): multiplicative log-normal error with CV ``IL2_ASSAY_CV`` = 15%, the
  precision limit of FDA's Bioanalytical Method Validation guidance (2018: CV <= 15%, <= 20%
  at the LLOQ); values below the lower limit of quantification ``IL2_LLOQ_PM`` = 0.5 pM
  (assumption: a high-sensitivity IL-2 immunoassay) are flagged BLQ and reported as missing.
  Results are in pmol/L (pM); 0.5 pM = 0.115 IU/ml by the seed's 10 pM = 2.3 IU/ml.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "CP_SOURCES",
    "FLOW_CV",
    "IL2_ASSAY_CV",
    "IL2_LLOQ_PM",
    "Observations",
    "add_flow_noise",
    "add_il2_noise",
    "observe",
]

FLOW_CV: Final[float] = 0.12
FLOW_UL_ACQUIRED: Final[float] = 50.0
IL2_ASSAY_CV: Final[float] = 0.15
IL2_LLOQ_PM: Final[float] = 0.5


def _lognormal_factor(rng: np.random.Generator, cv: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Multiplicative factor with median 1 and CV ``cv`` (array)."""
    c = np.asarray(cv, dtype=float)
    sd = np.sqrt(np.log1p(c * c))
    return np.asarray(np.exp(sd * rng.standard_normal(c.shape)), dtype=float)


def add_flow_noise(
    count_per_ul: npt.ArrayLike, rng: np.random.Generator, cv: float = FLOW_CV
) -> npt.NDArray[np.float64]:
    """Observed counts (cells/ul, > 0) from true counts; see the module docstring."""
    x = np.clip(np.asarray(count_per_ul, dtype=float), 1e-6, None)
    events = x * FLOW_UL_ACQUIRED
    total_cv = np.sqrt(cv * cv + 1.0 / events)
    return x * _lognormal_factor(rng, total_cv)


def add_il2_noise(
    conc_pm: npt.ArrayLike,
    rng: np.random.Generator,
    cv: float = IL2_ASSAY_CV,
    lloq_pm: float = IL2_LLOQ_PM,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Observed IL-2 (pM; NaN when BLQ) and the BLQ flag, from true concentrations."""
    x = np.clip(np.asarray(conc_pm, dtype=float), 0.0, None)
    obs = x * _lognormal_factor(rng, np.full(x.shape, cv))
    blq = obs < lloq_pm
    return np.where(blq, np.nan, obs), blq


#: CP test code -> attribute of :class:`il2sim.trial.cohort.CohortResult` holding the true
#: blood counts at the visits (cells/ul).  Noise is drawn in this order, per cohort.
CP_SOURCES: dict[str, str] = {"NKCELLS": "nk_visit_per_ul", "NKBRIGHT": "bright_visit_per_ul"}


@dataclass(frozen=True)
class Observations:
    """What the assays of one cohort report: counts per CP test code (P, V) in cells/ul and
    serum IL-2 (P, V, H) in pM (NaN when below the LLOQ) with its BLQ flag."""

    counts_per_ul: dict[str, npt.NDArray[np.float64]]
    il2_pm: npt.NDArray[np.float64]
    il2_blq: npt.NDArray[np.bool_]


def observe(cohorts: Sequence[Any], noise_seed: np.random.SeedSequence) -> tuple[Observations, ...]:
    """Measurement noise for every cohort of a trial, drawn from ``noise_seed`` in cohort order
    (per cohort: each CP test of :data:`CP_SOURCES`, then IL-2), so the same seed gives the
    same datasets.  ``cohorts``: the trial's :class:`~il2sim.trial.run.CohortRecord` s."""
    rng = np.random.default_rng(noise_seed)
    out = []
    for rec in cohorts:
        r = rec.result
        counts = {code: add_flow_noise(getattr(r, attr), rng) for code, attr in CP_SOURCES.items()}
        il2, blq = add_il2_noise(r.il2_pc_pm, rng)
        out.append(Observations(counts, il2, blq))
    return tuple(out)
