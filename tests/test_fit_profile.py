"""Profile-likelihood intervals on the importance-sampling likelihood (il2sim.fit.profile):
the Monte Carlo likelihood agrees with the fit's -2LL, its analytic gradient with finite
differences, a well-identified parameter keeps its Wald interval, and an SD near its bound 0
gets an interval reaching 0 (where the Wald interval is symmetric about a collapsed SD)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from il2sim.fit.estimate import PostOptions, fit
from il2sim.fit.model import FitSpec
from il2sim.fit.problem import Problem
from il2sim.fit.profile import CHI2_95, McLikelihood, profile_intervals
from il2sim.fit.recovery import TOY_TRUTH, toy_oral_dataset
from il2sim.fit.saem import SaemOptions

NAMES = tuple(TOY_TRUTH)


def _spec() -> FitSpec:
    return FitSpec(NAMES, tuple(TOY_TRUTH[n] * 1.3 for n in NAMES), NAMES,
                   {n: 0.5 for n in NAMES}, error={"*": "prop"})


@pytest.fixture(scope="module")
def toy() -> tuple[object, object]:
    data, model = toy_oral_dataset(3)
    res = fit(data, model, _spec(), SaemOptions(k1=100, k2=50),
              PostOptions(n_conditional=40, n_is=300))
    return Problem.build(data, model, _spec(), "prop"), res


def test_monte_carlo_likelihood_and_gradient(toy) -> None:  # type: ignore[no-untyped-def]
    pb, res = toy
    mc = McLikelihood(pb, res.mu, res.omega_matrix, res.ab, res.ebe_mean, res.ebe_cov, 200, 0)
    # the same likelihood as the fit's importance sampling, within Monte Carlo error
    assert abs(-2.0 * mc.loglik(mc.theta_hat) - res.ofv) < 4.0 * max(res.ofv_se, 0.5)
    x = mc.to_x(mc.theta_hat) + 0.01
    v, g = mc.value_and_grad(x)
    assert v == pytest.approx(mc.loglik(mc.to_theta(x)))
    h = 1e-6
    fd = [(mc.loglik(mc.to_theta(x + h * np.eye(x.size)[p])) - v) / h for p in range(x.size)]
    np.testing.assert_allclose(g, fd, rtol=1e-3, atol=1e-3)


def test_profile_interval_endpoints_and_wald_agreement(toy) -> None:  # type: ignore[no-untyped-def]
    pb, res = toy
    wald = {n: res.parameters[n].ci95 for n in NAMES}
    for n in NAMES:
        o = res.omega[n]
        wald[f"omega_{n}"] = tuple(o["ci95"])
    iv = profile_intervals(pb, res.mu, res.omega_matrix, res.ab, res.ebe_mean, res.ebe_cov,
                           wald, mode="profile", n_draws=200, only=("CL", "ka", "omega_CL"))
    mc = McLikelihood(pb, res.mu, res.omega_matrix, res.ab, res.ebe_mean, res.ebe_cov, 200, 0)
    x_hat, ll_hat = mc.maximise(mc.to_x(mc.theta_hat))
    p_cl = mc.layout.names.index("CL")
    for bound in (iv["CL"].lo, iv["CL"].hi):  # delta -2LL is 3.84 at the bounds
        x0 = x_hat.copy()
        x0[p_cl] = math.log(bound)
        _x, ll = mc.maximise(x0, fixed=p_cl)
        assert 2.0 * (ll_hat - ll) == pytest.approx(CHI2_95, abs=0.15)
    # CL is well identified: the profile interval is the Wald interval to within 10% of its
    # width, and the estimate lies inside
    w = wald["CL"][1] - wald["CL"][0]
    assert abs(iv["CL"].lo - wald["CL"][0]) < 0.1 * w and abs(iv["CL"].hi - wald["CL"][1]) < 0.1 * w
    assert iv["CL"].lo < res.parameters["CL"].estimate < iv["CL"].hi
    for k, v in iv.items():
        assert v.method == "profile" and v.lo < v.hi, (k, v)


def test_sd_near_zero_gets_an_interval_reaching_zero() -> None:
    """True SD of V 0.02 (30 subjects): the profile interval of that SD starts at 0 and
    covers the truth; the fit reports the method per interval."""
    data, model = toy_oral_dataset(1, n=30, omega={"V": 0.02})
    res = fit(data, model, _spec(), SaemOptions(k1=100, k2=50),
              PostOptions(n_conditional=40, n_is=100, intervals="auto", profile_draws=100))
    o = res.omega["V"]
    assert o["ci_method"] == "profile" and o["ci95"][0] == 0.0 and o["ci95"][1] > 0.02
    assert any("reaches 0" in n for n in res.notes)
    for n in NAMES:
        p = res.parameters[n]
        assert p.ci_method in ("wald", "profile") and p.ci95[0] < p.ci95[1]
        assert p.to_dict()["ci_method"] == p.ci_method
    assert res.options["intervals"]["method"] == "auto"
    # the proposal of session 23: Laplace, with its ESS at the estimate reported
    iv_opts = res.options["intervals"]
    assert iv_opts["proposal"] == "laplace"
    assert 1.0 <= iv_opts["ess_estimate"][0] <= iv_opts["ess_estimate"][1] <= 100.0


def test_intervals_option_is_checked() -> None:
    from il2sim.errors import InputError

    with pytest.raises(InputError, match=r"wald\|auto\|check\|profile"):
        PostOptions(intervals="bootstrap")


def test_proposal_mixture_density_is_normalised() -> None:
    """Draws and log density of a t mixture agree: E_q[p / q] = 1 for a normalised p, for
    one proposal and for the two-proposal mixture (balance heuristic) the profile uses."""
    from il2sim.fit.proposal import Proposal, chol_psd

    rng = np.random.default_rng(5)
    n, k = 3, 2
    cov = np.tile(np.array([[0.5, 0.2], [0.2, 0.4]]), (n, 1, 1))
    cen = rng.normal(0.0, 0.3, (3, n, k))
    a = Proposal(cen, np.stack([chol_psd(cov), chol_psd(2 * cov), chol_psd(0.5 * cov)]),
                 (0.4, 0.4, 0.2), "a")
    b = Proposal(cen[:1] + 0.5, chol_psd(cov)[None], (1.0,), "b")
    m = 20000

    def logp(phi: np.ndarray) -> np.ndarray:
        return -0.5 * (phi**2).sum(-1) - k * 0.5 * math.log(2 * math.pi)

    pa = a.draw(m, 1)
    lqa = a.log_count_density(pa, m) - math.log(pa.shape[0])
    np.testing.assert_allclose(np.exp(logp(pa) - lqa).mean(axis=0), 1.0, atol=0.04)
    both = np.concatenate([pa, b.draw(m, 2)])
    lq = np.logaddexp(a.log_count_density(both, m), b.log_count_density(both, m))
    lq -= math.log(both.shape[0])
    np.testing.assert_allclose(np.exp(logp(both) - lq).mean(axis=0), 1.0, atol=0.04)


def test_laplace_proposal_at_the_estimate_and_moved(toy) -> None:  # type: ignore[no-untyped-def]
    """The Laplace proposal: at the estimate its first component is centred on the modes
    with covariance (H_obs + Omega^-1)^-1 (H_obs positive semi-definite); its ESS at the
    estimate is not much worse than that of the MCMC-moment proposal (on this well-identified
    toy both are good) and both give the same likelihood within Monte Carlo error."""
    from il2sim.fit.proposal import laplace_fit

    pb, res = toy
    lap = laplace_fit(pb, res.mu, res.omega_matrix, res.ab, res.ebe_mode, res.ebe_mean,
                      res.ebe_cov)
    m1, c1 = lap._at(lap.mu, lap.omega)
    np.testing.assert_allclose(m1, lap.mode, atol=1e-12)
    np.testing.assert_allclose(c1, np.linalg.inv(lap.h_obs + np.linalg.inv(lap.omega)),
                               rtol=1e-10)
    assert np.all(np.linalg.eigvalsh(lap.h_obs) >= -1e-9)
    # the moved proposal under the estimate's own prior is the proposal at the estimate
    p0, p1 = lap.proposal(), lap.proposal(lap.mu, lap.omega)
    np.testing.assert_allclose(p0.centres, p1.centres)
    mc_c = McLikelihood(pb, res.mu, res.omega_matrix, res.ab, res.ebe_mean, res.ebe_cov, 200, 0)
    mc_l = McLikelihood(pb, res.mu, res.omega_matrix, res.ab, res.ebe_mean, res.ebe_cov, 200, 0,
                        proposal=lap.proposal())
    assert np.median(mc_l.ess(mc_l.theta_hat)) >= 0.8 * np.median(mc_c.ess(mc_c.theta_hat))
    # the same likelihood within Monte Carlo error
    assert abs(mc_l.loglik(mc_l.theta_hat) - mc_c.loglik(mc_c.theta_hat)) < 2.0
