"""SAEM on closed-form reference models: agreement with nlmixr2 on theophylline, parameter
recovery with M3 censoring, reproducibility, checkpoint/resume, fixed-only and block
parameters."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from il2sim.fit.data import from_long
from il2sim.fit.estimate import PostOptions, fit
from il2sim.fit.model import FitSpec
from il2sim.fit.recovery import TOY_OMEGA, TOY_TRUTH, run_recovery, toy_oral_dataset
from il2sim.fit.saem import SaemOptions, interrupted
from il2sim.fit.toy import LinearTurnover, OneCompartmentOral

DATA = Path(__file__).parent / "data" / "theoph.csv"

#: nlmixr2est README (github.com/nlmixr2/nlmixr2est, commit 845fa01, printed fit of
#: `one.compartment` to theo_sd with est="saem"): log-scale estimates and SEs, BSV as CV%,
#: additive SD.  theo_sd is R's datasets::Theoph with the dose in mg (Dose mg/kg x Wt).
NLMIXR2 = {"tka": (0.464, 0.195), "tcl": (1.01, 0.085), "tv": (3.46, 0.0447)}
NLMIXR2_BSV_CV = {"ka": 71.1, "CL": 27.4, "V": 13.1}
NLMIXR2_ADD_SD = 0.696


def _theoph() -> tuple[object, OneCompartmentOral]:
    df = pd.read_csv(DATA, comment="#")
    data = from_long(df["Subject"], df["Time"], df["conc"], type_names=("conc",))
    first = df.groupby("Subject", sort=False).first()
    dose = (first["Dose"] * first["Wt"]).to_numpy()
    return data, OneCompartmentOral(data, dose)


@pytest.fixture(scope="module")
def theoph_fit():  # type: ignore[no-untyped-def]
    data, model = _theoph()
    spec = FitSpec(("ka", "V", "CL"), (math.exp(0.45), math.exp(3.45), math.exp(1.0)),
                   ("ka", "V", "CL"), {"ka": math.sqrt(0.6), "V": math.sqrt(0.1),
                                       "CL": math.sqrt(0.3)}, error={"*": "add"})
    return fit(data, model, spec, SaemOptions(seed=3), PostOptions(n_conditional=150, n_is=500))


def test_theophylline_matches_nlmixr2(theoph_fit) -> None:  # type: ignore[no-untyped-def]
    r = theoph_fit
    for ours, ref in (("ka", "tka"), ("CL", "tcl"), ("V", "tv")):
        mu, se = NLMIXR2[ref]
        p = r.parameters[ours]
        assert abs(p.mu - mu) < 0.5 * se, (ours, p.mu, mu)  # within half a published SE
        assert abs(p.se_mu / se - 1.0) < 0.25, (ours, p.se_mu, se)  # SEs within 25%
    for n, cv in NLMIXR2_BSV_CV.items():
        assert abs(r.omega[n]["cv_pct"] - cv) / cv < 0.15, (n, r.omega[n]["cv_pct"], cv)
    assert abs(r.residual["conc"]["a"] - NLMIXR2_ADD_SD) < 0.03
    assert r.covariance_ok
    assert math.isfinite(r.ofv) and r.ofv_se < 1.0
    assert all(o["identified"] for o in r.omega.values()), r.notes


def test_poorly_identified_sd_is_flagged() -> None:
    from il2sim.fit.estimate import _poorly_identified

    assert _poorly_identified(0.3, 0.05, 20.0) == ""
    assert _poorly_identified(0.03, math.nan, 96.0) == "eta shrinkage 96%, SE not available"
    assert _poorly_identified(0.2, 0.15, 30.0) == "RSE 75%"


def test_toy_recovery_with_censoring() -> None:
    """20 replicate oral studies (40 subjects, proportional error, LLOQ censoring): mean
    typical values within 15% and SDs within 35% of the truth, 95% CIs cover in >= 85%."""
    tab = run_recovery(toy_oral_dataset, TOY_TRUTH, TOY_OMEGA, 20, SaemOptions(k1=100, k2=50),
                       PostOptions(n_conditional=40, n_is=10))
    n_cens = toy_oral_dataset(0)[0].n_censored
    assert n_cens > 10  # M3 is exercised
    for n, row in tab.fixed.items():
        assert abs(row["rel_err_pct"]) < 15.0, (n, row)
        assert row["coverage_pct"] >= 85.0, (n, row)
    for n, row in tab.omega.items():
        assert abs(row["rel_err_pct"]) < 35.0, (n, row)


def test_turnover_recovery_and_fixed_only_parameter() -> None:
    """Linear turnover with R0 fixed-only (no random effect): the decreasing pseudo-variance
    recovers it; additive error."""
    rng = np.random.default_rng(5)
    n, times = 30, np.array([0.0, 2, 4, 8, 12, 24, 48])
    truth = np.log([10.0, 4.0, 0.2])
    phi = np.tile(truth, (n, 1))
    phi[:, 1:] += rng.standard_normal((n, 2)) * [0.3, 0.25]
    t = np.tile(times, n)
    subj = np.repeat(np.arange(n), times.size).astype(str)
    tmp = from_long(subj, t, np.ones_like(t))
    f = LinearTurnover(tmp).predict(phi, np.arange(n))[tmp.mask]
    data = from_long(subj, t, f + 0.5 * rng.standard_normal(f.size))
    spec = FitSpec(("r0", "kin", "kout"), (15.0, 5.0, 0.3), ("kin", "kout"), error={"*": "add"})
    r = fit(data, LinearTurnover(data), spec, SaemOptions(k1=200, k2=80, seed=2),
            PostOptions(n_conditional=60, n_is=200))
    # against the realised typical values (the sample mean of the simulated phi)
    realised = phi.mean(axis=0)
    for k, name in enumerate(("r0", "kin", "kout")):
        assert abs(r.parameters[name].estimate / math.exp(realised[k]) - 1) < 0.08, name
    assert "r0" not in r.omega
    assert math.isfinite(r.parameters["r0"].se) and r.parameters["r0"].se > 0
    assert abs(r.residual["y"]["a"] - 0.5) < 0.1


def test_same_seed_same_numbers_and_resume(tmp_path: Path) -> None:
    data, model = toy_oral_dataset(3, n=20)
    spec = FitSpec(("ka", "V", "CL"), (2.0, 40.0, 4.0), ("ka", "V", "CL"))
    opts = SaemOptions(k1=40, k2=20, seed=9, checkpoint_every_s=0.0)
    post = PostOptions(n_conditional=10, n_is=20)
    a = fit(data, model, spec, opts, post)
    b = fit(data, model, spec, opts, post)
    assert np.array_equal(a.mu, b.mu) and a.ofv == b.ofv
    ck = tmp_path / "state.npz"
    calls = {"n": 0}

    def stop_at_30(phase: str, done: int, total: int, info: dict) -> None:  # type: ignore[type-arg]
        if phase == "saem" and done == 30:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(data, model, spec, opts, post, progress=stop_at_30, checkpoint=ck)
    assert ck.exists()
    # a Ctrl-C landing inside a compiled call surfaces as SystemError (its context the
    # KeyboardInterrupt; numba's workqueue layer): the same save-and-stop
    ck2 = tmp_path / "state2.npz"

    def compiled_stop_at_30(phase: str, done: int, total: int, info: dict) -> None:  # type: ignore[type-arg]
        if phase == "saem" and done == 30:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt:
                raise SystemError("CPUDispatcher returned a result with an exception set")  # noqa: B904

    with pytest.raises(KeyboardInterrupt):
        fit(data, model, spec, opts, post, progress=compiled_stop_at_30, checkpoint=ck2)
    assert int(np.load(ck2)["k"]) == 30
    assert interrupted(SystemError("x")) is False

    def count(phase: str, done: int, total: int, info: dict) -> None:  # type: ignore[type-arg]
        if phase == "saem":
            calls["n"] += 1

    c = fit(data, model, spec, opts, post, checkpoint=ck, resume=True, progress=count)
    assert calls["n"] == opts.n_iter - 30  # continued, not restarted
    np.testing.assert_array_equal(c.mu, a.mu)
    np.testing.assert_array_equal(c.omega_matrix, a.omega_matrix)
    assert c.ofv == a.ofv
    other = FitSpec(("ka", "V", "CL"), (2.0, 40.0, 4.0), ("ka", "CL"))
    with pytest.raises(Exception, match="checkpoint"):
        fit(data, model, other, opts, post, checkpoint=ck, resume=True)


def test_block_omega_estimates_correlation() -> None:
    rng = np.random.default_rng(11)
    n = 60
    names = ("ka", "V", "CL")
    cov = np.diag([0.3, 0.2, 0.3]) ** 2
    cov[1, 2] = cov[2, 1] = 0.7 * 0.2 * 0.3
    phi = np.log([1.5, 30.0, 3.0]) + rng.multivariate_normal(np.zeros(3), cov, n)
    t = np.tile(np.array([0.5, 1, 2, 4, 8, 12, 24.0]), n)
    subj = np.repeat(np.arange(n), 7).astype(str)
    tmp = from_long(subj, t, np.ones_like(t))
    f = OneCompartmentOral(tmp, np.full(n, 320.0)).predict(phi, np.arange(n))[tmp.mask]
    data = from_long(subj, t, f * (1 + 0.1 * rng.standard_normal(f.size)))
    spec = FitSpec(names, (1.5, 30.0, 3.0), names, blocks=(("V", "CL"),), error={"*": "prop"})
    r = fit(data, OneCompartmentOral(data, np.full(n, 320.0)), spec,
            SaemOptions(k1=150, k2=80, seed=4), PostOptions(n_conditional=60, n_is=100))
    c = r.correlations["V,CL"]
    assert abs(c["estimate"] - 0.7) < 0.2 and c["se"] > 0
    assert r.omega_matrix[0, 1] == 0.0  # ka outside the block stays uncorrelated


def test_replicates_stop_between_chunks() -> None:
    """``il2sim vpc``'s first Ctrl-C: simulate_replicates returns the chunks that finished,
    the same draws as the first replicates of an uninterrupted run."""
    from il2sim.fit.predictive import PopulationModel, simulate_replicates
    from il2sim.fit.residual import ResidualModel

    data, model = toy_oral_dataset(1, n=10)
    pm = PopulationModel(model, np.log([1.5, 30.0, 3.0]), np.diag([0.1, 0.1, 0.1]),
                         ResidualModel(("prop",), np.array([[0.0, 0.1]]), np.full(1, 1e-12)))
    asked = [0]

    def stop() -> bool:
        asked[0] += 1
        return asked[0] >= 2

    sims, cens = simulate_replicates(pm, data, 100, 1, chunk_rows=100, stop=stop)
    full, full_cens = simulate_replicates(pm, data, 100, 1, chunk_rows=100)
    assert sims.shape[0] == 20 and full.shape[0] == 100  # two chunks of 10 replicates
    np.testing.assert_array_equal(np.nan_to_num(sims), np.nan_to_num(full[:20]))
    np.testing.assert_array_equal(cens, full_cens[:20])
