"""mTPI-2, i3+3 and Keyboard: decision tables against independent computations, conduct,
simulation replay, monotonicity and errors.

Decision rules from Guo et al. 2017 (mTPI-2, Contemp Clin Trials 58:23), Liu, Wang & Ji 2020
(i3+3, Stat Biopharm Res 12:201) and Yan, Mandrekar & Yuan 2017 (Keyboard, Clin Cancer Res
23:3994); elimination as BOIN (Pr(p > target | Beta(y+1, n-y+1)) > 0.95 once n >= 3).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from design_helpers import kernel_trials, replay
from il2sim.designs import Caps, simulate_trials
from il2sim.designs.base import Outcomes
from il2sim.designs.i3plus3 import I3Plus3
from il2sim.designs.keyboard import Keyboard
from il2sim.designs.mtpi2 import MTPI2, interval_edges
from il2sim.errors import DesignError

DesignCls = type[MTPI2] | type[I3Plus3] | type[Keyboard]
DESIGNS: list[DesignCls] = [MTPI2, I3Plus3, Keyboard]


def _eliminated(target: float, n: int, y: int) -> bool:
    return n >= 3 and stats.beta.sf(target, y + 1, n - y + 1) > 0.95


def test_mtpi2_table_independent_upm() -> None:
    # unit probability mass over EI = [0.25, 0.35] and width-0.1 pieces, ends truncated
    t = 0.3
    edges = [0.0, 0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95, 1.0]
    table = MTPI2(t, 5).action_table(12)
    for n in range(1, 13):
        for y in range(n + 1):
            if _eliminated(t, n, y):
                assert table[n, y] == -1
                continue
            post = stats.beta(1 + y, 1 + n - y)
            upm = [(post.cdf(b) - post.cdf(a)) / (b - a) for a, b in itertools.pairwise(edges)]
            k = int(np.argmax(upm))
            want = 1 if k < 3 else (0 if k == 3 else -1)
            assert table[n, y] == want, (n, y)


def test_mtpi2_known_rows_target_03() -> None:
    # Guo et al. 2017 decision table, pT = 0.3, eps = 0.05: n = 3: E S D DU; n = 6: E E S D DU...
    b = MTPI2(0.3, 5).boundaries(6)
    assert b["escalate_max_dlt"][2] == 0 and b["deescalate_min_dlt"][2] == 2
    assert b["eliminate_min_dlt"][2] == 3
    assert b["escalate_max_dlt"][5] == 1 and b["deescalate_min_dlt"][5] == 3
    assert b["eliminate_min_dlt"][5] == 4


def test_keyboard_keys_and_table_independent() -> None:
    edges, ei = interval_edges(0.3, 0.05, 0.05, keep_partial=False)
    np.testing.assert_allclose(edges, np.arange(0.05, 0.96, 0.1), atol=1e-12)
    assert ei == 2
    table = Keyboard(0.3, 5).action_table(12)
    for n in range(1, 13):
        for y in range(n + 1):
            if _eliminated(0.3, n, y):
                continue
            post = stats.beta(1 + y, 1 + n - y)
            mass = np.diff(post.cdf(edges))
            k = int(np.argmax(mass))
            assert table[n, y] == (1 if k < 2 else (0 if k == 2 else -1)), (n, y)


def test_i3plus3_rule_by_hand() -> None:
    # target 0.3, EI [0.25, 0.35] (Liu et al. 2020): n = 3: 0 E, 1 S, 2 D, 3 DU;
    # n = 1, y = 1: y/n above EI but (y-1)/n = 0 below it -> stay; n = 6, y = 3: 0.5 > EI,
    # 2/6 in EI -> D; n = 4, y = 2: 0.5 > EI, 1/4 = 0.25 in EI -> D; n = 5, y = 2: 0.4 > EI,
    # 1/5 = 0.2 below EI -> S
    t = I3Plus3(0.3, 5).action_table(6)
    assert [int(v) for v in t[3, :4]] == [1, 0, -1, -1]
    assert t[1, 1] == 0
    assert t[6, 3] == -1
    assert t[4, 2] == -1
    assert t[5, 2] == 0
    assert t[4, 1] == 0  # 0.25 is on the EI edge: inside


@pytest.mark.parametrize("cls", DESIGNS)
def test_replay_simulated_trials_through_fit(cls: DesignCls) -> None:
    d = cls(0.3, 4, cohort_size=3)
    truth = [0.1, 0.25, 0.45, 0.6]
    replay(d, kernel_trials(d, truth, 30, 21, max_cohorts=10), Caps(10))


@pytest.mark.parametrize("cls", DESIGNS)
def test_simulation_sanity(cls: DesignCls) -> None:
    d = cls(0.3, 5)
    oc = simulate_trials(d, [0.05, 0.15, 0.3, 0.45, 0.6], 4000, seed=4, max_cohorts=10)
    assert abs(sum(oc.selection_pct) + oc.none_selected_pct - 100) < 1e-9
    assert int(np.argmax(oc.selection_pct)) == 2
    assert oc.mean_patients <= 30
    # a very toxic dose 1 stops most trials with no MTD
    bad = simulate_trials(d, [0.8, 0.85, 0.9, 0.95, 0.99], 2000, seed=4, max_cohorts=10)
    assert bad.none_selected_pct > 90
    assert abs(bad.stopped_early_pct - bad.stopped_for_toxicity_pct) < 1e-12


def test_first_cohort_exact_probabilities() -> None:
    # one cohort of 3 at dose 1: next dose 2 iff 0 DLT (all three designs at target 0.3)
    for cls in DESIGNS:
        d = cls(0.3, 3)
        tab = kernel_trials(d, [0.2, 0.3, 0.4], 20_000, 3, max_cohorts=2)
        p = np.mean(tab.cohort_dose[:, 1] == 2)
        exact = 0.8**3
        assert abs(p - exact) <= 3 * np.sqrt(exact * (1 - exact) / 20_000)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 24),
    y1=st.integers(0, 24),
    y2=st.integers(0, 24),
    which=st.integers(0, 2),
)
def test_decision_monotone_in_dlt_count(n: int, y1: int, y2: int, which: int) -> None:
    lo, hi = sorted((min(y1, n), min(y2, n)))
    d = DESIGNS[which](0.3, 5)

    def step(y: int) -> int:
        out = Outcomes(np.array([2, 2, 2] + [3] * n), np.array([0, 0, 0] + [1] * y + [0] * (n - y)))
        dec = d.fit(out).decision()
        return -10 if dec.stop else int(dec.next_dose or 0) - 3

    assert step(hi) <= step(lo)


@pytest.mark.parametrize("cls", DESIGNS)
def test_bad_options(cls: DesignCls) -> None:
    with pytest.raises(DesignError, match="target"):
        cls(1.5, 3)
    with pytest.raises(DesignError, match="eps1"):
        cls(0.3, 3, eps1=0.4)
    with pytest.raises(DesignError, match="eps2"):
        cls(0.3, 3, eps2=0.0)
    with pytest.raises(DesignError, match="n_doses"):
        cls(0.3, 0)
