"""After SAEM: the conditional distributions, EBEs, the Fisher information and -2LL.

* Conditional phase: the MCMC kernels run at the final estimate (no updates); per subject the
  conditional mean and covariance of ``phi`` and the best draw, and Louis' information
  (:mod:`il2sim.fit.fim`) from the same draws.
* Conditional modes (MAP EBEs): ``argmax log p(y_i|phi) + log N(phi; mu, Omega)`` for all
  subjects at once by L-BFGS-B on the stacked vector; the objective is separable, so a
  forward-difference gradient of every subject costs one batched model call per parameter.
* -2 log-likelihood by importance sampling (as Monolix): ``M`` draws per subject from a
  Student t (5 d.f.) centred on the conditional mean with the conditional covariance; ``LL_i =
  log mean_m p(y_i|phi_m) p(phi_m) / q(phi_m)``, with its Monte Carlo standard error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from il2sim.fit.fim import Louis, ThetaLayout
from il2sim.fit.mcmc import mcmc_sweep
from il2sim.fit.problem import Problem, gauss_logpdf
from il2sim.fit.saem import SaemOptions, SaemState, check_stop

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Progress = Callable[[str, int, int, dict[str, Any]], None]

__all__ = ["Conditional", "conditional_modes", "conditional_phase", "importance_ll"]

#: Degrees of freedom of the importance-sampling proposal (Monolix's choice).
IS_DF = 5


@dataclass(frozen=True, eq=False)
class Conditional:
    """Per subject: conditional mean (N, K), covariance (N, K, K), best draw (N, K); the
    information matrix and its layout."""

    mean: FloatArray
    cov: FloatArray
    best: FloatArray
    info: FloatArray
    layout: ThetaLayout
    theta: FloatArray
    n_draws: int


def final_omega(problem: Problem, omega: FloatArray) -> FloatArray:
    """Omega with the pseudo-variances of fixed-only parameters removed."""
    om = omega.copy()
    nr = ~problem.rmask
    om[nr, :] = 0.0
    om[:, nr] = 0.0
    return om


def conditional_phase(problem: Problem, st: SaemState, options: SaemOptions, n_iter: int,
                      seed: int, progress: Progress | None = None, min_iter: int | None = None,
                      lmcmc: int = 50, rmcmc: float = 0.05) -> Conditional:
    """Run MCMC sweeps at the estimate in ``st`` (see the module docstring): at most
    ``n_iter``; after ``min_iter`` (default ``n_iter``: a fixed count) it stops as soon as
    saemix's rule holds (``ipar.lmcmc``/``ipar.rmcmc``, Comets et al. 2017): over the last
    ``lmcmc`` sweeps the subjects' average running conditional mean and SD of every parameter
    stayed within ``rmcmc`` (relative) of their current values."""
    rng = np.random.default_rng([seed, 7])
    omega = final_omega(problem, st.omega)
    res = problem.residual0.with_ab(st.ab)
    layout = ThetaLayout.build(problem, res.kinds)
    theta = layout.pack(st.mu, omega, st.ab)
    louis = Louis(problem, layout, theta, st.ab)
    n, k = problem.n, problem.spec.k
    s1 = np.zeros((n, k))
    s2 = np.zeros((n, k, k))
    cnt = np.zeros(n)
    best = np.tile(st.mu, (n, 1))
    best_val = np.full(n, -np.inf)
    ch = st.chains
    first = n_iter if min_iter is None else max(1, min(min_iter, n_iter))
    ebar: list[FloatArray] = []
    sdbar: list[FloatArray] = []
    done = 0
    for it in range(n_iter):
        ch = mcmc_sweep(problem, ch, st.mu, omega, res, options, rng)
        phi, subj = ch.phi, ch.subjects
        np.add.at(s1, subj, phi)
        np.add.at(s2, subj, phi[:, :, None] * phi[:, None, :])
        np.add.at(cnt, subj, 1.0)
        val = ch.ll + gauss_logpdf(phi, st.mu, omega, problem.rmask)
        for r in range(phi.shape[0]):
            if val[r] > best_val[subj[r]]:
                best_val[subj[r]] = val[r]
                best[subj[r]] = phi[r]
        louis.add(phi, subj, ch.f)
        done = it + 1
        if progress is not None:
            progress("conditional", done, n_iter, {})
        check_stop("conditional", done, n_iter)
        m = s1 / cnt[:, None]
        var = np.einsum("nkk->nk", s2) / cnt[:, None] - m**2
        ebar.append(m.mean(axis=0))
        sdbar.append(np.sqrt(np.maximum(var, 0.0)).mean(axis=0))
        if done >= max(first, lmcmc) and _settled(ebar[-lmcmc:], rmcmc) and _settled(
                sdbar[-lmcmc:], rmcmc):
            break
    if progress is not None and done < n_iter:
        progress("conditional", n_iter, n_iter, {"stopped_at": done})
    mean = s1 / cnt[:, None]
    cov = s2 / cnt[:, None, None] - mean[:, :, None] * mean[:, None, :]
    return Conditional(mean, cov, best, louis.information(), layout, theta, done)


def _settled(history: list[FloatArray], rel: float) -> bool:
    """saemix's band: every value of ``history`` within ``rel |last|`` of the last one."""
    h = np.asarray(history)
    last = h[-1]
    return bool(np.all(np.abs(h - last) <= rel * np.abs(last) + 1e-12))


def conditional_modes(problem: Problem, mu: FloatArray, omega: FloatArray, ab: FloatArray,
                      start: FloatArray, max_iter: int = 50,
                      progress: Progress | None = None) -> FloatArray:
    """MAP estimates (N, K) of the individual parameters (see the module docstring)."""
    rm = problem.rmask
    n = start.shape[0]
    if not rm.any():
        return np.tile(mu, (n, 1))
    om = final_omega(problem, omega)
    res = problem.residual0.with_ab(ab)
    subj = np.arange(n)
    kr = int(rm.sum())
    h = 1e-6

    def full(x: FloatArray) -> FloatArray:
        phi = np.tile(mu, (n, 1))
        phi[:, rm] = x.reshape(n, kr)
        return phi

    def per_subject(phi: FloatArray) -> FloatArray:
        f = problem.predict(phi, subj)
        return -(problem.obs_loglik(f, subj, res) + gauss_logpdf(phi, mu, om, rm))

    def fun(x: FloatArray) -> tuple[float, FloatArray]:
        phi = full(x)
        v0 = per_subject(phi)
        grad = np.zeros((n, kr))
        cols = np.flatnonzero(rm)
        for j, c in enumerate(cols):
            ph = phi.copy()
            ph[:, c] += h
            grad[:, j] = (per_subject(ph) - v0) / h
        return float(v0.sum()), grad.ravel()

    x0 = start[:, rm].ravel()
    it = [0]

    def step(_x: FloatArray) -> None:
        it[0] += 1
        if progress is not None:
            progress("modes", it[0], max_iter, {})
        check_stop("modes", it[0], max_iter)

    out = optimize.minimize(fun, x0, jac=True, method="L-BFGS-B", callback=step,
                            options={"maxiter": max_iter, "gtol": 1e-5})
    if progress is not None:
        progress("modes", max_iter, max_iter, {})
    x = out.x if np.isfinite(out.fun) and out.fun <= fun(x0)[0] else x0
    return full(x)


def importance_ll(problem: Problem, mu: FloatArray, omega: FloatArray, ab: FloatArray,
                  cond: Conditional, n_samples: int, seed: int, chunk: int = 100,
                  progress: Progress | None = None) -> tuple[float, float]:
    """(log-likelihood, its Monte Carlo SE) by importance sampling."""
    rng = np.random.default_rng([seed, 11])
    rm = problem.rmask
    n, k = cond.mean.shape
    om = final_omega(problem, omega)
    res = problem.residual0.with_ab(ab)
    if not rm.any():
        phi = np.tile(mu, (n, 1))
        subj = np.arange(n)
        ll = problem.obs_loglik(problem.predict(phi, subj), subj, res)
        return float(ll.sum()), 0.0
    kr = int(rm.sum())
    chol = np.zeros((n, kr, kr))
    for i in range(n):
        c = cond.cov[i][np.ix_(rm, rm)]
        c = 0.5 * (c + c.T) + 1e-10 * np.eye(kr)
        w, v = np.linalg.eigh(c)
        c = (v * np.maximum(w, 1e-8)) @ v.T
        chol[i] = np.linalg.cholesky(c)
    logdet = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    nu = IS_DF
    const = (special.gammaln((nu + kr) / 2) - special.gammaln(nu / 2)
             - 0.5 * kr * np.log(nu * np.pi))
    logw_all: list[FloatArray] = []
    done = 0
    while done < n_samples:
        m = min(chunk, n_samples - done)
        z = rng.standard_normal((m, n, kr))
        u = rng.chisquare(nu, (m, n)) / nu
        step = np.einsum("nab,mnb->mna", chol, z) / np.sqrt(u)[:, :, None]
        phi = np.tile(mu, (m, n, 1))
        phi[:, :, rm] = cond.mean[None, :, rm] + step
        sol = np.einsum("nab,mnb->mna", np.linalg.inv(chol), step)
        q = const - 0.5 * logdet[None, :] - 0.5 * (nu + kr) * np.log1p((sol**2).sum(-1) / nu)
        flat = phi.reshape(m * n, k)
        subj = np.tile(np.arange(n), m)
        f = problem.predict(flat, subj)
        lp = problem.obs_loglik(f, subj, res) + gauss_logpdf(flat, mu, om, rm)
        logw_all.append(lp.reshape(m, n) - q)
        done += m
        if progress is not None:
            progress("likelihood", done, n_samples, {})
        if done < n_samples:
            check_stop("likelihood", done, n_samples)
    logw = np.concatenate(logw_all, axis=0)  # (M, N)
    mx = logw.max(axis=0)
    w = np.exp(logw - mx)
    mean_w = w.mean(axis=0)
    ll_i = mx + np.log(mean_w)
    var_i = w.var(axis=0, ddof=1) / (logw.shape[0] * mean_w**2)
    return float(ll_i.sum()), float(np.sqrt(var_i.sum()))


def predictions(problem: Problem, phi: FloatArray) -> FloatArray:
    """Model predictions (N, J) for one parameter row per subject."""
    return problem.predict(phi, np.arange(problem.n))


def with_scales(st: SaemState, scale2: float, scale3: FloatArray) -> SaemState:
    """``st`` with other random-walk scales (helper for tests)."""
    return replace(st, chains=replace(st.chains, scale2=scale2, scale3=scale3))
