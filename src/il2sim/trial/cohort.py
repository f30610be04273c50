"""Simulate a batch of patients at one dose level through the whole schedule.

One call simulates every patient of the batch together (the model's batched solver): IL-2,
NK and CD56bright counts at the visits, daily AE grades, the DLT (if any) and the dose
modification it triggers (a second simulation of the DLT patients only, with the modified
doses), and the anti-IL-2 antibody onset.  Used both for a trial's cohorts and for the pools of
virtual patients that replicate trials draw from (:mod:`il2sim.trial.replicates`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.model.parameters import Parameters
from il2sim.population import Population
from il2sim.regimen import DoseEvent, Regimen, Route
from il2sim.simulate import simulate
from il2sim.simulate.result import SimulationResult
from il2sim.toxicity import (
    DLTDefinition,
    DLTRealisation,
    ToxEffects,
    ToxicityParameters,
    ada_onset_day,
    daily_dose_miu,
    daily_grades,
    dlt_probability,
    neutralising_scale,
    realise_dlt,
    sample_tox_effects,
    score_base,
    score_thresholds,
)
from il2sim.toxicity.exposure import EXPOSURE_SOLVER
from il2sim.trial.efficacy import EfficacyDefinition
from il2sim.trial.schedule import DoseModification, Schedule

__all__ = [
    "CohortResult",
    "daily_regimen",
    "sample_cohort_inputs",
    "simulate_cohort",
]

FloatArray = npt.NDArray[np.float64]
#: Model outputs recorded at the visits besides NK (model v2, issue 11): CP tests TREG,
#: CD4TCONV, CD8T (cdisc.sdtm_spec.CP_TESTS, trial.noise.CP_SOURCES).
TCELL_OUTPUTS: tuple[str, ...] = ("treg_per_ul", "tconv_per_ul", "cd8_per_ul")

def daily_regimen(dose_miu_per_m2: float, n_days: int = 90) -> Regimen:
    """``dose_miu_per_m2`` MIU/m2 s.c. once a day on days 0..n_days-1."""
    return Regimen(
        tuple(
            DoseEvent(float(t), float(dose_miu_per_m2), "MIU", True, Route.SC)
            for t in range(n_days)
        ),
        spec=f"{dose_miu_per_m2:g} MIU/m2 sc qd x{n_days}",
    )


def _run_model(
    regimen: Regimen,
    pop: Population,
    parameters: Parameters | None,
    n_days: int,
    output_times_day: FloatArray,
    amount_scale: FloatArray | None,
) -> SimulationResult:
    """The model (:func:`il2sim.simulate.simulate`) over ``n_days``."""
    return simulate(
        regimen,
        pop,
        parameters=parameters,
        horizon_day=float(n_days),
        output_times_day=output_times_day,
        amount_scale=amount_scale,
        solver=EXPOSURE_SOLVER,  # il2sim.simulate.options.TRIAL: the fixed grid at 1/32 day
    )


@dataclass(frozen=True)
class CohortResult:
    """Patients simulated at one dose level (arrays over patients P, visits V, days D).

    ``nk_visit_per_ul``/``bright_visit_per_ul`` (P, V): true counts at the visit days (before
    that day's dose); ``il2_pc_pm`` (P, V, H): true serum IL-2 at the PC sampling hours;
    ``il2_daily_max_pm`` (P, D) and ``grades`` (P, K, D) after any dose modification;
    ``dlt_prob`` (P,): closed-form DLT probability given the unmodified exposure;
    ``dose_scale`` (P, D): fraction of the assigned dose given each day (EX);
    ``ada_onset_day`` (P,): model day of antibody onset (inf = none).
    ``efficacy_value`` (P,): the efficacy endpoint's quantity (:mod:`il2sim.trial.efficacy`,
    true model values, after any dose modification) and ``responder`` (P,) whether it meets
    the definition; both None when the trial has no efficacy definition.
    """

    dose_miu_per_m2: float
    pop: Population
    effects: ToxEffects
    visit_days: npt.NDArray[np.int64]
    nk_visit_per_ul: FloatArray
    bright_visit_per_ul: FloatArray
    il2_pc_pm: FloatArray
    il2_daily_max_pm: FloatArray
    grades: npt.NDArray[np.int8]
    dlt: DLTRealisation
    dlt_prob: FloatArray
    dose_scale: FloatArray
    ada_onset_day: FloatArray
    #: T-cell blood counts at the visits (P, V), cells/ul (model v2: Tregs, conventional CD4,
    #: CD8; empty for a model without them).
    tcell_visit_per_ul: Mapping[str, FloatArray] = field(default_factory=dict)
    efficacy_value: FloatArray | None = None
    responder: npt.NDArray[np.bool_] | None = None

    @property
    def treg_visit_per_ul(self) -> FloatArray:
        """Tregs at the visits (P, V), cells/ul."""
        return self.tcell_visit_per_ul["treg_per_ul"]

    @property
    def tconv_visit_per_ul(self) -> FloatArray:
        """Conventional CD4 T cells at the visits (P, V), cells/ul."""
        return self.tcell_visit_per_ul["tconv_per_ul"]

    @property
    def cd8_visit_per_ul(self) -> FloatArray:
        """CD8 T cells at the visits (P, V), cells/ul."""
        return self.tcell_visit_per_ul["cd8_per_ul"]

    @property
    def n(self) -> int:
        """Number of patients."""
        return int(self.nk_visit_per_ul.shape[0])

    @property
    def il2_peak_pm(self) -> FloatArray:
        """Each patient's peak daily IL-2 over the treatment, pM."""
        return np.asarray(self.il2_daily_max_pm.max(axis=1), dtype=float)

    def peak_increase_pct(self, subset: str = "nk") -> FloatArray:
        """Peak post-baseline count as % increase over baseline (visit 1), (P,)."""
        from il2sim.baseline import peak_increase_pct

        x = self.nk_visit_per_ul if subset == "nk" else self.bright_visit_per_ul
        return peak_increase_pct(x[:, 1:], x[:, 0])

    def ada_positive(self, by_day: float) -> npt.NDArray[np.bool_]:
        """Antibody positive by model day ``by_day``."""
        return np.asarray(self.ada_onset_day <= by_day)

    def subset(self, idx: npt.ArrayLike) -> CohortResult:
        """Patients ``idx``, in that order."""
        i = np.asarray(idx, dtype=np.int64)
        return replace(
            self,
            pop=self.pop.subset(i),
            effects=self.effects.subset(i),
            nk_visit_per_ul=self.nk_visit_per_ul[i],
            bright_visit_per_ul=self.bright_visit_per_ul[i],
            il2_pc_pm=self.il2_pc_pm[i],
            il2_daily_max_pm=self.il2_daily_max_pm[i],
            grades=self.grades[i],
            dlt=self.dlt.subset(i),
            dlt_prob=self.dlt_prob[i],
            dose_scale=self.dose_scale[i],
            ada_onset_day=self.ada_onset_day[i],
            tcell_visit_per_ul={k: v[i] for k, v in self.tcell_visit_per_ul.items()},
            efficacy_value=None if self.efficacy_value is None else self.efficacy_value[i],
            responder=None if self.responder is None else self.responder[i],
        )


def _output_times(
    schedule: Schedule, efficacy: EfficacyDefinition | None = None
) -> tuple[FloatArray, int]:
    v = schedule.visit_days.astype(float) - 1.0
    hrs = np.asarray(schedule.pc_hours, dtype=float) / 24.0
    pc = (v[:, None] + hrs[None, :]).ravel()
    eff = [] if efficacy is None else [0.0, efficacy.t_day]
    times = np.unique(np.concatenate([v, pc, eff]))
    return times, v.size


def simulate_cohort(
    dose_miu_per_m2: float,
    pop: Population,
    effects: ToxEffects,
    tox: ToxicityParameters,
    parameters: Parameters | None = None,
    schedule: Schedule | None = None,
    dlt: DLTDefinition | None = None,
    modification: DoseModification | None = None,
    neutralising: bool = False,
    efficacy: EfficacyDefinition | None = None,
) -> CohortResult:
    """Simulate ``pop`` (with toxicity effects ``effects``) at ``dose_miu_per_m2`` MIU/m2/day;
    with ``efficacy``, also each patient's endpoint quantity and response."""
    sch = schedule or Schedule()
    d_def = dlt or DLTDefinition(window_day=sch.dlt_window_day)
    mod = modification or DoseModification()
    n_days = sch.n_treatment_days
    regimen = daily_regimen(dose_miu_per_m2, n_days)
    if efficacy is not None:
        efficacy.check_day(n_days)
    times, _ = _output_times(sch, efficacy)
    e_idx = None if efficacy is None else np.searchsorted(times, [0.0, efficacy.t_day])
    v_idx = np.searchsorted(times, sch.visit_days.astype(float) - 1.0)
    hrs = np.asarray(sch.pc_hours, dtype=float) / 24.0
    pc_idx = np.searchsorted(
        times, (sch.visit_days.astype(float)[:, None] - 1.0 + hrs[None, :]).ravel()
    )

    onset = ada_onset_day(effects.u_ada, dose_miu_per_m2, tox)
    neut = neutralising_scale(onset, sch.dose_times_day, tox, neutralising)
    res = _run_model(regimen, pop, parameters, n_days, times, neut if neutralising else None)
    e = np.asarray(res.il2_daily_max_pm, dtype=float)[:, :n_days]
    dose_flat = daily_dose_miu(regimen, pop.bsa_m2, n_days)
    thr = score_thresholds(effects.glucose0_mg_per_dl)
    base = score_base(e, dose_flat, tox)
    grades = daily_grades(base, effects.eta, thr)
    real = realise_dlt(grades, effects.u_stop, tox, d_def)
    p_dlt = dlt_probability(base, effects.glucose0_mg_per_dl, tox, d_def)
    nk = np.asarray(res.nk_per_ul, dtype=float)
    br = np.asarray(res.bright_per_ul, dtype=float)
    il2 = np.asarray(res.il2_pm, dtype=float)
    nk_v, br_v = nk[:, v_idx].copy(), br[:, v_idx].copy()
    tc_v = {k: np.asarray(res.outputs[k], dtype=float)[:, v_idx].copy()
            for k in TCELL_OUTPUTS if k in res.outputs}
    pc = il2[:, pc_idx].reshape(pop.n, sch.visit_days.size, hrs.size).copy()
    eff_q = None if efficacy is None else _endpoint(res, efficacy, e_idx)

    scale = mod.scale(real.day, n_days)
    changed = np.flatnonzero(real.dlt & (scale != 1.0).any(axis=1))
    if changed.size:
        sub = pop.subset(changed)
        amt = scale[changed] * neut[changed]
        r2 = _run_model(regimen, sub, parameters, n_days, times, amt)
        e2 = np.asarray(r2.il2_daily_max_pm, dtype=float)[:, :n_days]
        e[changed] = e2
        b2 = score_base(e2, dose_flat[changed] * scale[changed], tox)
        grades[changed] = daily_grades(b2, effects.eta[changed], thr[changed])
        nk_v[changed] = np.asarray(r2.nk_per_ul, dtype=float)[:, v_idx]
        br_v[changed] = np.asarray(r2.bright_per_ul, dtype=float)[:, v_idx]
        for k in tc_v:
            tc_v[k][changed] = np.asarray(r2.outputs[k], dtype=float)[:, v_idx]
        pc[changed] = np.asarray(r2.il2_pm, dtype=float)[:, pc_idx].reshape(
            changed.size, sch.visit_days.size, hrs.size
        )
        if eff_q is not None and efficacy is not None:
            eff_q[changed] = _endpoint(r2, efficacy, e_idx)
    return CohortResult(
        dose_miu_per_m2=float(dose_miu_per_m2),
        pop=pop,
        effects=effects,
        visit_days=sch.visit_days,
        nk_visit_per_ul=nk_v,
        bright_visit_per_ul=br_v,
        il2_pc_pm=pc,
        il2_daily_max_pm=e,
        grades=grades,
        dlt=real,
        dlt_prob=p_dlt,
        dose_scale=scale,
        ada_onset_day=onset,
        tcell_visit_per_ul=tc_v,
        efficacy_value=eff_q,
        responder=None if eff_q is None or efficacy is None else efficacy.responders(eff_q),
    )


def _endpoint(res: SimulationResult, efficacy: EfficacyDefinition, idx: Any) -> FloatArray:
    """The efficacy quantity per patient from the declared output at baseline and day D."""
    y = np.asarray(res.output(efficacy.output), dtype=float)
    return efficacy.quantity(y[:, idx[0]], y[:, idx[1]]).copy()


def sample_cohort_inputs(
    n: int,
    seed: np.random.SeedSequence,
    tox: ToxicityParameters,
    parameters: Parameters | None = None,
) -> tuple[Population, ToxEffects]:
    """A population of ``n`` (model random effects) and its toxicity effects, both from
    ``seed`` (two independent child streams)."""
    s_pop, s_tox = (
        np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, k)) for k in (0, 1)
    )  # explicit children: calling twice with the same seed gives the same patients
    pop = Population.sample(n, np.random.default_rng(s_pop), parameters=parameters)
    eff = sample_tox_effects(n, np.random.default_rng(s_tox), tox)
    return pop, eff
