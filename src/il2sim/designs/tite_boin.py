"""TITE-BOIN: time-to-event BOIN (Yuan, Lin, Li, Nie, Warren 2018, Clin Cancer Res 24:4921), as
the CRAN package TITEgBOIN 0.4.0 (``next_TITE_QuasiBOIN`` / ``get_oc_TITE_QuasiBOIN``) runs it.

BOIN (Liu & Yuan 2015) on an effective sample size: at the current dose, with ``n`` treated
(pending included), ``c`` pending (in the window, no DLT yet), ``y`` observed DLTs and
STFT = (total follow-up of the pending patients) / window, the estimate is
``y / (n - c + STFT)``, compared with BOIN's lambda_e / lambda_d directly.  Order (TITEgBOIN):
elimination of every dose (Pr(p > target | y, n incl. pending) > ``elimination_cutoff`` with
n >= 3, bottom up, permanent); ``extrasafe`` at dose 1; if the current dose is eliminated, the
highest dose below (none: stop); ``n_earlystop`` stops on a stay; accrual is **suspended**
(``Decision.wait``) while more than ``max_pending`` x n patients at the current dose are
pending, and at dose 1 when the rule says de-escalate and anyone there is pending; else
escalate / stay / de-escalate.  The MTD is BOIN's ``select.mtd`` on complete data with
TITEgBOIN's estimate (y + 0.005) / (n + 0.01).

Not BOIN 2.7.2 (which has no TITE function); the authors' own software is a web application.
Simulation runs the controller's time-to-event loop (generic, no kernel): cohorts of
``cohort_size``, the first patient at day 0 (TITEgBOIN), later cohorts at the decision time,
decisions at the next arrival, arrivals during a suspension lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.designs._fast import select_mtd_nb
from il2sim.designs._isotonic import beta_sf, select_mtd
from il2sim.designs.base import Decision, Fit, Outcomes
from il2sim.designs.boin import BOIN
from il2sim.designs.tite import TiteTiming
from il2sim.errors import DesignError

__all__ = ["TITEBOIN", "TITEBOINFit"]

#: TITEgBOIN's pseudo-count in the MTD estimate (y + 0.005) / (n + 0.01).
PSEUDO = 0.005


@dataclass(frozen=True)
class TITEBOIN(BOIN):
    """TITE-BOIN (module docstring); BOIN options plus timing and ``max_pending`` (0.5)."""

    window_days: float = 0.0
    accrual_per_window: float = 3.0
    accrual: str = "poisson"
    tox_time: str = "uniform"
    max_pending: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        _ = self.timing
        mp = float(self.max_pending)
        if not (0.0 <= mp <= 1.0):
            raise DesignError(f"must be in [0, 1], got {self.max_pending!r}", field="max_pending")
        if self.titration or self.bound_mtd:
            raise DesignError("not available for tite-boin", field="titration")

    @property
    def name(self) -> str:
        """``"tite-boin"``."""
        return "tite-boin"

    @property
    def timing(self) -> TiteTiming:
        """Window, accrual (first patient at day 0, as TITEgBOIN) and DLT-time distribution."""
        return TiteTiming(
            self.window_days, self.accrual_per_window, self.accrual, self.tox_time, first_gap=False
        )

    @property
    def time_to_event(self) -> bool:
        """True: decisions at arrivals from partially observed outcomes."""
        return True

    def kernel(self) -> None:  # type: ignore[override]
        """None: simulated by the controller's time-to-event loop."""
        return None

    def fit(self, outcomes: Outcomes) -> TITEBOINFit:  # type: ignore[override]
        """Fit to the outcomes observed so far."""
        self.check_outcomes(outcomes)
        return TITEBOINFit(self, outcomes)


@dataclass(frozen=True)
class TITEBOINFit(Fit):
    """TITE-BOIN fitted to the outcomes observed so far."""

    design: TITEBOIN
    outcomes: Outcomes

    def counts(self) -> dict[str, npt.NDArray[Any]]:
        """Per dose: n (pending included), pending, observed DLTs, STFT."""
        des, oc = self.design, self.outcomes
        k = des.n_doses
        fu = oc.followup()
        pend = (oc.dlt == 0) & (fu < des.window_days)
        idx = oc.dose - 1
        return {
            "n": np.bincount(idx, minlength=k)[:k],
            "pending": np.bincount(idx, weights=pend, minlength=k)[:k].astype(int),
            "y": np.bincount(idx, weights=oc.dlt, minlength=k)[:k].astype(int),
            "stft": np.bincount(idx, weights=np.where(pend, fu, 0.0), minlength=k)[:k]
            / des.window_days,
        }

    def _mtd(self, n: npt.NDArray[Any], y: npt.NDArray[Any]) -> int | None:
        """BOIN select.mtd with TITEgBOIN's estimate (numba twin of ``_isotonic.select_mtd``;
        the tests check both agree)."""
        des = self.design
        _, elim, safe1 = des.tables(max(int(n.max()), 1))
        sel = int(select_mtd_nb(n.astype(np.int64), y.astype(np.int64), des.target, elim, safe1,
                                np.inf, PSEUDO))  # fmt: skip
        return None if sel < 0 else sel + 1

    def selection(self) -> Any:
        """The MTD selection with estimates (``_isotonic.select_mtd``, TITEgBOIN's pseudo-count)."""
        des = self.design
        c = self.counts()
        return select_mtd(des.target, c["n"], c["y"], des.elimination_cutoff, des.extrasafe,
                          des.offset, pseudo=PSEUDO)  # fmt: skip

    def decision(self) -> Decision:
        """TITEgBOIN ``next_TITE_QuasiBOIN``'s decision (module docstring for the order)."""
        des, oc = self.design, self.outcomes
        cs = des.cohort_size
        if oc.n_patients == 0:
            return Decision(des.start_dose, False, "start", mtd=None, cohort_size=cs)
        c = self.counts()
        n, npend, y, stft = c["n"], c["pending"], c["y"], c["stft"]
        k = des.n_doses
        mtd = self._mtd(n, y)
        pr = beta_sf(des.target, y + 1, n - y + 1)
        elim = np.zeros(k, dtype=bool)
        hit = np.nonzero((n >= 3) & (pr > des.elimination_cutoff))[0]
        if hit.size:
            elim[hit[0] :] = True
        d = int(oc.dose[-1]) - 1
        if des.extrasafe and d == 0 and n[0] >= 3:
            if pr[0] > des.elimination_cutoff - des.offset:
                return Decision(None, True, "extrasafe: dose 1 too toxic", mtd=None)
        if elim[0]:
            return Decision(None, True, "dose 1 is too toxic (eliminated)", mtd=None)
        if elim[d]:
            return Decision(int(np.nonzero(~elim)[0].max()) + 1, False, "dose eliminated",
                            mtd=mtd, cohort_size=cs)  # fmt: skip
        lam_e, lam_d = des.lambdas()
        eff = n[d] - npend[d] + stft[d]
        phat = y[d] / eff if eff > 0 else 0.0
        if npend[d] > des.max_pending * n[d]:
            return Decision(d + 1, False, "suspend accrual (too many pending)", mtd=mtd,
                            cohort_size=cs, wait=True)  # fmt: skip
        up_blocked = d == k - 1 or bool(elim[d + 1])
        if phat <= lam_e and not up_blocked:
            move, why = d + 1, "escalate"
        elif phat >= lam_d and d > 0:
            move, why = d - 1, "de-escalate"
        else:
            move, why = d, "stay"
            if phat >= lam_d and d == 0 and npend[0] > 0:
                return Decision(1, False, "suspend accrual (dose 1, pending)", mtd=mtd,
                                cohort_size=cs, wait=True)  # fmt: skip
        if n[d] >= des.n_earlystop and move == d:
            return Decision(None, True, f"{int(n[d])} patients at dose {d + 1} (n_earlystop)",
                            mtd=mtd)  # fmt: skip
        return Decision(move + 1, False, why, mtd=mtd, cohort_size=cs)

    def estimates(self) -> dict[str, Any]:
        """Counts incl. pending and STFT per dose, and the MTD on the data so far."""
        out = super().estimates()
        c = self.counts()
        out.update({key: np.asarray(v).tolist() for key, v in c.items()})
        out["mtd"] = self._mtd(c["n"], c["y"])
        return out
