"""Frozen copy of il2sim v0.1's hand-written regimen parser (``src/il2sim/regimen/spec.py`` before
issue 12), kept only as the baseline of ``benchmarks/bench_regimen.py``.

Not used by il2sim itself nor by its tests; do not edit (it is the "before" of the benchmark).
Only the parsing half is kept; its module docstring is shortened.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from il2sim import units
from il2sim.errors import InputError
from il2sim.regimen.events import DoseEvent, Regimen, Route, canonical_unit

__all__ = ["parse_spec"]

#: Relative/absolute tolerance used when grouping event times into equally spaced runs.
_TIME_TOL_DAY = 1e-9

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?"
_DOSE_RE = re.compile(
    rf"^(?P<num>{_NUMBER}|[-+]?nan|[-+]?inf)\s*(?P<unit>[a-zµ]+)"
    r"\s*(?P<perm2>/\s*m(?:2|\^2|²))?"
    r"\s*(?:/\s*(?P<per>day|d|hr|hour|h))?"
    r"(?P<rest>(?:\s.*)?)$",
    re.IGNORECASE,
)
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
_FREQ_RE = re.compile(rf"^q(?P<n>{_NUMBER})(?P<u>h|d|w)$", re.IGNORECASE)
_COUNT_RE = re.compile(rf"^x(?P<n>{_NUMBER})(?P<u>d|h|w|min)?$", re.IGNORECASE)
_SPAN_RE = re.compile(rf"^(?P<n>{_NUMBER})(?P<u>d|h|w|min)$", re.IGNORECASE)
_START_RE = re.compile(rf"^@(?P<n>{_NUMBER})(?P<u>d|h)?$", re.IGNORECASE)
_ROUTE_WORDS = {
    "sc",
    "s.c.",
    "subcutaneous",
    "subq",
    "im",
    "i.m.",
    "intramuscular",
    "iv",
    "i.v.",
    "bolus",
    "infusion",
    "civ",
    "ivinf",
}
_IV_SUFFIX = {"bolus": "bolus", "push": "bolus", "infusion": "infusion", "inf": "infusion"}
_SPAN_UNITS = {"d": "d", "h": "h", "w": "week", "min": "min"}


def _num(text: str, field: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise InputError(f"must be a number, got {text!r}", field=field, value=text) from None
    if not math.isfinite(x):
        raise InputError(f"must be a finite number, got {text!r}", field=field, value=text)
    return x


def _span_day(n: str, unit: str, field: str) -> float:
    x = _num(n, field)
    if x <= 0:
        raise InputError(f"must be positive, got {n}{unit}", field=field, value=x)
    return float(units.time_to_days(x, _SPAN_UNITS[unit.lower()]))


def _normalise(text: str) -> str:
    """Join numbers to their units and markers (``x 90`` -> ``x90``); keeps the user's case
    so that error messages quote what was typed."""
    i = re.IGNORECASE
    s = text.strip()
    s = re.sub(r"\b(x)\s+(?=[-+.\d])", r"\1", s, flags=i)  # "x 90" -> "x90"
    s = re.sub(r"@\s+", "@", s)  # "@ 42" -> "@42"
    s = re.sub(r"@day\s*", "@", s, flags=i)  # "@day42" -> "@42"
    s = re.sub(r"\b(q)\s+(?=\d)", r"\1", s, flags=i)  # "q 14d" -> "q14d"
    s = re.sub(
        r"(?<=\d)\s+(days?|hours?|hrs?|h|d|weeks?|wks?|w|min)\b",
        lambda m: _short_unit(m.group(1)),
        s,
        flags=i,
    )
    s = re.sub(
        r"(?<=\d)(days?|hours?|hrs?|weeks?|wks?)\b",
        lambda m: _short_unit(m.group(1)),
        s,
        flags=i,
    )
    return s


def _short_unit(word: str) -> str:
    w = word.strip().lower()
    if w.startswith("d"):
        return "d"
    if w.startswith("h"):
        return "h"
    if w.startswith("w"):
        return "w"
    return "min"


@dataclass(frozen=True)
class _Segment:
    """One parsed ``+`` segment before expansion (amounts per administration)."""

    amount: float
    unit: str
    per_m2: bool
    rate_per_day: bool
    route: Route
    interval_day: float | None
    count: int | None
    span_day: float | None
    duration_day: float | None
    cycle_day: float | None
    n_cycles: int | None
    cycle_span_day: float | None
    start_day: float


def _parse_dose(seg: str) -> tuple[float, str, bool, bool, str]:
    m = _DOSE_RE.match(seg)
    if m is None:
        first = seg.split()[0] if seg.split() else seg
        lead = re.match(rf"^{_NUMBER}", first)
        if lead is None:
            raise InputError(f"must be a number, got {first!r}", field="dose", value=first)
        raise InputError(
            f"expected a dose like '1.25 MIU/m2', got {seg!r}", field="dose", value=seg
        )
    amount = _num(m.group("num"), "dose")
    if amount <= 0:
        raise InputError(f"must be positive, got {amount!r}", field="dose", value=amount)
    unit = canonical_unit(m.group("unit"))
    per = (m.group("per") or "").lower() or None
    rate = per is not None
    rest = m.group("rest")
    if per in ("h", "hr", "hour"):
        amount = amount * units.HOURS_PER_DAY
    return amount, unit, m.group("perm2") is not None, rate, rest


def _parse_freq(tok: str) -> float | None:
    if tok.lower() in _FREQ_FIXED_DAY:
        return _FREQ_FIXED_DAY[tok.lower()]
    m = _FREQ_RE.match(tok)
    if m is None:
        return None
    return _span_day(m.group("n"), m.group("u"), "frequency")


def _parse_segment(seg: str) -> _Segment:
    amount, unit, per_m2, rate, rest = _parse_dose(seg)
    toks = rest.split()
    if not toks:
        raise InputError(f"missing after the dose in {seg!r}", field="route", value=None)
    route_tok = toks.pop(0)
    if route_tok.lower() not in _ROUTE_WORDS:
        raise InputError(
            f"unknown route {route_tok!r} (expected sc, im, iv bolus or iv infusion)",
            field="route",
            value=route_tok,
        )
    if route_tok.lower() in ("iv", "i.v.") and toks and toks[0].lower() in _IV_SUFFIX:
        route_tok = "iv " + _IV_SUFFIX[toks.pop(0).lower()]
    route = Route.parse(route_tok)

    interval: float | None = None
    count: int | None = None
    span: float | None = None
    duration: float | None = None
    cycle: float | None = None
    n_cycles: int | None = None
    cycle_span: float | None = None
    start = 0.0
    seen_start = False
    i = 0
    while i < len(toks):
        tok = toks[i]
        low = tok.lower()
        i += 1
        freq = _parse_freq(tok)
        if freq is not None:
            if interval is None and count is None and span is None:
                interval = freq
            elif cycle is None:
                cycle = freq
                if cycle <= 0:
                    raise InputError(
                        f"a cycle needs a repeat interval, got {tok!r}", field="cycle", value=tok
                    )
            else:
                raise InputError(f"too many frequencies, got {tok!r}", field="frequency", value=tok)
            continue
        m = _COUNT_RE.match(tok)
        if m is not None or low == "for":
            if low == "for":
                if i >= len(toks) or _SPAN_RE.match(toks[i]) is None:
                    nxt = toks[i] if i < len(toks) else ""
                    raise InputError(
                        f"'for' needs a span like 14d, got {nxt!r}", field="count", value=nxt
                    )
                sm = _SPAN_RE.match(toks[i])
                assert sm is not None
                i += 1
                n_txt, u = sm.group("n"), sm.group("u")
            else:
                assert m is not None
                n_txt, u = m.group("n"), m.group("u")
            if cycle is not None:
                if n_cycles is not None or cycle_span is not None:
                    raise InputError(f"too many counts, got {tok!r}", field="count", value=tok)
                if u is None:
                    n_cycles = _count(n_txt, "cycles")
                else:
                    cycle_span = _span_day(n_txt, u, "cycles")
                continue
            if count is not None or span is not None:
                raise InputError(f"too many counts, got {tok!r}", field="count", value=tok)
            if u is None:
                count = _count(n_txt, "count")
            else:
                span = _span_day(n_txt, u, "count")
            continue
        if low == "over":
            if i >= len(toks) or _SPAN_RE.match(toks[i]) is None:
                nxt = toks[i] if i < len(toks) else ""
                raise InputError(
                    f"'over' needs a duration like 6h, got {nxt!r}", field="duration", value=nxt
                )
            sm = _SPAN_RE.match(toks[i])
            assert sm is not None
            i += 1
            if duration is not None:
                raise InputError("given twice", field="duration", value=toks[i - 1])
            duration = _span_day(sm.group("n"), sm.group("u"), "duration")
            continue
        sm = _START_RE.match(tok)
        if sm is not None:
            if seen_start:
                raise InputError(f"given twice, got {tok!r}", field="start", value=tok)
            seen_start = True
            x = _num(sm.group("n"), "start")
            if x < 0:
                raise InputError(f"must be >= 0, got {x!r}", field="start", value=x)
            start = float(units.time_to_days(x, sm.group("u") or "d"))
            continue
        if tok.startswith("@"):
            raise InputError(f"expected @DAY, got {tok!r}", field="start", value=tok)
        if low.startswith("x"):
            raise InputError(f"expected xN or xNd, got {tok!r}", field="count", value=tok)
        raise InputError(f"unexpected {tok!r} in {seg.strip()!r}", field="regimen", value=tok)

    if cycle is not None and n_cycles is None and cycle_span is None:
        raise InputError("a repeat interval needs a count, e.g. q14d x6", field="cycles")
    return _Segment(
        amount=amount,
        unit=unit,
        per_m2=per_m2,
        rate_per_day=rate,
        route=route,
        interval_day=interval,
        count=count,
        span_day=span,
        duration_day=duration,
        cycle_day=cycle,
        n_cycles=n_cycles,
        cycle_span_day=cycle_span,
        start_day=start,
    )


def _count(text: str, field: str) -> int:
    x = _num(text, field)
    if x != int(x):
        raise InputError(f"must be a whole number, got {text!r}", field=field, value=x)
    if x < 1:
        raise InputError(f"must be at least 1, got {int(x)}", field=field, value=int(x))
    return int(x)


def _n_within(span_day: float, interval_day: float) -> int:
    """Number of starts k * interval strictly before ``span_day`` (tolerant to rounding)."""
    return max(1, math.ceil(span_day / interval_day - 1e-9))


def _expand(seg: _Segment) -> list[DoseEvent]:
    infusion = seg.route is Route.IV_INFUSION
    interval = seg.interval_day
    duration = seg.duration_day
    span = seg.span_day
    count = seg.count
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
        times = [0.0]
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
        times = [k * interval for k in range(n)]
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
    offsets = [0.0]
    if seg.cycle_day is not None:
        n_cyc = (
            seg.n_cycles
            if seg.n_cycles is not None
            else _n_within(seg.cycle_span_day or 0.0, seg.cycle_day)
        )
        offsets = [c * seg.cycle_day for c in range(n_cyc)]
    dur = duration if infusion else 0.0
    assert dur is not None
    return [
        DoseEvent(
            time_day=seg.start_day + off + t,
            amount=amount,
            amount_unit=seg.unit,
            per_m2=seg.per_m2,
            route=seg.route,
            duration_day=dur,
        )
        for off in offsets
        for t in times
    ]


def parse_spec(text: str) -> Regimen:
    """Parse a regimen text spec (see the module docstring) into a :class:`Regimen`.

    Raises :class:`~il2sim.errors.InputError` naming the field and value on bad input.
    """
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"empty regimen text, got {text!r}", field="regimen", value=text)
    norm = _normalise(text)
    events: list[DoseEvent] = []
    for part in norm.split("+"):
        if not part.strip():
            raise InputError(f"empty segment in {text!r}", field="regimen", value=text)
        events.extend(_expand(_parse_segment(part.strip())))
    return Regimen(tuple(events), spec=text.strip())


