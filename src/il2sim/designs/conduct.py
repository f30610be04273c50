"""Conduct: one decision from the outcomes so far, and the printed decision tables.

:func:`next_decision` is what a trial statistician runs after each cohort of a live trial
(``il2sim design next``); :func:`decision_boundaries` the protocol's decision table of an
interval design (``il2sim design boundaries``): BOIN as the BOIN package's ``get.boundary``,
mTPI-2, i3+3 and Keyboard from their decision tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from il2sim.designs._interval import IntervalDesign, check_int
from il2sim.designs.base import Decision, Design, Outcomes
from il2sim.designs.rules import Rule
from il2sim.errors import DesignError

__all__ = ["IntervalBoundaries", "NextDecision", "decision_boundaries", "next_decision"]


@dataclass(frozen=True)
class NextDecision:
    """The design's decision after ``outcomes``, with its current estimates."""

    design: str
    outcomes: Outcomes
    decision: Decision
    estimates: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``docs/json.md``, ``il2sim design next``)."""
        return {
            "design": self.design,
            "outcomes": self.outcomes.to_string(),
            "n_patients": self.outcomes.n_patients,
            **self.decision.to_dict(),
            "estimates": self.estimates,
        }


def next_decision(design: Design, outcomes: Outcomes | str = "") -> NextDecision:
    """Fit ``design`` to ``outcomes`` (an :class:`Outcomes` or an outcome string such as
    ``"1NNN 2NTN"``) and return its decision and estimates."""
    outs = Outcomes.parse(outcomes, design.n_doses) if isinstance(outcomes, str) else outcomes
    fit = design.fit(outs)
    return NextDecision(design.name, outs, fit.decision(), fit.estimates())


@dataclass(frozen=True)
class IntervalBoundaries:
    """Decision table of an interval design per number ``n`` of patients at the current dose:
    escalate if DLTs <= ``escalate``, de-escalate if >= ``deescalate``, eliminate if >=
    ``eliminate`` (None where no count does)."""

    design: str
    target: float
    cutoff_eli: float
    cohort_size: int
    n: tuple[int, ...]
    escalate: tuple[int | None, ...]
    deescalate: tuple[int | None, ...]
    eliminate: tuple[int | None, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        from il2sim.designs.boin import boundary_columns

        return {"design": self.design, "target": self.target, **boundary_columns(self)}

    def to_text(self) -> str:
        """The table with ``NA`` where no count applies (the BOIN package's layout)."""
        from il2sim.designs.boin import boundary_rows

        head = f"{self.design}: target {self.target:g}, elimination cutoff {self.cutoff_eli:g}"
        rows = boundary_rows(self.n, self.escalate, self.deescalate, self.eliminate)
        return "\n".join([head, "", *rows])


def decision_boundaries(design: Design, n_cohorts: int = 10) -> Any:
    """Decision table for ``n_cohorts`` cohorts of the design's size (n = 1 .. n_cohorts x
    cohort size): BOIN's :class:`~il2sim.designs.boin.BoinBoundaries`, else
    :class:`IntervalBoundaries`.  Designs without a table (A+B, CRM, rules) raise."""
    nc = check_int("cohorts", n_cohorts, 1)
    base = design
    if isinstance(base, Rule) or not isinstance(base, IntervalDesign):
        raise DesignError(
            "decision boundaries are defined for the interval designs (boin, mtpi2, i3+3, "
            f"keyboard) without rules, got {design.name!r}",
            field="design",
            value=design.name,
        )
    from il2sim.designs.boin import BOIN

    if isinstance(base, BOIN):
        return base.boundary_table(nc)
    b = base.boundaries(nc * base.cohort_size)
    return IntervalBoundaries(
        design=base.name,
        target=base.target,
        cutoff_eli=base.elimination_cutoff,
        cohort_size=base.cohort_size,
        n=tuple(b["n"]),
        escalate=tuple(b["escalate_max_dlt"]),
        deescalate=tuple(b["deescalate_min_dlt"]),
        eliminate=tuple(b["eliminate_min_dlt"]),
    )
