"""Metropolis-Hastings kernels of the SAEM simulation step, vectorised over all rows.

Rows are (chain, subject) pairs; every proposal of a kernel is evaluated for all rows in one
structural-model call.  Kernels (Kuhn & Lavielle 2004; saemix's ``nbiter.mcmc = c(2, 2, 2)``,
Comets et al. 2017):

1. independent proposal from the population distribution ``N(mu, Omega)``, accepted with the
   likelihood ratio ``p(y|phi')/p(y|phi)``;
2. joint random walk ``phi + s2 * chol(Omega) z``;
3. component-wise random walk ``phi_k + s3_k * sqrt(Omega_kk) z``: with ``scan="random"``
   (the default since session 20) each pass moves, in every row, one component chosen
   uniformly at random, so a pass is one model call whatever the number of parameters
   (random-scan Metropolis-within-Gibbs: the choice does not depend on the state, so the
   mixture of the component kernels leaves the conditional distribution invariant); with
   ``scan="systematic"`` (saemix's second kernel) every component with a random effect (or
   a pseudo-variance) in turn, one model call each.

Random-walk scales adapt to an acceptance rate of ``rw_target`` (0.4) by the factor ``1 +
rw_rate (acc - target)`` after every pass, as saemix does.  Inputs are never modified: each
call returns new :class:`Chains`, so an interrupted iteration leaves the previous state intact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.fit.problem import Problem, gauss_logpdf
from il2sim.fit.residual import ResidualModel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = ["Chains", "mcmc_sweep"]


@dataclass(frozen=True, eq=False)
class Chains:
    """Current MCMC state: rows' subjects (R,), parameters (R, K), predictions (R, J),
    observation log-likelihoods (R,) and the random-walk scales."""

    subjects: IntArray
    phi: FloatArray
    f: FloatArray
    ll: FloatArray
    scale2: float
    scale3: FloatArray


def _active(problem: Problem, omega: FloatArray) -> npt.NDArray[np.bool_]:
    """Dimensions the kernels move: random effects and positive pseudo-variances."""
    return np.asarray(problem.rmask | (np.diag(omega) > 1e-14))


def _chol(omega: FloatArray, act: npt.NDArray[np.bool_]) -> FloatArray:
    k = omega.shape[0]
    out = np.zeros((k, k))
    if act.any():
        sub = omega[np.ix_(act, act)] + 1e-12 * np.eye(int(act.sum()))
        out[np.ix_(act, act)] = np.linalg.cholesky(sub)
    return out


def _accept(
    problem: Problem, ch: Chains, prop: FloatArray, log_ratio_prior: FloatArray,
    res: ResidualModel, rng: np.random.Generator,
) -> tuple[Chains, FloatArray]:
    """Evaluate ``prop`` for all rows; accept with log u < ll' - ll + log_ratio_prior."""
    f_new = problem.predict(prop, ch.subjects)
    ll_new = problem.obs_loglik(f_new, ch.subjects, res)
    log_u = np.log(rng.random(ch.ll.shape[0]))
    ok = log_u < ll_new - ch.ll + log_ratio_prior
    phi = np.where(ok[:, None], prop, ch.phi)
    f = np.where(ok[:, None], f_new, ch.f)
    ll = np.where(ok, ll_new, ch.ll)
    return replace(ch, phi=phi, f=f, ll=ll), ok.astype(float)


def mcmc_sweep(
    problem: Problem,
    chains: Chains,
    mu: FloatArray,
    omega: FloatArray,
    res: ResidualModel,
    options: Any,  # il2sim.fit.saem.SaemOptions (not imported: saem imports this module)
    rng: np.random.Generator,
    record: list[FloatArray] | None = None,
) -> Chains:
    """One simulation step: the three kernels ``options.mcmc`` times each.

    ``record``, if given, receives a copy of ``phi`` after each kernel pass (used by the
    conditional-distribution phase)."""
    n1, n2, n3 = options.mcmc
    act = _active(problem, omega)
    chol = _chol(omega, act)
    r, k = chains.phi.shape
    ch = replace(chains, ll=problem.obs_loglik(chains.f, chains.subjects, res))
    # pin dimensions that do not move to mu (parameters without variability, final phase)
    if (~act).any():
        phi = ch.phi.copy()
        phi[:, ~act] = mu[~act]
        if not np.array_equal(phi, ch.phi):
            f = problem.predict(phi, ch.subjects)
            ch = replace(ch, phi=phi, f=f, ll=problem.obs_loglik(f, ch.subjects, res))
    if not act.any():
        return ch

    def lp(x: FloatArray) -> FloatArray:
        return gauss_logpdf(x, mu, omega, act)

    for _ in range(n1):
        prop = ch.phi.copy()
        prop[:, act] = (mu + rng.standard_normal((r, k)) @ chol.T)[:, act]
        ch, _ok = _accept(problem, ch, prop, np.zeros(r), res, rng)
        if record is not None:
            record.append(ch.phi.copy())
    scale2 = ch.scale2
    lp_cur = lp(ch.phi)
    for _ in range(n2):
        prop = ch.phi + scale2 * (rng.standard_normal((r, k)) @ chol.T)
        lp_prop = lp(prop)
        ch, ok = _accept(problem, ch, prop, lp_prop - lp_cur, res, rng)
        lp_cur = np.where(ok > 0, lp_prop, lp_cur)
        scale2 = float(scale2 * (1.0 + options.rw_rate * (ok.mean() - options.rw_target)))
        if record is not None:
            record.append(ch.phi.copy())
    scale3 = ch.scale3.copy()
    sd = np.sqrt(np.maximum(np.diag(omega), 0.0))
    cols = np.flatnonzero(act)
    scan = getattr(options, "scan", "systematic")
    for _ in range(n3):
        if scan == "random":
            # random scan: every row moves one component chosen uniformly (independently of
            # the state, so the mixture of the component kernels keeps the target), all rows
            # in one model call
            pick = cols[rng.integers(0, cols.size, r)]
            prop = ch.phi.copy()
            rows = np.arange(r)
            prop[rows, pick] += scale3[pick] * sd[pick] * rng.standard_normal(r)
            lp_prop = lp(prop)
            ch, ok = _accept(problem, ch, prop, lp_prop - lp_cur, res, rng)
            lp_cur = np.where(ok > 0, lp_prop, lp_cur)
            for j in cols:
                sel = pick == j
                if sel.any():
                    scale3[j] *= 1.0 + options.rw_rate * (ok[sel].mean() - options.rw_target)
        else:
            for j in cols:
                prop = ch.phi.copy()
                prop[:, j] += scale3[j] * sd[j] * rng.standard_normal(r)
                lp_prop = lp(prop)
                ch, ok = _accept(problem, ch, prop, lp_prop - lp_cur, res, rng)
                lp_cur = np.where(ok > 0, lp_prop, lp_cur)
                scale3[j] *= 1.0 + options.rw_rate * (ok.mean() - options.rw_target)
        if record is not None:
            record.append(ch.phi.copy())
    return replace(ch, scale2=scale2, scale3=scale3)
