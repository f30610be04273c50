"""Many replicate trials, fast: simulate a pool of virtual patients per dose level ONCE, then
draw each replicate trial's patients from the pools (a :class:`~il2sim.designs.PoolSource` fed
to the one controller, :class:`~il2sim.designs.TrialController`).

Method.  For each dose level a pool of ``pool_size`` patients is simulated through the whole
schedule (model, AEs, DLT, dose modification, antibodies) in one batch.  A replicate trial runs
the design; each cohort at level ``j`` takes the next patients of a random permutation of pool
``j`` (drawn from the replicate's own seed), so a patient appears at most once per replicate
until the pool is used up (then a fresh permutation starts; the pool should be larger than the
patients a design can put on one level -- 9 for 4+5).  A patient's outcome does not depend on
the trial history, so this is exact resampling from the pool's empirical distribution: the
replicates differ from independently simulated ones only by the finite pool.

DLTs (``dlt_draw="probability"``, default): each drawn patient's DLT is a fresh Bernoulli draw,
from the replicate's stream, with the patient's closed-form DLT probability given their
simulated exposure (:func:`il2sim.toxicity.dlt_probability`) -- the conditional
expectation over the toxicity random effects (Rao-Blackwellisation), which removes the Monte
Carlo error of the pool's own realised DLTs and leaves only that of the pool's exposures
(the selection percentages of a 4+5 design are very sensitive to the DLT rates at the levels
around the MTD).  The drawn patient's NK, IL-2 and AE records stay the pool's.
``dlt_draw="realised"`` uses the pool patients' realised DLTs instead.

Seeds: pools from ``SeedSequence(seed).spawn(4)[2]`` (one child per level), replicate ``r``
from child ``r`` of ``spawn(4)[3]`` (the controller's root; children 0 and 1 belong to
:func:`il2sim.trial.run_trial` with the same seed, so a representative trial and the pools
never share a stream).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim._interrupt import stop_requested
from il2sim.designs import (
    Caps,
    Design,
    OperatingCharacteristics,
    PoolSource,
    TrialController,
    summarise,
)
from il2sim.designs.controller import Progress, trial_seed
from il2sim.errors import DesignError, InputError
from il2sim.trial.cohort import CohortResult
from il2sim.trial.run import DEFAULT_MAX_PATIENTS, check_doses
from il2sim.trial.schedule import Schedule
from il2sim.trial.settings import CohortSettings

__all__ = ["Pools", "ReplicateResults", "build_pools", "run_replicates"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Pools:
    """Simulated patients per dose level (``cohorts[j]`` = level ``j + 1``)."""

    doses_miu_per_m2: tuple[float, ...]
    cohorts: tuple[CohortResult, ...]
    schedule: Schedule
    # per-level patient summaries, precomputed once
    dlt: tuple[npt.NDArray[np.bool_], ...] = field(default=(), repr=False)
    dlt_prob: tuple[FloatArray, ...] = field(default=(), repr=False)
    nk_pct: tuple[FloatArray, ...] = field(default=(), repr=False)
    bright_pct: tuple[FloatArray, ...] = field(default=(), repr=False)
    ada: tuple[npt.NDArray[np.bool_], ...] = field(default=(), repr=False)
    max_grade: tuple[npt.NDArray[np.int8], ...] = field(default=(), repr=False)
    #: per level, each pool patient's response to the efficacy definition (empty without one)
    responder: tuple[npt.NDArray[np.bool_], ...] = field(default=(), repr=False)
    efficacy: str | None = None

    @property
    def pool_size(self) -> int:
        """Patients per level."""
        return self.cohorts[0].n

    def source(self, dlt_draw: str = "probability") -> PoolSource:
        """The controller's patient source drawing from these pools."""
        return PoolSource(self.dlt_prob, self.dlt, dlt_draw, self.responder)


def build_pools(
    doses_miu_per_m2: Sequence[float],
    pool_size: int,
    seed: int,
    settings: CohortSettings | None = None,
    progress: Progress | None = None,
) -> Pools:
    """Simulate ``pool_size`` patients at each dose level (see module docstring) with
    ``settings`` (:class:`~il2sim.trial.settings.CohortSettings`; default: packaged model and
    toxicity table); ``progress(levels done, levels)`` after each level.  A stop asked for in
    an :func:`~il2sim._interrupt.interruptible` scope ends the build (KeyboardInterrupt)
    between levels: replicates need every pool.  ``settings.efficacy``: each pool patient's
    response is evaluated once (:mod:`il2sim.trial.efficacy`) and drawn with the patient."""
    doses = check_doses(doses_miu_per_m2)
    if pool_size < 1:
        raise InputError(f"must be >= 1, got {pool_size}", field="pool_size")
    from il2sim import limits

    limits.check(
        "pool_patients", len(doses) * pool_size, f"{len(doses)} levels x {pool_size:,}",
        field="pool_size",
    )  # fmt: skip
    st = (settings or CohortSettings()).resolved()
    sch, efficacy = st.schedule, st.efficacy
    pool_ss = np.random.SeedSequence(seed).spawn(4)[2]
    cohorts: list[CohortResult] = []
    for j, (dose, kid) in enumerate(zip(doses, pool_ss.spawn(len(doses)), strict=True)):
        if stop_requested():  # replicates need every pool: an interrupted build keeps nothing
            raise KeyboardInterrupt
        pop, eff = st.sample_cohort(pool_size, kid)
        cohorts.append(st.simulate_cohort(dose, pop, eff))
        if progress is not None:
            progress(j + 1, len(doses))
    last_day = float(sch.n_treatment_days - 1)
    return Pools(
        doses_miu_per_m2=doses,
        cohorts=tuple(cohorts),
        schedule=sch,
        dlt=tuple(c.dlt.dlt for c in cohorts),
        dlt_prob=tuple(c.dlt_prob for c in cohorts),
        nk_pct=tuple(c.peak_increase_pct("nk") for c in cohorts),
        bright_pct=tuple(c.peak_increase_pct("bright") for c in cohorts),
        ada=tuple(c.ada_positive(last_day) for c in cohorts),
        max_grade=tuple(c.grades.max(axis=2) for c in cohorts),
        responder=() if efficacy is None else tuple(_responders(c) for c in cohorts),
        efficacy=None if efficacy is None else efficacy.text,
    )


def _responders(c: CohortResult) -> npt.NDArray[np.bool_]:
    assert c.responder is not None
    return np.asarray(c.responder, dtype=bool)


@dataclass(frozen=True)
class ReplicateResults:
    """Replicate trials from pools: the operating characteristics (``oc``, the one schema)
    and, per replicate (R) and level (L), the selected MTD level (0 = none), patients and DLTs
    per level, the pool indices of the patients treated (``patients[r][j]``) and their DLTs in
    this replicate (``dlts[r][j]``)."""

    doses_miu_per_m2: tuple[float, ...]
    design: str
    seed: int
    oc: OperatingCharacteristics
    mtd_level: npt.NDArray[np.int64]
    n_per_level: npt.NDArray[np.int64]
    dlt_per_level: npt.NDArray[np.int64]
    patients: tuple[tuple[npt.NDArray[np.int64], ...], ...]
    dlts: tuple[tuple[npt.NDArray[np.bool_], ...], ...] = ()
    dlt_draw: str = "probability"

    @property
    def n_replicates(self) -> int:
        """Number of finished replicates (fewer than asked when interrupted)."""
        return int(self.mtd_level.size)

    def mtd_selected_pct(self) -> dict[str, float]:
        """Dose (MIU/m2, as a string) -> % of replicates selecting it as the MTD (the rest,
        :attr:`none_selected_pct`, selected no dose); ``oc.selection_pct`` by dose."""
        return {
            f"{d:g}": v for d, v in zip(self.doses_miu_per_m2, self.oc.selection_pct, strict=True)
        }

    @property
    def none_selected_pct(self) -> float:
        """% of replicates that selected no dose."""
        return self.oc.none_selected_pct

    def per_patient(
        self, pools: Pools, values: Sequence[npt.NDArray[Any]], r: int
    ) -> list[npt.NDArray[Any]]:
        """``values[j][patients[r][j]]`` for each level j of replicate ``r``."""
        return [values[j][self.patients[r][j]] for j in range(len(self.doses_miu_per_m2))]

    def level_means(self, pools: Pools, values: Sequence[FloatArray]) -> FloatArray:
        """(R, L) mean of ``values`` among each replicate's patients at each level (NaN if
        none)."""
        out = np.full(self.n_per_level.shape, np.nan)
        for r, levels in enumerate(self.patients):
            for j, idx in enumerate(levels):
                if idx.size:
                    out[r, j] = float(np.mean(values[j][idx]))
        return out

    def to_dict(self, pools: Pools | None = None) -> dict[str, Any]:
        """JSON-ready summary: the OC schema plus the trial's keys (``docs/json.md``); the NK
        endpoints need ``pools``."""
        n = self.n_per_level.sum(axis=1)
        out: dict[str, Any] = self.oc.to_dict()
        out.update(
            {
                "doses_miu_per_m2": list(self.doses_miu_per_m2),
                "dlt_draw": self.dlt_draw,
                "patients_5_95": [float(np.percentile(n, 5)), float(np.percentile(n, 95))],
            }
        )
        if pools is not None:
            with warnings.catch_warnings():  # levels nobody was treated at: NaN (null)
                warnings.simplefilter("ignore", RuntimeWarning)
                nk = np.nanmean(self.level_means(pools, list(pools.nk_pct)), axis=0)
                br = np.nanmean(self.level_means(pools, list(pools.bright_pct)), axis=0)
            out["nk_peak_increase_pct_per_dose"] = nk.tolist()
            out["bright_peak_increase_pct_per_dose"] = br.tolist()
            out["pool_size"] = pools.pool_size
            if pools.responder:  # the model's efficacy endpoint
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    rr = self.level_means(pools, [r.astype(float) for r in pools.responder])
                    rate = np.nanmean(rr, axis=0)
                resp = np.array(
                    [[float(np.sum(pools.responder[j][idx])) for j, idx in enumerate(lv)]
                     for lv in self.patients]
                )  # fmt: skip
                out["efficacy"] = pools.efficacy
                out["response_rate_per_dose"] = [None if np.isnan(v) else float(v) for v in rate]
                out["responders_per_dose"] = resp.mean(axis=0).tolist()
                out["pool_response_rate_per_dose"] = [float(r.mean()) for r in pools.responder]
        return out


def run_replicates(
    design: Design,
    pools: Pools,
    n_replicates: int,
    seed: int,
    max_patients: int = DEFAULT_MAX_PATIENTS,
    progress: Progress | None = None,
    dlt_draw: str = "probability",
) -> ReplicateResults:
    """Run ``n_replicates`` trials of ``design`` drawing patients from ``pools``
    (``dlt_draw``: see the module docstring) in the one controller.

    Ctrl-C stops early and returns the finished replicates (``oc.interrupted``).
    """
    src = pools.source(dlt_draw)
    nd = len(pools.doses_miu_per_m2)
    if design.n_doses != nd:
        raise DesignError(
            f"design has {design.n_doses} levels but the pools have {nd}", field="doses"
        )
    if design.uses_efficacy and not pools.responder:
        raise DesignError(
            f"design {design.name} needs an efficacy definition (e.g. nk_fold>=3@day56)",
            field="efficacy",
        )
    if isinstance(n_replicates, bool) or int(n_replicates) != n_replicates or n_replicates < 1:
        raise InputError(f"must be >= 1, got {n_replicates}", field="trials", value=n_replicates)
    caps = Caps(max_patients=max_patients)
    ctl = TrialController(design, src, caps)
    root = trial_seed(np.random.SeedSequence(seed), 3)
    sim = ctl.run(int(n_replicates), root, progress, keep_records=True)
    if not sim.records:  # stopped before one replicate finished: nothing to keep
        raise KeyboardInterrupt
    pats: list[tuple[npt.NDArray[np.int64], ...]] = []
    dlts: list[tuple[npt.NDArray[np.bool_], ...]] = []
    for rec in sim.records:
        taken: list[list[npt.NDArray[np.int64]]] = [[] for _ in range(nd)]
        taken_dlt: list[list[npt.NDArray[np.int64]]] = [[] for _ in range(nd)]
        for c in rec.cohorts:
            taken[c.level - 1].append(c.payload)
            taken_dlt[c.level - 1].append(c.dlt)
        pats.append(tuple(np.concatenate([np.zeros(0, np.int64), *t]) for t in taken))
        dlts.append(
            tuple(np.concatenate([np.zeros(0, np.int64), *t]).astype(bool) for t in taken_dlt)
        )
    tab = sim.trials
    oc = summarise(
        tab,
        design=design.name,
        truth=src.truth(),
        target=getattr(design, "target", None),
        cohort_size=design.cohort_size,
        caps=caps,
        seed=int(seed),
        n_requested=sim.n_requested,
        interrupted=sim.interrupted,
    )
    return ReplicateResults(
        doses_miu_per_m2=pools.doses_miu_per_m2,
        design=design.name,
        seed=seed,
        oc=oc,
        mtd_level=np.asarray(tab.selected),
        n_per_level=np.asarray(tab.n_per_dose),
        dlt_per_level=np.asarray(tab.dlt_per_dose),
        patients=tuple(pats),
        dlts=tuple(dlts),
        dlt_draw=dlt_draw,
    )
