"""The Monte Carlo likelihood of the profile-likelihood intervals (:mod:`il2sim.fit.profile`).

Geyer & Thompson 1992's Monte Carlo likelihood with the importance sampler of
:func:`il2sim.fit.posthoc.importance_ll`: ``M`` draws ``phi_im`` per subject from a fixed
proposal ``q_i`` (a defensive mixture, Hesterberg 1995, evaluated with the balance heuristic
of Owen & Zhou 2000: half the draws from a Student t (5 d.f.) on the subject's conditional
mean and covariance at the estimate, half from the same t with the covariance widened by
``max(omega_k, wide_sd)^2`` in the dimensions the data inform little (median conditional SD
above half of ``omega_k``, e.g. a collapsed SD), so that draws also cover population
parameters away from the estimate there), then for any population parameter ``theta``
(typical values, Omega, residual errors)::

    LL(theta) = sum_i log mean_m p(y_i | phi_im; sigma) N(phi_im; mu, Omega) / q_i(phi_im)

The model predictions at the draws do not depend on ``theta``, so they are computed once (``M``
batched model calls) and ``LL`` is then cheap for every ``theta``; the same draws at every
``theta`` make differences of ``LL`` smooth.  The residual part of ``LL`` is a closed form in
the residual parameters for the add/prop/exp kinds (per-row sums, censored terms by M3), the
Gaussian part's gradient is analytic (Fisher's identity).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from il2sim.fit.fim import ThetaLayout
from il2sim.fit.posthoc import IS_DF, final_omega
from il2sim.fit.problem import Problem, gauss_logpdf

FloatArray = npt.NDArray[np.float64]

__all__ = ["McLikelihood"]

_LOG_2PI = math.log(2.0 * math.pi)


def _t_logpdf(step: FloatArray, chol: FloatArray) -> FloatArray:
    """log density of the multivariate t (IS_DF d.f.) with scale ``chol chol^T`` at ``step``
    (M, N, k); ``chol`` (N, k, k)."""
    nu = IS_DF
    k = chol.shape[-1]
    const = (special.gammaln((nu + k) / 2) - special.gammaln(nu / 2) - 0.5 * k * np.log(nu * np.pi))
    logdet = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    sol = np.einsum("nab,mnb->mna", np.linalg.inv(chol), step)
    return np.asarray(const - 0.5 * logdet[None, :]
                      - 0.5 * (nu + k) * np.log1p((sol**2).sum(-1) / nu))


def _chol(c: FloatArray) -> FloatArray:
    k = c.shape[-1]
    c = 0.5 * (c + np.swapaxes(c, -1, -2)) + 1e-10 * np.eye(k)
    w, v = np.linalg.eigh(c)
    c = np.einsum("nab,nb,ncb->nac", v, np.maximum(w, 1e-8), v)
    return np.asarray(np.linalg.cholesky(c))


class McLikelihood:
    """The Monte Carlo log-likelihood ``LL(theta)`` of the module docstring."""

    def __init__(self, problem: Problem, mu: FloatArray, omega: FloatArray, ab: FloatArray,
                 cond_mean: FloatArray, cond_cov: FloatArray, n_draws: int = 200,
                 seed: int = 0, wide_sd: float = 0.3, chunk: int = 50) -> None:
        rm = problem.rmask
        if not rm.all():
            raise ValueError("the profile likelihood needs a random effect on every parameter")
        self.pb = problem
        res = problem.residual0.with_ab(ab)
        self.res0 = res
        self.layout = ThetaLayout.build(problem, res.kinds)
        self.ab0 = np.asarray(ab, dtype=float).copy()
        om = final_omega(problem, omega)
        self.theta_hat = self.layout.pack(mu, om, self.ab0)
        n, k = cond_mean.shape
        m_half = max(1, n_draws // 2)
        m = 2 * m_half
        rng = np.random.default_rng([seed, 23])
        sd_hat = np.sqrt(np.maximum(np.diag(om), 0.0))
        chol_n = _chol(cond_cov)
        # widen only the dimensions the data inform little (median conditional SD above half
        # the SD of the random effect, e.g. a collapsed SD): there the conditional
        # distribution moves with the population parameters; widening well-informed
        # dimensions too would make the second component useless in K dimensions
        post_sd = np.median(np.sqrt(np.maximum(np.einsum("nkk->nk", cond_cov), 0.0)), axis=0)
        self.widened = post_sd > 0.5 * np.maximum(sd_hat, 1e-6)
        add = np.where(self.widened, np.maximum(sd_hat, wide_sd) ** 2, 0.0)
        chol_w = _chol(cond_cov + np.diag(add)[None])
        z = rng.standard_normal((m, n, k))
        u = rng.chisquare(IS_DF, (m, n)) / IS_DF
        step = np.empty((m, n, k))
        step[:m_half] = np.einsum("nab,mnb->mna", chol_n, z[:m_half])
        step[m_half:] = np.einsum("nab,mnb->mna", chol_w, z[m_half:])
        step /= np.sqrt(u)[:, :, None]
        self.phi = cond_mean[None] + step  # (M, N, K)
        self.logq = np.logaddexp(_t_logpdf(step, chol_n), _t_logpdf(step, chol_w)) - np.log(2.0)
        self.m, self.n, self.k = m, n, k
        flat = self.phi.reshape(m * n, k)
        subj = np.tile(np.arange(n), m)
        fs = []
        for s in range(0, m * n, chunk * n):
            fs.append(problem.predict(flat[s:s + chunk * n], subj[s:s + chunk * n]))
        f = np.concatenate(fs, axis=0)
        d = problem.data
        # per observation type: uncensored values of the add/prop/exp kinds enter through
        # per-row sums (their log-likelihood is a closed form in (a, b)); censored values,
        # the combined kind and predictions where the sd floor could bind, element by element
        # (only a residual parameter's own type is recomputed when it changes)
        self._types: list[tuple[Any, ...]] = []
        self._closed = np.zeros(d.n_types, dtype=bool)  # every value of the type in closed form
        rows_all = np.repeat(np.arange(m * n), f.shape[1]).reshape(m * n, -1)
        floor = res.floor
        for t in range(d.n_types):
            kind = res.kinds[t]
            sel = (d.mask & (d.obs_type == t))[subj]
            y, ft, c = d.dv[subj][sel], f[sel], d.censored[subj][sel]
            lq = d.lloq[subj][sel]
            rows = rows_all[sel]
            fast = np.full(rows.size, kind in ("add", "prop", "exp"))
            const = np.zeros(m * n)
            if kind == "prop":  # where |f| <= floor the sd is the floor for any b <= 1
                tiny = np.abs(ft) <= floor[t]
                if tiny.any():
                    ll0 = res.loglik(y[tiny][:, None], ft[tiny][:, None],
                                     np.full((int(tiny.sum()), 1), t), c[tiny][:, None],
                                     lq[tiny][:, None], np.ones((int(tiny.sum()), 1), bool))
                    const = np.bincount(rows[tiny], weights=np.where(np.isfinite(ll0), ll0,
                                                                      -1e300), minlength=m * n)
                fast &= ~tiny
            if kind == "exp":
                fast &= ~c | (lq > 0)
            unc, cen = fast & ~c, fast & c
            stats = None
            if unc.any():
                rf, yf, ff = rows[unc], y[unc], ft[unc]
                if kind == "prop":
                    r2, extra = ((yf - ff) / np.abs(ff)) ** 2, np.log(np.abs(ff))
                elif kind == "add":
                    r2, extra = (yf - ff) ** 2, np.zeros(ff.size)
                else:
                    r2 = (np.log(yf) - np.log(np.maximum(ff, 1e-300))) ** 2
                    extra = np.log(yf)
                cnt = np.bincount(rf, minlength=m * n).astype(float)
                stats = (np.bincount(rf, weights=r2, minlength=m * n),
                         np.bincount(rf, weights=extra, minlength=m * n), cnt)
            cens = None
            if cen.any():  # log P(y < LLOQ) = log Phi(u / s), s the type's a or b
                fc, lc = ft[cen], lq[cen]
                if kind == "prop":
                    u = (lc - fc) / np.abs(fc)
                elif kind == "add":
                    u = lc - fc
                else:
                    u = np.log(lc) - np.log(np.maximum(fc, 1e-300))
                cens = (rows[cen], u)
            slow = ~fast
            if kind == "prop":
                slow &= ~tiny
            self._closed[t] = not slow.any()
            self._types.append((kind, const, stats, cens, rows[slow], y[slow], ft[slow], c[slow],
                                lq[slow], np.full(int(slow.sum()), t)))
        self._obs_cache: dict[int, dict[tuple[float, float], tuple[FloatArray, FloatArray]]] = {
            t: {} for t in range(d.n_types)}
        self.evaluations = 0
        self.flat = flat

    # ------------------------------------------------------------------ parts
    def _obs_type(self, t: int, ab: FloatArray) -> tuple[FloatArray, FloatArray]:
        """log p(y_t | phi_m) of type ``t`` (M, N) and its derivative in the log of the
        type's parameter (closed-form types; zeros otherwise)."""
        key = (float(ab[t, 0]), float(ab[t, 1]))
        cache = self._obs_cache[t]
        hit = cache.get(key)
        if hit is not None:
            return hit
        kind, const, stats, cens, rows, y, f, c, lq, ty = self._types[t]
        mn = self.m * self.n
        out = const.copy()
        dout = np.zeros(mn)
        sd = float(ab[t, 1] if kind == "prop" else ab[t, 0])
        if stats is not None or cens is not None:
            if sd <= 0:
                out[:] = -1e300
            else:
                if stats is not None:
                    r2, extra, cnt = stats
                    out += -0.5 * cnt * _LOG_2PI - 0.5 * r2 / sd**2 - cnt * math.log(sd) - extra
                    dout += r2 / sd**2 - cnt
                if cens is not None:
                    rc, u = cens
                    zc = u / sd
                    lphi = special.log_ndtr(zc)
                    out += np.bincount(rc, weights=lphi, minlength=mn)
                    mills = np.exp(-0.5 * zc * zc - 0.5 * _LOG_2PI - lphi)
                    dout += np.bincount(rc, weights=-zc * mills, minlength=mn)
        if rows.size:
            res = self.res0.with_ab(ab)
            ones = np.ones(rows.size, dtype=bool)
            ll = res.loglik(y[:, None], f[:, None], ty[:, None], c[:, None], lq[:, None],
                            ones[:, None])
            ll = np.where(np.isfinite(ll), ll, -1e300)
            out += np.bincount(rows, weights=ll, minlength=mn)
        val = (out.reshape(self.m, self.n), dout.reshape(self.m, self.n))
        if len(cache) >= 4:
            cache.pop(next(iter(cache)))
        cache[key] = val
        return val

    def terms(self, theta: FloatArray) -> FloatArray:
        """log weights (M, N) at ``theta``."""
        mu, om, ab = self.layout.unpack(theta, self.ab0, self.k)
        g = gauss_logpdf(self.flat, mu, om, self.pb.rmask).reshape(self.m, self.n)
        obs = sum(self._obs_type(t, ab)[0] for t in range(len(self._types)))
        return np.asarray(obs + g - self.logq)

    def loglik(self, theta: FloatArray) -> float:
        """``LL(theta)``."""
        self.evaluations += 1
        lw = self.terms(theta)
        mx = lw.max(axis=0)
        return float((mx + np.log(np.exp(lw - mx).mean(axis=0))).sum())

    def ess_min(self, theta: FloatArray) -> float:
        """Smallest over subjects of the weights' effective sample size at ``theta``."""
        lw = self.terms(theta)
        w = np.exp(lw - lw.max(axis=0))
        return float((w.sum(axis=0) ** 2 / (w**2).sum(axis=0)).min())

    # ------------------------------------------------------------------ optimisation
    def to_x(self, theta: FloatArray) -> FloatArray:
        """Unconstrained coordinates: mu; log SD; atanh corr; log residual parameters."""
        x = np.asarray(theta, dtype=float).copy()
        for p, kind in enumerate(self.layout.kinds):
            if kind in ("sd", "res"):
                x[p] = math.log(max(theta[p], 1e-12))
            elif kind == "corr":
                x[p] = math.atanh(min(max(theta[p], -0.999999), 0.999999))
        return x

    def to_theta(self, x: FloatArray) -> FloatArray:
        """Inverse of :meth:`to_x`."""
        th = np.asarray(x, dtype=float).copy()
        for p, kind in enumerate(self.layout.kinds):
            if kind in ("sd", "res"):
                th[p] = math.exp(x[p])
            elif kind == "corr":
                th[p] = math.tanh(x[p])
        return th

    def value_and_grad(self, x: FloatArray) -> tuple[float, FloatArray]:
        """``LL`` and its gradient in the coordinates of :meth:`to_x`: the Gaussian part
        analytically (Fisher's identity: the weighted mean of the complete-data score over the
        draws), the residual parameters by forward differences (one observation type each)."""
        self.evaluations += 1
        theta = self.to_theta(x)
        lay = self.layout
        mu, om, ab = lay.unpack(theta, self.ab0, self.k)
        sign, logdet = np.linalg.slogdet(om)
        if sign <= 0:
            return -math.inf, np.zeros_like(x)
        prec = np.linalg.inv(om)
        d = self.phi - mu  # (M, N, K)
        quad = np.einsum("mnk,kl,mnl->mn", d, prec, d)
        g = -0.5 * (quad + logdet + self.k * math.log(2 * math.pi))
        parts = [self._obs_type(t, ab) for t in range(len(self._types))]
        obs = sum(v for v, _d in parts)
        lw = obs + g - self.logq
        mx = lw.max(axis=0)
        e = np.exp(lw - mx)
        tot = e.sum(axis=0)
        ll = float((mx + np.log(tot / self.m)).sum())
        w = e / tot  # normalised per subject
        s1 = np.einsum("mn,mnk->k", w, d)
        s2 = np.einsum("mn,mnk,mnl->kl", w, d, d)
        gmu = prec @ s1
        gom = 0.5 * (prec @ s2 @ prec - self.n * prec)
        sd = np.sqrt(np.diag(om))
        grad = np.zeros_like(x)
        h = 1e-6
        for p, (kind, ix) in enumerate(zip(lay.kinds, lay.index, strict=True)):
            if kind == "mu":
                grad[p] = gmu[ix[0]]
            elif kind == "sd":
                a = ix[0]
                grad[p] = 2.0 * float(gom[a] @ om[a])
            elif kind == "corr":
                a, b = ix
                grad[p] = 2.0 * gom[a, b] * sd[a] * sd[b] * (1.0 - theta[p] ** 2)
            elif self._closed[ix[0]]:
                grad[p] = float((w * parts[ix[0]][1]).sum())
            else:
                xp = x.copy()
                xp[p] += h
                _m2, _o2, ab2 = lay.unpack(self.to_theta(xp), self.ab0, self.k)
                t = ix[0]
                lw2 = lw - parts[t][0] + self._obs_type(t, ab2)[0]
                mx2 = lw2.max(axis=0)
                ll2 = float((mx2 + np.log(np.exp(lw2 - mx2).mean(axis=0))).sum())
                grad[p] = (ll2 - ll) / h
        return ll, grad

    def maximise(self, x0: FloatArray, fixed: int | None = None,
                 max_iter: int = 200) -> tuple[FloatArray, float]:
        """(x, LL) maximising over every coordinate but ``fixed`` (held at ``x0[fixed]``)."""
        free = np.array([p for p in range(x0.size) if p != fixed], dtype=int)

        def nll(xf: FloatArray) -> tuple[float, FloatArray]:
            x = x0.copy()
            x[free] = xf
            v, g = self.value_and_grad(x)
            if not math.isfinite(v):
                return 1e300, np.zeros(free.size)
            return -v, -g[free]

        out = optimize.minimize(nll, x0[free], jac=True, method="L-BFGS-B",
                                bounds=[(v - 8.0, v + 8.0) for v in x0[free]],
                                options={"maxiter": max_iter, "gtol": 1e-5, "ftol": 1e-12})
        x = x0.copy()
        x[free] = out.x
        return x, -float(out.fun)
