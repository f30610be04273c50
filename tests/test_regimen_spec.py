"""The regimen text grammar (il2sim.regimen.spec): must-parse examples, extras, errors, round trips.

The must-parse examples are those of issue 2; the seed schedule (1.25 MIU/m2 s.c. daily for
90 days, the MTD) is from Meropol et al. 1996, Clin Cancer Res 2:669.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from il2sim.errors import Il2simError, InputError
from il2sim.regimen import Regimen, Route, format_spec, parse_spec

PULSE = "1.25 MIU/m2 sc qd x84 + 15 MIU/m2 sc qd x3 @42 + 15 MIU/m2 sc qd x3 @56"


def test_seed_regimen_is_90_daily_events() -> None:
    reg = parse_spec("1.25 MIU/m2 sc qd x90")
    assert len(reg) == 90
    np.testing.assert_array_equal([e.time_day for e in reg.events], np.arange(90.0))
    assert {(e.amount, e.amount_unit, e.per_m2, e.route) for e in reg.events} == {
        (1.25, "MIU", True, Route.SC)
    }
    # 1.25 MIU/m2 for a 1.818 m2 patient (Mosteller 170 cm / 70 kg) = 2.2725e6 IU per injection
    np.testing.assert_allclose(reg.amounts_iu(1.818), np.full(90, 1.25e6 * 1.818), rtol=1e-12)
    assert reg.spec == "1.25 MIU/m2 sc qd x90"


def test_iv_bolus() -> None:
    reg = parse_spec("1 MIU/m2 iv bolus")
    assert len(reg) == 1
    (e,) = reg.events
    assert (e.time_day, e.amount, e.route, e.duration_day, e.per_m2) == (
        0.0,
        1.0,
        Route.IV_BOLUS,
        0.0,
        True,
    )


def test_continuous_infusion_rate_form() -> None:
    reg = parse_spec("0.45 MIU/m2/day iv infusion x56d")
    assert len(reg) == 1
    (e,) = reg.events
    assert e.route is Route.IV_INFUSION
    assert e.duration_day == 56.0
    assert e.amount == pytest.approx(0.45 * 56, rel=1e-12)  # total 25.2 MIU/m2
    assert e.rate_iu_per_day(1.0) == pytest.approx(0.45e6, rel=1e-12)
    assert reg.end_day == 56.0


def test_flat_dose_ignores_bsa() -> None:
    reg = parse_spec("15 MIU sc qd x5")
    assert len(reg) == 5
    assert [e.time_day for e in reg.events] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert not any(e.per_m2 for e in reg.events)
    np.testing.assert_allclose(reg.amounts_iu(np.array([1.5, 2.2])), np.full((2, 5), 15e6))


def test_per_m2_five_days() -> None:
    reg = parse_spec("20 MIU/m2 sc qd x5")
    assert [e.time_day for e in reg.events] == [0.0, 1.0, 2.0, 3.0, 4.0]
    np.testing.assert_allclose(reg.amounts_iu(2.0), np.full(5, 40e6), rtol=1e-12)


def test_pulses_on_background_give_two_injections_on_pulse_days() -> None:
    reg = parse_spec(PULSE)
    assert len(reg) == 84 + 6
    per_day = Counter(e.time_day for e in reg.events)
    assert sorted(per_day) == [float(d) for d in range(84)]
    pulse_days = {42.0, 43.0, 44.0, 56.0, 57.0, 58.0}
    for day, n in per_day.items():
        assert n == (2 if day in pulse_days else 1), day
    high = [e.time_day for e in reg.events if e.amount == 15.0]
    assert high == sorted(pulse_days)


def test_repeated_pulses_cycle_clause() -> None:
    reg = parse_spec("15 MIU/m2 sc qd x3 q14d x6 @42")
    expected = [42 + 14 * c + d for c in range(6) for d in range(3)]
    assert [e.time_day for e in reg.events] == [float(t) for t in expected]
    # cycles given as a span: pulses starting within 12 weeks = ceil(84 / 14) = 6
    assert len(parse_spec("15 MIU/m2 sc qd x3 q14d x12w @42")) == 18


@pytest.mark.parametrize(
    ("text", "times"),
    [
        ("1 MIU sc q2d x14d", [0, 2, 4, 6, 8, 10, 12]),
        ("1 MIU sc q2d for 14 days", [0, 2, 4, 6, 8, 10, 12]),
        ("1 MIU sc qod x3", [0, 2, 4]),
        ("1 MIU sc bid x2d", [0, 0.5, 1, 1.5]),
        ("1 MIU sc q12h x4", [0, 0.5, 1, 1.5]),
        ("1 MIU sc qid x1d", [0, 0.25, 0.5, 0.75]),
        ("1 MIU im qw x4", [0, 7, 14, 21]),
        ("1 MIU im weekly x3w", [0, 7, 14]),
        ("1 MIU sc q3d x3 @10", [10, 13, 16]),
        ("1 MIU sc x3", [0, 1, 2]),
        ("1 MIU sc once @2", [2]),
        ("1 MIU sc @6h", [0.25]),
        ("1 MIU sc q2w x2", [0, 14]),
        ("1 MIU sc daily x2", [0, 1]),
    ],
)
def test_frequencies_and_counts(text: str, times: list[float]) -> None:
    reg = parse_spec(text)
    np.testing.assert_allclose([e.time_day for e in reg.events], times, rtol=0, atol=1e-12)


def test_tid_is_every_eight_hours() -> None:
    reg = parse_spec("1 MIU sc tid x2d")
    np.testing.assert_allclose([e.time_day for e in reg.events], np.arange(6) / 3.0, atol=1e-12)


@pytest.mark.parametrize(
    ("text", "iu"),
    [
        ("1000 IU sc", 1000.0),
        ("5 kIU sc", 5000.0),
        ("2 MIU sc", 2e6),
        ("2 MU sc", 2e6),
        # aldesleukin label: 16.4 MIU per mg -> 1 ug = 16,400 IU
        ("10 ug sc", 10 * 16_400.0),
        ("10 mcg sc", 10 * 16_400.0),
        ("1.1 mg sc", 1.1 * 16.4e6),
    ],
)
def test_amount_units(text: str, iu: float) -> None:
    (e,) = parse_spec(text).events
    assert e.amount_iu(1.7) == pytest.approx(iu, rel=1e-12)


def test_rate_forms() -> None:
    # a daily rate on a bid schedule = half per injection
    reg = parse_spec("2 MIU/day sc bid x10d")
    assert len(reg) == 20
    assert {e.amount for e in reg.events} == {1.0}
    # an hourly infusion rate over 6 h: 0.1 MIU/h * 6 h = 0.6 MIU total
    (e,) = parse_spec("0.1 MIU/h iv infusion over 6h").events
    assert e.duration_day == 0.25
    assert e.amount == pytest.approx(0.6, rel=1e-12)
    reg = parse_spec("1 MIU/m2 iv infusion over 6h qd x5")
    assert [e.time_day for e in reg.events] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert {e.duration_day for e in reg.events} == {0.25}


def test_case_and_space_tolerance() -> None:
    a = parse_spec("1.25 MIU/m2 sc qd x90")
    for text in (
        "1.25MIU/m2 SC QD X90",
        "  1.25 miu / m2   s.c.  qd  x 90 ",
        "1.25 MIU/m² subcutaneous daily for 90 days",
    ):
        b = parse_spec(text)
        assert [e.time_day for e in b.events] == [e.time_day for e in a.events]
        np.testing.assert_allclose(b.amounts_iu(1.8), a.amounts_iu(1.8), rtol=1e-15)
    assert parse_spec("1 MIU I.V. Bolus").events[0].route is Route.IV_BOLUS
    assert parse_spec("1 MIU iv").events[0].route is Route.IV_BOLUS
    assert parse_spec("15 MIU/m2 sc qd x3 @ day 42").start_day == 42.0


def test_format_spec_of_a_parsed_regimen_is_stable() -> None:
    # Regimen.from_spec/to_spec were removed: the parser imports the value type, so a method
    # on the value type importing the parser made an import circle (tests/test_import_layers.py)
    reg = parse_spec(PULSE)
    assert format_spec(parse_spec(format_spec(reg))) == format_spec(reg)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1.25 MIU/m2 sc qd x90", "1.25 MIU/m2 sc qd x90"),
        ("1 mu/m2 i.v.", "1 MIU/m2 iv bolus"),
        ("0.45 MIU/m2/day iv infusion x56d", "25.2 MIU/m2 iv infusion over 56d"),
        ("1 MIU iv infusion over 6 h @1", "1 MIU iv infusion over 6h @1"),
        (PULSE, "1.25 MIU/m2 sc qd x84 + 15 MIU/m2 sc qd x3 q14d x2 @42"),
        ("1 MIU sc bid x2", "1 MIU sc q12h x2"),
    ],
)
def test_format_spec_canonical_text(text: str, canonical: str) -> None:
    assert format_spec(parse_spec(text)) == canonical


# --- errors: each class names the field and the value -----------------------------------------


@pytest.mark.parametrize(
    ("text", "prefix", "needle"),
    [
        ("-1 MIU/m2 sc qd x5", "dose:", "-1.0"),
        ("0 MIU/m2 sc qd x5", "dose:", "0.0"),
        ("nan MIU/m2 sc qd x5", "dose:", "nan"),
        ("abc MIU/m2 sc qd x5", "dose:", "'abc'"),
        ("1.25 MIU/m2 sc qd x0", "count:", "0"),
        ("1.25 MIU/m2 sc qd x0d", "count:", "0d"),
        ("1.25 MIU/m2 sc qd x2.5", "count:", "'2.5'"),
        ("1.25 MIU/m2 PO qd x5", "route:", "'PO'"),
        ("1.25 XYZ/m2 sc qd x5", "unit:", "'XYZ'"),
        ("1 MIU iv infusion x5d + 1 MIU iv infusion x5d @2", "infusion:", "day 2"),
        ("1 MIU iv infusion", "duration:", "infusion needs a duration"),
        ("1 MIU iv infusion over 0h", "duration:", "0h"),
        ("1 MIU sc over 6h", "duration:", "sc"),
        ("1 MIU sc qd x5 Banana", "regimen:", "'Banana' in '1 MIU sc qd x5 Banana'"),
        ("1 MIU sc qd x5 +", "regimen:", "empty segment"),
        ("", "regimen:", "empty"),
        ("1 MIU sc qd x3 q14d", "cycles:", "count"),
        ("1 MIU sc @-2", "start:", "-2"),
        ("1 MIU sc @x", "start:", "'@x'"),
    ],
)
def test_bad_input_names_field_and_value(text: str, prefix: str, needle: str) -> None:
    with pytest.raises(InputError) as info:
        parse_spec(text)
    msg = str(info.value)
    assert msg.startswith(prefix), msg
    assert needle in msg, msg
    assert "\n" not in msg


def test_exact_negative_dose_message() -> None:
    with pytest.raises(InputError, match=r"^dose: must be positive, got -1\.0$"):
        parse_spec("-1 MIU/m2 sc qd x5")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789.-+@x qdbiwhmMIUu/m2scivnfolre", max_size=40))
def test_parser_only_raises_input_errors(text: str) -> None:
    try:
        reg = parse_spec(text)
    except Il2simError as exc:
        assert isinstance(exc, InputError)
        assert "\n" not in str(exc)
    else:
        assert len(reg) >= 1


# --- generated specs: expected events and round trips -----------------------------------------

_FREQ = {"qd": 1.0, "bid": 0.5, "q2d": 2.0, "qw": 7.0, "q8h": 1 / 3, "q3d": 3.0}
_UNITS = ["IU", "kIU", "MIU", "ug", "mg"]


@st.composite
def segment(draw: st.DrawFn) -> tuple[str, list[float], float, str]:
    """A random non-infusion segment, its expected times, dose and unit."""
    amount = draw(st.integers(1, 99_999)) / 1000
    unit = draw(st.sampled_from(_UNITS))
    per_m2 = draw(st.booleans())
    route = draw(st.sampled_from(["sc", "im", "iv bolus"]))
    freq = draw(st.sampled_from(sorted(_FREQ)))
    n = draw(st.integers(1, 20))
    start = draw(st.integers(0, 200)) / 2
    cyc = draw(st.one_of(st.none(), st.tuples(st.integers(1, 4), st.integers(2, 4))))
    text = f"{amount} {unit}{'/m2' if per_m2 else ''} {route} {freq} x{n}"
    block = [k * _FREQ[freq] for k in range(n)]
    offsets = [0.0]
    if cyc is not None:
        gap_day = math.ceil(block[-1]) + cyc[0]
        text += f" q{gap_day}d x{cyc[1]}"
        offsets = [c * gap_day for c in range(cyc[1])]
    if start:
        text += f" @{start}"
    times = [start + o + t for o in offsets for t in block]
    return text, times, amount, unit


@st.composite
def spec_text(draw: st.DrawFn) -> tuple[str, list[float]]:
    segs = draw(st.lists(segment(), min_size=1, max_size=4))
    text = " + ".join(s[0] for s in segs)
    times = [t for s in segs for t in s[1]]
    if draw(st.booleans()):
        rate = draw(st.integers(1, 999)) / 100
        days = draw(st.integers(1, 60))
        at = draw(st.integers(0, 30))
        text += f" + {rate} MIU/m2/day iv infusion x{days}d @{at}"
        times.append(float(at))
    return text, sorted(times)


def canon(reg: Regimen, bsa_m2: float = 1.7) -> np.ndarray:
    """Events as rows (time_day, route code, amount IU, duration_day), sorted."""
    a = reg.arrays(bsa_m2)
    rows = np.column_stack([a.time_day, a.route, a.amount_iu[0], a.duration_day])
    # sort on times rounded to 1e-6 day so float noise cannot swap simultaneous events
    keys = (rows[:, 3], rows[:, 2], rows[:, 1], np.round(rows[:, 0], 6))
    return rows[np.lexsort(keys)]


@settings(max_examples=150, deadline=None)
@given(spec_text())
def test_generated_specs_expand_to_expected_times(case: tuple[str, list[float]]) -> None:
    text, times = case
    reg = parse_spec(text)
    np.testing.assert_allclose([e.time_day for e in reg.events], times, rtol=0, atol=1e-9)


@settings(max_examples=150, deadline=None)
@given(spec_text())
def test_format_spec_round_trip(case: tuple[str, list[float]]) -> None:
    reg = parse_spec(case[0])
    again = parse_spec(format_spec(reg))
    np.testing.assert_allclose(canon(again), canon(reg), rtol=1e-12, atol=1e-9)
    # canonical text is a fixed point
    assert format_spec(again) == format_spec(reg)


def test_libraries_are_imported_lazily() -> None:
    """``import il2sim`` loads neither lark (first parse) nor pydantic (first grid) nor Jinja2
    (first report)."""
    import subprocess
    import sys

    code = (
        "import sys, il2sim, il2sim.sweep.grid, il2sim.report.html;"
        "print(sorted(m for m in ('lark', 'pydantic', 'jinja2') if m in sys.modules));"
        "il2sim.parse_spec('1 MIU sc'); print('lark' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "True"]
