"""Python regimen builders (il2sim.regimen.builders) agree with the text grammar."""

from __future__ import annotations

import numpy as np
import pytest

from il2sim.errors import InputError
from il2sim.regimen import (
    Route,
    bolus,
    combine,
    daily,
    daily_regimen,
    every,
    infusion,
    parse_spec,
    pulses,
)
from test_regimen_spec import PULSE, canon


@pytest.mark.parametrize(
    ("built", "text"),
    [
        (daily_regimen(1.25, 90), "1.25 MIU/m2 sc qd x90"),
        (daily(15, 5, per_m2=False), "15 MIU sc qd x5"),
        (bolus(1.0), "1 MIU/m2 iv bolus"),
        (infusion(0.45, 56), "0.45 MIU/m2/day iv infusion x56d"),
        (every(2, 7, 4, route="im", unit="ug", per_m2=False, start_day=3), "2 ug im qw x4 @3"),
        (pulses(15, 3, 14, 2, start_day=42, background=daily(1.25, 84)), PULSE),
        (pulses(15, 3, 14, 6, start_day=42), "15 MIU/m2 sc qd x3 q14d x6 @42"),
        (combine(daily(1.25, 84), bolus(1, day=10)), "1.25 MIU/m2 sc qd x84 + 1 MIU/m2 iv @10"),
    ],
)
def test_builders_match_text(built: object, text: str) -> None:
    from il2sim.regimen import Regimen

    assert isinstance(built, Regimen)
    ref = parse_spec(text)
    np.testing.assert_allclose(canon(built, 1.9), canon(ref, 1.9), rtol=1e-12)
    # the builder's spec is the canonical text and parses back to the same events
    assert built.spec is not None
    np.testing.assert_allclose(canon(parse_spec(built.spec), 1.9), canon(ref, 1.9), rtol=1e-12)


def test_daily_regimen_route() -> None:
    reg = daily_regimen(1.0, 3, route="im")
    assert {e.route for e in reg.events} == {Route.IM}


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: daily(1.25, 0), "days:"),
        (lambda: daily(-1.0, 3), "dose:"),
        (lambda: infusion(0.45, 0), "duration:"),
        (lambda: pulses(15, 3, 2, 2), "every_day:"),
        (lambda: every(1, 0, 3), "interval_day:"),
        (lambda: every(1, 1, 3, route="iv infusion"), "route:"),
        (lambda: daily(1, 3, route="oral"), "route:"),
        (lambda: combine(), "regimen:"),
    ],
)
def test_builder_errors(call: object, field: str) -> None:
    with pytest.raises(InputError) as info:
        call()  # type: ignore[operator]
    assert str(info.value).startswith(field), str(info.value)
