"""The enrolment loop: one in-silico dose-finding trial.

Patients enrol in cohorts of the size the design asks for; each cohort is simulated through the
whole schedule in one batch (:func:`il2sim.trial.cohort.simulate_cohort`); the design sees the
cohort's DLTs (first ``dlt_window_day`` days) and decides; the next cohort starts when the last
patient of the previous one has completed the DLT window.  Every enrolled patient is simulated
through all treatment days, with the dose modification their DLT triggers.

Seeds: ``SeedSequence(seed)`` spawns one child per cohort (in cohort order; each child spawns
the model population and the toxicity effects) and one child for measurement noise, so the same
seed gives the same trial and the same files.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from il2sim.designs.base import Decision, Design, Outcomes
from il2sim.errors import DesignError, InputError
from il2sim.toxicity import DLTDefinition, ToxicityParameters, load_toxicity_parameters
from il2sim.trial.cohort import CohortResult, sample_cohort_inputs, simulate_cohort
from il2sim.trial.schedule import DoseModification, Schedule

__all__ = ["CohortRecord", "Trial", "check_doses", "run_trial"]

#: Hard cap on cohorts of one trial (STYLE.md: the simulator has a hard cap).
MAX_COHORTS = 200


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
        out = Outcomes()
        for c in self.cohorts:
            out = out.add_cohort(c.level, c.result.dlt.dlt.astype(np.int64))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        nd = len(self.doses_miu_per_m2)
        o = self.outcomes()
        return {
            "design": self.design,
            "seed": self.seed,
            "doses_miu_per_m2": list(self.doses_miu_per_m2),
            "mtd_level": self.mtd_level,
            "mtd_miu_per_m2": self.mtd_miu_per_m2,
            "n_patients": self.n_patients,
            "n_dlt": self.n_dlt,
            "patients_per_level": o.n_per_dose(nd).tolist(),
            "dlts_per_level": o.dlt_per_dose(nd).tolist(),
            "outcomes": o.to_string(),
            "stop_reason": self.final.reason,
            "schedule": self.schedule.to_dict(),
        }


def run_trial(
    design: Design,
    doses_miu_per_m2: Sequence[float],
    seed: int,
    parameters: Any = None,
    tox: ToxicityParameters | None = None,
    schedule: Schedule | None = None,
    dlt: DLTDefinition | None = None,
    modification: DoseModification | None = None,
    neutralising: bool = False,
    max_patients: int = 200,
    study_id: str = "IL2SIM",
) -> Trial:
    """Run one in-silico trial of ``design`` over ``doses_miu_per_m2`` (MIU/m2/day, daily s.c.).

    ``parameters``: the model's parameter set (default: packaged); ``tox``: toxicity table
    (default: packaged); ``max_patients``: hard cap on enrolment.
    """
    doses = check_doses(doses_miu_per_m2)
    if design.n_doses != len(doses):
        raise DesignError(
            f"design has {design.n_doses} levels but {len(doses)} doses were given",
            field="doses",
        )
    t = tox or load_toxicity_parameters()
    sch = schedule or Schedule()
    d_def = dlt or DLTDefinition(window_day=sch.dlt_window_day)
    ss = np.random.SeedSequence(seed)
    noise_ss, cohort_root = ss.spawn(2)
    out = Outcomes()
    dec = design.fit(out).decision()
    records: list[CohortRecord] = []
    day = 0.0
    while not dec.stop and len(records) < MAX_COHORTS and out.n_patients < max_patients:
        level = dec.next_dose
        if level is None or not 1 <= level <= len(doses):
            raise DesignError(f"design recommended dose {level!r} while continuing", field="design")
        size = min(int(dec.cohort_size or design.cohort_size), max_patients - out.n_patients)
        child = np.random.SeedSequence(
            cohort_root.entropy, spawn_key=(*cohort_root.spawn_key, len(records))
        )
        pop, eff = sample_cohort_inputs(size, child, t, parameters)
        res = simulate_cohort(
            doses[level - 1], pop, eff, t, parameters, sch, d_def, modification, neutralising
        )
        out = out.add_cohort(level, res.dlt.dlt.astype(np.int64))
        dec = design.fit(out).decision()
        records.append(CohortRecord(len(records) + 1, level, doses[level - 1], day, res, dec))
        day += (size - 1) * sch.enrol_gap_day + sch.dlt_window_day
    final = dec if dec.stop else design.fit(out).decision()
    return Trial(
        design=design.name,
        doses_miu_per_m2=doses,
        cohorts=tuple(records),
        final=final,
        seed=seed,
        schedule=sch,
        neutralising=neutralising,
        study_id=study_id,
        noise_seed=noise_ss,
    )
