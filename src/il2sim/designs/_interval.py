"""Common machinery of the interval designs (BOIN, mTPI-2, i3+3, Keyboard) — private.

Every interval design reduces to a decision table: for ``y`` DLTs among ``n`` patients at the
current dose, escalate (+1), stay (0) or de-escalate (-1); plus the elimination rule shared by
all four (Liu & Yuan 2015; Guo et al. 2017; Liu et al. 2020; Yan et al. 2017): once n >= 3,
a dose with Pr(p > target | y, n) > ``elimination_cutoff`` under a Beta(1, 1) prior is
eliminated together with every higher dose, and the trial stops with no MTD if dose 1 is.
Conduct (``fit``) and simulation (``simulate_oc``) follow the BOIN package's ``get.oc`` control
flow: after each cohort, stop if ``n_earlystop`` patients are at the current dose; apply
elimination; then move by the table, never into an eliminated dose, never below 1 or above
``n_doses``.  The MTD is selected as the BOIN package's ``select.mtd`` (see ``_isotonic``).
"""

from __future__ import annotations

import functools
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.designs._fast import (
    STOP_CAP,
    STOP_N,
    STOP_TOXICITY,
    eliminated_from_nb,
    select_mtd_nb,
    simulate_interval_nb,
)
from il2sim.designs._isotonic import elimination_min_dlt, select_mtd
from il2sim.designs.base import (
    Decision,
    Design,
    Fit,
    OperatingCharacteristics,
    Outcomes,
    check_target,
    check_truth,
    run_chunked,
)
from il2sim.errors import DesignError

ESCALATE = 1
STAY = 0
DEESCALATE = -1

_CHUNK_TRIALS = 50_000


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
    this many patients are at the current dose (BOIN default 100, i.e. not in practice).
    """

    target: float
    n_doses: int
    start_dose: int = 1
    cohort_size: int = 3
    elimination_cutoff: float = 0.95
    extrasafe: bool = False
    offset: float = 0.05
    n_earlystop: int = 100

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
            return Decision(des.start_dose, False, "start", mtd=None, cohort_size=cs)
        table, elim, safe1 = des.tables(int(n.max()))
        sel = int(select_mtd_nb(n, y, des.target, elim, safe1))
        mtd = None if sel < 0 else sel + 1
        d = int(self.outcomes.last_dose or 1) - 1
        if n[d] >= des.n_earlystop:
            return Decision(
                None, True, f"{int(n[d])} patients at dose {d + 1} (n_earlystop)", mtd=mtd
            )
        first_elim = int(eliminated_from_nb(n, y, elim, safe1))
        if first_elim == 0:
            return Decision(None, True, "dose 1 is too toxic (eliminated)", mtd=None)
        act = int(table[n[d], y[d]])
        k = des.n_doses
        if act == ESCALATE and d != k - 1:
            if d + 1 < first_elim:
                return Decision(d + 2, False, "escalate", mtd=mtd, cohort_size=cs)
            return Decision(d + 1, False, "stay (next dose eliminated)", mtd=mtd, cohort_size=cs)
        if act == DEESCALATE and d != 0:
            return Decision(d, False, "de-escalate", mtd=mtd, cohort_size=cs)
        return Decision(d + 1, False, "stay", mtd=mtd, cohort_size=cs)

    def estimates(self) -> dict[str, Any]:
        """Counts per dose plus the isotonic estimates, Pr(overdose) and elimination flags."""
        des = self.design
        out = super().estimates()
        n, y = self._counts()
        s = select_mtd(des.target, n, y, des.elimination_cutoff, des.extrasafe, des.offset)
        out.update(
            {
                "isotonic_estimate": list(s.estimate),
                "pr_overdose": list(s.pr_overdose),
                "eliminated": list(s.eliminated),
                "mtd": s.mtd,
            }
        )
        return out


def resolve_cohorts(cohort_size: int, max_patients: int | None, max_cohorts: int | None) -> int:
    """Number of cohorts to simulate from ``max_cohorts`` and/or ``max_patients``."""
    if max_patients is None and max_cohorts is None:
        raise DesignError("give max_cohorts or max_patients for a simulation", field="max_cohorts")
    caps: list[int] = []
    if max_cohorts is not None:
        caps.append(check_int("max_cohorts", max_cohorts, 1))
    if max_patients is not None:
        mp = check_int("max_patients", max_patients, cohort_size)
        caps.append(mp // cohort_size)
    return min(caps)


def check_truth_for(
    truth: Sequence[float] | npt.NDArray[np.float64], n_doses: int
) -> npt.NDArray[np.float64]:
    """Validate a true toxicity curve with one value per dose."""
    p = check_truth(truth)
    if p.size != n_doses:
        raise DesignError(
            f"needs one probability per dose ({n_doses}), got {p.size}", field="truth"
        )
    return p


def build_oc(
    name: str,
    truth: npt.NDArray[np.float64],
    target: float,
    sel: npt.NDArray[np.int64],
    npd: npt.NDArray[np.int64],
    ypd: npt.NDArray[np.int64],
    code: npt.NDArray[np.int64],
    seed: int | None,
    extras: dict[str, Any],
) -> OperatingCharacteristics:
    """Summarise simulated trials into :class:`OperatingCharacteristics`.

    ``overdosed_pct`` = 100 * (patients at doses with truth > target) / (all patients), pooled
    over trials; ``stopped_early_pct`` = % of trials the design stopped before the cap.
    """
    n_trials = int(sel.size)
    k = truth.size
    counts = np.bincount(sel[sel >= 0], minlength=k)[:k]
    sel_pct = 100.0 * counts / n_trials
    none_pct = 100.0 * float(np.mean(sel < 0))
    ppd = npd.mean(axis=0)
    dpd = ypd.mean(axis=0)
    total = float(npd.sum())
    over = truth > target
    overdosed = 100.0 * float(npd[:, over].sum()) / total if total > 0 else 0.0
    p = sel_pct / 100.0
    ex = {
        "selection_pct_se": [float(v) for v in 100.0 * np.sqrt(p * (1 - p) / n_trials)],
        "stopped_for_toxicity_pct": 100.0 * float(np.mean(code == STOP_TOXICITY)),
        "stopped_at_n_earlystop_pct": 100.0 * float(np.mean(code == STOP_N)),
    }
    ex.update(extras)
    return OperatingCharacteristics(
        design=name,
        truth=tuple(float(v) for v in truth),
        selection_pct=tuple(float(v) for v in sel_pct),
        none_selected_pct=none_pct,
        patients_per_dose=tuple(float(v) for v in ppd),
        dlts_per_dose=tuple(float(v) for v in dpd),
        mean_patients=float(npd.sum(axis=1).mean()),
        mean_dlts=float(ypd.sum(axis=1).mean()),
        stopped_early_pct=100.0 * float(np.mean(code != STOP_CAP)),
        overdosed_pct=overdosed,
        method="simulation",
        n_trials=n_trials,
        seed=seed,
        target=float(target),
        extras=ex,
    )


def simulate_raw(
    design: IntervalDesign,
    truth: Sequence[float] | npt.NDArray[np.float64],
    n_trials: int,
    seed: int | np.random.SeedSequence | None,
    max_patients: int | None = None,
    max_cohorts: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[npt.NDArray[np.int64], ...]:
    """Raw simulated trials: (selected index, n per dose, DLTs per dose, stop code,
    dose index per cohort (-1 = none), DLTs per cohort), 0-based indices.

    ``progress`` (optional) is called with the number of trials finished after each chunk.
    """
    p = check_truth_for(truth, design.n_doses)
    n_trials = check_int("n_trials", n_trials, 1)
    cs = design.cohort_size
    n_coh = resolve_cohorts(cs, max_patients, max_cohorts)
    table, elim, safe1 = design.tables(n_coh * cs)
    def kernel(u: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int64], ...]:
        return simulate_interval_nb(
            p,
            u,
            table,
            elim,
            safe1,
            design.start_dose - 1,
            cs,
            n_coh,
            design.n_earlystop,
            design.target,
        )

    return run_chunked(n_trials, _CHUNK_TRIALS, seed, n_coh * cs, kernel, progress)


def simulate_oc(
    design: IntervalDesign,
    truth: Sequence[float] | npt.NDArray[np.float64],
    n_trials: int,
    seed: int | None,
    max_patients: int | None = None,
    max_cohorts: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> OperatingCharacteristics:
    """Operating characteristics of an interval design by simulation (numba, seeded).

    Trials run ``max_cohorts`` cohorts (or ``max_patients // cohort_size``) unless the design
    stops; per-trial semantics are identical to :meth:`IntervalDesign.fit`.
    """
    p = check_truth_for(truth, design.n_doses)
    sel, npd, ypd, code, _, _ = simulate_raw(
        design, p, n_trials, seed, max_patients, max_cohorts, progress
    )
    n_coh = resolve_cohorts(design.cohort_size, max_patients, max_cohorts)
    return build_oc(
        design.name,
        p,
        design.target,
        sel,
        npd,
        ypd,
        code,
        seed,
        {"n_cohorts": n_coh, "cohort_size": design.cohort_size},
    )
