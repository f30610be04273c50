"""Calibration of the parameters marked ``calibrated`` (model v2; issue 11).

The fit is :mod:`il2sim.calibrate.study_fit`: the training studies of the study library
(Meropol 1996, Konrad 1990, Caligiuri 1993, Koreth 2016; rows ``role: training`` of
``il2sim/validate/studies.yaml``), each weighted by its published uncertainty, on one seeded
virtual population; 95% intervals from the Gauss-Newton approximation, non-identified
parameters flagged.  This module adds the seed's level table (all seven levels 0.40-1.75
MIU/m2 s.c. daily x 90, assumed levels, science.md section 1) and the target checks of
science.md section 6 (``il2sim calibrate --check``), the write-back of the fitted values
(``write=True``; :func:`il2sim.model.parameters.write_values`, comment-preserving) and the
refit of the toxicity table to the new model (:func:`il2sim.calibrate.toxicity_fit.
calibrate_and_write`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from il2sim.calibrate.seed_targets import (
    LevelMetrics,
    TargetCheck,
    calibration_populations,
    check_targets,
    evaluate,
)
from il2sim.calibrate.study_fit import (
    BOUNDS,
    Interval,
    fit_training,
    fitted_descriptions,
    training_studies,
    weighted_residuals,
)
from il2sim.calibrate.toxicity_fit import ToxicityCalibration, calibrate_and_write
from il2sim.errors import InputError
from il2sim.model.models import load_model_parameters, model_table
from il2sim.model.parameters import Parameters, load_parameters, write_values
from il2sim.toxicity.table import toxicity_is_current

#: The model the training-study calibration fits (its table is written by ``--write``).
STUDY_MODEL = "v2"

__all__ = ["CalibrationResult", "calibrate", "check_stored", "stored_intervals"]


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
    intervals: tuple[Interval, ...] = ()
    training: tuple[dict[str, Any], ...] = ()
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
            "intervals": [iv.to_dict() for iv in self.intervals],
            "not_identified": [iv.name for iv in self.intervals if not iv.identified],
            "training": list(self.training),
            "max_evaluations": self.max_evaluations,
            "interrupted": self.interrupted,
        }


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
    p0 = parameters if parameters is not None else load_parameters(
        path if path is not None else model_table(STUDY_MODEL))
    studies = training_studies(patients=patients)
    fit = fit_training(p0, studies, seed=seed, max_evaluations=max_evaluations,
                       progress=progress)
    fitted = fit.fitted
    if fit.interrupted:
        write = False  # an interrupted fit is reported (best point so far), never written
    p_fit = p0.with_params(**fitted)
    all_pops = calibration_populations(patients, seed, p0)
    levels = evaluate(p_fit, all_pops)
    written = None
    tox_cal: ToxicityCalibration | None = None
    if write and not fit.interrupted:
        written = str(write_values(
            fitted, path if path is not None else model_table(p0.model),
            intervals={iv.name: (iv.low, iv.high, iv.identified) for iv in fit.intervals},
            descriptions=fitted_descriptions(fit, patients, seed, max_evaluations),
        ))
        if path is None:  # the packaged model table: refit the packaged toxicity table to it
            tox_cal = calibrate_and_write(p_fit)
    return CalibrationResult(
        fitted=fitted,
        levels=tuple(levels[lv] for lv in sorted(levels)),
        checks=check_targets(levels),
        cost=fit.cost,
        n_evaluations=fit.n_evaluations,
        patients_per_level=patients,
        seed=seed,
        written_to=written,
        toxicity=tox_cal,
        toxicity_current=toxicity_is_current(parameters=p_fit) if path is None else None,
        intervals=fit.intervals,
        training=tuple(_training_row(r.to_dict(), res)
                       for r, res in zip(fit.rows, fit.residuals, strict=True)),
        max_evaluations=max_evaluations,
        interrupted=fit.interrupted,
    )


def check_stored(
    parameters: Parameters | None = None, patients: int = 150, seed: int = 2026
) -> CalibrationResult:
    """No fit: evaluate the stored (or given) parameters at all seven levels and check them."""
    if isinstance(patients, bool) or not isinstance(patients, int) or patients <= 0:
        raise InputError(f"must be a positive integer, got {patients!r}", field="patients")
    p = parameters if parameters is not None else load_model_parameters(STUDY_MODEL)
    levels = evaluate(p, calibration_populations(patients, seed, p))
    r, rows = weighted_residuals(p, training_studies(patients=patients), seed)
    return CalibrationResult(
        fitted={n: p.value(n) for n in p.calibrated_names() if n in BOUNDS},
        levels=tuple(levels[lv] for lv in sorted(levels)),
        checks=check_targets(levels),
        cost=float(0.5 * np.sum(r * r)),
        n_evaluations=1,
        patients_per_level=patients,
        seed=seed,
        toxicity_current=toxicity_is_current(parameters=p),
        intervals=stored_intervals(p),
        training=tuple(_training_row(row.to_dict(), res)
                       for row, res in zip(rows, r, strict=True)),
    )


def _training_row(row: dict[str, Any], residual: float) -> dict[str, Any]:
    keep = ("id", "study", "regimen", "endpoint", "published", "model_statistic", "stat",
            "agree", "rule")
    return {**{k: row[k] for k in keep}, "weighted_residual": float(residual)}


def stored_intervals(p: Parameters) -> tuple[Interval, ...]:
    """The 95% intervals stored beside the calibrated values (``ci95`` of each row)."""
    out = []
    for n in p.calibrated_names():
        ci = p.specs[n].ci95
        if ci is not None:
            out.append(Interval(n, p.value(n), ci[0], ci[1], p.specs[n].identified))
    return tuple(out)
