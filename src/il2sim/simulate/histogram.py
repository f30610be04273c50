"""A mergeable fixed-bin histogram in ``asinh`` space: quantiles of streamed values.

Values are counted on a fixed grid of ``asinh(x)`` with bin width :data:`HIST_BIN_WIDTH` over
``[-HIST_LIMIT, HIST_LIMIT]`` (|x| up to ~5e17; values outside are clamped into the edge
bins).  Quantiles are interpolated linearly within a bin, as ``numpy.percentile``'s linear
rule between order statistics; the error is at most one bin: relative <= ~3e-4 for
``|x| > 1``, absolute <= ~3e-4 for ``|x| < 1`` (``d asinh(x) = dx / sqrt(1 + x^2)``).
Histograms of blocks of patients add exactly, so a streamed quantile does not depend on how
the population was batched (:mod:`il2sim.simulate.stream`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["HIST_BIN_WIDTH", "HIST_LIMIT", "AsinhHistogram"]

#: Histogram range and bin width in asinh space.
HIST_LIMIT = 40.0
HIST_BIN_WIDTH = 2.0e-4
_N_BINS = round(2 * HIST_LIMIT / HIST_BIN_WIDTH)


@dataclass
class AsinhHistogram:
    """A mergeable histogram of values on a fixed grid in ``asinh`` space (see module doc),
    with the exact minimum and maximum (quantiles are clamped to them).

    Mutable accumulator (not a value object): :meth:`add` and :meth:`merge` update it.
    """

    counts: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(_N_BINS, np.int64))
    lo: float = math.inf
    hi: float = -math.inf

    def add(self, x: npt.ArrayLike) -> None:
        """Count the finite values of ``x``."""
        a = np.asarray(x, dtype=float).ravel()
        a = a[np.isfinite(a)]
        if a.size == 0:
            return
        idx = np.floor((np.arcsinh(a) + HIST_LIMIT) / HIST_BIN_WIDTH).astype(np.int64)
        np.clip(idx, 0, _N_BINS - 1, out=idx)
        np.add.at(self.counts, idx, 1)  # O(len(x)), no full-size temporary
        self.lo = min(self.lo, float(a.min()))
        self.hi = max(self.hi, float(a.max()))

    def merge(self, other: AsinhHistogram) -> None:
        """Add ``other``'s counts."""
        self.counts += other.counts
        self.lo = min(self.lo, other.lo)
        self.hi = max(self.hi, other.hi)

    @property
    def n(self) -> int:
        """Number of values counted."""
        return int(self.counts.sum())

    def _order_stat(self, k: int, cum: npt.NDArray[np.int64]) -> float:
        """Estimate of the ``k``-th smallest value (0-based): values spread evenly in their bin;
        the smallest and largest are exact."""
        if k <= 0:
            return self.lo
        if k >= self.n - 1:
            return self.hi
        b = min(int(np.searchsorted(cum, k, side="right")), _N_BINS - 1)
        before = int(cum[b - 1]) if b > 0 else 0
        inside = int(self.counts[b])
        frac = (k - before + 0.5) / inside if inside else 0.5
        z = -HIST_LIMIT + (b + min(max(frac, 0.0), 1.0)) * HIST_BIN_WIDTH
        return float(np.clip(np.sinh(z), self.lo, self.hi))

    def quantile(self, q: float) -> float:
        """Approximate ``q``-quantile (0..1) with numpy's linear rule, NaN when empty."""
        n = self.n
        if n == 0:
            return float("nan")
        pos = q * (n - 1)
        k = math.floor(pos)
        cum = np.cumsum(self.counts)
        v0 = self._order_stat(k, cum)
        if pos == k or k + 1 >= n:
            return v0
        v1 = self._order_stat(k + 1, cum)
        return v0 + (pos - k) * (v1 - v0)
