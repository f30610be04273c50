"""The simulation result: arrays (patients x time) with units in their names, and summaries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim import units
from il2sim.errors import InputError
from il2sim.simulate import summary as _s

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Output of :func:`il2sim.simulate.simulate`.

    ``outputs``: the model's named outputs (P, T) on ``t_day`` (T,), in declaration order
    (:attr:`il2sim.model.declaration.Model.outputs`; units in ``output_units``), recorded
    before any dose given at that time (so a value on a dosing day is the trough).  For the
    IL-2 model: ``il2_pm`` serum IL-2 (pM), ``nk_per_ul`` total CD3-CD56+ NK,
    ``bright_per_ul`` CD56bright, ``dim_per_ul`` CD56dim (cells/ul), ``occ_high``/``occ_int``
    receptor occupancy (fraction), also as attributes.
    Daily (P, D), day d = [d, d+1): ``il2_daily_max_pm`` (exact maxima tracked on the solver's
    steps), ``il2_daily_mean_pm`` (AUC over the day / its length).
    Per patient (P,): ``il2_peak_pm`` (max over the horizon), first-dose Cmax (pM), Tmax
    (hours after the first dose) and AUC over the 24 h after it (IU*h/ml); ``dosed_iu`` total
    amount given; ``state_end`` (P, N) the states at the horizon (``state_names``);
    ``pk_amounts_end_iu`` the drug-mass states among them (they sum to ``dosed_iu``).
    ``steps``/``rejected`` (P,): accepted and rejected steps of the fast solver (0 for the
    reference).
    """

    t_day: FloatArray
    outputs: Mapping[str, FloatArray]
    output_units: Mapping[str, str]
    il2_daily_max_pm: FloatArray
    il2_daily_mean_pm: FloatArray
    il2_peak_pm: FloatArray
    il2_cmax_first_dose_pm: FloatArray
    il2_tmax_first_dose_h: FloatArray
    il2_auc_first_24h_iu_h_per_ml: FloatArray
    dosed_iu: FloatArray
    state_end: FloatArray
    state_names: tuple[str, ...]
    mass_states: tuple[str, ...]
    horizon_day: float
    solver: str
    steps: IntArray
    rejected: IntArray
    regimen: str | None = None
    seed: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "outputs", MappingProxyType(dict(self.outputs)))
        object.__setattr__(self, "output_units", MappingProxyType(dict(self.output_units)))

    def output(self, name: str) -> FloatArray:
        """Named output (P, T) (unknown name -> :class:`il2sim.errors.InputError`)."""
        try:
            return self.outputs[name]
        except KeyError:
            raise InputError(
                f"unknown output; the model has {', '.join(self.outputs)}", field=name
            ) from None

    @property
    def il2_pm(self) -> FloatArray:
        """Serum IL-2, pM (P, T)."""
        return self.output("il2_pm")

    @property
    def nk_per_ul(self) -> FloatArray:
        """Total NK, cells/ul (P, T)."""
        return self.output("nk_per_ul")

    @property
    def bright_per_ul(self) -> FloatArray:
        """CD56bright NK, cells/ul (P, T)."""
        return self.output("bright_per_ul")

    @property
    def dim_per_ul(self) -> FloatArray:
        """CD56dim NK, cells/ul (P, T)."""
        return self.output("dim_per_ul")

    @property
    def occ_high(self) -> FloatArray:
        """High-affinity receptor occupancy, fraction (P, T)."""
        return self.output("occ_high")

    @property
    def occ_int(self) -> FloatArray:
        """Intermediate receptor occupancy, fraction (P, T)."""
        return self.output("occ_int")

    @property
    def pk_amounts_end_iu(self) -> FloatArray:
        """Drug-mass states at the horizon (P, M), IU, in state order (sum = ``dosed_iu``)."""
        idx = [self.state_names.index(n) for n in self.mass_states]
        return self.state_end[:, idx]

    @property
    def n_patients(self) -> int:
        """Number of patients P."""
        return int(self.dosed_iu.shape[0])

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

        p, t = self.n_patients, self.t_day.size
        patient = np.repeat(np.arange(p), t)
        time = np.tile(self.t_day, p)
        frames = [
            pd.DataFrame(
                {
                    "patient": patient,
                    "time_day": time,
                    "variable": name,
                    "value": values.ravel(),
                    "unit": self.output_units[name],
                }
            )
            for name, values in self.outputs.items()
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
        "il2_daily_max_pm",
        "il2_daily_mean_pm",
        "il2_peak_pm",
        "il2_cmax_first_dose_pm",
        "il2_tmax_first_dose_h",
        "il2_auc_first_24h_iu_h_per_ml",
        "dosed_iu",
        "state_end",
        "steps",
        "rejected",
    ):
        stacked[name] = np.concatenate([getattr(r, name) for r in results], axis=0)
    outputs = {k: np.concatenate([r.outputs[k] for r in results], axis=0) for k in first.outputs}
    return SimulationResult(
        t_day=first.t_day,
        outputs=outputs,
        output_units=first.output_units,
        state_names=first.state_names,
        mass_states=first.mass_states,
        horizon_day=first.horizon_day,
        solver=first.solver,
        regimen=first.regimen,
        seed=first.seed,
        meta=dict(first.meta),
        **stacked,
    )
