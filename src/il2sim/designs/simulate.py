"""Seeded trial simulator for any :class:`Design`, including designs wrapped in rules.

The generic loop refits the design after each cohort (``design.fit(outcomes).decision()``),
treats the next cohort at the recommended dose with the recommended cohort size, and stops when
the design says so or at a hard cap on cohorts/patients.  When the design is not wrapped in
rules and its module defines a fast ``simulate_oc(design, truth, n_trials, seed, max_patients,
max_cohorts)`` (numba), :func:`simulate_trials` dispatches to it.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.designs.ab import summarise
from il2sim.designs.base import Design, OperatingCharacteristics, Outcomes, check_truth
from il2sim.designs.rules import Rule
from il2sim.errors import DesignError

__all__ = ["HARD_CAP_COHORTS", "TrialResult", "fast_simulator", "simulate_trial", "simulate_trials"]

#: Hard cap on cohorts per simulated trial when no smaller cap is given.
HARD_CAP_COHORTS = 1000

#: ``arrival(rng, n) -> n`` gaps in days between successive patients' arrivals.
Arrival = Callable[[np.random.Generator, int], npt.NDArray[np.float64]]


@dataclass(frozen=True)
class TrialResult:
    """One simulated trial: outcomes, selected MTD (None = none) and whether the design stopped.

    ``stopped_by_design`` is False when the cap on cohorts/patients ended the trial;
    ``duration_day`` is the time from the first to the last arrival (0 without arrivals).
    """

    outcomes: Outcomes
    mtd: int | None
    stopped_by_design: bool
    n_cohorts: int
    duration_day: float = 0.0


def simulate_trial(
    design: Design,
    truth: npt.NDArray[np.float64],
    rng: np.random.Generator,
    max_cohorts: int | None = None,
    max_patients: int | None = None,
    arrival: Arrival | None = None,
) -> TrialResult:
    """Simulate one trial; patient DLTs are Bernoulli(truth[dose - 1]) draws from ``rng``."""
    cap_c = min(max_cohorts if max_cohorts is not None else HARD_CAP_COHORTS, HARD_CAP_COHORTS)
    cap_n = max_patients if max_patients is not None else 1 << 30
    out = Outcomes()
    duration = 0.0
    k = 0
    while True:
        dec = design.fit(out).decision()
        if dec.stop:
            return TrialResult(out, dec.mtd, True, k, duration)
        if k >= cap_c or out.n_patients >= cap_n:
            return TrialResult(out, dec.mtd, False, k, duration)
        dose = dec.next_dose
        if dose is None or not (1 <= dose <= design.n_doses):
            raise DesignError(f"design recommended dose {dose!r} while continuing", field="design")
        size = dec.cohort_size or design.cohort_size
        size = min(size, cap_n - out.n_patients)
        if arrival is not None:
            duration += float(np.sum(arrival(rng, size)))
        y = (rng.random(size) < truth[dose - 1]).astype(np.int64)
        out = out.add_cohort(dose, y)
        k += 1


def fast_simulator(design: Design) -> Callable[..., OperatingCharacteristics] | None:
    """The design module's ``simulate_oc`` when the design is not wrapped in rules."""
    if isinstance(design, Rule):
        return None
    mod = sys.modules.get(type(design).__module__)
    fn = getattr(mod, "simulate_oc", None) if mod is not None else None
    return fn if callable(fn) else None


def simulate_trials(
    design: Design,
    truth: Any,
    n_trials: int,
    seed: int,
    max_cohorts: int | None = None,
    max_patients: int | None = None,
    target: float | None = None,
    arrival: Arrival | None = None,
    use_fast: bool = True,
    progress: bool = False,
) -> OperatingCharacteristics:
    """Operating characteristics over ``n_trials`` seeded trials.

    Trial ``i`` draws from ``default_rng(SeedSequence(seed).spawn(n_trials)[i])`` in the
    generic loop, so each trial is reproducible on its own.  ``target`` (or the design's own)
    defines overdosing: patients at doses with truth > target.  ``stopped_early_pct`` is the %
    of trials the design stopped before the cap.  MC standard errors are in ``extras``.
    ``progress`` shows a rich progress bar on stderr; Ctrl-C returns what finished.
    """
    p = check_truth(truth)
    if p.size != design.n_doses:
        raise DesignError(f"has {p.size} doses but the design has {design.n_doses}", field="truth")
    if int(n_trials) < 1:
        raise DesignError(f"must be >= 1, got {n_trials}", field="trials")
    tgt = target if target is not None else getattr(design, "target", None)
    fast = fast_simulator(design) if (use_fast and arrival is None) else None
    if fast is not None:
        kw: dict[str, Any] = {"max_patients": max_patients, "max_cohorts": max_cohorts}
        if "target" in inspect.signature(fast).parameters:
            kw["target"] = tgt
        return fast(design, p, int(n_trials), int(seed), **kw)
    nd = design.n_doses
    npd = np.zeros((n_trials, nd), dtype=np.int64)
    ypd = np.zeros((n_trials, nd), dtype=np.int64)
    mtd = np.zeros(n_trials, dtype=np.int64)
    stopped = np.zeros(n_trials, dtype=bool)
    durations = np.zeros(n_trials)
    seqs = np.random.SeedSequence(seed).spawn(int(n_trials))
    done = 0
    bar: Any = None
    try:
        if progress:
            from rich.console import Console
            from rich.progress import Progress

            bar = Progress(console=Console(stderr=True), transient=True)
            bar.start()
            task = bar.add_task("simulating trials", total=n_trials)
        for i in range(int(n_trials)):
            res = simulate_trial(
                design, p, np.random.default_rng(seqs[i]), max_cohorts, max_patients, arrival
            )
            npd[i] = res.outcomes.n_per_dose(nd)
            ypd[i] = res.outcomes.dlt_per_dose(nd)
            mtd[i] = res.mtd or 0
            stopped[i] = res.stopped_by_design
            durations[i] = res.duration_day
            done += 1
            if bar is not None and (i % 50 == 0 or i == n_trials - 1):
                bar.update(task, completed=done)
    except KeyboardInterrupt:
        if done == 0:
            raise
    finally:
        if bar is not None:
            bar.stop()
    extras: dict[str, Any] = {"completed_trials": done, "interrupted": done < n_trials}
    if arrival is not None:
        extras["mean_duration_day"] = float(durations[:done].mean())
    return summarise(
        design.name,
        p,
        npd[:done],
        ypd[:done],
        mtd[:done],
        stopped[:done],
        tgt,
        "simulation",
        done,
        int(seed),
        extras,
    )
