"""Python builders for common regimens; each returns a :class:`Regimen` (spec = canonical text).

Doses default to MIU per m2 of body-surface area, times to days from day 0, as in the
low-dose s.c. IL-2 trial of Meropol et al. 1996 (1.25 MIU/m2 s.c. daily for 90 days at the MTD).
"""

from __future__ import annotations

from il2sim.errors import InputError
from il2sim.regimen.canonical import format_spec
from il2sim.regimen.events import DoseEvent, Regimen, Route

__all__ = [
    "bolus",
    "combine",
    "daily",
    "daily_regimen",
    "every",
    "infusion",
    "pulses",
]


def _finish(events: list[DoseEvent]) -> Regimen:
    reg = Regimen(tuple(events))
    return Regimen(reg.events, spec=format_spec(reg))


def _whole(name: str, n: object, minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum:
        raise InputError(f"must be a whole number >= {minimum}, got {n!r}", field=name, value=n)
    return n


def _route(route: Route | str) -> Route:
    return route if isinstance(route, Route) else Route.parse(route)


def every(
    dose: float,
    interval_day: float,
    n: int,
    *,
    unit: str = "MIU",
    per_m2: bool = True,
    route: Route | str = Route.SC,
    start_day: float = 0.0,
) -> Regimen:
    """``n`` administrations of ``dose`` every ``interval_day`` days from ``start_day``."""
    _whole("count", n)
    if not interval_day > 0:
        raise InputError(f"must be positive, got {interval_day!r}", field="interval_day")
    r = _route(route)
    if r is Route.IV_INFUSION:
        raise InputError("use infusion() for an iv infusion", field="route", value=r.value)
    return _finish(
        [DoseEvent(start_day + k * interval_day, dose, unit, per_m2, r) for k in range(n)]
    )


def daily(
    dose: float,
    days: int,
    *,
    unit: str = "MIU",
    per_m2: bool = True,
    route: Route | str = Route.SC,
    start_day: float = 0.0,
) -> Regimen:
    """One administration a day for ``days`` days (``1.25 MIU/m2 sc qd x90`` = ``daily(1.25, 90)``)."""
    _whole("days", days)
    return every(dose, 1.0, days, unit=unit, per_m2=per_m2, route=route, start_day=start_day)


def daily_regimen(dose_miu_per_m2: float, days: int, route: Route | str = Route.SC) -> Regimen:
    """Daily ``dose_miu_per_m2`` MIU/m2 for ``days`` days from day 0 (the seed's schedule)."""
    return daily(dose_miu_per_m2, days, unit="MIU", per_m2=True, route=route)


def bolus(dose: float, *, unit: str = "MIU", per_m2: bool = True, day: float = 0.0) -> Regimen:
    """A single i.v. bolus of ``dose`` at ``day``."""
    return _finish([DoseEvent(day, dose, unit, per_m2, Route.IV_BOLUS)])


def infusion(
    rate_per_day: float,
    duration_day: float,
    *,
    unit: str = "MIU",
    per_m2: bool = True,
    start_day: float = 0.0,
) -> Regimen:
    """A continuous i.v. infusion at ``rate_per_day`` (unit per day) for ``duration_day`` days.

    ``infusion(0.45, 56)`` is ``0.45 MIU/m2/day iv infusion x56d`` (total 25.2 MIU/m2).
    """
    if not duration_day > 0:
        raise InputError(f"must be positive, got {duration_day!r}", field="duration")
    if not rate_per_day > 0:
        raise InputError(f"must be positive, got {rate_per_day!r}", field="dose")
    return _finish(
        [
            DoseEvent(
                start_day,
                rate_per_day * duration_day,
                unit,
                per_m2,
                Route.IV_INFUSION,
                duration_day,
            )
        ]
    )


def pulses(
    dose: float,
    days_on: int,
    every_day: float,
    n_pulses: int,
    *,
    start_day: float = 0.0,
    unit: str = "MIU",
    per_m2: bool = True,
    route: Route | str = Route.SC,
    background: Regimen | None = None,
) -> Regimen:
    """Pulses of ``days_on`` consecutive daily doses, repeated every ``every_day`` days,
    ``n_pulses`` times from ``start_day``, optionally on top of a ``background`` regimen.

    Meropol's later schedule (1.25 MIU/m2 daily plus 3-day pulses every 2 weeks):
    ``pulses(15, 3, 14, 2, start_day=42, background=daily(1.25, 84))``.
    """
    _whole("days_on", days_on)
    _whole("n_pulses", n_pulses)
    if not every_day >= days_on:
        raise InputError(
            f"must be >= days_on ({days_on}), got {every_day!r}", field="every_day", value=every_day
        )
    r = _route(route)
    events = [
        DoseEvent(start_day + p * every_day + d, dose, unit, per_m2, r)
        for p in range(n_pulses)
        for d in range(days_on)
    ]
    if background is not None:
        events = list(background.events) + events
    return _finish(events)


def combine(*regimens: Regimen) -> Regimen:
    """All events of ``regimens`` together (a day covered twice has two events)."""
    if not regimens:
        raise InputError("needs at least one regimen", field="regimen")
    return _finish([e for reg in regimens for e in reg.events])
