"""Dose paths: every possible outcome of the next k cohorts, with the design's decisions.

As ``escalation::get_dose_paths``: from the outcomes so far, the design recommends a dose and
cohort size; each possible number of DLTs in that cohort (order within a cohort does not
matter) gives a child node, refitted, and so on for ``cohorts_ahead`` cohorts or until the
design stops.  With a true toxicity curve each node carries its exact probability, the product
of Binomial(size, truth[dose]) probabilities along the path.  For efficacy-toxicity designs
(BOIN12) each cohort's outcomes are every multiset of the letters N, E, T, B (escalation's
``1NEN 2BTE``); with ``truth`` and ``truth_eff`` (independent toxicity and efficacy) a node's
probability is the product of multinomial probabilities.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import binom

from il2sim.designs.base import Decision, Design, Outcomes, check_truth
from il2sim.errors import DesignError

__all__ = ["DosePaths", "PathNode", "dose_paths"]


def _cohort_outcomes(
    size: int, efficacy: bool
) -> list[tuple[str, list[int], list[int] | None]]:
    """Every outcome of a cohort up to order: (letters, DLTs, efficacies or None)."""
    if not efficacy:
        return [("N" * (size - x) + "T" * x, [0] * (size - x) + [1] * x, None)
                for x in range(size + 1)]  # fmt: skip
    out: list[tuple[str, list[int], list[int] | None]] = []
    for combo in itertools.combinations_with_replacement("NETB", size):
        t = [1 if c in "TB" else 0 for c in combo]
        e = [1 if c in "EB" else 0 for c in combo]
        out.append(("".join(combo), t, e))
    return out


def _cohort_prob(letters: str, pt: float, pe: float | None) -> float:
    """Probability of a cohort's outcome multiset (binomial, or multinomial with independent
    toxicity and efficacy)."""
    m = len(letters)
    if pe is None:
        x = letters.count("T")
        return float(binom.pmf(x, m, pt))
    cell = {"N": (1 - pt) * (1 - pe), "E": (1 - pt) * pe, "T": pt * (1 - pe), "B": pt * pe}
    counts = [letters.count(c) for c in "NETB"]
    coef = math.factorial(m) / math.prod(math.factorial(c) for c in counts)
    return float(coef * math.prod(cell[c] ** k for c, k in zip("NETB", counts, strict=True)))



@dataclass(frozen=True)
class PathNode:
    """One node: the cohorts added since the start (outcome string), the decision after them.

    ``probability`` is the exact probability of reaching this node under ``truth`` (None
    without a truth); ``depth`` the number of cohorts added.
    """

    path: str
    outcomes: str
    depth: int
    decision: Decision
    probability: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "path": self.path,
            "outcomes": self.outcomes,
            "depth": self.depth,
            "probability": self.probability,
            **self.decision.to_dict(),
        }


@dataclass(frozen=True)
class DosePaths:
    """All nodes of the path tree, parents before children (root first)."""

    design: str
    start: str
    cohorts_ahead: int
    nodes: tuple[PathNode, ...]
    truth: tuple[float, ...] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def leaves(self) -> tuple[PathNode, ...]:
        """Nodes at the full depth or where the design stopped."""
        return tuple(n for n in self.nodes if n.depth == self.cohorts_ahead or n.decision.stop)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "design": self.design,
            "start": self.start,
            "cohorts_ahead": self.cohorts_ahead,
            "truth": list(self.truth) if self.truth is not None else None,
            "nodes": [n.to_dict() for n in self.nodes],
        }


def _per_dose(values: Any, n_doses: int, name: str) -> npt.NDArray[np.float64] | None:
    """``values`` checked as probabilities per dose of a design with ``n_doses`` levels (None
    stays None); a wrong length raises naming ``name``."""
    if values is None:
        return None
    p = check_truth(values)
    if p.size != n_doses:
        raise DesignError(f"has {p.size} doses but the design has {n_doses}", field=name)
    return p


def _check_tree(design: Design, cohorts_ahead: int, max_nodes: int | None, n_treated: int) -> int:
    """The node cap in force; refuse a tree whose upper bound is over it.  Designs that do not
    stop on their own (the root of the rule chain needs a sample size) grow the whole tree,
    down to the depth a ``stop_at_n`` rule allows."""
    from il2sim import limits

    cap = int(limits.limit("path_nodes")) if max_nodes is None else int(max_nodes)
    s = max(int(design.cohort_size), 1)
    depth = int(cohorts_ahead)
    node: Any = design
    while getattr(node, "parent", None) is not None:
        if str(getattr(node, "rule_name", "")).startswith("stop_at_n"):
            depth = min(depth, -(-max(int(node.n) - n_treated, 0) // s))
        node = node.parent
    if not getattr(node, "requires_sample_size", False):
        return cap
    bound, level = 1, 1
    for _ in range(depth):
        level *= s + 1
        bound += level
        if bound > cap:
            break
    if bound > cap:
        raise limits.LimitError(
            f"the tree of {cohorts_ahead} cohorts of {s} has more than {cap:,} nodes (sum of "
            f"({s}+1)^k for k = 0..{cohorts_ahead}; each refits the design): use fewer "
            f"cohorts ahead, or start later with --outcomes (limit path_nodes, "
            f"{limits.LIMITS['path_nodes'].env})",
            field="cohorts_ahead",
            value=cohorts_ahead,
        )
    return cap


def dose_paths(
    design: Design,
    outcomes: Outcomes | str = "",
    cohorts_ahead: int = 2,
    truth: Any = None,
    max_nodes: int | None = None,
    truth_eff: Any = None,
) -> DosePaths:
    """Enumerate the next ``cohorts_ahead`` cohorts from ``outcomes``.

    Raises :class:`DesignError` for ``cohorts_ahead < 1`` or a tree over ``max_nodes`` nodes
    (default: the ``path_nodes`` limit of :mod:`il2sim.limits`); a design that does not stop
    on its own (CRM, interval designs) is refused before fitting when the tree's upper bound,
    sum of (cohort size + 1)^k, is over that limit.
    """
    if cohorts_ahead < 1:
        raise DesignError(f"must be >= 1, got {cohorts_ahead}", field="cohorts_ahead")
    start = Outcomes.parse(outcomes, design.n_doses) if isinstance(outcomes, str) else outcomes
    max_nodes = _check_tree(design, cohorts_ahead, max_nodes, int(start.dose.size))
    design.check_outcomes(start)
    p = _per_dose(truth, design.n_doses, "truth")
    q = _per_dose(truth_eff, design.n_doses, "truth_eff")
    eff = bool(getattr(design, "efficacy", False))
    if eff and p is not None and q is None:
        p = None  # no probabilities without the efficacy truth
    nodes: list[PathNode] = []
    root_dec = design.fit(start).decision()
    nodes.append(PathNode("", start.to_string(), 0, root_dec, 1.0 if p is not None else None))
    frontier: list[tuple[Outcomes, str, Decision, float]] = [(start, "", root_dec, 1.0)]
    for depth in range(1, cohorts_ahead + 1):
        nxt: list[tuple[Outcomes, str, Decision, float]] = []
        for out, path, dec, pr in frontier:
            if dec.stop or dec.next_dose is None:
                continue
            size = dec.cohort_size or design.cohort_size
            dose = dec.next_dose
            for letters, y, e in _cohort_outcomes(size, eff):
                child = out.add_cohort(dose, y, e)
                tok = f"{dose}{letters}"
                cpath = f"{path} {tok}".strip()
                cdec = design.fit(child).decision()
                pe = None if q is None else float(q[dose - 1])
                cpr = pr * _cohort_prob(letters, float(p[dose - 1]), pe) if p is not None else pr
                nodes.append(
                    PathNode(cpath, child.to_string(), depth, cdec, cpr if p is not None else None)
                )
                if len(nodes) > max_nodes:
                    raise DesignError(
                        f"more than {max_nodes} nodes; use fewer cohorts ahead",
                        field="cohorts_ahead",
                        value=cohorts_ahead,
                    )
                nxt.append((child, cpath, cdec, cpr))
        frontier = nxt
    return DosePaths(
        design.name,
        start.to_string(),
        int(cohorts_ahead),
        tuple(nodes),
        tuple(float(v) for v in p) if p is not None else None,
    )
