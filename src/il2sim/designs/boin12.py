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

from il2sim.designs._interval import check_int, check_prob
from il2sim.designs._isotonic import beta_sf, pava
from il2sim.designs.base import Decision, Design, Fit, Outcomes, check_target
from il2sim.designs.boin import lambdas
from il2sim.errors import DesignError

__all__ = ["BOIN12", "BOIN12Fit"]


@dataclass(frozen=True)
class BOIN12(Design):
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

    @property
    def efficacy(self) -> bool:
        """True: an efficacy-toxicity design (its selection is an OBD)."""
        return True

    @property
    def requires_sample_size(self) -> bool:
        """True (escalation: ``stop_at_n``)."""
        return True

    def benchmark(self) -> float:
        """u_b = u_bar + (100 - u_bar) / 2 (default 70.5)."""
        pt, pe = self.target, self.target_eff
        ubar = (self.u1 * pe * (1 - pt) + self.u2 * (1 - pt) * (1 - pe)
                + self.u3 * pt * pe + self.u4 * pt * (1 - pe))  # fmt: skip
        return ubar + (100.0 - ubar) / 2.0

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

    def utility(self) -> npt.NDArray[np.float64]:
        """100 Pr(U_d > u_b / 100) per dose."""
        des = self.design
        c = self.counts()
        x = (des.u1 * c["E"] + des.u2 * c["N"] + des.u3 * c["B"] + des.u4 * c["T"]) / 100.0
        return 100.0 * beta_sf(des.benchmark() / 100.0, 1 + x, 1 + c["n"] - x)

    def admissible(self, d: int) -> npt.NDArray[np.bool_]:
        """Admissible doses among d-1, d, d+1 (0-based ``d``)."""
        des = self.design
        c = self.counts()
        k = des.n_doses
        window = np.zeros(k, dtype=bool)
        window[max(d - 1, 0) : min(d + 2, k)] = True
        too_tox = beta_sf(des.target, 1 + c["tox"], 1 + c["n"] - c["tox"]) >= des.c_t
        futile = (1 - beta_sf(des.target_eff, 1 + c["eff"], 1 + c["n"] - c["eff"])) >= des.c_e
        return np.asarray(window & ~too_tox & ~futile)

    def obd(self) -> int | None:
        """escalation's ``select_boin12_obd``: OBD among doses <= the isotonic MTD."""
        des = self.design
        c = self.counts()
        treated = np.nonzero(c["n"] > 0)[0]
        if treated.size == 0:
            return None
        iso = pava(c["tox"][treated] / c["n"][treated])
        dist = np.abs(iso - des.target)
        mtd = int(treated[np.nonzero(dist == dist.min())[0].max()])
        u = self.utility()[: mtd + 1]
        return int(np.argmax(u)) + 1

    def decision(self) -> Decision:
        """The next dose by escalation's ``boin12_next_dose`` (module docstring)."""
        des, oc = self.design, self.outcomes
        cs = des.cohort_size
        if oc.n_patients == 0:
            return Decision(des.start_dose, False, "start", mtd=None, cohort_size=cs)
        c = self.counts()
        k = des.n_doses
        d = int(oc.dose[-1]) - 1
        n = int(c["n"][d])
        pt = c["tox"][d] / n
        lam_e, lam_d = lambdas(des.target)
        adm = self.admissible(d)
        u = self.utility()
        obd = self.obd()
        if c["n"].max() >= des.n_stop:  # escalation: stop_when_n_at_dose(n_stop, dose="any")
            return Decision(None, True, f"{int(c['n'].max())} patients at a dose", mtd=obd)
        if n > 8 and pt < lam_d and d < k - 1 and c["n"][d + 1] == 0:
            return Decision(d + 2, False, "dose exploration", mtd=obd, cohort_size=cs)
        if pt >= lam_d:
            return Decision(max(d, 1), False, "de-escalate", mtd=obd, cohort_size=cs)
        if lam_e < pt < lam_d and n >= des.n_star:
            pair = [j for j in (d - 1, d) if j >= 0]
            ok = [j for j in pair if adm[j]]
            if len(ok) == 2:
                nxt = ok[0] if u[ok[0]] >= u[ok[1]] else ok[1]
            elif ok:
                nxt = ok[0]
            else:
                nxt = 0
            return Decision(nxt + 1, False, "d-1 or d by utility", mtd=obd, cohort_size=cs)
        if not adm.any():
            return Decision(None, True, "no admissible dose", mtd=None)
        cand = np.nonzero(adm)[0]
        best = cand[u[cand] == u[cand].max()].max()
        return Decision(int(best) + 1, False, "highest utility", mtd=obd, cohort_size=cs)

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
