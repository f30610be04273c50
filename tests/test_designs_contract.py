"""One shared contract every registered design passes (as escalation's consistency checks).

Recommended dose in range, deterministic, stops consistently, handles empty outcomes,
rejects out-of-range outcomes; the same holds when wrapped in a rule.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from il2sim.designs import (
    DESIGN_NAMES,
    Decision,
    Design,
    Outcomes,
    build_design,
    simulate_trial,
    stop_at_n,
)
from il2sim.errors import DesignError

N_DOSES = 5
SKELETON = [0.05, 0.12, 0.25, 0.40, 0.55]

#: Options per registered name (every name in DESIGN_NAMES must appear here).
OPTIONS: dict[str, dict[str, object]] = {
    "3+3": {},
    "3+3a": {},
    "3+3b": {},
    "4+5": {},
    "a+b": {"a": 3, "b": 3, "c": 0, "d": 1, "e": 1},
    "crm": {"target": 0.25, "skeleton": SKELETON},
    "boin": {"target": 0.3},
    "mtpi2": {"target": 0.3},
    "i3+3": {"target": 0.3},
    "keyboard": {"target": 0.3},
    "tite-crm": {"target": 0.25, "skeleton": SKELETON, "window_days": 28},
    "tite-boin": {"target": 0.3, "window_days": 28},
    "boin12": {"target": 0.35, "target_eff": 0.25},
    "efftox": {"doses": [1, 2, 4, 6.6, 10], "n_draws": 2048},
    "bf-boin": {"target": 0.25},
}


def _design(name: str) -> Design:
    return build_design(name, n_doses=N_DOSES, **OPTIONS[name])  # type: ignore[arg-type]


def _check(dec: Decision, des: Design) -> None:
    assert isinstance(dec, Decision)
    if dec.stop:
        assert dec.next_dose is None
        assert dec.mtd is None or 1 <= dec.mtd <= des.n_doses
    else:
        assert dec.next_dose is not None and 1 <= dec.next_dose <= des.n_doses
        assert dec.cohort_size is None or dec.cohort_size >= 1
    assert isinstance(dec.reason, str) and dec.reason


def test_every_name_has_contract_options() -> None:
    assert set(OPTIONS) == set(DESIGN_NAMES)


@pytest.mark.parametrize("name", DESIGN_NAMES)
def test_empty_outcomes_start_at_start_dose(name: str) -> None:
    for wrap in (False, True):
        des = _design(name)
        des = stop_at_n(des, 30) if wrap else des
        fit = des.fit(Outcomes())
        dec = fit.decision()
        _check(dec, des)
        assert not dec.stop and dec.next_dose == des.start_dose
        assert fit.should_continue() and fit.recommended_dose() == des.start_dose


@pytest.mark.parametrize("name", DESIGN_NAMES)
def test_out_of_range_outcomes_rejected(name: str) -> None:
    des = _design(name)
    with pytest.raises(DesignError):
        des.fit(Outcomes.parse("1NNN 6NNN"))


@pytest.mark.parametrize("name", DESIGN_NAMES)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.integers(1, N_DOSES), st.lists(st.booleans(), min_size=1, max_size=4)),
        max_size=6,
    )
)
def test_any_history_gives_valid_deterministic_decision(name: str, cohorts: list) -> None:
    des = _design(name)
    out = Outcomes()
    for dose, dlts in cohorts:
        out = out.add_cohort(dose, [int(v) for v in dlts])
    d1 = des.fit(out).decision()
    d2 = des.fit(Outcomes.parse(out.to_string())).decision()
    _check(d1, des)
    assert d1 == d2  # deterministic, and the outcome string round-trips
    fit = des.fit(out)
    assert fit.should_continue() == (not d1.stop)
    rec = fit.recommended_dose()
    assert rec is None or 1 <= rec <= des.n_doses
    assert isinstance(fit.estimates(), dict)


@pytest.mark.parametrize("name", DESIGN_NAMES)
def test_simulated_trials_terminate_and_stay_in_range(name: str) -> None:
    des = stop_at_n(_design(name), 24)
    truth = np.array([0.05, 0.15, 0.3, 0.45, 0.6])
    for seed in range(5):
        res = simulate_trial(des, truth, seed, max_cohorts=20)
        assert res.outcomes.n_patients <= 24 + 5
        assert res.outcomes.dose.min() >= 1 and res.outcomes.dose.max() <= N_DOSES
        assert res.selected is None or 1 <= res.selected <= N_DOSES
        # once stopped, the same outcomes stop again with the same MTD
        if not res.capped:
            again = des.fit(res.outcomes).decision()
            assert again.stop and again.mtd == res.selected


#: EffTox (trialr's model) leaves the toxicity slope free, so after '1TTT' it recommends dose 2,
#: as trialr 0.1.6 does (tests/test_designs_efftox.py::test_all_toxic_histories_...).
_FREE_SLOPE = ("efftox",)


@pytest.mark.parametrize("name", [n for n in DESIGN_NAMES if n not in _FREE_SLOPE])
def test_all_toxic_never_selects_above_first_dose(name: str) -> None:
    """Every patient has a DLT: no design may escalate, none picks a dose above 1."""
    des = _design(name)
    res = simulate_trial(des, np.ones(N_DOSES), 0, max_cohorts=10)
    assert set(res.outcomes.dose.tolist()) == {1}
    assert res.selected in (None, 1)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 12), st.text(alphabet="NT", min_size=1, max_size=6)),
        max_size=8,
    )
)
def test_outcome_strings_round_trip(cohorts: list) -> None:
    text = " ".join(f"{d}{s}" for d, s in cohorts)
    out = Outcomes.parse(text)
    assert out.to_string() == text
    assert out.n_patients == sum(len(s) for _, s in cohorts)
    assert int(out.dlt.sum()) == text.count("T")
    assert out.n_cohorts == len(cohorts)


@pytest.mark.parametrize("name", ["boin", "crm", "3+3b"])
def test_dose_paths_probabilities_sum_to_one(name: str) -> None:
    from il2sim.designs import dose_paths

    tree = dose_paths(_design(name), "1NNN", cohorts_ahead=2, truth=[0.05, 0.15, 0.3, 0.45, 0.6])
    assert sum(n.probability for n in tree.leaves()) == pytest.approx(1.0, abs=1e-12)
    for node in tree.nodes:
        _check(node.decision, _design(name))
