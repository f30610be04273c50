"""CRM: dfcrm's getprior and crm() examples, the numba kernel vs quad, simulation semantics.

Reference numbers from ../shared/reference/dose-finding.md (dfcrm, Cheung; Lee & Cheung 2009),
copied here with their printed digits.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from design_helpers import kernel_trials, replay
from il2sim.designs import Caps, simulate_trials
from il2sim.designs._crm_kernel import crm_model, grid_tables
from il2sim.designs._fast_crm import crm_estimate_nb
from il2sim.designs.base import Outcomes
from il2sim.designs.crm import CRM, getprior
from il2sim.errors import DesignError

SKEL = (0.05, 0.10, 0.20, 0.35, 0.50, 0.70)
LEVELS = [3, 4, 4, 3, 3, 4, 3, 2, 2, 2]
TOX = [0, 0, 1, 0, 0, 1, 1, 0, 0, 0]


def test_getprior_logistic() -> None:
    # dfcrm getprior(0.10, 0.25, 3, 6, model = "logistic")
    ref = [0.01772617, 0.08611654, 0.25, 0.46682345, 0.64686097, 0.76305707]
    assert [round(v, 8) for v in getprior(0.10, 0.25, 3, 6, model="logistic")] == ref


def test_getprior_empiric() -> None:
    # dfcrm getprior(0.10, 0.25, 3, 6)
    ref = [0.01081272, 0.08166297, 0.25, 0.46433775, 0.65408422, 0.79063485]
    assert [round(v, 8) for v in getprior(0.10, 0.25, 3, 6)] == ref


def test_crm_example() -> None:
    # dfcrm crm(prior, 0.2, tox, level) example, dose-finding.md
    d = CRM(SKEL, 0.2, cohort_size=1)
    out = Outcomes(np.array(LEVELS), np.array(TOX))
    est = d.fit(out).estimates()
    assert round(est["beta"], 7) == -0.2121715
    assert round(est["beta_var"], 7) == 0.1575955
    assert [round(v, 7) for v in est["ptox"]] == [
        0.0886529, 0.1553009, 0.2720539, 0.4277898, 0.5708462, 0.7493958,
    ]  # fmt: skip
    assert [round(v, 3) for v in est["ptox_lower"]] == [0.010, 0.028, 0.082, 0.196, 0.341, 0.574]
    assert [round(v, 3) for v in est["ptox_upper"]] == [0.283, 0.379, 0.508, 0.643, 0.747, 0.861]
    assert est["mtd"] == 2
    assert d.fit(out).decision().next_dose == 2


def _quad_mean(d: CRM, n: np.ndarray, y: np.ndarray) -> float:
    return d.estimate(n, y).beta


def _kernel_mean(d: CRM, n: np.ndarray, y: np.ndarray, flat: bool = False) -> float:
    g = grid_tables(d)
    model = crm_model(d)
    return float(crm_estimate_nb(n, y, g.tables(flat), False, model, np.empty(g.grid.size)))


@settings(max_examples=25, deadline=None)
@given(
    n=st.lists(st.integers(0, 12), min_size=5, max_size=5),
    frac=st.lists(st.floats(0, 1), min_size=5, max_size=5),
    logistic=st.booleans(),
)
def test_kernel_posterior_mean_matches_quad(
    n: list[int], frac: list[float], logistic: bool
) -> None:
    na = np.array(n, dtype=np.int64)
    ya = np.array([round(f * k) for f, k in zip(frac, n, strict=True)], dtype=np.int64)
    d = CRM((0.05, 0.12, 0.25, 0.40, 0.55), 0.25, model="logistic" if logistic else "empiric")
    assert abs(_kernel_mean(d, na, ya) - _quad_mean(d, na, ya)) < 1e-6


@pytest.mark.parametrize("model", ["empiric", "logistic"])
@pytest.mark.parametrize(
    ("n", "y"),
    [([3, 0, 0, 0, 0], [3, 0, 0, 0, 0]), ([3, 3, 0, 0, 0], [0, 3, 0, 0, 0]),
     ([3, 3, 3, 0, 0], [0, 1, 3, 0, 0]), ([6, 3, 0, 0, 0], [6, 3, 0, 0, 0])],
)  # fmt: skip
def test_kernel_flat_prior_matches_quad(model: str, n: list[int], y: list[int]) -> None:
    # dfcrm's N(0, 500^2) fallback: the tails beyond [-10, 10] carry most of the normaliser
    d = CRM((0.05, 0.12, 0.25, 0.40, 0.55), 0.25, model=model)
    na, ya = np.array(n), np.array(y)
    q = d.estimate(na, ya, method="bayes", sd=500.0).beta
    assert abs(_kernel_mean(d, na, ya, flat=True) - q) < 1e-6


def test_no_data_posterior_mean_is_prior_mean() -> None:
    d = CRM(SKEL, 0.2)
    z = np.zeros(6, dtype=np.int64)
    assert abs(_quad_mean(d, z, z)) < 1e-10
    assert abs(_kernel_mean(d, z, z)) < 1e-10
    # posterior variance without data = prior variance 1.34 (dfcrm default)
    assert abs(d.estimate(z, z).beta_var - 1.34) < 1e-8


@settings(max_examples=25, deadline=None)
@given(
    n=st.lists(st.integers(0, 6), min_size=4, max_size=4),
    frac=st.lists(st.floats(0, 1), min_size=4, max_size=4),
)
def test_estimates_increase_with_dose(n: list[int], frac: list[float]) -> None:
    ya = np.array([round(f * k) for f, k in zip(frac, n, strict=True)], dtype=np.int64)
    for model in ("empiric", "logistic"):
        e = CRM((0.1, 0.2, 0.3, 0.45), 0.3, model=model).estimate(np.array(n), ya)
        assert np.all(np.diff(e.ptox) > 0)
        assert np.all(np.array(e.ptox_lower) <= np.array(e.ptox) + 1e-15)
        assert np.all(np.array(e.ptox) <= np.array(e.ptox_upper) + 1e-15)


def _replay(d: CRM, truth: list[float], n_trials: int, seed: int, n_coh: int) -> None:
    replay(d, kernel_trials(d, truth, n_trials, seed, max_cohorts=n_coh), Caps(n_coh))


def test_simulation_replays_through_fit_empiric() -> None:
    _replay(CRM((0.05, 0.12, 0.25, 0.40, 0.55), 0.25), [0.05, 0.1, 0.2, 0.35, 0.5], 6, 11, 10)


def test_simulation_replays_through_fit_logistic_two_stage_mle() -> None:
    d = CRM(
        (0.05, 0.12, 0.25, 0.40, 0.55), 0.3, model="logistic", method="mle",
        two_stage=(1, 2, 3, 4, 5), cohort_size=2,
    )  # fmt: skip
    _replay(d, [0.1, 0.2, 0.35, 0.5, 0.6], 6, 12, 8)
    d2 = CRM((0.05, 0.12, 0.25, 0.40, 0.55), 0.4, cohort_size=3, two_stage=(1, 1, 2))
    _replay(d2, [0.3, 0.5, 0.6, 0.7, 0.8], 5, 13, 6)


def test_one_cohort_selection_is_binomial() -> None:
    # After a single cohort of 3 at dose 1 the selected dose is a function of the DLT count,
    # so selection % = Binomial(3, p1) probabilities summed by that function (exact).
    d = CRM((0.05, 0.12, 0.25, 0.40, 0.55), 0.25)
    rec = [d.estimate(np.array([3, 0, 0, 0, 0]), np.array([k, 0, 0, 0, 0])).mtd for k in range(4)]
    p1 = 0.2
    exact = np.zeros(5)
    for k in range(4):
        exact[rec[k] - 1] += stats.binom.pmf(k, 3, p1)
    n = 20_000
    oc = simulate_trials(d, [p1, 0.3, 0.4, 0.5, 0.6], n, seed=5, max_cohorts=1)
    sel = np.array(oc.selection_pct) / 100
    assert np.all(np.abs(sel - exact) <= 3 * np.sqrt(exact * (1 - exact) / n) + 1e-12)
    assert oc.mean_patients == 3.0


def test_simulation_dfcrm_style_summary() -> None:
    d = CRM((0.05, 0.12, 0.25, 0.40, 0.55), 0.25)
    oc = simulate_trials(d, [0.05, 0.15, 0.25, 0.4, 0.55], 2000, seed=1, max_patients=30)
    assert oc.mean_patients == 30.0
    assert math.isclose(sum(oc.selection_pct) + oc.none_selected_pct, 100.0)
    assert oc.stopped_early_pct == 0.0
    # the right dose is the most selected one
    assert int(np.argmax(oc.selection_pct)) == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"skeleton": (0.1, 0.3, 0.2), "target": 0.3}, "skeleton"),
        ({"skeleton": (0.0, 0.2), "target": 0.3}, "skeleton"),
        ({"skeleton": (0.1, 1.0), "target": 0.3}, "skeleton"),
        ({"skeleton": (0.1, 0.2), "target": 1.0}, "target"),
        ({"skeleton": (0.1, 0.2), "target": 0.3, "model": "probit"}, "model"),
        ({"skeleton": (0.1, 0.2), "target": 0.3, "method": "map"}, "method"),
        ({"skeleton": (0.1, 0.99), "target": 0.3, "model": "logistic"}, "intercept"),
        ({"skeleton": (0.1, 0.2), "target": 0.3, "prior_var": -1}, "prior_var"),
        ({"skeleton": (0.1, 0.2), "target": 0.3, "two_stage": (1, 3)}, "two_stage"),
        ({"skeleton": (0.1, 0.2), "target": 0.3, "start_dose": 3}, "start_dose"),
    ],
)
def test_bad_options_raise_design_error(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(DesignError) as err:
        CRM(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_bad_getprior_and_mle_inputs() -> None:
    with pytest.raises(DesignError, match="halfwidth"):
        getprior(0.3, 0.25, 3, 6)
    with pytest.raises(DesignError, match="nu"):
        getprior(0.1, 0.25, 7, 6)
    d = CRM(SKEL, 0.2, method="mle")
    with pytest.raises(DesignError, match="mle"):
        d.fit(Outcomes.parse("1NNN")).decision()
    with pytest.raises(DesignError, match="two_stage"):
        simulate_trials(d, [0.1] * 6, 10, 1, max_patients=9)
