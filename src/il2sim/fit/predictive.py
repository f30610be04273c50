"""Simulations from a fitted population model on a dataset's design, and NPDE.

* :func:`simulate_replicates`: ``n_sim`` replicates of every subject (new random effects,
  residual error, censoring below each observation's LLOQ), all replicates of a chunk in one
  structural-model call.
* :func:`npde`: normalised prediction distribution errors (Brendel et al. 2006, Pharm Res
  23:2036; Comets, Brendel & Mentre 2008, Comput Methods Programs Biomed 90:154): per subject
  the observed and simulated vectors are decorrelated with the simulated mean and covariance
  (inverse Cholesky), ``pde`` is the fraction of simulations below the observation and
  ``npde = Phi^-1(pde)``; censored observations get a ``pd`` drawn uniformly below the
  model's probability of being under the LLOQ and are imputed from the simulated quantiles
  before the decorrelation (Nguyen, Comets & Mentre 2012, J Pharmacokinet Pharmacodyn 39:499).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from il2sim.fit.data import FitData
from il2sim.fit.model import StructuralModel
from il2sim.fit.residual import ResidualModel

FloatArray = npt.NDArray[np.float64]

__all__ = ["PopulationModel", "npde", "simulate_replicates"]


@dataclass(frozen=True, eq=False)
class PopulationModel:
    """A fitted population: log-scale typical values ``mu`` (K,), ``omega`` (K, K) and the
    residual model, for ``model``'s parameters."""

    model: StructuralModel
    mu: FloatArray
    omega: FloatArray
    residual: ResidualModel

    def draw_phi(self, n_rows: int, rng: np.random.Generator) -> FloatArray:
        """Individual parameters (n_rows, K) from ``N(mu, Omega)``."""
        k = self.mu.size
        act = np.diag(self.omega) > 0
        chol = np.zeros((k, k))
        if act.any():
            chol[np.ix_(act, act)] = np.linalg.cholesky(self.omega[np.ix_(act, act)])
        return np.asarray(self.mu + rng.standard_normal((n_rows, k)) @ chol.T)

    def pred(self, data: FitData) -> FloatArray:
        """Population predictions PRED (N, J): the model at ``mu``."""
        n = data.n_subjects
        return np.asarray(self.model.predict(np.tile(self.mu, (n, 1)), np.arange(n)))


def simulate_replicates(pm: PopulationModel, data: FitData, n_sim: int, seed: int,
                        chunk_rows: int = 4000, stop: Callable[[], bool] | None = None,
                        ) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Simulated observations (n_sim, N, J) and their censoring flags (value NaN when
    censored, i.e. below the observation's LLOQ).  ``stop()`` is asked between chunks; when
    it says True the replicates finished so far are returned (fewer than ``n_sim``)."""
    rng = np.random.default_rng([seed, 23])
    n = data.n_subjects
    per = max(1, chunk_rows // n)
    ys: list[FloatArray] = []
    cs: list[npt.NDArray[np.bool_]] = []
    done = 0
    while done < n_sim:
        m = min(per, n_sim - done)
        subj = np.tile(np.arange(n), m)
        phi = pm.draw_phi(subj.size, rng)
        f = np.asarray(pm.model.predict(phi, subj), dtype=float)
        ty = data.obs_type[subj]
        y = pm.residual.simulate(f, ty, rng)
        lq = data.lloq[subj]
        c = np.isfinite(lq) & (y < lq)
        ys.append(np.where(c, np.nan, y).reshape(m, n, -1))
        cs.append(c.reshape(m, n, -1))
        done += m
        if stop is not None and done < n_sim and stop():
            break
    return np.concatenate(ys), np.concatenate(cs)


def npde(data: FitData, sims: FloatArray, cens: npt.NDArray[np.bool_], seed: int) -> FloatArray:
    """NPDE (N, J) of the observations (NaN on padding); see the module docstring."""
    rng = np.random.default_rng([seed, 29])
    n_sim = sims.shape[0]
    out = np.full(data.mask.shape, np.nan)
    lo, hi = 1.0 / (2 * n_sim), 1.0 - 1.0 / (2 * n_sim)
    for i in range(data.n_subjects):
        m = data.mask[i]
        if not m.any():
            continue
        ysim = sims[:, i, m]
        csim = cens[:, i, m]
        # censored simulated values sit below everything (ranks only)
        lq = np.nan_to_num(data.lloq[i, m], nan=0.0)
        ysim = np.where(csim, lq[None, :] * rng.random(ysim.shape), ysim)
        yobs = data.dv[i, m].copy()
        cobs = data.censored[i, m]
        if cobs.any():
            p_cens = np.mean(ysim <= lq[None, :], axis=0)
            u = rng.random(cobs.sum()) * np.maximum(p_cens[cobs], 1.0 / n_sim)
            yobs[cobs] = np.array([np.quantile(ysim[:, j], q) for j, q in
                                   zip(np.flatnonzero(cobs), u, strict=True)])
        mean = ysim.mean(axis=0)
        cov = np.atleast_2d(np.cov(ysim, rowvar=False))
        w, v = np.linalg.eigh(0.5 * (cov + cov.T))
        w = np.maximum(w, 1e-12 * max(float(w.max()), 1e-300))
        inv_sqrt = (v / np.sqrt(w)) @ v.T  # symmetric decorrelation (npde package default)
        sd_obs = inv_sqrt @ (yobs - mean)
        sd_sim = (ysim - mean) @ inv_sqrt.T
        pde = np.mean(sd_sim <= sd_obs[None, :], axis=0)
        out[i, m] = special.ndtri(np.clip(pde, lo, hi))
    return out
