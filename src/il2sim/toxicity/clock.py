"""The study clock: every toxicity and antibody outcome is timed from the first dose.

Model time ``t`` starts at 0 (``DoseEvent.time_day``) and a regimen may start later (``@300``
in the regimen grammar).  A trial times its outcomes from the first dose, not from an
arbitrary origin: study day 1 is the calendar day of the first dose (CDISC SDTMIG: the
reference start date is the date of first exposure, study day 1; there is no day 0).  Here:

* **Daily arrays.**  The simulator's daily arrays are model days ``[d, d + 1)``; study day
  ``s`` is model day ``first_dose_model_day + s - 1`` with ``first_dose_model_day =
  floor(t_first)`` (:func:`first_dose_model_day`, :func:`to_study_days`).  The DLT window
  (study days 1..28 by default), the daily grades and the worst grades are read on this clock.
* **Treated period** (:func:`treated_days`): from the first dose to one dosing interval after
  the last administration ends (``end_day + dosing_interval_day - t_first``), in whole days
  (rounded up): 90 for ``qd x90``, 1 for a bolus, 57 for a 56-day infusion (a single
  administration counts one 1-day interval after it, :attr:`Regimen.dosing_interval_day`).
  The anti-IL-2 antibody hazard acts during it (:mod:`il2sim.toxicity.immunogenicity`).
* **Observed period** (:func:`observed_days`): the treated period cut at the horizon,
  ``min(treated_days, horizon_day - t_first)`` (>= 0).  The antibody incidence is reported
  over it: a pharmacometrician reads "ADA incidence" as the fraction of patients who became
  positive during treatment, observed up to the end of follow-up (here the horizon); the
  hazard does not run before the first dose nor after the treated period, so the follow-up
  after treatment adds no new onsets and the days before the first dose add none either.

In v0.1 the DLT window and the antibody exposure were counted from model day 0: a regimen
starting on day 300 (``il2sim simulate --regimen "1.25 MIU/m2 sc qd x90 @300" --horizon-days
400``, 100 patients, seed 0) had a DLT probability of 0 (window on model days 0-27, before any
dose) and an antibody incidence of 0.300 (hazard over 390 days instead of the 90 treated),
against 0.184 and 0.079 from day 0; now both give 0.184 and 0.079.

Invariance: shifting a regimen and its horizon by a whole number of days leaves every study-day
array, hence every toxicity outcome, unchanged (property test ``tests/test_toxicity_clock.py``).
A shift by a fraction of a day moves the doses within the calendar day, which changes daily
peaks binned by calendar day (as a trial's daily AE records would); the antibody outcomes are
invariant to any shift.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from il2sim import units
from il2sim.regimen.events import Regimen

__all__ = [
    "daily_dose_miu",
    "first_dose_model_day",
    "observed_days",
    "to_study_days",
    "treated_days",
]

FloatArray = npt.NDArray[np.float64]
#: Tolerance on day arithmetic (times are floats: 300.1 + 89 - 300.1 is not exactly 89), days.
_DAY_TOL = 1e-9


def first_dose_model_day(regimen: Regimen) -> int:
    """Model day index ``floor(t_first)`` holding the first dose: study day 1."""
    return math.floor(regimen.start_day + _DAY_TOL)


def to_study_days(daily: npt.ArrayLike, regimen: Regimen) -> FloatArray:
    """Daily values (P, D) on model days ``0..D-1`` -> (P, D - first_dose_model_day) on study
    days ``1..`` (the days before the first dose dropped; empty when the horizon ends before
    it)."""
    a = np.asarray(daily, dtype=float)
    d0 = min(first_dose_model_day(regimen), a.shape[1])
    return np.asarray(a[:, d0:], dtype=float)


def treated_days(regimen: Regimen) -> float:
    """Length of the treated period, days from the first dose (module docstring): one dosing
    interval after the end of the last administration, rounded up to whole days."""
    span = regimen.end_day + regimen.dosing_interval_day - regimen.start_day
    return float(math.ceil(span - _DAY_TOL))


def observed_days(regimen: Regimen, horizon_day: float) -> float:
    """Days of the treated period within the horizon: ``min(treated_days, horizon - t_first)``,
    at least 0."""
    return float(max(0.0, min(treated_days(regimen), horizon_day - regimen.start_day)))


def daily_dose_miu(regimen: Regimen, bsa_m2: npt.ArrayLike, n_days: int) -> FloatArray:
    """Flat s.c./i.m. dose injected on each model day ``d`` (``[d, d+1)``), MIU, shape
    (P, n_days) (drives the injection-site reaction)."""
    bsa = np.atleast_1d(np.asarray(bsa_m2, dtype=float))
    out = np.zeros((bsa.size, n_days))
    amounts = regimen.amounts_iu(bsa)  # (P, E)
    for j, ev in enumerate(regimen.events):
        day = math.floor(ev.time_day + _DAY_TOL)
        if ev.route.is_depot and 0 <= day < n_days:
            out[:, day] += units.iu_to_miu(amounts[:, j])
    return out
