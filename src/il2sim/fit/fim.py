"""Standard errors from the observed Fisher information by Louis' formula, estimated by
stochastic approximation along the MCMC at the final estimate (Louis 1982, J R Stat Soc B
44:226; Delyon, Lavielle & Moulines 1999; Kuhn & Lavielle 2005, section 4)::

    I(theta) = - sum_i ( E[d2 L_i] + E[dL_i dL_i^T] - E[dL_i] E[dL_i]^T )

with ``L_i = log p(y_i, phi_i; theta)`` the complete-data log-likelihood of subject ``i`` and
expectations over the conditional distribution of ``phi_i`` given ``y_i`` (averages over the
MCMC draws).  Derivatives are central finite differences of ``L_i``; it separates into a
Gaussian part (``mu`` of random parameters, ``Omega``) that needs no model evaluation and an
observation part (residual parameters and ``mu`` of parameters without variability, whose
predictions are evaluated once per stencil point), so the cross terms between the two parts
are zero and are not computed.

Parameters (``theta``): ``mu`` (log scale) of each parameter; the SD (log scale) of each
random effect; the correlation of each pair in a block; the residual parameters in use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from il2sim.fit.problem import Problem

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = ["Louis", "ThetaLayout"]


@dataclass(frozen=True)
class ThetaLayout:
    """Names and positions of the parameters in ``theta``."""

    names: tuple[str, ...]
    kinds: tuple[str, ...]  # mu | sd | corr | res
    index: tuple[tuple[int, ...], ...]  # mu: (k,), sd: (k,), corr: (k, l), res: (t, 0|1)

    @classmethod
    def build(cls, problem: Problem, res_kinds: tuple[str, ...]) -> ThetaLayout:
        """Layout for ``problem`` (random mask, omega structure, residual kinds)."""
        from il2sim.fit.residual import USES

        spec = problem.spec
        names: list[str] = []
        kinds: list[str] = []
        index: list[tuple[int, ...]] = []
        for k, n in enumerate(spec.param_names):
            names.append(n)
            kinds.append("mu")
            index.append((k,))
        for k, n in enumerate(spec.param_names):
            if problem.rmask[k]:
                names.append(f"omega_{n}")
                kinds.append("sd")
                index.append((k,))
        s = spec.structure()
        for a in range(spec.k):
            for b in range(a + 1, spec.k):
                if s[a, b]:
                    names.append(f"corr_{spec.param_names[a]}_{spec.param_names[b]}")
                    kinds.append("corr")
                    index.append((a, b))
        for t, kind in enumerate(res_kinds):
            ua, ub = USES[kind]
            tn = problem.data.type_names[t]
            if ua:
                names.append(f"{tn}.a")
                kinds.append("res")
                index.append((t, 0))
            if ub:
                names.append(f"{tn}.b")
                kinds.append("res")
                index.append((t, 1))
        return cls(tuple(names), tuple(kinds), tuple(index))

    @property
    def d(self) -> int:
        """Number of parameters."""
        return len(self.names)

    def pack(self, mu: FloatArray, omega: FloatArray, ab: FloatArray) -> FloatArray:
        """theta from (mu, Omega, residual (a, b))."""
        sd = np.sqrt(np.maximum(np.diag(omega), 0.0))
        out = np.empty(self.d)
        for p, (kind, ix) in enumerate(zip(self.kinds, self.index, strict=True)):
            if kind == "mu":
                out[p] = mu[ix[0]]
            elif kind == "sd":
                out[p] = sd[ix[0]]
            elif kind == "corr":
                out[p] = omega[ix[0], ix[1]] / (sd[ix[0]] * sd[ix[1]])
            else:
                out[p] = ab[ix[0], ix[1]]
        return out

    def unpack(self, theta: FloatArray, ab0: FloatArray, k: int) -> tuple[FloatArray, ...]:
        """(mu, Omega, ab) from theta (``ab0`` gives the unused residual entries)."""
        mu = np.zeros(k)
        sd = np.zeros(k)
        corr = np.eye(k)
        ab = ab0.copy()
        for p, (kind, ix) in enumerate(zip(self.kinds, self.index, strict=True)):
            if kind == "mu":
                mu[ix[0]] = theta[p]
            elif kind == "sd":
                sd[ix[0]] = theta[p]
            elif kind == "corr":
                corr[ix[0], ix[1]] = corr[ix[1], ix[0]] = theta[p]
            else:
                ab[ix[0], ix[1]] = theta[p]
        return mu, corr * np.outer(sd, sd), ab


def _steps(theta: FloatArray, kinds: tuple[str, ...] = ()) -> FloatArray:
    h = 1e-3 * np.maximum(np.abs(theta), 0.05)
    for p, kind in enumerate(kinds):
        if kind == "corr":  # stay inside (-1, 1)
            h[p] = max(min(h[p], 0.5 * (1.0 - abs(theta[p]))), 1e-9)
    return h


class Louis:
    """Accumulates Louis' formula per subject over MCMC draws at ``theta_hat``."""

    def __init__(self, problem: Problem, layout: ThetaLayout, theta_hat: FloatArray,
                 ab0: FloatArray) -> None:
        self.pb = problem
        self.lay = layout
        self.theta = theta_hat
        self.ab0 = ab0
        self.h = _steps(theta_hat, layout.kinds)
        kinds = np.array(layout.kinds)
        k_of = [ix[0] for ix in layout.index]
        nr_mu = np.array([kd == "mu" and not problem.rmask[k_of[p]] for p, kd in enumerate(kinds)])
        self.gauss_idx = np.flatnonzero((kinds == "sd") | (kinds == "corr") | ((kinds == "mu")
                                                                               & ~nr_mu))
        self.obs_idx = np.flatnonzero((kinds == "res") | nr_mu)
        self.nr_mu_idx = np.flatnonzero(nr_mu)
        d, n = layout.d, problem.n
        self.sum_g = np.zeros((n, d))
        self.sum_gg = np.zeros((n, d, d))
        self.count = np.zeros(n)
        self._f = np.zeros((0, 0))

    def _gauss(self, thetas: FloatArray, phi: FloatArray) -> FloatArray:
        """Gaussian part (P, R) at stencil points ``thetas`` (P, d), batched."""
        rm = self.pb.rmask
        idx = np.flatnonzero(rm)
        k = self.pb.spec.k
        p = thetas.shape[0]
        mus = np.empty((p, k))
        oms = np.empty((p, idx.size, idx.size))
        for i in range(p):
            mu, om, _ab = self.lay.unpack(thetas[i], self.ab0, k)
            mus[i] = mu
            oms[i] = om[np.ix_(idx, idx)]
        sign, logdet = np.linalg.slogdet(oms)
        prec = np.linalg.inv(oms)
        d = phi[None, :, idx] - mus[:, None, idx]  # (P, R, kr)
        quad = np.einsum("prj,pjk,prk->pr", d, prec, d)
        out = -0.5 * (quad + logdet[:, None] + idx.size * np.log(2 * np.pi))
        return np.where(sign[:, None] > 0, out, -np.inf)

    def _obs(self, thetas: FloatArray, phi: FloatArray, subjects: IntArray) -> FloatArray:
        """Observation part (P, R) at stencil points ``thetas``."""
        k = self.pb.spec.k
        nr = ~self.pb.rmask
        cache: dict[tuple[float, ...], FloatArray] = {}
        out = np.empty((thetas.shape[0], phi.shape[0]))
        for i, th in enumerate(thetas):
            mu, _om, ab = self.lay.unpack(th, self.ab0, k)
            key = tuple(np.round(th[self.nr_mu_idx], 12))
            if key not in cache:
                ph = phi.copy()
                ph[:, nr] = mu[nr]
                cache[key] = self.pb.predict(ph, subjects) if nr.any() else self._f
            out[i] = self.pb.obs_loglik(cache[key], subjects, self.pb.residual0.with_ab(ab))
        return out

    def _derivs(self, fn: Callable[[FloatArray], FloatArray], idx: npt.NDArray[np.int64],
                r: int) -> tuple[FloatArray, FloatArray]:
        """Gradient (R, d) and Hessian (R, d, d) of ``fn`` over ``idx`` by central
        differences; ``fn`` maps stencil points (P, d) to values (P, R)."""
        d = self.lay.d
        g = np.zeros((r, d))
        hss = np.zeros((r, d, d))
        if idx.size == 0:
            return g, hss
        th, h = self.theta, self.h
        pts = [th]
        for a in idx:
            e = np.zeros(d)
            e[a] = h[a]
            pts += [th + e, th - e]
        pairs = [(a, b) for i, a in enumerate(idx) for b in idx[i + 1:]]
        for a, b in pairs:
            ea = np.zeros(d)
            eb = np.zeros(d)
            ea[a], eb[b] = h[a], h[b]
            pts += [th + ea + eb, th + ea - eb, th - ea + eb, th - ea - eb]
        v = fn(np.array(pts))
        f0 = v[0]
        for i, a in enumerate(idx):
            fp, fm = v[1 + 2 * i], v[2 + 2 * i]
            g[:, a] = (fp - fm) / (2 * h[a])
            hss[:, a, a] = (fp - 2 * f0 + fm) / h[a] ** 2
        base = 1 + 2 * idx.size
        for q, (a, b) in enumerate(pairs):
            w = v[base + 4 * q: base + 4 * q + 4]
            hss[:, a, b] = hss[:, b, a] = (w[0] - w[1] - w[2] + w[3]) / (4 * h[a] * h[b])
        return g, hss

    def add(self, phi: FloatArray, subjects: IntArray, f: FloatArray) -> None:
        """Add one draw per row (rows = (chain, subject) pairs; ``f`` their predictions)."""
        r = phi.shape[0]
        self._f = f
        g1, h1 = self._derivs(lambda t: self._gauss(t, phi), self.gauss_idx, r)
        g2, h2 = self._derivs(lambda t: self._obs(t, phi, subjects), self.obs_idx, r)
        g = g1 + g2
        hh = h1 + h2
        np.add.at(self.sum_g, subjects, g)
        np.add.at(self.sum_gg, subjects, hh + g[:, :, None] * g[:, None, :])
        np.add.at(self.count, subjects, 1.0)

    def information(self) -> FloatArray:
        """Observed Fisher information (d, d)."""
        c = np.maximum(self.count, 1.0)
        eg = self.sum_g / c[:, None]
        egg = self.sum_gg / c[:, None, None]
        info = -(egg - eg[:, :, None] * eg[:, None, :]).sum(axis=0)
        return np.asarray(0.5 * (info + info.T))

    def covariance(self) -> tuple[FloatArray, bool]:
        """Inverse information and whether the information was positive definite."""
        info = self.information()
        try:
            np.linalg.cholesky(info)
            ok = True
        except np.linalg.LinAlgError:
            ok = False
        cov = np.linalg.pinv(info)
        return np.asarray(cov), ok
