"""BOIN: Bayesian optimal interval design (Liu & Yuan 2015, JRSS-C 64:507; erratum 2022, 71:491).

Escalate when the observed DLT rate at the current dose is <= lambda_e, de-escalate when it is
>= lambda_d, where (BOIN package ``get.boundary``, the corrected formulas of the erratum)

    lambda_e = log((1 - phi1)/(1 - phi)) / log(phi (1 - phi1) / (phi1 (1 - phi)))
    lambda_d = log((1 - phi)/(1 - phi2)) / log(phi2 (1 - phi) / (phi (1 - phi2)))

with phi1 = 0.6 phi and phi2 = 1.4 phi by default; in counts, escalate if y <= floor(lambda_e n)
and de-escalate if y >= ceil(lambda_d n).  Elimination, stopping and MTD selection as the BOIN
package's ``get.oc``/``select.mtd`` (see ``_interval`` and ``_isotonic``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.designs._interval import DEESCALATE, ESCALATE, IntervalDesign, check_int, check_prob
from il2sim.designs._isotonic import MTDSelection, elimination_min_dlt, select_mtd
from il2sim.designs.base import check_target
from il2sim.errors import DesignError

__all__ = ["BOIN", "BoinBoundaries", "MTDSelection", "boundaries", "lambdas", "select_mtd"]


def _phis(target: float, phi1: float | None, phi2: float | None) -> tuple[float, float]:
    t = check_target(target)
    p1 = 0.6 * t if phi1 is None else check_prob("phi1", phi1)
    p2 = 1.4 * t if phi2 is None else check_prob("phi2", phi2)
    if not p1 < t:
        raise DesignError(f"must be below the target {t}, got {p1!r}", field="phi1", value=p1)
    if not p2 > t:
        raise DesignError(f"must be above the target {t}, got {p2!r}", field="phi2", value=p2)
    return p1, p2


def _deescalate_count(lam_d: float, n: int) -> int:
    """Smallest DLT count that de-escalates at n patients: ceil(lambda_d n), or
    lambda_d n + 1 when lambda_d n is an integer within 1e-12 (BOIN get.boundary 2.7.2)."""
    x = lam_d * n
    return round(x) + 1 if abs(round(x) - x) < 1e-12 else math.ceil(x)


def lambdas(
    target: float, phi1: float | None = None, phi2: float | None = None
) -> tuple[float, float]:
    """(lambda_e, lambda_d): BOIN escalation/de-escalation boundaries on the DLT rate scale."""
    t = check_target(target)
    p1, p2 = _phis(t, phi1, phi2)
    lam_e = math.log((1 - p1) / (1 - t)) / math.log(t * (1 - p1) / (p1 * (1 - t)))
    lam_d = math.log((1 - t) / (1 - p2)) / math.log(p2 * (1 - t) / (t * (1 - p2)))
    return lam_e, lam_d


@dataclass(frozen=True)
class BoinBoundaries:
    """BOIN decision table per number of patients at the current dose (BOIN ``get.boundary``).

    ``escalate[i]``: escalate if DLTs <= this at ``n[i]`` patients; ``deescalate[i]``:
    de-escalate if DLTs >= this; ``eliminate[i]``: eliminate if DLTs >= this (None: n < 3 or
    never).  ``lambda_e``/``lambda_d`` are the rate boundaries.
    """

    target: float
    phi1: float
    phi2: float
    lambda_e: float
    lambda_d: float
    cutoff_eli: float
    cohort_size: int
    n: tuple[int, ...]
    escalate: tuple[int, ...]
    deescalate: tuple[int, ...]
    eliminate: tuple[int | None, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "design": "boin",
            "target": self.target,
            "phi1": self.phi1,
            "phi2": self.phi2,
            "lambda_e": self.lambda_e,
            "lambda_d": self.lambda_d,
            **boundary_columns(self),
        }

    def to_text(self, every_n: bool = True) -> str:
        """The table as the BOIN package prints it (``NA`` where no elimination applies).

        ``every_n=False`` shows only n at multiples of the cohort size (``boundary_tab``).
        """
        idx = [i for i, n in enumerate(self.n) if every_n or n % self.cohort_size == 0]
        lines = [
            f"Escalate dose if the observed DLT rate at the current dose <= {self.lambda_e:.4f}",
            f"Deescalate dose if the observed DLT rate at the current dose >= {self.lambda_d:.4f}",
            f"Eliminate dose if Pr(toxicity > {self.target:g} | data) > {self.cutoff_eli:g} "
            "(once 3 or more patients are treated)",
            "",
            *boundary_rows(
                [self.n[i] for i in idx],
                [self.escalate[i] for i in idx],
                [self.deescalate[i] for i in idx],
                [self.eliminate[i] for i in idx],
            ),
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def boundary_columns(table: Any) -> dict[str, Any]:
    """The part of a decision table's JSON form every interval design shares (BOIN's
    :class:`BoinBoundaries` and ``conduct.IntervalBoundaries``): elimination cutoff, cohort size
    and, per number of patients ``n``, the escalate / de-escalate / eliminate counts."""
    return {
        "cutoff_eli": table.cutoff_eli,
        "cohort_size": table.cohort_size,
        "n": list(table.n),
        "escalate": list(table.escalate),
        "deescalate": list(table.deescalate),
        "eliminate": list(table.eliminate),
    }


def boundary_rows(
    n: Sequence[int],
    escalate: Sequence[int | None],
    deescalate: Sequence[int | None],
    eliminate: Sequence[int | None],
) -> list[str]:
    """The four rows of a decision table as the BOIN package prints them (``NA`` = none)."""

    def row(label: str, vals: Sequence[int | None]) -> str:
        return f"{label:<32}" + "".join(f"{'NA' if v is None else v:>4}" for v in vals)

    return [
        row("Number of patients treated", n),
        row("Escalate if # of DLT <=", escalate),
        row("Deescalate if # of DLT >=", deescalate),
        row("Eliminate if # of DLT >=", eliminate),
    ]


def boundaries(
    target: float,
    phi1: float | None = None,
    phi2: float | None = None,
    ncohort: int = 10,
    cohortsize: int = 3,
    cutoff_eli: float = 0.95,
) -> BoinBoundaries:
    """BOIN decision boundaries for n = 1 .. ncohort * cohortsize (BOIN ``get.boundary``)."""
    t = check_target(target)
    p1, p2 = _phis(t, phi1, phi2)
    nc = check_int("ncohort", ncohort, 1)
    cs = check_int("cohortsize", cohortsize, 1)
    cut = check_prob("cutoff_eli", cutoff_eli)
    lam_e, lam_d = lambdas(t, p1, p2)
    n_max = nc * cs
    ns = np.arange(1, n_max + 1)
    esc = np.floor(lam_e * ns).astype(int)
    de = np.array([_deescalate_count(lam_d, int(n)) for n in ns], dtype=int)
    el = elimination_min_dlt(t, cut, n_max)
    de = np.minimum(de, el[1:])  # get.boundary: b.d clipped to b.elim
    return BoinBoundaries(
        target=t,
        phi1=p1,
        phi2=p2,
        lambda_e=lam_e,
        lambda_d=lam_d,
        cutoff_eli=cut,
        cohort_size=cs,
        n=tuple(int(v) for v in ns),
        escalate=tuple(int(v) for v in esc),
        deescalate=tuple(int(v) for v in de),
        eliminate=tuple(int(el[n]) if el[n] <= n else None for n in ns),
    )


@dataclass(frozen=True)
class BOIN(IntervalDesign):
    """The BOIN design; options named as the CLI's (``phi1``/``phi2`` default 0.6/1.4 x target).

    Defaults reproduce the BOIN package's ``get.oc``: elimination at 0.95, no early stop at n
    (``n_earlystop`` = 100), ``extrasafe`` off (offset 0.05), no titration, ``bound_mtd`` off
    (``boundMTD``: select only doses whose isotonic estimate is <= lambda_d, computed from
    ``phi2``).  As get.oc, the de-escalation count is clipped to the elimination count
    (``b.d = min(b.d, b.elim)``), so an eliminated dose is always left downward.
    """

    phi1: float | None = None
    phi2: float | None = None
    bound_mtd: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        p1, p2 = _phis(self.target, self.phi1, self.phi2)
        object.__setattr__(self, "phi1", p1)
        object.__setattr__(self, "phi2", p2)
        if not isinstance(self.bound_mtd, bool):
            raise DesignError(
                f"must be true or false, got {self.bound_mtd!r}",
                field="bound_mtd",
                value=self.bound_mtd,
            )

    def mtd_bound(self) -> float:
        """lambda_d when ``bound_mtd`` is on (BOIN ``select.mtd(boundMTD=TRUE)``), else inf."""
        return self.lambdas()[1] if self.bound_mtd else float("inf")

    @property
    def name(self) -> str:
        """``"boin"``."""
        return "boin"

    def lambdas(self) -> tuple[float, float]:
        """(lambda_e, lambda_d) of this design."""
        return lambdas(self.target, self.phi1, self.phi2)

    def action_table(self, n_max: int) -> npt.NDArray[np.int8]:
        """+1 if y <= floor(lambda_e n), -1 if y >= min(ceil(lambda_d n), elimination count),
        else 0 (BOIN ``get.boundary``: b.d clipped to b.elim)."""
        lam_e, lam_d = self.lambdas()
        elim = elimination_min_dlt(self.target, self.elimination_cutoff, n_max)
        table = np.zeros((n_max + 1, n_max + 1), dtype=np.int8)
        for n in range(1, n_max + 1):
            ys = np.arange(n_max + 1)
            table[n, ys >= min(_deescalate_count(lam_d, n), int(elim[n]))] = DEESCALATE
            table[n, ys <= math.floor(lam_e * n)] = ESCALATE
        return table

    def boundary_table(self, n_cohorts: int = 10) -> BoinBoundaries:
        """The printed decision table for ``n_cohorts`` cohorts of this design's size."""
        return boundaries(
            self.target, self.phi1, self.phi2, n_cohorts, self.cohort_size, self.elimination_cutoff
        )
