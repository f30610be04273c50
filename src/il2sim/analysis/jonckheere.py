"""Jonckheere-Terpstra test (Jonckheere 1954, Biometrika 41:133; Terpstra 1952) for a trend
over dose groups ordered by dose:
``J = sum_{i<j} #{(x, y): x in group i, y in group j, x < y} + 0.5 #{x == y}``.

* exact, no ties: the null distribution of ``J`` is the coefficient sequence of the
  q-multinomial (Gaussian) coefficient ``[N; n_1, ..., n_k]_q`` divided by the multinomial
  coefficient (cross-group inversions of a random labelling; Mahonian statistics);
* exact, ties: enumeration of all ``N! / prod n_i!`` distinct labellings (small samples only);
* normal approximation: mean ``(N^2 - sum n_i^2) / 4`` and the tie-corrected variance of
  Hollander, Wolfe & Chicken, *Nonparametric Statistical Methods* (3rd ed., 2014, eq. 6.19).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from il2sim._json import FieldRecord
from il2sim.errors import DataError, InputError

FloatArray = npt.NDArray[np.float64]

#: Largest number of distinct labellings enumerated for an exact p-value with ties.
MAX_EXACT_ENUMERATION: int = 200_000
#: Largest total sample size for the exact (q-multinomial) distribution without ties.
MAX_EXACT_N: int = 200


@dataclass(frozen=True)
class JonckheereResult(FieldRecord):
    """Jonckheere-Terpstra test for an ordered alternative.

    ``statistic`` is J; ``pvalue`` the one-sided p for the chosen alternative; ``z`` the
    standardised statistic under the normal approximation (always reported).
    """

    statistic: float
    pvalue: float
    method: str
    alternative: str
    mean: float
    variance: float
    z: float
    n_per_group: tuple[int, ...]
    ties: bool


def _clean_groups(groups: Sequence[Sequence[float] | FloatArray]) -> list[FloatArray]:
    out = [np.asarray(g, dtype=float).ravel() for g in groups]
    out = [g[~np.isnan(g)] for g in out]
    out = [g for g in out if g.size]
    if len(out) < 2:
        raise DataError(f"need at least 2 non-empty groups, got {len(out)}", field="groups")
    return out


def jt_statistic(groups: Sequence[Sequence[float] | FloatArray]) -> float:
    """Jonckheere-Terpstra J for ``groups`` in their given (increasing-dose) order."""
    gs = [np.asarray(g, dtype=float).ravel() for g in groups]
    total = 0.0
    for i, j in combinations(range(len(gs)), 2):
        a = gs[i][:, None]
        b = gs[j][None, :]
        total += float(np.sum(a < b) + 0.5 * np.sum(a == b))
    return total


def jt_null_variance(n_per_group: Sequence[int], tie_sizes: Sequence[int] = ()) -> float:
    """Variance of J under H0 with tie correction (Hollander, Wolfe & Chicken 2014, eq. 6.19).

    ``tie_sizes`` are the sizes t_j of the groups of tied values (sizes 1 may be included).
    """
    n = np.asarray(n_per_group, dtype=float)
    t = np.asarray(tie_sizes, dtype=float) if len(tie_sizes) else np.zeros(0)
    N = float(n.sum())
    v1 = (
        N * (N - 1) * (2 * N + 5)
        - float(np.sum(n * (n - 1) * (2 * n + 5)))
        - float(np.sum(t * (t - 1) * (2 * t + 5)))
    ) / 72.0
    v2 = (
        float(np.sum(n * (n - 1) * (n - 2)))
        * float(np.sum(t * (t - 1) * (t - 2)))
        / (36.0 * N * (N - 1) * (N - 2))
        if N > 2
        else 0.0
    )
    v3 = float(np.sum(n * (n - 1))) * float(np.sum(t * (t - 1))) / (8.0 * N * (N - 1))
    return v1 + v2 + v3


def jt_exact_distribution(n_per_group: Sequence[int]) -> FloatArray:
    """P(J = k) for k = 0..sum_{i<j} n_i n_j under H0 without ties.

    The counts are the coefficients of the q-multinomial coefficient, built as a product of
    q-binomials ``[m + n; n]_q`` (each by the recurrence on partitions in a box).
    """
    counts = np.array([1.0])
    m = 0
    for n in n_per_group:
        counts = np.convolve(counts, _q_binomial(m + int(n), int(n)))
        m += int(n)
    return counts / counts.sum()


def _q_binomial(total: int, k: int) -> FloatArray:
    """Coefficients of the Gaussian binomial [total; k]_q (number of partitions in a box).

    Built as ``[m; j] = [m; j-1] (1 - q^(m-j+1)) / (1 - q^j)``, one factor at a time, so every
    intermediate is a polynomial with non-negative coefficients, and mirrored by symmetry so
    that both tails keep their relative accuracy.
    """
    k = min(k, total - k)
    poly = np.array([1.0])
    for i in range(1, k + 1):
        a = total - k + i
        new = np.zeros(poly.size + a)
        new[: poly.size] += poly
        new[a:] -= poly
        poly = _divide_one_minus_q_power(new, i)[: i * (total - k) + 1]
        # coefficients are symmetric; the low half is accurate in relative terms (built from
        # small partial sums), the high half only in absolute terms: mirror the low half
        poly = np.where(np.arange(poly.size) <= poly.size // 2, poly, poly[::-1])
    return np.rint(poly)


def _divide_one_minus_q_power(poly: FloatArray, i: int) -> FloatArray:
    """Power series ``poly / (1 - q^i)`` truncated to ``poly.size``: strided running sums."""
    n = poly.size
    rows = -(-n // i)
    padded = np.zeros(rows * i)
    padded[:n] = poly
    return np.cumsum(padded.reshape(rows, i), axis=0).ravel()[:n]


def _labellings(n_per_group: Sequence[int]) -> npt.NDArray[np.int8]:
    """All distinct assignments of group labels 0..k-1 to N positions (rows)."""
    rows: list[list[int]] = [[]]
    remaining = [list(n_per_group)]
    n_total = int(sum(n_per_group))
    for _ in range(n_total):
        new_rows: list[list[int]] = []
        new_rem: list[list[int]] = []
        for r, rem in zip(rows, remaining, strict=True):
            for g, c in enumerate(rem):
                if c:
                    rem2 = rem.copy()
                    rem2[g] -= 1
                    new_rows.append([*r, g])
                    new_rem.append(rem2)
        rows, remaining = new_rows, new_rem
    return np.asarray(rows, dtype=np.int8)


def jt_permutation_distribution(values: FloatArray, n_per_group: Sequence[int]) -> FloatArray:
    """J for every distinct labelling of ``values`` (pooled) into groups of ``n_per_group``.

    Brute force, exact with ties; cost grows as N!/prod(n_i!).
    """
    labels = _labellings(n_per_group)
    x = np.asarray(values, dtype=float)
    less = (x[:, None] < x[None, :]).astype(float) + 0.5 * (x[:, None] == x[None, :])
    np.fill_diagonal(less, 0.0)
    # J = sum over pairs (a, b) with label[a] < label[b] of less[a, b]
    out = np.empty(labels.shape[0])
    chunk = 4096
    for s in range(0, labels.shape[0], chunk):
        lab = labels[s : s + chunk].astype(np.int16)
        ordered = lab[:, :, None] < lab[:, None, :]
        out[s : s + chunk] = np.einsum("rab,ab->r", ordered, less)
    return out


def jonckheere_terpstra(
    groups: Sequence[Sequence[float] | FloatArray],
    alternative: Literal["increasing", "decreasing", "two-sided"] = "increasing",
    method: Literal["auto", "exact", "normal"] = "auto",
) -> JonckheereResult:
    """Jonckheere-Terpstra test; ``groups`` in increasing-dose order (NaN dropped).

    ``method="auto"`` is exact when there are no ties and N <= ``MAX_EXACT_N``, or with ties
    when the labellings number at most ``MAX_EXACT_ENUMERATION``; normal otherwise.
    The normal approximation has no continuity correction.
    """
    if alternative not in ("increasing", "decreasing", "two-sided"):
        raise InputError(f"unknown alternative {alternative!r}", field="alternative")
    if method not in ("auto", "exact", "normal"):
        raise InputError(f"unknown method {method!r}", field="method")
    gs = _clean_groups(groups)
    n = tuple(int(g.size) for g in gs)
    pooled = np.concatenate(gs)
    _, tie_counts = np.unique(pooled, return_counts=True)
    ties = bool(np.any(tie_counts > 1))
    J = jt_statistic(gs)
    N = int(sum(n))
    mean = (N * N - sum(k * k for k in n)) / 4.0
    var = jt_null_variance(n, tie_counts.tolist())
    z = (J - mean) / math.sqrt(var) if var > 0 else math.nan

    n_labellings = math.factorial(N) // math.prod(math.factorial(k) for k in n)
    exact_ok = (not ties and N <= MAX_EXACT_N) or (ties and n_labellings <= MAX_EXACT_ENUMERATION)
    use_exact = method == "exact" or (method == "auto" and exact_ok)
    if use_exact and ties and n_labellings > MAX_EXACT_ENUMERATION:
        raise InputError(
            f"exact test with ties needs {n_labellings} labellings (> {MAX_EXACT_ENUMERATION})",
            field="method",
        )
    if use_exact:
        if ties:
            dist_j = jt_permutation_distribution(pooled, n)
            tol = 1e-9
            p_ge = float(np.mean(dist_j >= J - tol))
            p_le = float(np.mean(dist_j <= J + tol))
            label = "exact (permutation, ties)"
        else:
            pmf = jt_exact_distribution(n)
            k = round(J)
            p_ge = float(pmf[k:].sum())
            p_le = float(pmf[: k + 1].sum())
            label = "exact"
    else:
        p_ge = float(sps.norm.sf(z))
        p_le = float(sps.norm.cdf(z))
        label = "normal approximation (tie-corrected variance)"
    if alternative == "increasing":
        p = p_ge
    elif alternative == "decreasing":
        p = p_le
    else:
        p = min(1.0, 2.0 * min(p_ge, p_le))
    return JonckheereResult(
        statistic=J,
        pvalue=min(1.0, p),
        method=label,
        alternative=alternative,
        mean=mean,
        variance=var,
        z=z,
        n_per_group=n,
        ties=ties,
    )
