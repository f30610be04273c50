"""The study clock: every per-patient outcome is timed from the first dose (issue 10, item 5).

Shifting a regimen and its horizon by a whole number of days changes no per-patient outcome
(model or toxicity); antibody outcomes are invariant to any shift.  The v0.1 numbers of the
shifted seed regimen (clocks from model day 0) are listed old -> new below.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from il2sim.population import Population
from il2sim.regimen import Regimen, parse_spec
from il2sim.simulate import simulate
from il2sim.toxicity import (
    DLTDefinition,
    load_toxicity_parameters,
    observed_days,
    realise_toxicity,
    summarise,
    treated_days,
)

TOX = load_toxicity_parameters()
POP = Population.sample(5, 11)

#: ``il2sim simulate --regimen SPEC [--horizon-days H] --json`` (100 patients, seed 0) on
#: v0.1 (commit 168617a, tests/golden/v1/COMMIT), where the DLT window and the antibody
#: exposure were counted from model day 0.
V01 = {
    ("1.25 MIU/m2 sc qd x90 @300", 400.0): {
        "dlt_probability": 0.0,
        "ada_incidence": 0.2997830702887649,
    },
    ("1.25 MIU/m2 sc qd x90", None): {
        "dlt_probability": 0.18403578955077168,
        "ada_incidence": 0.07894736842105263,
    },
}


def test_shifted_seed_regimen_old_to_new() -> None:
    """v0.1 -> now.  ``x90 @300`` over 400 days: DLT probability 0 -> 0.184 and antibody
    incidence 0.300 -> 0.079, the values of the same regimen from day 0, which are unchanged
    (``1 - exp(-lambda 90) = 3/38``, Meropol 1996)."""
    shifted = summarise(parse_spec("1.25 MIU/m2 sc qd x90 @300"), 100, 0, horizon_day=400.0)
    day0 = summarise(parse_spec("1.25 MIU/m2 sc qd x90"), 100, 0)
    old_shifted = V01[("1.25 MIU/m2 sc qd x90 @300", 400.0)]
    old_day0 = V01[("1.25 MIU/m2 sc qd x90", None)]
    for key, old in old_day0.items():
        assert day0[key] == pytest.approx(old, rel=1e-4), key  # day 0: unchanged
        assert shifted[key] == pytest.approx(day0[key], rel=1e-9), key  # shifted: as day 0
        assert abs(shifted[key] - old_shifted[key]) > 0.05, key  # ... and no longer v0.1's
    assert day0["ada_incidence"] == pytest.approx(3 / 38, rel=1e-9)
    for key in day0:
        if key.startswith("p_grade1plus_"):
            assert shifted[key] == pytest.approx(day0[key], rel=1e-9), key


def test_treated_and_observed_periods() -> None:
    """Treated period = one dosing interval after the last administration ends, from the
    first dose, in whole days; observed = cut at the horizon."""
    cases = {
        "1.25 MIU/m2 sc qd x90": 90.0,
        "1 MIU/m2 iv bolus": 1.0,
        "1 MIU/m2 iv infusion over 6h": 2.0,
        "0.45 MIU/m2/day iv infusion x56d": 57.0,
        "20 MIU/m2 sc qd x5": 5.0,
        "1.25 MIU/m2 sc qd x84 + 15 MIU/m2 sc qd x3 @42 + 15 MIU/m2 sc qd x3 @56": 84.0,
        "2 MIU sc q7d x12": 84.0,
    }
    for spec, days in cases.items():
        reg = parse_spec(spec)
        assert treated_days(reg) == days, spec
        shifted = parse_spec(f"{spec} @0.3") if "+" not in spec else reg
        assert treated_days(shifted) == days, spec
    reg = parse_spec("1.25 MIU/m2 sc qd x90 @300")
    assert observed_days(reg, 400.0) == 90.0
    assert observed_days(reg, 330.0) == 30.0
    assert observed_days(reg, 200.0) == 0.0


def test_horizon_before_the_first_dose_gives_no_outcome() -> None:
    reg = parse_spec("1 MIU/m2 sc qd x3 @10")
    res = simulate(reg, POP, horizon_day=5.0)
    out = realise_toxicity(res, reg, POP, TOX, seed=2)
    assert out.study_days == 0 and out.ada_days == 0.0
    assert np.all(out.dlt_probability == 0.0) and not out.dlt.dlt.any()
    assert np.all(out.ada_probability == 0.0) and not out.ada_positive.any()


# --- the property ------------------------------------------------------------------------------
@st.composite
def regimens(draw: st.DrawFn) -> tuple[str, float]:
    """A regimen text from day 0 and its horizon (days): s.c. daily / every 2 days, i.v.
    bolus, short or multi-day i.v. infusion, with doses from 0.3 to 20 MIU/m2."""
    dose = draw(st.sampled_from([0.3, 1.0, 1.25, 1.75, 5.0, 20.0]))
    kind = draw(st.sampled_from(["qd", "q2d", "bolus", "inf_h", "inf_d"]))
    n = draw(st.integers(1, 30))
    if kind == "qd":
        spec = f"{dose:g} MIU/m2 sc qd x{n}"
    elif kind == "q2d":
        spec = f"{dose:g} MIU/m2 sc q2d x{n}"
    elif kind == "bolus":
        spec = f"{dose:g} MIU/m2 iv bolus"
    elif kind == "inf_h":
        spec = f"{dose:g} MIU/m2 iv infusion over {draw(st.sampled_from([1, 6, 12]))}h"
    else:
        spec = f"{dose / 4:g} MIU/m2/day iv infusion x{min(n, 14)}d"
    reg = parse_spec(spec)
    extra = draw(st.integers(0, 35))
    return spec, float(math.ceil(reg.default_horizon_day)) + extra


def _outcomes(
    reg: Regimen, horizon: float, window: int, solver: str = "fixed"
) -> dict[str, np.ndarray]:
    res = simulate(reg, POP, horizon_day=horizon, solver=solver)
    tox = realise_toxicity(res, reg, POP, TOX, dlt=DLTDefinition(window_day=window), seed=5)
    return {
        # model side, per patient
        "il2_peak_pm": res.il2_peak_pm,
        "il2_cmax_first_dose_pm": res.il2_cmax_first_dose_pm,
        "il2_tmax_first_dose_h": res.il2_tmax_first_dose_h,
        "il2_auc_first_24h_iu_h_per_ml": res.il2_auc_first_24h_iu_h_per_ml,
        "nk_peak_increase_pct": res.nk_peak_increase_pct,
        "bright_peak_increase_pct": res.bright_peak_increase_pct,
        # toxicity side, per patient and study day
        "il2_daily_max_pm": tox.il2_daily_max_pm,
        "dose_daily_miu": tox.dose_daily_miu,
        "grades": tox.grades,
        "dlt_probability": tox.dlt_probability,
        "dlt": tox.dlt.dlt,
        "dlt_day": tox.dlt.day,
        "dlt_ae": tox.dlt.ae_index,
        "p_grade_at_least": tox.p_grade_at_least,
        "ada_days": np.array([tox.ada_days]),
        "ada_probability": tox.ada_probability,
        "ada_onset_day": tox.ada_onset_day,
    }


@settings(max_examples=20, deadline=None)
@given(regimen=regimens(), shift=st.integers(1, 400), window=st.sampled_from([7, 28]))
def test_every_per_patient_outcome_is_invariant_to_a_whole_day_shift(
    regimen: tuple[str, float], shift: int, window: int
) -> None:
    """Shifting the regimen and the horizon by ``shift`` days changes no per-patient outcome:
    integers and grades exactly, floats to 1e-8 relative.  On the fixed grid (``fixed``, v0.1's)
    the solver's grid is the same relative to the doses; only the rounding of larger times
    differs, so this tests the toxicity clock itself."""
    spec, horizon = regimen
    a = _outcomes(parse_spec(spec), horizon, window)
    b = _outcomes(parse_spec(f"{spec} @{shift}"), horizon + shift, window)
    for key, x in a.items():
        y = b[key]
        assert x.shape == y.shape, key
        if x.dtype.kind in "biu":
            np.testing.assert_array_equal(x, y, err_msg=key)
        else:
            np.testing.assert_allclose(x, y, rtol=1e-8, atol=1e-12, err_msg=key)


@settings(max_examples=8, deadline=None)
@given(regimen=regimens(), shift=st.integers(1, 400))
def test_adaptive_default_is_shift_invariant_to_its_own_accuracy(
    regimen: tuple[str, float], shift: int
) -> None:
    """With the adaptive default (``fast``) the controller restarts at every dose and infusion
    switch, so a whole-day shift gives the same step sequence after the first dose: model
    outputs agree far inside the solver's own accuracy goal, 1e-4 relative (the bound it is
    held to against the reference), which is what is asserted (before the restart, stop 19:
    5.3e-8 on AUC24, 2.8e-5 on a near-zero NK increase after 0.3 MIU/m2 once).  The toxicity
    clock itself is checked to 1e-8 on the fixed grid above.  DLT/ADA draws, which compare
    probabilities with uniforms, are compared through their probabilities."""
    spec, horizon = regimen
    a = _outcomes(parse_spec(spec), horizon, 28, solver="fast")
    b = _outcomes(parse_spec(f"{spec} @{shift}"), horizon + shift, 28, solver="fast")
    for key in ("il2_peak_pm", "il2_cmax_first_dose_pm", "il2_auc_first_24h_iu_h_per_ml",
                "il2_daily_max_pm", "dlt_probability", "ada_probability"):  # fmt: skip
        np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=1e-9, err_msg=key)


def test_adaptive_nk_increase_is_shift_invariant_after_a_bolus() -> None:
    """After 5 MIU/m2 i.v. once, a 1-day shift changed the small NK increase (0.0815%) by
    3.8e-4 relative (stop 19, strict xfail): the controller carried the step from the dose-free
    day into the dose.  It now restarts at every dose and infusion switch
    (``SolverOptions.restart_at_doses``, tests/test_simulate_restart.py)."""
    a = _outcomes(parse_spec("5 MIU/m2 iv bolus"), 1.0, 28, solver="fast")
    b = _outcomes(parse_spec("5 MIU/m2 iv bolus @1"), 2.0, 28, solver="fast")
    for key in ("nk_peak_increase_pct", "bright_peak_increase_pct"):
        np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=1e-9, err_msg=key)


@settings(max_examples=40, deadline=None)
@given(regimen=regimens(), shift=st.floats(0.0, 400.0, allow_nan=False))
def test_antibody_outcomes_are_invariant_to_any_shift(
    regimen: tuple[str, float], shift: float
) -> None:
    """Antibody onset, probability and status are clocked continuously from the first dose:
    invariant to a shift by any (also fractional) number of days."""
    from il2sim.toxicity import ada_onset_day, ada_probability, regimen_dose_per_m2
    from il2sim.toxicity.grading import sample_tox_effects

    spec, horizon = regimen
    u = sample_tox_effects(200, np.random.default_rng(3), TOX).u_ada
    out = []
    shifted = parse_spec(f"{spec} @{shift:.4f}")
    for reg, h in ((parse_spec(spec), horizon), (shifted, horizon + shifted.start_day)):
        days = observed_days(reg, h)
        onset = ada_onset_day(u, regimen_dose_per_m2(reg), TOX)
        out.append((days, float(ada_probability(regimen_dose_per_m2(reg), days, TOX)), onset <= days))
    assert out[0][0] == pytest.approx(out[1][0], abs=1e-9)
    assert out[0][1] == pytest.approx(out[1][1], rel=1e-9)
    np.testing.assert_array_equal(out[0][2], out[1][2])
