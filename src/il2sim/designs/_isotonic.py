"""Shared helpers of the interval designs: isotonic regression, Beta tails, MTD selection.

MTD selection follows the BOIN package's ``select.mtd`` (Yuan & Liu, R package BOIN; Liu &
Yuan 2015, JRSS-C 64:507), which the mTPI-2, i3+3 and Keyboard reference implementations
share: among treated, non-eliminated doses, estimate each rate as (y + 0.05)/(n + 0.1), smooth
by pool-adjacent-violators with weights the inverse Beta(y + 0.05, n - y + 0.05) variance, add
1e-10 x (rank) to break ties and take the dose closest to the target.

Pool-adjacent violators come from ``scipy.optimize.isotonic_regression`` and Beta tails from
``scipy.stats.beta.sf``.  The compiled kernels and ``fit()`` use the numba twin
``_fast.select_mtd_nb`` (scipy cannot be called inside numba); the tests check that both give
the same MTD on random histories.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import isotonic_regression
from scipy.stats import beta as beta_dist

from il2sim.designs._fast import first_eliminated_nb

# Pseudo-count of select.mtd (BOIN package source, hard-coded 0.05).
SEL_OFFSET = 0.05


def pava(x: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> npt.NDArray[np.float64]:
    """Weighted isotonic (non-decreasing) least-squares fit of ``x`` (pool-adjacent-violators)."""
    xa = np.asarray(x, dtype=float).ravel()
    if xa.size == 0:
        return xa.copy()
    w = None if weights is None else np.asarray(weights, dtype=float).ravel()
    return np.asarray(isotonic_regression(xa, weights=w).x, dtype=float)


def beta_sf(x: float, a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Pr(p > x) for p ~ Beta(a, b) (R's ``1 - pbeta(x, a, b)``)."""
    return np.asarray(beta_dist.sf(x, np.asarray(a, float), np.asarray(b, float)), dtype=float)


def elimination_min_dlt(
    target: float, cutoff: float, n_max: int, min_n: int = 3
) -> npt.NDArray[np.int64]:
    """Smallest DLT count y with Pr(p > target | y of n, Beta(1,1) prior) > cutoff, per n.

    Index ``n`` = patients at the dose, 0..n_max; entries are ``n_max + 1`` (never) for
    ``n < min_n`` or when no count qualifies (BOIN ``get.boundary``: only once n >= 3).
    """
    out = np.full(n_max + 1, n_max + 1, dtype=np.int64)
    for n in range(max(min_n, 1), n_max + 1):
        ys = np.arange(n + 1)
        ok = np.nonzero(beta_sf(target, ys + 1, n - ys + 1) > cutoff)[0]
        if ok.size:
            out[n] = int(ys[ok[0]])
    return out


@dataclass(frozen=True)
class MTDSelection:
    """BOIN-style MTD selection (``select.mtd``): the MTD and per-dose estimates.

    ``mtd`` is a dose level from 1 (None: no dose acceptable); ``estimate`` the isotonic
    toxicity estimates and ``pr_overdose`` the isotonic Pr(p > target), both None at untreated
    doses; ``eliminated`` flags doses removed by the elimination rule.
    """

    mtd: int | None
    target: float
    estimate: tuple[float | None, ...]
    pr_overdose: tuple[float | None, ...]
    eliminated: tuple[bool, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "mtd": self.mtd,
            "target": self.target,
            "estimate": list(self.estimate),
            "pr_overdose": list(self.pr_overdose),
            "eliminated": list(self.eliminated),
        }


def select_mtd(
    target: float,
    n: npt.ArrayLike,
    y: npt.ArrayLike,
    cutoff_eli: float = 0.95,
    extrasafe: bool = False,
    offset: float = 0.05,
    bound: float | None = None,
    pseudo: float = SEL_OFFSET,
) -> MTDSelection:
    """MTD selection as the BOIN package's ``select.mtd(target, npts, ntox, ...)``.

    ``n``, ``y``: patients and DLTs per dose (list index 0 = level 1).  Elimination: a dose
    with n >= 3 and Pr(p > target | Beta(y+1, n-y+1)) > ``cutoff_eli`` and every dose above
    it; with ``extrasafe`` dose 1 is also eliminated at cutoff ``cutoff_eli - offset``.
    ``bound``: BOIN's ``boundMTD`` (``select.mtd`` 2.7.2 lines 62-67): only admissible doses
    whose estimate (+ 1e-10 x rank) is <= ``bound`` (lambda_d) compete; no MTD if none is.
    ``pseudo``: the estimate is (y + pseudo) / (n + 2 pseudo) (BOIN 0.05; TITEgBOIN 0.005).
    """
    na = np.asarray(n, dtype=np.int64).ravel()
    ya = np.asarray(y, dtype=np.int64).ravel()
    n_max = int(na.max()) if na.size else 0
    elim = elimination_min_dlt(target, cutoff_eli, n_max)
    safe1 = (
        elimination_min_dlt(target, cutoff_eli - offset, n_max)
        if extrasafe
        else np.full(n_max + 1, n_max + 1, dtype=np.int64)
    )
    k = na.size
    first_elim = int(first_eliminated_nb(na, ya, elim))
    if extrasafe and na.size and na[0] > 0 and ya[0] >= safe1[na[0]]:
        first_elim = 0
    treated = na > 0
    est: list[float | None] = [None] * k
    pod: list[float | None] = [None] * k
    mtd: int | None = None
    if treated.any():
        a = ya[treated] + pseudo
        b = na[treated] - ya[treated] + pseudo
        s = na[treated] + 2 * pseudo
        ph = pava(a / s, 1.0 / (a * b / (s**2 * (s + 1.0))))
        po = pava(beta_sf(target, a, b))
        for j, ii in enumerate(np.nonzero(treated)[0].tolist()):
            est[ii] = float(ph[j])
            pod[ii] = float(po[j])
        adm = np.nonzero(treated & (np.arange(k) < first_elim))[0]
        if first_elim > 0 and adm.size:
            # select.mtd: isotonic estimates among admissible doses only, + 1e-10 x rank
            aa, bb, ss = (ya[adm] + pseudo, na[adm] - ya[adm] + pseudo, na[adm] + 2 * pseudo)
            iso = pava(aa / ss, 1.0 / (aa * bb / (ss**2 * (ss + 1.0))))
            iso = iso + np.arange(1, adm.size + 1) * 1e-10
            keep = iso <= bound if bound is not None else np.ones(iso.size, dtype=bool)
            if keep.any():
                dist = np.where(keep, np.abs(iso - target), np.inf)
                mtd = int(adm[int(np.argmin(dist))]) + 1
    return MTDSelection(
        mtd=mtd,
        target=float(target),
        estimate=tuple(est),
        pr_overdose=tuple(pod),
        eliminated=tuple(bool(i >= first_elim) for i in range(k)),
    )
