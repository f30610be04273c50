"""DoseEvent is a value: equal (and hashing equal) exactly when every field is equal (issue 12).

v0.1 compared only ``time_day`` (``compare=False`` on amount, unit, basis, route and duration),
so ``DoseEvent(0, 1) == DoseEvent(0, 500, "mg", False, "iv_bolus")`` and both hashed equal:
a set or dict of events silently dropped different doses given at the same time.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from il2sim.errors import InputError
from il2sim.regimen import DoseEvent, Regimen, Route, parse_spec

_UNITS = {"IU": "IU", "kiu": "kIU", "MIU": "MIU", "mu": "MIU", "ug": "ug", "mcg": "ug", "mg": "mg"}


@st.composite
def event_fields(draw: st.DrawFn) -> tuple[float, float, str, bool, Route, float]:
    """Fields of a valid event (a small value set, so that equal draws happen often)."""
    route = draw(st.sampled_from(list(Route)))
    duration = draw(st.sampled_from([0.25, 1.0, 5.0])) if route is Route.IV_INFUSION else 0.0
    return (
        draw(st.sampled_from([0.0, 0.5, 1.0, 7.0])),
        draw(st.sampled_from([0.4, 1.0, 1.25, 500.0])),
        draw(st.sampled_from(sorted(_UNITS))),
        draw(st.booleans()),
        route,
        duration,
    )


def normalised(f: tuple[float, float, str, bool, Route, float]) -> tuple[object, ...]:
    return (f[0], f[1], _UNITS[f[2]], f[3], f[4], f[5])


def test_the_issue_example() -> None:
    a = DoseEvent(0, 1)
    b = DoseEvent(0, 500, "mg", False, "iv_bolus")
    assert a != b
    assert len({a, b}) == 2
    assert DoseEvent(0, 1) == DoseEvent(0.0, 1.0, "MIU", True, Route.SC, 0.0)
    assert len({DoseEvent(0, 1), DoseEvent(0.0, 1.0, "miu", True, "sc")}) == 1


@settings(max_examples=300, deadline=None)
@given(event_fields(), event_fields())
def test_equality_and_hash_follow_every_field(
    fa: tuple[float, float, str, bool, Route, float],
    fb: tuple[float, float, str, bool, Route, float],
) -> None:
    a, b = DoseEvent(*fa), DoseEvent(*fb)
    same = normalised(fa) == normalised(fb)
    assert (a == b) is same
    assert (a != b) is not same
    if same:
        assert hash(a) == hash(b)
    # a set keeps one copy of equal events and every different one
    assert len({a, b}) == (1 if same else 2)


@settings(max_examples=100, deadline=None)
@given(event_fields(), st.sampled_from(["time_day", "amount", "amount_unit", "per_m2"]))
def test_changing_one_field_breaks_equality(
    f: tuple[float, float, str, bool, Route, float], name: str
) -> None:
    from dataclasses import replace

    a = DoseEvent(*f)
    other = {
        "time_day": a.time_day + 1.0,
        "amount": a.amount * 2.0,
        "amount_unit": "IU" if a.amount_unit != "IU" else "mg",
        "per_m2": not a.per_m2,
    }[name]
    assert replace(a, **{name: other}) != a


def test_route_and_duration_count() -> None:
    inf = DoseEvent(0.0, 1.0, route=Route.IV_INFUSION, duration_day=1.0)
    assert inf != DoseEvent(0.0, 1.0, route=Route.IV_INFUSION, duration_day=2.0)
    assert DoseEvent(0.0, 1.0, route="im") != DoseEvent(0.0, 1.0, route="sc")


def test_events_have_no_implicit_order() -> None:
    with pytest.raises(TypeError):
        _ = DoseEvent(0.0, 1.0) < DoseEvent(1.0, 1.0)  # type: ignore[operator]


def test_regimen_sorts_by_time_and_keeps_ties_in_given_order() -> None:
    rng = random.Random(7)
    events = [DoseEvent(float(d), 1.0 + k) for d in range(10) for k in range(3)]
    shuffled = events[:]
    rng.shuffle(shuffled)
    reg = Regimen(tuple(shuffled))
    assert [e.time_day for e in reg.events] == sorted(e.time_day for e in events)
    for day in range(10):
        same_day = [e for e in reg.events if e.time_day == day]
        assert same_day == [e for e in shuffled if e.time_day == day]  # stable
    assert sorted(reg.events, key=lambda e: e.time_day) == list(reg.events)


def test_pulse_days_keep_both_doses_in_a_set() -> None:
    reg = parse_spec("1.25 MIU/m2 sc qd x84 + 15 MIU/m2 sc qd x3 @42 + 15 MIU/m2 sc qd x3 @56")
    assert len(set(reg.events)) == 90  # v0.1: 84 (a pulse dose equalled the background dose)


@pytest.mark.parametrize(
    ("kwargs", "prefix"),
    [
        ({"per_m2": "yes"}, "per_m2: must be True or False"),
        ({"amount_unit": 5}, "unit: unknown unit 5"),
        ({"time_day": 1e-320}, "time: must be 0 or at least"),
    ],
)
def test_bad_fields_name_the_field(kwargs: dict[str, object], prefix: str) -> None:
    fields: dict[str, object] = {"time_day": 0.0, "amount": 1.0, **kwargs}
    with pytest.raises(InputError) as info:
        DoseEvent(**fields)  # type: ignore[arg-type]
    assert str(info.value).startswith(prefix)
