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
#: censored rows with u / s >= _FAR_Z at _FAR_SD_RATIO times the SD at the estimate are left out
#: of the M3 sum while the SD stays below that (log Phi(10) = -7.6e-24)
_FAR_Z = 10.0
_FAR_SD_RATIO = 4.0


class McLikelihood:
    """The Monte Carlo log-likelihood ``LL(theta)`` of the module docstring."""

    def __init__(self, problem: Problem, mu: FloatArray, omega: FloatArray, ab: FloatArray,
                 cond_mean: FloatArray, cond_cov: FloatArray, n_draws: int = 200,
                 seed: int = 0, wide_sd: float = 0.3, chunk: int = 50,
                 proposal: Proposal | None = None, sd_min: float = 0.0) -> None:
        rm = problem.rmask
        if not rm.all():
            raise ValueError("the profile likelihood needs a random effect on every parameter")
        self.pb = problem
        #: smallest SD the maximiser may reach: as an SD goes to 0 the weights of fixed draws
        #: degenerate (ESS -> 1) and the Monte Carlo likelihood is noise there
        self.sd_min = sd_min
        res = problem.residual0.with_ab(ab)
        self.res0 = res
        self.layout = ThetaLayout.build(problem, res.kinds)
        self.ab0 = np.asarray(ab, dtype=float).copy()
        om = final_omega(problem, omega)
        self.theta_hat = self.layout.pack(mu, om, self.ab0)
        if proposal is None:
            proposal = conditional_proposal(om, cond_mean, cond_cov, wide_sd)
        self.proposals: list[Proposal] = [proposal]
        self._n_draws, self._seed, self._chunk = n_draws, seed, chunk
        phi = proposal.draw(n_draws, seed)
        self._phi_parts = [phi]
        self._f_parts = [self._predict(phi)]
        self.evaluations = 0
        self._prepare()

    @property
    def proposal(self) -> Proposal:
        """The first proposal (built at the estimate)."""
        return self.proposals[0]

    def _predict(self, phi: FloatArray) -> FloatArray:
        m, n, k = phi.shape
        flat = phi.reshape(m * n, k)
        subj = np.tile(np.arange(n), m)
        step = self._chunk * n
        return np.concatenate([self.pb.predict(flat[s:s + step], subj[s:s + step])
                               for s in range(0, m * n, step)], axis=0)

    def add_proposal(self, proposal: Proposal) -> None:
        """Add ``n_draws`` draws per subject from ``proposal`` (model predictions once); all
        draws are then weighted by the mixture of every proposal so far (deterministic
        multiple importance sampling, balance heuristic: Veach & Guibas 1995, Owen & Zhou
        2000), so ``LL`` stays one smooth function of ``theta``."""
        self.proposals.append(proposal)
        phi = proposal.draw(self._n_draws, self._seed + 7919 * (len(self.proposals) - 1))
        self._phi_parts.append(phi)
        self._f_parts.append(self._predict(phi))
        self._prepare()

    def _prepare(self) -> None:
        """Stack the draws, their mixture log density and the per-type sufficient statistics."""
        problem, res = self.pb, self.res0
        self.phi = np.concatenate(self._phi_parts, axis=0)  # (M, N, K)
        m, n, k = self.phi.shape
        lc = np.stack([q.log_count_density(self.phi, self._n_draws) for q in self.proposals])
        self.logq = np.logaddexp.reduce(lc, axis=0) - math.log(m)
        self.m, self.n, self.k = m, n, k
        flat = self.phi.reshape(m * n, k)
        subj = np.tile(np.arange(n), m)
        f = np.concatenate(self._f_parts, axis=0)
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
                # rows far above the LLOQ in units of the type's SD at the estimate add
                # log Phi(u / s) = 0 (below 1e-23) for every s up to FAR_SD_RATIO times it:
                # left out there (most censored IL-2 values sit far below the LLOQ)
                s0 = float(res.ab[t, 1] if kind == "prop" else res.ab[t, 0])
                near = u < _FAR_Z * _FAR_SD_RATIO * s0
                cens = (rows[cen], u, rows[cen][near], u[near], _FAR_SD_RATIO * s0)
            slow = ~fast
            if kind == "prop":
                slow &= ~tiny
            self._closed[t] = not slow.any()
            self._types.append((kind, const, stats, cens, rows[slow], y[slow], ft[slow], c[slow],
                                lq[slow], np.full(int(slow.sum()), t)))
        self._obs_cache: dict[int, dict[tuple[float, float], tuple[FloatArray, FloatArray]]] = {
            t: {} for t in range(d.n_types)}
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
                    rc, u = cens[0], cens[1]
                    if sd <= cens[4]:
                        rc, u = cens[2], cens[3]
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
        dp = d @ prec
        quad = (dp * d).sum(axis=-1)
        g = -0.5 * (quad + logdet + self.k * math.log(2 * math.pi))
        parts = [self._obs_type(t, ab) for t in range(len(self._types))]
        obs = sum(v for v, _d in parts)
        lw = obs + g - self.logq
        mx = lw.max(axis=0)
        e = np.exp(lw - mx)
        tot = e.sum(axis=0)
        ll = float((mx + np.log(tot / self.m)).sum())
        w = e / tot  # normalised per subject
        wd = (w[:, :, None] * d).reshape(-1, self.k)
        s1 = wd.sum(axis=0)
        s2 = wd.T @ d.reshape(-1, self.k)
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

        lo_sd = math.log(self.sd_min) if self.sd_min > 0 else -math.inf
        bounds = [(max(x0[p] - 8.0, lo_sd) if self.layout.kinds[p] == "sd" else x0[p] - 8.0,
                   x0[p] + 8.0) for p in free]
        out = optimize.minimize(nll, x0[free], jac=True, method="L-BFGS-B", bounds=bounds,
                                options={"maxiter": max_iter, "gtol": 1e-5, "ftol": 1e-10})
        x = x0.copy()
        x[free] = out.x
        return x, -float(out.fun)
