"""EffTox: Bayesian efficacy-toxicity trade-off design (Thall & Cook 2004, Biometrics 60:684),
as R ``trialr`` 0.1.6 implements it (``stan_efftox``, ``efftox_process``, ``efftox_simulate``;
``escalation::get_trialr_efftox`` wraps it), with the parameterisation of Thall, Herrick,
Nguyen, Venier & Norris (2014, Clin Trials 11:657) as defaults (trialr's
``efftox_parameters_demo``, the MD Anderson EffTox application's example).

Model: see :mod:`il2sim.designs._efftox_post` (logistic toxicity, quadratic-logistic efficacy
on the log-centred dose, a Murtaugh-Fisher association psi; normal priors).

Utility (Thall & Cook's L^p contour through (``eff0``, 0), (1, ``tox1``) and (``eff_star``,
``tox_star``)): u(pi_E, pi_T) = 1 - (((1 - pi_E)/(1 - eff0))^p + (pi_T / tox1)^p)^(1/p), with p
solved from the third point (0.9774 for the defaults; trialr ``efftox_solve_p``).

Acceptability (``efftox_process``): Pr(pi_E > ``target_eff`` | data) > ``p_e`` and
Pr(pi_T < ``target`` | data) > ``p_t``, and the dose within one level of the doses given
(lowest - 1 .. highest + 1).  The next dose is the acceptable dose with the largest plug-in
utility u(E[pi_E | data], E[pi_T | data]) (first on ties, as ``which.max``); no acceptable dose
stops the trial with no dose selected.  The design does not stop on its own (a sample size is
needed, as ``efftox_simulate``'s ``cohort_sizes``); the selected OBD is the recommended dose
after the last cohort.  ``doses``: the real doses (default 1..n, i.e. the levels).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq

from il2sim.designs._efftox_post import Posterior, cell_counts, posterior
from il2sim.designs._interval import check_int, check_prob
from il2sim.designs.base import (
    Decision,
    EfficacyToxicityDesign,
    Fit,
    Outcomes,
    check_target,
)
from il2sim.errors import DesignError

__all__ = ["EffTox", "EffToxFit", "efftox_solve_p", "efftox_utility"]

Arr = npt.NDArray[np.float64]

#: Thall et al. (2014) prior means and SDs of (alpha, beta, gamma, zeta, eta, psi).
PRIOR_MEAN = (-7.9593, 1.5482, 0.7367, 3.4181, 0.0, 0.0)
PRIOR_SD = (3.5487, 3.5018, 2.5423, 2.4406, 0.2, 1.0)


def efftox_solve_p(eff0: float, tox1: float, eff_star: float, tox_star: float) -> float:
    """The L^p exponent of the contour through the three points (trialr ``efftox_solve_p``)."""
    a = (1 - eff_star) / (1 - eff0)
    b = tox_star / tox1

    def g(p: float) -> float:
        return float(a**p + b**p - 1.0)

    return float(brentq(g, 1e-6, 1e3, xtol=1e-14))


def efftox_utility(p: float, eff0: float, tox1: float, prob_eff: Any, prob_tox: Any) -> Arr:
    """Thall & Cook's contour utility (trialr ``efftox_utility``)."""
    pe = np.asarray(prob_eff, dtype=float)
    pt = np.asarray(prob_tox, dtype=float)
    r = ((1 - pe) / (1 - eff0)) ** p + (pt / tox1) ** p
    return np.asarray(1.0 - r ** (1.0 / p))


def _floats(name: str, v: Any, n: int, positive: bool = False) -> tuple[float, ...]:
    items: Sequence[Any] = v if isinstance(v, (list, tuple)) else [v]
    try:
        t = tuple(float(x) for x in items)
    except (TypeError, ValueError):
        raise DesignError(f"must be numbers, got {v!r}", field=name, value=v) from None
    if len(t) != n:
        raise DesignError(f"needs {n} values, got {len(t)}", field=name, value=v)
    if not all(np.isfinite(t)) or (positive and min(t) <= 0):
        bad = next(x for x in t if not np.isfinite(x) or (positive and x <= 0))
        raise DesignError(f"must be finite{' and > 0' if positive else ''}, got {bad!r}",
                          field=name, value=bad)  # fmt: skip
    return t


@dataclass(frozen=True)
class EffTox(EfficacyToxicityDesign):
    """The EffTox design (module docstring).  ``target`` = toxicity hurdle (0.3),
    ``target_eff`` = efficacy hurdle (0.5)."""

    n_doses: int
    target: float = 0.3
    target_eff: float = 0.5
    doses: tuple[float, ...] | None = None
    start_dose: int = 1
    cohort_size: int = 3
    p_e: float = 0.1
    p_t: float = 0.1
    eff0: float = 0.5
    tox1: float = 0.65
    eff_star: float = 0.7
    tox_star: float = 0.25
    prior_mean: tuple[float, ...] = PRIOR_MEAN
    prior_sd: tuple[float, ...] = PRIOR_SD
    n_draws: int = 8192

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)
        set_("n_doses", check_int("n_doses", self.n_doses, 1))
        set_("target", check_target(self.target))
        set_("target_eff", check_prob("target_eff", self.target_eff))
        set_("start_dose", check_int("start_dose", self.start_dose, 1, self.n_doses))
        set_("cohort_size", check_int("cohort_size", self.cohort_size, 1))
        for name in ("p_e", "p_t", "eff0", "tox1", "eff_star", "tox_star"):
            set_(name, check_prob(name, getattr(self, name)))
        if not (self.eff0 < self.eff_star):
            raise DesignError(f"eff_star must exceed eff0 ({self.eff0}), got {self.eff_star}",
                              field="eff_star", value=self.eff_star)  # fmt: skip
        if not (self.tox_star < self.tox1):
            raise DesignError(f"tox_star must be below tox1 ({self.tox1}), got {self.tox_star}",
                              field="tox_star", value=self.tox_star)  # fmt: skip
        doses = self.doses
        if doses is None:
            doses = tuple(float(i) for i in range(1, self.n_doses + 1))
        d = _floats("doses", doses, self.n_doses, positive=True)
        if self.n_doses > 1 and np.any(np.diff(d) <= 0):
            raise DesignError(f"doses must increase, got {list(d)}", field="doses")
        set_("doses", d)
        set_("prior_mean", _floats("prior_mean", self.prior_mean, 6))
        set_("prior_sd", _floats("prior_sd", self.prior_sd, 6, positive=True))
        set_("n_draws", check_int("n_draws", self.n_draws, 256))

    @property
    def name(self) -> str:
        """``"efftox"``."""
        return "efftox"

    @functools.cached_property
    def p(self) -> float:
        """The contour's L^p exponent."""
        return efftox_solve_p(self.eff0, self.tox1, self.eff_star, self.tox_star)

    @functools.cached_property
    def coded_doses(self) -> Arr:
        """log(dose) - mean(log(dose))."""
        lg = np.log(np.asarray(self.doses, dtype=float))
        return np.asarray(lg - lg.mean())

    def utility(self, prob_eff: Any, prob_tox: Any) -> Arr:
        """The contour utility of (pi_E, pi_T)."""
        return efftox_utility(self.p, self.eff0, self.tox1, prob_eff, prob_tox)

    def fit(self, outcomes: Outcomes) -> EffToxFit:
        """Fit to outcomes so far (letters N/T/E/B)."""
        self.check_outcomes(outcomes)
        return EffToxFit(self, outcomes)


@dataclass(frozen=True)
class EffToxFit(Fit):
    """EffTox fitted to outcomes: posterior summaries per dose and the decision."""

    design: EffTox
    outcomes: Outcomes

    @functools.cached_property
    def post(self) -> Posterior:
        """The importance-sampling posterior (:mod:`il2sim.designs._efftox_post`)."""
        des, oc = self.design, self.outcomes
        counts = cell_counts(oc.dose, oc.efficacy(), oc.dlt, des.n_doses)
        return posterior(des.coded_doses, counts, np.asarray(des.prior_mean),
                         np.asarray(des.prior_sd), n_draws=des.n_draws)  # fmt: skip

    @functools.cached_property
    def summary(self) -> dict[str, Arr]:
        """prob_eff, prob_tox, prob_acc_eff, prob_acc_tox, utility (plug-in), post_utility,
        prob_obd and acceptable, per dose (trialr ``efftox_process``'s fields)."""
        des, po = self.design, self.post
        pe, pt = po.mean(po.pe), po.mean(po.pt)
        u_draws = des.utility(po.pe, po.pt)
        best = np.argmax(u_draws, axis=1)
        k = des.n_doses
        acc_eff = po.mean((po.pe > des.target_eff).astype(float))
        acc_tox = po.mean((po.pt < des.target).astype(float))
        acceptable = np.zeros(k, dtype=bool)
        if self.outcomes.n_patients:
            lo, hi = int(self.outcomes.dose.min()), int(self.outcomes.dose.max())
            lv = np.arange(1, k + 1)
            acceptable = (acc_eff > des.p_e) & (acc_tox > des.p_t) & (lv >= lo - 1) & (lv <= hi + 1)
        return {
            "prob_eff": pe, "prob_tox": pt, "prob_acc_eff": acc_eff, "prob_acc_tox": acc_tox,
            "utility": des.utility(pe, pt), "post_utility": po.mean(u_draws),
            "prob_obd": np.bincount(best, weights=po.weights, minlength=k)[:k],
            "acceptable": acceptable,
        }  # fmt: skip

    def obd(self) -> int | None:
        """The acceptable dose with the largest plug-in utility (None: none acceptable)."""
        s = self.summary
        acc = s["acceptable"]
        if not acc.any():
            return None
        return int(np.argmax(np.where(acc, s["utility"], -np.inf))) + 1

    def decision(self) -> Decision:
        """trialr's recommended dose; stop with no dose when none is acceptable."""
        des = self.design
        if self.outcomes.n_patients == 0:
            return Decision(des.start_dose, False, "start", mtd=None, cohort_size=des.cohort_size)
        best = self.obd()
        if best is None:
            return Decision(None, True, "no acceptable dose", mtd=None)
        return Decision(best, False, "highest utility among acceptable doses", mtd=best,
                        cohort_size=des.cohort_size)  # fmt: skip

    def estimates(self) -> dict[str, Any]:
        """Posterior summaries per dose, the OBD and the effective sample size."""
        out = super().estimates()
        out["eff"] = self.outcomes.eff_per_dose(self.design.n_doses).tolist()
        out.update({k: v.tolist() for k, v in self.summary.items()})
        out["obd"] = self.obd()
        out["ess"] = self.post.ess
        return out
