"""SAEM: stochastic approximation EM for nonlinear mixed-effects models.

Method (Delyon, Lavielle & Moulines 1999, Ann Stat 27:94; Kuhn & Lavielle 2004, ESAIM P&S
8:115 for the MCMC version; Kuhn & Lavielle 2005, Comput Stat Data Anal 49:1020), with the
defaults of saemix (Comets, Lavenu & Lavielle 2017, J Stat Softw 80(3)) and Monolix:

* iteration k: simulation step -- Metropolis-Hastings kernels on every subject's (and chain's)
  individual parameters, all rows evaluated in one model call per proposal
  (:mod:`il2sim.fit.mcmc`); censored observations are imputed from their truncated
  conditional distribution (Samson et al. 2006);
* stochastic approximation of the sufficient statistics ``S1 = sum phi_i``, ``S2 = sum phi_i
  phi_i^T`` and the mean squared residual of each observation type, with step ``gamma_k`` = 0
  for ``n_burn`` iterations, 1 up to ``K1`` (exploration), then ``1/(k - K1)^alpha``
  (smoothing, ``K2`` iterations);
* maximisation: ``mu = S1/N``, ``Omega = S2/N - mu mu^T`` restricted to the chosen structure
  (diagonal or blocks), residual parameters in closed form (``combined``: SA of the ML
  parameters);
* simulated annealing during the first ``sa_iters`` iterations: variances decrease at most by
  the factor ``sa_alpha`` per iteration (saemix: 0.97), which keeps the chains exploring;
* parameters without a random effect get a pseudo-variance that decreases geometrically
  (factor ``nonrandom_decay`` per iteration), the Monolix approach for fixed-only parameters.

The state is saved (checkpoint) every ``checkpoint_every_s`` seconds and on Ctrl-C; a resumed
run continues with the saved random-generator state, so it gives the same numbers as an
uninterrupted run with the same seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.errors import InputError
from il2sim.fit.mcmc import Chains, mcmc_sweep
from il2sim.fit.problem import Problem

FloatArray = npt.NDArray[np.float64]

__all__ = ["FitInterrupted", "Progress", "SaemOptions", "SaemState", "interrupted", "run_saem"]


class FitInterrupted(Exception):
    """A first Ctrl-C under :func:`il2sim._interrupt.interruptible` stopped the fit between
    iterations (or sweeps, samples) of ``phase``; ``done`` of ``asked`` of that phase had
    finished and the SAEM state was saved (when a checkpoint file was given)."""

    def __init__(self, phase: str, done: int, asked: int) -> None:
        super().__init__(f"interrupted in {phase}: {done} of {asked}")
        self.phase, self.done, self.asked = phase, int(done), int(asked)


def check_stop(phase: str, done: int, asked: int) -> None:
    """Raise :class:`FitInterrupted` if the active interruption scope was asked to stop."""
    from il2sim._interrupt import stop_requested

    if stop_requested():
        raise FitInterrupted(phase, done, asked)

#: progress(phase, done, total, info)
Progress = Callable[[str, int, int, dict[str, Any]], None]


@dataclass(frozen=True)
class SaemOptions:
    """Algorithm settings (saemix defaults unless noted).

    ``n_burn`` iterations without parameter updates, ``k1`` exploration iterations (step 1),
    ``k2`` smoothing iterations (step ``1/j^alpha``); ``n_chains`` chains per subject;
    ``mcmc`` = (prior, joint random walk, component-wise random walk) proposals per
    iteration; ``sa_iters`` (default ``k1 // 2``) annealing iterations with factor
    ``sa_alpha``; ``seed`` of every draw; ``scan``: the component-wise kernel moves one
    random component per row per pass (``random``: one model call a pass) or every component
    in turn (``systematic``, saemix's kernel: one call per component), see
    :func:`il2sim.fit.mcmc.mcmc_sweep`.
    """

    n_burn: int = 5
    k1: int = 300
    k2: int = 100
    n_chains: int = 1
    mcmc: tuple[int, int, int] = (2, 2, 2)
    sa_iters: int | None = None
    sa_alpha: float = 0.97
    step_exponent: float = 1.0
    nonrandom_decay: float = 0.95
    rw_target: float = 0.4
    rw_rate: float = 0.4
    seed: int = 1
    checkpoint_every_s: float = 10.0
    scan: str = "random"

    def __post_init__(self) -> None:
        for name in ("n_burn", "k1", "k2", "n_chains"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < (1 if name in ("k2", "n_chains") else 0):
                raise InputError(f"must be a non-negative integer, got {v!r}", field=name, value=v)
        if self.scan not in ("random", "systematic"):
            raise InputError(f"must be random or systematic, got {self.scan!r}", field="scan",
                             value=self.scan)
        if not (0.5 < self.step_exponent <= 1.0):
            raise InputError(f"must be in (0.5, 1], got {self.step_exponent}",
                             field="step_exponent", value=self.step_exponent)

    @property
    def n_iter(self) -> int:
        """Total iterations."""
        return self.n_burn + self.k1 + self.k2

    def step(self, k: int) -> float:
        """Stochastic-approximation step of iteration ``k`` (0-based)."""
        if k < self.n_burn:
            return 0.0
        if k < self.n_burn + self.k1:
            return 1.0
        return float((k - self.n_burn - self.k1 + 1) ** (-self.step_exponent))

    def fingerprint(self) -> str:
        """Settings that must match for a resume."""
        return repr((self.n_burn, self.k1, self.k2, self.n_chains, self.mcmc, self.sa_iters,
                     self.sa_alpha, self.step_exponent, self.nonrandom_decay, self.seed, self.scan))


@dataclass
class SaemState:
    """Everything SAEM carries between iterations (mutable; committed once per iteration)."""

    k: int
    mu: FloatArray
    omega: FloatArray
    ab: FloatArray
    s1: FloatArray
    s2: FloatArray
    s_res: FloatArray
    chains: Chains
    rng_state: dict[str, Any]
    history: list[FloatArray]

    def copy(self) -> SaemState:
        """A deep copy."""
        import copy

        return copy.deepcopy(self)


def _restrict(omega: FloatArray, structure: npt.NDArray[np.bool_]) -> FloatArray:
    out = np.where(structure, omega, 0.0)
    return np.asarray(0.5 * (out + out.T))


def initial_state(problem: Problem, options: SaemOptions) -> SaemState:
    """Start: typical values from the spec, Omega from ``omega_init``, chains at mu."""
    spec = problem.spec
    rng = np.random.default_rng(options.seed)
    mu = np.log(np.asarray(spec.initial, dtype=float))
    omega = spec.omega0()
    nr = ~problem.rmask
    omega[nr, nr] = 0.0
    pseudo = np.where(nr, 0.1**2, 0.0)
    omega = omega + np.diag(pseudo)
    n, c = problem.n, options.n_chains
    subjects = np.tile(np.arange(n), c)
    phi = np.tile(mu, (n * c, 1))
    f = problem.predict(phi, subjects)
    ll = problem.obs_loglik(f, subjects, problem.residual0)
    chains = Chains(subjects=subjects, phi=phi, f=f, ll=ll, scale2=1.0,
                    scale3=np.ones(spec.k))
    k = spec.k
    return SaemState(
        k=0, mu=mu, omega=omega, ab=problem.residual0.ab.copy(),
        s1=np.zeros(k), s2=np.zeros((k, k)), s_res=np.zeros(problem.data.n_types),
        chains=chains, rng_state=dict(rng.bit_generator.state), history=[],
    )


def _iteration(problem: Problem, options: SaemOptions, st: SaemState,
               rng: np.random.Generator) -> SaemState:
    """One SAEM iteration on a copy of ``st`` (the caller commits it)."""
    spec = problem.spec
    rmask = problem.rmask
    res = problem.residual0.with_ab(st.ab)
    ch = mcmc_sweep(problem, st.chains, st.mu, st.omega, res, options, rng)
    k = st.k
    gamma = options.step(k)
    n, c = problem.n, options.n_chains
    phi = ch.phi
    s1_new = phi.sum(axis=0) / c
    s2_new = phi.T @ phi / c
    y, ty, cens, lq, mask = problem.gather(ch.subjects)
    y_imp, e_cens = res.impute_censored(np.nan_to_num(y), ch.f, ty, cens, lq, rng)
    sres_new = res.sq_stat(y_imp, ch.f, ty, mask, cens, e_cens)
    s1 = st.s1 + gamma * (s1_new - st.s1)
    s2 = st.s2 + gamma * (s2_new - st.s2)
    s_res = np.where(np.isfinite(sres_new), st.s_res + gamma * (np.nan_to_num(sres_new) - st.s_res),
                     st.s_res)
    mu, omega, ab = st.mu, st.omega, st.ab
    if gamma > 0:
        mu = s1 / n
        full = s2 / n - np.outer(mu, mu)
        structure = spec.structure()
        om_new = _restrict(full, structure)
        sa = options.sa_iters if options.sa_iters is not None else options.k1 // 2
        if k < options.n_burn + sa:
            d_old = np.sqrt(np.maximum(np.diag(omega), 0.0))
            d_new = np.sqrt(np.maximum(np.diag(om_new), 1e-12))
            d = np.where(rmask, np.maximum(d_new, np.sqrt(options.sa_alpha) * d_old), 0.0)
            corr = om_new / np.outer(d_new, d_new)
            om_new = _restrict(corr * np.outer(d, d), structure)
        pseudo = np.where(~rmask, np.diag(omega) * options.nonrandom_decay, 0.0)
        omega = om_new + np.diag(pseudo)
        ab_new = res.ab_from_stat(s_res)
        for t, kind in enumerate(res.kinds):
            if kind == "combined":
                sel = mask & (ty == t)
                a_b = res.fit_combined(t, y_imp[sel], ch.f[sel])
                ab_new[t] = st.ab[t] + gamma * (np.asarray(a_b) - st.ab[t])
        if k < options.n_burn + sa:
            ab_new = np.maximum(ab_new, options.sa_alpha * st.ab)
        ab = ab_new
    hist = np.concatenate([mu, np.sqrt(np.maximum(np.diag(omega), 0.0)), ab.ravel()])
    return SaemState(k=k + 1, mu=mu, omega=omega, ab=ab, s1=s1, s2=s2, s_res=s_res, chains=ch,
                     rng_state=dict(rng.bit_generator.state), history=[*st.history, hist])


def run_saem(
    problem: Problem,
    options: SaemOptions,
    state: SaemState | None = None,
    progress: Progress | None = None,
    checkpoint: Callable[[SaemState], None] | None = None,
) -> SaemState:
    """Run SAEM from ``state`` (default: :func:`initial_state`) to ``options.n_iter``.

    ``checkpoint(state)`` is called every ``options.checkpoint_every_s`` seconds and, on
    Ctrl-C, with the last completed iteration: under :func:`il2sim._interrupt.interruptible`
    (the CLI) the first Ctrl-C stops after the iteration in hand and raises
    :class:`FitInterrupted`; outside a scope Python's ``KeyboardInterrupt`` propagates.
    """
    st = state if state is not None else initial_state(problem, options)
    rng = np.random.default_rng()
    last_save = time.monotonic()
    total = options.n_iter
    try:
        while st.k < total:
            rng.bit_generator.state = st.rng_state
            st = _iteration(problem, options, st, rng)
            if progress is not None:
                progress("saem", st.k, total, {"mu": st.mu, "ab": st.ab})
            if checkpoint is not None and time.monotonic() - last_save >= options.checkpoint_every_s:
                checkpoint(st)
                last_save = time.monotonic()
            if st.k < total:
                check_stop("saem", st.k, total)
    except FitInterrupted:
        if checkpoint is not None:
            checkpoint(st)
        raise
    except KeyboardInterrupt:
        if checkpoint is not None:
            checkpoint(st)
        raise
    except SystemError as exc:
        if not interrupted(exc):
            raise
        if checkpoint is not None:
            checkpoint(st)
        raise KeyboardInterrupt from exc
    return st


def interrupted(exc: BaseException) -> bool:
    """True for a Ctrl-C: ``KeyboardInterrupt``, or the ``SystemError`` a compiled (numba)
    call raises when the signal lands while it runs (its context is the ``KeyboardInterrupt``;
    seen with numba's workqueue threading layer)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__context__
    return False


def save_state(st: SaemState, path: Path, meta: dict[str, str]) -> None:
    """Write ``st`` (+ ``meta`` fingerprints) to ``path`` as .npz, atomically."""
    import json

    from il2sim._files import atomic_path

    arrays: dict[str, Any] = {
        "k": np.array(st.k), "mu": st.mu, "omega": st.omega, "ab": st.ab, "s1": st.s1,
        "s2": st.s2, "s_res": st.s_res, "subjects": st.chains.subjects, "phi": st.chains.phi,
        "f": st.chains.f, "ll": st.chains.ll, "scale2": np.array(st.chains.scale2),
        "scale3": st.chains.scale3,
        "history": np.array(st.history) if st.history else np.zeros((0, 0)),
        "rng": np.array(json.dumps(st.rng_state, default=int)),
        "meta": np.array(json.dumps(meta)),
    }
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def load_state(path: Path, meta: dict[str, str]) -> SaemState:
    """Read a state written by :func:`save_state`; its ``meta`` must equal ``meta``."""
    import json

    from il2sim.errors import DataError

    try:
        z = np.load(path, allow_pickle=False)
        saved_meta = json.loads(str(z["meta"]))
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"cannot read checkpoint: {exc}", field="resume", value=str(path)) from None
    for key, val in meta.items():
        if saved_meta.get(key) != val:
            raise DataError(f"checkpoint was written for another {key}", field="resume",
                            value=str(path))
    rng_state = json.loads(str(z["rng"]))
    hist = z["history"]
    chains = Chains(subjects=z["subjects"], phi=z["phi"], f=z["f"], ll=z["ll"],
                    scale2=float(z["scale2"]), scale3=z["scale3"])
    return SaemState(k=int(z["k"]), mu=z["mu"], omega=z["omega"], ab=z["ab"], s1=z["s1"],
                     s2=z["s2"], s_res=z["s_res"], chains=chains, rng_state=rng_state,
                     history=[h for h in hist] if hist.size else [])
