"""A randomised dose-optimisation stage after escalation (FDA guidance "Optimizing the Dosage of
Human Prescription Drugs and Biological Products for the Treatment of Oncologic Diseases", Aug
2024: a randomised comparison of more than one dosage; designs as Yang et al. 2024, "RDO"/
"MERIT", and Lin, Zhou, Yuan et al.'s BOIN12 with a randomised expansion).

:class:`RandomisedStage` wraps any escalation design.  Stage 1 is the parent's escalation: it
ends when the parent stops or ``stage1_patients`` have been treated.  Its selection d* (the
parent's MTD/OBD) and the ``arms - 1`` doses below it that stage 1 treated are the candidates;
``stage2_patients`` are then allocated among them by ``ratio`` (lowest dose first; the
randomisation is realised as fixed allocation counts, which is what matters for operating
characteristics; conduct prints the allocation).  The final selection uses **all** patients at
the candidates: doses with Pr(p_T > target | Beta(1 + y, 1 + n - y)) >= ``c_t`` (0.95) are
excluded, then

* ``rule="utility"``: the highest mean utility per patient with the BOIN12 table (efficacy
  without toxicity ``u1`` 100, neither ``u2`` 40, both ``u3`` 60, toxicity only 0; Lin et al.
  2020), ties to the lower dose;
* ``rule="lower"``: the lowest admissible candidate unless the next higher one's response rate
  is higher by at least ``margin`` (then compare upwards again).

No candidate admissible: no dose selected.  The stage's operating characteristics are the one
OC schema (``selection_pct`` = the final choice; ``obd_selection_pct`` for efficacy designs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from il2sim.designs._fast_boin12 import beta_sf_nb
from il2sim.designs.base import Decision, Design, Fit, Outcomes
from il2sim.designs.rules import Rule
from il2sim.errors import DesignError

__all__ = ["RandomisedStage", "randomised_stage"]


@dataclass(frozen=True)
class RandomisedStage(Rule):
    """The randomised stage (module docstring) around ``parent``."""

    parent: Design
    stage1_patients: int
    stage2_patients: int
    arms: int = 2
    ratio: tuple[float, ...] = ()
    rule: str = "utility"
    margin: float = 0.1
    u2: float = 40.0
    u3: float = 60.0
    c_t: float = 0.95

    def __post_init__(self) -> None:
        for name in ("stage1_patients", "stage2_patients", "arms"):
            v = getattr(self, name)
            if isinstance(v, bool) or int(v) != v or int(v) < 1:
                raise DesignError(f"must be an integer >= 1, got {v!r}", field=name, value=v)
        if self.arms > 3:
            raise DesignError(f"two or three arms, got {self.arms}", field="arms", value=self.arms)
        r = tuple(float(x) for x in self.ratio) or (1.0,) * int(self.arms)
        if len(r) != self.arms or min(r) <= 0 or not all(np.isfinite(r)):
            raise DesignError(f"needs {self.arms} positive weights, got {list(r)}", field="ratio")
        object.__setattr__(self, "ratio", r)
        if self.rule not in ("utility", "lower"):
            raise DesignError(f"must be utility or lower, got {self.rule!r}", field="rule",
                              value=self.rule)  # fmt: skip
        m = float(self.margin)
        if not (np.isfinite(m) and 0.0 <= m < 1.0):
            raise DesignError(f"must be in [0, 1), got {self.margin!r}", field="margin", value=m)
        for name in ("u2", "u3"):
            v = float(getattr(self, name))
            if not (0.0 <= v <= 100.0):
                raise DesignError(f"utility must be in [0, 100], got {v!r}", field=name, value=v)

    @property
    def rule_name(self) -> str:
        return f"randomised_stage[{self.stage1_patients}+{self.stage2_patients}, {self.arms} arms]"

    @property
    def requires_sample_size(self) -> bool:
        """False: the two stage sizes are the sample size."""
        return False

    def kernel(self) -> None:
        """None: the controller's generic loop (one step per arm allocation)."""
        return None

    def fit(self, outcomes: Outcomes) -> Fit:
        """Fit (the stage boundary is found by replaying the parent cohort by cohort)."""
        self.check_outcomes(outcomes)
        return RandomisedFit(self, self.parent.fit(outcomes), outcomes)

    def stage1(self, outcomes: Outcomes) -> tuple[int, Decision]:
        """Patients in stage 1 and the parent's decision at its end (the first cohort prefix
        where the parent stops or ``stage1_patients`` are reached; all so far if neither)."""
        n = 0
        ids = list(dict.fromkeys(outcomes.cohort.tolist()))
        dec = self.parent.fit(Outcomes()).decision()
        for c in ids:
            n += int((outcomes.cohort == c).sum())
            pre = _prefix(outcomes, n)
            dec = self.parent.fit(pre).decision()
            if dec.stop or n >= self.stage1_patients:
                return n, dec
        return n, dec

    def candidates(self, outcomes: Outcomes, n1: int, dec: Decision) -> tuple[int, ...]:
        """The selection d* and the ``arms - 1`` treated doses below it (ascending)."""
        sel = dec.mtd if dec.stop else (dec.mtd if dec.mtd is not None else dec.next_dose)
        if sel is None:
            return ()
        treated = set(_prefix(outcomes, n1).dose.tolist())
        below = [d for d in range(sel - 1, 0, -1) if d in treated][: self.arms - 1]
        return tuple(sorted([sel, *below]))

    def allocation(self, k: int) -> tuple[int, ...]:
        """Patients per candidate for ``k`` candidates (largest remainders, lowest first)."""
        r = np.asarray(self.ratio[:k], dtype=float)
        raw = self.stage2_patients * r / r.sum()
        out = np.floor(raw).astype(int)
        for i in np.argsort(-(raw - out), kind="stable")[: self.stage2_patients - out.sum()]:
            out[i] += 1
        return tuple(int(v) for v in out)

    def select(self, outcomes: Outcomes, cands: tuple[int, ...]) -> int | None:
        """The final choice among ``cands`` from all their patients (module docstring)."""
        target = float(getattr(self.parent, "target", 0.3) or 0.3)
        ok = []
        stats = {}
        for d in cands:
            at = outcomes.dose == d
            n = int(at.sum())
            y = int(outcomes.dlt[at].sum())
            e = outcomes.efficacy()[at]
            t = outcomes.dlt[at]
            if n == 0 or beta_sf_nb(target, 1.0 + y, 1.0 + n - y) >= self.c_t:
                continue
            util = (100.0 * ((e > 0) & (t == 0)).sum() + self.u2 * ((e == 0) & (t == 0)).sum()
                    + self.u3 * ((e > 0) & (t > 0)).sum()) / n  # fmt: skip
            stats[d] = (util, float(e.mean()))
            ok.append(d)
        if not ok:
            return None
        if self.rule == "utility":
            return max(ok, key=lambda d: (stats[d][0], -d))
        cur = ok[0]
        for d in ok[1:]:
            if stats[d][1] - stats[cur][1] >= self.margin:
                cur = d
        return cur


def _prefix(outcomes: Outcomes, n: int) -> Outcomes:
    o = outcomes
    return Outcomes(o.dose[:n], o.dlt[:n], o.cohort[:n], eff=o.eff[:n] if o.eff.size else o.eff)


class RandomisedFit(Fit):
    """The randomised stage fitted to outcomes."""

    def __init__(self, design: RandomisedStage, parent_fit: Fit, outcomes: Outcomes) -> None:
        self.design = design
        self.stage = design
        self.parent_fit = parent_fit
        self.outcomes = outcomes

    def decision(self) -> Decision:
        """Stage 1: the parent's decision; then the allocation; then the final selection."""
        des, oc = self.stage, self.outcomes
        n1, dec1 = des.stage1(oc)
        if not (dec1.stop or n1 >= des.stage1_patients):
            return dec1
        cands = des.candidates(oc, n1, dec1)
        if not cands:
            return Decision(None, True, f"stage 1: {dec1.reason}; no dose to randomise", mtd=None)
        if oc.n_patients < n1 + des.stage2_patients:
            done = [int((oc.dose[n1:] == d).sum()) for d in cands]
            sizes = tuple(max(m - k, 0) for m, k in zip(des.allocation(len(cands)), done,
                                                        strict=True))  # fmt: skip
            arms = tuple(d for d, m in zip(cands, sizes, strict=True) if m > 0)
            sizes = tuple(m for m in sizes if m > 0)
            if not arms:  # stage 2 enrolled elsewhere than allocated: select now
                return Decision(None, True, "randomised stage complete", mtd=des.select(oc, cands))
            return Decision(arms[0], False, f"randomise {sum(sizes)} patients to doses "
                            f"{', '.join(map(str, arms))} ({':'.join(map(str, sizes))})",
                            mtd=cands[-1], cohort_size=sizes[0], arms=arms,
                            arm_sizes=sizes)  # fmt: skip
        return Decision(None, True, f"randomised stage ({des.rule}) complete",
                        mtd=des.select(oc, cands))  # fmt: skip

    def estimates(self) -> dict[str, Any]:
        """The parent's estimates plus the stage boundary and candidates."""
        out = dict(self.parent_fit.estimates())
        n1, dec1 = self.stage.stage1(self.outcomes)
        out["stage1_patients"] = n1
        if dec1.stop or n1 >= self.stage.stage1_patients:
            out["candidates"] = list(self.stage.candidates(self.outcomes, n1, dec1))
        return out


def randomised_stage(parent: Design, stage1_patients: int, stage2_patients: int,
                     **options: Any) -> RandomisedStage:  # fmt: skip
    """Wrap ``parent`` in a :class:`RandomisedStage`."""
    return RandomisedStage(parent, stage1_patients, stage2_patients, **options)
