"""CRM: continual reassessment method (O'Quigley, Pepe & Fisher 1990, Biometrics 46:33), as dfcrm.

One-parameter models on a skeleton ``s`` (dfcrm, Cheung 2011 "Dose Finding by the CRM"):

- empiric (power): p_i(beta) = s_i ** exp(beta);
- logistic: p_i(beta) = 1 / (1 + exp(-(a0 + exp(beta) x_i))), x_i = logit(s_i) - a0, a0 = 3.

Bayesian estimate: posterior mean of beta under beta ~ N(0, prior_var) (dfcrm: 1.34), by
numerical integration (scipy ``quad`` when conducting; a trapezoid rule on [-10, 10] in numba
when simulating); toxicity estimates plug the estimate in (dfcrm ``ptox``), 90% intervals plug
in beta_hat -/+ z sd (dfcrm ``ptoxL``/``ptoxU``).  The recommended dose is the one whose
estimate is closest to the target (the top dose if all are below it, dose 1 if all above).
Restrictions (dfcrm ``crmsim`` with ``restrict = TRUE``): no skipping doses on escalation, and
no escalation when the last cohort's DLT fraction is >= the target.  Two-stage designs follow an
initial dose sequence (one level per cohort) until the first DLT; while all patients so far had
a DLT, the estimate uses the N(0, 500^2) prior, as dfcrm.  The MTD at the end is the
unrestricted recommendation.  The CRM itself never stops early; add rules (``rules.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

from il2sim.designs._crm_kernel import FLAT_PRIOR_SD, CRMKernel, crm_model
from il2sim.designs._crm_quad import BOUND as _BOUND
from il2sim.designs._crm_quad import integral
from il2sim.designs._fast_crm import crm_loglik_nb, crm_recommend_nb
from il2sim.designs._interval import check_int, check_prob
from il2sim.designs.base import Decision, Design, Fit, Outcomes, check_target
from il2sim.designs.crm_prior import check_model, getprior
from il2sim.errors import DesignError

__all__ = ["CRM", "CRMEstimate", "CRMFit", "getprior"]

#: dfcrm's default prior variance of beta (``scale = sqrt(1.34)``).
DEFAULT_PRIOR_VAR = 1.34
_METHODS = ("bayes", "mle")


@dataclass(frozen=True)
class CRMEstimate:
    """A CRM fit (dfcrm ``crm`` output): beta estimate and variance, toxicity with intervals.

    Lists are per dose level 1..n; ``mtd`` is dfcrm's recommended level (unrestricted).
    """

    beta: float
    beta_var: float
    ptox: tuple[float, ...]
    ptox_lower: tuple[float, ...]
    ptox_upper: tuple[float, ...]
    conf_level: float
    method: str
    mtd: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "beta": self.beta,
            "beta_var": self.beta_var,
            "ptox": list(self.ptox),
            "ptox_lower": list(self.ptox_lower),
            "ptox_upper": list(self.ptox_upper),
            "conf_level": self.conf_level,
            "method": self.method,
            "mtd": self.mtd,
        }


@dataclass(frozen=True)
class CRM(Design):
    """The CRM design; keyword options named as the CLI's.

    ``skeleton``: prior toxicity guesses per dose (strictly increasing, in (0, 1));
    ``model``: ``"empiric"`` or ``"logistic"`` (``intercept`` a0); ``method``: ``"bayes"``
    (posterior mean, prior N(0, ``prior_var``)) or ``"mle"`` (needs ``two_stage`` to simulate,
    as dfcrm); ``two_stage``: initial dose levels, one per cohort, followed until the first DLT
    (the last one repeats); ``grid_step``: trapezoid step of the simulation kernel.
    """

    skeleton: tuple[float, ...]
    target: float
    model: str = "empiric"
    method: str = "bayes"
    prior_var: float = DEFAULT_PRIOR_VAR
    intercept: float = 3.0
    start_dose: int = 1
    cohort_size: int = 3
    no_skip_escalation: bool = True
    no_escalation_after_dlt: bool = True
    two_stage: tuple[int, ...] | None = None
    conf_level: float = 0.90
    grid_step: float = 0.1
    n_doses: int = field(init=False)

    def __post_init__(self) -> None:
        s = np.asarray(self.skeleton, dtype=float).ravel()
        if s.size == 0:
            raise DesignError("needs at least one dose", field="skeleton")
        bad = ~np.isfinite(s) | (s <= 0) | (s >= 1)
        if bad.any():
            raise DesignError(
                f"values must be in (0, 1), got {s[bad][0]!r}", field="skeleton", value=s[bad][0]
            )
        if s.size > 1 and not (np.diff(s) > 0).all():
            raise DesignError(
                f"must be strictly increasing, got {s.tolist()}", field="skeleton", value=s.tolist()
            )
        object.__setattr__(self, "skeleton", tuple(float(v) for v in s))
        object.__setattr__(self, "n_doses", int(s.size))
        object.__setattr__(self, "target", check_target(self.target))
        check_model(self.model)
        if self.method not in _METHODS:
            raise DesignError(
                f"must be one of {_METHODS}, got {self.method!r}", field="method", value=self.method
            )
        pv = float(self.prior_var)
        if not (np.isfinite(pv) and pv > 0):
            raise DesignError(f"must be > 0, got {self.prior_var!r}", field="prior_var")
        object.__setattr__(self, "prior_var", pv)
        object.__setattr__(self, "intercept", float(self.intercept))
        if self.model == "logistic" and not (self.x < 0).all():
            raise DesignError(
                f"too small for the skeleton (scaled doses must be < 0), got {self.intercept!r}",
                field="intercept",
                value=self.intercept,
            )
        object.__setattr__(
            self, "start_dose", check_int("start_dose", self.start_dose, 1, self.n_doses)
        )
        object.__setattr__(self, "cohort_size", check_int("cohort_size", self.cohort_size, 1))
        if self.two_stage is not None:
            seq = tuple(
                check_int("two_stage", v, 1, self.n_doses)
                for v in np.ravel(self.two_stage).tolist()
            )
            if not seq:
                raise DesignError("must list at least one dose level", field="two_stage")
            object.__setattr__(self, "two_stage", seq)
        object.__setattr__(self, "conf_level", check_prob("conf_level", self.conf_level))
        h = float(self.grid_step)
        if not (0.0 < h <= 0.5) or abs(2 * _BOUND / h - round(2 * _BOUND / h)) > 1e-9:
            raise DesignError(
                f"must divide 20 and be in (0, 0.5], got {self.grid_step!r}", field="grid_step"
            )
        object.__setattr__(self, "grid_step", h)

    @property
    def name(self) -> str:
        """``"crm"``."""
        return "crm"

    @property
    def x(self) -> npt.NDArray[np.float64]:
        """Model dose values: the skeleton (empiric) or logit(skeleton) - a0 (logistic)."""
        s = np.asarray(self.skeleton)
        if self.model == "empiric":
            return s
        return np.log(s / (1 - s)) - self.intercept

    def ptox(self, beta: float) -> npt.NDArray[np.float64]:
        """Toxicity probability per dose at ``beta``."""
        if self.model == "empiric":
            return np.asarray(self.x ** math.exp(beta))
        with np.errstate(over="ignore"):
            return np.asarray(1.0 / (1.0 + np.exp(-self.intercept - math.exp(beta) * self.x)))

    def loglik(
        self, beta: npt.ArrayLike, n: npt.NDArray[np.int64], y: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """Binomial log-likelihood of ``beta`` (array) for ``y`` DLTs of ``n`` per dose."""
        b = np.asarray(beta, dtype=float)[..., None]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            eb = np.exp(b)
            if self.model == "empiric":
                lp = eb * np.log(self.x)
                lq = np.log(-np.expm1(lp))
            else:
                eta = self.intercept + eb * self.x
                lp = -np.logaddexp(0.0, -eta)
                lq = -np.logaddexp(0.0, eta)
        m = n > 0
        ym, fm = y[m], n[m] - y[m]
        with np.errstate(invalid="ignore"):
            terms = np.where(ym > 0, ym * lp[..., m], 0.0) + np.where(fm > 0, fm * lq[..., m], 0.0)
        return np.asarray(terms.sum(axis=-1))

    def estimate(
        self,
        n: npt.ArrayLike,
        y: npt.ArrayLike,
        method: str | None = None,
        sd: float | None = None,
        var_est: bool = True,
    ) -> CRMEstimate:
        """dfcrm ``crm`` on counts per dose: estimate, variance, toxicity and intervals.

        Integrals by scipy ``quad`` (numerator over [-10, 10], normaliser over the real line,
        as dfcrm).  ``sd`` overrides the prior sd (dfcrm passes 500 in its fallbacks);
        ``var_est=False`` skips the variance and intervals (NaN), as dfcrm's ``var.est``.
        """
        na = np.asarray(n, dtype=np.int64)
        ya = np.asarray(y, dtype=np.int64)
        meth = self.method if method is None else method
        s = math.sqrt(self.prior_var) if sd is None else float(sd)
        x = np.ascontiguousarray(self.x, dtype=float)
        logistic = self.model == "logistic"
        a0 = self.intercept

        def quad(sd_: float, power: int, lo: float, hi: float, at: float) -> float:
            return integral(x, logistic, a0, na, ya, sd_, power, lo, hi, at)

        if meth == "mle":
            if ya.sum() == 0 or ya.sum() == na.sum():
                raise DesignError(
                    "the MLE does not exist without both a DLT and a non-DLT (dfcrm: 'mle does "
                    "not exist'); use method='bayes' or a two-stage design",
                    field="method",
                    value="mle",
                )
            res = optimize.minimize_scalar(
                lambda b: -crm_loglik_nb(b, na, ya, x, logistic, self.intercept),
                bounds=(-_BOUND, _BOUND),
                method="bounded",
                options={"xatol": 1e-10},
            )
            est = float(res.x)
            var = math.nan
            if var_est:
                # dfcrm: e2 over [-100, 100] / normaliser over [-10, 10], scale 500
                e2 = quad(FLAT_PRIOR_SD, 2, -100.0, 100.0, est) / quad(
                    FLAT_PRIOR_SD, 0, -_BOUND, _BOUND, est
                )
                var = e2 - est**2
        else:
            grid = np.linspace(-_BOUND, _BOUND, 2001)
            mode = float(grid[np.argmax(self.loglik(grid, na, ya) - grid**2 / (2 * s * s))])
            den = quad(s, 0, -np.inf, np.inf, mode)
            est = quad(s, 1, -_BOUND, _BOUND, mode) / den
            var = math.nan
            if var_est:
                e2 = quad(s, 2, -_BOUND, _BOUND, mode) / den
                var = e2 - est**2
        crit = float(stats.norm.ppf(0.5 + self.conf_level / 2))
        sd_b = math.sqrt(max(var, 0.0)) if var_est else math.nan
        lower = self.ptox(est + crit * sd_b)
        upper = self.ptox(est - crit * sd_b)
        p = self.ptox(est)
        rec = int(crm_recommend_nb(est, crm_model(self)))
        return CRMEstimate(
            beta=est,
            beta_var=var,
            ptox=tuple(float(v) for v in p),
            ptox_lower=tuple(float(v) for v in lower),
            ptox_upper=tuple(float(v) for v in upper),
            conf_level=self.conf_level,
            method=meth,
            mtd=rec + 1,
        )

    def fit(self, outcomes: Outcomes) -> CRMFit:
        """Fit to outcomes so far."""
        self.check_outcomes(outcomes)
        return CRMFit(self, outcomes)

    @property
    def requires_sample_size(self) -> bool:
        """True: the CRM never stops on its own (dfcrm ``crmsim`` takes N)."""
        return True

    def kernel(self) -> CRMKernel:
        """The compiled simulator (dfcrm ``crmsim``); the MLE needs a two-stage design."""
        if self.method == "mle" and self.two_stage is None:
            raise DesignError(
                "simulating the MLE CRM needs an initial design (two_stage), as dfcrm",
                field="method",
                value="mle",
            )
        return CRMKernel(self)


@dataclass(frozen=True)
class CRMFit(Fit):
    """A CRM fitted to outcomes: dfcrm estimation plus the design's restrictions."""

    design: CRM
    outcomes: Outcomes

    def _counts(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        k = self.design.n_doses
        return self.outcomes.n_per_dose(k), self.outcomes.dlt_per_dose(k)

    def _in_stage1(self) -> bool:
        return self.design.two_stage is not None and int(self.outcomes.dlt.sum()) == 0

    def _estimate(self, method: str, sd: float | None, var_est: bool) -> CRMEstimate:
        cache: dict[tuple[str, float | None, bool], CRMEstimate] = self.__dict__.setdefault(
            "_cache", {}
        )
        key = (method, sd, var_est)
        if key not in cache:
            full = (method, sd, True)
            if not var_est and full in cache:
                return cache[full]
            n, y = self._counts()
            cache[key] = self.design.estimate(n, y, method=method, sd=sd, var_est=var_est)
        return cache[key]

    def _current_args(self) -> tuple[str, float | None]:
        n, y = self._counts()
        if self.design.two_stage is not None and int(y.sum()) == int(n.sum()):
            return "bayes", FLAT_PRIOR_SD
        return self.design.method, None

    def _final_args(self) -> tuple[str, float | None]:
        n, y = self._counts()
        if self.design.method == "mle" and (int(y.sum()) == 0 or int(y.sum()) == int(n.sum())):
            return "bayes", FLAT_PRIOR_SD
        return self.design.method, None

    def current_estimate(self, var_est: bool = True) -> CRMEstimate:
        """The estimate used for the next dose (dfcrm ``crmsim``'s in-trial call)."""
        return self._estimate(*self._current_args(), var_est)

    def final_estimate(self, var_est: bool = True) -> CRMEstimate:
        """The estimate used to select the MTD (dfcrm ``crmsim``'s final call)."""
        return self._estimate(*self._final_args(), var_est)

    def decision(self) -> Decision:
        """Next dose with dfcrm's restrictions; ``mtd`` = the unrestricted final recommendation."""
        des = self.design
        cs = des.cohort_size
        oc = self.outcomes
        if oc.n_patients == 0:
            first = des.two_stage[0] if des.two_stage is not None else des.start_dose
            return Decision(first, False, "start", mtd=None, cohort_size=cs)
        mtd = self.final_estimate(var_est=False).mtd
        if self._in_stage1():
            assert des.two_stage is not None
            seq = des.two_stage
            nxt = seq[min(oc.n_cohorts, len(seq) - 1)]
            return Decision(nxt, False, "two-stage: initial sequence", mtd=mtd, cohort_size=cs)
        rec = self.current_estimate(var_est=False).mtd
        last = int(oc.cohort.max())
        sel = oc.cohort == last
        d = int(oc.dose[sel][-1])
        frac = float(oc.dlt[sel].sum()) / int(sel.sum())
        reason = "closest to target"
        if des.no_escalation_after_dlt and frac >= des.target:
            if rec > d:
                reason = "no escalation after DLT"
            rec = min(rec, d)
        elif des.no_skip_escalation:
            if rec > d + 1:
                reason = "no skipping on escalation"
            rec = min(rec, d + 1)
        return Decision(rec, False, reason, mtd=mtd, cohort_size=cs)

    def estimates(self) -> dict[str, Any]:
        """Counts per dose plus dfcrm's ``crm`` output (beta, variance, ptox, intervals)."""
        out = super().estimates()
        est = self.final_estimate()
        out.update(est.to_dict())
        return out
