"""The CRM's compiled simulator: precomputed grid tables and the :class:`Kernel` -- private."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from scipy import special

from il2sim.designs._crm_quad import BOUND
from il2sim.designs._fast_crm import CRMModel, Tables, simulate_crm_nb
from il2sim.designs.kernels import F64, Caps, Kernel, SimulatedTrials


class CRMLike(Protocol):
    """What the kernel needs of a :class:`~il2sim.designs.crm.CRM` (a Protocol, so this module
    does not import ``crm``, which builds the kernel)."""

    @property
    def grid_step(self) -> float: ...
    @property
    def x(self) -> npt.NDArray[np.float64]: ...
    @property
    def model(self) -> str: ...
    @property
    def n_doses(self) -> int: ...
    @property
    def intercept(self) -> float: ...
    @property
    def prior_var(self) -> float: ...
    @property
    def cohort_size(self) -> int: ...
    @property
    def two_stage(self) -> tuple[int, ...] | None: ...
    @property
    def target(self) -> float: ...
    @property
    def method(self) -> str: ...
    @property
    def no_skip_escalation(self) -> bool: ...
    @property
    def no_escalation_after_dlt(self) -> bool: ...
    @property
    def start_dose(self) -> int: ...

#: dfcrm's near-flat prior sd used while every patient had a DLT (two-stage) or for MLE fallback.
FLAT_PRIOR_SD = 500.0


@dataclass(frozen=True)
class _Grid:
    """Precomputed tables of the simulation kernel (see ``_fast.crm_estimate_nb``)."""

    grid: npt.NDArray[np.float64]
    lp: npt.NDArray[np.float64]
    lq: npt.NDArray[np.float64]
    logprior: npt.NDArray[np.float64]
    tails: npt.NDArray[np.float64]
    logprior_flat: npt.NDArray[np.float64]
    tails_flat: npt.NDArray[np.float64]
    lp_inf: npt.NDArray[np.float64]
    lq_inf: npt.NDArray[np.float64]

    def tables(self, flat: bool = False) -> Tables:
        """The kernels' posterior tables (``_fast_crm.Tables``) under the design's prior, or
        (``flat``) under dfcrm's near-flat N(0, 500^2) prior."""
        lpr, tails = (self.logprior_flat, self.tails_flat) if flat else (self.logprior, self.tails)
        return (self.grid, self.lp, self.lq, lpr, tails, self.lp_inf, self.lq_inf)


def crm_model(design: CRMLike) -> CRMModel:
    """The design's dose-toxicity model as the kernels take it (``_fast_crm.CRMModel``)."""
    x = np.ascontiguousarray(design.x, dtype=float)
    return (x, design.model == "logistic", float(design.intercept), float(design.target))


def grid_tables(design: CRMLike) -> _Grid:
    """Grid over [-10, 10], log p / log(1-p) per grid point and dose, log priors, tails."""
    m = round(2 * BOUND / design.grid_step)
    grid = np.linspace(-BOUND, BOUND, m + 1)
    eb = np.exp(grid)[:, None]
    x = design.x[None, :]
    if design.model == "empiric":
        lp = eb * np.log(x)
        lq = np.log(-np.expm1(lp))
        lp_inf = np.zeros(design.n_doses)  # p -> 1 as beta -> -inf
        lq_inf = np.full(design.n_doses, -np.inf)
    else:
        eta = design.intercept + eb * x
        lp = -np.logaddexp(0.0, -eta)
        lq = -np.logaddexp(0.0, eta)
        lp_inf = np.full(design.n_doses, -np.logaddexp(0.0, -design.intercept))
        lq_inf = np.full(design.n_doses, -np.logaddexp(0.0, design.intercept))

    def prior(sd: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        # prior mass beyond 10 and the integral of exp(b + 10) x prior below -10, for the
        # unnormalised prior exp(-b^2 / (2 sd^2)) (dfcrm's)
        tail = sd * math.sqrt(math.pi / 2) * float(special.erfc(BOUND / (sd * math.sqrt(2))))
        z = (BOUND + sd * sd) / sd
        edge = (
            sd
            * math.sqrt(2 * math.pi)
            * 0.5
            * float(special.erfcx(z / math.sqrt(2)))
            * math.exp(-(BOUND**2) / (2 * sd * sd))
        )
        return -(grid**2) / (2 * sd * sd), np.array([tail, edge])

    lpr, tails = prior(math.sqrt(design.prior_var))
    lflat, tails_flat = prior(FLAT_PRIOR_SD)
    return _Grid(
        grid,
        np.ascontiguousarray(lp),
        np.ascontiguousarray(lq),
        lpr,
        tails,
        lflat,
        tails_flat,
        lp_inf,
        lq_inf,
    )


@dataclass(frozen=True)
class CRMKernel(Kernel):
    """Compiled CRM trials as dfcrm ``crmsim`` (``_fast_crm.simulate_crm_nb``).

    The posterior mean is a trapezoid rule on a ``grid_step`` grid over [-10, 10] (agrees with
    ``quad`` to ~1e-8 for posterior sd >= 0.1).  Adds the final beta estimate per trial
    (``details["final_beta"]``, summarised as ``mean_final_beta``).
    """

    design: CRMLike
    detail_names: tuple[str, ...] = ("final_beta",)

    def patient_slots(self, caps: Caps) -> int:
        """At most ``max_cohorts`` full cohorts, and at most ``max_patients``."""
        return min(caps.cohorts * self.design.cohort_size, caps.patients)

    def cohort_slots(self, caps: Caps) -> int:
        """Full cohorts and one cut to fit ``max_patients``."""
        return -(-self.patient_slots(caps) // self.design.cohort_size)

    def run(self, truth: F64, u: F64, caps: Caps, out: SimulatedTrials) -> None:
        """Simulate ``u.shape[0]`` trials into ``out`` (every CRM trial ends at a cap)."""
        des = self.design
        g = grid_tables(des)
        stage1 = np.asarray(
            [d - 1 for d in des.two_stage] if des.two_stage is not None else [], dtype=np.int64
        )
        simulate_crm_nb(
            truth, u, crm_model(des), g.tables(), g.tables(flat=True), des.method == "mle",
            des.no_skip_escalation, des.no_escalation_after_dlt, stage1, des.start_dose - 1,
            des.cohort_size, caps.cohorts, caps.patients, out.kernel_record(),
            out.details["final_beta"],
        )  # fmt: skip

    def summary_details(self, trials: SimulatedTrials) -> dict[str, Any]:
        """``mean_final_beta``: mean over trials of the final estimate of beta."""
        return {"mean_final_beta": float(np.mean(trials.details["final_beta"]))}
