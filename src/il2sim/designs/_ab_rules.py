"""The A+B decision rules as compiled functions (Lin & Shih 2001), shared by
:class:`~il2sim.designs.ab.ABFit` and the compiled simulator (``ab_kernel``) -- private.

``p`` (int64 array): a, b, c, d, e, expand_lower (0/1), start dose (from 1).
"""

from __future__ import annotations

from typing import Any

import numba

# Status codes of one dose, from its patients n and DLTs y.
_UNTESTED, _NEED_MORE, _PASS, _TOXIC = 0, 1, 2, 3


@numba.njit(cache=True)
def _status(n: int, y: int, a: int, b: int, c: int, d: int, e: int) -> int:  # pragma: no cover
    """Status of one dose with n patients and y DLTs (also decides early when certain)."""
    if n == 0:
        return _UNTESTED
    if n <= a:
        if y > d:
            return _TOXIC  # more than d of A is certain once y > d
        if n < a:
            return _NEED_MORE
        if y <= c:
            return _PASS
        return _NEED_MORE  # c < x <= d: expand
    if y > e:
        return _TOXIC
    if n < a + b:
        return _NEED_MORE
    return _PASS


@numba.njit(cache=True)
def decide(n: Any, y: Any, p: Any) -> tuple[int, int, int, int]:  # pragma: no cover
    """Decision on per-dose counts: (next_dose, cohort_size, mtd, reason); doses 1-based.

    ``next_dose == 0`` means stop; ``mtd == 0`` means no dose selected.  Reason codes:
    0 treat/escalate, 1 expand, 2 passed top dose, 3 first toxic dose (variant A),
    4 MTD has A+B (variant B), 5 no dose acceptable, 6 de-escalate and expand.
    """
    a, b, c, d, e, expand, start = p[0], p[1], p[2], p[3], p[4], p[5], p[6]
    nd = n.shape[0]
    k = 0  # lowest too-toxic dose (1-based), 0 if none
    for j in range(nd):
        if _status(n[j], y[j], a, b, c, d, e) == _TOXIC:
            k = j + 1
            break
    if k == 0:
        j = start
        while True:
            s = _status(n[j - 1], y[j - 1], a, b, c, d, e)
            if s == _PASS:
                if j == nd:
                    return 0, 0, nd, 2
                j += 1
                continue
            if s == _UNTESTED:
                return j, a, 0, 0
            # need more
            if n[j - 1] < a:
                return j, a - n[j - 1], 0, 0
            return j, a + b - n[j - 1], 0, 1
    if expand == 0 or b == 0:
        m = k - 1
        if m >= 1 and n[m - 1] == 0:
            m = 0
        return 0, 0, m, 3 if m > 0 else 5
    j = k - 1
    if j < 1:
        return 0, 0, 0, 5
    if n[j - 1] >= a + b:
        return 0, 0, j, 4
    if n[j - 1] < a:
        return j, a - n[j - 1], 0, 6
    return j, a + b - n[j - 1], 0, 6


@numba.njit(cache=True, nogil=True)
def scan(n: Any, y: Any, p: Any) -> tuple[int, int]:  # pragma: no cover
    """(lowest too-toxic dose, highest passed dose below it), levels from 1, 0 = none."""
    toxic = 0
    best = 0
    for j in range(n.shape[0]):
        s = _status(n[j], y[j], p[0], p[1], p[2], p[3], p[4])
        if s == _TOXIC:
            toxic = j + 1
            break
        if s == _PASS:
            best = j + 1
    return toxic, best
