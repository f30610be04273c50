"""Importance-sampling proposals of the Monte Carlo likelihood (:mod:`il2sim.fit.mclik`).

A proposal is a per-subject mixture of multivariate Student t components (IS_DF d.f.), drawn
in fixed proportions and evaluated with the balance heuristic (Owen & Zhou 2000): ``q_i(phi) =
sum_c (m_c / M) t(phi; centre_ci, scale_ci)``.

* :func:`conditional_proposal` (sessions 21-22): half the draws on the conditional mean and
  covariance of the MCMC conditional phase, half with that covariance widened by
  ``max(omega_k, wide_sd)^2`` where the median conditional SD exceeds half of ``omega_k``.
  Its flaw (session 22, replicate 2 of the recovery): where a between-patient SD collapses,
  the MCMC covariance along that direction is not the conditional covariance at the estimate
  (a conditional SD of nk_loss 0.052 against a fitted between-patient SD of 0.029), and the
  smallest effective sample size at the estimate itself was 1.7 of 200.
* :func:`laplace_proposal` (session 23, the default of :func:`il2sim.fit.profile.
  profile_intervals`): per subject the conditional mode ``phi_i*`` (MAP, refined from a start
  by :func:`il2sim.fit.posthoc.conditional_modes`) and the Laplace curvature ``H_i = H_obs,i +
  Omega^-1``, ``H_obs,i`` the negative Hessian of ``log p(y_i | phi)`` at the mode by central
  differences on the batched solver (``2 K^2 + 1`` rows per subject in one batched call), its
  negative eigenvalues clipped to 0 so that ``H_i`` is positive definite.  Components:

  1. ``t(phi_i*, H_i^-1)``: the Laplace approximation of the conditional at the estimate;
  2. the same under a wider prior ``Omega_w = Omega + diag(max(omega_k, wide_sd)^2)``:
     ``H_w = H_obs + Omega_w^-1`` and the mode moved by one Newton step, ``phi_w = phi* +
     H_w^-1 (Omega^-1 - Omega_w^-1)(phi* - mu)``.  It covers the conditional distributions at
     population parameters away from the estimate (a larger SD or another typical value of a
     poorly informed parameter) while well-informed dimensions, where ``H_obs`` dominates,
     stay as narrow as the data make them;
  3. defensive: the MCMC conditional moments (the proposal of the fit's own -2LL,
     :func:`il2sim.fit.posthoc.importance_ll`), so that no region the sampler found is lost.

Fractions ``LAPLACE_FRACTIONS`` of the ``M`` draws.  Where a profile moves the population
parameters far from the estimate (the smallest ESS of the weights below
:data:`il2sim.fit.profile.REFRESH_ESS`), :meth:`Laplace.proposal` gives the same three
components under the new ``mu``, ``Omega`` without new model calls: one Newton step from the
modes at the estimate (the gradient of the individual likelihood there is known from the
stationarity of the mode) with the same curvature ``H_obs``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from il2sim.fit.posthoc import IS_DF, conditional_modes, final_omega
from il2sim.fit.problem import Problem

FloatArray = npt.NDArray[np.float64]

__all__ = ["LAPLACE_FRACTIONS", "Laplace", "Proposal", "conditional_proposal", "laplace_fit",
           "laplace_proposal", "observed_curvature"]

#: Share of the draws of the Laplace, widened-Laplace and MCMC (defensive) components.
LAPLACE_FRACTIONS = (0.4, 0.4, 0.2)
#: Central-difference step (log scale) of the curvature.
HESS_STEP = 1e-3


def t_logpdf(step: FloatArray, chol: FloatArray) -> FloatArray:
    """log density of the multivariate t (IS_DF d.f.) with scale ``chol chol^T`` at ``step``
    (M, N, k); ``chol`` (N, k, k)."""
    nu = IS_DF
    k = chol.shape[-1]
    const = (special.gammaln((nu + k) / 2) - special.gammaln(nu / 2) - 0.5 * k * np.log(nu * np.pi))
    logdet = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    sol = np.einsum("nab,mnb->mna", np.linalg.inv(chol), step)
    return np.asarray(const - 0.5 * logdet[None, :]
                      - 0.5 * (nu + k) * np.log1p((sol**2).sum(-1) / nu))


def chol_psd(c: FloatArray) -> FloatArray:
    """Cholesky factors (N, k, k) of symmetric matrices with eigenvalues floored at 1e-8."""
    k = c.shape[-1]
    c = 0.5 * (c + np.swapaxes(c, -1, -2)) + 1e-10 * np.eye(k)
    w, v = np.linalg.eigh(c)
    c = np.einsum("nab,nb,ncb->nac", v, np.maximum(w, 1e-8), v)
    return np.asarray(np.linalg.cholesky(c))


@dataclass(frozen=True, eq=False)
class Proposal:
    """Mixture components: ``centres`` (C, N, K), Cholesky ``chols`` (C, N, K, K) of the t
    scales, ``fractions`` (C,) summing to 1; ``label`` names the construction."""

    centres: FloatArray
    chols: FloatArray
    fractions: tuple[float, ...]
    label: str

    def counts(self, n_draws: int) -> list[int]:
        """Draws per component: ``round(fraction * n_draws)``, at least one."""
        return [max(1, round(f * n_draws)) for f in self.fractions]

    def draw(self, n_draws: int, seed: int) -> FloatArray:
        """phi (M, N, K), ``M = sum(counts(n_draws))``, component by component."""
        _c, n, k = self.centres.shape
        counts = self.counts(n_draws)
        m = sum(counts)
        rng = np.random.default_rng([seed, 23])
        z = rng.standard_normal((m, n, k))
        u = rng.chisquare(IS_DF, (m, n)) / IS_DF
        phi = np.empty((m, n, k))
        s = 0
        for j, cnt in enumerate(counts):
            step = np.einsum("nab,mnb->mna", self.chols[j], z[s:s + cnt])
            phi[s:s + cnt] = self.centres[j][None] + step / np.sqrt(u[s:s + cnt])[:, :, None]
            s += cnt
        return phi

    def log_count_density(self, phi: FloatArray, n_draws: int) -> FloatArray:
        """``log sum_c m_c t_c(phi)`` (M', N) at any draws ``phi`` (M', N, K): the density
        times the number of draws, so that mixtures of proposals add (balance heuristic)."""
        logs = [np.log(cnt) + t_logpdf(phi - self.centres[j][None], self.chols[j])
                for j, cnt in enumerate(self.counts(n_draws))]
        return np.asarray(np.logaddexp.reduce(np.stack(logs), axis=0))


def conditional_proposal(omega: FloatArray, cond_mean: FloatArray, cond_cov: FloatArray,
                         wide_sd: float = 0.3) -> Proposal:
    """The proposal of sessions 21-22 (module docstring)."""
    sd_hat = np.sqrt(np.maximum(np.diag(omega), 0.0))
    post_sd = np.median(np.sqrt(np.maximum(np.einsum("nkk->nk", cond_cov), 0.0)), axis=0)
    widened = post_sd > 0.5 * np.maximum(sd_hat, 1e-6)
    add = np.where(widened, np.maximum(sd_hat, wide_sd) ** 2, 0.0)
    chols = np.stack([chol_psd(cond_cov), chol_psd(cond_cov + np.diag(add)[None])])
    return Proposal(np.stack([cond_mean, cond_mean]), chols, (0.5, 0.5), "conditional")


def observed_curvature(problem: Problem, phi: FloatArray, ab: FloatArray,
                       h: float = HESS_STEP, chunk_rows: int = 2500) -> FloatArray:
    """``H_obs`` (N, K, K): minus the Hessian of ``log p(y_i | phi)`` at ``phi`` (N, K) by
    central differences (one batched model call over all subjects and perturbations)."""
    n, k = phi.shape
    res = problem.residual0.with_ab(ab)
    eye = np.eye(k) * h
    offs = [np.zeros(k)]
    for a in range(k):
        offs += [eye[a], -eye[a]]
    for a in range(k):
        for b in range(a + 1, k):
            offs += [eye[a] + eye[b], eye[a] - eye[b], -eye[a] + eye[b], -eye[a] - eye[b]]
    off = np.asarray(offs)  # (P, K)
    rows = (phi[None] + off[:, None, :]).reshape(-1, k)
    subj = np.tile(np.arange(n), off.shape[0])
    ll = np.empty(rows.shape[0])
    for s in range(0, rows.shape[0], chunk_rows):
        sl = slice(s, s + chunk_rows)
        ll[sl] = problem.obs_loglik(problem.predict(rows[sl], subj[sl]), subj[sl], res)
    v = ll.reshape(off.shape[0], n)
    hess = np.zeros((n, k, k))
    for a in range(k):
        hess[:, a, a] = (v[1 + 2 * a] - 2 * v[0] + v[2 + 2 * a]) / h**2
    p = 1 + 2 * k
    for a in range(k):
        for b in range(a + 1, k):
            hab = (v[p] - v[p + 1] - v[p + 2] + v[p + 3]) / (4 * h * h)
            hess[:, a, b] = hess[:, b, a] = hab
            p += 4
    return np.asarray(-hess)


def _clip_psd(h: FloatArray) -> FloatArray:
    w, v = np.linalg.eigh(0.5 * (h + np.swapaxes(h, -1, -2)))
    return np.asarray(np.einsum("nab,nb,ncb->nac", v, np.maximum(w, 0.0), v))


@dataclass(frozen=True, eq=False)
class Laplace:
    """Per subject the conditional mode ``mode`` (N, K) at the population parameters ``mu``,
    ``omega`` and the observed curvature ``h_obs`` (N, K, K) there; with the MCMC moments of
    the defensive component."""

    mode: FloatArray
    h_obs: FloatArray
    mu: FloatArray
    omega: FloatArray
    cond_mean: FloatArray
    cond_cov: FloatArray
    wide_sd: float = 0.3

    def _at(self, mu: FloatArray, omega: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(mode, covariance) of the Laplace approximation under the prior N(mu, omega): one
        Newton step from the mode at (self.mu, self.omega), where the gradient of
        ``log p(y_i | phi)`` is ``omega0^-1 (mode - mu0)``, and the curvature ``h_obs``."""
        prec0 = np.linalg.inv(self.omega)
        prec = np.linalg.inv(omega)
        cov = np.linalg.inv(self.h_obs + prec[None])
        grad = (self.mode - self.mu) @ prec0.T - (self.mode - mu) @ prec.T
        return self.mode + np.einsum("nab,nb->na", cov, grad), cov

    def proposal(self, mu: FloatArray | None = None, omega: FloatArray | None = None,
                 label: str = "laplace") -> Proposal:
        """The three components of the module docstring at ``mu``, ``omega`` (default: where
        the modes were found)."""
        mu = self.mu if mu is None else mu
        omega = self.omega if omega is None else omega
        sd = np.sqrt(np.maximum(np.diag(omega), 0.0))
        m1, c1 = self._at(mu, omega)
        m2, c2 = self._at(mu, omega + np.diag(np.maximum(sd, self.wide_sd) ** 2))
        chols = np.stack([chol_psd(c1), chol_psd(c2), chol_psd(self.cond_cov)])
        return Proposal(np.stack([m1, m2, self.cond_mean]), chols, LAPLACE_FRACTIONS, label)


def laplace_fit(problem: Problem, mu: FloatArray, omega: FloatArray, ab: FloatArray,
                start: FloatArray, cond_mean: FloatArray, cond_cov: FloatArray,
                wide_sd: float = 0.3, max_iter: int = 30) -> Laplace:
    """Conditional modes (from ``start``, the fit's MAP EBEs) and curvature at the estimate."""
    om = final_omega(problem, omega)
    mode = conditional_modes(problem, mu, om, ab, start, max_iter)
    h_obs = _clip_psd(observed_curvature(problem, mode, ab))
    if not np.all(np.isfinite(h_obs)):
        raise FloatingPointError("non-finite curvature of the individual likelihood")
    return Laplace(mode, h_obs, np.asarray(mu, dtype=float), om, cond_mean, cond_cov, wide_sd)


def laplace_proposal(problem: Problem, mu: FloatArray, omega: FloatArray, ab: FloatArray,
                     start: FloatArray, cond_mean: FloatArray, cond_cov: FloatArray,
                     wide_sd: float = 0.3, max_iter: int = 30) -> Proposal:
    """The Laplace proposal of the module docstring at the estimate."""
    return laplace_fit(problem, mu, omega, ab, start, cond_mean, cond_cov, wide_sd,
                       max_iter).proposal()
