"""BF-BOIN: BOIN with backfill cohorts (Zhao, Yuan, Korn & Freidlin 2024, Clin Cancer Res
30:673), as the R package ``bfboin`` 0.1.1 (openpharma/bfboin, ``sim.one.trial``) runs it; the
backfill idea as in Dehbi, O'Quigley & Iasonos (2021, Stat Med 40:6338) and crmPack 2.1's
``Backfill`` (open doses below the current one, count backfill toxicities in every decision).

Time to event, patient by patient (the controller's time-to-event loop): escalation cohorts of
``cohort_size`` at the current dose d; once every patient of the cohort has finished the DLT
window (or had the DLT), the next arrival triggers the decision from the escalation patients
**plus the backfill patients finished by then** at doses 1..d: each dose's BOIN decision
(escalate y <= b.e[n], eliminate y >= b.elim[n], de-escalate y >= b.d[n], else stay; the
``get.boundary`` table), and when a lower dose conflicts with d, the pooled data of the doses
from the highest conflicting dose b* to d decide (escalate; de-escalate to the highest dose
k in b*..d whose cumulative pooled data stay below b.d, else b* - 1; or stay); elimination of
d and above; ``n_earlystop`` stops on a stay with that many (escalation + finished backfill)
patients at d; dose 1 eliminated stops with no MTD.  Between decisions an arrival is
**backfilled** to the highest open dose k < d: open when an escalation patient's response
(``eff``) at k has been seen (responses are assessed at the end of the window), at most
``n_cap`` (12) patients have been enrolled there (escalation + backfill, ``<=`` as the
package), and k is safe (its finished data, or those pooled with dose k+1, below b.d; every
dose above an unsafe one is closed); else the patient is turned away (``Decision.wait``).
After the last cohort's decision the trial ends; the MTD is BOIN's ``select.mtd`` on the
escalation patients plus the backfill patients finished before the last cohort's last
DLT-window end (``duration``), as the package.

Defaults as the package's example (``get.oc.bf``): window 30 days, 3 patients per window with
Uniform(0, 2 x 10 days) gaps (``accrual="uniform"``), Weibull DLT times with half the DLT
probability by mid-window (``tox_time="weibull"``).  The package's responses come only from
escalation patients; so do ours.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.designs._fast import select_mtd_nb
from il2sim.designs._interval import check_int
from il2sim.designs._isotonic import SEL_OFFSET
from il2sim.designs.base import Decision, Fit, Outcomes
from il2sim.designs.boin import BOIN, boundaries
from il2sim.designs.tite import TiteTiming
from il2sim.errors import DesignError

__all__ = ["BFBOIN", "BFBOINFit"]

IntArr = npt.NDArray[np.int64]
_ESC, _STAY, _DE, _ELIM = 1, 0, -1, -2


@dataclass(frozen=True)
class BFBOIN(BOIN):
    """BF-BOIN (module docstring): BOIN options plus timing, ``n_cap`` and
    ``backfill_assign`` (highest or lowest open dose)."""

    window_days: float = 30.0
    accrual_per_window: float = 3.0
    accrual: str = "uniform"
    tox_time: str = "weibull"
    n_cap: int = 12
    backfill_assign: str = "highest"

    def __post_init__(self) -> None:
        super().__post_init__()
        _ = self.timing
        object.__setattr__(self, "n_cap", check_int("n_cap", self.n_cap, 0))
        if self.backfill_assign not in ("highest", "lowest"):
            raise DesignError(f"must be highest or lowest, got {self.backfill_assign!r}",
                              field="backfill_assign", value=self.backfill_assign)  # fmt: skip
        if self.titration or self.bound_mtd:
            raise DesignError("not available with backfill (bfboin)", field="titration")
        if self.cohort_size < 3:
            raise DesignError("BF-BOIN needs cohorts of at least 3 (bfboin)", field="cohort_size",
                              value=self.cohort_size)  # fmt: skip

    @property
    def name(self) -> str:
        """``"bf-boin"``."""
        return "bf-boin"

    @property
    def timing(self) -> TiteTiming:
        """Window, accrual (first patient at day 0) and DLT-time distribution."""
        return TiteTiming(self.window_days, self.accrual_per_window, self.accrual,
                          self.tox_time, first_gap=False, bfboin_kinds=True)  # fmt: skip

    @property
    def time_to_event(self) -> bool:
        """True: decisions at arrivals (the controller's time-to-event loop)."""
        return True

    @property
    def backfill(self) -> bool:
        """True: the design enrols backfill patients (``Decision.backfill``)."""
        return True

    @property
    def uses_efficacy(self) -> bool:
        """True: responses open doses for backfill (the selection is still an MTD)."""
        return True

    def kernel(self) -> None:  # type: ignore[override]
        """None: simulated by the controller's time-to-event loop."""
        return None

    @functools.cached_property
    def bounds(self) -> tuple[IntArr, IntArr, IntArr]:
        """b.e, b.d, b.elim per n = 0..400 (``get.boundary``; b.elim n + 1 where none)."""
        n_max = 400
        b = boundaries(self.target, self.phi1, self.phi2, ncohort=n_max, cohortsize=1,
                       cutoff_eli=self.elimination_cutoff)  # fmt: skip
        be = np.array([0, *b.escalate], dtype=np.int64)
        bd = np.array([1, *b.deescalate], dtype=np.int64)
        bel = np.array([2, *(e if e is not None else n + 1 for n, e in zip(b.n, b.eliminate,
                                                                        strict=True))])  # fmt: skip
        return be, bd, bel.astype(np.int64)

    def fit(self, outcomes: Outcomes) -> BFBOINFit:  # type: ignore[override]
        """Fit to the outcomes observed so far (``outcomes.now_day``: the day of observation;
        None = every patient fully observed)."""
        self.check_outcomes(outcomes)
        return BFBOINFit(self, outcomes)


@dataclass(frozen=True)
class BFBOINFit(Fit):
    """BF-BOIN fitted to the outcomes observed so far (replays the escalation decisions)."""

    design: BFBOIN
    outcomes: Outcomes

    @functools.cached_property
    def _cal(self) -> npt.NDArray[np.float64]:
        """Each patient's day of DLT or window end (``inf`` while pending)."""
        des, oc = self.design, self.outcomes
        w = des.window_days
        fu = oc.followup()
        e = oc.entry_days if oc.entry_days.size else np.zeros(oc.n_patients)
        cal = np.where(oc.dlt > 0, e + np.minimum(fu, w), np.where(fu >= w, e + w, np.inf))
        return np.asarray(cal, dtype=float)

    def _now(self) -> float:
        t = self.outcomes.now_day
        return np.inf if t is None else float(t)

    def _cohorts(self) -> list[npt.NDArray[np.int64]]:
        oc = self.outcomes
        esc = np.nonzero(~oc.backfilled())[0]
        ids = list(dict.fromkeys(oc.cohort[esc].tolist()))
        return [esc[oc.cohort[esc] == c] for c in ids]

    def _rule(self, y: Any, n: Any) -> IntArr:
        be, bd, bel = self.design.bounds
        n1 = np.maximum(1, np.asarray(n, dtype=np.int64))
        y = np.asarray(y, dtype=np.int64)
        return np.where(y <= be[n1], _ESC, np.where(y >= bel[n1], _ELIM,
                        np.where(y >= bd[n1], _DE, _STAY))).astype(np.int64)  # fmt: skip

    def _evaluate(self, d: int, n_esc: IntArr, y_esc: IntArr, t: float,
                  elimi: npt.NDArray[np.bool_]) -> tuple[int | None, str]:  # fmt: skip
        """bfboin's decision at time ``t`` from dose ``d`` (0-based); None = stop; updates
        ``elimi``.  Reason strings name the branch."""
        des, oc = self.design, self.outcomes
        k = des.n_doses
        bf = oc.backfilled() & (self._cal < t)
        nb = np.bincount(oc.dose[bf] - 1, minlength=k)[:k]
        yb = np.bincount(oc.dose[bf] - 1, weights=oc.dlt[bf], minlength=k)[:k].astype(np.int64)
        yt, nt = (yb + y_esc)[: d + 1], (nb + n_esc)[: d + 1]
        dec = self._rule(yt, nt)
        be, bd, bel = des.bounds
        early = int(des.n_earlystop)

        def stay(why: str) -> tuple[int | None, str]:
            return (None, f"n_earlystop ({why})") if nt[d] >= early else (d, why)

        def up(why: str) -> tuple[int | None, str]:
            if d != k - 1 and not elimi[d + 1]:
                return d + 1, why
            return stay(why + ", cannot escalate")

        lower = dec[:d]
        if d == 0:
            if dec[0] == _ESC:
                return up("escalate")
            if dec[0] == _ELIM:
                return None, "dose 1 eliminated"
            if des.extrasafe and dec[0] == _DE:  # the package: no n_earlystop check here
                if nt[0] >= 3 and self._too_toxic1(yt[0], nt[0]):
                    return None, "extrasafe: dose 1 too toxic"
                return 0, "stay (de-escalate at dose 1)"
            return stay("stay")
        if dec[d] == _ESC and (lower == _ESC).all():
            return up("escalate")
        ok_lower = bool(np.isin(lower, (_ESC, _STAY)).all())
        if dec[d] == _STAY and ok_lower:
            return stay("stay")
        if dec[d] == _DE and ok_lower:
            return d - 1, "de-escalate"
        if dec[d] == _ELIM and ok_lower:
            elimi[d:] = True
            return d - 1, "eliminate"
        if dec[d] == _ESC:
            bstar = int(np.nonzero(lower != _ESC)[0].max())
        else:
            if dec[d] == _ELIM:
                elimi[d:] = True
            bstar = int(np.nonzero(np.isin(lower, (_DE, _ELIM)))[0].max())
        yp, np_ = int(yt[bstar:].sum()), int(nt[bstar:].sum())
        if yp <= be[np_]:
            return up("pooled: escalate")
        if yp >= bd[np_]:
            safe = np.cumsum(yt[bstar:]) < bd[np.cumsum(nt[bstar:])]
            if not safe.any():
                if bstar == 0:
                    if yt[0] >= bel[nt[0]]:
                        return None, "dose 1 eliminated (pooled)"
                    if des.extrasafe and self._too_toxic1(y_esc[0], n_esc[0]):
                        return None, "extrasafe: dose 1 too toxic"
                    return 0, "pooled: de-escalate to dose 1"
                return bstar - 1, "pooled: de-escalate"
            top = bstar + int(np.nonzero(safe)[0].max())
            if top == d:
                return stay("pooled: stay")
            return top, "pooled: de-escalate"
        return stay("pooled: stay")

    def _too_toxic1(self, y: int, n: int) -> bool:
        from il2sim.designs._isotonic import beta_sf

        des = self.design
        cut = des.elimination_cutoff - des.offset
        return bool(beta_sf(des.target, y + 1, n - y + 1) > cut)

    def _replay(self) -> tuple[int, npt.NDArray[np.bool_], tuple[int | None, str] | None]:
        """Replay the decisions after every finished cohort; the current dose (0-based), the
        eliminated doses and, if the current cohort has finished, its decision."""
        des, oc = self.design, self.outcomes
        k = des.n_doses
        elimi = np.zeros(k, dtype=bool)
        coh = self._cohorts()
        e = oc.entry_days if oc.entry_days.size else np.zeros(oc.n_patients)
        n_esc = np.zeros(k, dtype=np.int64)
        y_esc = np.zeros(k, dtype=np.int64)
        for j, idx in enumerate(coh):
            d = int(oc.dose[idx[0]]) - 1
            n_esc[d] += idx.size
            y_esc[d] += int(oc.dlt[idx].sum())
            if j + 1 < len(coh):
                self._evaluate(d, n_esc, y_esc, float(e[coh[j + 1][0]]), elimi)
                continue
            now = self._now()
            if idx.size >= des.cohort_size and self._cal[idx].max() < now:
                return d, elimi, self._evaluate(d, n_esc, y_esc, now, elimi)
            return d, elimi, None
        return des.start_dose - 1, elimi, None

    def final_mtd(self) -> int | None:
        """``select.mtd`` on escalation + backfill patients finished before the last cohort's
        last window end (bfboin's final data)."""
        des, oc = self.design, self.outcomes
        coh = self._cohorts()
        if not coh:
            return None
        end = float(self._cal[coh[-1]].max())
        use = ~oc.backfilled() | (self._cal < end)
        k = des.n_doses
        n = np.bincount(oc.dose[use] - 1, minlength=k)[:k]
        y = np.bincount(oc.dose[use] - 1, weights=oc.dlt[use], minlength=k)[:k]
        _, elim, safe1 = des.tables(max(int(n.max()), 1))
        sel = int(select_mtd_nb(n.astype(np.int64), y.astype(np.int64), des.target, elim, safe1,
                                np.inf, SEL_OFFSET))  # fmt: skip
        return None if sel < 0 else sel + 1

    def end_day(self) -> float:
        """The last escalation cohort's last DLT or window end (bfboin's duration)."""
        coh = self._cohorts()
        return float(self._cal[coh[-1]].max()) if coh else 0.0

    def _open(self, d: int, now: float) -> npt.NDArray[np.bool_]:
        """Doses 1..d-1 open to backfill at ``now`` (conditions 1-4 of ``sim.one.trial``)."""
        des, oc = self.design, self.outcomes
        k = des.n_doses
        bfl = oc.backfilled()
        cal = self._cal
        e = oc.entry_days if oc.entry_days.size else np.zeros(oc.n_patients)
        coh = self._cohorts()
        cur = np.zeros(oc.n_patients, dtype=bool)
        cur[coh[-1]] = True
        esc_done = ~bfl & ~cur

        def per(mask: npt.NDArray[np.bool_], w: Any = None) -> IntArr:
            v = np.bincount(oc.dose[mask] - 1, weights=None if w is None else w[mask],
                            minlength=k)[:k]  # fmt: skip
            return v.astype(np.int64)

        fin_bf = bfl & (cal < now)
        n_tot = per(esc_done) + per(fin_bf)
        y_tot = per(esc_done, oc.dlt) + per(fin_bf, oc.dlt)
        cur_fin = cur & (cal < now)
        n_d, y_d = int(cur_fin.sum()), int(oc.dlt[cur_fin].sum())
        resp = ~bfl & (oc.efficacy() > 0) & (e + des.window_days < now)
        seen = per(resp)[:d] > 0
        n_esc_d, y_esc_d = per(esc_done)[d], per(esc_done, oc.dlt)[d]
        n_plus = n_tot[:d] + np.append(n_tot[1:d], n_esc_d + n_d)
        y_plus = y_tot[:d] + np.append(y_tot[1:d], y_esc_d + y_d)
        _, bd, _ = des.bounds
        c2 = y_tot[:d] < bd[np.maximum(1, n_tot[:d])]
        c3 = y_plus < bd[np.maximum(1, n_plus)]
        c4 = per(bfl)[:d] + per(esc_done)[:d] <= des.n_cap
        safe = c2 | c3
        if (~safe).any():
            safe[int(np.nonzero(~safe)[0].min()) :] = False
        return np.asarray(seen & c4 & safe)

    def decision(self) -> Decision:
        """The decision at ``outcomes.now_day`` (module docstring)."""
        des, oc = self.design, self.outcomes
        cs = des.cohort_size
        if oc.n_patients == 0:
            return Decision(des.start_dose, False, "start", mtd=None, cohort_size=cs)
        d, _, ev = self._replay()
        coh = self._cohorts()
        if coh and coh[-1].size < cs:
            return Decision(d + 1, False, "complete the cohort", mtd=None,
                            cohort_size=cs - coh[-1].size)  # fmt: skip
        if ev is not None:
            nxt, why = ev
            if nxt is None:
                mtd = None if "eliminated" in why or "extrasafe" in why else self.final_mtd()
                return Decision(None, True, why, mtd=mtd)
            return Decision(nxt + 1, False, why, mtd=self.final_mtd(), cohort_size=cs)
        if d > 0:
            opn = self._open(d, self._now())
            if opn.any():
                idx = np.nonzero(opn)[0]
                b = int(idx.max() if des.backfill_assign == "highest" else idx.min())
                return Decision(b + 1, False, "backfill", mtd=None, cohort_size=1, backfill=True)
        return Decision(d + 1, False, "cohort pending, no dose open to backfill: turned away",
                        mtd=None, cohort_size=cs, wait=True)  # fmt: skip

    def estimates(self) -> dict[str, Any]:
        """Counts per dose, backfill patients per dose and the current MTD."""
        out = super().estimates()
        k = self.design.n_doses
        bf = self.outcomes.backfilled()
        out["backfill_n"] = np.bincount(self.outcomes.dose[bf] - 1, minlength=k)[:k].tolist()
        out["mtd"] = self.final_mtd()
        return out
