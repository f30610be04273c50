"""The trial schedule: treatment days, DLT window, visits for blood draws, enrolment timing.

Study days follow SDTM: day 1 is the first dose (model time ``t_day = study_day - 1``).
Defaults follow the seed (Meropol et al. 1996, Clin Cancer Res 2:669): one s.c. injection a day
for 90 days; blood draws at baseline (day 1, before the first dose), weekly to week 4, then
every 2 weeks to week 12 (il2sim's reading of the seed's "sustained through 12 weeks"); DLT
window the first 28 days (issue 5's default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.errors import InputError

__all__ = ["DoseModification", "Schedule"]

#: Visit weeks: baseline, weekly to week 4, every 2 weeks to week 12.
DEFAULT_VISIT_WEEKS: tuple[int, ...] = (0, 1, 2, 3, 4, 6, 8, 10, 12)


@dataclass(frozen=True)
class Schedule:
    """Treatment and assessment schedule.

    ``n_treatment_days``: daily doses on study days 1..n; ``dlt_window_day``: DLTs counted on
    study days 1..window; ``visit_weeks``: blood-draw weeks (study day ``7 w + 1``);
    ``ada_visit_weeks``: weeks of anti-IL-2 antibody samples; ``pc_hours``: IL-2 sampling times
    after the day's dose at each visit (0 = pre-dose); ``enrol_gap_day``: days between patients
    joining a cohort (calendar only).
    """

    n_treatment_days: int = 90
    dlt_window_day: int = 28
    visit_weeks: tuple[int, ...] = DEFAULT_VISIT_WEEKS
    ada_visit_weeks: tuple[int, ...] = (0, 4, 8, 12)
    pc_hours: tuple[float, ...] = (0.0, 4.0)
    enrol_gap_day: float = 7.0

    def __post_init__(self) -> None:
        if self.n_treatment_days < 1:
            raise InputError(f"must be >= 1, got {self.n_treatment_days}", field="treatment days")
        if not 1 <= self.dlt_window_day <= self.n_treatment_days:
            raise InputError(
                f"must be in 1..{self.n_treatment_days}, got {self.dlt_window_day}",
                field="dlt window",
            )
        for name in ("visit_weeks", "ada_visit_weeks"):
            w = getattr(self, name)
            if not w or any(x < 0 for x in w) or list(w) != sorted(set(w)):
                raise InputError(f"must be increasing weeks >= 0, got {w}", field=name)
            if 7 * max(w) + 1 > self.n_treatment_days:
                raise InputError(
                    f"last visit (week {max(w)}) is after treatment day {self.n_treatment_days}",
                    field=name,
                )
        if any(h < 0 or h >= 24 for h in self.pc_hours):
            raise InputError(f"must be in [0, 24) hours, got {self.pc_hours}", field="pc_hours")

    @property
    def visit_days(self) -> npt.NDArray[np.int64]:
        """Study days of the blood draws."""
        return np.array([7 * w + 1 for w in self.visit_weeks], dtype=np.int64)

    @property
    def ada_visit_days(self) -> npt.NDArray[np.int64]:
        """Study days of the antibody samples."""
        return np.array([7 * w + 1 for w in self.ada_visit_weeks], dtype=np.int64)

    @property
    def dose_times_day(self) -> npt.NDArray[np.float64]:
        """Model times of the daily doses, days (study day 1 -> 0)."""
        return np.arange(self.n_treatment_days, dtype=float)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "n_treatment_days": self.n_treatment_days,
            "dlt_window_day": self.dlt_window_day,
            "visit_weeks": list(self.visit_weeks),
            "ada_visit_weeks": list(self.ada_visit_weeks),
            "pc_hours": list(self.pc_hours),
        }


@dataclass(frozen=True)
class DoseModification:
    """What happens to a patient's dosing after a DLT on study day ``s``.

    Doses on study days ``s+1 .. s+hold_days`` are held, then resumed at ``resume_fraction``
    of the assigned dose (0 = treatment stopped).  Default: hold 7 days, resume at 50% (a usual
    Phase I rule; the seed does not describe its rule -- assumption).
    """

    hold_days: int = 7
    resume_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.hold_days < 0:
            raise InputError(f"must be >= 0, got {self.hold_days}", field="hold_days")
        if not 0.0 <= self.resume_fraction <= 1.0:
            raise InputError(
                f"must be in [0, 1], got {self.resume_fraction}", field="resume_fraction"
            )

    def scale(self, dlt_day: npt.ArrayLike, n_days: int) -> npt.NDArray[np.float64]:
        """Per-day dose fraction (P, n_days); ``dlt_day`` (P,) study day of DLT, 0 = none."""
        s = np.asarray(dlt_day, dtype=np.int64)[:, None]
        day = np.arange(1, n_days + 1)[None, :]
        held = (s > 0) & (day > s) & (day <= s + self.hold_days)
        reduced = (s > 0) & (day > s + self.hold_days)
        return np.where(held, 0.0, np.where(reduced, self.resume_fraction, 1.0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"hold_days": self.hold_days, "resume_fraction": self.resume_fraction}
