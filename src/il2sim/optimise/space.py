"""The regimens ``il2sim optimise`` searches: doses x intervals x routes, as regimen texts.

Each candidate is a text of the regimen grammar (:mod:`il2sim.regimen`, docs/regimen.md):
``<dose> MIU/m2 <route> <interval> x<days>d`` (per m2 of body-surface area) or
``<dose> MIU <route> <interval> x<days>d`` (flat), every administration starting within the
``days``-day treatment period from day 0.  Intervals: ``qd`` (daily), ``q2d``, ``q3d``,
``weekly`` (``qw``); routes: ``sc`` and ``iv`` (an i.v. bolus).  The reference regimen (the
seed trial's 1.25 MIU/m2 s.c. daily for 90 days, Meropol et al. 1996) is always evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from il2sim.errors import InputError

__all__ = ["INTERVALS", "REFERENCE", "ROUTES", "Candidate", "SearchSpace", "candidate_text"]

#: Interval name -> grammar frequency.
INTERVALS: dict[str, str] = {"qd": "qd", "q2d": "q2d", "q3d": "q3d", "weekly": "qw"}
#: Route name -> grammar route.
ROUTES: dict[str, str] = {"sc": "sc", "iv": "iv bolus"}
#: The seed trial's regimen, the comparator of the search.
REFERENCE = "1.25 MIU/m2 sc qd x90d"


@dataclass(frozen=True)
class Candidate:
    """One regimen of the search: dose (MIU/m2 when ``per_m2``, else MIU), interval, route."""

    dose_miu: float
    per_m2: bool
    interval: str
    route: str
    days: int

    @property
    def text(self) -> str:
        """The regimen text (:mod:`il2sim.regimen` grammar)."""
        return candidate_text(self.dose_miu, self.per_m2, self.interval, self.route, self.days)


def candidate_text(dose: float, per_m2: bool, interval: str, route: str, days: int) -> str:
    """``<dose> MIU[/m2] <route> <freq> x<days>d``."""
    unit = "MIU/m2" if per_m2 else "MIU"
    return f"{dose:g} {unit} {ROUTES[route]} {INTERVALS[interval]} x{days}d"


def _names(values: Sequence[str], known: dict[str, str], field: str) -> tuple[str, ...]:
    out = tuple(v.strip().lower() for v in values)
    if not out:
        raise InputError("needs at least one value", field=field)
    for v in out:
        if v not in known:
            raise InputError(f"must be one of {', '.join(known)}, got {v!r}", field=field, value=v)
    if len(set(out)) != len(out):
        raise InputError(f"has a repeated value: {list(out)}", field=field)
    return out


def _doses(values: Sequence[float], field: str) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    for v in out:
        if not (math.isfinite(v) and v > 0):
            raise InputError(f"must be positive numbers, got {v!r}", field=field, value=v)
    if len(set(out)) != len(out):
        raise InputError(f"has a repeated dose: {list(out)}", field=field)
    return out


@dataclass(frozen=True)
class SearchSpace:
    """Doses per m2 (MIU/m2) and flat (MIU), intervals, routes, treatment days; validated."""

    doses_per_m2: tuple[float, ...] = (0.5, 1.0, 1.25, 1.5, 2.0)
    flat_doses: tuple[float, ...] = ()
    intervals: tuple[str, ...] = ("qd", "q2d")
    routes: tuple[str, ...] = ("sc",)
    days: int = 90
    reference: str = REFERENCE

    def __post_init__(self) -> None:
        object.__setattr__(self, "doses_per_m2", _doses(self.doses_per_m2, "doses"))
        object.__setattr__(self, "flat_doses", _doses(self.flat_doses, "flat_doses"))
        if not self.doses_per_m2 and not self.flat_doses:
            raise InputError("needs at least one dose (--doses or --flat-doses)", field="doses")
        object.__setattr__(self, "intervals", _names(self.intervals, INTERVALS, "intervals"))
        object.__setattr__(self, "routes", _names(self.routes, ROUTES, "routes"))
        if isinstance(self.days, bool) or not isinstance(self.days, int) or not 2 <= self.days <= 3650:
            raise InputError(f"must be a whole number of days in 2..3650, got {self.days!r}",
                             field="days", value=self.days)  # fmt: skip
        from il2sim.regimen.spec import parse_spec

        try:
            parse_spec(self.reference)
        except InputError as exc:  # named as the reference regimen, with the parser's reason
            raise InputError(f"{exc} (in {self.reference!r})", field="reference",
                             value=self.reference) from None  # fmt: skip

    def candidates(self) -> tuple[Candidate, ...]:
        """Every combination, per-m2 doses first, then flat; dose slowest."""
        doses = [(d, True) for d in self.doses_per_m2] + [(d, False) for d in self.flat_doses]
        return tuple(
            Candidate(d, m2, i, r, self.days)
            for d, m2 in doses
            for i in self.intervals
            for r in self.routes
        )

    def texts(self) -> tuple[str, ...]:
        """The regimen texts to evaluate: every candidate, then the reference if not among them."""
        out = [c.text for c in self.candidates()]
        return tuple(out if self.reference in out else [*out, self.reference])
