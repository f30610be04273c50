"""One candidate regimen over a virtual population: P(efficacy) and P(DLT) with intervals.

The unit of work of ``il2sim optimise`` (:mod:`il2sim.optimise`), run by the sweep's
``regimen`` runner kind (:func:`il2sim.sweep.runners.run_regimen`), so the search is chunked,
resumable and can run on Dask.  It lives here, below the sweep layer, because the sweep's
workers import it.

For ``n`` patients drawn exactly as ``il2sim simulate --patients n --seed S`` draws them
(``Population.sample(n, S)``; toxicity effects from ``default_rng(S)``,
:func:`il2sim.toxicity.outcomes.realise_toxicity`), with the simulator's default solver preset:

* P(DLT): the mean over patients of the toxicity layer's closed-form DLT probability (the
  ``dlt_probability`` of ``il2sim simulate --json``, the same patients, the same number), with
  a percentile bootstrap interval over patients; the realised DLT rate beside it;
* P(efficacy): the fraction of patients meeting the efficacy definition
  (:mod:`il2sim.trial.efficacy`, true model values), with a Wilson score interval (binomial
  over virtual patients) and the bootstrap interval.

The bootstrap resamples patients ``n_boot`` times from ``SeedSequence(boot_seed)`` (explicit),
the same draws for every regimen of a search (paired: regimens see the same patients).
Intervals describe Monte Carlo error over virtual patients only, not the model's parameter
uncertainty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from il2sim.errors import InputError
from il2sim.trial.efficacy import EfficacyDefinition, parse_efficacy

__all__ = ["RegimenEvaluation", "evaluate_regimen", "wilson_interval"]

#: z of a two-sided 95% interval.
Z95 = 1.959963984540054


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``k / n`` (Wilson 1927, JASA 22:209)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    lo = 0.0 if k == 0 else min(max(0.0, centre - half), p)  # rounding: keep p inside
    hi = 1.0 if k == n else max(min(1.0, centre + half), p)
    return (lo, hi)


@dataclass(frozen=True)
class RegimenEvaluation:
    """P(efficacy) and P(DLT) of one regimen over ``n`` virtual patients (see the module)."""

    regimen: str
    n: int
    p_eff: float
    p_eff_lo: float
    p_eff_hi: float
    p_eff_boot_lo: float
    p_eff_boot_hi: float
    p_dlt: float
    p_dlt_lo: float
    p_dlt_hi: float
    dlt_realised: float
    efficacy_median: float

    def metrics(self) -> dict[str, float]:
        """Flat numeric metrics (the sweep store's row)."""
        return {k: float(v) for k, v in self.__dict__.items() if k != "regimen"}


def _bootstrap(
    x: np.ndarray, n_boot: int, boot_seed: int
) -> tuple[float, float]:
    rng = np.random.default_rng(np.random.SeedSequence(boot_seed))
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    means = x[idx].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    m = float(x.mean())  # a resample's mean can differ from it by rounding alone
    return min(float(lo), m), max(float(hi), m)


def evaluate_regimen(
    spec: str,
    n: int,
    seed: int,
    efficacy: EfficacyDefinition | str,
    horizon_day: float = 90.0,
    parameters: Any = None,
    tox: Any = None,
    n_boot: int = 1000,
    boot_seed: int = 0,
) -> RegimenEvaluation:
    """Evaluate the regimen text ``spec`` (:mod:`il2sim.regimen`) in ``n`` patients drawn
    from ``seed`` over ``horizon_day`` days (the efficacy day must fall within it)."""
    from il2sim.model.parameters import load_parameters
    from il2sim.population import Population
    from il2sim.regimen.spec import parse_spec
    from il2sim.simulate import simulate
    from il2sim.toxicity import load_toxicity_parameters
    from il2sim.toxicity.outcomes import realise_toxicity

    eff = parse_efficacy(efficacy) if isinstance(efficacy, str) else efficacy
    if not (math.isfinite(horizon_day) and horizon_day >= eff.study_day):
        raise InputError(
            f"must be at least the efficacy day {eff.study_day}, got {horizon_day!r}",
            field="horizon_day", value=horizon_day,
        )  # fmt: skip
    regimen = parse_spec(spec)
    params = parameters if parameters is not None else load_parameters()
    t = tox if tox is not None else load_toxicity_parameters(model=params.model)
    pop = Population.sample(int(n), int(seed), params)
    res = simulate(
        regimen, pop, parameters=params, horizon_day=float(horizon_day),
        output_times_day=np.array([0.0, eff.t_day]),
    )  # fmt: skip
    pt = realise_toxicity(res, regimen, pop, t, seed=int(seed))
    y = np.asarray(res.output(eff.output), dtype=float)
    q = eff.quantity(y[:, 0], y[:, 1])
    r = eff.responders(q).astype(float)
    p = np.asarray(pt.dlt_probability, dtype=float)
    k = int(r.sum())
    lo, hi = wilson_interval(k, r.size)
    b_eff = _bootstrap(r, n_boot, boot_seed)
    b_dlt = _bootstrap(p, n_boot, boot_seed)  # the same resamples (same seed): paired
    return RegimenEvaluation(
        regimen=regimen.spec or spec, n=int(r.size), p_eff=float(r.mean()), p_eff_lo=lo,
        p_eff_hi=hi, p_eff_boot_lo=b_eff[0], p_eff_boot_hi=b_eff[1], p_dlt=float(p.mean()),
        p_dlt_lo=b_dlt[0], p_dlt_hi=b_dlt[1],
        dlt_realised=float(np.asarray(pt.dlt.dlt, dtype=float).mean()),
        efficacy_median=float(np.nanmedian(q)) if np.isfinite(q).any() else math.nan,
    )  # fmt: skip
