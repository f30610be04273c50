"""Calibration of the toxicity table's ``calibrated`` rows to the seed (beside the model fit).

Targets (Meropol et al. 1996, Clin Cancer Res 2:669): MTD 1.25 MIU/m2 under the seed's 4+5
design, with constitutional symptoms, vomiting and hyperglycemia dose limiting; mild local skin
reactions and constitutional symptoms common at or below the MTD; 3 of 38 patients with
anti-IL-2 antibodies over the 90 days.  The exposures come from the (already calibrated) model:
:func:`il2sim.toxicity.exposure.simulate_exposure`.  ``il2sim calibrate --write`` runs
:func:`calibrate_and_write` after writing the model's fitted values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.errors import InputError
from il2sim.model.parameters import Parameters
from il2sim.seed import MEROPOL_1996
from il2sim.toxicity import (
    AE_TYPES,
    DLTDefinition,
    dlt_probability,
    load_toxicity_parameters,
    model_fingerprint,
    p_grade_at_least,
    sample_tox_effects,
    score_base,
    write_toxicity_values,
)
from il2sim.toxicity.exposure import simulate_exposure

__all__ = [
    "DEFAULT_ADA_TARGET",
    "DEFAULT_DLT_TARGETS",
    "DEFAULT_DLT_WEIGHTS",
    "DEFAULT_MILD_TARGETS",
    "DEFAULT_MTD_MIU_PER_M2",
    "ToxicityCalibration",
    "calibrate_and_write",
    "calibrate_toxicity",
    "fit_toxicity",
]

FloatArray = npt.NDArray[np.float64]

#: DLT-probability targets per dose (MIU/m2/day) and their weights: il2sim's reading of the
#: seed's MTD 1.25 (about 0.2 or below at 1.25, clearly above at 1.50 and 1.75, low below).
#: The weight on 1.25 is highest: with the model's between-patient exposure variability the
#: curve cannot be as steep as the targets ask, and the 4+5 design must select 1.25 most often.
DEFAULT_DLT_TARGETS: dict[float, float] = {1.0: 0.05, 1.25: 0.14, 1.5: 0.33, 1.75: 0.50}
DEFAULT_DLT_WEIGHTS: dict[float, float] = {1.0: 1.0, 1.25: 4.0, 1.5: 2.0, 1.75: 1.0}
#: "Mild local skin reactions and mild constitutional side effects common at or below the
#: MTD" (Meropol 1996), read as P(grade >= 1) at 1.25 MIU/m2: ISR 0.6, fever 0.5, fatigue 0.5.
DEFAULT_MILD_TARGETS: dict[str, float] = {"ISR": 0.6, "FEVER": 0.5, "FATIGUE": 0.5}
DEFAULT_MTD_MIU_PER_M2 = MEROPOL_1996.mtd_miu_per_m2
#: "3 of 38 patients developed antibodies" over 90 days (Meropol 1996).
DEFAULT_ADA_TARGET: tuple[int, int, float] = (
    *MEROPOL_1996.antibody_positive,
    float(MEROPOL_1996.n_treatment_days),
)
#: The seed's dose levels, MIU/m2/day (science.md §1 assumption).
_SEED_LEVELS: tuple[float, ...] = (0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 1.75)


@dataclass(frozen=True)
class ToxicityCalibration:
    """Result of :func:`fit_toxicity` / :func:`calibrate_toxicity`."""

    parameters: Parameters
    fitted: dict[str, float]
    dlt_targets: dict[float, float]
    dlt_achieved: dict[float, float]
    mild_achieved: dict[str, float]
    ada_incidence_achieved: float
    n_patients: int
    seed: int
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "fitted": self.fitted,
            "dlt_targets": {f"{k:g}": v for k, v in self.dlt_targets.items()},
            "dlt_achieved": {f"{k:g}": v for k, v in self.dlt_achieved.items()},
            "mild_grade1plus_at_mtd_achieved": self.mild_achieved,
            "ada_incidence_achieved": self.ada_incidence_achieved,
            "n_patients": self.n_patients,
            "seed": self.seed,
            **self.extras,
        }


def _selection_pct(p_dlt: Sequence[float]) -> list[float]:
    """Exact 4+5 selection % per dose for a DLT curve (:func:`il2sim.designs.ab.exact_oc`,
    Lin & Shih 2001)."""
    from il2sim.designs.ab import exact_oc, four_plus_five

    p = tuple(float(np.clip(x, 0.0, 1.0)) for x in p_dlt)
    return [float(x) for x in exact_oc(four_plus_five(len(p)), p).selection_pct]


def fit_toxicity(
    exposure_by_dose: Mapping[float, FloatArray],
    dose_daily_miu_by_dose: Mapping[float, FloatArray],
    tox: Parameters,
    seed: int = 0,
    dlt: DLTDefinition | None = None,
    dlt_targets: Mapping[float, float] | None = None,
    dlt_weights: Mapping[float, float] | None = None,
    mild_targets: Mapping[str, float] | None = None,
    mtd_miu_per_m2: float = DEFAULT_MTD_MIU_PER_M2,
    ada_target: tuple[int, int, float] = DEFAULT_ADA_TARGET,
    objective: str = "selection",
) -> ToxicityCalibration:
    """Fit the ``calibrated`` toxicity parameters to simulated exposures (deterministic).

    ``exposure_by_dose[dose]`` (P, D) daily peak IL-2 (pM) and ``dose_daily_miu_by_dose[dose]``
    (P, D) daily flat doses (MIU) of a virtual population at each dose (MIU/m2/day), day 0 =
    study day 1.

    * ``tox_ec50_pm``: with ``objective="selection"`` (default) it maximises the exact
      probability that the seed's design (4+5 A+B over all the doses given, Lin & Shih 2001,
      :func:`il2sim.designs.ab.exact_oc`) selects ``mtd_miu_per_m2`` -- the seed's observed
      outcome -- given the mean DLT probability per dose (grid on its log, then bounded
      refinement); with ``objective="probit"`` it minimises the weighted squared probit
      distance between the mean DLT probability and ``dlt_targets``;
    * ``rel_fever``, ``rel_fatigue``, ``isr_d50_miu`` solve P(grade >= 1 over 90 days) =
      ``mild_targets`` at ``mtd_miu_per_m2`` (Brent's method);
    * the two steps alternate three times (mild constitutional AEs feed the DLT rate);
    * ``ada_hazard_per_day`` is the constant hazard giving ``count/n`` positives by ``days``.
    """
    from scipy.optimize import brentq, minimize_scalar
    from scipy.special import ndtri

    targets = dict(dlt_targets or DEFAULT_DLT_TARGETS)
    weights = dict(dlt_weights or {d: DEFAULT_DLT_WEIGHTS.get(d, 1.0) for d in targets})
    mild = dict(mild_targets or DEFAULT_MILD_TARGETS)
    for d in [*targets, mtd_miu_per_m2]:
        if d not in exposure_by_dose or d not in dose_daily_miu_by_dose:
            raise InputError(f"no exposure simulated for dose {d:g}", field="dlt_targets")
    if objective not in ("selection", "probit"):
        raise InputError(f"must be selection or probit, got {objective!r}", field="objective")
    rng = np.random.default_rng(seed)
    g0 = {
        d: sample_tox_effects(e.shape[0], rng, tox).glucose0_mg_per_dl
        for d, e in exposure_by_dose.items()
    }

    def mean_p(t: Parameters, d: float) -> float:
        base = score_base(exposure_by_dose[d], dose_daily_miu_by_dose[d], t)
        return float(dlt_probability(base, g0[d], t, dlt).mean())

    z_t = {d: float(ndtri(np.clip(p, 1e-4, 1 - 1e-4))) for d, p in targets.items()}
    all_doses = sorted(exposure_by_dose)
    mtd_level = all_doses.index(mtd_miu_per_m2)

    def loss(log_ec50: float, t0: Parameters) -> float:
        t = t0.with_params(tox_ec50_pm=math.exp(log_ec50))
        if objective == "selection":
            sel = _selection_pct([mean_p(t, d) for d in all_doses])[mtd_level] / 100.0
            return -math.log(max(sel, 1e-12))
        out = 0.0
        for d in targets:
            z = float(ndtri(np.clip(mean_p(t, d), 1e-4, 1 - 1e-4)))
            out += weights[d] * (z - z_t[d]) ** 2
        return out

    e_mtd = exposure_by_dose[mtd_miu_per_m2]
    dose_mtd = dose_daily_miu_by_dose[mtd_miu_per_m2]
    g0_mtd = g0[mtd_miu_per_m2]
    codes = [a.code for a in AE_TYPES]
    cur = tox
    res_fun = math.nan
    for _ in range(3):
        x0 = math.log(cur.value("tox_ec50_pm"))
        grid = x0 + np.linspace(-3.0, 3.0, 61)
        xg = float(grid[int(np.argmin([loss(float(x), cur) for x in grid]))])
        res = minimize_scalar(
            loss, bounds=(xg - 0.1, xg + 0.1), args=(cur,), method="bounded",
            options={"xatol": 1e-5},
        )  # fmt: skip
        res_fun = float(res.fun)
        cur = cur.with_params(tox_ec50_pm=math.exp(float(res.x)))
        for code, target in mild.items():
            k = codes.index(code)
            name = AE_TYPES[k].param

            def gap(
                log_v: float,
                k: int = k,
                name: str = name,
                target: float = target,
                base_t: Parameters = cur,
            ) -> float:
                t = base_t.with_params(**{name: math.exp(log_v)})
                pg = p_grade_at_least(score_base(e_mtd, dose_mtd, t), g0_mtd, t)
                return float(pg[:, k, 0].mean()) - target

            v0 = math.log(cur.value(name))
            cur = cur.with_params(**{name: math.exp(brentq(gap, v0 - 15.0, v0 + 15.0, xtol=1e-9))})

    count, n, days = ada_target
    cur = cur.with_params(ada_hazard_per_day=-math.log1p(-count / n) / days)
    pg = p_grade_at_least(score_base(e_mtd, dose_mtd, cur), g0_mtd, cur)
    names = ("tox_ec50_pm", "rel_fever", "rel_fatigue", "isr_d50_miu", "ada_hazard_per_day")
    return ToxicityCalibration(
        parameters=cur,
        fitted={k: cur.value(k) for k in names},
        dlt_targets=targets,
        dlt_achieved={d: mean_p(cur, d) for d in all_doses},
        mild_achieved={c: float(pg[:, codes.index(c), 0].mean()) for c in codes},
        ada_incidence_achieved=-math.expm1(-cur.value("ada_hazard_per_day") * days),
        n_patients=int(next(iter(exposure_by_dose.values())).shape[0]),
        seed=seed,
        extras={
            "objective": objective,
            "loss": res_fun,
            "design_selection_pct_4plus5": _selection_pct([mean_p(cur, d) for d in all_doses]),
        },
    )


def calibrate_toxicity(
    parameters: Parameters | None = None,
    tox: Parameters | None = None,
    doses_miu_per_m2: Sequence[float] = _SEED_LEVELS,
    n_patients: int = 2000,
    seed: int = 20260,
    dlt: DLTDefinition | None = None,
    dlt_targets: Mapping[float, float] | None = None,
    objective: str = "selection",
) -> ToxicityCalibration:
    """Seeded toxicity calibration against the model: simulate ``n_patients`` virtual patients
    at each dose (daily s.c. for 90 days, :func:`il2sim.toxicity.exposure.simulate_exposure`)
    and :func:`fit_toxicity`.  ``parameters``: the model's table (default: packaged)."""
    t = tox if tox is not None else load_toxicity_parameters(
        model=parameters.model if parameters is not None else "v1")
    kids = np.random.SeedSequence(seed).spawn(len(doses_miu_per_m2) + 1)
    exp_by: dict[float, FloatArray] = {}
    dose_by: dict[float, FloatArray] = {}
    for dose, kid in zip(doses_miu_per_m2, kids[:-1], strict=True):
        e, dd = simulate_exposure(float(dose), n_patients, kid, parameters)
        exp_by[float(dose)] = e
        dose_by[float(dose)] = dd
    tox_seed = int(kids[-1].generate_state(1)[0])
    return fit_toxicity(
        exp_by, dose_by, t, seed=tox_seed, dlt=dlt, dlt_targets=dlt_targets, objective=objective
    )


def calibrate_and_write(
    parameters: Parameters | None = None, seed: int = 20260, n_patients: int = 2000
) -> ToxicityCalibration:
    """:func:`calibrate_toxicity` then write the fitted values and the model's fingerprint
    into the packaged ``toxicity/toxicity.toml`` (comment-preserving write-back)."""
    cal = calibrate_toxicity(parameters, seed=seed, n_patients=n_patients)
    from il2sim.model.models import toxicity_table

    write_toxicity_values({**cal.fitted, "model_fingerprint": model_fingerprint(parameters)},
                          toxicity_table(parameters.model if parameters is not None else "v1"))
    return cal
