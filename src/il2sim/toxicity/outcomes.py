"""Per-patient toxicity and antibody outcomes of a simulation, and their population summary.

:func:`realise_toxicity` takes what :func:`il2sim.simulate.simulate` returned for a regimen
and a population, with the patients' toxicity random effects, and gives every per-patient
outcome on the study clock (:mod:`il2sim.toxicity.clock`: study day 1 = the day of the first
dose): daily exposure and grades by study day, the closed-form DLT probability and a
realised DLT within the window, the probability of each worst grade, and the antibody onset,
probability and status over the observed treated period.  No dose modification here (that
is the trial's, :mod:`il2sim.trial.cohort`).  :func:`toxicity_summary` averages them over
the population: the toxicity keys of ``il2sim simulate --json``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from il2sim.model.parameters import Parameters
from il2sim.population import Population
from il2sim.regimen.events import Regimen
from il2sim.simulate.result import SimulationResult
from il2sim.toxicity.catalogue import AE_TYPES, DLTDefinition
from il2sim.toxicity.clock import daily_dose_miu, observed_days, to_study_days
from il2sim.toxicity.grading import (
    DLTRealisation,
    ToxEffects,
    daily_grades,
    dlt_probability,
    p_grade_at_least,
    realise_dlt,
    sample_tox_effects,
    score_base,
    score_thresholds,
)
from il2sim.toxicity.immunogenicity import ada_onset_day, ada_probability, regimen_dose_per_m2
from il2sim.toxicity.table import load_toxicity_parameters

__all__ = ["PatientToxicity", "realise_toxicity", "toxicity_summary"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PatientToxicity:
    """Per-patient toxicity outcomes of one simulated regimen (P patients, D study days within
    the horizon, K AE types in :data:`~il2sim.toxicity.catalogue.AE_TYPES` order).

    ``first_dose_day``: model time of the first dose, days (study day 1 is its calendar day);
    ``il2_daily_max_pm`` (P, D) daily peak serum IL-2, pM, and ``dose_daily_miu`` (P, D) flat
    s.c./i.m. dose, MIU, by study day; ``grades`` (P, K, D) CTCAE grade by study day;
    ``dlt_probability`` (P,) closed form over the DLT window; ``dlt`` the realised DLTs (study
    day of onset); ``p_grade_at_least`` (P, K, 4): P(worst grade over the D days >= 1..4);
    ``ada_days``: days of treated period observed within the horizon; ``ada_probability``
    (P,) P(antibodies by then); ``ada_onset_day`` (P,) realised onset, days after the first
    dose (inf = no antibodies by the end of the observed period).
    """

    first_dose_day: float
    il2_daily_max_pm: FloatArray
    dose_daily_miu: FloatArray
    grades: npt.NDArray[np.int8]
    dlt_probability: FloatArray
    dlt: DLTRealisation
    p_grade_at_least: FloatArray
    ada_days: float
    ada_probability: FloatArray
    ada_onset_day: FloatArray

    @property
    def n(self) -> int:
        """Number of patients P."""
        return int(self.dlt_probability.shape[0])

    @property
    def study_days(self) -> int:
        """Number of study days D within the horizon."""
        return int(self.il2_daily_max_pm.shape[1])

    @property
    def ada_positive(self) -> npt.NDArray[np.bool_]:
        """(P,) antibodies by the end of the observed treated period."""
        return np.asarray(np.isfinite(self.ada_onset_day))


def realise_toxicity(
    result: SimulationResult,
    regimen: Regimen,
    pop: Population,
    tox: Parameters | None = None,
    effects: ToxEffects | None = None,
    dlt: DLTDefinition | None = None,
    seed: int = 0,
) -> PatientToxicity:
    """Every per-patient toxicity outcome of ``result`` (``regimen`` simulated in ``pop``).

    ``effects``: the patients' toxicity random effects (default: drawn by
    :func:`~il2sim.toxicity.grading.sample_tox_effects` from ``default_rng(seed)``, a stream
    of its own: the population's draws are not used).  ``tox``: the toxicity table (default:
    packaged).  Outcomes are timed from the first dose (:mod:`il2sim.toxicity.clock`).
    """
    t = tox if tox is not None else load_toxicity_parameters(
        model=pop.parameters.model if pop.parameters is not None else "v1")
    n = result.n_patients
    eff = effects if effects is not None else sample_tox_effects(n, np.random.default_rng(seed), t)
    e_model = np.asarray(result.il2_daily_max_pm, dtype=float)
    dose_model = daily_dose_miu(regimen, pop.bsa_m2, e_model.shape[1])
    e = to_study_days(e_model, regimen)
    dose = to_study_days(dose_model, regimen)
    base = score_base(e, dose, t)
    grades = daily_grades(base, eff.eta, score_thresholds(eff.glucose0_mg_per_dl))
    days = observed_days(regimen, result.horizon_day)
    dose_per_m2 = regimen_dose_per_m2(regimen)
    onset = ada_onset_day(eff.u_ada, dose_per_m2, t)
    return PatientToxicity(
        first_dose_day=float(regimen.start_day),
        il2_daily_max_pm=e,
        dose_daily_miu=dose,
        grades=grades,
        dlt_probability=dlt_probability(base, eff.glucose0_mg_per_dl, t, dlt),
        dlt=realise_dlt(grades, eff.u_stop, t, dlt),
        p_grade_at_least=p_grade_at_least(base, eff.glucose0_mg_per_dl, t),
        ada_days=days,
        ada_probability=np.broadcast_to(ada_probability(dose_per_m2, days, t), (n,)).copy(),
        ada_onset_day=np.where(onset <= days, onset, math.inf),
    )


def toxicity_summary(
    result: SimulationResult,
    regimen: Regimen,
    pop: Population,
    params: Parameters | None = None,
    dlt: DLTDefinition | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Population toxicity summary of a simulation (the toxicity keys of ``simulate --json``).

    ``dlt_probability``: mean over patients of the closed-form DLT probability (toxicity
    effects drawn from ``default_rng(seed)``); ``ada_incidence``: mean probability of
    anti-IL-2 antibodies over the treated period observed within the horizon; plus
    ``p_grade1plus_<ae>``: mean probability of a worst grade >= 1 of each AE within the horizon.
    """
    out = realise_toxicity(result, regimen, pop, params, dlt=dlt, seed=seed)
    summary: dict[str, float] = {
        "dlt_probability": float(out.dlt_probability.mean()),
        "ada_incidence": float(out.ada_probability.mean()),
    }
    for k, a in enumerate(AE_TYPES):
        summary[f"p_grade1plus_{a.code.lower()}"] = float(out.p_grade_at_least[:, k, 0].mean())
    return summary
