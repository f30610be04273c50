"""Many replicate trials, fast: simulate a pool of virtual patients per dose level ONCE, then
draw each replicate trial's patients from the pools.

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
from child ``r`` of ``spawn(4)[3]`` (children 0 and 1 belong to :func:`il2sim.trial.run_trial`
with the same seed, so a representative trial and the pools never share a stream).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.designs.base import Design, Outcomes
from il2sim.errors import DesignError, InputError
from il2sim.toxicity import DLTDefinition, ToxicityParameters, load_toxicity_parameters
from il2sim.trial.cohort import CohortResult, sample_cohort_inputs, simulate_cohort
from il2sim.trial.run import MAX_COHORTS, check_doses
from il2sim.trial.schedule import DoseModification, Schedule

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

    @property
    def pool_size(self) -> int:
        """Patients per level."""
        return self.cohorts[0].n


def build_pools(
    doses_miu_per_m2: Sequence[float],
    pool_size: int,
    seed: int,
    parameters: Any = None,
    tox: ToxicityParameters | None = None,
    schedule: Schedule | None = None,
    dlt: DLTDefinition | None = None,
    modification: DoseModification | None = None,
    neutralising: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Pools:
    """Simulate ``pool_size`` patients at each dose level (see module docstring)."""
    doses = check_doses(doses_miu_per_m2)
    if pool_size < 1:
        raise InputError(f"must be >= 1, got {pool_size}", field="pool_size")
    t = tox or load_toxicity_parameters()
    sch = schedule or Schedule()
    pool_ss = np.random.SeedSequence(seed).spawn(4)[2]
    cohorts: list[CohortResult] = []
    for j, (dose, kid) in enumerate(zip(doses, pool_ss.spawn(len(doses)), strict=True)):
        pop, eff = sample_cohort_inputs(pool_size, kid, t, parameters)
        cohorts.append(
            simulate_cohort(dose, pop, eff, t, parameters, sch, dlt, modification, neutralising)
        )
        if progress is not None:
            progress(j + 1)
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
    )


@dataclass(frozen=True)
class ReplicateResults:
    """Per replicate (R) and level (L): selected MTD level (0 = none), patients and DLTs per
    level, the pool indices of the patients treated (``patients[r][j]``) and their DLTs in
    this replicate (``dlts[r][j]``)."""

    doses_miu_per_m2: tuple[float, ...]
    design: str
    seed: int
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
        :attr:`none_selected_pct`, selected no dose)."""
        r = max(self.n_replicates, 1)
        return {
            f"{d:g}": 100.0 * float(np.sum(self.mtd_level == j + 1)) / r
            for j, d in enumerate(self.doses_miu_per_m2)
        }

    @property
    def none_selected_pct(self) -> float:
        """% of replicates that selected no dose."""
        return 100.0 * float(np.sum(self.mtd_level == 0)) / max(self.n_replicates, 1)

    def per_patient(
        self, pools: Pools, values: Sequence[npt.NDArray[Any]], r: int
    ) -> list[npt.NDArray[Any]]:
        """``values[j][patients[r][j]]`` for each level j of replicate ``r``."""
        return [values[j][self.patients[r][j]] for j in range(len(self.doses_miu_per_m2))]

    def level_means(self, pools: Pools, values: Sequence[FloatArray]) -> FloatArray:
        """(R, L) mean of ``values`` among each replicate's patients at each level (NaN if
        none)."""
        out = np.full(self.n_per_level.shape, np.nan)
        for r in range(self.n_replicates):
            for j, idx in enumerate(self.patients[r]):
                if idx.size:
                    out[r, j] = float(np.mean(values[j][idx]))
        return out

    def to_dict(self, pools: Pools | None = None) -> dict[str, Any]:
        """JSON-ready summary (means over replicates; NK endpoints need ``pools``)."""
        n = self.n_per_level.sum(axis=1)
        out: dict[str, Any] = {
            "design": self.design,
            "n_replicates": self.n_replicates,
            "dlt_draw": self.dlt_draw,
            "seed": self.seed,
            "doses_miu_per_m2": list(self.doses_miu_per_m2),
            "mtd_selected_pct": self.mtd_selected_pct(),
            "none_selected_pct": self.none_selected_pct,
            "mean_patients": float(n.mean()) if n.size else None,
            "patients_5_95": [float(np.percentile(n, 5)), float(np.percentile(n, 95))]
            if n.size
            else None,
            "mean_dlts": float(self.dlt_per_level.sum(axis=1).mean()) if n.size else None,
            "patients_per_level": self.n_per_level.mean(axis=0).tolist(),
            "dlts_per_level": self.dlt_per_level.mean(axis=0).tolist(),
        }
        if pools is not None and self.n_replicates:
            with np.errstate(all="ignore"):
                nk = np.nanmean(self.level_means(pools, list(pools.nk_pct)), axis=0)
                br = np.nanmean(self.level_means(pools, list(pools.bright_pct)), axis=0)
            out["nk_peak_increase_pct_per_level"] = nk.tolist()
            out["bright_peak_increase_pct_per_level"] = br.tolist()
            out["pool_size"] = pools.pool_size
        return out


def run_replicates(
    design: Design,
    pools: Pools,
    n_replicates: int,
    seed: int,
    max_patients: int = 200,
    progress: Callable[[int], None] | None = None,
    dlt_draw: str = "probability",
) -> ReplicateResults:
    """Run ``n_replicates`` trials of ``design`` drawing patients from ``pools``
    (``dlt_draw``: see the module docstring).

    A ``KeyboardInterrupt`` stops early and returns the finished replicates.
    """
    if dlt_draw not in ("probability", "realised"):
        raise InputError(f"must be probability or realised, got {dlt_draw!r}", field="dlt_draw")
    nd = len(pools.doses_miu_per_m2)
    if design.n_doses != nd:
        raise DesignError(
            f"design has {design.n_doses} levels but the pools have {nd}", field="doses"
        )
    if n_replicates < 1:
        raise InputError(f"must be >= 1, got {n_replicates}", field="replicates")
    root = np.random.SeedSequence(seed).spawn(4)[3]
    size = pools.pool_size
    mtd: list[int] = []
    n_lv: list[npt.NDArray[np.int64]] = []
    y_lv: list[npt.NDArray[np.int64]] = []
    pats: list[tuple[npt.NDArray[np.int64], ...]] = []
    dlts: list[tuple[npt.NDArray[np.bool_], ...]] = []
    try:
        for r in range(n_replicates):
            rng = np.random.default_rng(
                np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, r))
            )
            perms: list[npt.NDArray[np.int64] | None] = [None] * nd
            used = [0] * nd
            taken: list[list[int]] = [[] for _ in range(nd)]
            taken_dlt: list[list[int]] = [[] for _ in range(nd)]
            out = Outcomes()
            dec = design.fit(out).decision()
            k = 0
            while not dec.stop and k < MAX_COHORTS and out.n_patients < max_patients:
                lv = dec.next_dose
                if lv is None or not 1 <= lv <= nd:
                    raise DesignError(f"design recommended dose {lv!r}", field="design")
                m = min(int(dec.cohort_size or design.cohort_size), max_patients - out.n_patients)
                j = lv - 1
                idx: list[int] = []
                while len(idx) < m:
                    perm = perms[j]
                    if perm is None or used[j] >= size:
                        perm = rng.permutation(size)
                        perms[j] = perm
                        used[j] = 0
                    take = min(m - len(idx), size - used[j])
                    idx.extend(perm[used[j] : used[j] + take].tolist())
                    used[j] += take
                taken[j].extend(idx)
                if dlt_draw == "probability":
                    y = (rng.random(len(idx)) < pools.dlt_prob[j][idx]).astype(np.int64)
                else:
                    y = pools.dlt[j][idx].astype(np.int64)
                taken_dlt[j].extend(y.tolist())
                out = out.add_cohort(lv, y)
                dec = design.fit(out).decision()
                k += 1
            mtd.append(int(dec.mtd or 0))
            n_lv.append(out.n_per_dose(nd))
            y_lv.append(out.dlt_per_dose(nd))
            pats.append(tuple(np.array(t, dtype=np.int64) for t in taken))
            dlts.append(tuple(np.array(t, dtype=bool) for t in taken_dlt))
            if progress is not None:
                progress(r + 1)
    except KeyboardInterrupt:
        pass
    return ReplicateResults(
        doses_miu_per_m2=pools.doses_miu_per_m2,
        design=design.name,
        seed=seed,
        mtd_level=np.array(mtd, dtype=np.int64),
        n_per_level=np.array(n_lv, dtype=np.int64).reshape(-1, nd),
        dlt_per_level=np.array(y_lv, dtype=np.int64).reshape(-1, nd),
        patients=tuple(pats),
        dlts=tuple(dlts),
        dlt_draw=dlt_draw,
    )
