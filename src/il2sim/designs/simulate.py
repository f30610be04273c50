"""Operating characteristics by simulation: a Bernoulli truth fed to the one controller.

:func:`simulate_trials` builds a :class:`~il2sim.designs.controller.TrialController` with a
:class:`~il2sim.designs.sources.BernoulliSource` and summarises the run in the one OC schema
(:mod:`il2sim.designs.oc`).  The controller uses the design's compiled kernel when it offers
one (A+B, CRM, BOIN, mTPI-2, i3+3, Keyboard, not wrapped in rules, no arrival process) and the
generic ``fit()`` loop otherwise.  :func:`simulate_trial` runs one trial and returns its record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.designs.base import Design, check_target
from il2sim.designs.controller import Accrual, Progress, TrialController, TrialRecord
from il2sim.designs.kernels import Caps
from il2sim.designs.oc import OperatingCharacteristics, summarise
from il2sim.designs.sources import BernoulliSource
from il2sim.errors import DesignError

__all__ = ["Arrival", "simulate_trial", "simulate_trials"]

#: ``arrival(rng, n) -> n`` gaps in days to each patient's entry (the first from the decision).
Arrival = Callable[[np.random.Generator, int], npt.NDArray[np.float64]]


def _target(design: Design, target: float | None) -> float | None:
    tgt = target if target is not None else getattr(design, "target", None)
    return None if tgt is None else check_target(tgt)


def simulate_trials(
    design: Design,
    truth: Any,
    n_trials: int,
    seed: int | np.random.SeedSequence,
    max_cohorts: int | None = None,
    max_patients: int | None = None,
    target: float | None = None,
    arrival: Arrival | None = None,
    use_kernel: bool = True,
    progress: Progress | None = None,
    workers: int = 1,
    chunk_trials: int | None = None,
    truth_eff: Any = None,
) -> OperatingCharacteristics:
    """Operating characteristics of ``design`` over ``n_trials`` seeded trials.

    ``truth``: DLT probability per dose level; ``max_cohorts``/``max_patients``: caps per trial
    (the CRM and the interval designs need one); ``target`` (or the design's own) defines
    overdosing; ``arrival`` adds entry times and ``mean_duration_days`` (generic loop);
    ``use_kernel=False`` forces the generic loop; ``progress(done, total)`` is called as trials
    finish; ``workers`` threads run kernel chunks; ``truth_eff``: efficacy probability per
    level (efficacy-toxicity designs, drawn independently of the DLT).  Ctrl-C returns the
    finished trials
    (``interrupted`` True).  The same seed gives the same numbers whatever ``workers`` and
    ``chunk_trials``.
    """
    eff = () if truth_eff is None else tuple(np.asarray(truth_eff, dtype=float).ravel().tolist())
    if design.uses_efficacy and not eff:
        raise DesignError(f"{design.name} needs the true efficacy per dose", field="truth_eff")
    src = BernoulliSource(tuple(np.asarray(truth, dtype=float).ravel().tolist()), eff)
    caps = Caps(max_cohorts, max_patients)
    acc = Accrual(arrival) if arrival is not None else None
    ctl = TrialController(design, src, caps, acc, use_kernel, chunk_trials, workers)
    tgt = _target(design, target)
    sim = ctl.run(n_trials, seed, progress)
    return summarise(
        sim.trials,
        design=design.name,
        truth=src.truth(),
        target=tgt,
        cohort_size=design.cohort_size,
        caps=caps,
        seed=int(seed) if not isinstance(seed, np.random.SeedSequence) else None,
        n_requested=sim.n_requested,
        interrupted=sim.interrupted,
        with_duration=acc is not None or design.time_to_event,
        details=sim.details,
    )


def simulate_trial(
    design: Design,
    truth: Any,
    seed: int | np.random.SeedSequence,
    max_cohorts: int | None = None,
    max_patients: int | None = None,
    arrival: Arrival | None = None,
) -> TrialRecord:
    """One trial by the controller's generic loop, with its own seed (see
    :meth:`~il2sim.designs.controller.TrialController.run_one`)."""
    src = BernoulliSource(tuple(np.asarray(truth, dtype=float).ravel().tolist()))
    acc = Accrual(arrival) if arrival is not None else None
    ctl = TrialController(design, src, Caps(max_cohorts, max_patients), acc, use_kernel=False)
    return ctl.run_one(seed)
