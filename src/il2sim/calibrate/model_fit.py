"""Calibration of the parameters marked ``calibrated`` to the seed's targets (science.md §6).

Procedure (rerunnable: ``il2sim calibrate``):

1. One fixed virtual population (``patients``, seed ``seed``) given every dose level (common
   random numbers: level differences are not sampling noise), levels 0.40, 0.60, 0.80, 1.00, 1.25, 1.50, 1.75 MIU/m2 s.c. daily for 90 days
   (assumed levels, science.md §1), horizon 90 days, fast solver.
2. Residuals: log of the mean peak ratio (1 + increase/100) minus the log of the target for
   total NK and CD56bright at 0.40 and 1.75 MIU/m2 (Meropol 1996: +154%/+530% and
   +368%/+2763%); the population-mean NK time to 95% of its 90-day maximum against the
   middle of weeks 6-8 (49 days, scaled by the 7-day half-width); one-sided penalties for
   the week-12 level below 85% of the maximum and for the median peak IL-2 at 1.25 MIU/m2
   outside 6-9 pM (under the seed's < 10 pM with a margin; the floor identifies the
   receptor pool, see ``_IL2_FIT_BAND_PM``).
3. ``scipy.optimize.least_squares`` (trust-region reflective) on the log of the calibrated
   parameters, within bounds; finite-difference Jacobian.  Only the fit levels (0.40, 1.25,
   1.75) are simulated during the fit; all seven levels are checked afterwards.
4. The fitted values are written back into ``model/parameters.toml`` (``write=True``; the
   comment-preserving write-back :func:`il2sim.model.parameters.write_values` changes only
   their ``value`` fields), the toxicity table is refitted to the new model's exposures
   (:func:`il2sim.calibrate.toxicity_fit.calibrate_and_write`, packaged table only) and every
   target is reported beside the model's value with met / not met.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim._interrupt import interruptible
from il2sim.calibrate.toxicity_fit import ToxicityCalibration, calibrate_and_write
from il2sim.errors import InputError
from il2sim.model.parameters import Parameters, load_parameters, write_values
from il2sim.population import Population
from il2sim.regimen.events import DoseEvent, Regimen
from il2sim.seed import MEROPOL_1996
from il2sim.simulate import simulate
from il2sim.toxicity.table import toxicity_is_current

#: Seed dose levels, MIU/m2/day (science.md §1 assumption).
SEED_LEVELS_MIU_PER_M2: tuple[float, ...] = MEROPOL_1996.doses_miu_per_m2
#: Treatment length and horizon of the seed trial, days (Meropol 1996: 90 consecutive days).
SEED_DAYS = MEROPOL_1996.n_treatment_days
#: Targets (Meropol 1996 abstract, read as mean peak increase at the lowest/highest level).
_ENDS = (MEROPOL_1996.doses_miu_per_m2[0], MEROPOL_1996.doses_miu_per_m2[-1])
TARGET_NK_PCT = dict(zip(_ENDS, MEROPOL_1996.nk_peak_increase_pct, strict=True))
TARGET_BRIGHT_PCT = dict(zip(_ENDS, MEROPOL_1996.cd56bright_peak_increase_pct, strict=True))
#: Peak NK at weeks 6-8 (Meropol 1996): t95 of the population-mean NK in [42, 56] days.
TARGET_T95_DAY = (42.0, 56.0)
#: Sustained through week 12: mean NK at day 90 >= 85% of its maximum.
TARGET_END_OVER_MAX = 0.85
#: Serum IL-2: median peak < 10 pM at every level up to the MTD (1.25 MIU/m2).
TARGET_IL2_PEAK_PM = MEROPOL_1996.il2_peak_limit_pm
MTD_MIU_PER_M2 = MEROPOL_1996.mtd_miu_per_m2
#: Tolerance on the four increase targets (issue 3: within +-15% of the reported values).
TARGET_REL_TOL = 0.15
#: Band used inside the fit for the median peak IL-2 at the MTD, pM: under the seed's 10 pM
#: with a margin, and not far below it (assumption: the seed's peaks were measurable, i.e. the
#: "< 10 pM" statement is informative).  Without the floor the receptor pool is not identified
#: (lower IL-2 and a larger production effect give the same NK counts) and the fit drifts to
#: pools that would also swallow an i.v. infusion (Konrad 1990's 41 U/ml steady state).
_IL2_FIT_BAND_PM = (6.0, 9.0)
#: Levels simulated inside the fit loop.
FIT_LEVELS: tuple[float, ...] = (0.40, 1.25, 1.75)
#: Bounds for the calibrated parameters (lower, upper), in the table's units.
BOUNDS: dict[str, tuple[float, float]] = {
    "receptor_pool_scale": (1.0, 1.0e4),
    "emax_production": (0.5, 1.0e4),
    "hill_production": (0.3, 8.0),
    "signal_ke0_per_day": (0.005, 5.0),
    "homeostasis_gamma": (0.01, 4.0),
}


def seed_regimen(dose_miu_per_m2: float, days: int = SEED_DAYS) -> Regimen:
    """Daily s.c. ``dose_miu_per_m2`` MIU/m2 for ``days`` days, from day 0."""
    return Regimen(
        tuple(DoseEvent(float(d), dose_miu_per_m2) for d in range(days)),
        f"{dose_miu_per_m2:g} MIU/m2 sc qd x{days}",
    )


@dataclass(frozen=True)
class LevelMetrics:
    """Model summary at one dose level."""

    dose_miu_per_m2: float
    nk_mean_peak_pct: float
    bright_mean_peak_pct: float
    nk_mean_t95_day: float
    nk_mean_end_over_max: float
    il2_median_peak_pm: float

    def to_dict(self) -> dict[str, float]:
        """JSON-ready form."""
        return dict(self.__dict__)


def level_metrics(dose_miu_per_m2: float, pop: Population, parameters: Parameters) -> LevelMetrics:
    """Simulate the seed regimen at one level and summarise it."""
    res = simulate(
        seed_regimen(dose_miu_per_m2),
        pop,
        parameters=parameters,
        horizon_day=float(SEED_DAYS),
        output_times_day=np.arange(0.0, SEED_DAYS + 0.25, 0.25),
    )
    s = res.summary()
    return LevelMetrics(
        dose_miu_per_m2=dose_miu_per_m2,
        nk_mean_peak_pct=s["nk_peak_increase_pct"]["mean"],
        bright_mean_peak_pct=s["cd56bright_peak_increase_pct"]["mean"],
        nk_mean_t95_day=s["nk_mean_t95_day"],
        nk_mean_end_over_max=s["nk_mean_end_over_max"],
        il2_median_peak_pm=s["il2_peak_pm"]["median"],
    )


def calibration_populations(
    patients: int,
    seed: int,
    parameters: Parameters,
    levels: Sequence[float] = SEED_LEVELS_MIU_PER_M2,
) -> dict[float, Population]:
    """The fixed virtual population given every level (the same patients, seed ``seed``)."""
    pop = Population.sample(patients, seed, parameters)
    return dict.fromkeys(levels, pop)


def _residuals(metrics: dict[float, LevelMetrics]) -> npt.NDArray[np.float64]:
    lo, hi = metrics[0.40], metrics[1.75]
    r = [
        math.log1p(lo.nk_mean_peak_pct / 100) - math.log1p(TARGET_NK_PCT[0.40] / 100),
        math.log1p(hi.nk_mean_peak_pct / 100) - math.log1p(TARGET_NK_PCT[1.75] / 100),
        math.log1p(lo.bright_mean_peak_pct / 100) - math.log1p(TARGET_BRIGHT_PCT[0.40] / 100),
        math.log1p(hi.bright_mean_peak_pct / 100) - math.log1p(TARGET_BRIGHT_PCT[1.75] / 100),
    ]
    mid = 0.5 * (TARGET_T95_DAY[0] + TARGET_T95_DAY[1])
    half = 0.5 * (TARGET_T95_DAY[1] - TARGET_T95_DAY[0])
    for m in (lo, hi):
        r.append(0.5 * (m.nk_mean_t95_day - mid) / half)
        r.append(10.0 * max(0.0, TARGET_END_OVER_MAX + 0.03 - m.nk_mean_end_over_max))
    il2 = metrics[MTD_MIU_PER_M2].il2_median_peak_pm
    r.append(5.0 * max(0.0, math.log(il2 / _IL2_FIT_BAND_PM[1])))
    r.append(5.0 * max(0.0, math.log(_IL2_FIT_BAND_PM[0] / il2)))
    return np.asarray(r, dtype=float)


@dataclass(frozen=True)
class TargetCheck:
    """One target beside the model's value."""

    target: str
    expected: str
    model: float
    met: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class CalibrationResult:
    """Fitted values, the per-level metrics and the target table; ``toxicity``: the toxicity
    refit written with them (``write=True`` on the packaged tables), ``toxicity_current``:
    whether the toxicity table was calibrated against these model values (its
    ``model_fingerprint``)."""

    fitted: dict[str, float]
    levels: tuple[LevelMetrics, ...]
    checks: tuple[TargetCheck, ...]
    cost: float
    n_evaluations: int
    patients_per_level: int
    seed: int
    written_to: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    toxicity: ToxicityCalibration | None = None
    toxicity_current: bool | None = None
    max_evaluations: int = 0
    interrupted: bool = False

    @property
    def all_met(self) -> bool:
        """True if every target is met."""
        return all(c.met for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "fitted": self.fitted,
            "levels": [lv.to_dict() for lv in self.levels],
            "checks": [c.to_dict() for c in self.checks],
            "all_met": self.all_met,
            "cost": self.cost,
            "n_evaluations": self.n_evaluations,
            "patients_per_level": self.patients_per_level,
            "seed": self.seed,
            "written_to": self.written_to,
            "toxicity": None if self.toxicity is None else self.toxicity.to_dict(),
            "toxicity_current": self.toxicity_current,
            "max_evaluations": self.max_evaluations,
            "interrupted": self.interrupted,
        }


def check_targets(levels: dict[float, LevelMetrics]) -> tuple[TargetCheck, ...]:
    """Compare per-level metrics with every seed target (science.md §6)."""
    out: list[TargetCheck] = []
    for lv, tgt in TARGET_NK_PCT.items():
        v = levels[lv].nk_mean_peak_pct
        out.append(
            TargetCheck(
                f"mean peak NK increase at {lv:.2f} MIU/m2 (%)",
                f"{tgt:g} +-15%",
                v,
                abs(v / tgt - 1) <= TARGET_REL_TOL,
            )
        )
    for lv, tgt in TARGET_BRIGHT_PCT.items():
        v = levels[lv].bright_mean_peak_pct
        out.append(
            TargetCheck(
                f"mean peak CD56bright increase at {lv:.2f} MIU/m2 (%)",
                f"{tgt:g} +-15%",
                v,
                abs(v / tgt - 1) <= TARGET_REL_TOL,
            )
        )
    doses = sorted(levels)
    nk = np.array([levels[d].nk_mean_peak_pct for d in doses])
    br = np.array([levels[d].bright_mean_peak_pct for d in doses])
    out.append(
        TargetCheck(
            "NK increase monotone in dose (min step, %)",
            "> 0",
            float(np.min(np.diff(nk))) if nk.size > 1 else 0.0,
            bool(np.all(np.diff(nk) > 0)),
        )
    )
    out.append(
        TargetCheck(
            "CD56bright increase monotone in dose (min step, %)",
            "> 0",
            float(np.min(np.diff(br))) if br.size > 1 else 0.0,
            bool(np.all(np.diff(br) > 0)),
        )
    )
    t95 = [levels[d].nk_mean_t95_day for d in doses]
    out.append(
        TargetCheck(
            "mean NK reaches 95% of max (day, earliest level)",
            "42-56",
            min(t95),
            TARGET_T95_DAY[0] <= min(t95) <= TARGET_T95_DAY[1],
        )
    )
    out.append(
        TargetCheck(
            "mean NK reaches 95% of max (day, latest level)",
            "42-56",
            max(t95),
            TARGET_T95_DAY[0] <= max(t95) <= TARGET_T95_DAY[1],
        )
    )
    end = min(levels[d].nk_mean_end_over_max for d in doses)
    out.append(
        TargetCheck(
            "week-12 mean NK / max (lowest over levels)", ">= 0.85", end, end >= TARGET_END_OVER_MAX
        )
    )
    upto = [levels[d].il2_median_peak_pm for d in doses if d <= MTD_MIU_PER_M2 + 1e-9]
    if upto:
        out.append(
            TargetCheck(
                "median peak IL-2 up to 1.25 MIU/m2 (pM, highest level)",
                "< 10",
                max(upto),
                max(upto) < TARGET_IL2_PEAK_PM,
            )
        )
    return tuple(out)


def evaluate(
    parameters: Parameters,
    pops: dict[float, Population],
) -> dict[float, LevelMetrics]:
    """Metrics at every level in ``pops`` under ``parameters``."""
    return {lv: level_metrics(lv, pop, parameters) for lv, pop in pops.items()}


class _Stopped(Exception):
    """Raised from the objective when a stop was asked for (ends ``least_squares``)."""


def calibrate(
    parameters: Parameters | None = None,
    patients: int = 150,
    seed: int = 2026,
    max_evaluations: int = 200,
    write: bool = False,
    path: str | Path | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> CalibrationResult:
    """Fit the ``calibrated`` parameters (see module docstring) and optionally write them."""
    if isinstance(patients, bool) or not isinstance(patients, int) or patients <= 0:
        raise InputError(f"must be a positive integer, got {patients!r}", field="patients")
    if (
        isinstance(max_evaluations, bool)
        or not isinstance(max_evaluations, int)
        or max_evaluations < 1
    ):
        raise InputError(
            f"must be a positive integer, got {max_evaluations!r}", field="max_evaluations"
        )
    from scipy.optimize import least_squares

    p0 = parameters if parameters is not None else load_parameters(path)
    names = [n for n in p0.calibrated_names() if n in BOUNDS]
    x0 = np.log([p0.value(n) for n in names])
    lo = np.log([BOUNDS[n][0] for n in names])
    hi = np.log([BOUNDS[n][1] for n in names])
    x0 = np.clip(x0, lo + 1e-9, hi - 1e-9)
    fit_pops = calibration_populations(patients, seed, p0, FIT_LEVELS)
    n_eval = 0
    best: list[tuple[float, npt.NDArray[np.float64]]] = []

    def params_of(x: npt.NDArray[np.float64]) -> Parameters:
        return p0.with_params(**{n: float(np.exp(v)) for n, v in zip(names, x, strict=True)})

    def fun(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        nonlocal n_eval
        if stop:  # the interruption contract: stop between evaluations
            raise _Stopped
        n_eval += 1
        r = _residuals(evaluate(params_of(x), fit_pops))
        cost = float(0.5 * np.sum(r * r))
        if not best or cost < best[0][0]:
            best[:] = [(cost, np.array(x, dtype=float))]
        if progress is not None:
            progress(n_eval, cost)
        return r

    stopped = False
    with interruptible() as stop:
        try:
            sol = least_squares(
                fun, x0, bounds=(lo, hi), method="trf", diff_step=1e-3,
                max_nfev=max_evaluations, x_scale=1.0,
            )  # fmt: skip
            x_fit, cost_fit = sol.x, float(sol.cost)
        except _Stopped:
            if not best:
                raise KeyboardInterrupt from None  # no evaluation finished
            cost_fit, x_fit = best[0]
            stopped = True
            write = False  # an interrupted fit is reported (best point so far), never written
    fitted = {n: float(np.exp(v)) for n, v in zip(names, x_fit, strict=True)}
    p_fit = p0.with_params(**fitted)
    all_pops = calibration_populations(patients, seed, p0)
    levels = evaluate(p_fit, all_pops)
    written = None
    tox_cal: ToxicityCalibration | None = None
    if write:
        written = str(write_values(fitted, path))
        if path is None:  # the packaged model table: refit the packaged toxicity table to it
            tox_cal = calibrate_and_write(p_fit)
    return CalibrationResult(
        fitted=fitted,
        levels=tuple(levels[lv] for lv in sorted(levels)),
        checks=check_targets(levels),
        cost=cost_fit,
        n_evaluations=n_eval,
        patients_per_level=patients,
        seed=seed,
        written_to=written,
        toxicity=tox_cal,
        toxicity_current=toxicity_is_current(parameters=p_fit) if path is None else None,
        max_evaluations=max_evaluations,
        interrupted=stopped,
    )


def check_stored(
    parameters: Parameters | None = None, patients: int = 150, seed: int = 2026
) -> CalibrationResult:
    """No fit: evaluate the stored (or given) parameters at all seven levels and check them."""
    if isinstance(patients, bool) or not isinstance(patients, int) or patients <= 0:
        raise InputError(f"must be a positive integer, got {patients!r}", field="patients")
    p = parameters if parameters is not None else load_parameters()
    levels = evaluate(p, calibration_populations(patients, seed, p))
    return CalibrationResult(
        fitted={n: p.value(n) for n in p.calibrated_names() if n in BOUNDS},
        levels=tuple(levels[lv] for lv in sorted(levels)),
        checks=check_targets(levels),
        cost=float(0.5 * np.sum(_residuals(levels) ** 2)),
        n_evaluations=1,
        patients_per_level=patients,
        seed=seed,
        toxicity_current=toxicity_is_current(parameters=p),
    )
