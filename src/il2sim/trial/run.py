"""One in-silico dose-finding trial: model-simulated cohorts fed to the one controller.

:class:`ModelCohortSource` is the controller's patient source for in-silico trials: each cohort
is simulated through the whole schedule in one batch (:func:`il2sim.trial.cohort.simulate_cohort`)
and the design sees the cohort's DLTs (first ``dlt_window_day`` days).  The loop itself --
refit, caps, next dose -- is :class:`il2sim.designs.TrialController`'s, the same loop as
``il2sim design simulate``.  Patients of a cohort enter ``enrol_gap_day`` apart from the
decision on; the next decision is when the last has completed the DLT window
(:class:`~il2sim.designs.Accrual`).  Every enrolled patient is simulated through all treatment
days, with the dose modification their DLT triggers.  Time-to-event designs (TITE-CRM,
TITE-BOIN, BF-BOIN) see each DLT at its time from the model: onset on study day d, known d days
after the patient's first dose (within the trial's DLT window), not a draw from the design's
DLT-time distribution; their own accrual process times the arrivals.

Seeds: trial seed ``S`` (``SeedSequence(seed)`` for :func:`run_trial`) has child 0 for
measurement noise and child 1 for the cohorts, which has one child per cohort in order (each
spawning the model population and the toxicity effects), so the same seed gives the same trial
and the same files.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from il2sim._interrupt import interruptible
from il2sim.designs import (
    Accrual,
    Caps,
    CohortDraw,
    Decision,
    Design,
    Outcomes,
    PatientSource,
    TrialController,
    TrialRecord,
    fixed_gaps,
)
from il2sim.designs.controller import INTERRUPTED, Progress, trial_seed
from il2sim.errors import DesignError, InputError
from il2sim.trial.cohort import CohortResult
from il2sim.trial.efficacy import EfficacyDefinition
from il2sim.trial.schedule import Schedule
from il2sim.trial.settings import CohortSettings

__all__ = [
    "CohortRecord",
    "ModelCohortSource",
    "Trial",
    "check_doses",
    "model_source",
    "run_trial",
    "run_trials",
    "trial_from",
]

#: Default cap on patients of one in-silico trial.
DEFAULT_MAX_PATIENTS = 200


def check_doses(doses_miu_per_m2: Sequence[float]) -> tuple[float, ...]:
    """Validate dose levels: positive, strictly increasing (MIU/m2/day)."""
    d = tuple(float(x) for x in doses_miu_per_m2)
    if not d:
        raise InputError("needs at least one dose level", field="doses")
    if any(not np.isfinite(x) or x <= 0 for x in d):
        raise InputError(f"must be positive, got {list(d)}", field="doses")
    if any(b <= a for a, b in itertools.pairwise(d)):
        raise InputError(f"must be strictly increasing, got {list(d)}", field="doses")
    return d


@dataclass(frozen=True)
class CohortRecord:
    """One enrolled cohort: its number (from 1), dose level (from 1), dose, enrolment day of its
    first patient (calendar day of the trial), the simulated patients and the decision the
    design made after seeing their DLTs."""

    cohort: int
    level: int
    dose_miu_per_m2: float
    start_day: float
    result: CohortResult
    decision: Decision

    @property
    def n(self) -> int:
        """Patients in the cohort."""
        return self.result.n

    @property
    def n_dlt(self) -> int:
        """DLTs in the cohort."""
        return int(self.result.dlt.dlt.sum())

    @property
    def n_responders(self) -> int:
        """Patients meeting the efficacy definition (0 without one)."""
        r = self.result.responder
        return 0 if r is None else int(r.sum())


@dataclass(frozen=True)
class Trial:
    """A finished in-silico trial."""

    design: str
    doses_miu_per_m2: tuple[float, ...]
    cohorts: tuple[CohortRecord, ...]
    final: Decision
    seed: int
    schedule: Schedule
    neutralising: bool = False
    study_id: str = "IL2SIM"
    noise_seed: np.random.SeedSequence = field(
        default_factory=lambda: np.random.SeedSequence(0), compare=False
    )
    efficacy: EfficacyDefinition | None = None

    @property
    def mtd_level(self) -> int | None:
        """Selected MTD level (from 1), None = no dose acceptable."""
        return self.final.mtd

    @property
    def mtd_miu_per_m2(self) -> float | None:
        """Selected MTD, MIU/m2/day."""
        m = self.mtd_level
        return self.doses_miu_per_m2[m - 1] if m else None

    @property
    def n_patients(self) -> int:
        """Patients treated."""
        return sum(c.n for c in self.cohorts)

    @property
    def n_dlt(self) -> int:
        """DLTs observed."""
        return sum(c.n_dlt for c in self.cohorts)

    def outcomes(self) -> Outcomes:
        """Per-patient (dose level, DLT, cohort) as the design saw them."""
        none = [np.zeros(0, dtype=np.int64)]
        return Outcomes(
            np.concatenate(none + [np.full(c.n, c.level, dtype=np.int64) for c in self.cohorts]),
            np.concatenate(none + [c.result.dlt.dlt.astype(np.int64) for c in self.cohorts]),
            np.concatenate(none + [np.full(c.n, c.cohort, dtype=np.int64) for c in self.cohorts]),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (keys in ``docs/json.md``, ``il2sim trial``)."""
        nd = len(self.doses_miu_per_m2)
        o = self.outcomes()
        return {
            "design": self.design,
            "seed": self.seed,
            "doses_miu_per_m2": list(self.doses_miu_per_m2),
            "mtd_level": self.mtd_level,
            "mtd_miu_per_m2": self.mtd_miu_per_m2,
            "n_patients": self.n_patients,
            "n_dlts": self.n_dlt,
            "patients_per_dose": o.n_per_dose(nd).tolist(),
            "dlts_per_dose": o.dlt_per_dose(nd).tolist(),
            "outcomes": o.to_string(),
            "stop_reason": self.final.reason,
            "schedule": self.schedule.to_dict(),
            "interrupted": self.interrupted,
            "n_cohorts": len(self.cohorts),
        } | ({} if self.efficacy is None else {"efficacy": self.efficacy_summary()})

    def efficacy_summary(self) -> dict[str, Any]:
        """The efficacy definition, responders and rate overall and per dose level
        (``docs/json.md``, ``efficacy``); requires an efficacy definition."""
        assert self.efficacy is not None
        nd = len(self.doses_miu_per_m2)
        n = np.zeros(nd, dtype=np.int64)
        r = np.zeros(nd, dtype=np.int64)
        for c in self.cohorts:
            n[c.level - 1] += c.n
            r[c.level - 1] += c.n_responders
        rate = [float(a / b) if b else None for a, b in zip(r, n, strict=True)]
        tot = int(n.sum())
        return self.efficacy.to_dict() | {
            "n_responders": int(r.sum()),
            "response_rate": float(r.sum() / tot) if tot else None,
            "responders_per_dose": r.tolist(),
            "response_rate_per_dose": rate,
        }

    @property
    def interrupted(self) -> bool:
        """True if a Ctrl-C ended the trial: only the cohorts that finished are in it."""
        return self.final.reason == INTERRUPTED


@dataclass(frozen=True)
class ModelCohortSource(PatientSource):
    """Patients simulated by the model, cohort by cohort, at ``doses_miu_per_m2`` (level j + 1 =
    ``doses[j]``, MIU/m2/day s.c. daily) with ``settings`` (resolved: toxicity table and DLT
    definition filled in); the payload of a cohort is its :class:`CohortResult`."""

    doses_miu_per_m2: tuple[float, ...]
    settings: CohortSettings = field(default_factory=lambda: CohortSettings().resolved())

    @property
    def n_doses(self) -> int:
        """Number of dose levels."""
        return len(self.doses_miu_per_m2)

    @property
    def schedule(self) -> Schedule:
        """The treatment schedule."""
        return self.settings.schedule

    def trial(self, seed: np.random.SeedSequence, rng: np.random.Generator) -> _ModelTrial:
        """Cohort ``k`` of the trial is seeded by child ``k`` of the trial seed's child 1."""
        return _ModelTrial(self, trial_seed(seed, 1))

    def accrual(self) -> Accrual:
        """Patients ``enrol_gap_day`` apart from the decision; decide after the DLT window."""
        sch = self.schedule
        return Accrual(fixed_gaps(sch.enrol_gap_day), float(sch.dlt_window_day))


@dataclass(frozen=True)
class _ModelTrial:
    source: ModelCohortSource
    cohort_root: np.random.SeedSequence

    def draw(self, level: int, size: int, cohort: int) -> CohortDraw:
        src = self.source
        pop, eff = src.settings.sample_cohort(size, trial_seed(self.cohort_root, cohort))
        res = src.settings.simulate_cohort(src.doses_miu_per_m2[level - 1], pop, eff)
        resp = None if res.responder is None else res.responder.astype(np.int64)
        # DLT times from the model: a DLT with onset on study day d is known at the end of
        # that day, d days after the first dose (time-to-event designs use them; others not)
        days = np.where(res.dlt.dlt, res.dlt.day.astype(float), np.inf)
        return CohortDraw(res.dlt.dlt.astype(np.int64), payload=res, dlt_days=days, eff=resp)


def trial_from(
    record: TrialRecord, source: ModelCohortSource, design: str, seed: int, study_id: str
) -> Trial:
    """The :class:`Trial` of a controller record whose cohorts came from ``source``."""
    doses = source.doses_miu_per_m2
    cohorts = tuple(
        CohortRecord(
            c.number, c.level, doses[c.level - 1], float(c.entry_days[0]), c.payload, c.decision
        )
        for c in record.cohorts
    )
    return Trial(
        design=design,
        doses_miu_per_m2=doses,
        cohorts=cohorts,
        final=record.final,
        seed=seed,
        schedule=source.schedule,
        neutralising=source.settings.neutralising,
        study_id=study_id,
        noise_seed=trial_seed(record.seed, 0),
        efficacy=source.settings.efficacy,
    )


def model_source(
    design: Design, doses_miu_per_m2: Sequence[float], settings: CohortSettings | None = None
) -> ModelCohortSource:
    """Validated :class:`ModelCohortSource` for ``design`` (doses increasing, one per level);
    an efficacy-toxicity design needs ``settings.efficacy`` (the model-defined response it
    sees)."""
    doses = check_doses(doses_miu_per_m2)
    if design.n_doses != len(doses):
        raise DesignError(
            f"design has {design.n_doses} levels but {len(doses)} doses were given",
            field="doses",
        )
    st = settings or CohortSettings()
    if st.efficacy is not None:
        st.efficacy.check_day(st.schedule.n_treatment_days)
    elif design.uses_efficacy:
        raise DesignError(
            f"design {design.name} needs an efficacy definition (e.g. nk_fold>=3@day56)",
            field="efficacy",
        )
    return ModelCohortSource(doses, st.resolved())


def _controller(
    design: Design, doses_miu_per_m2: Sequence[float], settings: CohortSettings | None,
    max_patients: int,
) -> tuple[TrialController, ModelCohortSource]:  # fmt: skip
    src = model_source(design, doses_miu_per_m2, settings)
    return TrialController(design, src, Caps(max_patients=max_patients), src.accrual()), src


def run_trial(
    design: Design,
    doses_miu_per_m2: Sequence[float],
    seed: int,
    settings: CohortSettings | None = None,
    max_patients: int = DEFAULT_MAX_PATIENTS,
    study_id: str = "IL2SIM",
) -> Trial:
    """Run one in-silico trial of ``design`` over ``doses_miu_per_m2`` (MIU/m2/day, daily s.c.).

    ``settings``: how patients are simulated (:class:`~il2sim.trial.settings.CohortSettings`;
    default: packaged model and toxicity table); ``max_patients``: cap on enrolment (the
    controller's hard cap on cohorts applies too).
    """
    ctl, src = _controller(design, doses_miu_per_m2, settings, max_patients)
    with interruptible() as stop:  # a Ctrl-C ends the trial after the cohort in hand
        rec = ctl.run_one(np.random.SeedSequence(seed), stop)
    if rec.final.reason == INTERRUPTED and not rec.cohorts:
        raise KeyboardInterrupt  # stopped before a cohort finished: nothing to keep
    return trial_from(rec, src, design.name, seed, study_id)


def run_trials(
    design: Design,
    doses_miu_per_m2: Sequence[float],
    seeds: Sequence[int],
    settings: CohortSettings | None = None,
    max_patients: int = DEFAULT_MAX_PATIENTS,
    study_id: str = "IL2SIM",
    progress: Progress | None = None,
) -> list[Trial]:
    """Whole in-silico trials, one per integer seed (trial ``i`` is ``run_trial(..., seeds[i])``),
    in one controller run (progress, interruption: the finished trials are returned)."""
    ctl, src = _controller(design, doses_miu_per_m2, settings, max_patients)
    sim = ctl.run(
        len(seeds), [np.random.SeedSequence(int(s)) for s in seeds], progress, keep_records=True
    )
    return [
        trial_from(rec, src, design.name, int(s), study_id)
        for rec, s in zip(sim.records, seeds, strict=False)
    ]
