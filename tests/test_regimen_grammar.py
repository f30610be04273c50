"""The lark regimen grammar: round trips from arbitrary regimens, clause order, limits, errors.

``test_regimen_spec.py`` holds the must-parse examples and the round trip of generated text;
here the round trip starts from random *events* (any times, amounts, units, routes, infusion
lengths), so :func:`format_spec` must find a text for whatever it is given.  Events come back
with times within 1e-9 day and exact amounts for any regimen; the canonical text is also a
fixed point (format -> parse -> format gives the same text) when the times lie on a 1/1000-day
grid.  For arbitrary float times it need not be: near-coincident times (1e-10 day apart after
rounding) can be grouped differently on the second pass, changing the last digit of an
interval (the events still agree to 1e-9 day).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from il2sim.errors import InputError
from il2sim.regimen import DoseEvent, Regimen, Route, format_spec, parse_spec
from il2sim.regimen.spec import MAX_EVENTS

_UNITS = ["IU", "kIU", "MIU", "ug", "mg"]


@st.composite
def regimens(draw: st.DrawFn) -> Regimen:
    """Random regimens: injections at random or regular times, infusions that do not overlap."""
    events: list[DoseEvent] = []
    for _ in range(draw(st.integers(1, 4))):
        amount = draw(st.floats(1e-3, 1e4, allow_nan=False).map(lambda x: float(f"{x:.6g}")))
        unit = draw(st.sampled_from(_UNITS))
        per_m2 = draw(st.booleans())
        route = draw(st.sampled_from([Route.SC, Route.IM, Route.IV_BOLUS]))
        if draw(st.booleans()):  # a regular run, possibly repeated in cycles
            start = draw(st.integers(0, 400)) / 8
            step = draw(st.sampled_from([0.25, 1 / 3, 0.5, 1.0, 2.0, 7.0, 1.5]))
            n = draw(st.integers(1, 12))
            cycles = draw(st.integers(1, 3))
            gap = (n - 1) * step + draw(st.integers(1, 10))
            times = [start + c * gap + k * step for c in range(cycles) for k in range(n)]
        elif draw(st.booleans()):  # any float times
            times = draw(st.lists(st.floats(0, 400, allow_subnormal=False), min_size=1, max_size=6))
        else:  # times on a 1/1000-day grid
            times = draw(st.lists(st.integers(0, 400_000), min_size=1, max_size=6))
            times = [t / 1000 for t in times]
        events += [DoseEvent(t, amount, unit, per_m2, route) for t in times]
    if draw(st.booleans()):  # back-to-back infusions
        t = draw(st.integers(0, 100)) / 4
        for _ in range(draw(st.integers(1, 3))):
            length = draw(st.sampled_from([0.25, 0.5, 1.0, 5.0, 56.0]))
            events.append(DoseEvent(t, 2.5, "MIU", True, Route.IV_INFUSION, length))
            t += length + draw(st.sampled_from([0.0, 1.0, 3.5]))
    return Regimen(tuple(events))


def _rows(reg: Regimen) -> np.ndarray:
    """(time, route, amount IU at 1.7 m2, duration) rows, sorted with times rounded to 1e-6."""
    a = reg.arrays(1.7)
    rows = np.column_stack([a.time_day, a.route, a.amount_iu[0], a.duration_day])
    return rows[np.lexsort((rows[:, 3], rows[:, 2], rows[:, 1], np.round(rows[:, 0], 6)))]


@settings(max_examples=200, deadline=None)
@given(regimens())
def test_format_then_parse_gives_the_same_events(reg: Regimen) -> None:
    text = format_spec(reg)
    back = parse_spec(text)
    assert len(back) == len(reg)
    got, want = _rows(back), _rows(reg)
    np.testing.assert_allclose(got[:, 0], want[:, 0], rtol=0, atol=1e-9)  # times to 1e-9 day
    np.testing.assert_array_equal(got[:, 1:], want[:, 1:])  # routes, amounts, lengths exact
    if all(abs(t * 1000 - round(t * 1000)) < 1e-6 for t in want[:, 0]):
        assert format_spec(back) == text  # the canonical text is a fixed point


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("15 MIU/m2 sc @42 qd x3", "15 MIU/m2 sc qd x3 @42"),
        ("1 MIU iv infusion over 6h qd x5 @1", "1 MIU iv infusion over 6h qd x5 @1"),
        ("1 MIU iv infusion @1 over 6h qd x5", "1 MIU iv infusion over 6h qd x5 @1"),
        ("1 MIU iv infusion qd x5 @1 over 6h", "1 MIU iv infusion over 6h qd x5 @1"),
        ("1 MIU sc x3 q14d x2", "1 MIU sc qd x3 q14d x2"),
        ("1 MIU sc qd x3 q2d x1", "1 MIU sc qd x3"),  # one cycle cannot overlap itself
        ("1 MIU civ x5d q7d x4", "1 MIU iv infusion over 5d q7d x4"),
        ("10 μg sc", "10 ug sc"),  # Greek mu as well as the micro sign
        ("1 MIU sc qd x5 + 2 MIU sc qd x5 @5", "1 MIU sc qd x5 + 2 MIU sc qd x5 @5"),
        ("1MIU sc qd x2+1MIU sc qd x2@7", "1 MIU sc qd x2 q7d x2"),
    ],
)
def test_modifiers_before_or_after_the_schedule(text: str, canonical: str) -> None:
    assert format_spec(parse_spec(text)) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 MIU/m2 sc qd bid x5", "frequency: a second frequency needs a count before it"),
        ("1 MIU sc qd @42 x3", "count: 'x3' must stay with the rest of the schedule"),
        ("1 MIU sc qd x3 @42 q14d x6", "frequency: 'q14d' must stay with the rest of the"),
        ("1 MIU sc qd x3 q2d x2", "cycles: the repeat interval must be longer than the block"),
        ("1 MIU sc qd x3 q14d @2", "cycles: a repeat interval needs a count, e.g. q14d x6"),
        ("1 MIU sc qd x2 once x3", "cycles: a cycle needs a repeat interval, got 'once'"),
        ("1 MIU/xyz sc", "dose: expected /m2, /day or /h after the unit, got '/xyz'"),
        ("1", "unit: missing after the dose number"),
        ("1 MIU sc q2", "frequency: expected qNd, qNh or qNw, got 'q2'"),
        ("1 MIU sc x", "count: expected xN or xNd, got 'x'"),
        ("1 MIU sc qd x3 + + 1 MIU sc", "regimen: empty segment"),
        ("1 MIU sc qd x3 x", "count: too many counts, got 'x'"),
        ("1 MIU sc @nan", "start: must be a finite number, got 'nan'"),
        ("1 MIU sc qd x1e400", "count: must be a finite number, got '1e400'"),
    ],
)
def test_errors_name_the_clause(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_spec(text)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_size_limit_is_checked_before_expanding() -> None:
    with pytest.raises(InputError, match=r"^regimen: expands to 99,999,999,999 dosing events"):
        parse_spec("1 MIU sc qd x99999999999")  # would need ~10 TB of events
    with pytest.raises(InputError, match="more than the limit of 100,000"):
        parse_spec("1 MIU sc qd x3 q14d x999999999")
    assert len(parse_spec(f"1 MIU sc q1h x{MAX_EVENTS}")) == MAX_EVENTS
    assert len(parse_spec("1 MIU sc qd x5", max_events=5)) == 5
    with pytest.raises(InputError, match="limit of 4"):
        parse_spec("1 MIU sc qd x5", max_events=4)
    with pytest.raises(InputError, match=r"^max_events:"):
        parse_spec("1 MIU sc", max_events=0)


@pytest.mark.parametrize(
    "text", ["1 MIU/m2 sc qd bid x5", "\uff11 MIU sc", "1e-320 MIU sc", "1 MIU sc qd x99999999999"]
)
def test_cli_rejects_with_one_line_and_exit_2(text: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "il2sim.cli.main", "regimen", "show", text],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("il2sim: error:"), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
