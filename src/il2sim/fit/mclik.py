"""The Monte Carlo likelihood of the profile-likelihood intervals (:mod:`il2sim.fit.profile`).

Geyer & Thompson 1992's Monte Carlo likelihood: ``M`` draws ``phi_im`` per subject from a
fixed proposal ``q_i`` (a mixture of Student t components, :mod:`il2sim.fit.proposal`: the
Laplace proposal by default, the MCMC conditional moments of sessions 21-22 when no proposal
is given), then for any population parameter ``theta``
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
from il2sim.fit.posthoc import final_omega
from il2sim.fit.problem import Problem, gauss_logpdf
from il2sim.fit.proposal import Proposal, conditional_proposal

FloatArray = npt.NDArray[np.float64]

__all__ = ["McLikelihood"]

_LOG_2PI = math.log(2.0 * math.pi)


class McLikelihood:
    """The Monte Carlo log-likelihood ``LL(theta)`` of the module docstring."""

    def __init__(self, problem: Problem, mu: FloatArray, omega: FloatArray, ab: FloatArray,
                 cond_mean: FloatArray, cond_cov: FloatArray, n_draws: int = 200,
                 seed: int = 0, wide_sd: float = 0.3, chunk: int = 50,
                 proposal: Proposal | None = None) -> None:
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
        if proposal is None:
            proposal = conditional_proposal(om, cond_mean, cond_cov, wide_sd)
        self.proposal = proposal
        self.phi, self.logq = proposal.draw(n_draws, seed)  # (M, N, K), (M, N)
        m, n, k = self.phi.shape
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

    def ess(self, theta: FloatArray) -> FloatArray:
        """Per-subject effective sample size (N,) of the weights at ``theta`` (Kish)."""
        lw = self.terms(theta)
        w = np.exp(lw - lw.max(axis=0))
        return np.asarray(w.sum(axis=0) ** 2 / (w**2).sum(axis=0))

    def ess_min(self, theta: FloatArray) -> float:
        """Smallest over subjects of the weights' effective sample size at ``theta``."""
        return float(self.ess(theta).min())

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
