"""The simulation result: arrays (patients x time) with units in their names, and summaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim import units
from il2sim.simulate import summary as _s

FloatArray = npt.NDArray[np.float64]

#: (attribute, unit) of the per-patient time courses written by :meth:`to_long_frame`.
TIME_COURSES: tuple[tuple[str, str], ...] = (
    ("il2_pm", "pM"),
    ("nk_per_ul", "cells/ul"),
    ("bright_per_ul", "cells/ul"),
    ("dim_per_ul", "cells/ul"),
    ("occ_high", "fraction"),
    ("occ_int", "fraction"),
)


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Output of :func:`il2sim.simulate.simulate`.

    Time courses (P, T) on ``t_day`` (T,), recorded before any dose given at that time (so a
    value on a dosing day is the trough): ``il2_pm`` serum IL-2 (pM), ``nk_per_ul`` total
    CD3-CD56+ NK, ``bright_per_ul`` CD56bright, ``dim_per_ul`` CD56dim (cells/ul),
    ``occ_high``/``occ_int`` receptor occupancy (fraction).
    Daily (P, D), day d = [d, d+1): ``il2_daily_max_pm`` (exact maxima tracked on the solver's
    steps), ``il2_daily_mean_pm`` (AUC over the day / its length).
    Per patient (P,): ``il2_peak_pm`` (max over the horizon), first-dose Cmax (pM), Tmax
    (hours after the first dose) and AUC over the 24 h after it (IU*h/ml); ``dosed_iu`` total
    amount given and ``pk_amounts_end_iu`` (P, 7): depot1, depot2, central, peripheral, renal
    elimination, receptor elimination, not absorbed at the horizon (they sum to ``dosed_iu``).
    """

    t_day: FloatArray
    il2_pm: FloatArray
    nk_per_ul: FloatArray
    bright_per_ul: FloatArray
    dim_per_ul: FloatArray
    occ_high: FloatArray
    occ_int: FloatArray
    il2_daily_max_pm: FloatArray
    il2_daily_mean_pm: FloatArray
    il2_peak_pm: FloatArray
    il2_cmax_first_dose_pm: FloatArray
    il2_tmax_first_dose_h: FloatArray
    il2_auc_first_24h_iu_h_per_ml: FloatArray
    dosed_iu: FloatArray
    pk_amounts_end_iu: FloatArray
    horizon_day: float
    solver: str
    regimen: str | None = None
    seed: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_patients(self) -> int:
        """Number of patients P."""
        return int(self.il2_pm.shape[0])

    @property
    def nk_peak_increase_pct(self) -> FloatArray:
        """Per patient 100*(max NK(t)/NK(0) - 1), total NK, %."""
        return _s.peak_increase_pct(self.nk_per_ul)

    @property
    def bright_peak_increase_pct(self) -> FloatArray:
        """Per patient 100*(max CD56bright(t)/CD56bright(0) - 1), %."""
        return _s.peak_increase_pct(self.bright_per_ul)

    def mass_balance_error_iu(self) -> FloatArray:
        """Per patient: sum of PK amounts at the end minus the amount dosed, IU."""
        return np.asarray(self.pk_amounts_end_iu.sum(axis=1) - self.dosed_iu, dtype=float)

    def summary(self) -> dict[str, Any]:
        """The population summary printed by ``il2sim simulate --json`` (see docs/model.md)."""
        return {
            "patients": self.n_patients,
            "seed": self.seed,
            "regimen": self.regimen,
            "solver": self.solver,
            "horizon_day": self.horizon_day,
            "il2_peak_pm": _s.stats(self.il2_peak_pm),
            "il2_cmax_first_dose_pm": _s.stats(self.il2_cmax_first_dose_pm),
            "il2_cmax_first_dose_iu_per_ml": _s.stats(
                units.pm_to_iu_per_ml(self.il2_cmax_first_dose_pm)
            ),
            "il2_tmax_first_dose_h": _s.stats(self.il2_tmax_first_dose_h),
            "il2_auc_first_24h_iu_h_per_ml": _s.stats(self.il2_auc_first_24h_iu_h_per_ml),
            "nk_peak_increase_pct": _s.stats(self.nk_peak_increase_pct),
            "cd56bright_peak_increase_pct": _s.stats(self.bright_peak_increase_pct),
            "nk_mean_t95_day": _s.mean_t95_day(self.t_day, self.nk_per_ul),
            "nk_mean_end_over_max": _s.mean_end_over_max(self.nk_per_ul),
            "weekly": _s.weekly(self.t_day, self.nk_per_ul, self.bright_per_ul, self.il2_pm),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the summary; time courses go to :meth:`to_long_frame`)."""
        return self.summary()

    def to_long_frame(self) -> Any:
        """Per-patient time courses, long format: patient, time_day, variable, value, unit."""
        import pandas as pd

        p, t = self.il2_pm.shape
        patient = np.repeat(np.arange(p), t)
        time = np.tile(self.t_day, p)
        frames = [
            pd.DataFrame(
                {
                    "patient": patient,
                    "time_day": time,
                    "variable": name,
                    "value": getattr(self, name).ravel(),
                    "unit": unit,
                }
            )
            for name, unit in TIME_COURSES
        ]
        out = pd.concat(frames, ignore_index=True)
        out["variable"] = out["variable"].astype("category")
        out["unit"] = out["unit"].astype("category")
        return out


def concat_results(results: list[SimulationResult]) -> SimulationResult:
    """Stack results of the same regimen/grid computed on consecutive patient chunks."""
    if not results:
        raise ValueError("concat_results needs at least one result")
    first = results[0]
    stacked: dict[str, Any] = {}
    for name in (
        "il2_pm",
        "nk_per_ul",
        "bright_per_ul",
        "dim_per_ul",
        "occ_high",
        "occ_int",
        "il2_daily_max_pm",
        "il2_daily_mean_pm",
        "il2_peak_pm",
        "il2_cmax_first_dose_pm",
        "il2_tmax_first_dose_h",
        "il2_auc_first_24h_iu_h_per_ml",
        "dosed_iu",
        "pk_amounts_end_iu",
    ):
        stacked[name] = np.concatenate([getattr(r, name) for r in results], axis=0)
    return SimulationResult(
        t_day=first.t_day,
        horizon_day=first.horizon_day,
        solver=first.solver,
        regimen=first.regimen,
        seed=first.seed,
        meta=dict(first.meta),
        **stacked,
    )
