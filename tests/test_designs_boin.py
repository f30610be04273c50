"""BOIN: boundaries, select.mtd, simulation vs the BOIN package's documented numbers.

Reference numbers are from ../shared/reference/dose-finding.md (Liu & Yuan 2015, JRSS-C 64:507,
erratum 2022; BOIN package help for ``get.boundary``, ``select.mtd``, ``get.oc``), copied here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from design_helpers import kernel_trials, replay
from il2sim.designs import Caps, simulate_trials
from il2sim.designs._isotonic import beta_sf, pava
from il2sim.designs.base import Outcomes
from il2sim.designs.boin import BOIN, boundaries, lambdas, select_mtd
from il2sim.errors import DesignError

# dose-finding.md, "BOIN ... target 0.3", n treated 1..30
ESCALATE = [
    0,
    0,
    0,
    0,
    1,
    1,
    1,
    1,
    2,
    2,
    2,
    2,
    3,
    3,
    3,
    3,
    4,
    4,
    4,
    4,
    4,
    5,
    5,
    5,
    5,
    6,
    6,
    6,
    6,
    7,
]
DEESCALATE = [
    1,
    1,
    2,
    2,
    2,
    3,
    3,
    3,
    4,
    4,
    4,
    5,
    5,
    6,
    6,
    6,
    7,
    7,
    7,
    8,
    8,
    8,
    9,
    9,
    9,
    10,
    10,
    11,
    11,
    11,
]
ELIMINATE = [None, None, 3, 3, 4, 4, 5, 5, 5, 6, 6, 7, 7, 8, 8, 8, 9, 9, 9, 10, 10, 11, 11, 11, 12, 12, 12, 13, 13, 14]  # fmt: skip


def test_lambdas_match_printed_digits() -> None:
    lam_e, lam_d = lambdas(0.3)
    assert round(lam_e, 7) == 0.2364907
    assert round(lam_d, 7) == 0.3585195


def test_boundary_table_target_03() -> None:
    b = boundaries(0.3, ncohort=10, cohortsize=3)
    assert list(b.n) == list(range(1, 31))
    assert list(b.escalate) == ESCALATE
    assert list(b.deescalate) == DEESCALATE
    assert list(b.eliminate) == ELIMINATE
    d = b.to_dict()
    assert d["eliminate"][:3] == [None, None, 3]
    text = b.to_text()
    assert "Escalate if # of DLT <=" in text
    assert "NA" in text.splitlines()[-1]


def test_elimination_is_the_beta_posterior_rule() -> None:
    # independent check: Pr(p > 0.3 | Beta(y+1, n-y+1)) > 0.95 at the tabulated count, not below
    for n, e in zip(range(3, 31), ELIMINATE[2:], strict=True):
        assert e is not None
        assert beta_sf(0.3, e + 1, n - e + 1) > 0.95
        assert beta_sf(0.3, e, n - e + 2) <= 0.95


def test_design_boundaries_agree_with_table() -> None:
    b = BOIN(0.3, 5).boundaries(30)
    assert b["escalate_max_dlt"] == ESCALATE
    assert b["deescalate_min_dlt"] == DEESCALATE
    assert b["eliminate_min_dlt"] == ELIMINATE


def test_select_mtd_example() -> None:
    # BOIN package select.mtd help example, dose-finding.md
    s = select_mtd(0.3, [3, 3, 15, 9, 0], [0, 0, 4, 4, 0])
    assert s.mtd == 3
    assert [round(float(v or 0), 2) for v in s.estimate[:4]] == [0.02, 0.02, 0.27, 0.45]
    assert [round(float(v or 0), 2) for v in s.pr_overdose[:4]] == [0.01, 0.01, 0.36, 0.81]
    assert s.estimate[4] is None and s.pr_overdose[4] is None
    assert s.to_dict()["mtd"] == 3


def test_select_mtd_eliminated_dose1_gives_none() -> None:
    s = select_mtd(0.3, [3, 0, 0], [3, 0, 0])
    assert s.mtd is None
    assert s.eliminated == (True, True, True)


def test_pava_closed_form() -> None:
    # pooling (0.5, 0.1) with weights (1, 3): 0.2 for both
    np.testing.assert_allclose(pava([0.5, 0.1, 0.7], [1, 3, 1]), [0.2, 0.2, 0.7])
    np.testing.assert_allclose(pava([0.1, 0.2]), [0.1, 0.2])


def test_help_example_selection_within_3_mc_se() -> None:
    # BOIN get.oc help example (1,000 trials): truth 0.05..0.6, 20 cohorts of 3, start 1.
    truth = [0.05, 0.15, 0.30, 0.45, 0.60]
    ref_sel = np.array([1.1, 23.5, 65.0, 10.1, 0.2]) / 100
    ref_npd = np.array([4.6, 17.7, 27.8, 8.8, 1.1])
    n_ref, n_sim = 1000, 10_000
    design = BOIN(0.3, 5, cohort_size=3)
    oc = simulate_trials(design, truth, n_sim, seed=2024, max_cohorts=20)
    sel = np.array(oc.selection_pct) / 100
    se = np.sqrt(ref_sel * (1 - ref_sel) / n_ref + sel * (1 - sel) / n_sim)
    assert np.all(np.abs(sel - ref_sel) <= 3 * se + 1e-12), (sel, ref_sel)
    # patients per dose: SD from our own trials, the same combined-MC-error rule
    tab = kernel_trials(design, truth, n_sim, seed=2024, max_cohorts=20)
    npd, ypd = tab.n_per_dose, tab.dlt_per_dose
    sd = npd.std(axis=0)
    se_n = sd * math.sqrt(1 / n_ref + 1 / n_sim)
    assert np.all(np.abs(npd.mean(axis=0) - ref_npd) <= 3 * se_n + 0.05)
    sd_tox = ypd.sum(axis=1).std()
    assert (
        abs(ypd.sum(axis=1).mean() - 15.8) <= 3 * sd_tox * math.sqrt(1 / n_ref + 1 / n_sim) + 0.05
    )
    assert abs(oc.mean_patients - 59.9) < 0.5
    assert oc.stopped_early_pct < 0.5  # reference 0.1%
    assert len(oc.to_dict()["selection_pct"]) == 5


def _replay(design: BOIN, truth: list[float], n_trials: int, seed: int, n_coh: int) -> None:
    replay(design, kernel_trials(design, truth, n_trials, seed, max_cohorts=n_coh), Caps(n_coh))


def test_simulation_replays_through_fit() -> None:
    _replay(BOIN(0.3, 5), [0.05, 0.15, 0.3, 0.45, 0.6], 40, 7, 12)
    _replay(BOIN(0.25, 4, n_earlystop=9), [0.3, 0.4, 0.5, 0.6], 40, 8, 12)
    _replay(BOIN(0.3, 4, extrasafe=True), [0.45, 0.5, 0.6, 0.7], 40, 9, 8)


def test_simulation_is_seeded() -> None:
    d = BOIN(0.3, 5)
    a = simulate_trials(d, [0.1, 0.2, 0.3, 0.4, 0.5], 500, seed=3, max_cohorts=10)
    b = simulate_trials(d, [0.1, 0.2, 0.3, 0.4, 0.5], 500, seed=3, max_cohorts=10)
    assert a == b


def test_conduct_examples() -> None:
    d = BOIN(0.3, 5)
    assert d.fit(Outcomes.parse("")).decision().next_dose == 1
    assert d.fit(Outcomes.parse("1NNN")).decision().next_dose == 2
    assert d.fit(Outcomes.parse("1NNN 2NTN")).decision().next_dose == 2
    assert d.fit(Outcomes.parse("1NNN 2NTT")).decision().next_dose == 1
    dec = d.fit(Outcomes.parse("1TTT")).decision()
    assert dec.stop and dec.mtd is None
    # dose 3 eliminated (3/3): from dose 2 with 0/6 escalation to 3 is blocked
    dec = d.fit(Outcomes.parse("1NNN 2NNN 3TTT 2NNN")).decision()
    assert dec.next_dose == 2 and not dec.stop
    est = d.fit(Outcomes.parse("1NNN 2NTN")).estimates()
    assert est["n"] == [3, 3, 0, 0, 0] and est["mtd"] == 2


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 30), y1=st.integers(0, 30), y2=st.integers(0, 30), target=st.floats(0.1, 0.5)
)
def test_decision_monotone_in_dlt_count(n: int, y1: int, y2: int, target: float) -> None:
    lo, hi = sorted((min(y1, n), min(y2, n)))
    d = BOIN(target, 5)

    def step(y: int) -> int:
        out = Outcomes(np.array([2, 2, 2] + [3] * n), np.array([0, 0, 0] + [1] * y + [0] * (n - y)))
        dec = d.fit(out).decision()
        return -10 if dec.stop else int(dec.next_dose or 0) - 3

    assert step(hi) <= step(lo)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"target": 1.2}, "target"),
        ({"target": 0.0}, "target"),
        ({"target": 0.3, "phi1": 0.35}, "phi1"),
        ({"target": 0.3, "phi2": 0.2}, "phi2"),
        ({"target": 0.3, "phi2": 1.5}, "phi2"),
        ({"target": 0.3, "start_dose": 7}, "start_dose"),
        ({"target": 0.3, "cohort_size": 0}, "cohort_size"),
    ],
)
def test_bad_options_raise_design_error(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(DesignError) as err:
        BOIN(n_doses=5, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field
    assert field in str(err.value)


def test_bad_simulation_inputs() -> None:
    d = BOIN(0.3, 3)
    with pytest.raises(DesignError, match="truth"):
        simulate_trials(d, [0.1, 0.2], 10, 1, max_cohorts=3)
    with pytest.raises(DesignError, match="max_cohorts"):
        simulate_trials(d, [0.1, 0.2, 0.3], 10, 1)
    with pytest.raises(DesignError, match="out of range"):
        d.fit(Outcomes.parse("4NNN"))


@settings(max_examples=40, deadline=None)
@given(
    x=st.lists(st.floats(0, 1), min_size=1, max_size=7),
    w=st.lists(st.floats(0.1, 10), min_size=7, max_size=7),
)
def test_pava_matches_constrained_least_squares(x: list[float], w: list[float]) -> None:
    # independent solver: minimise sum w (f - x)^2 subject to f non-decreasing (SLSQP)
    from scipy.optimize import minimize

    xa, wa = np.array(x), np.array(w[: len(x)])
    cons = [{"type": "ineq", "fun": lambda f, i=i: f[i + 1] - f[i]} for i in range(len(x) - 1)]
    res = minimize(
        lambda f: float(np.sum(wa * (f - xa) ** 2)),
        np.full(len(x), xa.mean()),
        constraints=cons,
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    np.testing.assert_allclose(pava(xa, wa), res.x, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    n=st.lists(st.integers(0, 12), min_size=5, max_size=5),
    frac=st.lists(st.floats(0, 1), min_size=5, max_size=5),
)
def test_select_mtd_picks_closest_admissible_estimate(n: list[int], frac: list[float]) -> None:
    y = [round(f * k) for f, k in zip(frac, n, strict=True)]
    s = select_mtd(0.3, n, y)
    adm = [i for i in range(5) if n[i] > 0 and not s.eliminated[i]]
    if s.eliminated[0] or not adm:
        assert s.mtd is None
        return
    assert s.mtd is not None and (s.mtd - 1) in adm
    # admissible doses are a prefix of the treated ones, so their isotonic fit is the same
    # as the one reported when no treated dose is eliminated; check closeness there
    if all(not s.eliminated[i] for i in range(5) if n[i] > 0):
        dist = [abs(float(s.estimate[i] or 0) - 0.3) for i in adm]
        assert abs(float(s.estimate[s.mtd - 1] or 0) - 0.3) <= min(dist) + 1e-9
