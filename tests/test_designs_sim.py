"""Generic trial simulator and dose paths, checked against exact A+B operating characteristics."""

from __future__ import annotations

import numpy as np
import pytest

from il2sim.designs import (
    BernoulliSource,
    Outcomes,
    TrialController,
    dose_paths,
    exact_oc,
    simulate_trial,
    simulate_trials,
    stop_at_n,
    three_plus_three,
)
from il2sim.errors import DesignError

TRUTH = (0.10, 0.15, 0.25, 0.40, 0.55)  # dose-finding.md 3+3 table, row 3


def _within_3se(sim, ex) -> None:  # type: ignore[no-untyped-def]
    n = sim.n_trials
    for e_pct, s_pct in zip(
        (ex.none_selected_pct, *ex.selection_pct),
        (sim.none_selected_pct, *sim.selection_pct),
        strict=True,
    ):
        p = e_pct / 100
        assert abs(s_pct - e_pct) <= 3 * 100 * np.sqrt(p * (1 - p) / n) + 1e-9


def test_generic_loop_agrees_with_exact() -> None:
    des = three_plus_three(5, expand_lower=True)
    sim = simulate_trials(des, TRUTH, 3000, seed=11, use_kernel=False, target=0.3)
    ex = exact_oc(des, TRUTH, target=0.3)
    _within_3se(sim, ex)
    assert abs(sim.mean_patients - ex.mean_patients) <= 3 * sim.mean_patients_se
    # per-dose patients agree too (3 SE of each mean)
    se = np.array(sim.patients_per_dose_se)
    assert np.all(np.abs(np.array(sim.patients_per_dose) - ex.patients_per_dose) <= 3 * se + 1e-9)
    assert sim.overdosed_pct == pytest.approx(ex.overdosed_pct, abs=3.0)


def test_dispatch_to_fast_only_without_rules() -> None:
    des = three_plus_three(5)
    src = BernoulliSource(TRUTH)
    assert TrialController(des, src).kernel() is not None
    assert TrialController(stop_at_n(des, 30), src).kernel() is None
    assert TrialController(des, src, use_kernel=False).kernel() is None
    fast = simulate_trials(des, TRUTH, 2000, seed=1)
    slow = simulate_trials(stop_at_n(des, 1000), TRUTH, 300, seed=1)
    assert (fast.n_trials, slow.n_trials) == (2000, 300)
    assert set(fast.to_dict()) == set(slow.to_dict())  # one schema whatever the path


def test_seeded_and_reproducible() -> None:
    des = stop_at_n(three_plus_three(5), 100)
    a = simulate_trials(des, TRUTH, 200, seed=5)
    b = simulate_trials(des, TRUTH, 200, seed=5)
    c = simulate_trials(des, TRUTH, 200, seed=6)
    assert a.selection_pct == b.selection_pct and a.patients_per_dose == b.patients_per_dose
    assert a.patients_per_dose != c.patients_per_dose


def test_hard_cap_on_cohorts_and_patients() -> None:
    des = stop_at_n(three_plus_three(5), 1000)
    zero = [0.0] * 5
    sim = simulate_trials(des, zero, 50, seed=1, max_cohorts=2)
    assert sim.mean_patients == 6.0 and sim.stopped_early_pct == 0.0
    # MTD when capped: the highest dose passed so far
    assert sim.selection_pct[1] == 100.0
    sim = simulate_trials(des, zero, 50, seed=1, max_patients=4)
    assert sim.mean_patients == 4.0


def test_stopped_early_and_conservation() -> None:
    des = stop_at_n(three_plus_three(5), 1000)
    sim = simulate_trials(des, [1.0] * 5, 20, seed=1)
    assert sim.none_selected_pct == 100.0 and sim.stopped_early_pct == 100.0
    assert sim.mean_patients == 3.0 and sim.mean_dlts == 3.0
    sim = simulate_trials(des, TRUTH, 300, seed=2)
    assert sum(sim.patients_per_dose) == pytest.approx(sim.mean_patients)
    assert sum(sim.dlts_per_dose) == pytest.approx(sim.mean_dlts)
    assert sim.none_selected_pct + sum(sim.selection_pct) == pytest.approx(100.0)


def test_arrival_function_gives_duration() -> None:
    des = stop_at_n(three_plus_three(5), 1000)

    def every_week(rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, 7.0)

    sim = simulate_trials(des, [0.0] * 5, 10, seed=1, arrival=every_week)
    assert sim.mean_duration_days == pytest.approx(15 * 7.0)


def test_single_trial_object() -> None:
    res = simulate_trial(three_plus_three(3), np.array([0.0, 0.0, 1.0]), 1)
    assert res.outcomes.to_string() == "1NNN 2NNN 3TTT"
    assert res.selected == 2 and not res.capped and len(res.cohorts) == 3
    assert [c.decision.next_dose for c in res.cohorts] == [2, 3, None]


def test_simulate_rejects_bad_input() -> None:
    with pytest.raises(DesignError, match="truth"):
        simulate_trials(three_plus_three(3), [0.1, 0.2], 10, seed=1)
    with pytest.raises(DesignError, match="trials"):
        simulate_trials(three_plus_three(2), [0.1, 0.2], 0, seed=1)


def test_paths_probabilities_reproduce_exact() -> None:
    """Summing stopped leaves of a deep enough path tree by MTD gives the exact OCs."""
    truth = (0.2, 0.35, 0.5)
    for expand in (False, True):
        des = three_plus_three(3, expand_lower=expand)
        tree = dose_paths(des, "", cohorts_ahead=12, truth=truth)
        sel = np.zeros(4)
        for leaf in tree.leaves():
            assert leaf.decision.stop  # 12 cohorts always finish a 3-dose 3+3
            sel[leaf.decision.mtd or 0] += leaf.probability
        ex = exact_oc(des, truth)
        assert sel[0] * 100 == pytest.approx(ex.none_selected_pct, abs=1e-10)
        assert sel[1:] * 100 == pytest.approx(ex.selection_pct, abs=1e-10)


def test_paths_two_cohorts_ahead() -> None:
    des = three_plus_three(5)
    tree = dose_paths(des, Outcomes.parse("1NNN"), cohorts_ahead=2, truth=TRUTH)
    assert tree.nodes[0].path == "" and tree.nodes[0].decision.next_dose == 2
    depth1 = [n for n in tree.nodes if n.depth == 1]
    assert [n.path for n in depth1] == ["2NNN", "2NNT", "2NTT", "2TTT"]
    # P(2NNT) = 3 p q^2 with p = 0.15
    assert depth1[1].probability == pytest.approx(3 * 0.15 * 0.85**2)
    assert sum(n.probability for n in tree.leaves()) == pytest.approx(1.0)
    no_truth = dose_paths(des, "1NNN", cohorts_ahead=1)
    assert all(n.probability is None for n in no_truth.nodes)
    with pytest.raises(DesignError, match="cohorts_ahead"):
        dose_paths(des, "", cohorts_ahead=0)


def test_boin_help_example_through_simulate_trials() -> None:
    """BOIN package help example (dose-finding.md; 1,000 trials there): selection %
    1.1 / 23.5 / 65.0 / 10.1 / 0.2 with 20 cohorts of 3.  Both estimates carry MC error, so
    the allowance is 3 SE of the difference: sqrt(p(1-p)(1/1000 + 1/n))."""
    from il2sim.designs import build_design

    des = build_design("boin", n_doses=5, target=0.3, cohort_size=3)
    sim = simulate_trials(des, (0.05, 0.15, 0.30, 0.45, 0.60), 20_000, seed=2, max_cohorts=20)
    ref = (1.1, 23.5, 65.0, 10.1, 0.2)
    for r, s in zip(ref, sim.selection_pct, strict=True):
        p = r / 100
        se = 100 * np.sqrt(p * (1 - p) * (1 / 1000 + 1 / sim.n_trials))
        assert abs(s - r) <= 3 * se + 0.05  # + rounding of the printed percentages
    # mean N: at most 20 x 3 = 60; the reference prints 59.9 (0.1% stopped early)
    assert 59.85 <= sim.mean_patients <= 60.0
