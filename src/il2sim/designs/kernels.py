"""Compiled simulation kernels: the caps they obey, the typed record they fill, their interface.

A design may offer a compiled (numba) simulator of trials with Bernoulli patients through
:meth:`il2sim.designs.base.Design.kernel`.  The controller (:mod:`il2sim.designs.controller`)
owns everything around it -- caps, seeding, chunking, progress, interruption -- and calls
:meth:`Kernel.run` on chunks of trials with a matrix of uniforms (one row per trial, one column
per patient slot: patient ``k`` of a trial has a DLT when ``u[k] < truth[dose - 1]``).  The
kernel writes each trial into a :class:`~il2sim.designs.records.SimulatedTrials` record; the
generic ``fit()`` loop of the controller fills the same record, so one summariser serves both.

Dose levels in the record are numbered from 1 (0 = none / not treated).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.designs.records import SimulatedTrials
from il2sim.errors import DesignError

__all__ = ["F64", "HARD_CAP_COHORTS", "UNBOUNDED_PATIENTS", "Caps", "Kernel", "SimulatedTrials"]

#: Float array (truth per dose, the uniforms of :meth:`Kernel.run`).
F64 = npt.NDArray[np.float64]

#: Hard cap on cohorts per trial: a trial that reaches it ends as capped (STYLE.md: "the
#: simulator has a hard cap").  One value for every design, simulated or in silico.
HARD_CAP_COHORTS = 1000
#: Stand-in for "no cap on patients" (the cohort cap bounds them anyway).
UNBOUNDED_PATIENTS = 1 << 30


def _check_cap(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise DesignError(f"must be an integer >= 1, got {value!r}", field=name, value=value)
    return int(value)


@dataclass(frozen=True)
class Caps:
    """Caps on one trial: ``max_cohorts`` and ``max_patients`` as the user gave them (None =
    none).  No cohort starts once either is reached; the last cohort is cut to fit
    ``max_patients``.  :attr:`cohorts` is never above :data:`HARD_CAP_COHORTS`."""

    max_cohorts: int | None = None
    max_patients: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_cohorts", _check_cap("max_cohorts", self.max_cohorts))
        object.__setattr__(self, "max_patients", _check_cap("max_patients", self.max_patients))

    @property
    def cohorts(self) -> int:
        """Cohort cap in force (the hard cap when none was given)."""
        c = self.max_cohorts if self.max_cohorts is not None else HARD_CAP_COHORTS
        return min(c, HARD_CAP_COHORTS)

    @property
    def patients(self) -> int:
        """Patient cap in force (:data:`UNBOUNDED_PATIENTS` when none was given)."""
        return self.max_patients if self.max_patients is not None else UNBOUNDED_PATIENTS

    @property
    def given(self) -> bool:
        """True when the user gave a cap (a sample size)."""
        return self.max_cohorts is not None or self.max_patients is not None


class Kernel(ABC):
    """A design's compiled simulator of trials with Bernoulli patients.

    Implementations hold the design's precomputed tables.  :meth:`run` must give, trial by
    trial, the decisions of ``design.fit(outcomes).decision()`` under the same caps (tested by
    replaying every kernel through ``fit()``), read patient ``k``'s uniform from ``u[t, k]``, and
    never draw random numbers itself.
    """

    #: Names of the per-trial float outputs the kernel writes into ``details``.
    detail_names: tuple[str, ...] = ()

    @abstractmethod
    def patient_slots(self, caps: Caps) -> int:
        """Uniforms needed per trial: an upper bound on patients under ``caps``."""

    def cohort_slots(self, caps: Caps) -> int:
        """Columns of the cohort record: an upper bound on cohorts under ``caps``."""
        return min(caps.cohorts, self.patient_slots(caps))

    @abstractmethod
    def run(self, truth: F64, u: F64, caps: Caps, out: SimulatedTrials) -> None:
        """Simulate ``u.shape[0]`` trials into ``out`` (zeroed views of the same length)."""

    def summary_details(self, trials: SimulatedTrials) -> dict[str, Any]:
        """Design-specific summaries for the OC ``details`` (default: none)."""
        return {}
