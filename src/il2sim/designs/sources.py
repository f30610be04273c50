"""Patient sources: where the controller's patients (and their DLTs) come from.

A :class:`PatientSource` is immutable configuration; :meth:`PatientSource.trial` gives the
per-trial drawer (its random state) from the trial's seed and generator, and the drawer's
``draw(level, size, cohort)`` returns the cohort's DLTs and an optional payload the controller
keeps with the cohort.  Three sources feed the one controller:

- :class:`BernoulliSource`: DLT ~ Bernoulli(truth[level - 1]) -- operating characteristics.
  Only this source can run a design's compiled kernel.
- :class:`PoolSource`: patients resampled without replacement from per-level pools of
  simulated patients (``il2sim trial --trials``; the pools come from :mod:`il2sim.trial`).
- ``il2sim.trial.run.ModelCohortSource``: each cohort simulated by the mechanistic model.

Sources know dose levels (from 1) and outcomes only, nothing of IL-2.  :class:`Accrual` says
when the patients enter (and when the design may decide).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from il2sim.designs.base import check_truth
from il2sim.errors import DesignError, InputError

__all__ = [
    "Accrual",
    "BernoulliSource",
    "CohortDraw",
    "Gaps",
    "PatientSource",
    "PoolSource",
    "TrialPatients",
    "fixed_gaps",
]

#: ``gaps(rng, n) -> n`` days to each patient's entry (see :class:`Accrual`).
Gaps = Callable[[np.random.Generator, int], npt.NDArray[np.float64]]


@dataclass(frozen=True)
class CohortDraw:
    """A cohort's DLTs (0/1 per patient, in enrolment order), the source's payload and,
    optionally, each patient's days from the first dose to the DLT (``inf`` = none; a
    time-to-event design draws them from its own distribution when the source gives none)."""

    dlt: npt.NDArray[np.int64]
    payload: Any = None
    dlt_days: npt.NDArray[np.float64] | None = None
    eff: npt.NDArray[np.int64] | None = None


class TrialPatients(Protocol):
    """The patients of one trial (stateful within the trial)."""

    def draw(self, level: int, size: int, cohort: int) -> CohortDraw:
        """``size`` patients at dose ``level`` (from 1) for cohort number ``cohort`` (from 0)."""
        ...


class PatientSource(ABC):
    """Immutable description of where patients come from."""

    @property
    @abstractmethod
    def n_doses(self) -> int:
        """Number of dose levels."""

    @abstractmethod
    def trial(self, seed: np.random.SeedSequence, rng: np.random.Generator) -> TrialPatients:
        """The patients of one trial with seed ``seed`` (``rng = default_rng(seed)``)."""

    def truth(self) -> npt.NDArray[np.float64] | None:
        """Marginal DLT probability per level (None when unknown)."""
        return None


@dataclass(frozen=True)
class BernoulliSource(PatientSource):
    """Independent patients with DLT probability ``truth[level - 1]`` and, when
    ``eff_probabilities`` are given, efficacy drawn independently of the DLT (after it)."""

    probabilities: tuple[float, ...]
    eff_probabilities: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        p = check_truth(self.probabilities)
        object.__setattr__(self, "probabilities", tuple(float(v) for v in p))
        if self.eff_probabilities:
            q = check_truth(self.eff_probabilities)
            if q.size != p.size:
                raise DesignError(
                    f"has {q.size} doses but the toxicity truth has {p.size}", field="truth_eff"
                )
            object.__setattr__(self, "eff_probabilities", tuple(float(v) for v in q))

    @property
    def n_doses(self) -> int:
        """Number of dose levels."""
        return len(self.probabilities)

    def truth(self) -> npt.NDArray[np.float64]:
        """The true DLT probabilities."""
        return np.asarray(self.probabilities, dtype=float)

    def trial(self, seed: np.random.SeedSequence, rng: np.random.Generator) -> TrialPatients:
        """Draws ``rng.random(size) < truth[level - 1]`` per cohort (then efficacy alike)."""
        q = np.asarray(self.eff_probabilities, dtype=float) if self.eff_probabilities else None
        return _BernoulliTrial(self.truth(), rng, q)


@dataclass
class _BernoulliTrial:
    p: npt.NDArray[np.float64]
    rng: np.random.Generator
    q: npt.NDArray[np.float64] | None = None

    def draw(self, level: int, size: int, cohort: int) -> CohortDraw:
        y = (self.rng.random(size) < self.p[level - 1]).astype(np.int64)
        if self.q is None:
            return CohortDraw(y)
        return CohortDraw(y, eff=(self.rng.random(size) < self.q[level - 1]).astype(np.int64))


@dataclass(frozen=True)
class PoolSource(PatientSource):
    """Patients drawn from per-level pools (``pools[j]`` = level ``j + 1``).

    Each trial takes a level's patients in the order of a random permutation of its pool (one
    per level, drawn from the trial's generator when the level is first used), so a patient
    appears at most once per trial until the pool is used up; then a fresh permutation starts.
    ``dlt_draw="probability"``: each drawn patient's DLT is a fresh Bernoulli draw with that
    patient's DLT probability (``dlt_prob``); ``"realised"``: the pool patient's own DLT
    (``dlt``).  The payload of a cohort is the pool indices of its patients.  With
    ``responder`` (one boolean array per level), a drawn patient's efficacy outcome is the pool
    patient's own response (the model's efficacy endpoint), as efficacy-toxicity designs see it.
    """

    dlt_prob: tuple[npt.NDArray[np.float64], ...]
    dlt: tuple[npt.NDArray[np.bool_], ...] = field(default=())
    dlt_draw: str = "probability"
    responder: tuple[npt.NDArray[np.bool_], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.responder and len(self.responder) != len(self.dlt_prob):
            raise DesignError("efficacy needs one responder array per level", field="pools")
        if self.dlt_draw not in ("probability", "realised"):
            raise InputError(
                f"must be probability or realised, got {self.dlt_draw!r}",
                field="dlt_draw",
                value=self.dlt_draw,
            )
        if not self.dlt_prob:
            raise DesignError("needs at least one dose level", field="pools")
        sizes = {int(np.asarray(p).size) for p in self.dlt_prob}
        if len(sizes) != 1 or 0 in sizes:
            raise DesignError(
                f"must be non-empty and equal in size, got {sorted(sizes)}", field="pools"
            )
        if self.dlt_draw == "realised" and len(self.dlt) != len(self.dlt_prob):
            raise DesignError("realised DLTs need one DLT array per level", field="pools")

    @property
    def n_doses(self) -> int:
        """Number of dose levels."""
        return len(self.dlt_prob)

    @property
    def pool_size(self) -> int:
        """Patients per level."""
        return int(np.asarray(self.dlt_prob[0]).size)

    def truth(self) -> npt.NDArray[np.float64]:
        """Marginal DLT probability per level: the pool mean of what a drawn patient's DLT
        follows (``dlt_prob`` or the realised DLTs)."""
        src: Sequence[Any] = self.dlt_prob if self.dlt_draw == "probability" else self.dlt
        return np.array([float(np.mean(np.asarray(v, dtype=float))) for v in src])

    def trial(self, seed: np.random.SeedSequence, rng: np.random.Generator) -> TrialPatients:
        """Permutation resampling with the trial's generator."""
        return _PoolTrial(self, rng, [None] * self.n_doses, [0] * self.n_doses)


@dataclass
class _PoolTrial:
    source: PoolSource
    rng: np.random.Generator
    perms: list[npt.NDArray[np.int64] | None]
    used: list[int]

    def draw(self, level: int, size: int, cohort: int) -> CohortDraw:
        j = level - 1
        n_pool = self.source.pool_size
        idx: list[int] = []
        while len(idx) < size:
            perm = self.perms[j]
            if perm is None or self.used[j] >= n_pool:
                perm = self.rng.permutation(n_pool)
                self.perms[j] = perm
                self.used[j] = 0
            take = min(size - len(idx), n_pool - self.used[j])
            idx.extend(perm[self.used[j] : self.used[j] + take].tolist())
            self.used[j] += take
        ii = np.array(idx, dtype=np.int64)
        if self.source.dlt_draw == "probability":
            y = (self.rng.random(ii.size) < self.source.dlt_prob[j][ii]).astype(np.int64)
        else:
            y = np.asarray(self.source.dlt[j])[ii].astype(np.int64)
        eff = None
        if self.source.responder:
            eff = np.asarray(self.source.responder[j])[ii].astype(np.int64)
        return CohortDraw(y, payload=ii, eff=eff)


@dataclass(frozen=True)
class _FixedGaps:
    gap_days: float

    def __call__(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        g = np.full(n, float(self.gap_days))
        if n:
            g[0] = 0.0
        return g


def fixed_gaps(gap_days: float) -> Gaps:
    """Deterministic gaps: a cohort's first patient enters at the decision, the others
    ``gap_days`` apart (no random draws)."""
    if not (np.isfinite(gap_days) and gap_days >= 0):
        raise DesignError(f"must be >= 0 days, got {gap_days!r}", field="gap_days")
    return _FixedGaps(float(gap_days))


@dataclass(frozen=True)
class Accrual:
    """Patient entry and decision times.

    ``gaps(rng, n)`` gives, for a cohort of ``n``, the days from the decision to the first
    patient's entry and between successive patients (drawn from the trial's generator, before
    the cohort's DLTs; None: everyone enters at the decision); ``window_days``: follow-up after
    the cohort's last patient before the next decision (the DLT window).
    """

    gaps: Gaps | None = None
    window_days: float = 0.0

    def __post_init__(self) -> None:
        w = float(self.window_days)
        if not (np.isfinite(w) and w >= 0):
            raise DesignError(f"must be >= 0 days, got {self.window_days!r}", field="window_days")
        object.__setattr__(self, "window_days", w)
