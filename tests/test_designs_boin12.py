"""BOIN12 (Lin, Zhou, Yan, Li, Yuan 2020, JCO Precis Oncol 4:1393) against R ``escalation``
0.2.3: all 120 conduct cases of escalation's tests/testthat/test_boin12.R (which check the
paper's p.1396 example, Data Supplement Fig. S2 and the MD Anderson app), with the utility
scores and admissible sets; the default utility table and benchmark.  References copied into
``tests/data/r_reference/escalation_boin12.json`` from /work/research/i13 (boin12.md,
scripts/boin12.R)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from il2sim.designs import Outcomes, build_design, stop_at_n
from il2sim.designs.boin12 import BOIN12

REF = json.loads(
    (Path(__file__).parent / "data" / "r_reference" / "escalation_boin12.json").read_text()
)


def _num(model: str, key: str, default: float) -> float:
    m = re.search(rf"{key} = ([\d.]+)", model)
    return float(m.group(1)) if m else default


def _design(model: str) -> tuple[Any, BOIN12]:
    nd = int(_num(model, "num_doses", 5))
    m_stop = re.search(r"stop_when_n_at_dose\(n = (\d+)", model)
    base = BOIN12(
        target=_num(model, "phi_t", 0.35), n_doses=nd, target_eff=_num(model, "phi_e", 0.25),
        u2=_num(model, "u2", 40), u3=_num(model, "u3", 60), n_star=int(_num(model, "n_star", 6)),
        c_t=_num(model, "c_t", 0.95), c_e=_num(model, "c_e", 0.9),
        start_dose=int(_num(model, "start_dose", 1)),
        n_stop=int(m_stop.group(1)) if m_stop else 10**6,
    )  # fmt: skip
    m_n = re.search(r"stop_at_n\(n = (\d+)", model)
    return (stop_at_n(base, int(m_n.group(1))) if m_n else base), base


def _cases() -> list[tuple[str, dict[str, Any]]]:
    return [(b["model"], c) for b in REF["conduct"]["blocks"] for c in b["cases"]]


@pytest.mark.parametrize(("model", "case"), _cases())
def test_escalation_conduct_cases(model: str, case: dict[str, Any]) -> None:
    """Recommended dose and continue flag of escalation's test model; utility scores
    100 Pr(U > u_b) (1e-9) and the admissible set of the model without stopping rules."""
    des, base = _design(model)
    o = Outcomes.parse(case["outcomes"], base.n_doses)
    dec = des.fit(o).decision()
    rec = dec.mtd if dec.stop else dec.next_dose
    assert rec == case["recommended_dose"]
    assert (not dec.stop) == case["continue"]
    fit = BOIN12(**{**base.__dict__, "n_stop": 10**6}).fit(o)
    assert fit.utility() == pytest.approx(case["utility_100xP_u_gt_ub"], abs=1e-9)
    d = int(o.dose[-1]) - 1 if o.n_patients else base.start_dose - 1
    assert fit.admissible(d).tolist() == case["admissible"]


def test_default_utility_table_and_benchmark() -> None:
    """The paper's default table (E 100, N 40, B 60, T 0), u_bar = 41, u_b = 70.5 for
    phi_T = 0.35, phi_E = 0.25, and BOIN's lambda for phi_T (escalation: 0.2763343168,
    0.4189075081)."""
    from il2sim.designs.boin import lambdas

    des = build_design("boin12", n_doses=5, target=0.35, target_eff=0.25)
    assert isinstance(des, BOIN12)
    assert (des.u1, des.u2, des.u3, des.u4) == (100, 40, 60, 0)
    assert des.benchmark() == pytest.approx(70.5)
    assert lambdas(0.35) == pytest.approx((0.2763343168, 0.4189075081), abs=1e-9)
    assert REF["utility"]["u_benchmark"] == pytest.approx(70.5)


def test_outcome_letters_round_trip() -> None:
    o = Outcomes.parse("1NEN 2BTE")
    assert o.dlt.tolist() == [0, 0, 0, 1, 1, 0] and o.eff.tolist() == [0, 1, 0, 1, 0, 1]
    assert o.to_string() == "1NEN 2BTE"
    assert Outcomes.parse("1NTN").eff.size == 0


def test_oc_reports_obd_and_efficacy() -> None:
    """The generic loop carries efficacy into the OC: efficacy_per_dose / patients_per_dose
    estimates the true efficacy (independent draws) and obd_selection_pct is the selection."""
    from il2sim.designs import simulate_trials

    des = build_design("boin12", n_doses=5, target=0.35, target_eff=0.25)
    eff = [0.10, 0.30, 0.50, 0.55, 0.60]
    oc = simulate_trials(des, [0.05, 0.10, 0.15, 0.30, 0.45], 400, 1, max_patients=36,
                         truth_eff=eff)  # fmt: skip
    assert oc.obd_selection_pct == oc.selection_pct
    assert oc.efficacy_per_dose is not None
    rate = np.array(oc.efficacy_per_dose) / np.array(oc.patients_per_dose)
    assert rate[1:4] == pytest.approx(eff[1:4], abs=0.05)


def test_oc_within_monte_carlo_error_of_escalation() -> None:
    """set.seed(2020); simulate_trials(get_boin12(num_doses=5, phi_t=0.35, phi_e=0.25, u1=100,
    u2=40, u3=60, u4=0, n_star=6, c_t=0.95, c_e=0.9) %>% stop_at_n(n=36) %>%
    stop_when_n_at_dose(n=12, dose='any') %>% select_boin12_obd(), num_sims=1000,
    true_prob_tox=c(.05,.10,.15,.30,.45), true_prob_eff=c(.10,.30,.50,.55,.60)) (escalation
    0.2.3) vs 2,000 trials here: OBD selection and patients per dose within 4 combined SEs."""
    from il2sim.designs import simulate_trials

    ref = REF["oc"]["S1_plateau"]
    des = build_design("boin12", n_doses=5, target=0.35, target_eff=0.25)
    n_o, n_r = 2000, int(ref["nsim"])
    oc = simulate_trials(des, ref["true_prob_tox"], n_o, 11, max_patients=36,
                         truth_eff=ref["true_prob_eff"])  # fmt: skip
    assert oc.obd_selection_pct is not None and oc.patients_per_dose_se is not None
    sel_r = ref["selection_none_then_doses"]
    for i in range(5):
        pool = (oc.obd_selection_pct[i] / 100 * n_o + sel_r[i + 1] * n_r) / (n_o + n_r)
        if pool * n_r >= 10:
            se = 100 * np.sqrt(pool * (1 - pool) * (1 / n_o + 1 / n_r))
            assert abs(oc.obd_selection_pct[i] - 100 * sel_r[i + 1]) <= 4 * se, i
        se_n = np.hypot(oc.patients_per_dose_se[i], ref["patients_per_dose_se"][i])
        assert abs(oc.patients_per_dose[i] - ref["patients_per_dose"][i]) <= 4 * se_n, i


def _replay_boin12(des: BOIN12, trials: Any, max_cohorts: int, max_patients: int) -> None:
    """Kernel trial by trial == fit(): next dose after each cohort (with its N/E/T/B counts),
    stop vs cap, and the selected OBD."""
    for t in range(trials.n_trials):
        out = Outcomes()
        dec = des.fit(out).decision()
        cols = np.flatnonzero(trials.cohort_dose[t] > 0).tolist()
        for c in cols:
            assert not dec.stop, (t, c)
            m, y = int(trials.cohort_size[t, c]), int(trials.cohort_dlt[t, c])
            e, b = int(trials.cohort_eff[t, c]), int(trials.cohort_both[t, c])
            assert dec.next_dose == int(trials.cohort_dose[t, c]), (t, c, out.to_string(), dec)
            assert m == min(des.cohort_size, max_patients - out.n_patients)
            eff = [0] * (m - y - (e - b)) + [1] * (e - b) + [0] * (y - b) + [1] * b
            dlt = [0] * (m - y) + [1] * y
            out = out.add_cohort(int(trials.cohort_dose[t, c]), dlt, eff)
            dec = des.fit(out).decision()
        assert dec.stop == (not trials.capped[t]), (t, out.to_string(), dec)
        if not dec.stop:
            assert len(cols) == max_cohorts or out.n_patients == max_patients
        assert (dec.mtd or 0) == int(trials.selected[t]), (t, out.to_string(), dec)
        assert np.array_equal(out.eff_per_dose(des.n_doses), trials.eff_per_dose[t])
        assert np.array_equal(out.dlt_per_dose(des.n_doses), trials.dlt_per_dose[t])


@pytest.mark.parametrize(
    ("opts", "truth_tox", "truth_eff", "caps"),
    [
        ({}, [0.05, 0.1, 0.15, 0.3, 0.45], [0.1, 0.3, 0.5, 0.55, 0.6], (12, None)),
        ({"u2": 20, "u3": 70, "start_dose": 2}, [0.1, 0.2, 0.35, 0.5, 0.6],
         [0.3, 0.4, 0.45, 0.5, 0.5], (10, 28)),
        ({"n_stop": 9, "n_star": 3}, [0.4, 0.5, 0.6, 0.7, 0.8], [0.05, 0.1, 0.1, 0.1, 0.1],
         (15, None)),
    ],
)  # fmt: skip
def test_kernel_replays_through_fit(opts: dict[str, Any], truth_tox: list[float],
                                    truth_eff: list[float], caps: tuple[int, int | None]) -> None:  # fmt: skip
    """The compiled BOIN12 kernel decides as ``fit()`` trial by trial (300 trials each)."""
    from il2sim.designs import BernoulliSource, Caps, TrialController

    des = BOIN12(target=0.35, n_doses=5, target_eff=0.25, **opts)
    ctl = TrialController(des, BernoulliSource(tuple(truth_tox), tuple(truth_eff)), Caps(*caps))
    assert ctl.kernel() is not None
    sim = ctl.run(300, 7)
    assert sim.kernel
    _replay_boin12(des, sim.trials, caps[0], caps[1] or 10**9)


def test_beta_sf_matches_scipy() -> None:
    from scipy.stats import beta

    from il2sim.designs._fast_boin12 import beta_sf_nb

    rng = np.random.default_rng(3)
    for _ in range(500):
        a, b = rng.uniform(0.5, 40, 2)
        x = rng.uniform(0, 1)
        assert beta_sf_nb(x, a, b) == pytest.approx(beta.sf(x, a, b), abs=1e-12, rel=1e-10)


def test_kernel_oc_equal_generic_loop_in_distribution() -> None:
    """Kernel and generic loop (different uniforms) give the same OBD selection within MC
    error (2,000 trials each)."""
    from il2sim.designs import simulate_trials

    des = BOIN12(target=0.35, n_doses=5, target_eff=0.25)
    tt, te = [0.05, 0.1, 0.15, 0.3, 0.45], [0.1, 0.3, 0.5, 0.55, 0.6]
    a = simulate_trials(des, tt, 2000, 1, max_cohorts=12, truth_eff=te)
    b = simulate_trials(des, tt, 400, 2, max_cohorts=12, truth_eff=te, use_kernel=False)
    assert a.obd_selection_pct is not None and b.obd_selection_pct is not None
    for p, q in zip(a.obd_selection_pct, b.obd_selection_pct, strict=True):
        se = np.sqrt(max(p * (100 - p), 25.0) * (1 / 2000 + 1 / 400))
        assert abs(p - q) <= 4 * se
