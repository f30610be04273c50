"""Calibration v2: fit the ``calibrated`` parameters to the training studies, with intervals.

The data are the ``role: training`` rows of the study library (``il2sim/validate/studies.yaml``:
Meropol 1996, Konrad 1990, Caligiuri 1993, Koreth 2016; science.md section 7), each with its
published value and a ``fit:`` entry saying how its uncertainty weighs it (``normal`` with the
published SD, ``lognormal`` where no spread is published (the tolerance used instead is written
in the row), ``bound`` for a published one-sided limit or window: zero inside, a stiff
penalty outside).  No band or floor that is not in a row.

Objective: the sum of squared weighted residuals of those rows, each computed on one seeded
virtual population (common random numbers across evaluations), minimised by
``scipy.optimize.least_squares`` (trust-region reflective) on the log of the parameters within
:data:`BOUNDS`.  Intervals: the Gauss-Newton (Laplace) approximation at the optimum,
``cov(log theta) = (J^T J)^-1`` with the Jacobian of the weighted residuals (a pseudo-inverse
where singular): 95% interval ``exp(log theta +- 1.96 se)``.  A parameter is flagged *not
identified* where the interval spans more than a factor of :data:`IDENTIFIED_MAX_RATIO` or the
information is (numerically) zero, as for a parameter that only one-sided bounds constrain.
This is a local, quadratic approximation, not a profile likelihood.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim._interrupt import interruptible
from il2sim._json import FieldRecord
from il2sim.model.parameters import Parameters
from il2sim.validate import Study, ValidationRow, load_studies
from il2sim.validate.library import run_studies

#: Bounds of the calibrated parameters (table units).
BOUNDS: dict[str, tuple[float, float]] = {
    "emax_production": (0.5, 1.0e5),
    "hill_production": (0.3, 8.0),
    "signal_ke0_per_day": (0.005, 5.0),
    "homeostasis_gamma": (0.01, 4.0),
    "sc_loss_vmax_iu_per_day": (1.0e5, 1.0e10),
    "sc_loss_km_iu": (1.0e4, 1.0e9),
    "emax_treg": (0.1, 1.0e4),
}
#: Interval width (upper / lower) above which a parameter is flagged not identified.
IDENTIFIED_MAX_RATIO = 10.0
_Z975 = 1.959963984540054


@dataclass(frozen=True)
class Interval(FieldRecord):
    """A calibrated parameter: estimate, 95% interval, identified or not."""

    name: str
    value: float
    low: float
    high: float
    identified: bool


@dataclass(frozen=True)
class StudyFit:
    """Result of :func:`fit_training`."""

    fitted: dict[str, float]
    intervals: tuple[Interval, ...]
    rows: tuple[ValidationRow, ...]
    residuals: tuple[float, ...]
    cost: float
    n_evaluations: int
    interrupted: bool


def training_studies(path: str | Path | None = None, patients: int | None = None) -> tuple[Study, ...]:
    """The training rows of a study file (default: the built-in library)."""
    rows = tuple(s for s in load_studies(path) if s.role == "training")
    return tuple(replace(s, patients=patients) for s in rows) if patients else rows


class _Stopped(Exception):
    """Raised from the objective when a stop was asked for (ends ``least_squares``)."""


def weighted_residuals(
    parameters: Parameters, studies: Sequence[Study], seed: int
) -> tuple[npt.NDArray[np.float64], tuple[ValidationRow, ...]]:
    """Residuals of every training row under ``parameters`` (and the rows)."""
    rows = run_studies(studies, seed=seed, parameters=parameters, solver="fast")
    if len(rows) < len(studies):  # a stop inside run_studies: this evaluation did not finish
        raise _Stopped
    return np.array([r.study.residual(r.statistic) for r in rows], dtype=float), rows


def intervals_from_jacobian(
    names: Sequence[str], x: npt.NDArray[np.float64], jac: npt.NDArray[np.float64]
) -> tuple[Interval, ...]:
    """Gauss-Newton 95% intervals (log scale) from the Jacobian of the weighted residuals."""
    info = jac.T @ jac
    cov = np.linalg.pinv(info, rcond=1e-10)
    out = []
    for i, n in enumerate(names):
        var = float(cov[i, i])
        if info[i, i] <= 1e-12 or not math.isfinite(var) or var <= 0:
            out.append(Interval(n, float(np.exp(x[i])), 0.0, math.inf, False))
            continue
        se = math.sqrt(var)
        lo, hi = float(np.exp(x[i] - _Z975 * se)), float(np.exp(x[i] + _Z975 * se))
        out.append(Interval(n, float(np.exp(x[i])), lo, hi, hi / lo <= IDENTIFIED_MAX_RATIO))
    return tuple(out)


def fit_training(
    p0: Parameters,
    studies: Sequence[Study],
    seed: int = 2026,
    max_evaluations: int = 200,
    progress: Callable[[int, float], None] | None = None,
) -> StudyFit:
    """Fit the calibrated parameters of ``p0`` (those in :data:`BOUNDS`) to ``studies``.
    The first Ctrl-C (:func:`il2sim._interrupt.interruptible`) stops the fit between
    evaluations and returns the best point so far (``interrupted``)."""
    from scipy.optimize import least_squares

    names = [n for n in p0.calibrated_names() if n in BOUNDS]
    lo = np.log([BOUNDS[n][0] for n in names])
    hi = np.log([BOUNDS[n][1] for n in names])
    x0 = np.clip(np.log([p0.value(n) for n in names]), lo + 1e-9, hi - 1e-9)
    best: dict[str, Any] = {"cost": math.inf, "x": x0}
    n_eval = 0

    def params_of(x: npt.NDArray[np.float64]) -> Parameters:
        return p0.with_params(**{n: float(np.exp(v)) for n, v in zip(names, x, strict=True)})

    def fun(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        nonlocal n_eval
        if stop:  # the interruption contract: stop between evaluations
            raise _Stopped
        n_eval += 1
        r, _ = weighted_residuals(params_of(x), studies, seed)
        cost = float(0.5 * np.sum(r * r))
        if cost < best["cost"]:
            best.update(cost=cost, x=np.array(x))
        if progress is not None:
            progress(n_eval, cost)
        return r

    interrupted = False
    jac: npt.NDArray[np.float64] | None = None
    with interruptible() as stop:
        try:
            sol = least_squares(fun, x0, bounds=(lo, hi), method="trf", diff_step=1e-2,
                                max_nfev=max_evaluations, x_scale=1.0)
            x, jac = sol.x, np.asarray(sol.jac, dtype=float)
        except _Stopped:
            if not math.isfinite(best["cost"]):
                raise KeyboardInterrupt from None  # no evaluation finished
            interrupted, x = True, np.asarray(best["x"])
    r, rows = weighted_residuals(params_of(x), studies, seed)
    if jac is None:
        intervals = tuple(Interval(n, float(np.exp(v)), math.nan, math.nan, False)
                          for n, v in zip(names, x, strict=True))
    else:
        intervals = intervals_from_jacobian(names, x, jac)
    return StudyFit(
        fitted={n: float(np.exp(v)) for n, v in zip(names, x, strict=True)},
        intervals=intervals, rows=rows, residuals=tuple(float(v) for v in r),
        cost=float(0.5 * np.sum(r * r)), n_evaluations=n_eval, interrupted=interrupted,
    )


def fitted_descriptions(
    fit: StudyFit, patients: int, seed: int, max_evaluations: int, day: str | None = None
) -> dict[str, str]:
    """The ``description`` written beside each fitted value: when and how it was fitted, its
    interval and whether the training data identify it (``il2sim calibrate --write``)."""
    import datetime

    when = day or datetime.datetime.now(datetime.UTC).date().isoformat()
    out: dict[str, str] = {}
    for iv in fit.intervals:
        flag = ("identified" if iv.identified else
                f"NOT identified by the training data (95% interval wider than "
                f"{IDENTIFIED_MAX_RATIO:g}x)")
        out[iv.name] = (
            f"calibrated by il2sim calibrate on {when}, settings: --patients {patients} "
            f"--seed {seed} --max-evaluations {max_evaluations} ({fit.n_evaluations} "
            f"evaluations incl. the Jacobian's); fitted to the training rows of "
            f"validate/studies.yaml weighted by their published uncertainty (validation rows "
            f"never); ci95 = Gauss-Newton 95% interval on the log scale; {flag}"
        )
    return out
