"""Patient outcomes so far (:class:`Outcomes`, written ``"1NNN 2NTN"`` as in R ``escalation``)
and a design's decision (:class:`Decision`): the values every design, rule, kernel record and
the controller share.  Dose levels are numbered from 1."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.errors import DesignError

__all__ = ["Decision", "Outcomes"]

_COHORT_RE = re.compile(r"^(\d+)([NTEBntEb]+)$", re.ASCII)  # ASCII digits only (issue 16)
#: escalation's phase I/II letters: (DLT, efficacy) per patient.
_LETTERS = {"N": (0, 0), "T": (1, 0), "E": (0, 1), "B": (1, 1)}


@dataclass(frozen=True)
class Outcomes:
    """Patient-level outcomes so far: dose level (1-based), DLT (0/1) and cohort (1-based).

    ``followup_days`` (time-to-event designs, TITE-CRM / TITE-BOIN): per patient, the days
    observed so far (for a patient with a DLT, the days from entry to the DLT); empty = every
    patient fully observed.  ``np.inf`` marks a fully observed patient.  ``entry_days``: each
    patient's entry day (optional; the TITE "no escalation right after a DLT" rule uses it).
    Designs that are not time-to-event ignore both.  ``eff``: efficacy (0/1) per patient for
    the efficacy-toxicity designs (BOIN12; letters E = efficacy only, B = both); empty = none
    recorded (read as no efficacy).  ``backfill``: per patient, True for a backfill patient
    (BF-BOIN), empty = none; ``now_day``: the day these outcomes were observed (time-to-event
    designs that need it, e.g. BF-BOIN's responses seen at the end of the window).
    """

    dose: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    dlt: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cohort: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    followup_days: npt.NDArray[np.float64] = field(
        default_factory=lambda: np.zeros(0, dtype=np.float64)
    )
    entry_days: npt.NDArray[np.float64] = field(
        default_factory=lambda: np.zeros(0, dtype=np.float64)
    )
    eff: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    backfill: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    now_day: float | None = None

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
        f = np.asarray(self.followup_days, dtype=np.float64).ravel()
        if f.size and f.size != d.size:
            raise DesignError(
                f"needs one follow-up time per patient ({d.size}), got {f.size}",
                field="followup_days",
            )
        if f.size and (np.isnan(f).any() or (f < 0).any()):
            bad = f[np.isnan(f) | (f < 0)][0]
            raise DesignError(
                f"follow-up must be >= 0 days, got {bad!r}", field="followup_days", value=bad
            )
        object.__setattr__(self, "dose", d)
        object.__setattr__(self, "dlt", y)
        object.__setattr__(self, "cohort", c)
        e = np.asarray(self.entry_days, dtype=np.float64).ravel()
        if e.size and e.size != d.size:
            raise DesignError(
                f"needs one entry day per patient ({d.size}), got {e.size}", field="entry_days"
            )
        ef = np.asarray(self.eff, dtype=np.int64).ravel()
        if ef.size and ef.size != d.size:
            raise DesignError(f"needs one efficacy per patient ({d.size}), got {ef.size}",
                              field="eff")  # fmt: skip
        if ef.size and ((ef != 0) & (ef != 1)).any():
            raise DesignError("efficacy must be 0 or 1", field="eff")
        bf = np.asarray(self.backfill, dtype=bool).ravel()
        if bf.size and bf.size != d.size:
            raise DesignError(f"needs one backfill flag per patient ({d.size}), got {bf.size}",
                              field="backfill")  # fmt: skip
        object.__setattr__(self, "followup_days", f)
        object.__setattr__(self, "entry_days", e)
        object.__setattr__(self, "eff", ef)
        object.__setattr__(self, "backfill", bf)

    def backfilled(self) -> npt.NDArray[np.bool_]:
        """Backfill flag per patient (all False when none was recorded)."""
        return self.backfill if self.backfill.size else np.zeros(self.dose.size, dtype=bool)

    def efficacy(self) -> npt.NDArray[np.int64]:
        """Efficacy per patient (zeros when none was recorded)."""
        return self.eff if self.eff.size else np.zeros(self.dose.size, dtype=np.int64)

    def eff_per_dose(self, n_doses: int) -> npt.NDArray[np.int64]:
        """Efficacious patients at each dose level 1..n_doses."""
        return np.bincount(self.dose - 1, weights=self.efficacy(), minlength=n_doses)[
            :n_doses
        ].astype(np.int64)

    def followup(self) -> npt.NDArray[np.float64]:
        """Follow-up days per patient (``inf`` = fully observed, also when none were given)."""
        if self.followup_days.size:
            return self.followup_days
        return np.full(self.dose.size, np.inf)

    def with_followup(
        self,
        followup_days: Sequence[float] | npt.NDArray[np.float64],
        entry_days: Sequence[float] | npt.NDArray[np.float64] | None = None,
    ) -> Outcomes:
        """The same outcomes with per-patient follow-up (and entry) days."""
        e = self.entry_days if entry_days is None else np.asarray(entry_days, dtype=float)
        return Outcomes(
            self.dose, self.dlt, self.cohort, np.asarray(followup_days, float), e, self.eff
        )

    @classmethod
    def parse(cls, text: str, n_doses: int | None = None) -> Outcomes:
        """Parse an ``escalation`` outcome string such as ``"1NNN 2NTN"``.

        Each whitespace-separated token is a cohort: the dose level (from 1) followed by one
        letter per patient, ``N`` (no DLT) or ``T`` (DLT), and for efficacy-toxicity designs
        ``E`` (efficacy, no DLT) or ``B`` (both), as R ``escalation`` (``1NEN 2BTE``).  An
        empty string is no outcomes.
        """
        if not isinstance(text, str):
            raise DesignError(f"must be a string, got {text!r}", field="outcomes")
        doses: list[int] = []
        dlts: list[int] = []
        cohorts: list[int] = []
        effs: list[int] = []
        for k, token in enumerate(text.split(), start=1):
            m = _COHORT_RE.match(token)
            if m is None:
                raise DesignError(
                    f"malformed cohort {token!r} in {text!r} (expected a dose level then "
                    "N/T/E/B per patient, e.g. '2NTN' or '1NEN')",
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
                t, e = _LETTERS[ch]
                dlts.append(t)
                effs.append(e)
                cohorts.append(k)
        has_eff = any(ch in "EB" for ch in text.upper())
        return cls(
            np.array(doses, dtype=np.int64),
            np.array(dlts, dtype=np.int64),
            np.array(cohorts, dtype=np.int64),
            eff=np.array(effs if has_eff else [], dtype=np.int64),
        )

    def to_string(self) -> str:
        """Inverse of :meth:`parse`."""
        parts: list[str] = []
        letter = {(0, 0): "N", (1, 0): "T", (0, 1): "E", (1, 1): "B"}
        eff = self.efficacy()
        for k in np.unique(self.cohort):
            sel = self.cohort == k
            parts.append(
                f"{int(self.dose[sel][0])}"
                + "".join(letter[(int(t), int(e))] for t, e in zip(self.dlt[sel], eff[sel], strict=True))
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

    def add_cohort(
        self,
        dose: int,
        dlts: Sequence[int] | npt.NDArray[np.int64],
        eff: Sequence[int] | npt.NDArray[np.int64] | None = None,
    ) -> Outcomes:
        """A new :class:`Outcomes` with one more cohort at ``dose`` (``eff``: its efficacy)."""
        y = np.asarray(dlts, dtype=np.int64)
        k = (int(self.cohort.max()) if self.cohort.size else 0) + 1
        f = self.followup_days
        if f.size:
            f = np.concatenate([f, np.full(y.size, np.inf)])
        e = self.entry_days
        if e.size:
            e = np.concatenate([e, np.full(y.size, e.max())])
        ef = self.eff
        if eff is not None or ef.size:
            new = np.zeros(y.size, np.int64) if eff is None else np.asarray(eff, np.int64)
            ef = np.concatenate([self.efficacy(), new])
        return Outcomes(
            np.concatenate([self.dose, np.full(y.size, dose, dtype=np.int64)]),
            np.concatenate([self.dlt, y]),
            np.concatenate([self.cohort, np.full(y.size, k, dtype=np.int64)]),
            f,
            e,
            ef,
        )


@dataclass(frozen=True)
class Decision:
    """A design's decision after the data so far.

    ``next_dose`` is the level (from 1) for the next cohort, or None when the trial stops;
    ``mtd`` is the level selected if the trial stopped now (None = no dose is acceptable);
    ``cohort_size`` the number of patients for the next cohort (A+B designs vary it);
    ``wait``: enrol no one now, decide again at the next arrival (TITE-BOIN's suspension);
    ``backfill``: the next patient is a backfill patient at ``next_dose`` (BF-BOIN);
    ``arms``/``arm_sizes``: a randomised stage -- treat ``arm_sizes[i]`` patients at each level
    ``arms[i]`` (the randomisation realised as fixed allocation counts) before deciding again.
    """

    next_dose: int | None
    stop: bool
    reason: str
    mtd: int | None = None
    cohort_size: int | None = None
    wait: bool = False
    backfill: bool = False
    arms: tuple[int, ...] = ()
    arm_sizes: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return decision_dict(self)


#: The keys of a decision's JSON form, in order (``il2sim design next --json``).
DECISION_KEYS = ("next_dose", "stop", "reason", "mtd", "cohort_size")


def decision_dict(decision: Any) -> dict[str, Any]:
    """The JSON form of a decision (:data:`DECISION_KEYS` from its attributes): the one
    shared by :meth:`Decision.to_dict` and the server's recommendation."""
    return {key: getattr(decision, key) for key in DECISION_KEYS}
