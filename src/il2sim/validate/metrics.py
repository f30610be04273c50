"""Per-patient endpoints a validation row can name (``endpoint:`` in the study file).

Each metric maps a :class:`il2sim.simulate.SimulationResult` (and the row's ``day`` /
``window``, days) to one value per patient; the row's rule is applied to the population
median (or mean) and the table shows the median with the 5th-95th percentiles (90% prediction
interval of the model's virtual population).  Folds are max / baseline of blood counts;
CD4 = Tregs + conventional CD4 T cells.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from il2sim import units
from il2sim.errors import InputError
from il2sim.simulate import SimulationResult

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MetricArgs:
    """Row arguments of a metric: ``day`` (a time, days) and ``window`` (first, last day)."""

    day: float | None = None
    window: tuple[float, float] | None = None


def _at(res: SimulationResult, name: str, day: float | None) -> FloatArray:
    if day is None:
        raise InputError("this endpoint needs 'day'", field="day")
    y = res.output(name)
    return np.array([np.interp(day, res.t_day, row) for row in y])


def _fold(y: FloatArray) -> FloatArray:
    return np.asarray(y.max(axis=1) / y[:, 0], dtype=float)


def _cd4(res: SimulationResult) -> FloatArray:
    return np.asarray(res.output("treg_per_ul") + res.output("tconv_per_ul"), dtype=float)


def _window(a: MetricArgs, res: SimulationResult) -> tuple[int, int]:
    if a.window is None:
        raise InputError("this endpoint needs 'window: [first_day, last_day]'", field="window")
    n = res.il2_daily_mean_pm.shape[1]
    lo, hi = int(a.window[0]), min(int(a.window[1]), n - 1)
    if not 0 <= lo <= hi:
        raise InputError(f"bad window {a.window}", field="window")
    return lo, hi


def _il2_mean(res: SimulationResult, a: MetricArgs) -> FloatArray:
    lo, hi = _window(a, res)
    return np.asarray(res.il2_daily_mean_pm[:, lo : hi + 1].mean(axis=1), dtype=float)


def _il2_ratio(res: SimulationResult, a: MetricArgs) -> FloatArray:
    lo, hi = _window(a, res)
    d = res.il2_daily_max_pm
    return np.asarray(d[:, hi] / np.maximum(d[:, lo], 1e-300), dtype=float)


def _frac(res: SimulationResult) -> FloatArray:
    return np.asarray(100.0 * res.output("treg_per_ul") / _cd4(res), dtype=float)


def _pop(value: float, n: int) -> FloatArray:
    return np.full(n, value)


def _t95(r: SimulationResult, a: MetricArgs) -> FloatArray:
    from il2sim.simulate.summary import mean_t95_day

    return _pop(mean_t95_day(r.t_day, r.nk_per_ul), r.n_patients)


def _end_over_max(r: SimulationResult, a: MetricArgs) -> FloatArray:
    from il2sim.simulate.summary import mean_end_over_max

    return _pop(mean_end_over_max(r.nk_per_ul), r.n_patients)


#: name -> (unit, per-patient values).  ``nk_mean_t95_day`` and ``nk_mean_end_over_max`` are
#: population quantities (of the mean NK time course), repeated for every patient.
METRICS: Mapping[str, tuple[str, Callable[[SimulationResult, MetricArgs], FloatArray]]] = {
    "il2_peak_pm": ("pM", lambda r, a: r.il2_peak_pm),
    "il2_cmax_first_dose_pm": ("pM", lambda r, a: r.il2_cmax_first_dose_pm),
    "il2_cmax_first_dose_iu_per_ml": (
        "IU/ml", lambda r, a: np.asarray(units.pm_to_iu_per_ml(r.il2_cmax_first_dose_pm))),
    "il2_tmax_first_dose_h": ("h", lambda r, a: r.il2_tmax_first_dose_h),
    "il2_auc_first_24h_iu_h_per_ml": ("IU*h/ml", lambda r, a: r.il2_auc_first_24h_iu_h_per_ml),
    "il2_mean_pm": ("pM", _il2_mean),
    "il2_daily_max_ratio": ("ratio", _il2_ratio),
    "nk_peak_increase_pct": ("%", lambda r, a: r.nk_peak_increase_pct),
    "cd56bright_peak_increase_pct": ("%", lambda r, a: r.bright_peak_increase_pct),
    "treg_peak_increase_pct": ("%", lambda r, a: 100.0 * (_fold(r.output("treg_per_ul")) - 1)),
    "nk_peak_fold": ("fold", lambda r, a: _fold(r.nk_per_ul)),
    "treg_peak_fold": ("fold", lambda r, a: _fold(r.output("treg_per_ul"))),
    "tconv_peak_fold": ("fold", lambda r, a: _fold(r.output("tconv_per_ul"))),
    "cd8_peak_fold": ("fold", lambda r, a: _fold(r.output("cd8_per_ul"))),
    "cd4_peak_fold": ("fold", lambda r, a: _fold(_cd4(r))),
    "treg_fold_at_day": (
        "fold", lambda r, a: _at(r, "treg_per_ul", a.day) / r.output("treg_per_ul")[:, 0]),
    "treg_fraction_ratio": ("ratio", lambda r, a: _frac(r).max(axis=1) / _frac(r)[:, 0]),
    "treg_tconv_ratio": (
        "ratio", lambda r, a: _at(r, "treg_per_ul", a.day) / _at(r, "tconv_per_ul", a.day)),
    "nk_mean_t95_day": ("day", _t95),
    "nk_mean_end_over_max": ("ratio", _end_over_max),
    "cd4_change_per_ul": (
        "cells/ul",
        lambda r, a: _at(r, "treg_per_ul", a.day) + _at(r, "tconv_per_ul", a.day) - _cd4(r)[:, 0],
    ),
}


def metric_values(name: str, res: SimulationResult, args: MetricArgs) -> FloatArray:
    """Per-patient values of metric ``name`` (unknown name -> InputError naming it)."""
    try:
        _, fn = METRICS[name]
    except KeyError:
        raise InputError(
            f"unknown endpoint; known: {', '.join(sorted(METRICS))}", field="endpoint", value=name
        ) from None
    return np.asarray(fn(res, args), dtype=float)


def metric_unit(name: str) -> str:
    """Unit of metric ``name``."""
    return METRICS[name][0] if name in METRICS else ""
