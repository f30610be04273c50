"""EffTox (Thall & Cook 2004, Biometrics 60:684) against R ``trialr`` 0.1.6.

References in ``tests/data/r_reference/trialr_efftox.json`` (copied from /work/research/i13,
efftox.md and scripts/efftox.R): ``efftox_solve_p`` and an ``efftox_utility`` grid; four
worked fits (``stan_efftox_demo``, Thall et al. 2014 parameters) each from a long MCMC run
(20,000 x 4 iterations, seed 123; MCSE of posterior means <= 0.0023) with the recommended dose
and acceptable set; and the values of the MD Anderson EffTox application that trialr's own tests
hold it to (tolerance 0.05).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from il2sim.designs import Outcomes, build_design, simulate_trials
from il2sim.designs.efftox import EffTox, efftox_solve_p, efftox_utility
from il2sim.errors import DesignError

REF = json.loads((Path(__file__).parent / "data" / "r_reference" / "trialr_efftox.json").read_text())
DOSES = (1.0, 2.0, 4.0, 6.6, 10.0)
DES = EffTox(n_doses=5, doses=DOSES)


def test_contour_exponent_and_utility_grid() -> None:
    """p to uniroot's tolerance (trialr's p is a uniroot root: 1e-4); the utility grid to 1e-4
    (the hinge point (0.7, 0.25) is exactly 0 here, -4e-6 in trialr)."""
    p = efftox_solve_p(0.5, 0.65, 0.7, 0.25)
    assert p == pytest.approx(REF["contour"]["p"], abs=1e-4)
    assert ((1 - 0.7) / 0.5) ** p + (0.25 / 0.65) ** p == pytest.approx(1.0, abs=1e-12)
    g = REF["utility_grid"]["grid"]
    pe = np.array([r["prob_eff"] for r in g])
    pt = np.array([r["prob_tox"] for r in g])
    u = efftox_utility(p, 0.5, 0.65, pe, pt)
    assert u == pytest.approx([r["utility"] for r in g], abs=1e-4)


def _se(fit: Any, draws: np.ndarray) -> np.ndarray:
    """Importance-sampling standard error of a self-normalised posterior mean, per dose."""
    w = fit.post.weights
    m = w @ draws
    return np.sqrt((w[:, None] ** 2 * (draws - m) ** 2).sum(axis=0))


@pytest.mark.parametrize("case", REF["fits_long_mcmc"], ids=lambda c: c["outcomes"])
def test_worked_fits_match_trialr_long_mcmc(case: dict[str, Any]) -> None:
    """Posterior means of pi_E, pi_T and the acceptability probabilities within 4 combined
    Monte Carlo SEs (trialr's MCSE; ours from the importance weights), plus 0.002 for the
    posterior-quantile rounding; the acceptable set and the recommended dose exactly."""
    fit = DES.fit(Outcomes.parse(case["outcomes"]))
    s = fit.summary
    po = fit.post
    n_eff = case["min_n_eff"]
    pairs = {
        "prob_eff": (po.pe, np.array(case["mcse_prob_eff"])),
        "prob_tox": (po.pt, np.array(case["mcse_prob_tox"])),
        "prob_acc_eff": ((po.pe > 0.5) * 1.0, None),
        "prob_acc_tox": ((po.pt < 0.3) * 1.0, None),
    }
    for key, (draws, mcse) in pairs.items():
        ref = np.array(case[key])
        if mcse is None:  # Bernoulli MCSE at the smallest effective sample size
            mcse = np.sqrt(ref * (1 - ref) / n_eff)
        tol = 4 * np.sqrt(mcse**2 + _se(fit, draws) ** 2) + 0.002
        assert np.all(np.abs(s[key] - ref) <= tol), (key, s[key], ref, tol)
    assert s["utility"] == pytest.approx(case["utility_plugin"], abs=0.02)
    assert s["acceptable"].tolist() == case["acceptable"]
    assert fit.decision().next_dose == case["recommended_dose"]
    assert po.ess > 2000


@pytest.mark.parametrize(
    ("key", "outcomes"),
    [("mdacc_app_1NNN_2ENN", "1NNN 2ENN"), ("mdacc_app_1NNN_2ENN_3ETB", "1NNN 2ENN 3ETB")],
)
def test_md_anderson_app_values(key: str, outcomes: str) -> None:
    """The MD Anderson EffTox app's numbers, to trialr's own test tolerance (0.05)."""
    ref = REF["published"][key]
    s = DES.fit(Outcomes.parse(outcomes)).summary
    for k in ("prob_eff", "prob_tox", "utility", "prob_acc_eff", "prob_acc_tox"):
        assert s[k] == pytest.approx(ref[k], abs=0.05), k


def test_vignette_example() -> None:
    """trialr vignette A400-EffTox ('1NNE 2EEB', one default-size MCMC run): recommended dose
    3, acceptable doses 1-3, the printed utilities to 0.03 (its own MC error ~0.01)."""
    ref = REF["published"]["vignette_1NNE_2EEB"]
    fit = DES.fit(Outcomes.parse("1NNE 2EEB"))
    assert fit.decision().next_dose == ref["recommended"]
    assert fit.summary["acceptable"].tolist() == ref["Acceptable"]
    assert fit.summary["utility"] == pytest.approx(ref["Utility"], abs=0.03)


def test_posterior_is_deterministic_and_order_free() -> None:
    a = DES.fit(Outcomes.parse("1NNE 2EEB")).summary
    b = DES.fit(Outcomes.parse("2BEE 1ENN")).summary
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def test_no_acceptable_dose_stops_without_selection() -> None:
    dec = DES.fit(Outcomes.parse("1TTT 1TTT")).decision()
    assert dec.stop and dec.mtd is None


def test_dose_skipping_rule_limits_to_one_level_above() -> None:
    """efftox_process: acceptable only within lowest - 1 .. highest + 1 of the doses given."""
    s = DES.fit(Outcomes.parse("1EEE")).summary
    assert not s["acceptable"][2:].any()


@pytest.mark.parametrize(
    ("opts", "field"),
    [({"eff_star": 0.4}, "eff_star"), ({"tox_star": 0.7}, "tox_star"),
     ({"doses": [1, 2, 2, 3, 4]}, "doses"), ({"doses": [1, 2, 3]}, "doses"),
     ({"p_e": 1.5}, "p_e"), ({"prior_sd": [1, 1, 1, 1, 1, 0]}, "prior_sd")],
)  # fmt: skip
def test_bad_options_name_the_field(opts: dict[str, Any], field: str) -> None:
    with pytest.raises(DesignError) as ei:
        build_design("efftox", n_doses=5, **opts)
    assert ei.value.field == field


def test_simulation_runs_in_the_one_controller_with_obd_keys() -> None:
    """A few trials through ``simulate_trials`` (the one controller): the OBD keys are filled,
    same seed -> same numbers."""
    truth_tox = [0.05, 0.10, 0.15, 0.20, 0.40]
    truth_eff = [0.20, 0.40, 0.60, 0.80, 0.90]
    des = EffTox(n_doses=5, doses=DOSES, n_draws=2048)
    a = simulate_trials(des, truth_tox, n_trials=4, seed=3, max_cohorts=3, truth_eff=truth_eff)
    b = simulate_trials(des, truth_tox, n_trials=4, seed=3, max_cohorts=3, truth_eff=truth_eff)
    assert a.obd_selection_pct == b.obd_selection_pct
    assert a.obd_selection_pct is not None and a.efficacy_per_dose is not None
    assert sum(a.obd_selection_pct) + a.none_selected_pct == pytest.approx(100.0)
    assert a.mean_patients == pytest.approx(9.0)


@pytest.mark.parametrize("case", REF["fits_all_toxic"]["fits"], ids=lambda c: c["outcomes"])
def test_all_toxic_histories_escalate_as_trialr_does(case: dict[str, Any]) -> None:
    """trialr's model leaves the toxicity slope beta unconstrained: after '1TTT' the posterior
    puts dose 1 at 0.86 and dose 2 at 0.45, and trialr recommends dose 2 (after '1TTT 2TTT',
    dose 3).  Ours does the same, to 0.015 (long MCMC, n_eff > 16,000)."""
    fit = DES.fit(Outcomes.parse(case["outcomes"]))
    s = fit.summary
    for k in ("prob_eff", "prob_tox", "prob_acc_eff", "prob_acc_tox"):
        assert s[k] == pytest.approx(case[k], abs=0.015), k
    assert s["acceptable"].tolist() == case["acceptable"]
    assert fit.decision().next_dose == case["recommended_dose"]


def test_largest_difference_from_trialr_long_mcmc() -> None:
    """Per-decision agreement in one number: over the six long-MCMC fits (the four worked ones
    and the two all-toxic ones), the largest |il2sim - trialr| of the posterior means of pi_E,
    pi_T and the two acceptability probabilities is 0.0070 (session 23; session 20: 0.007),
    of the plug-in utility 0.0100 (1NNN 2ENN); trialr's own MCSE is <= 0.0023 on the means.
    The OC comparison is in ``test_designs_efftox_oc.py``."""
    worst_p, worst_u = 0.0, 0.0
    for case in REF["fits_long_mcmc"] + REF["fits_all_toxic"]["fits"]:
        s = DES.fit(Outcomes.parse(case["outcomes"])).summary
        for k in ("prob_eff", "prob_tox", "prob_acc_eff", "prob_acc_tox"):
            worst_p = max(worst_p, float(np.max(np.abs(s[k] - np.array(case[k])))))
        if "utility_plugin" in case:
            worst_u = max(worst_u, float(np.max(np.abs(s["utility"] - case["utility_plugin"]))))
    assert worst_p == pytest.approx(0.0070, abs=0.0005)
    assert worst_u == pytest.approx(0.0100, abs=0.0005)
