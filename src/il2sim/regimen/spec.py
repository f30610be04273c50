"""The regimen text grammar: parse a short text spec into a :class:`Regimen`, and format back.

The grammar is ``regimen.lark`` beside this module, read by `lark <https://lark-parser.readthedocs.io>`_
(LALR(1), contextual lexer); this module turns its parse into events and checks the numbers.
In short (case-insensitive, whitespace free between tokens)::

    regimen   = segment { "+" segment }
    segment   = dose route { modifier } [ schedule { modifier } ]
    dose      = NUMBER unit [ "/m2" ] [ "/day" | "/d" | "/h" ]
    unit      = "IU" | "kIU" | "MIU" | "MU" | "ug" | "mcg" | "µg" | "mg"
    route     = "sc" | "s.c." | "im" | "iv" [ "bolus" | "infusion" ] | "bolus" | "infusion" | "civ"
    modifier  = "over" SPAN | "@" [ "day" ] NUMBER [ "d" | "h" ]
    schedule  = freq [ count [ cycle ] ] | count [ cycle ]
    cycle     = freq count                      the block repeated every freq, count times
    freq      = "once" | "qd" | "od" | "daily" | "bid" | "tid" | "qid" | "qod" | "qw" | "weekly"
              | "q" NUMBER ( "h" | "d" | "w" )   (e.g. q2d, q12h, q2w)
    count     = "x" INTEGER                      N administrations
              | "x" SPAN | "for" SPAN            administrations starting within a span
    SPAN      = NUMBER ( "d" | "h" | "w" | "min" )   also "days", "hours", "weeks"

Semantics (times in days from day 0):

* ``1.25 MIU/m2 sc qd x90``: 90 injections at days 0..89.
* ``xNd``/``xNw``/``for Nd``: every administration whose start falls before N days after the
  segment start (``q2d x14d`` = 7 doses).  A count without a frequency means ``qd``.
* A dose with ``/day`` (or ``/h``) is a rate.  For an infusion the total amount is rate x
  duration; for other routes each administration gets rate x dosing interval
  (``2 MIU/day sc bid x10d`` = 1 MIU per injection).
* An infusion without a frequency is one event lasting ``xNd`` / ``over 6h``; with a frequency
  (``iv infusion over 6h qd x5``) each administration is an infusion of the ``over`` length.
* ``qd x3 q14d x6 @42``: 3 daily doses from day 42, repeated every 14 days, 6 times.  A cycle
  needs a count before it (``qd bid x5`` is an error, not ``q12h x5``) and a repeat interval
  longer than the block it repeats.
* Segments joined by ``+`` add up; a day covered by two segments has two events.
* At most :data:`MAX_EVENTS` events (``max_events=`` overrides), checked before expanding.

:func:`format_spec` (in :mod:`il2sim.regimen.canonical`, re-exported here) writes the canonical
text of any regimen, which parses back to the same events.
"""

from __future__ import annotations

import functools
import math
from importlib import resources
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from il2sim import units
from il2sim.errors import InputError
from il2sim.limits import LIMITS, limit
from il2sim.regimen._schedule import Count, Freq, Modifier, Schedule, Segment, expand, plan
from il2sim.regimen._spec_errors import syntax_error
from il2sim.regimen.canonical import arithmetic_runs, format_spec
from il2sim.regimen.events import Regimen, Route, canonical_unit, check_normal

if TYPE_CHECKING:  # pragma: no cover
    from lark import Lark, Token

__all__ = ["MAX_EVENTS", "arithmetic_runs", "format_spec", "parse_spec"]

#: Largest number of events one text spec may expand to (a resource limit, checked before the
#: events are built: ``x99999999999`` is refused at once instead of exhausting memory).  About
#: 11 years of hourly doses; ``IL2SIM_LIMIT_ADMINISTRATIONS`` (docs/limits.md) or
#: ``parse_spec(text, max_events=...)`` overrides it.
MAX_EVENTS = int(LIMITS["administrations"].default)  # the limit in force: limit("administrations")

#: Fixed frequencies: dosing interval in days (``tid`` = every 8 h, ``bid`` = every 12 h).
_FREQ_FIXED_DAY = {
    "once": 0.0,
    "qd": 1.0,
    "od": 1.0,
    "daily": 1.0,
    "bid": 0.5,
    "tid": 1.0 / 3.0,
    "qid": 0.25,
    "qod": 2.0,
    "qw": 7.0,
    "weekly": 7.0,
}
#: Terminal name of a time unit -> the unit's name in :mod:`il2sim.units` and its short text.
_TIME_UNIT = {"DAY": ("d", "d"), "HOUR": ("h", "h"), "WEEK": ("week", "w"), "MIN": ("min", "min")}
_ROUTES = {
    "sc": Route.SC,
    "im": Route.IM,
    "iv_bolus": Route.IV_BOLUS,
    "iv_infusion": Route.IV_INFUSION,
}


# --- numbers ----------------------------------------------------------------------------------


def _num(tok: Token | str, field: str) -> float:
    """A finite number of normal magnitude (0 or |x| >= 2.2e-308) from a NUMBER token."""
    text = str(tok)
    x = float(text)  # the grammar's NUMBER only matches what float() reads
    if not math.isfinite(x):
        raise InputError(f"must be a finite number, got {text!r}", field=field, value=text)
    check_normal(x, field, text)
    return x


def _span_day(n: Token, unit: Token, field: str) -> float:
    name, short = _TIME_UNIT[unit.type]
    x = _num(n, field)
    if x <= 0:
        raise InputError(f"must be positive, got {n}{short}", field=field, value=x)
    return float(units.time_to_days(x, name))


def _count(tok: Token, field: str) -> int:
    x = _num(tok, field)
    if x != int(x):
        raise InputError(f"must be a whole number, got {str(tok)!r}", field=field, value=x)
    if x < 1:
        raise InputError(f"must be at least 1, got {int(x)}", field=field, value=int(x))
    return int(x)


# --- the parse: lark tree callbacks -> segments -----------------------------------------------


def _text(items: list[Any]) -> str:
    return "".join(str(t) for t in items)


class _RawCount(NamedTuple):
    """A count as typed (``x5``, ``x14d``, ``for 2 weeks``); checked once its role is known."""

    n: Token
    unit: Token | None
    text: str

    def checked(self, field: str) -> Count:
        if self.unit is None:
            return Count(_count(self.n, field), None, self.text)
        return Count(None, _span_day(self.n, self.unit, field), self.text)


class _Builder:
    """Callbacks of the lark LALR parser (one per rule), run as the parser reduces."""

    def dose(self, c: list[Any]) -> tuple[float, str, bool, bool]:
        amount = _num(c[0], "dose")
        if amount <= 0:
            raise InputError(f"must be positive, got {amount!r}", field="dose", value=amount)
        unit = canonical_unit(str(c[1]))
        per_m2 = "m2" in c[2:]
        per = [x for x in c[2:] if x != "m2"]
        if per and per[0].type == "HOUR":
            amount = amount * units.HOURS_PER_DAY
        return amount, unit, per_m2, bool(per)

    def per_m2(self, c: list[Any]) -> str:
        return "m2"

    def per_time(self, c: list[Any]) -> Token:
        return c[0]

    def sc(self, c: list[Any]) -> Route:
        return Route.SC

    def im(self, c: list[Any]) -> Route:
        return Route.IM

    def iv_bolus(self, c: list[Any]) -> Route:
        return Route.IV_BOLUS

    def iv_infusion(self, c: list[Any]) -> Route:
        return Route.IV_INFUSION

    def span_unit(self, c: list[Any]) -> Token:
        return c[0]

    def over(self, c: list[Any]) -> Modifier:
        return Modifier("duration", _span_day(c[1], c[2], "duration"), f"over {_text(c[1:])}")

    def at(self, c: list[Any]) -> Modifier:
        i = next(k for k, t in enumerate(c) if t.type == "NUMBER")
        x = _num(c[i], "start")
        if x < 0:
            raise InputError(f"must be >= 0, got {x!r}", field="start", value=x)
        unit = "h" if i + 1 < len(c) and c[i + 1].type == "HOUR" else "d"
        return Modifier("start", float(units.time_to_days(x, unit)), _text(c))

    def freq_word(self, c: list[Any]) -> Freq:
        return Freq(_FREQ_FIXED_DAY[str(c[0]).lower()], str(c[0]))

    def freq_every(self, c: list[Any]) -> Freq:
        return Freq(_span_day(c[1], c[2], "frequency"), _text(c))

    def count_x(self, c: list[Any]) -> _RawCount:
        return _RawCount(c[1], c[2] if len(c) > 2 else None, _text(c))

    def count_for(self, c: list[Any]) -> _RawCount:
        return _RawCount(c[1], c[2], _text(c))

    def cycle(self, c: list[Any]) -> tuple[Freq, Count]:
        freq, raw = c
        if freq.interval_day <= 0:
            raise InputError(
                f"a cycle needs a repeat interval, got {freq.text!r}", field="cycles", value=freq.text
            )
        return freq, raw.checked("cycles")

    def schedule(self, c: list[Any]) -> Schedule:
        freq = c[0] if isinstance(c[0], Freq) else None
        rest = c[1:] if freq is not None else c
        count = rest[0].checked("count") if rest else None
        cycle = rest[1] if len(rest) > 1 else None
        return Schedule(freq, count, cycle)

    def segment(self, c: list[Any]) -> Segment:
        (amount, unit, per_m2, rate), route, *rest = c
        schedule = Schedule(None, None, None)
        mods: dict[str, Modifier] = {}
        for item in rest:
            if isinstance(item, Schedule):
                schedule = item
                continue
            if item.kind in mods:
                raise InputError(f"given twice, got {item.text!r}", field=item.kind, value=item.text)
            mods[item.kind] = item
        duration = mods.get("duration")
        start = mods.get("start")
        return Segment(
            amount=amount,
            unit=unit,
            per_m2=per_m2,
            rate_per_day=rate,
            route=route,
            schedule=schedule,
            duration_day=duration.day if duration else None,
            start_day=start.day if start else 0.0,
        )

    def start(self, c: list[Any]) -> list[Segment]:
        return [s for s in c if isinstance(s, Segment)]


@functools.cache
def _parser() -> Lark:
    """The LALR parser of ``regimen.lark`` (built once per process, on first use: lark is
    imported lazily so that ``import il2sim`` stays fast)."""
    from lark import Lark

    grammar = resources.files("il2sim.regimen").joinpath("regimen.lark").read_text("utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", transformer=_Builder())


def parse_spec(text: str, *, max_events: int | None = None) -> Regimen:
    """Parse a regimen text spec (see the module docstring) into a :class:`Regimen`.

    Raises :class:`~il2sim.errors.InputError` naming the field and value on bad input, and
    when the text would expand to more than ``max_events`` events.
    """
    from lark.exceptions import UnexpectedInput

    if not isinstance(text, str) or not text.strip():
        raise InputError(f"empty regimen text, got {text!r}", field="regimen", value=text)
    if max_events is None:
        max_events = int(limit("administrations"))
    if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 1:
        raise InputError(
            f"must be a whole number >= 1, got {max_events!r}", field="max_events", value=max_events
        )
    parser = _parser()
    try:
        segments = cast(list[Segment], parser.parse(text))
    except UnexpectedInput:
        raise syntax_error(parser, text) from None
    plans = [plan(seg) for seg in segments]
    total = sum(p.n_events for p in plans)
    if total > max_events:
        shown = f"{total:,}" if total < 10**15 else f"about {float(total):.3g}"
        raise InputError(
            f"expands to {shown} dosing events, more than the limit of {max_events:,} "
            "(override with IL2SIM_LIMIT_ADMINISTRATIONS=N, or parse_spec(..., max_events=N))",
            field="regimen",
            value=total,
        )
    events = [e for seg, p in zip(segments, plans, strict=True) for e in expand(seg, p)]
    return Regimen(tuple(events), spec=text.strip())
