"""Common machinery of the interval designs (BOIN, mTPI-2, i3+3, Keyboard) — private.

Every interval design reduces to a decision table: for ``y`` DLTs among ``n`` patients at the
current dose, escalate (+1), stay (0) or de-escalate (-1); plus the elimination rule shared by
all four (Liu & Yuan 2015; Guo et al. 2017; Liu et al. 2020; Yan et al. 2017): once n >= 3,
a dose with Pr(p > target | y, n) > ``elimination_cutoff`` under a Beta(1, 1) prior is
eliminated together with every higher dose, and the trial stops with no MTD if dose 1 is.
Conduct (``fit``) and simulation (the compiled :class:`IntervalKernel`, run by the controller)
follow the BOIN package's ``get.oc`` 2.7.2 control flow (``R/get.oc.R`` lines 174-254, read
from the source, github:cran/BOIN tag 2.7.2): after each cohort, eliminate the current dose
(and those above) where its elimination boundary exists (n >= 3), stopping with no MTD at dose
1; ``extrasafe`` (nested inside that check, as the package) stops at dose 1 when
Pr(p1 > target) > cutoff - ``offset``; ``n_earlystop`` stops only when the move would be to stay;
then move by the table, never into an eliminated dose, never below 1 or above ``n_doses``.
``titration`` (accelerated titration, get.oc lines 174-191): one patient per dose from dose 1
(``start_dose`` ignored, as the package) until the first DLT or the top dose, then
``cohort_size - 1`` more there, then cohorts; off when ``cohort_size`` is 1.  The MTD is selected
as the package's ``select.mtd`` (see ``_isotonic``; BOIN's ``bound_mtd`` adds its bound).

One difference of bookkeeping, not of selection: get.oc never checks the last cohort inside its
loop (select.mtd re-derives elimination), so a dose-1 elimination in the last cohort is a "stop"
here and "no MTD at the end" there; both select no dose.
"""

from __future__ import annotations

import functools
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.designs._fast import interval_step_nb, select_mtd_nb, simulate_interval_nb
from il2sim.designs._isotonic import elimination_min_dlt, select_mtd
from il2sim.designs.base import Decision, Design, Fit, Outcomes, check_target
from il2sim.designs.kernels import F64, Caps, Kernel, SimulatedTrials
from il2sim.errors import DesignError

ESCALATE = 1
STAY = 0
DEESCALATE = -1


def check_int(name: str, value: int, lo: int, hi: int | None = None) -> int:
    """Validate an integer option in [lo, hi]."""
    if isinstance(value, bool) or int(value) != value:
        raise DesignError(f"must be an integer, got {value!r}", field=name, value=value)
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise DesignError(f"must be in {rng}, got {value!r}", field=name, value=value)
    return v


def check_prob(name: str, value: float) -> float:
    """Validate a probability option in (0, 1)."""
    v = float(value)
    if not (0.0 < v < 1.0):
        raise DesignError(f"must be in (0, 1), got {value!r}", field=name, value=value)
    return v


@dataclass(frozen=True)
class IntervalDesign(Design):
    """Base of the interval designs; subclasses provide :meth:`action_table`.

    ``target``: target DLT probability; ``n_doses``: number of dose levels; ``start_dose``:
    first level (from 1); ``cohort_size``: patients per cohort; ``elimination_cutoff``: posterior
    probability above which a dose is eliminated (0.95 as in BOIN ``get.oc``); ``extrasafe``:
    also stop when Pr(p1 > target) > cutoff - ``offset`` (BOIN); ``n_earlystop``: stop once
    this many patients are at the current dose and the move would be to stay (BOIN default
    100, i.e. not in practice); ``titration``: accelerated titration (BOIN ``get.oc``).
    """

    target: float
    n_doses: int
    start_dose: int = 1
    cohort_size: int = 3
    elimination_cutoff: float = 0.95
    extrasafe: bool = False
    offset: float = 0.05
    n_earlystop: int = 100
    titration: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", check_target(self.target))
        object.__setattr__(self, "n_doses", check_int("n_doses", self.n_doses, 1))
        object.__setattr__(
            self, "start_dose", check_int("start_dose", self.start_dose, 1, self.n_doses)
        )
        object.__setattr__(self, "cohort_size", check_int("cohort_size", self.cohort_size, 1))
        object.__setattr__(
            self,
            "elimination_cutoff",
            check_prob("elimination_cutoff", self.elimination_cutoff),
        )
        off = float(self.offset)
        if not (0.0 <= off < self.elimination_cutoff):
            raise DesignError(
                f"must be in [0, elimination_cutoff), got {self.offset!r}",
                field="offset",
                value=self.offset,
            )
        object.__setattr__(self, "offset", off)
        object.__setattr__(self, "n_earlystop", check_int("n_earlystop", self.n_earlystop, 1))
        if not isinstance(self.titration, bool):
            raise DesignError(
                f"must be true or false, got {self.titration!r}",
                field="titration",
                value=self.titration,
            )

    @property
    def titrates(self) -> bool:
        """True when accelerated titration is on (never with cohorts of 1, as get.oc)."""
        return self.titration and self.cohort_size > 1

    def mtd_bound(self) -> float:
        """Upper bound on the isotonic estimate of a selectable MTD (inf: none; BOIN's
        ``bound_mtd`` uses lambda_d)."""
        return float("inf")

    def simulation_caps(self, caps: Caps) -> Caps:
        """Caps as the controller applies them.  With titration, BOIN ``get.oc``'s sample size
        is ``ncohort * cohortsize`` patients, titration patients included, and the titration
        patients (cohorts of 1 here) do not count as cohorts: ``max_cohorts`` C becomes at most
        C x cohort size patients and C + n_doses cohorts."""
        if not self.titrates or caps.max_cohorts is None:
            return caps
        npts = caps.max_cohorts * self.cohort_size
        if caps.max_patients is not None:
            npts = min(npts, caps.max_patients)
        return Caps(caps.max_cohorts + self.n_doses, npts)

    @abstractmethod
    def action_table(self, n_max: int) -> npt.NDArray[np.int8]:
        """Decision ``[n, y]`` (+1 escalate, 0 stay, -1 de-escalate) for 0 <= y <= n <= n_max.

        Entries where ``y`` reaches the elimination count may be anything: conduct and
        simulation apply elimination first.
        """

    def tables(
        self, n_max: int
    ) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(action table, elimination DLT counts per n, extra-safe counts for dose 1 per n)."""
        return _tables(self, max(int(n_max), 1))

    def fit(self, outcomes: Outcomes) -> IntervalFit:
        """Fit to outcomes so far (see the module docstring for the rule order)."""
        self.check_outcomes(outcomes)
        return IntervalFit(self, outcomes)

    @property
    def requires_sample_size(self) -> bool:
        """True: as the BOIN package's ``get.oc``, a simulation needs a number of cohorts."""
        return True

    def kernel(self) -> IntervalKernel:
        """The compiled simulator (BOIN ``get.oc`` control flow, see the module docstring)."""
        return IntervalKernel(self)

    def boundaries(self, n_max: int) -> dict[str, Any]:
        """Per n = 1..n_max: largest DLT count to escalate, smallest to de-escalate/eliminate.

        None where no count escalates (or de-escalates / eliminates).
        """
        table, elim, _ = self.tables(n_max)
        esc: list[int | None] = []
        de: list[int | None] = []
        el: list[int | None] = []
        for n in range(1, n_max + 1):
            row = table[n, : n + 1]
            e = np.nonzero(row == ESCALATE)[0]
            d = np.nonzero(row == DEESCALATE)[0]
            esc.append(int(e.max()) if e.size else None)
            de.append(int(d.min()) if d.size else None)
            el.append(int(elim[n]) if elim[n] <= n else None)
        return {
            "n": list(range(1, n_max + 1)),
            "escalate_max_dlt": esc,
            "deescalate_min_dlt": de,
            "eliminate_min_dlt": el,
        }


@functools.lru_cache(maxsize=64)
def _tables(
    design: IntervalDesign, n_max: int
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    table = np.ascontiguousarray(design.action_table(n_max), dtype=np.int8)
    elim = elimination_min_dlt(design.target, design.elimination_cutoff, n_max)
    if design.extrasafe:
        safe1 = elimination_min_dlt(design.target, design.elimination_cutoff - design.offset, n_max)
    else:
        safe1 = np.full(n_max + 1, n_max + 1, dtype=np.int64)
    for arr in (table, elim, safe1):
        arr.setflags(write=False)
    return table, elim, safe1


@dataclass(frozen=True)
class IntervalFit(Fit):
    """An interval design fitted to outcomes."""

    design: IntervalDesign
    outcomes: Outcomes

    def _counts(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        k = self.design.n_doses
        return self.outcomes.n_per_dose(k), self.outcomes.dlt_per_dose(k)

    def decision(self) -> Decision:
        """Next dose (or stop) after these outcomes, with the MTD if the trial stopped now."""
        des = self.design
        n, y = self._counts()
        cs = des.cohort_size
        if self.outcomes.n_patients == 0:
            if des.titrates:
                return Decision(1, False, "start (titration)", mtd=None, cohort_size=1)
            return Decision(des.start_dose, False, "start", mtd=None, cohort_size=cs)
        table, elim, safe1 = des.tables(int(n.max()))
        sel = int(select_mtd_nb(n, y, des.target, elim, safe1, des.mtd_bound()))
        mtd = None if sel < 0 else sel + 1
        if des.titrates:
            tit = _titration(self.outcomes, des.n_doses)
            if tit is not None:
                level, more = tit
                if more:
                    return Decision(level + 1, False, "titration", mtd=mtd, cohort_size=1)
                return Decision(level, False, "titration ends", mtd=mtd, cohort_size=cs - 1)
        d = int(self.outcomes.last_dose or 1) - 1
        code, nxt = interval_step_nb(n, y, d, table, elim, safe1, des.n_earlystop)
        if code == 1:
            why = "dose 1 is too toxic (eliminated)" if y[0] >= elim[n[0]] else "extrasafe"
            return Decision(None, True, why, mtd=None)
        if code == 2:
            return Decision(
                None, True, f"{int(n[d])} patients at dose {d + 1} (n_earlystop)", mtd=mtd
            )
        if nxt > d:
            return Decision(nxt + 1, False, "escalate", mtd=mtd, cohort_size=cs)
        if nxt < d:
            return Decision(nxt + 1, False, "de-escalate", mtd=mtd, cohort_size=cs)
        act = int(table[n[d], y[d]])
        why = "stay (next dose eliminated)" if act == ESCALATE and d != des.n_doses - 1 else "stay"
        return Decision(d + 1, False, why, mtd=mtd, cohort_size=cs)

    def estimates(self) -> dict[str, Any]:
        """Counts per dose plus the isotonic estimates, Pr(overdose) and elimination flags."""
        des = self.design
        out = super().estimates()
        n, y = self._counts()
        b = des.mtd_bound()
        s = select_mtd(
            des.target, n, y, des.elimination_cutoff, des.extrasafe, des.offset,
            bound=None if b == float("inf") else b,
        )  # fmt: skip
        out.update(
            {
                "isotonic_estimate": list(s.estimate),
                "pr_overdose": list(s.pr_overdose),
                "eliminated": list(s.eliminated),
                "mtd": s.mtd,
            }
        )
        return out


@dataclass(frozen=True)
class IntervalKernel(Kernel):
    """Compiled trials of an interval design (``_fast.simulate_interval_nb``)."""

    design: IntervalDesign

    def patient_slots(self, caps: Caps) -> int:
        """At most ``max_cohorts`` full cohorts, and at most ``max_patients``."""
        return min(caps.cohorts * self.design.cohort_size, caps.patients)

    def cohort_slots(self, caps: Caps) -> int:
        """Full cohorts and one cut to fit ``max_patients`` (titration: cohorts of 1 first)."""
        extra = self.design.n_doses if self.design.titrates else 0
        return min(-(-self.patient_slots(caps) // self.design.cohort_size) + extra, caps.cohorts)

    def run(self, truth: F64, u: F64, caps: Caps, out: SimulatedTrials) -> None:
        """Simulate ``u.shape[0]`` trials into ``out``."""
        des = self.design
        table, elim, safe1 = des.tables(self.patient_slots(caps))
        simulate_interval_nb(
            truth, u, table, elim, safe1, des.start_dose - 1, des.cohort_size, caps.cohorts,
            caps.patients, des.n_earlystop, des.target, des.titrates, des.mtd_bound(),
            out.kernel_record(),
        )  # fmt: skip


def _titration(outcomes: Outcomes, n_doses: int) -> tuple[int, bool] | None:
    """(current level, continue titrating) while still in accelerated titration, else None.

    In titration when every cohort so far is one patient, cohort j at level j, with no DLT
    before the last one; it continues (next level, one patient) while the last had no DLT and
    is below the top, else ends with the fill-up of the current level (BOIN get.oc 174-191).
    """
    coh = outcomes.cohort
    m = int(np.unique(coh).size)
    if outcomes.n_patients != m or m > n_doses:
        return None
    if not np.array_equal(outcomes.dose, np.arange(1, m + 1)):
        return None
    if outcomes.dlt[:-1].any():
        return None
    more = not bool(outcomes.dlt[-1]) and m < n_doses
    return m, more
