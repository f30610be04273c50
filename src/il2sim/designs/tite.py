"""TITE-CRM: time-to-event CRM (Cheung & Chappell 2000, Biometrics 56:1177), as dfcrm 0.2-2.1.

The CRM (``crm.py``: empiric or logistic one-parameter model, N(0, prior_var) prior, dfcrm's
posterior mean) with a weighted likelihood: a patient still in follow-up without a DLT counts
as 1 - w F(d, beta), w = follow-up / window (``weights="linear"``) or Cheung & Chappell's
adaptive weights (``"adaptive"``), as ``dfcrm::titecrm``; a DLT counts fully once observed.

Conduct: ``fit(outcomes)`` with ``Outcomes.followup_days`` (days observed; for a DLT, days to
the DLT; ``inf`` or absent = complete).  Simulation (dfcrm ``titesim``): patients arrive one by
one, ``accrual_per_window`` per ``window_days`` on average, ``accrual="fixed"`` (every
window/rate days, the first after one gap) or ``"poisson"`` (exponential gaps); a DLT happens
within the window at a day drawn from ``tox_time`` (uniform unless told; ``late``/``early``
are triangular densities rising / falling over the window) or given by the patient source (the
model); each dose is chosen at the patient's arrival from the outcomes observed by then.  The
MTD is the unrestricted recommendation on complete data; duration = last arrival + window.

Restrictions: ``no_skip_escalation`` (titesim: next dose <= last patient's dose + 1, on by
default) and ``no_escalation_after_dlt`` (off by default, as titesim, which applies none
other): no escalation above the last patient's dose when a DLT was observed since that patient
was assigned (from ``Outcomes.entry_days``; without entry days, a DLT in the last cohort).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.designs._crm_kernel import crm_model, grid_tables
from il2sim.designs._fast_crm import crm_recommend_nb
from il2sim.designs._fast_tite import (
    TOX_TIMES,
    simulate_tite_crm_nb,
    tite_estimate_nb,
    tite_next_nb,
    tite_weights_nb,
    tox_day_nb,
    work_buffers,
)
from il2sim.designs.base import Decision, Fit, Outcomes
from il2sim.designs.crm import CRM
from il2sim.designs.kernels import F64, Caps, Kernel, SimulatedTrials
from il2sim.errors import DesignError

__all__ = ["ACCRUALS", "TITECRM", "WEIGHTS", "TITECRMFit", "TiteTiming"]

ACCRUALS = ("fixed", "poisson")
#: Extra timing kinds of bfboin (BF-BOIN only): uniform gaps, Weibull DLT times.
BF_ACCRUALS = (*ACCRUALS, "uniform")
WEIGHTS = ("linear", "adaptive")


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise DesignError(f"must be > 0, got {value!r}", field=name, value=value)
    return v


def _choice(name: str, value: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise DesignError(
            f"must be one of {', '.join(options)}, got {value!r}", field=name, value=value
        )
    return value


def weibull_dlt_days(
    u: npt.NDArray[np.float64], window: float, p: float | None
) -> npt.NDArray[np.float64]:
    """bfboin's DLT time given a DLT (``sim.one.trial``): Weibull shape k = (log(-log(1-p)) -
    log(-log(1-p/2))) / log 2, scale w (-log(1-p))^(-1/k), conditioned on T < w (inverse CDF
    of the uniforms ``u``); uniform over the window when p is 0 or 1."""
    if p is None:
        raise DesignError("the Weibull DLT time needs the dose's true DLT probability",
                          field="tox_time", value="weibull")  # fmt: skip
    if not (0.0 < p < 1.0):
        return np.asarray(u * window, dtype=float)
    k = (math.log(-math.log(1 - p)) - math.log(-math.log(1 - p / 2))) / math.log(2.0)
    scale = window * (-math.log(1 - p)) ** (-1.0 / k)
    return np.asarray(scale * (-np.log1p(-u * p)) ** (1.0 / k), dtype=float)


@dataclass(frozen=True)
class TiteTiming:
    """The time-to-event part of a design: DLT window, accrual and DLT-time distribution.

    ``window_days`` > 0; ``accrual_per_window`` > 0 patients per window on average;
    ``accrual`` fixed, poisson or uniform (bfboin: gaps Uniform(0, 2 window / rate));
    ``tox_time`` uniform, late, early (within the window) or weibull (bfboin, needs p);
    ``first_gap``: the first patient arrives after one gap (dfcrm titesim), else at day 0
    (TITEgBOIN); ``bfboin_kinds``: also accept bfboin's uniform accrual and Weibull times.
    """

    window_days: float
    accrual_per_window: float = 3.0
    accrual: str = "fixed"
    tox_time: str = "uniform"
    first_gap: bool = True
    bfboin_kinds: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "window_days", _positive("window_days", self.window_days))
        object.__setattr__(
            self, "accrual_per_window", _positive("accrual_per_window", self.accrual_per_window)
        )
        _choice("accrual", self.accrual, BF_ACCRUALS if self.bfboin_kinds else ACCRUALS)
        _choice("tox_time", self.tox_time,
                (*TOX_TIMES, "weibull") if self.bfboin_kinds else TOX_TIMES)  # fmt: skip

    @property
    def gap_days(self) -> float:
        """Mean days between arrivals: window / accrual_per_window."""
        return self.window_days / self.accrual_per_window

    def gaps(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        """Days before each of ``n`` arrivals (the first counted from the previous one)."""
        if self.accrual == "poisson":
            return np.asarray(rng.exponential(self.gap_days, n), dtype=float)
        if self.accrual == "uniform":  # bfboin: Uniform(0, 2 x mean gap)
            return np.asarray(rng.uniform(0.0, 2.0 * self.gap_days, n), dtype=float)
        return np.full(n, self.gap_days)

    def dlt_days(
        self, rng: np.random.Generator, dlt: npt.NDArray[np.int64], p: float | None = None
    ) -> npt.NDArray[np.float64]:
        """Day of each DLT within the window (``inf`` for patients without one).  ``weibull``
        (bfboin's): the Weibull time to DLT with P(T < window) = ``p`` (the dose's true DLT
        probability) and half of it by mid-window, given T < window."""
        u = rng.random(dlt.size)
        if self.tox_time == "weibull":
            return np.where(dlt > 0, weibull_dlt_days(u, self.window_days, p), np.inf)
        kind = TOX_TIMES.index(self.tox_time)
        out = np.array([tox_day_nb(float(v), self.window_days, kind) for v in u])
        return np.where(dlt > 0, out, np.inf)


@dataclass(frozen=True)
class TITECRM(CRM):
    """TITE-CRM (see the module docstring); CRM options plus the timing and ``weights``."""

    cohort_size: int = 1
    no_escalation_after_dlt: bool = False
    window_days: float = 0.0
    accrual_per_window: float = 3.0
    accrual: str = "fixed"
    tox_time: str = "uniform"
    weights: str = "linear"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.method != "bayes":
            raise DesignError("TITE-CRM supports method='bayes' only", field="method")
        if self.two_stage is not None:
            raise DesignError("TITE-CRM: two-stage start not supported", field="two_stage")
        _choice("weights", self.weights, WEIGHTS)
        _ = self.timing  # validates the window and accrual

    @property
    def name(self) -> str:
        """``"tite-crm"``."""
        return "tite-crm"

    @property
    def timing(self) -> TiteTiming:
        """Window, accrual and DLT-time distribution."""
        return TiteTiming(self.window_days, self.accrual_per_window, self.accrual, self.tox_time)

    @property
    def time_to_event(self) -> bool:
        """True: the controller decides at each arrival from the outcomes observed by then."""
        return True

    def fit(self, outcomes: Outcomes) -> TITECRMFit:  # type: ignore[override]
        """Fit to the outcomes observed so far (follow-up in ``outcomes.followup_days``)."""
        self.check_outcomes(outcomes)
        return TITECRMFit(self, outcomes)

    def kernel(self) -> TITECRMKernel | None:  # type: ignore[override]
        """The compiled simulator (dfcrm ``titesim``); cohorts of one patient, fixed or Poisson
        accrual and the kernel's DLT-time shapes only (else the generic loop)."""
        tm = self.timing
        ok = self.cohort_size == 1 and tm.accrual != "uniform" and tm.tox_time in TOX_TIMES
        return TITECRMKernel(self) if ok else None


def _tables(des: TITECRM) -> Any:
    """The CRM grid tables plus ``pp`` = exp(lp), cached on the (immutable) design.

    The pair is stored under one key in one assignment: kernel chunks run on threads
    (``_kernel_chunks._threaded``), and a reader must never see the tables without ``pp``
    (two separate keys raced: ``KeyError: 'pp'`` in a 2-worker run, stop 25)."""
    cache: dict[str, Any] = des.__dict__.setdefault("_grid_cache", {})
    pair = cache.get("tables")
    if pair is None:
        g = grid_tables(des)
        pair = (g, np.ascontiguousarray(np.exp(g.lp)))
        cache["tables"] = pair
    return pair


@dataclass(frozen=True)
class TITECRMFit(Fit):
    """TITE-CRM fitted to outcomes observed so far."""

    design: TITECRM
    outcomes: Outcomes

    def _data(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        fu = np.minimum(self.outcomes.followup(), self.design.window_days)
        return self.outcomes.dose - 1, np.ascontiguousarray(fu, dtype=float)

    def weights(self) -> npt.NDArray[np.float64]:
        """dfcrm ``titecrm`` weights per patient."""
        _, fu = self._data()
        des = self.design
        return tite_weights_nb(fu, self.outcomes.dlt, des.window_days, des.weights == "adaptive")

    def _new_dlt(self) -> bool:
        oc = self.outcomes
        last = oc.cohort == oc.cohort.max()
        if oc.entry_days.size:
            t_last = float(oc.entry_days[last].max())
            seen = oc.entry_days + oc.followup()
            return bool(((oc.dlt > 0) & (seen > t_last) & ~last).any() or oc.dlt[last].any())
        return bool(oc.dlt[last].any())

    def beta(self) -> float:
        """Posterior mean of beta (dfcrm ``titecrm`` ``estimate``)."""
        g, pp = _tables(self.design)
        lev, _ = self._data()
        ibuf, fbuf = work_buffers(lev.size, g.lp.shape[1])
        return float(
            tite_estimate_nb(
                lev, self.outcomes.dlt, self.weights(), g.tables(), pp, np.empty(g.grid.size),
                ibuf, fbuf,
            )
        )  # fmt: skip

    def decision(self) -> Decision:
        """Next dose at this time (restricted); ``mtd`` = the unrestricted recommendation."""
        des = self.design
        oc = self.outcomes
        if oc.n_patients == 0:
            return Decision(des.start_dose, False, "start", mtd=None, cohort_size=des.cohort_size)
        g, pp = _tables(des)
        lev, fu = self._data()
        last = int(oc.dose[-1]) - 1
        nxt, rec, _ = tite_next_nb(
            lev, oc.dlt, fu, self._new_dlt(), last, des.window_days, des.weights == "adaptive",
            crm_model(des), g.tables(), pp, np.empty(g.grid.size), des.no_skip_escalation,
            des.no_escalation_after_dlt,
        )  # fmt: skip
        why = "closest to target" if nxt == rec else "restricted (no skipping / after a DLT)"
        return Decision(int(nxt) + 1, False, why, mtd=int(rec) + 1, cohort_size=des.cohort_size)

    def estimates(self) -> dict[str, Any]:
        """Counts, weights, beta and the plug-in toxicity per dose."""
        out = super().estimates()
        b = self.beta()
        des = self.design
        out.update(
            {
                "weights": self.weights().tolist(),
                "beta": b,
                "ptox": des.ptox(b).tolist(),
                "mtd": int(crm_recommend_nb(b, crm_model(des))) + 1,
            }
        )  # fmt: skip
        return out


@dataclass(frozen=True)
class TITECRMKernel(Kernel):
    """Compiled TITE-CRM trials (``_fast_tite.simulate_tite_crm_nb``): three uniforms per
    patient; adds ``final_beta`` (summarised as ``mean_final_beta``)."""

    design: TITECRM
    detail_names: tuple[str, ...] = ("final_beta",)

    def n_patients(self, caps: Caps) -> int:
        """Patients per trial: the patient cap (cohorts of one)."""
        return min(caps.patients, caps.cohorts)

    def patient_slots(self, caps: Caps) -> int:
        """Three uniforms per patient (DLT, DLT day, arrival gap)."""
        return 3 * self.n_patients(caps)

    def cohort_slots(self, caps: Caps) -> int:
        """One cohort per patient."""
        return self.n_patients(caps)

    def run(self, truth: F64, u: F64, caps: Caps, out: SimulatedTrials) -> None:
        """Simulate ``u.shape[0]`` trials into ``out`` (every trial ends at the patient cap)."""
        des = self.design
        g, pp = _tables(des)
        tm = des.timing
        simulate_tite_crm_nb(
            truth, u, crm_model(des), g.tables(), pp, tm.window_days, tm.gap_days,
            tm.accrual == "poisson", TOX_TIMES.index(tm.tox_time), des.weights == "adaptive", des.no_skip_escalation,
            des.no_escalation_after_dlt, des.start_dose - 1, self.n_patients(caps),
            out.kernel_record(), out.duration_days, out.details["final_beta"],
        )  # fmt: skip

    def summary_details(self, trials: SimulatedTrials) -> dict[str, Any]:
        """``mean_final_beta``: mean over trials of the final estimate of beta."""
        return {"mean_final_beta": float(np.mean(trials.details["final_beta"]))}
