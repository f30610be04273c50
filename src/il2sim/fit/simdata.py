"""Simulated seed-design datasets with known parameters (recovery tests, benchmark, VPC test).

The seed's design (Meropol et al. 1996: seven daily s.c. levels 0.4-1.75 MIU/m2 for 90 days,
cohorts of 4 to 9 = an A+B design with A = 4, B = 5) with the sampling ``il2sim trial``
uses (:class:`il2sim.trial.schedule.Schedule`: blood draws at baseline and weeks 1-4, 6, 8, 10,
12; IL-2 pre-dose and 4 h after the dose at each draw) and the trial's measurement noise and
LLOQ (:mod:`il2sim.trial.noise`: flow cytometry CV 12% plus counting error, IL-2 assay CV 15%,
LLOQ 0.5 pM).  Patients come from :meth:`Population.sample` under a parameter set in which only
the chosen parameters vary between patients; the result is the table
:func:`il2sim.fit.reading.read_dataset` returns, so it goes through the same fit path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from il2sim import units
from il2sim.model.parameters import Parameters, load_parameters

__all__ = ["SEED_LEVELS", "SEED_N_PER_LEVEL", "seed_trial_table", "truth_parameters"]

#: The seed's seven dose levels, MIU/m2/day.
SEED_LEVELS: tuple[float, ...] = (0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 1.75)
#: Patients per level of a 4+5 trial expanded at three levels (43 patients; the seed had 38).
SEED_N_PER_LEVEL: tuple[int, ...] = (4, 4, 4, 9, 9, 9, 4)


def truth_parameters(cv: Mapping[str, float], base: Parameters | None = None,
                     values: Mapping[str, float] | None = None) -> Parameters:
    """``base`` with only the parameters in ``cv`` varying (those CVs), typical values
    replaced by ``values``."""
    p = (base or load_parameters()).without_variability().with_bpv(**dict(cv))
    return p.with_params(**dict(values or {}))


def seed_trial_table(truth: Parameters, seed: int, n_per_level: Sequence[int] = SEED_N_PER_LEVEL,
                     levels: Sequence[float] = SEED_LEVELS, n_days: int = 90,
                     extra_nk_days: Sequence[int] = ()) -> pd.DataFrame:
    """One simulated dataset (reading-table format; see the module docstring).
    ``extra_nk_days``: study days with NK and CD56bright counts in addition to the visits
    (a richer design for identifiability comparisons; no IL-2 sample on those days)."""
    from il2sim.population import Population
    from il2sim.simulate import simulate
    from il2sim.toxicity.exposure import EXPOSURE_SOLVER
    from il2sim.trial.cohort import daily_regimen
    from il2sim.trial.noise import IL2_LLOQ_PM, add_flow_noise, add_il2_noise
    from il2sim.trial.schedule import Schedule

    if len(n_per_level) != len(levels):
        raise ValueError("one patient count per level")
    ss = np.random.SeedSequence(seed)
    s_pop, s_noise = ss.spawn(2)
    n = int(sum(n_per_level))
    dose = np.repeat(np.asarray(levels, dtype=float), n_per_level)
    pop = Population.sample(n, np.random.default_rng(s_pop), parameters=truth)
    sch = Schedule(n_treatment_days=n_days)
    vis = sch.visit_days.astype(float) - 1.0
    hrs = np.asarray(sch.pc_hours, dtype=float)
    pc_t = (vis[:, None] + hrs[None, :] / 24.0).ravel()
    nk_t = np.unique(np.concatenate([vis, np.asarray(extra_nk_days, dtype=float) - 1.0]))
    out_t = np.unique(np.concatenate([nk_t, pc_t]))
    reg = daily_regimen(1.0, n_days)
    scale = np.repeat(dose[:, None], n_days, axis=1)
    res = simulate(reg, pop, parameters=truth, horizon_day=float(out_t.max() + 0.01),
                   output_times_day=out_t, amount_scale=scale, solver=EXPOSURE_SOLVER)
    rng = np.random.default_rng(s_noise)
    iv = np.searchsorted(out_t, nk_t)
    ip = np.searchsorted(out_t, pc_t)
    nk = add_flow_noise(np.asarray(res.nk_per_ul)[:, iv], rng)
    br = add_flow_noise(np.asarray(res.bright_per_ul)[:, iv], rng)
    il2, blq = add_il2_noise(np.asarray(res.il2_pm)[:, ip], rng)
    rows: list[dict[str, float]] = []
    for i in range(n):
        cov = {"BSA": float(pop.bsa_m2[i]), "WT": float(pop.weight_kg[i]),
               "AGE": float(pop.age_yr[i]), "SEX": 1.0 if pop.sex[i] == "M" else 2.0,
               "DOSE": float(dose[i])}
        for d in range(n_days):
            rows.append({"ID": i + 1, "TIME": 24.0 * d, "EVID": 1,
                         "AMT": float(units.miu_to_iu(dose[i])) * cov["BSA"], "RATE": 0.0,
                         "CMT": 1, "DVID": 0, "DV": np.nan, "CENS": 0, "LLOQ": np.nan, **cov})
        for v, t in enumerate(nk_t):
            for dvid, val in ((2, nk[i, v]), (3, br[i, v])):
                rows.append({"ID": i + 1, "TIME": 24.0 * t, "EVID": 0, "AMT": 0.0, "RATE": 0.0,
                             "CMT": 3, "DVID": dvid, "DV": float(val), "CENS": 0,
                             "LLOQ": np.nan, **cov})
        for q, t in enumerate(pc_t):
            c = bool(blq[i, q])
            rows.append({"ID": i + 1, "TIME": 24.0 * t, "EVID": 0, "AMT": 0.0, "RATE": 0.0,
                         "CMT": 2, "DVID": 1, "DV": np.nan if c else float(il2[i, q]),
                         "CENS": int(c), "LLOQ": IL2_LLOQ_PM, **cov})
    df = pd.DataFrame(rows)
    df["ID"] = df["ID"].astype(str)
    df = df.sort_values(["ID", "TIME", "EVID"], kind="stable", key=None).reset_index(drop=True)
    order = {str(i + 1): i for i in range(n)}
    return df.iloc[np.argsort(df["ID"].map(order).to_numpy(), kind="stable")].reset_index(drop=True)
