"""BOIN12: utility-based phase I/II interval design (Lin, Zhou, Yan, Li, Yuan 2020, JCO Precis
Oncol 4:1393), as R ``escalation`` 0.2.3 (``get_boin12``, ``boin12_next_dose``,
``select_boin12_obd``; its tests check it against p.1396 of the paper, the Data Supplement's
Fig. S2 and the MD Anderson BOIN12 app).

Utilities (the paper's default table): efficacy without toxicity ``u1`` = 100, neither ``u2`` =
40, both ``u3`` = 60, toxicity without efficacy ``u4`` = 0.  Benchmark u_b = u_bar +
(100 - u_bar) / 2 with u_bar the utility at the threshold rates (``target`` = phi_T,
``target_eff`` = phi_E, independent).  Score of a dose: 100 Pr(U > u_b / 100), U ~ Beta(1 + x,
1 + n - x), x = sum of utilities / 100.  Admissible: among d-1, d, d+1, not Pr(p_T > phi_T) >=
``c_t`` and not Pr(p_E < phi_E) >= ``c_e`` (Beta(1, 1) priors).  At dose d with n patients and
p_T = y/n, in order: explore d+1 when n > 8, p_T < lambda_d and d+1 was never given; de-escalate
when p_T >= lambda_d; between d-1 and d when lambda_e < p_T < lambda_d and n >= ``n_star`` (6)
(higher score, ties to d-1; else the admissible one; else dose 1); stop with no dose if none is
admissible; else the admissible dose of {d-1, d, d+1} with the highest score (ties to the higher
dose).  lambda_e / lambda_d are BOIN's for phi_T.  The trial stops at ``n_stop`` patients at a
dose (12) or at the sample size.  Final OBD: unweighted PAVA of the observed DLT rates of the
treated doses, MTD = the one closest to phi_T (ties: higher), OBD = the highest score among
doses <= MTD (ties: lower).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.designs import _fast_boin12 as nb
from il2sim.designs._interval import check_int, check_prob
from il2sim.designs.base import (
    Decision,
    EfficacyToxicityDesign,
    Fit,
    Outcomes,
    check_target,
)
from il2sim.designs.boin import lambdas
from il2sim.designs.kernels import F64, Caps, Kernel, SimulatedTrials
from il2sim.errors import DesignError

__all__ = ["BOIN12", "BOIN12Fit", "BOIN12Kernel"]

#: Reason text per code of ``_fast_boin12.decide_nb``.
REASONS = ("patients at a dose (n_stop)", "dose exploration", "de-escalate",
           "d-1 or d by utility", "no admissible dose", "highest utility")  # fmt: skip


@dataclass(frozen=True)
class BOIN12(EfficacyToxicityDesign):
    """The BOIN12 design (module docstring); utilities in [0, 100] with u1 = 100, u4 = 0."""

    target: float
    n_doses: int
    target_eff: float = 0.25
    start_dose: int = 1
    cohort_size: int = 3
    u1: float = 100.0
    u2: float = 40.0
    u3: float = 60.0
    u4: float = 0.0
    n_star: int = 6
    c_t: float = 0.95
    c_e: float = 0.90
    n_stop: int = 12

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", check_target(self.target))
        object.__setattr__(self, "target_eff", check_prob("target_eff", self.target_eff))
        object.__setattr__(self, "n_doses", check_int("n_doses", self.n_doses, 1))
        object.__setattr__(
            self, "start_dose", check_int("start_dose", self.start_dose, 1, self.n_doses)
        )
        object.__setattr__(self, "cohort_size", check_int("cohort_size", self.cohort_size, 1))
        for name in ("u1", "u2", "u3", "u4"):
            v = float(getattr(self, name))
            if not (0.0 <= v <= 100.0):
                raise DesignError(f"utility must be in [0, 100], got {v!r}", field=name, value=v)
            object.__setattr__(self, name, v)
        if self.u1 != 100.0 or self.u4 != 0.0:
            raise DesignError("BOIN12 fixes u1 = 100 (E) and u4 = 0 (T)", field="u1")
        object.__setattr__(self, "n_star", check_int("n_star", self.n_star, 1))
        object.__setattr__(self, "n_stop", check_int("n_stop", self.n_stop, 1))
        object.__setattr__(self, "c_t", check_prob("c_t", self.c_t))
        object.__setattr__(self, "c_e", check_prob("c_e", self.c_e))

    @property
    def name(self) -> str:
        """``"boin12"``."""
        return "boin12"

    def benchmark(self) -> float:
        """u_b = u_bar + (100 - u_bar) / 2 (default 70.5)."""
        pt, pe = self.target, self.target_eff
        ubar = (self.u1 * pe * (1 - pt) + self.u2 * (1 - pt) * (1 - pe)
                + self.u3 * pt * pe + self.u4 * pt * (1 - pe))  # fmt: skip
        return ubar + (100.0 - ubar) / 2.0

    def kernel(self) -> BOIN12Kernel:
        """The compiled simulator (``_fast_boin12.simulate_boin12_nb``)."""
        return BOIN12Kernel(self)

    def fit(self, outcomes: Outcomes) -> BOIN12Fit:
        """Fit to outcomes so far (letters N/T/E/B)."""
        self.check_outcomes(outcomes)
        return BOIN12Fit(self, outcomes)


@dataclass(frozen=True)
class BOIN12Fit(Fit):
    """BOIN12 fitted to outcomes."""

    design: BOIN12
    outcomes: Outcomes

    def counts(self) -> dict[str, npt.NDArray[np.int64]]:
        """Per dose: n, DLTs, efficacies and the four outcome counts."""
        k = self.design.n_doses
        oc = self.outcomes
        t, e, d = oc.dlt, oc.efficacy(), oc.dose - 1

        def per(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
            return np.bincount(d[mask], minlength=k)[:k].astype(np.int64)

        return {
            "n": per(np.ones(d.size, bool)), "tox": per(t > 0), "eff": per(e > 0),
            "E": per((e > 0) & (t == 0)), "N": per((e == 0) & (t == 0)),
            "B": per((e > 0) & (t > 0)), "T": per((e == 0) & (t > 0)),
        }  # fmt: skip

    def _stats(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """Per dose: utility score and the admissibility flag (before the d-1..d+1 window)."""
        des = self.design
        c = self.counts()
        u = np.empty(des.n_doses)
        ok = np.empty(des.n_doses, dtype=bool)
        for i in range(des.n_doses):
            nb.dose_stats_nb(i, c["n"], c["tox"], c["eff"], c["E"], c["N"], c["B"], des.u2,
                             des.u3, des.benchmark(), des.target, des.target_eff, des.c_t,
                             des.c_e, u, ok)  # fmt: skip
        return u, ok

    def utility(self) -> npt.NDArray[np.float64]:
        """100 Pr(U_d > u_b / 100) per dose."""
        return self._stats()[0]

    def admissible(self, d: int) -> npt.NDArray[np.bool_]:
        """Admissible doses among d-1, d, d+1 (0-based ``d``)."""
        ok = self._stats()[1]
        window = np.zeros(ok.size, dtype=bool)
        window[max(d - 1, 0) : min(d + 2, ok.size)] = True
        return np.asarray(window & ok)

    def obd(self) -> int | None:
        """escalation's ``select_boin12_obd``: OBD among doses <= the isotonic MTD."""
        c = self.counts()
        o = int(nb.obd_nb(c["n"], c["tox"], self.utility(), self.design.target))
        return None if o < 0 else o + 1

    def decision(self) -> Decision:
        """The next dose by escalation's ``boin12_next_dose`` (module docstring), computed by
        ``_fast_boin12.decide_nb`` (the kernel's own function)."""
        des, oc = self.design, self.outcomes
        cs = des.cohort_size
        if oc.n_patients == 0:
            return Decision(des.start_dose, False, "start", mtd=None, cohort_size=cs)
        c = self.counts()
        d = int(oc.dose[-1]) - 1
        lam_e, lam_d = lambdas(des.target)
        u, ok = self._stats()
        nxt, why, obd = nb.decide_nb(d, c["n"], c["tox"], u, ok, des.target, lam_e, lam_d,
                                     des.n_star, des.n_stop)  # fmt: skip
        mtd = None if obd < 0 else int(obd) + 1
        if nxt < 0:
            return Decision(None, True, REASONS[why], mtd=mtd)
        return Decision(int(nxt) + 1, False, REASONS[why], mtd=mtd, cohort_size=cs)

    def estimates(self) -> dict[str, Any]:
        """Counts, utility scores, admissible set at the current dose and the OBD."""
        out = super().estimates()
        c = self.counts()
        d = int(self.outcomes.dose[-1]) - 1 if self.outcomes.n_patients else 0
        out.update({
            "eff": c["eff"].tolist(), "utility": self.utility().tolist(),
            "admissible": self.admissible(d).tolist(), "obd": self.obd(),
        })  # fmt: skip
        return out


@dataclass(frozen=True)
class BOIN12Kernel(Kernel):
    """Compiled BOIN12 trials (two uniforms per patient: DLT, then efficacy)."""

    design: BOIN12

    def patient_slots(self, caps: Caps) -> int:
        """Two uniforms per patient, at most ``max_cohorts`` full cohorts / ``max_patients``."""
        return 2 * min(caps.cohorts * self.design.cohort_size, caps.patients)

    def cohort_slots(self, caps: Caps) -> int:
        """Full cohorts and one cut to fit ``max_patients``."""
        n = self.patient_slots(caps) // 2
        return min(-(-n // self.design.cohort_size), caps.cohorts)

    def run(
        self, truth: F64, u: F64, caps: Caps, out: SimulatedTrials, truth_eff: F64 | None = None
    ) -> None:
        """Simulate ``u.shape[0]`` trials into ``out``."""
        des = self.design
        if truth_eff is None:
            raise DesignError("boin12 needs the true efficacy per dose", field="truth_eff")
        lam_e, lam_d = lambdas(des.target)
        assert out.eff_per_dose is not None and out.cohort_eff is not None
        assert out.cohort_both is not None
        nb.simulate_boin12_nb(
            truth, truth_eff, u, des.target, des.target_eff, des.u2, des.u3, des.benchmark(),
            lam_e, lam_d, des.n_star, des.c_t, des.c_e, des.n_stop, des.start_dose - 1,
            des.cohort_size, caps.cohorts, min(caps.patients, self.patient_slots(caps) // 2),
            out.kernel_record(), out.eff_per_dose, out.cohort_eff, out.cohort_both,
        )  # fmt: skip
