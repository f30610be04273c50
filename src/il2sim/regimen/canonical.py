"""Canonical regimen text: :func:`format_spec` writes any :class:`Regimen` as text that
:func:`il2sim.regimen.spec.parse_spec` reads back to the same events.

One ``@START`` per segment; runs of equally spaced identical doses are collapsed into
``qNd xK`` (``q8h`` when the interval is a whole number of hours) and repeated blocks into
cycles (``qd x3 q14d x6``); infusions are written as their total amount ``over`` their length;
start times are rounded to 1e-10 day.  :func:`arithmetic_runs` is shared with the NONMEM
writer (``II``/``ADDL`` rows).
"""

from __future__ import annotations

import numpy as np

from il2sim import units
from il2sim.regimen.events import Regimen, Route

__all__ = ["arithmetic_runs", "format_spec"]

#: Absolute tolerance (days) used when grouping event times into equally spaced runs.
_TIME_TOL_DAY = 1e-9

#: Canonical route words.
_ROUTE_TEXT = {
    Route.SC: "sc",
    Route.IM: "im",
    Route.IV_BOLUS: "iv bolus",
    Route.IV_INFUSION: "iv infusion",
}


def _fmt(x: float) -> str:
    """Shortest text that reads back as exactly ``x``."""
    return str(np.format_float_positional(float(x), trim="-"))


def _fmt_time(day: float) -> str:
    """A time in days rounded to 1e-10 day (about 10 us), so canonical text is stable."""
    return _fmt(round(day, 10))


def _fmt_span(day: float, *, allow_hours: bool = True) -> str:
    hours = day * units.HOURS_PER_DAY
    if allow_hours and day < 1 and float(units.hours_to_days(float(_fmt(hours)))) == day:
        return f"{_fmt(hours)}h"
    return f"{_fmt(day)}d"


def _fmt_interval(day: float) -> str:
    if day == 1.0:
        return "qd"
    hours = day * units.HOURS_PER_DAY
    if day < 1 and abs(hours - round(hours)) < 1e-9 and round(hours) > 0:
        return f"q{round(hours)}h"
    return f"q{_fmt_time(day)}d"


def _interval_value(text: str) -> float:
    """The interval (days) the parser reads from a canonical ``qd`` / ``qNh`` / ``qNd``."""
    if text == "qd":
        return 1.0
    unit = {"h": "h", "d": "d"}[text[-1]]
    return float(units.time_to_days(float(text[1:-1]), unit))


def arithmetic_runs(times: list[float]) -> list[tuple[float, float, int]]:
    """Split times into greedy runs of equal spacing: ``(start, interval, n)``.

    ``interval`` is 0 for a run of one.  Two times are equal, or two gaps equally spaced,
    when they match to ``1e-9`` day.  Repeated times (two identical doses at once) go into
    separate layers: the first copy of every time, then the second copies, and so on.
    """
    runs: list[tuple[float, float, int]] = []
    remaining = sorted(times)
    while remaining:
        layer: list[float] = []
        rest: list[float] = []
        for t in remaining:
            if layer and t - layer[-1] <= _TIME_TOL_DAY:
                rest.append(t)
            else:
                layer.append(t)
        runs.extend(_layer_runs(layer))
        remaining = rest
    return runs


def _layer_runs(times: list[float]) -> list[tuple[float, float, int]]:
    runs: list[tuple[float, float, int]] = []
    i = 0
    n = len(times)
    while i < n:
        if i + 1 >= n:
            runs.append((times[i], 0.0, 1))
            i += 1
            continue
        step = times[i + 1] - times[i]
        j = i + 1
        while j + 1 < n and abs((times[j + 1] - times[i]) - (j + 1 - i) * step) <= _TIME_TOL_DAY:
            j += 1
        runs.append((times[i], step, j - i + 1))
        i = j + 1
    return runs


def _interval_text(step: float, n: int) -> str:
    """Text of a dosing interval: ``qd``, ``q8h``, ``q2d`` or the interval rounded to 1e-10
    day, unless rounding would move the last of ``n`` doses by more than 1e-9 day; then the
    exact shortest repr."""
    text = _fmt_interval(step)
    if abs(_interval_value(text) - step) * max(n - 1, 1) <= _TIME_TOL_DAY:
        return text
    return f"q{_fmt(step)}d"


def format_spec(regimen: Regimen) -> str:
    """Canonical text of ``regimen``: parses back (:func:`parse_spec`) to the same events.

    Events with identical dose, unit, basis, route and duration are grouped; each group's
    times are split into equally spaced runs (``qNd xK @START``), and runs of equal shape
    repeated at equal spacing become cycles (``... q14d x6``).
    """
    groups: dict[tuple[float, str, bool, Route, float], list[float]] = {}
    for e in regimen.events:
        key = (e.amount, e.amount_unit, e.per_m2, e.route, e.duration_day)
        groups.setdefault(key, []).append(e.time_day)
    parts: list[tuple[float, str]] = []
    for (amount, unit, per_m2, route, dur), times in groups.items():
        runs = arithmetic_runs(sorted(times))
        for start, step, n, cyc, n_cyc in _cycles(runs):
            words = [f"{_fmt(amount)} {unit}{'/m2' if per_m2 else ''}"]
            words.append(_ROUTE_TEXT[route])
            if route is Route.IV_INFUSION:
                words.append(f"over {_fmt_span(dur)}")
            if n > 1:
                words.append(f"{_interval_text(step, n)} x{n}")
            if n_cyc > 1:
                words.append(f"{_interval_text(cyc, n_cyc)} x{n_cyc}")
            if _fmt_time(start) != "0":  # a start below 5e-11 day is written as day 0
                words.append(f"@{_fmt_time(start)}")
            parts.append((start, " ".join(words)))
    parts.sort(key=lambda p: round(p[0], 10))  # by the start as written (stable)
    return " + ".join(p[1] for p in parts)


def _cycles(
    runs: list[tuple[float, float, int]],
) -> list[tuple[float, float, int, float, int]]:
    """Merge consecutive runs of the same shape whose starts are equally spaced into cycles.

    Returns ``(start, step, n, cycle_interval, n_cycles)``.
    """
    out: list[tuple[float, float, int, float, int]] = []
    i = 0
    while i < len(runs):
        start, step, n = runs[i]
        j = i
        cyc = 0.0
        if n > 1 and i + 1 < len(runs) and runs[i + 1][2] == n:
            cyc = runs[i + 1][0] - start
            span = step * (n - 1)
            if cyc > span + _TIME_TOL_DAY and abs(runs[i + 1][1] - step) <= _TIME_TOL_DAY:
                while (
                    j + 1 < len(runs)
                    and runs[j + 1][2] == n
                    and abs(runs[j + 1][1] - step) <= _TIME_TOL_DAY
                    and abs(runs[j + 1][0] - start - (j + 1 - i) * cyc) <= _TIME_TOL_DAY
                ):
                    j += 1
        n_cyc = j - i + 1
        out.append((start, step, n, cyc if n_cyc > 1 else 0.0, n_cyc))
        i = j + 1
    return out
