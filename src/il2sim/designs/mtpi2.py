"""mTPI-2: modified toxicity probability interval design 2 (Guo, Li, Yuan & Ji 2017,
Contemp Clin Trials 58:23).

With a Beta(1, 1) prior the posterior of the current dose's DLT probability is
Beta(1 + y, 1 + n - y).  The equivalence interval EI = [target - eps1, target + eps2]; the
underdosing interval (0, target - eps1) and the overdosing interval (target + eps2, 1) are cut
into sub-intervals of the same width as EI, starting from EI (the last one at 0 or 1 may be
shorter; it keeps its true width).  The sub-interval with the largest unit probability mass
(posterior mass / width) decides: below EI escalate, EI stay, above EI de-escalate (ties go to
the lower-numbered decision, i.e. the sub-interval nearer to 0).  Doses with
Pr(p > target | data) > 0.95 once n >= 3 are eliminated (the "DU" decision) with all higher
doses; the MTD is chosen by isotonic regression as in ``_isotonic``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import betainc

from il2sim.designs._interval import DEESCALATE, ESCALATE, STAY, IntervalDesign
from il2sim.designs._isotonic import elimination_min_dlt
from il2sim.errors import DesignError

__all__ = ["MTPI2", "interval_edges"]


def check_epsilons(target: float, eps1: float, eps2: float) -> tuple[float, float]:
    """Validate the equivalence-interval half-widths: positive, interval inside (0, 1)."""
    e1, e2 = float(eps1), float(eps2)
    if not (0.0 < e1 < target):
        raise DesignError(
            f"must be in (0, target={target}), got {eps1!r}", field="eps1", value=eps1
        )
    if not (0.0 < e2 < 1.0 - target):
        raise DesignError(
            f"must be in (0, 1 - target={1 - target:g}), got {eps2!r}", field="eps2", value=eps2
        )
    return e1, e2


def interval_edges(
    target: float, eps1: float, eps2: float, keep_partial: bool = True
) -> tuple[npt.NDArray[np.float64], int]:
    """Edges of the sub-intervals of (0, 1) and the index of the equivalence interval.

    With ``keep_partial`` the end pieces shorter than the width are kept (mTPI-2); without,
    they are dropped (Keyboard's equal-width keys).
    """
    w = eps1 + eps2
    lo, hi = target - eps1, target + eps2
    tol = 1e-12
    left = [lo]
    while left[-1] - w > tol:
        left.append(left[-1] - w)
    if keep_partial and left[-1] > tol:
        left.append(0.0)
    right = [hi]
    while right[-1] + w < 1.0 - tol:
        right.append(right[-1] + w)
    if keep_partial and right[-1] < 1.0 - tol:
        right.append(1.0)
    edges = np.array(sorted(left) + right, dtype=float)
    return edges, len(left) - 1


def strongest_table(
    target: float, eps1: float, eps2: float, n_max: int, keep_partial: bool, per_width: bool
) -> npt.NDArray[np.int8]:
    """Decision table from the interval of largest (unit) posterior mass, Beta(1+y, 1+n-y)."""
    edges, ei = interval_edges(target, eps1, eps2, keep_partial)
    widths = np.diff(edges)
    table = np.zeros((n_max + 1, n_max + 1), dtype=np.int8)
    for n in range(0, n_max + 1):
        ys = np.arange(n + 1)
        cdf = betainc(1.0 + ys[:, None], 1.0 + n - ys[:, None], edges[None, :])
        mass = np.diff(cdf, axis=1)
        score = mass / widths if per_width else mass
        best = np.argmax(score, axis=1)
        row = np.where(best < ei, ESCALATE, np.where(best == ei, STAY, DEESCALATE))
        table[n, : n + 1] = row
    return table


def with_elimination(table: npt.NDArray[np.int8], design: IntervalDesign) -> npt.NDArray[np.int8]:
    """Mark the elimination counts as de-escalation ("DU": de-escalate, never return)."""
    n_max = table.shape[0] - 1
    el = elimination_min_dlt(design.target, design.elimination_cutoff, n_max)
    out = table.copy()
    for n in range(n_max + 1):
        if el[n] <= n:
            out[n, el[n] :] = DEESCALATE
    return out


@dataclass(frozen=True)
class EquivalenceIntervalDesign(IntervalDesign):
    """An interval design with an equivalence interval (target key) [target - eps1,
    target + eps2]: the shared base of mTPI-2, Keyboard and i3+3."""

    eps1: float = 0.05
    eps2: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        e1, e2 = check_epsilons(self.target, self.eps1, self.eps2)
        object.__setattr__(self, "eps1", e1)
        object.__setattr__(self, "eps2", e2)


@dataclass(frozen=True)
class MTPI2(EquivalenceIntervalDesign):
    """The mTPI-2 design with equivalence interval [target - eps1, target + eps2]."""

    @property
    def name(self) -> str:
        """``"mtpi2"``."""
        return "mtpi2"

    def action_table(self, n_max: int) -> npt.NDArray[np.int8]:
        """Largest unit probability mass decides (see the module docstring)."""
        t = strongest_table(self.target, self.eps1, self.eps2, n_max, True, True)
        return with_elimination(t, self)
