"""TITE-CRM against dfcrm 0.2-2.1 (Cheung & Chappell 2000): worked examples, titesim traces,
kernel replays through fit(), operating characteristics within Monte Carlo error.

Reference numbers: dfcrm 0.2-2.1 (cran/dfcrm tag 0.2-2.1, commit 18891cc) on R 4.2.2, produced
in /work/research/i13 (tite_crm.md; scripts tite_crm_conduct.R, tite_crm_oc.R); traces and OC
copied into ``tests/data/r_reference/dfcrm_tite.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from il2sim.designs import Outcomes, build_design, simulate_trials
from il2sim.designs.crm_prior import getprior
from il2sim.designs.tite import TITECRM

REF = json.loads((Path(__file__).parent / "data" / "r_reference" / "dfcrm_tite.json").read_text())
SK6 = getprior(0.05, 0.25, 3, 6)
TRUTH_A = [0.05, 0.10, 0.25, 0.40, 0.55, 0.70]


def _oc(level: list[int], tox: list[int], fu: list[float]) -> Outcomes:
    o = Outcomes(np.array(level), np.array(tox), np.arange(1, len(level) + 1))
    return o.with_followup(fu)


#: dfcrm::titecrm worked examples (tite_crm.md sections 2a-2c): design options, data,
#: posterior mean beta, weights (None: not checked), recommended level.
WORKED: list[tuple[str, dict[str, Any], tuple[list[int], list[int], list[float]], float,
                   list[float] | None, int]] = [
    # Cheung (2011) p.124: titecrm(prior=c(.05,.12,.25,.40,.55), target=.25, tox=0,0,0,0,
    # level=3,3,3,3, followup=c(73,66,35,28), obswin=126)
    ("cheung p124", {"skeleton": [0.05, 0.12, 0.25, 0.40, 0.55], "target": 0.25,
                     "window_days": 126}, ([3, 3, 3, 3], [0, 0, 0, 0], [73, 66, 35, 28]),
     0.4907790963, [0.5793650794, 0.5238095238, 0.2777777778, 0.2222222222], 4),
    # ?titecrm help example, linear / adaptive / logistic (obswin 180)
    ("help linear", {"skeleton": [0.05, 0.10, 0.20, 0.35, 0.50, 0.70], "target": 0.2,
                     "window_days": 180},
     ([3, 3, 3, 4, 4, 3, 2, 2, 2, 3], [0, 0, 1, 0, 1, 0, 0, 0, 0, 0],
      [178, 181, 168, 181, 24, 181, 179, 102, 42, 3]),
     -0.1327865514, [0.98888889, 1, 1, 1, 1, 1, 0.99444444, 0.56666667, 0.23333333,
                     0.01666667], 3),
    ("help adaptive", {"skeleton": [0.05, 0.10, 0.20, 0.35, 0.50, 0.70], "target": 0.2,
                       "window_days": 180, "weights": "adaptive"},
     ([3, 3, 3, 4, 4, 3, 2, 2, 2, 3], [0, 0, 1, 0, 1, 0, 0, 0, 0, 0],
      [178, 181, 168, 181, 24, 181, 179, 102, 42, 3]),
     -0.1345180665, [0.94444444, 1, 1, 1, 1, 1, 0.97222222, 0.51388889, 0.375, 0.04166667], 3),
    ("help logistic", {"skeleton": [0.05, 0.10, 0.20, 0.35, 0.50, 0.70], "target": 0.2,
                       "window_days": 180, "model": "logistic"},
     ([3, 3, 3, 4, 4, 3, 2, 2, 2, 3], [0, 0, 1, 0, 1, 0, 0, 0, 0, 0],
      [178, 181, 168, 181, 24, 181, 179, 102, 42, 3]),
     -0.0705049141, None, 3),
    # 28-day window, skeleton getprior(0.05, 0.25, 3, 6)
    ("w28 linear", {"skeleton": SK6, "target": 0.25, "window_days": 28},
     ([1, 1, 2, 2, 3, 3, 3, 4, 3, 3], [0, 0, 0, 0, 0, 1, 0, 1, 0, 0],
      [28, 28, 28, 28, 28, 9, 20, 14, 6, 2]),
     -0.1271260988, [1, 1, 1, 1, 1, 1, 0.71428571, 1, 0.21428571, 0.07142857], 3),
    ("w28 adaptive", {"skeleton": SK6, "target": 0.25, "window_days": 28, "weights": "adaptive"},
     ([1, 1, 2, 2, 3, 3, 3, 4, 3, 3], [0, 0, 0, 0, 0, 1, 0, 1, 0, 0],
      [28, 28, 28, 28, 28, 9, 20, 14, 6, 2]),
     -0.1144468184, [1, 1, 1, 1, 1, 1, 0.80952381, 1, 0.22222222, 0.07407407], 3),
    # no DLT yet: adaptive falls back to linear
    ("w28 adaptive no DLT", {"skeleton": SK6, "target": 0.25, "window_days": 28,
                             "weights": "adaptive"},
     ([1, 1, 2, 2], [0, 0, 0, 0], [28, 21, 7, 3]),
     0.4789729413, [1, 0.75, 0.25, 0.1071428571], 5),
]


@pytest.mark.parametrize(("name", "opts", "data", "beta", "weights", "mtd"), WORKED)
def test_titecrm_worked_examples(
    name: str, opts: dict[str, Any], data: Any, beta: float, weights: Any, mtd: int
) -> None:
    """Posterior mean of beta to 1e-8 (dfcrm's quadrature vs our grid), weights to 1e-8 and the
    unrestricted recommended level as dfcrm::titecrm."""
    des = build_design("tite-crm", **opts)
    fit = des.fit(_oc(*data))
    assert fit.beta() == pytest.approx(beta, abs=1e-8)
    if weights is not None:
        assert fit.weights() == pytest.approx(weights, abs=1e-8)
    assert fit.decision().mtd == mtd
    assert fit.estimates()["mtd"] == mtd


@pytest.mark.parametrize("key", sorted(REF["traces"]))
def test_titesim_traces_replayed_through_fit(key: str) -> None:
    """A full dfcrm::titesim trial (arrivals, DLT times): at each arrival fit() on the data
    observed then gives titesim's level exactly and its beta_hat within R ``integrate``'s
    default relative tolerance (.Machine$double.eps^0.25 = 1.2e-4; dfcrm passes only
    abs.tol = 0): at patient 16 of the linear trace dfcrm's value is 1.1e-5 off, and an
    independent scipy ``quad`` at 1e-13 agrees with ours to 1e-12 (checked here)."""
    tr = REF["traces"][key]
    call = tr["call"]
    des = build_design(
        "tite-crm", skeleton=SK6, target=0.25, window_days=6, accrual_per_window=3,
        weights="adaptive" if "adaptive" in call else "linear",
        accrual="poisson" if "poisson" in call else "fixed",
    )  # fmt: skip
    arr = np.array(tr["arrival"], dtype=float)
    tt = np.array([np.inf if v == "NA" else float(v) for v in tr["toxicity_time"]])
    lev = np.array(tr["level"])
    y = np.array(tr["tox"])
    for j in range(1, arr.size):
        now = arr[j]
        obs = (y[:j] > 0) & (arr[:j] + tt[:j] <= now)
        fu = np.where(obs, tt[:j], np.minimum(now - arr[:j], 6.0))
        o = Outcomes(lev[:j], obs.astype(int), np.arange(1, j + 1), fu, arr[:j])
        fit = des.fit(o)
        assert fit.decision().next_dose == lev[j], (key, j)
        b = fit.beta()
        assert b == pytest.approx(tr["beta_hat"][j], rel=1.3e-4, abs=1e-9), (key, j)
        w = fit.weights()  # linear or adaptive, checked against titecrm above
        assert b == pytest.approx(_quad_beta(SK6, lev[:j], obs, w), abs=1e-9), (key, j)
    final = des.fit(Outcomes(lev, y, np.arange(1, lev.size + 1)))
    assert final.decision().mtd == tr["MTD"]
    assert final.beta() == pytest.approx(tr["final_est"], rel=1.3e-4)


def _quad_beta(sk: list[float], lev: np.ndarray, obs: np.ndarray, w: np.ndarray) -> float:
    """Posterior mean of beta by scipy quad at 1e-13 (empiric model, N(0, 1.34) prior; numerator
    over [-10, 10], normaliser over the real line, as dfcrm), an independent check."""
    import warnings

    from scipy import integrate

    x = np.asarray(sk)[lev - 1]

    def lik(b: float) -> float:
        with np.errstate(over="ignore"):
            p = x ** np.exp(b)
        return float(np.prod(np.where(obs, p, 1 - w * p)) * np.exp(-b * b / 2.68))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        num = integrate.quad(lambda b: b * lik(b), -10, 10, epsabs=0, epsrel=1e-13, limit=500)[0]
        den = integrate.quad(lik, -np.inf, np.inf, epsabs=0, epsrel=1e-13, limit=500)[0]
    return num / den


def _uniforms(seed: int, n_trials: int, width: int) -> np.ndarray:
    """The controller's kernel stream: trial i reads positions i*width.. of PCG64(seed)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed))).random(
        (n_trials, width)
    )


@pytest.mark.parametrize(
    "opts",
    [
        {"accrual": "fixed", "weights": "linear"},
        {"accrual": "poisson", "weights": "adaptive"},
        {"accrual": "poisson", "weights": "linear", "no_escalation_after_dlt": True,
         "tox_time": "late"},
        {"accrual": "fixed", "weights": "adaptive", "model": "logistic", "tox_time": "early",
         "accrual_per_window": 5},
    ],
)
def test_kernel_replays_fit_trial_by_trial(opts: dict[str, Any]) -> None:
    """Every kernel trial's doses equal fit()'s decisions at each arrival on the data observed
    then (arrivals and DLT days rebuilt from the same uniforms); selected MTD = fit() on
    complete data; duration = last arrival + window."""
    from il2sim.designs._fast_tite import TOX_TIMES, tox_day_nb
    from il2sim.designs.controller import TrialController
    from il2sim.designs.kernels import Caps
    from il2sim.designs.sources import BernoulliSource

    des = build_design("tite-crm", skeleton=SK6, target=0.25, window_days=6, **opts)
    assert isinstance(des, TITECRM)
    n_pat, n_trials, seed = 20, 60, 11
    ctl = TrialController(des, BernoulliSource(tuple(TRUTH_A)), Caps(max_patients=n_pat))
    sim = ctl.run(n_trials, seed)
    assert sim.kernel
    t = sim.trials
    u = _uniforms(seed, n_trials, 3 * n_pat)
    tm = des.timing
    kind = TOX_TIMES.index(tm.tox_time)
    for i in range(n_trials):
        ui = u[i].reshape(n_pat, 3)
        gaps = -np.log1p(-ui[:, 2]) * tm.gap_days if tm.accrual == "poisson" else np.full(
            n_pat, tm.gap_days)  # fmt: skip
        arr = np.cumsum(gaps)
        lev = t.cohort_dose[i]
        y = (ui[:, 0] < np.asarray(TRUTH_A)[lev - 1]).astype(int)
        assert np.array_equal(y, t.cohort_dlt[i])
        tt = np.where(y > 0, [tox_day_nb(v, 6.0, kind) for v in ui[:, 1]], np.inf)
        assert lev[0] == 1
        for j in range(1, n_pat):
            now = arr[j]
            obs = (y[:j] > 0) & (arr[:j] + tt[:j] <= now)
            fu = np.where(obs, tt[:j], np.minimum(now - arr[:j], 6.0))
            o = Outcomes(lev[:j], obs.astype(int), np.arange(1, j + 1), fu, arr[:j])
            assert des.fit(o).decision().next_dose == lev[j], (i, j)
        final = des.fit(Outcomes(lev, y, np.arange(1, n_pat + 1))).decision()
        assert t.selected[i] == final.mtd
        assert t.duration_days[i] == pytest.approx(arr[-1] + 6.0)


def test_oc_within_monte_carlo_error_of_titesim() -> None:
    """Scenario A: titesim(PI=c(.05,.10,.25,.40,.55,.70), prior=getprior(.05,.25,3,6),
    target=.25, n=30, x0=1, nsim=10000, obswin=6, rate=3, accrual="fixed", scheme="linear",
    seed=1009) vs 10,000 kernel trials: selection, patients and DLTs per level and total DLTs
    within 4 combined SEs (cells with < 10 expected trials skipped); duration exactly 66."""
    ref = REF["oc"]["A_linear_fixed_w6"]
    des = build_design("tite-crm", skeleton=SK6, target=0.25, window_days=6, accrual_per_window=3)
    oc = simulate_trials(des, TRUTH_A, 10_000, 20261201, max_patients=30, workers=2)
    n = 10_000
    for i in range(6):
        p_r = ref["selection_prop"][i]
        pool = (oc.selection_pct[i] / 100 + p_r) / 2
        if pool * n >= 10:
            se = 100 * np.sqrt(pool * (1 - pool) * 2 / n)
            assert abs(oc.selection_pct[i] - 100 * p_r) <= 4 * se, i
        for mine, se_m, r, se_r in (
            (oc.patients_per_dose, oc.patients_per_dose_se, ref["patients_per_dose"],
             ref["patients_per_dose_se"]),
            (oc.dlts_per_dose, oc.dlts_per_dose_se, ref["dlt_per_dose"], ref["dlt_per_dose_se"]),
        ):  # fmt: skip
            assert se_m is not None
            assert abs(mine[i] - r[i]) <= 4 * np.hypot(se_m[i], se_r[i]), i
    assert oc.mean_dlts_se is not None
    assert abs(oc.mean_dlts - ref["total_dlt"]) <= 4 * np.hypot(oc.mean_dlts_se, ref["total_dlt_se"])
    assert oc.mean_patients == 30
    assert oc.mean_duration_days == pytest.approx(66.0)


@pytest.mark.parametrize(
    ("key", "opts"),
    [("B_adaptive_fixed_w6", {"weights": "adaptive"}), ("C_linear_poisson_w6",
                                                        {"accrual": "poisson"})],
)  # fmt: skip
def test_oc_adaptive_and_poisson_within_mc_error(key: str, opts: dict[str, Any]) -> None:
    """Scenario A's call with scheme="adaptive" (B) or accrual="poisson" (C), nsim=2000,
    seed=1009 (dfcrm 0.2-2.1, run for this test with the research script; JSON in
    tests/data/r_reference/dfcrm_tite.json) vs 10,000 kernel trials, as scenario A's test;
    C also compares the mean duration (last arrival + window)."""
    ref = REF["oc"][key]
    des = build_design("tite-crm", skeleton=SK6, target=0.25, window_days=6, **opts)
    oc = simulate_trials(des, TRUTH_A, 10_000, 5, max_patients=30, workers=2)
    n_o, n_r = 10_000, int(ref["nsim"])
    for i in range(6):
        p_r = ref["selection_prop"][i]
        pool = (oc.selection_pct[i] / 100 * n_o + p_r * n_r) / (n_o + n_r)
        if pool * n_r >= 10:
            se = 100 * np.sqrt(pool * (1 - pool) * (1 / n_o + 1 / n_r))
            assert abs(oc.selection_pct[i] - 100 * p_r) <= 4 * se, i
        assert oc.patients_per_dose_se is not None
        se_n = np.hypot(oc.patients_per_dose_se[i], ref["patients_per_dose_se"][i])
        assert abs(oc.patients_per_dose[i] - ref["patients_per_dose"][i]) <= 4 * se_n, i
    if key.startswith("C"):
        assert oc.mean_duration_days is not None and oc.mean_duration_days_se is not None
        se_d = np.hypot(oc.mean_duration_days_se, ref["duration_se"])
        assert abs(oc.mean_duration_days - ref["duration_mean"]) <= 4 * se_d


def test_generic_loop_agrees_with_kernel() -> None:
    """The controller's time-to-event loop (generic fit() path, Poisson accrual, adaptive
    weights) and the kernel give the same OC within Monte Carlo error (400 vs 4,000 trials)."""
    des = build_design("tite-crm", skeleton=SK6, target=0.25, window_days=6,
                       accrual="poisson", weights="adaptive")  # fmt: skip
    k = simulate_trials(des, TRUTH_A, 4000, 3, max_patients=18)
    g = simulate_trials(des, TRUTH_A, 400, 4, max_patients=18, use_kernel=False)
    for i in range(6):
        pool = (k.selection_pct[i] * 4000 + g.selection_pct[i] * 400) / 4400 / 100
        if pool * 400 < 10:  # too few expected trials for the normal approximation
            continue
        se = 100 * np.sqrt(pool * (1 - pool) * (1 / 4000 + 1 / 400))
        assert abs(k.selection_pct[i] - g.selection_pct[i]) <= 4 * se, i
    assert k.mean_duration_days_se is not None and g.mean_duration_days_se is not None
    se_d = np.hypot(k.mean_duration_days_se, g.mean_duration_days_se)
    assert abs(k.mean_duration_days - g.mean_duration_days) <= 4 * se_d  # type: ignore[operator]


@pytest.mark.parametrize(
    ("opts", "field"),
    [
        ({"window_days": 0}, "window_days"),
        ({"window_days": -3}, "window_days"),
        ({"window_days": 6, "accrual_per_window": 0}, "accrual_per_window"),
        ({"window_days": 6, "accrual": "uniform"}, "accrual"),
        ({"window_days": 6, "weights": "quadratic"}, "weights"),
        ({"window_days": 6, "tox_time": "weibull"}, "tox_time"),
    ],
)
def test_bad_timing_named(opts: dict[str, Any], field: str) -> None:
    from il2sim.errors import DesignError

    with pytest.raises(DesignError) as e:
        build_design("tite-crm", skeleton=SK6, target=0.25, **opts)
    assert e.value.field == field


def test_grid_tables_cache_is_thread_safe() -> None:
    """Kernel chunks run on threads and share the design's cached grid tables. Stop 25's clean
    clone failed ``test_oc_adaptive_and_poisson_within_mc_error`` once with ``KeyError: 'pp'``:
    the tables and ``exp(lp)`` were two cache keys, and a second thread read the first before
    the second was written. Many threads now hit a fresh design at once (tiny switch interval)
    and all get the same pair."""
    import sys
    import threading

    from il2sim.designs.tite import _tables

    def hit(des: TITECRM, start: threading.Barrier, got: list[Any], errors: list[Any]) -> None:
        start.wait()
        try:
            got.append(_tables(des))
        except BaseException as exc:  # pragma: no cover - the failure being guarded
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(20):
            des = build_design("tite-crm", skeleton=SK6, target=0.25, window_days=6)
            start = threading.Barrier(8)
            got: list[Any] = []
            errors: list[Any] = []
            threads = [
                threading.Thread(target=hit, args=(des, start, got, errors)) for _ in range(8)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors, errors
            assert len(got) == 8
            for g, pp in got:
                np.testing.assert_array_equal(pp, np.exp(g.lp))
    finally:
        sys.setswitchinterval(old)
