"""Records of simulated trials: the per-trial arrays every path fills, and the generic loop's
per-cohort log (levels from 1; 0 = none / not treated in arrays)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.designs.outcomes import Decision, Outcomes

__all__ = ["CohortLog", "SimulatedTrials", "Simulation", "TrialRecord"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
#: The arrays every compiled kernel fills, in its parameter order (``kernel_record``).
KernelRecord = tuple[IntArray, IntArray, IntArray, BoolArray, IntArray, IntArray, IntArray]


@dataclass(frozen=True)
class SimulatedTrials:
    """Per-trial results of simulated trials (T trials, K doses, C cohort slots).

    ``selected`` (T,): selected level (from 1; 0 = no dose); ``n_per_dose``/``dlt_per_dose``
    (T, K): patients and DLTs per level (column 0 = level 1); ``capped`` (T,): the trial ran
    into a cap (else the design stopped it); ``duration_days`` (T,): time of the final decision
    (0 without an accrual process); ``cohort_dose``/``cohort_size``/``cohort_dlt`` (T, C): level,
    patients and DLTs of each cohort in order (level 0 = no such cohort); ``details``: named
    per-trial float arrays a kernel adds (e.g. the CRM's final beta); ``eff_per_dose`` (T, K):
    efficacious patients per level (efficacy-toxicity designs, else None).

    Filled in place by a kernel or the controller, then frozen (read-only arrays).
    """

    selected: IntArray
    n_per_dose: IntArray
    dlt_per_dose: IntArray
    capped: npt.NDArray[np.bool_]
    duration_days: npt.NDArray[np.float64]
    cohort_dose: IntArray
    cohort_size: IntArray
    cohort_dlt: IntArray
    details: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    eff_per_dose: IntArray | None = None
    cohort_eff: IntArray | None = None
    cohort_both: IntArray | None = None

    @classmethod
    def empty(
        cls,
        n_trials: int,
        n_doses: int,
        n_cohorts: int,
        detail_names: tuple[str, ...] = (),
        efficacy: bool = False,
    ) -> SimulatedTrials:
        """Zeroed arrays for ``n_trials`` trials."""
        t, k, c = int(n_trials), int(n_doses), int(n_cohorts)
        return cls(
            selected=np.zeros(t, dtype=np.int64),
            n_per_dose=np.zeros((t, k), dtype=np.int64),
            dlt_per_dose=np.zeros((t, k), dtype=np.int64),
            capped=np.zeros(t, dtype=np.bool_),
            duration_days=np.zeros(t, dtype=np.float64),
            cohort_dose=np.zeros((t, c), dtype=np.int64),
            cohort_size=np.zeros((t, c), dtype=np.int64),
            cohort_dlt=np.zeros((t, c), dtype=np.int64),
            details={name: np.zeros(t, dtype=np.float64) for name in detail_names},
            eff_per_dose=np.zeros((t, k), dtype=np.int64) if efficacy else None,
            cohort_eff=np.zeros((t, c), dtype=np.int64) if efficacy else None,
            cohort_both=np.zeros((t, c), dtype=np.int64) if efficacy else None,
        )

    @property
    def n_trials(self) -> int:
        """Number of trials."""
        return int(self.selected.size)

    @property
    def n_doses(self) -> int:
        """Number of dose levels."""
        return int(self.n_per_dose.shape[1])

    def kernel_record(self) -> KernelRecord:
        """The arrays every compiled kernel fills, in the order of its parameters: selected,
        patients and DLTs per dose, capped, cohort dose, size and DLTs (one helper, so the
        kernels' callers pass ``*out.kernel_record()`` instead of naming each array)."""
        return (
            self.selected, self.n_per_dose, self.dlt_per_dose, self.capped, self.cohort_dose,
            self.cohort_size, self.cohort_dlt,
        )  # fmt: skip

    def rows(self, lo: int, hi: int) -> SimulatedTrials:
        """Trials ``lo..hi-1`` as views (a kernel fills a chunk through them)."""
        return SimulatedTrials(
            self.selected[lo:hi],
            self.n_per_dose[lo:hi],
            self.dlt_per_dose[lo:hi],
            self.capped[lo:hi],
            self.duration_days[lo:hi],
            self.cohort_dose[lo:hi],
            self.cohort_size[lo:hi],
            self.cohort_dlt[lo:hi],
            {k: v[lo:hi] for k, v in self.details.items()},
            None if self.eff_per_dose is None else self.eff_per_dose[lo:hi],
            None if self.cohort_eff is None else self.cohort_eff[lo:hi],
            None if self.cohort_both is None else self.cohort_both[lo:hi],
        )

    def frozen(self) -> SimulatedTrials:
        """The same record with read-only arrays."""
        for arr in (
            self.selected,
            self.n_per_dose,
            self.dlt_per_dose,
            self.capped,
            self.duration_days,
            self.cohort_dose,
            self.cohort_size,
            self.cohort_dlt,
            *self.details.values(),
            *(a for a in (self.eff_per_dose, self.cohort_eff, self.cohort_both) if a is not None),
        ):
            arr.setflags(write=False)
        return self

    def outcomes(self, t: int) -> Outcomes:
        """Trial ``t``'s patients as :class:`Outcomes` (DLTs last within each cohort: the record
        keeps counts per cohort, and no design depends on the order within a cohort)."""
        doses: list[int] = []
        dlts: list[int] = []
        effs: list[int] = []
        cohorts: list[int] = []
        for c in np.flatnonzero(self.cohort_dose[t] > 0).tolist():
            m, y = int(self.cohort_size[t, c]), int(self.cohort_dlt[t, c])
            doses += [int(self.cohort_dose[t, c])] * m
            dlts += [0] * (m - y) + [1] * y
            cohorts += [c + 1] * m
            if self.cohort_eff is not None and self.cohort_both is not None:
                e, b = int(self.cohort_eff[t, c]), int(self.cohort_both[t, c])
                effs += [0] * (m - y - (e - b)) + [1] * (e - b) + [0] * (y - b) + [1] * b
        if self.cohort_eff is None:
            return Outcomes(np.array(doses), np.array(dlts), np.array(cohorts))
        return Outcomes(np.array(doses), np.array(dlts), np.array(cohorts), eff=np.array(effs))


@dataclass(frozen=True)
class CohortLog:
    """One treated cohort: number (from 1), dose level (from 1), DLTs per patient, entry day
    per patient, the decision the design made after seeing them (time-to-event designs: the
    decision that assigned them, made at the first patient's arrival), the source's payload and
    (time-to-event designs) each patient's days from entry to the DLT (``inf`` = none)."""

    number: int
    level: int
    dlt: npt.NDArray[np.int64]
    entry_days: npt.NDArray[np.float64]
    decision: Decision
    payload: Any = None
    dlt_days: npt.NDArray[np.float64] | None = None

    @property
    def size(self) -> int:
        """Patients in the cohort."""
        return int(self.dlt.size)


@dataclass(frozen=True)
class TrialRecord:
    """One trial run by the generic loop: its seed, cohorts, final decision, whether a cap
    ended it (else the design stopped), the time of the final decision and the outcomes."""

    seed: np.random.SeedSequence
    cohorts: tuple[CohortLog, ...]
    final: Decision
    capped: bool
    duration_days: float
    outcomes: Outcomes

    @property
    def selected(self) -> int | None:
        """Selected dose level (from 1), None = no dose."""
        return self.final.mtd


@dataclass(frozen=True)
class Simulation:
    """What a run produced: per-trial arrays of the finished trials, how many were asked for,
    whether it was interrupted, whether the compiled kernel ran, the kernel's summary details
    and (when kept) each generic trial's record."""

    trials: SimulatedTrials
    n_requested: int
    interrupted: bool
    kernel: bool
    details: dict[str, Any] = field(default_factory=dict)
    records: tuple[TrialRecord, ...] = ()

    @property
    def n_trials(self) -> int:
        """Trials finished."""
        return self.trials.n_trials
