"""Parameter-recovery studies: simulate replicate datasets with known parameters, fit each,
and tabulate the mean relative error of the typical values and of the random-effect SDs and
the coverage of the 95% intervals (the simulation-estimation check of every NLME tool, e.g.
the saemix and Monolix validation studies; Comets et al. 2017, section 5).

:func:`toy_oral_dataset` makes a one-compartment oral study with proportional error and LLOQ
censoring (M3 exercised); :func:`run_recovery` runs any study given ``make(rep) -> (data,
model)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.fit.data import FitData, from_long
from il2sim.fit.estimate import PostOptions, fit
from il2sim.fit.model import FitSpec, StructuralModel
from il2sim.fit.result import FitResult
from il2sim.fit.saem import SaemOptions
from il2sim.fit.toy import OneCompartmentOral

FloatArray = npt.NDArray[np.float64]

__all__ = ["RecoveryTable", "run_recovery", "toy_oral_dataset"]

#: Truth of the toy oral study: ka 1/h, V l, CL l/h and log-scale SDs.
TOY_TRUTH: dict[str, float] = {"ka": 1.5, "V": 30.0, "CL": 3.0}
TOY_OMEGA: dict[str, float] = {"ka": 0.4, "V": 0.2, "CL": 0.3}
TOY_TIMES_H: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 12.0, 24.0, 36.0)


def toy_oral_dataset(seed: int, n: int = 40, b: float = 0.15, lloq: float = 0.8,
                     dose_mg: float = 320.0, omega: Mapping[str, float] | None = None,
                     ) -> tuple[FitData, OneCompartmentOral]:
    """One simulated oral study (proportional error ``b``, values below ``lloq`` censored;
    between-subject SDs ``omega``, default :data:`TOY_OMEGA`)."""
    rng = np.random.default_rng([seed, 101])
    names = ("ka", "V", "CL")
    om = {**TOY_OMEGA, **dict(omega or {})}
    phi = np.log([TOY_TRUTH[k] for k in names]) + rng.standard_normal((n, 3)) * np.array(
        [om[k] for k in names])
    t = np.tile(np.array(TOY_TIMES_H), n)
    subj = np.repeat(np.arange(n), len(TOY_TIMES_H))
    tmp = from_long(subj.astype(str), t, np.ones_like(t), type_names=("conc",))
    model = OneCompartmentOral(tmp, np.full(n, dose_mg))
    f = model.predict(phi, np.arange(n))[tmp.mask]
    y = f * (1.0 + b * rng.standard_normal(f.size))
    cens = y < lloq
    data = from_long(subj.astype(str), t, np.where(cens, np.nan, y), censored=cens,
                     lloq=np.full(t.size, lloq), type_names=("conc",), type_units=("mg/l",))
    return data, OneCompartmentOral(data, np.full(n, dose_mg))


@dataclass(frozen=True)
class RecoveryTable:
    """Per parameter: truth, mean estimate, mean relative error (%), coverage of the 95%
    interval (%); per random effect: truth SD, mean estimated SD, mean relative error (%),
    coverage (%); the number of replicates and their fit times."""

    fixed: dict[str, dict[str, float]]
    omega: dict[str, dict[str, float]]
    n_replicates: int
    seconds: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"fixed": self.fixed, "omega": self.omega, "n_replicates": self.n_replicates,
                "mean_seconds": float(np.mean(self.seconds))}

    def lines(self) -> list[str]:
        """The table as text lines."""
        out = [f"{'parameter':24s} {'truth':>10s} {'mean est':>10s} {'rel err %':>9s} "
               f"{'95% CI cov %':>12s}"]
        for n, r in self.fixed.items():
            out.append(f"{n:24s} {r['truth']:10.4g} {r['mean']:10.4g} {r['rel_err_pct']:9.1f} "
                       f"{r['coverage_pct']:12.0f}")
        for n, r in self.omega.items():
            out.append(f"{'omega ' + n:24s} {r['truth']:10.4g} {r['mean']:10.4g} "
                       f"{r['rel_err_pct']:9.1f} {r['coverage_pct']:12.0f}")
        return out


def run_recovery(make: Callable[[int], tuple[FitData, StructuralModel]],
                 truth: Mapping[str, float], omega: Mapping[str, float],
                 n_rep: int, options: SaemOptions, post: PostOptions,
                 initial_factor: float = 1.3, error: str = "prop",
                 reps: Sequence[int] | None = None,
                 blocks: tuple[tuple[str, ...], ...] = (),
                 on_fit: Callable[[int, FitResult], None] | None = None) -> RecoveryTable:
    """Fit ``n_rep`` datasets ``make(rep)`` (initial values ``truth * initial_factor``) and
    tabulate the recovery (relative errors of typical values and SDs, CI coverage)."""
    names = tuple(truth)
    est: dict[str, list[float]] = {n: [] for n in names}
    cov: dict[str, list[bool]] = {n: [] for n in names}
    sds: dict[str, list[float]] = {n: [] for n in omega}
    sd_cov: dict[str, list[bool]] = {n: [] for n in omega}
    secs: list[float] = []
    for rep in (reps if reps is not None else range(n_rep)):
        data, model = make(rep)
        spec = FitSpec(names, tuple(truth[n] * initial_factor for n in names), tuple(omega),
                       {n: 0.5 for n in omega}, blocks, error={"*": error})
        res = fit(data, model, spec, SaemOptions(**{**options.__dict__, "seed": options.seed + rep}),
                  post)
        secs.append(res.elapsed_s)
        for n in names:
            p = res.parameters[n]
            est[n].append(p.estimate)
            cov[n].append(bool(p.ci95[0] <= truth[n] <= p.ci95[1]))
        for n in omega:
            o = res.omega[n]
            sds[n].append(o["sd"])
            half = 1.959963984540054 * o["se"]
            sd_cov[n].append(bool(math.isfinite(half) and abs(o["sd"] - omega[n]) <= half))
        if on_fit is not None:
            on_fit(rep, res)
    fixed = {n: {"truth": truth[n], "mean": float(np.mean(est[n])),
                 "rel_err_pct": 100.0 * (float(np.mean(est[n])) / truth[n] - 1.0),
                 "coverage_pct": 100.0 * float(np.mean(cov[n]))} for n in names}
    om = {n: {"truth": omega[n], "mean": float(np.mean(sds[n])),
              "rel_err_pct": 100.0 * (float(np.mean(sds[n])) / omega[n] - 1.0),
              "coverage_pct": 100.0 * float(np.mean(sd_cov[n]))} for n in omega}
    return RecoveryTable(fixed, om, len(secs), tuple(secs))
