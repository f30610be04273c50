"""Numba kernels of the interval designs (BOIN, mTPI-2, i3+3, Keyboard) -- private.

Indices are 0-based inside; the trial record a kernel fills has levels from 1 (0 = none).
Random numbers are never drawn here: the controller passes uniforms from its seeded stream,
so a kernel is a pure function of its inputs.  Kernels release the GIL (``nogil``) so that the
controller can run chunks on threads.

``pava_nb`` stays hand-written: it runs inside the compiled kernel (and in ``fit()``, so that
conduct and simulation share one rule) where scipy cannot be called; the public ``pava`` and
``select_mtd`` use ``scipy.optimize.isotonic_regression``.  benchmarks/bench_designs.py times
the alternative (the kernel's MTD selection through scipy, one call per trial).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from il2sim.designs.records import KernelRecord

# Pseudo-count of the BOIN package's ``select.mtd`` (hard-coded 0.05 there).
_SEL_OFFSET = 0.05


@njit(cache=True, nogil=True)
def pava_nb(x: npt.NDArray[np.float64], w: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Weighted isotonic (non-decreasing) regression by pool-adjacent-violators."""
    k = x.size
    val = np.empty(k)
    wt = np.empty(k)
    cnt = np.empty(k, dtype=np.int64)
    top = 0
    for i in range(k):
        val[top] = x[i]
        wt[top] = w[i]
        cnt[top] = 1
        top += 1
        while top > 1 and val[top - 2] > val[top - 1]:
            wsum = wt[top - 2] + wt[top - 1]
            val[top - 2] = (val[top - 2] * wt[top - 2] + val[top - 1] * wt[top - 1]) / wsum
            wt[top - 2] = wsum
            cnt[top - 2] += cnt[top - 1]
            top -= 1
    out = np.empty(k)
    j = 0
    for b in range(top):
        for _ in range(cnt[b]):
            out[j] = val[b]
            j += 1
    return out


@njit(cache=True, nogil=True)
def first_eliminated_nb(
    n: npt.NDArray[np.int64], y: npt.NDArray[np.int64], elim_min_dlt: npt.NDArray[np.int64]
) -> int:
    """Lowest dose index whose own counts eliminate it (``elim_min_dlt[m]``: the smallest DLT
    count that eliminates a dose with ``m`` patients, larger than ``m`` when none does);
    ``n.size`` if none.  The one elimination scan of the kernels and of ``select_mtd``."""
    k = n.size
    for i in range(k):
        if n[i] > 0 and y[i] >= elim_min_dlt[n[i]]:
            return i
    return k


@njit(cache=True, nogil=True)
def eliminated_from_nb(
    n: npt.NDArray[np.int64],
    y: npt.NDArray[np.int64],
    elim_min_dlt: npt.NDArray[np.int64],
    safe1_min_dlt: npt.NDArray[np.int64],
) -> int:
    """Lowest eliminated dose index (all doses above it are eliminated too); ``n.size`` if none.

    ``elim_min_dlt[m]`` is the smallest DLT count that eliminates a dose with ``m`` patients
    (larger than ``m`` when none does); ``safe1_min_dlt`` is the extra-safe rule for dose 1.
    """
    if n[0] > 0 and y[0] >= safe1_min_dlt[n[0]]:
        return 0
    return first_eliminated_nb(n, y, elim_min_dlt)


@njit(cache=True, nogil=True)
def select_mtd_nb(
    n: npt.NDArray[np.int64],
    y: npt.NDArray[np.int64],
    target: float,
    elim_min_dlt: npt.NDArray[np.int64],
    safe1_min_dlt: npt.NDArray[np.int64],
    bound: float = np.inf,
    pseudo: float = _SEL_OFFSET,
) -> int:
    """MTD index as BOIN's ``select.mtd`` (-1 = none): isotonic (y+0.05)/(n+0.1), closest
    (``pseudo`` replaces 0.05: TITEgBOIN uses 0.005).

    ``bound``: BOIN's ``boundMTD`` (``select.mtd`` lines 62-67): only doses whose isotonic
    estimate (+ 1e-10 x rank) is <= ``bound`` (lambda_d) compete; none if every one is above.
    """
    k = n.size
    first_elim = eliminated_from_nb(n, y, elim_min_dlt, safe1_min_dlt)
    if first_elim == 0:
        return -1
    m = 0
    for i in range(first_elim):
        if n[i] > 0:
            m += 1
    if m == 0:
        return -1
    idx = np.empty(m, dtype=np.int64)
    ph = np.empty(m)
    wt = np.empty(m)
    j = 0
    for i in range(min(first_elim, k)):
        if n[i] > 0:
            a = y[i] + pseudo
            b = n[i] - y[i] + pseudo
            s = n[i] + 2 * pseudo
            idx[j] = i
            ph[j] = a / s
            wt[j] = 1.0 / (a * b / (s * s * (s + 1.0)))
            j += 1
    iso = pava_nb(ph, wt)
    best = -1
    best_d = 1e300
    for j in range(m):
        e = iso[j] + (j + 1) * 1e-10
        if e > bound:
            continue
        d = abs(e - target)
        if d < best_d:
            best_d = d
            best = j
    if best < 0:
        return -1
    return idx[best]


@njit(cache=True, nogil=True)
def treat_cohort_nb(
    u: npt.NDArray[np.float64],
    truth: npt.NDArray[np.float64],
    t: int,
    d: int,
    m: int,
    first: int,
    c: int,
    record: KernelRecord,
) -> int:
    """Treat cohort ``c`` of trial ``t``: ``m`` patients at dose index ``d`` (the trial's
    patients ``first .. first + m - 1``), a DLT when ``u[t, k] < truth[d]``; add them to the
    trial's patients and DLTs per dose in ``record`` (``SimulatedTrials.kernel_record``), record
    the cohort (level from 1) and return its DLTs.  Shared by every kernel."""
    _, npd, ypd, _, cohort_dose, cohort_size, cohort_dlt = record
    p = truth[d]
    tox = 0
    for j in range(m):
        if u[t, first + j] < p:
            tox += 1
    npd[t, d] += m
    ypd[t, d] += tox
    cohort_dose[t, c] = d + 1
    cohort_size[t, c] = m
    cohort_dlt[t, c] = tox
    return tox


@njit(cache=True, nogil=True)
def interval_step_nb(
    n: npt.NDArray[np.int64],
    y: npt.NDArray[np.int64],
    d: int,
    table: npt.NDArray[np.int8],
    elim_min_dlt: npt.NDArray[np.int64],
    safe1_min_dlt: npt.NDArray[np.int64],
    n_earlystop: int,
) -> tuple[int, int]:
    """One BOIN ``get.oc`` 2.7.2 decision (lines 207-244) after a cohort at dose index ``d``.

    Returns ``(code, next)``: code 0 continue at dose index ``next``, 1 stop with no MTD
    (dose 1 eliminated, or extrasafe), 2 stop and select (n_earlystop).  In order:
    elimination of the current dose (only where its boundary exists, n >= 3); extrasafe at
    dose 1, nested inside that check as in the package; n_earlystop only when the move would
    be to stay (stay, or cannot de-escalate from dose 1, or cannot escalate at the top or below
    an eliminated dose); then the move, never into an eliminated dose.  Doses above the lowest
    eliminated one stay eliminated (counts never change there again).
    """
    k = n.size
    first_elim = first_eliminated_nb(n, y, elim_min_dlt)
    nd = n[d]
    if elim_min_dlt[nd] <= nd:
        if first_elim == 0:
            return 1, d
        if d == 0 and y[0] >= safe1_min_dlt[nd]:
            return 1, d
    act = table[nd, y[d]]
    if nd >= n_earlystop:
        blocked_up = d == k - 1 or d + 1 >= first_elim
        if act == 0 or (act < 0 and d == 0) or (act > 0 and blocked_up):
            return 2, d
    if act > 0 and d != k - 1:
        if d + 1 < first_elim:
            return 0, d + 1
        return 0, d
    if act < 0 and d != 0:
        return 0, d - 1
    return 0, d


@njit(cache=True, nogil=True)
def simulate_interval_nb(
    truth: npt.NDArray[np.float64],
    u: npt.NDArray[np.float64],
    table: npt.NDArray[np.int8],
    elim_min_dlt: npt.NDArray[np.int64],
    safe1_min_dlt: npt.NDArray[np.int64],
    start: int,
    cohort_size: int,
    max_cohorts: int,
    max_patients: int,
    n_earlystop: int,
    target: float,
    titration: bool,
    bound: float,
    record: KernelRecord,
) -> None:
    """Simulate interval-design trials (BOIN ``get.oc`` 2.7.2 control flow), one row of ``u``
    each.

    ``table[n, y]`` is +1 (escalate), 0 (stay) or -1 (de-escalate) for ``y`` DLTs of ``n``
    patients at the current dose; after each cohort :func:`interval_step_nb` decides.
    ``titration`` (get.oc lines 174-191): one patient per dose from dose 1 until the first DLT
    (or the top dose), then ``cohort_size - 1`` more there, then cohorts as usual (each
    titration patient is a cohort of 1 in the record).  No cohort starts once ``max_cohorts``
    cohorts or ``max_patients`` patients were treated; the last cohort is cut to fit.
    ``bound``: boundMTD's lambda_d (``inf``: off).  Writes the trial record (levels from 1,
    0 = none) into the output arrays (zeroed by the caller).
    """
    n_trials = u.shape[0]
    k = truth.size
    selected, npd, ypd, capped, _, _, _ = record
    for t in range(n_trials):
        n = npd[t]
        y = ypd[t]
        d = start
        total = 0
        stopped = False
        toxic = False
        c = 0
        size = cohort_size
        if titration:
            d = 0
            while c < max_cohorts and total < max_patients:
                tox = treat_cohort_nb(u, truth, t, d, 1, total, c, record)
                total += 1
                c += 1
                if tox > 0 or d == k - 1:
                    break
                d += 1
            size = cohort_size - 1
        while c < max_cohorts and total < max_patients:
            m = min(size, max_patients - total)
            size = cohort_size
            treat_cohort_nb(u, truth, t, d, m, total, c, record)
            total += m
            c += 1
            code, d = interval_step_nb(n, y, d, table, elim_min_dlt, safe1_min_dlt, n_earlystop)
            if code != 0:
                stopped = True
                toxic = code == 1
                break
        capped[t] = not stopped
        if toxic:
            selected[t] = 0
        else:
            selected[t] = select_mtd_nb(n, y, target, elim_min_dlt, safe1_min_dlt, bound) + 1
