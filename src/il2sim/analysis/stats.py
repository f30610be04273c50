"""Dose-response statistics: Jonckheere-Terpstra (:mod:`.jonckheere`), Spearman, log-dose
linear model, summaries by level.

Each test returns one frozen result with ``statistic``, ``pvalue``, ``method`` and named
extras, like ``scipy.stats`` results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from il2sim._json import FieldRecord
from il2sim.analysis.jonckheere import (
    MAX_EXACT_ENUMERATION,
    MAX_EXACT_N,
    JonckheereResult,
    jonckheere_terpstra,
    jt_exact_distribution,
    jt_null_variance,
    jt_permutation_distribution,
    jt_statistic,
)
from il2sim.errors import DataError

__all__ = [
    "MAX_EXACT_ENUMERATION",
    "MAX_EXACT_N",
    "JonckheereResult",
    "LevelSummary",
    "LogDoseFit",
    "SpearmanResult",
    "jonckheere_terpstra",
    "jt_exact_distribution",
    "jt_null_variance",
    "jt_permutation_distribution",
    "jt_statistic",
    "log_dose_fit",
    "spearman",
    "summarize_by_level",
]

FloatArray = npt.NDArray[np.float64]

@dataclass(frozen=True)
class SpearmanResult(FieldRecord):
    """Spearman rank correlation between dose and response (two-sided p, scipy)."""

    statistic: float
    pvalue: float
    method: str
    n: int


@dataclass(frozen=True)
class LogDoseFit(FieldRecord):
    """OLS fit ``response = intercept + slope * ln(dose)`` (statsmodels), with CIs.

    ``statistic`` is the t statistic of the slope, ``pvalue`` its two-sided p.
    """

    statistic: float
    pvalue: float
    method: str
    intercept: float
    slope: float
    intercept_ci: tuple[float, float]
    slope_ci: tuple[float, float]
    r_squared: float
    n: int
    confidence: float

    def predict(self, dose: FloatArray | float) -> FloatArray:
        """Fitted response at ``dose`` (same dose unit as the fit)."""
        return self.intercept + self.slope * np.log(np.asarray(dose, dtype=float))


@dataclass(frozen=True)
class LevelSummary(FieldRecord):
    """Summary of one endpoint at one dose level (NaN values dropped)."""

    level: int
    dose_miu_per_m2: float
    n: int
    mean: float
    sd: float
    median: float
    min: float
    max: float


# ------------------------------------------------------------------------------------------


def spearman(
    dose: Sequence[float] | FloatArray, response: Sequence[float] | FloatArray
) -> SpearmanResult:
    """Spearman rank correlation of response with dose (pairs with NaN dropped)."""
    x = np.asarray(dose, dtype=float)
    y = np.asarray(response, dtype=float)
    ok = ~(np.isnan(x) | np.isnan(y))
    if ok.sum() < 3:
        raise DataError(f"need at least 3 complete pairs, got {int(ok.sum())}", field="spearman")
    res = sps.spearmanr(x[ok], y[ok])
    return SpearmanResult(
        statistic=float(res.statistic),
        pvalue=float(res.pvalue),
        method="Spearman rank correlation (two-sided, t approximation)",
        n=int(ok.sum()),
    )


def log_dose_fit(
    dose: Sequence[float] | FloatArray,
    response: Sequence[float] | FloatArray,
    confidence: float = 0.95,
) -> LogDoseFit:
    """OLS of ``response`` on ``ln(dose)`` with ``confidence`` intervals (statsmodels)."""
    import statsmodels.api as sm

    x = np.asarray(dose, dtype=float)
    y = np.asarray(response, dtype=float)
    ok = ~(np.isnan(x) | np.isnan(y))
    if np.any(x[ok] <= 0):
        raise DataError("doses must be > 0 for a log-dose model", field="dose")
    if ok.sum() < 3 or np.unique(x[ok]).size < 2:
        raise DataError("need at least 3 subjects at 2 or more doses", field="log_dose_fit")
    design = sm.add_constant(np.log(x[ok]))
    fit = sm.OLS(y[ok], design).fit()
    ci = np.asarray(fit.conf_int(alpha=1.0 - confidence))
    params = np.asarray(fit.params)
    return LogDoseFit(
        statistic=float(np.asarray(fit.tvalues)[1]),
        pvalue=float(np.asarray(fit.pvalues)[1]),
        method="OLS on ln(dose) (statsmodels)",
        intercept=float(params[0]),
        slope=float(params[1]),
        intercept_ci=(float(ci[0, 0]), float(ci[0, 1])),
        slope_ci=(float(ci[1, 0]), float(ci[1, 1])),
        r_squared=float(fit.rsquared),
        n=int(ok.sum()),
        confidence=confidence,
    )


def summarize_by_level(
    values: Sequence[float] | FloatArray,
    level: Sequence[int] | npt.NDArray[np.int64],
    dose_miu_per_m2: Sequence[float] | FloatArray,
) -> tuple[LevelSummary, ...]:
    """n, mean, SD (ddof=1), median and range of ``values`` per dose level (NaN dropped)."""
    v = np.asarray(values, dtype=float)
    lv = np.asarray(level)
    d = np.asarray(dose_miu_per_m2, dtype=float)
    out: list[LevelSummary] = []
    for k in sorted(set(lv.tolist())):
        mask = lv == k
        x = v[mask]
        x = x[~np.isnan(x)]
        nan = math.nan
        out.append(
            LevelSummary(
                level=int(k),
                dose_miu_per_m2=float(d[mask][0]),
                n=int(x.size),
                mean=float(x.mean()) if x.size else nan,
                sd=float(x.std(ddof=1)) if x.size > 1 else nan,
                median=float(np.median(x)) if x.size else nan,
                min=float(x.min()) if x.size else nan,
                max=float(x.max()) if x.size else nan,
            )
        )
    return tuple(out)
