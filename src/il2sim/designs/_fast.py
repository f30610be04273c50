"""Numba kernels shared by the model-based and interval designs (private).

Everything here works on 0-based dose indices; public code converts to levels from 1.
Random numbers are never drawn here: callers pass uniforms drawn from a seeded
``numpy.random.Generator`` so that a kernel is a pure function of its inputs.

Stop codes returned by the simulators: 0 = ran to the cohort cap, 1 = stopped for toxicity
(lowest dose eliminated; no MTD), 2 = stopped because ``n_earlystop`` patients were at a dose.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

STOP_CAP = 0
STOP_TOXICITY = 1
STOP_N = 2

# Pseudo-count of the BOIN package's ``select.mtd`` (hard-coded 0.05 there).
_SEL_OFFSET = 0.05


@njit(cache=True)
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


@njit(cache=True)
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
    k = n.size
    if n[0] > 0 and y[0] >= safe1_min_dlt[n[0]]:
        return 0
    for i in range(k):
        if n[i] > 0 and y[i] >= elim_min_dlt[n[i]]:
            return i
    return k


@njit(cache=True)
def select_mtd_nb(
    n: npt.NDArray[np.int64],
    y: npt.NDArray[np.int64],
    target: float,
    elim_min_dlt: npt.NDArray[np.int64],
    safe1_min_dlt: npt.NDArray[np.int64],
) -> int:
    """MTD index as BOIN's ``select.mtd`` (-1 = none): isotonic (y+0.05)/(n+0.1), closest."""
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
            a = y[i] + _SEL_OFFSET
            b = n[i] - y[i] + _SEL_OFFSET
            s = n[i] + 2 * _SEL_OFFSET
            idx[j] = i
            ph[j] = a / s
            wt[j] = 1.0 / (a * b / (s * s * (s + 1.0)))
            j += 1
    iso = pava_nb(ph, wt)
    best = 0
    best_d = 1e300
    for j in range(m):
        d = abs(iso[j] + (j + 1) * 1e-10 - target)
        if d < best_d:
            best_d = d
            best = j
    return idx[best]


@njit(cache=True)
def simulate_interval_nb(
    truth: npt.NDArray[np.float64],
    u: npt.NDArray[np.float64],
    table: npt.NDArray[np.int8],
    elim_min_dlt: npt.NDArray[np.int64],
    safe1_min_dlt: npt.NDArray[np.int64],
    start: int,
    cohort_size: int,
    max_cohorts: int,
    n_earlystop: int,
    target: float,
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]:
    """Simulate interval designs (BOIN ``get.oc`` control flow) for every row of ``u``.

    ``table[n, y]`` is +1 (escalate), 0 (stay) or -1 (de-escalate) for ``y`` DLTs of ``n``
    patients at the current dose.  Returns (selected index or -1, patients per dose, DLTs per
    dose, stop code, dose index per cohort (-1 = not treated), DLTs per cohort).
    """
    n_trials = u.shape[0]
    k = truth.size
    sel = np.empty(n_trials, dtype=np.int64)
    npd = np.zeros((n_trials, k), dtype=np.int64)
    ypd = np.zeros((n_trials, k), dtype=np.int64)
    code = np.zeros(n_trials, dtype=np.int64)
    rdose = np.full((n_trials, max_cohorts), -1, dtype=np.int64)
    rtox = np.zeros((n_trials, max_cohorts), dtype=np.int64)
    for t in range(n_trials):
        n = npd[t]
        y = ypd[t]
        d = start
        elim_from = k
        for c in range(max_cohorts):
            tox = 0
            for j in range(cohort_size):
                if u[t, c * cohort_size + j] < truth[d]:
                    tox += 1
            n[d] += cohort_size
            y[d] += tox
            rdose[t, c] = d
            rtox[t, c] = tox
            if n[d] >= n_earlystop:
                code[t] = STOP_N
                break
            if y[d] >= elim_min_dlt[n[d]]:
                if d < elim_from:
                    elim_from = d
                if d == 0:
                    code[t] = STOP_TOXICITY
                    break
            if d == 0 and y[0] >= safe1_min_dlt[n[0]]:
                code[t] = STOP_TOXICITY
                break
            act = table[n[d], y[d]]
            if act > 0 and d != k - 1:
                if d + 1 < elim_from:
                    d += 1
            elif act < 0 and d != 0:
                d -= 1
        if code[t] == STOP_TOXICITY:
            sel[t] = -1
        else:
            sel[t] = select_mtd_nb(n, y, target, elim_min_dlt, safe1_min_dlt)
    return sel, npd, ypd, code, rdose, rtox


@njit(cache=True)
def crm_model_p(beta: float, x: float, logistic: bool, intercept: float) -> float:
    """Toxicity probability: empiric ``x ** exp(beta)`` or logistic with scaled dose ``x``."""
    if logistic:
        return 1.0 / (1.0 + np.exp(-intercept - np.exp(beta) * x))
    return x ** np.exp(beta)


@njit(cache=True)
def crm_loglik_nb(
    beta: float,
    n: npt.NDArray[np.int64],
    y: npt.NDArray[np.int64],
    x: npt.NDArray[np.float64],
    logistic: bool,
    intercept: float,
) -> float:
    """Binomial log-likelihood of beta (no prior) for ``y`` DLTs of ``n`` per dose."""
    s = 0.0
    eb = np.exp(beta)
    for i in range(n.size):
        if n[i] > 0:
            if logistic:
                eta = intercept + eb * x[i]
                lp = -np.logaddexp(0.0, -eta)
                lq = -np.logaddexp(0.0, eta)
            else:
                lp = eb * np.log(x[i])
                lq = np.log(-np.expm1(lp))
            if y[i] > 0:
                s += y[i] * lp
            if n[i] > y[i]:
                s += (n[i] - y[i]) * lq
    return s


@njit(cache=True)
def crm_estimate_nb(
    n: npt.NDArray[np.int64],
    y: npt.NDArray[np.int64],
    grid: npt.NDArray[np.float64],
    lp: npt.NDArray[np.float64],
    lq: npt.NDArray[np.float64],
    logprior: npt.NDArray[np.float64],
    tails: npt.NDArray[np.float64],
    mle: bool,
    x: npt.NDArray[np.float64],
    logistic: bool,
    intercept: float,
    ll: npt.NDArray[np.float64],
    lp_inf: npt.NDArray[np.float64],
    lq_inf: npt.NDArray[np.float64],
) -> float:
    """Posterior mean of beta (trapezoid rule on ``grid``) or its MLE on [-10, 10].

    ``lp[g, i]``/``lq[g, i]`` are log p and log(1 - p) of dose ``i`` at ``grid[g]``;
    ``logprior`` the log prior density on the grid.  As dfcrm's ``crm``, the numerator
    integrates over the grid range [-10, 10] and the denominator over the real line.  Beyond
    +10 the likelihood is flat (it reaches its limit doubly exponentially), adding
    ``L(10) * tails[0]``; below -10 it is ``L(-inf) + (L(-10) - L(-inf)) exp(b + 10)`` to first
    order in exp(b) (the model is smooth in exp(beta)), adding ``L(-inf) * tails[0] +
    (L(-10) - L(-inf)) * tails[1]``, where ``tails`` = (prior mass beyond 10,
    integral of exp(b + 10) x prior below -10) in the normalisation of ``exp(logprior)`` and
    ``lp_inf``/``lq_inf`` are log p and log(1 - p) as beta -> -inf.  The trapezoid rule on this
    smooth, decaying integrand errs by about exp(-2 pi^2 sd^2 / h^2): < 1e-8 for posterior
    sd >= 0.1 with h = 0.1.
    """
    g_n, k = lp.shape
    for g in range(g_n):
        s = 0.0
        for i in range(k):
            if n[i] > 0:
                s += y[i] * lp[g, i] + (n[i] - y[i]) * lq[g, i]
        ll[g] = s
    if mle:
        best = 0
        for g in range(1, g_n):
            if ll[g] > ll[best]:
                best = g
        lo = grid[max(best - 1, 0)]
        hi = grid[min(best + 1, g_n - 1)]
        gr = 0.6180339887498949
        for _ in range(80):
            a = hi - gr * (hi - lo)
            b = lo + gr * (hi - lo)
            if crm_loglik_nb(a, n, y, x, logistic, intercept) > crm_loglik_nb(
                b, n, y, x, logistic, intercept
            ):
                hi = b
            else:
                lo = a
            if hi - lo < 1e-10:
                break
        return 0.5 * (lo + hi)
    m = -1e300
    for g in range(g_n):
        v = ll[g] + logprior[g]
        if v > m:
            m = v
    ll_lo = ll[0]
    ll_hi = ll[g_n - 1]
    num = 0.0
    den = 0.0
    for g in range(g_n):
        v = ll[g] + logprior[g] - m
        e = np.exp(v) if v > -60.0 else 0.0  # < 1e-26 relative: skip the exp
        ll[g] = e
        if g == 0 or g == g_n - 1:
            e *= 0.5
        num += e * grid[g]
        den += e
    h = grid[1] - grid[0]
    # Euler-Maclaurin end correction -h^2/12 (f'(hi) - f'(lo)), one-sided differences: the
    # integrand need not vanish at +-10 under a flat prior
    w0, w1, w2 = ll[0], ll[1], ll[2]
    v0, v1, v2 = ll[g_n - 1], ll[g_n - 2], ll[g_n - 3]
    dw_lo = (-3.0 * w0 + 4.0 * w1 - w2) / (2.0 * h)
    dw_hi = (3.0 * v0 - 4.0 * v1 + v2) / (2.0 * h)
    b0, b1, b2 = grid[0], grid[1], grid[2]
    c0, c1, c2 = grid[g_n - 1], grid[g_n - 2], grid[g_n - 3]
    dg_lo = (-3.0 * w0 * b0 + 4.0 * w1 * b1 - w2 * b2) / (2.0 * h)
    dg_hi = (3.0 * v0 * c0 - 4.0 * v1 * c1 + v2 * c2) / (2.0 * h)
    num = num * h - h * h / 12.0 * (dg_hi - dg_lo)
    den = den * h - h * h / 12.0 * (dw_hi - dw_lo)
    if tails[0] > 0.0:
        den += tails[0] * np.exp(ll_hi - m)
        ll_inf = 0.0
        for i in range(k):
            if y[i] > 0:
                ll_inf += y[i] * lp_inf[i]
            if n[i] > y[i]:
                ll_inf += (n[i] - y[i]) * lq_inf[i]
        l_inf = np.exp(ll_inf - m)
        den += tails[0] * l_inf + tails[1] * (np.exp(ll_lo - m) - l_inf)
    return num / den


@njit(cache=True)
def crm_recommend_nb(
    beta: float, x: npt.NDArray[np.float64], logistic: bool, intercept: float, target: float
) -> int:
    """dfcrm's ``mtd``: top dose if all estimates <= target, 1 if all >= target, else closest."""
    k = x.size
    all_le = True
    all_ge = True
    best = 0
    best_d = 1e300
    for i in range(k):
        p = crm_model_p(beta, x[i], logistic, intercept)
        if p > target:
            all_le = False
        if p < target:
            all_ge = False
        d = abs(p - target)
        if d < best_d:
            best_d = d
            best = i
    if all_le:
        return k - 1
    if all_ge:
        return 0
    return best


@njit(cache=True)
def simulate_crm_nb(
    truth: npt.NDArray[np.float64],
    u: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    logistic: bool,
    intercept: float,
    target: float,
    grid: npt.NDArray[np.float64],
    lp: npt.NDArray[np.float64],
    lq: npt.NDArray[np.float64],
    logprior: npt.NDArray[np.float64],
    tails: npt.NDArray[np.float64],
    logprior_flat: npt.NDArray[np.float64],
    tails_flat: npt.NDArray[np.float64],
    lp_inf: npt.NDArray[np.float64],
    lq_inf: npt.NDArray[np.float64],
    mle: bool,
    no_skip: bool,
    no_escalation_after_dlt: bool,
    stage1_doses: npt.NDArray[np.int64],
    start: int,
    cohort_size: int,
    max_cohorts: int,
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
]:
    """Simulate CRM trials as dfcrm's ``crmsim`` (one- or two-stage), one row of ``u`` each.

    ``stage1_doses`` (indices per cohort, empty for a one-stage design) is followed until the
    first DLT.  While every patient so far had a DLT (two-stage only) the posterior uses the
    flat N(0, 500^2) prior, as dfcrm does.  Returns (selected index, patients per dose, DLTs
    per dose, dose index per cohort, DLTs per cohort, final beta estimate).
    """
    n_trials = u.shape[0]
    k = truth.size
    sel = np.empty(n_trials, dtype=np.int64)
    npd = np.zeros((n_trials, k), dtype=np.int64)
    ypd = np.zeros((n_trials, k), dtype=np.int64)
    rdose = np.full((n_trials, max_cohorts), -1, dtype=np.int64)
    rtox = np.zeros((n_trials, max_cohorts), dtype=np.int64)
    final = np.empty(n_trials)
    ll = np.empty(grid.size)
    n_stage1 = stage1_doses.size
    two_stage = n_stage1 > 0
    for t in range(n_trials):
        n = npd[t]
        y = ypd[t]
        stage1 = two_stage
        d = start
        total = 0
        ytot = 0
        for c in range(max_cohorts):
            if stage1:
                d = stage1_doses[min(c, n_stage1 - 1)]
            tox = 0
            for j in range(cohort_size):
                if u[t, c * cohort_size + j] < truth[d]:
                    tox += 1
            n[d] += cohort_size
            y[d] += tox
            total += cohort_size
            ytot += tox
            rdose[t, c] = d
            rtox[t, c] = tox
            if stage1:
                if tox > 0:
                    stage1 = False
                else:
                    continue
            if c == max_cohorts - 1:
                break
            if two_stage and ytot == total:
                beta = crm_estimate_nb(
                    n, y, grid, lp, lq, logprior_flat, tails_flat, False, x, logistic,
                    intercept, ll, lp_inf, lq_inf,
                )  # fmt: skip
            else:
                beta = crm_estimate_nb(
                    n, y, grid, lp, lq, logprior, tails, mle, x, logistic, intercept, ll,
                    lp_inf, lq_inf,
                )  # fmt: skip
            rec = crm_recommend_nb(beta, x, logistic, intercept, target)
            if no_escalation_after_dlt and tox / cohort_size >= target:
                rec = min(rec, d)  # dfcrm's coherence restriction
            elif no_skip:
                rec = min(rec, d + 1)
            d = rec
        if mle and (ytot == 0 or ytot == total):
            beta = crm_estimate_nb(
                n, y, grid, lp, lq, logprior_flat, tails_flat, False, x, logistic, intercept,
                ll, lp_inf, lq_inf,
            )  # fmt: skip
        else:
            beta = crm_estimate_nb(
                n, y, grid, lp, lq, logprior, tails, mle, x, logistic, intercept, ll,
                lp_inf, lq_inf,
            )  # fmt: skip
        final[t] = beta
        sel[t] = crm_recommend_nb(beta, x, logistic, intercept, target)
    return sel, npd, ypd, rdose, rtox, final
