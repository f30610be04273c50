"""The randomised dose-optimisation stage (``designs/randomised.py``): allocation, conduct, and
simulated selection against the closed form when stage 1 is deterministic."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from il2sim.designs import Outcomes, build_design, simulate_trials
from il2sim.designs.randomised import RandomisedStage
from il2sim.designs.spec import DesignSpec
from il2sim.errors import DesignError


def test_allocation_by_ratio_largest_remainder() -> None:
    base = build_design("3+3", n_doses=3)
    assert RandomisedStage(base, 9, 20, ratio=(2, 1)).allocation(2) == (13, 7)
    assert RandomisedStage(base, 9, 20, arms=3).allocation(3) == (7, 7, 6)
    assert RandomisedStage(base, 9, 20).allocation(1) == (20,)


def test_conduct_allocates_then_selects() -> None:
    """3+3: 0/3, 0/3, 3/3 stops with MTD 2 -> randomise 20 to doses 1 and 2 (10:10); after
    them, rule 'lower' keeps dose 1 unless dose 2 responds better by the margin."""
    des = RandomisedStage(build_design("3+3", n_doses=3), 9, 20, rule="lower", margin=0.1)
    o = Outcomes.parse("1NNN 2NNN 3TTT")
    dec = des.fit(o).decision()
    assert not dec.stop and dec.arms == (1, 2) and dec.arm_sizes == (10, 10)
    worse = o.add_cohort(1, [0] * 10, [1] * 5 + [0] * 5).add_cohort(2, [0] * 10, [1] * 6 + [0] * 4)
    better = o.add_cohort(1, [0] * 10, [1] * 5 + [0] * 5).add_cohort(2, [0] * 10, [1] * 7 + [0] * 3)
    assert des.fit(worse).decision().mtd == 1  # 6/13 - 5/13 < 0.1
    assert des.fit(better).decision().mtd == 2  # 7/13 - 5/13 >= 0.1
    half = o.add_cohort(1, [0] * 10, [1] * 5 + [0] * 5)
    d2 = des.fit(half).decision()
    assert d2.arms == (2,) and d2.arm_sizes == (10,)


def _exact(q1: float, q2: float, n: int, rule: str) -> float:
    """P(select dose 2) with n patients per dose, no toxicity (3 from stage 1 + 10)."""
    e = np.arange(n + 1)
    p1, p2 = binom.pmf(e, n, q1), binom.pmf(e, n, q2)
    joint = np.outer(p1, p2)  # [e1, e2]
    diff = e[None, :] - e[:, None]
    win = diff >= np.ceil(0.1 * n - 1e-12) if rule == "lower" else diff > 0
    return float(joint[win].sum())


@pytest.mark.parametrize("rule", ["lower", "utility"])
def test_simulated_selection_matches_closed_form(rule: str) -> None:
    """Stage 1 is deterministic (3+3 on truth 0, 0, 1: MTD 2 after 9 patients); stage 2 gives
    10 more to doses 1 and 2; the selection of dose 2 equals the binomial closed form within
    4 MC SEs (1,200 trials), and every trial treats 29 patients."""
    des = RandomisedStage(build_design("3+3", n_doses=3), 9, 20, rule=rule, margin=0.1)
    q = [0.3, 0.45, 0.5]
    oc = simulate_trials(des, [0.0, 0.0, 1.0], 1200, 5, truth_eff=q)
    p = _exact(q[0], q[1], 13, rule)
    se = np.sqrt(p * (1 - p) / 1200)
    assert abs(oc.selection_pct[1] / 100 - p) <= 4 * se
    assert oc.selection_pct[0] + oc.selection_pct[1] == pytest.approx(100.0)
    assert oc.mean_patients == pytest.approx(29.0)


def test_boin12_stage_through_the_cli_options() -> None:
    spec = DesignSpec("boin12", target=0.35, target_eff=0.25, n_doses=5, stage1_patients=24,
                      stage2_patients=20, stage2_rule="utility")  # fmt: skip
    des = spec.build()
    assert isinstance(des, RandomisedStage)
    oc = simulate_trials(des, [0.05, 0.1, 0.15, 0.3, 0.45], 100, 2,
                         truth_eff=[0.1, 0.3, 0.5, 0.55, 0.6])  # fmt: skip
    assert oc.obd_selection_pct is not None and oc.mean_patients <= 44


@pytest.mark.parametrize(
    ("kw", "field"),
    [({"stage2_patients": 20}, "stage1_patients"), ({"stage1_patients": 20}, "stage2_patients"),
     ({"stage1_patients": 9, "stage2_patients": 20, "stage2_arms": 4}, "arms"),
     ({"stage1_patients": 9, "stage2_patients": 20, "stage2_rule": "best"}, "rule"),
     ({"stage1_patients": 9, "stage2_patients": 20, "stage2_ratio": "1,0"}, "ratio"),
     ({"stage1_patients": 9, "stage2_patients": 20, "stage2_margin": 1.5}, "margin")],
)  # fmt: skip
def test_bad_stage_options_name_the_field(kw: dict[str, object], field: str) -> None:
    with pytest.raises(DesignError) as ei:
        DesignSpec("3+3", n_doses=3, **kw).build()  # type: ignore[arg-type]
    assert ei.value.field == field
