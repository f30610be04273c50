"""The dose-finding interface shared by every design (no dependency on the IL-2 model).

Follows R ``escalation`` (brockk/escalation ``R/interface.R``): a :class:`Design` is immutable
configuration (a *factory*); ``design.fit(outcomes)`` returns a :class:`Fit` (a *selector*)
that recommends the next dose, says whether to continue, and selects the MTD.  Rules
(``rules.py``) wrap a parent design and override one decision.  A design may offer a compiled
simulator through :meth:`Design.kernel` (as escalation's ``simulation_function()`` generic);
the controller (``controller.py``) runs every trial loop.

Dose levels are numbered from 1 everywhere a user sees them.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from il2sim.errors import DesignError

if TYPE_CHECKING:
    from il2sim.designs.kernels import Kernel

_COHORT_RE = re.compile(r"^(\d+)([NTnt]+)$")


@dataclass(frozen=True)
class Outcomes:
    """Patient-level outcomes so far: dose level (1-based), DLT (0/1) and cohort (1-based)."""

    dose: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    dlt: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cohort: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        d = np.asarray(self.dose, dtype=np.int64).ravel()
        y = np.asarray(self.dlt, dtype=np.int64).ravel()
        c = np.asarray(self.cohort, dtype=np.int64).ravel()
        if c.size == 0 and d.size:
            c = np.arange(1, d.size + 1, dtype=np.int64)
        if not (d.size == y.size == c.size):
            raise DesignError(
                f"dose, dlt and cohort must have equal lengths, got {d.size}, {y.size}, {c.size}",
                field="outcomes",
            )
        if d.size and d.min() < 1:
            raise DesignError(f"dose levels are numbered from 1, got {int(d.min())}", field="dose")
        bad = (y != 0) & (y != 1)
        if bad.any():
            raise DesignError(f"DLT must be 0 or 1, got {y[bad][0]}", field="dlt")
        object.__setattr__(self, "dose", d)
        object.__setattr__(self, "dlt", y)
        object.__setattr__(self, "cohort", c)

    @classmethod
    def parse(cls, text: str, n_doses: int | None = None) -> Outcomes:
        """Parse an ``escalation`` outcome string such as ``"1NNN 2NTN"``.

        Each whitespace-separated token is a cohort: the dose level (from 1) followed by one
        letter per patient, ``N`` (no DLT) or ``T`` (DLT).  An empty string is no outcomes.
        """
        if not isinstance(text, str):
            raise DesignError(f"must be a string, got {text!r}", field="outcomes")
        doses: list[int] = []
        dlts: list[int] = []
        cohorts: list[int] = []
        for k, token in enumerate(text.split(), start=1):
            m = _COHORT_RE.match(token)
            if m is None:
                raise DesignError(
                    f"malformed cohort {token!r} in {text!r} (expected a dose level then N/T "
                    "per patient, e.g. '2NTN')",
                    field="outcomes",
                    value=token,
                )
            level = int(m.group(1))
            if level < 1 or (n_doses is not None and level > n_doses):
                hi = f"1..{n_doses}" if n_doses is not None else ">= 1"
                raise DesignError(
                    f"dose level {level} in cohort {token!r} is out of range ({hi})",
                    field="outcomes",
                    value=token,
                )
            for ch in m.group(2).upper():
                doses.append(level)
                dlts.append(1 if ch == "T" else 0)
                cohorts.append(k)
        return cls(
            np.array(doses, dtype=np.int64),
            np.array(dlts, dtype=np.int64),
            np.array(cohorts, dtype=np.int64),
        )

    def to_string(self) -> str:
        """Inverse of :meth:`parse`."""
        parts: list[str] = []
        for k in np.unique(self.cohort):
            sel = self.cohort == k
            parts.append(
                f"{int(self.dose[sel][0])}" + "".join("T" if t else "N" for t in self.dlt[sel])
            )
        return " ".join(parts)

    @property
    def n_patients(self) -> int:
        """Number of patients with outcomes."""
        return int(self.dose.size)

    @property
    def n_cohorts(self) -> int:
        """Number of cohorts with outcomes."""
        return int(np.unique(self.cohort).size)

    def n_per_dose(self, n_doses: int) -> npt.NDArray[np.int64]:
        """Patients treated at each dose level 1..n_doses (array index 0 = level 1)."""
        return np.bincount(self.dose - 1, minlength=n_doses)[:n_doses].astype(np.int64)

    def dlt_per_dose(self, n_doses: int) -> npt.NDArray[np.int64]:
        """DLTs at each dose level 1..n_doses (array index 0 = level 1)."""
        return np.bincount(self.dose - 1, weights=self.dlt, minlength=n_doses)[:n_doses].astype(
            np.int64
        )

    @property
    def last_dose(self) -> int | None:
        """Dose level of the most recent cohort, or None before any outcome."""
        return int(self.dose[-1]) if self.dose.size else None

    def add_cohort(self, dose: int, dlts: Sequence[int] | npt.NDArray[np.int64]) -> Outcomes:
        """A new :class:`Outcomes` with one more cohort at ``dose``."""
        y = np.asarray(dlts, dtype=np.int64)
        k = (int(self.cohort.max()) if self.cohort.size else 0) + 1
        return Outcomes(
            np.concatenate([self.dose, np.full(y.size, dose, dtype=np.int64)]),
            np.concatenate([self.dlt, y]),
            np.concatenate([self.cohort, np.full(y.size, k, dtype=np.int64)]),
        )


@dataclass(frozen=True)
class Decision:
    """A design's decision after the data so far.

    ``next_dose`` is the level (from 1) for the next cohort, or None when the trial stops;
    ``mtd`` is the level selected if the trial stopped now (None = no dose is acceptable);
    ``cohort_size`` the number of patients for the next cohort (A+B designs vary it).
    """

    next_dose: int | None
    stop: bool
    reason: str
    mtd: int | None = None
    cohort_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "next_dose": self.next_dose,
            "stop": self.stop,
            "reason": self.reason,
            "mtd": self.mtd,
            "cohort_size": self.cohort_size,
        }


class Fit(ABC):
    """A design fitted to outcomes (``escalation``'s *selector*)."""

    design: Design
    outcomes: Outcomes

    @abstractmethod
    def decision(self) -> Decision:
        """The decision after these outcomes."""

    def recommended_dose(self) -> int | None:
        """Next dose while the trial continues; the selected MTD once it stops."""
        d = self.decision()
        return d.next_dose if not d.stop else d.mtd

    def should_continue(self) -> bool:
        """True when the design would treat another cohort."""
        return not self.decision().stop

    def mtd(self) -> int | None:
        """Dose level selected as MTD if the trial ended now (None: no dose acceptable)."""
        return self.decision().mtd

    def estimates(self) -> dict[str, Any]:
        """Design-specific current estimates (e.g. posterior toxicity per dose)."""
        n = self.design.n_doses
        return {
            "dose": list(range(1, n + 1)),
            "n": self.outcomes.n_per_dose(n).tolist(),
            "dlt": self.outcomes.dlt_per_dose(n).tolist(),
        }


class Design(ABC):
    """Immutable configuration of a dose-finding design (``escalation``'s *factory*)."""

    n_doses: int
    start_dose: int = 1
    cohort_size: int = 3

    @property
    @abstractmethod
    def name(self) -> str:
        """Short name, e.g. ``"boin"``."""

    @abstractmethod
    def fit(self, outcomes: Outcomes) -> Fit:
        """Fit to outcomes so far."""

    @property
    def requires_sample_size(self) -> bool:
        """True when the design never (or hardly ever) stops on its own, so a simulation needs
        ``max_cohorts`` or ``max_patients`` (CRM, interval designs; not A+B designs)."""
        return False

    def kernel(self) -> Kernel | None:
        """The design's compiled simulator (:class:`~il2sim.designs.kernels.Kernel`), or None
        to be simulated by the controller's generic ``fit()`` loop."""
        return None

    def check_outcomes(self, outcomes: Outcomes) -> None:
        """Raise :class:`DesignError` if a dose level is above ``n_doses``."""
        if outcomes.dose.size and outcomes.dose.max() > self.n_doses:
            raise DesignError(
                f"dose level {int(outcomes.dose.max())} is out of range 1..{self.n_doses}",
                field="outcomes",
                value=int(outcomes.dose.max()),
            )


def check_truth(truth: Sequence[float] | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Validate a true toxicity curve: values in [0, 1], finite."""
    p = np.asarray(truth, dtype=float).ravel()
    if p.size == 0:
        raise DesignError("needs at least one dose", field="truth")
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        raise DesignError(
            f"probabilities must be in [0, 1], got {float(p[bad][0])!r}", field="truth"
        )
    return p


def check_target(target: float) -> float:
    """Validate a target toxicity probability in (0, 1)."""
    t = float(target)
    if not (0.0 < t < 1.0):
        raise DesignError(f"must be in (0, 1), got {target!r}", field="target", value=target)
    return t
