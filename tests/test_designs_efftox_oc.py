"""EffTox operating characteristics against R trialr 0.1.6's ``efftox_simulate``.

Reference: ``tests/data/r_reference/trialr_efftox_oc.json``, R trialr 0.1.6 (rstan 2.21.7, R
4.2.2), the package's unmodified ``efftox_simulate`` on its vignette scenario (A400-EffTox: true
efficacy 0.2/0.4/0.6/0.8/0.9, true toxicity 0.05/0.1/0.15/0.2/0.4, ``efftox_parameters_demo()``,
first dose 1) with 6 cohorts of 3, default rstan sampling; ``benchmarks/reference/efftox_oc.R``,
seeds 123 (40 trials, session 20) and 124 (240 trials, those finished by 02:31 UTC in
session 23): 280 R trials.  At about one CPU-minute per R trial that is what exists, so the
comparison's power is that of the R side.

il2sim: ``tests/data/efftox_oc_il2sim.json``, 2000 trials of the default ``EffTox`` (8192
importance draws) on the same scenario, seed 20261202 (``benchmarks/reference/
efftox_oc_il2sim.py``); the first trials are re-run here so the stored file is the code's.

Criteria (fixed before the comparison was run): the selection distribution (no dose, 1..5) by
Pearson's chi-square with a parametric Monte Carlo p-value >= 0.01, and each two-sample z
(selection % per dose and of no dose, mean patients per dose; SEs of both sides) within +-3.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from efftox_oc_stats import IL2SIM_FILE, R_FILE, compare, il2sim_trials, r_rows, r_trials, replay
from il2sim.designs import Caps, TrialController
from il2sim.designs.efftox import EffTox
from il2sim.designs.sources import BernoulliSource

#: The R reference as counted from the file: trials and selections (no dose, dose 1..5).
R_TRIALS = {123: 40, 124: 240}
R_SELECTED = (3, 6, 12, 113, 96, 50)
#: R's mean patients per dose (18 per trial but two, stopped after 9 and 12 with no acceptable
#: dose).
R_PATIENTS = (3.236, 3.504, 6.118, 3.396, 1.693)


def test_reference_file_holds_the_r_trials_named_here() -> None:
    ref = json.loads(R_FILE.read_text())
    seeds = {int(r["call"].split("set.seed(")[1].rstrip(")")): len(r["trials"]) for r in ref["runs"]}
    assert seeds == R_TRIALS
    for run in ref["runs"]:
        assert run["trialr"] == "0.1.6" and "cohort_sizes=rep(3,6)" in run["call"]
    r = r_trials()
    assert tuple(r.selection_counts()) == R_SELECTED
    assert r.patients.mean(axis=0) == pytest.approx(R_PATIENTS, abs=0.005)
    n = r.patients.sum(axis=1)
    assert np.all((n <= 18) & (n % 3 == 0) & (n > 0))


def test_stored_il2sim_trials_are_what_the_code_gives() -> None:
    """The first 12 of the 2000 stored trials, re-run (trial i's seed does not depend on n)."""
    res = json.loads(IL2SIM_FILE.read_text())
    des = EffTox(n_doses=5, doses=(1.0, 2.0, 4.0, 6.6, 10.0))
    src = BernoulliSource((0.05, 0.10, 0.15, 0.20, 0.40), (0.20, 0.40, 0.60, 0.80, 0.90))
    tr = TrialController(des, src, Caps(6, None)).run(12, res["seed"]).trials
    assert "".join(str(int(s)) for s in tr.selected) == res["selected"][:12]
    cohorts = ["".join(str(int(d)) for d in row if d > 0) for row in tr.cohort_dose]
    assert cohorts == res["cohorts"][:12]
    assert res["n_trials"] == len(res["cohorts"]) == len(res["selected"]) == 2000


def test_oc_agree_with_trialr_within_monte_carlo_error() -> None:
    res = compare(il2sim_trials(), r_trials())
    assert res["n_ref"] == sum(R_TRIALS.values())
    assert res["p_mc"] >= 0.01, res
    zs = [res["z_none"], *res["z_sel"], *res["z_patients"]]
    assert max(abs(z) for z in zs) <= 3.0, zs


#: Replayed R decisions of the first 40 R trials (seed 123; every cohort) where il2sim's choice
#: differs from trialr's, all near-ties of the plug-in utility (session 23: 2 of 240, utility
#: gaps 0.002 and 0.003, against trialr's Monte Carlo error of ~0.01 on a utility at its default
#: sampling).  All R trials (``python tests/efftox_oc_stats.py --replay``): see docs/designs.md.
R_DECISIONS, R_DECISIONS_DIFFERENT = 240, 2
TIE = 0.02


def test_trialr_decisions_replayed_on_its_own_trial_data() -> None:
    """Per-decision agreement on R's own paths: after each cohort of each of the first 40 R
    trials, il2sim's EffTox fitted to the data trialr had chooses trialr's next dose (or its
    final recommendation, or its stop), except where two acceptable doses' utilities are within
    ``TIE`` (40 trials, not all, to keep the test short: ~25 ms a fit)."""
    n, diffs = replay(r_rows()[:40])
    for d in diffs:
        u, acc = d["utility"], d["acceptable"]
        assert d["ours"] and d["theirs"] and acc[d["theirs"] - 1], d
        assert abs(u[d["ours"] - 1] - u[d["theirs"] - 1]) < TIE, d
    assert (n, len(diffs)) == (R_DECISIONS, R_DECISIONS_DIFFERENT)
