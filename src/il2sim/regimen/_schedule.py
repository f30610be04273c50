"""Parsed regimen segments and their expansion into dosing events.

:mod:`il2sim.regimen.spec` parses the text (lark grammar ``regimen.lark``) into one
:class:`Segment` per ``+`` part; :func:`plan` checks a segment's schedule and amounts against
each other (an infusion needs a length, a rate needs an interval, a cycle must not overlap the
block it repeats) and counts its events, so that the size limit is checked before
:func:`expand` builds them.  Times in days, amounts in the unit the text gave.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from il2sim.errors import InputError
from il2sim.regimen.events import DoseEvent, Route

__all__ = ["Count", "Freq", "Modifier", "Plan", "Schedule", "Segment", "expand", "plan"]


@dataclass(frozen=True)
class Freq:
    """A dosing frequency: interval (days; 0 for ``once``) and the text typed."""

    interval_day: float
    text: str


@dataclass(frozen=True)
class Count:
    """A count: ``n`` administrations, or those starting within ``span_day`` days."""

    n: int | None
    span_day: float | None
    text: str


@dataclass(frozen=True)
class Schedule:
    """Frequency, count and cycle (repeat frequency and count) of a segment; each optional."""

    freq: Freq | None
    count: Count | None
    cycle: tuple[Freq, Count] | None


@dataclass(frozen=True)
class Modifier:
    """An ``over`` (kind ``duration``) or ``@`` (kind ``start``) clause, in days."""

    kind: str  # "duration" or "start"
    day: float
    text: str


@dataclass(frozen=True)
class Segment:
    """One parsed ``+`` segment before expansion (amounts per administration)."""

    amount: float
    unit: str
    per_m2: bool
    rate_per_day: bool
    route: Route
    schedule: Schedule
    duration_day: float | None
    start_day: float


def _n_within(span_day: float, interval_day: float) -> int:
    """Number of starts k * interval strictly before ``span_day`` (tolerant to rounding)."""
    ratio = span_day / interval_day - 1e-9
    return max(1, math.ceil(min(ratio, 1e18)))  # capped: an absurd span fails the size check


@dataclass(frozen=True)
class Plan:
    """A checked segment: ``n_block`` doses ``interval_day`` apart, the block repeated
    ``n_cycles`` times every ``cycle_day``; ``amount`` per administration."""

    n_block: int
    interval_day: float
    n_cycles: int
    cycle_day: float
    amount: float
    duration_day: float

    @property
    def n_events(self) -> int:
        """Number of events the segment expands to."""
        return self.n_block * self.n_cycles


def plan(seg: Segment) -> Plan:
    """Check a segment's schedule and amounts (nothing is expanded yet)."""
    infusion = seg.route is Route.IV_INFUSION
    sched = seg.schedule
    interval = sched.freq.interval_day if sched.freq else None
    count = sched.count.n if sched.count else None
    span = sched.count.span_day if sched.count else None
    duration = seg.duration_day
    if infusion and interval is None:
        # a single infusion: x56d / for 56d / over 6h give its length
        if count is not None:
            raise InputError(
                f"an infusion without a frequency needs a duration like x56d or over 6h, "
                f"got x{count}",
                field="duration",
                value=count,
            )
        if span is not None and duration is not None:
            raise InputError("give the infusion length once (x56d or over 56d)", field="duration")
        duration = span if span is not None else duration
        if duration is None:
            raise InputError("an infusion needs a duration, e.g. x56d or over 6h", field="duration")
        n, interval = 1, 0.0
        amount = seg.amount * duration if seg.rate_per_day else seg.amount
    else:
        if duration is not None and not infusion:
            raise InputError(
                f"only an iv infusion has a duration ('over'); route is {seg.route.value}",
                field="duration",
            )
        if infusion and duration is None:
            raise InputError("repeated infusions need their length, e.g. over 6h", field="duration")
        if interval is None:
            interval = 1.0 if (count is not None or span is not None) else 0.0
        if interval == 0.0:
            if (count is not None and count != 1) or span is not None:
                raise InputError("'once' cannot have a count", field="count", value=count)
            n = 1
        elif count is not None:
            n = count
        elif span is not None:
            n = _n_within(span, interval)
        else:
            n = 1
        if seg.rate_per_day:
            if infusion:
                assert duration is not None
                amount = seg.amount * duration
            elif interval > 0:
                amount = seg.amount * interval
            else:
                raise InputError(
                    "a dose rate (/day) needs a frequency or an infusion", field="dose"
                )
        else:
            amount = seg.amount
    n_cycles, cycle_day = 1, 0.0
    if sched.cycle is not None:
        freq, cc = sched.cycle
        cycle_day = freq.interval_day
        n_cycles = cc.n if cc.n is not None else _n_within(cc.span_day or 0.0, cycle_day)
        block_day = (n - 1) * interval
        if n_cycles > 1 and cycle_day <= block_day + 1e-9:
            raise InputError(
                f"the repeat interval must be longer than the block it repeats (first to last "
                f"dose: {block_day:g} d), or the blocks overlap; got {freq.text!r}",
                field="cycles",
                value=freq.text,
            )
    return Plan(n, interval, n_cycles, cycle_day, amount, (duration if infusion else 0.0) or 0.0)


def expand(seg: Segment, p: Plan) -> list[DoseEvent]:
    """The events of one checked segment, in block order within each cycle."""
    return [
        DoseEvent(
            time_day=seg.start_day + c * p.cycle_day + k * p.interval_day,
            amount=p.amount,
            amount_unit=seg.unit,
            per_m2=seg.per_m2,
            route=seg.route,
            duration_day=p.duration_day,
        )
        for c in range(p.n_cycles)
        for k in range(p.n_block)
    ]
