"""Daily exposure of a virtual cohort on the seed's schedule: what toxicity needs from the model.

:func:`simulate_exposure` gives the daily peak serum IL-2 and the daily flat dose of ``n``
patients on ``dose`` MIU/m2 s.c. once a day for 90 days from day 0 (Meropol et al. 1996), no
dose modification.  The toxicity calibration (:mod:`il2sim.calibrate.toxicity_fit`) and the
toxicity tests use it; trials simulate their cohorts themselves (:mod:`il2sim.trial.cohort`,
with dose modification), at the same solver step.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from il2sim.model.parameters import Parameters
from il2sim.population import Population
from il2sim.regimen.builders import daily_regimen
from il2sim.simulate import simulate
from il2sim.toxicity.clock import daily_dose_miu

__all__ = ["EXPOSURE_SOLVER", "SEED_DAYS", "simulate_exposure"]

FloatArray = npt.NDArray[np.float64]

#: Solver preset for cohorts (trials, replicate pools, the toxicity calibration):
#: :data:`il2sim.simulate.options.TRIAL`, the fixed grid at 1/32 day, coarser than the
#: simulator's default for speed; on the seed regimen it changes daily peak IL-2 by < 0.2% and
#: NK counts by < 1% (tests/test_trial.py).
EXPOSURE_SOLVER = "trial"
#: Treatment length of the seed trial, days (Meropol 1996: 90 consecutive days).
SEED_DAYS = 90


def simulate_exposure(
    dose_miu_per_m2: float,
    n: int,
    seed: np.random.SeedSequence,
    parameters: Parameters | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Daily peak IL-2 (P, 90), pM, and daily flat dose (P, 90), MIU, for ``n`` patients drawn
    by ``Population.sample(n, default_rng(seed), parameters)`` on ``dose_miu_per_m2`` MIU/m2
    s.c. daily from day 0 (study day 1 = model day 0)."""
    pop = Population.sample(n, np.random.default_rng(seed), parameters=parameters)
    reg = daily_regimen(dose_miu_per_m2, SEED_DAYS)
    res = simulate(
        reg,
        pop,
        parameters=parameters,
        horizon_day=float(SEED_DAYS),
        output_times_day=np.array([0.0, SEED_DAYS - 1.0]),
        solver=EXPOSURE_SOLVER,
    )
    e = np.asarray(res.il2_daily_max_pm, dtype=float)[:, :SEED_DAYS]
    return e, daily_dose_miu(reg, pop.bsa_m2, SEED_DAYS)
