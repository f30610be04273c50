"""Population summaries of a simulation: the keys ``il2sim simulate --json`` prints."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
#: Fraction of the maximum that defines the time-to-plateau statistic.
T95_FRACTION = 0.95
#: Spacing of the ``weekly`` block, days.
WEEK_DAY = 7.0


def stats(x: npt.ArrayLike) -> dict[str, float]:
    """{mean, median, p5, p95} of ``x`` (NaN-free input expected)."""
    a = np.asarray(x, dtype=float)
    return {
        "mean": float(np.mean(a)),
        "median": float(np.median(a)),
        "p5": float(np.percentile(a, 5)),
        "p95": float(np.percentile(a, 95)),
    }


def peak_increase_pct(counts: FloatArray) -> FloatArray:
    """Per patient ``100 * (max_t count(t) / count(0) - 1)`` for counts (P, T): the one
    definition of :func:`il2sim.baseline.peak_increase_pct`, over every output time."""
    from il2sim.baseline import peak_increase_pct as _peak

    return _peak(counts, counts[:, 0])


def mean_t95_day(t_day: FloatArray, counts: FloatArray, fraction: float = T95_FRACTION) -> float:
    """First time (days) the population-mean count reaches ``fraction`` of its maximum over
    time, linearly interpolated between output times."""
    m = counts.mean(axis=0)
    level = fraction * m.max()
    idx = int(np.argmax(m >= level))
    if idx == 0:
        return float(t_day[0])
    t0, t1, m0, m1 = t_day[idx - 1], t_day[idx], m[idx - 1], m[idx]
    return float(t0 + (level - m0) / (m1 - m0) * (t1 - t0))


def mean_end_over_max(counts: FloatArray) -> float:
    """Population-mean count at the last time / its maximum over time."""
    m = counts.mean(axis=0)
    return float(m[-1] / m.max())


def _interp_rows(t_new: FloatArray, t: FloatArray, y: FloatArray) -> FloatArray:
    return np.stack([np.interp(t_new, t, row) for row in y]) if y.shape[0] else y


def weekly(
    t_day: FloatArray, nk: FloatArray, bright: FloatArray, il2_pm: FloatArray
) -> dict[str, Any]:
    """Weekly block: day, mean % increase of NK and CD56bright over baseline, median IL-2
    (recorded before that day's dose, i.e. the trough) in pM."""
    days = np.arange(0.0, t_day[-1] + 1e-9, WEEK_DAY)
    nk_w = _interp_rows(days, t_day, nk)
    br_w = _interp_rows(days, t_day, bright)
    il_w = _interp_rows(days, t_day, il2_pm)
    return {
        "day": days.tolist(),
        "nk_mean_increase_pct": (100.0 * (nk_w / nk[:, :1] - 1.0)).mean(axis=0).tolist(),
        "cd56bright_mean_increase_pct": (100.0 * (br_w / bright[:, :1] - 1.0))
        .mean(axis=0)
        .tolist(),
        "il2_trough_median_pm": np.median(il_w, axis=0).tolist(),
    }
