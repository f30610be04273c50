"""Change from baseline: the one definition of % change and of peak % increase.

``pct_change(value, base) = 100 * (value / base - 1)``, the ADaM percent change from baseline
(ADaMIG 1.3 section 3.3.4, PCHG = (AVAL - BASE) / BASE x 100, written so that the model's
summaries and the analysis of data give the same bits).  The peak % increase of a subject is
``pct_change`` of the largest post-baseline value.  Used by the model's summaries
(:mod:`il2sim.simulate.summary`, :mod:`il2sim.trial.cohort`), by the ADaM cell-count dataset
(:mod:`il2sim.cdisc.bds`) and so by :mod:`il2sim.analysis` and ``il2sim reproduce``.
A zero or missing baseline gives NaN.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["pct_change", "peak_increase_pct"]

FloatArray = npt.NDArray[np.float64]


def pct_change(value: npt.ArrayLike, base: npt.ArrayLike) -> FloatArray:
    """``100 * (value / base - 1)`` elementwise; NaN where ``base`` is 0 or not finite."""
    v = np.asarray(value, dtype=float)
    b = np.asarray(base, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100.0 * (v / b - 1.0)
    return np.asarray(np.where(np.isfinite(out), out, np.nan), dtype=float)


def peak_increase_pct(post: npt.ArrayLike, base: npt.ArrayLike) -> FloatArray:
    """Peak % increase: ``pct_change(max(post, axis=-1), base)`` for post-baseline values
    ``post`` (..., K) and baselines ``base`` (...)."""
    p = np.asarray(post, dtype=float)
    return pct_change(p.max(axis=-1), base)
