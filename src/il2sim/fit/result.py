"""The result of a fit: estimates with standard errors and intervals, variabilities,
residual errors, shrinkage, -2LL/AIC/BIC, individual estimates and diagnostics arrays."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

__all__ = ["FitResult", "ParameterEstimate"]

_Z975 = 1.959963984540054


@dataclass(frozen=True)
class ParameterEstimate:
    """A typical value on the natural scale: ``estimate = exp(mu)``, ``se`` by the delta
    method, ``ci95`` = ``exp(mu -+ 1.96 se(mu))`` (log-normal interval), ``initial``."""

    name: str
    estimate: float
    se: float
    ci95: tuple[float, float]
    initial: float
    unit: str = ""
    mu: float = 0.0
    se_mu: float = math.nan
    #: "wald" (``exp(mu -+ 1.96 se)``) or "profile" (profile likelihood,
    #: :mod:`il2sim.fit.profile`)
    ci_method: str = "wald"
    #: random-effect SDs held at their estimates in the information the SE comes from
    #: (the SE and a Wald interval are conditional on them)
    se_conditional_on: tuple[str, ...] = ()
    #: maximiser of the importance-sampling likelihood (the profile's centre; nan if none)
    profile_mle: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (CLI contract keys first)."""
        rse = 100.0 * self.se_mu if math.isfinite(self.se_mu) else math.nan
        out = {"estimate": self.estimate, "se": self.se, "ci95": list(self.ci95),
               "initial": self.initial, "unit": self.unit, "rse_pct": rse,
               "ci_method": self.ci_method}
        if self.se_conditional_on:
            out["se_conditional_on"] = list(self.se_conditional_on)
        if math.isfinite(self.profile_mle):
            out["profile_mle"] = self.profile_mle
        return out


@dataclass(frozen=True, eq=False)
class FitResult:
    """Output of :func:`il2sim.fit.estimate.fit` (see docs/fit.md for every key).

    ``omega``: name -> {sd (log scale), se, cv_pct, identified (False when flagged
    as poorly identified by these data, with a note; :func:`il2sim.fit.estimate._poorly_identified`)}; ``correlations``: "a,b" -> {estimate, se};
    ``residual``: type -> {kind, a, b, se_a, se_b}; ``shrinkage``: {eta: {name: %}, epsilon:
    {type: %}} (Savic & Karlsson 2009, AAPS J 11:558); ``ofv`` = -2LL (importance sampling)
    with ``ofv_se`` its Monte Carlo error; ``aic = ofv + 2P``; ``bic = ofv + P log N``
    (N subjects, as saemix).  Arrays: ``ebe_mode``/``ebe_mean`` (N, K) log scale; ``pred``,
    ``ipred``, ``iwres`` (N, J) on the data layout.
    """

    method: str
    n_subjects: int
    n_observations: int
    n_censored: int
    parameters: Mapping[str, ParameterEstimate]
    omega: Mapping[str, Mapping[str, Any]]
    correlations: Mapping[str, Mapping[str, float]]
    residual: Mapping[str, Mapping[str, Any]]
    shrinkage: Mapping[str, Mapping[str, float]]
    ofv: float
    ofv_se: float
    n_estimated: int
    covariance_ok: bool
    param_names: tuple[str, ...]
    subject_ids: tuple[str, ...]
    ebe_mode: FloatArray
    ebe_mean: FloatArray
    pred: FloatArray
    ipred: FloatArray
    iwres: FloatArray
    mu: FloatArray
    omega_matrix: FloatArray
    ab: FloatArray
    residual_kinds: tuple[str, ...]
    history: FloatArray
    history_names: tuple[str, ...]
    elapsed_s: float
    seed: int
    options: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: (N, K, K) conditional covariances of ``phi`` (the MCMC of the conditional phase):
    #: with ``ebe_mean`` the importance-sampling proposal of the profile likelihood.
    ebe_cov: FloatArray | None = None

    @property
    def aic(self) -> float:
        """Akaike information criterion."""
        return self.ofv + 2.0 * self.n_estimated

    @property
    def bic(self) -> float:
        """Bayesian information criterion (log of the number of subjects)."""
        return self.ofv + self.n_estimated * math.log(self.n_subjects)

    def individual(self, which: str = "mode") -> dict[str, FloatArray]:
        """Individual parameters on the natural scale (name -> (N,))."""
        arr = self.ebe_mode if which == "mode" else self.ebe_mean
        return {n: np.exp(arr[:, k]) for k, n in enumerate(self.param_names)}

    def to_dict(self, individual: bool = True) -> dict[str, Any]:
        """The ``il2sim fit --json`` object (CLI contract keys, then extras)."""
        out: dict[str, Any] = {
            "method": self.method,
            "n_subjects": self.n_subjects,
            "n_observations": self.n_observations,
            "ofv": self.ofv,
            "aic": self.aic,
            "bic": self.bic,
            "parameters": {n: p.to_dict() for n, p in self.parameters.items()},
            "omega": {n: dict(v) for n, v in self.omega.items()},
            "residual": {n: dict(v) for n, v in self.residual.items()},
            "shrinkage": {n: dict(v) for n, v in self.shrinkage.items()},
            "correlations": {n: dict(v) for n, v in self.correlations.items()},
            "n_censored": self.n_censored,
            "ofv_mc_se": self.ofv_se,
            "n_estimated": self.n_estimated,
            "covariance_ok": self.covariance_ok,
            "elapsed_s": self.elapsed_s,
            "seed": self.seed,
            "options": dict(self.options),
            "notes": list(self.notes),
        }
        if individual:
            ind = self.individual("mode")
            mean = self.individual("mean")
            out["individual"] = [
                {"id": sid, **{n: float(ind[n][i]) for n in self.param_names},
                 "conditional_mean": {n: float(mean[n][i]) for n in self.param_names}}
                for i, sid in enumerate(self.subject_ids)
            ]
        return out


def cv_pct(sd_log: float) -> float:
    """CV% of a log-normal with log-scale SD ``sd_log``: 100 sqrt(exp(sd^2) - 1)."""
    return 100.0 * math.sqrt(math.expm1(sd_log * sd_log))


def lognormal_ci(mu: float, se_mu: float) -> tuple[float, float]:
    """95% interval exp(mu -+ 1.96 se)."""
    if not math.isfinite(se_mu):
        return (math.nan, math.nan)
    return (math.exp(mu - _Z975 * se_mu), math.exp(mu + _Z975 * se_mu))
