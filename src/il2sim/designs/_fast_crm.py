"""Numba kernels of the CRM (dfcrm ``crm``/``crmsim``) -- private.

Indices are 0-based inside; the trial record a kernel fills has levels from 1.  No random
numbers are drawn here (the controller passes uniforms); kernels release the GIL.  The
posterior mean is hand-written (trapezoid rule with end corrections, see
:func:`crm_estimate_nb`) because it runs inside the compiled trial loop, where scipy's ``quad``
cannot be called; conduct (``CRM.estimate``) uses ``quad`` and the tests check the two agree.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from il2sim.designs._fast import treat_cohort_nb
from il2sim.designs.records import KernelRecord

F64 = npt.NDArray[np.float64]
#: A CRM dose-toxicity model as the kernels take it: (x, logistic, intercept, target) -- ``x``
#: the scaled doses, ``logistic`` False = empiric (``_crm_kernel.crm_model`` builds it).
CRMModel = tuple[F64, bool, float, float]
#: The posterior tables on the grid: (grid, lp, lq, logprior, tails, lp_inf, lq_inf), as
#: :func:`crm_estimate_nb` describes (``_crm_kernel.Grid.tables`` builds them).
Tables = tuple[F64, F64, F64, F64, F64, F64, F64]


@njit(cache=True, nogil=True)
def crm_model_p(beta: float, x: float, logistic: bool, intercept: float) -> float:
    """Toxicity probability: empiric ``x ** exp(beta)`` or logistic with scaled dose ``x``."""
    if logistic:
        return 1.0 / (1.0 + np.exp(-intercept - np.exp(beta) * x))
    return x ** np.exp(beta)


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def crm_estimate_nb(
    n: npt.NDArray[np.int64],
    y: npt.NDArray[np.int64],
    tables: Tables,
    mle: bool,
    model: CRMModel,
    ll: F64,
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
    sd >= 0.1 with h = 0.1.  ``tables`` = (grid, lp, lq, logprior, tails, lp_inf, lq_inf);
    ``ll`` a work buffer of the grid's size.
    """
    grid, lp, lq, logprior, tails, lp_inf, lq_inf = tables
    x, logistic, intercept, _ = model
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
    ll_inf = 0.0
    if tails[0] > 0.0:
        for i in range(k):
            if y[i] > 0:
                ll_inf += y[i] * lp_inf[i]
            if n[i] > y[i]:
                ll_inf += (n[i] - y[i]) * lq_inf[i]
    return posterior_mean_nb(ll, grid, logprior, tails, ll_inf)


@njit(cache=True, nogil=True)
def posterior_mean_nb(
    ll: npt.NDArray[np.float64],
    grid: npt.NDArray[np.float64],
    logprior: npt.NDArray[np.float64],
    tails: npt.NDArray[np.float64],
    ll_inf: float,
) -> float:
    """dfcrm's posterior mean of beta from the log-likelihood ``ll`` on ``grid`` (overwritten
    with the unnormalised density): trapezoid rule with end corrections, tails as
    :func:`crm_estimate_nb` describes; ``ll_inf`` is the log-likelihood as beta -> -inf."""
    g_n = grid.size
    m = -1e300
    for g in range(g_n):
        v = ll[g] + logprior[g]
        if v > m:
            m = v
    ll_lo = ll[0]
    ll_hi = ll[g_n - 1]
    for g in range(g_n):
        v = ll[g] + logprior[g] - m
        ll[g] = np.exp(v) if v > -60.0 else 0.0  # < 1e-26 relative: skip the exp
    return density_mean_nb(ll, grid, tails, m, ll_lo, ll_hi, ll_inf)


@njit(cache=True, nogil=True)
def density_mean_nb(
    dens: npt.NDArray[np.float64],
    grid: npt.NDArray[np.float64],
    tails: npt.NDArray[np.float64],
    m: float,
    ll_lo: float,
    ll_hi: float,
    ll_inf: float,
) -> float:
    """The posterior mean from the density ``dens`` = exp(ll + logprior - m) on ``grid`` (the
    one integration step of the CRM and TITE-CRM kernels): trapezoid rule with Euler-Maclaurin
    end corrections and dfcrm's tails (``ll_lo``/``ll_hi``: log-likelihood at the grid ends,
    ``ll_inf`` as beta -> -inf)."""
    g_n = grid.size
    num = 0.0
    den = 0.0
    for g in range(g_n):
        e = dens[g]
        if g == 0 or g == g_n - 1:
            e *= 0.5
        num += e * grid[g]
        den += e
    h = grid[1] - grid[0]
    # Euler-Maclaurin end correction -h^2/12 (f'(hi) - f'(lo)), one-sided differences: the
    # integrand need not vanish at +-10 under a flat prior
    w0, w1, w2 = dens[0], dens[1], dens[2]
    v0, v1, v2 = dens[g_n - 1], dens[g_n - 2], dens[g_n - 3]
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
        l_inf = np.exp(ll_inf - m)
        den += tails[0] * l_inf + tails[1] * (np.exp(ll_lo - m) - l_inf)
    return num / den


@njit(cache=True, nogil=True)
def crm_beta_nb(
    n: npt.NDArray[np.int64],
    y: npt.NDArray[np.int64],
    tables: Tables,
    tables_flat: Tables,
    flat: bool,
    mle: bool,
    model: CRMModel,
    ll: F64,
) -> float:
    """The CRM kernel's estimate of beta: the posterior mean under dfcrm's flat prior
    (``tables_flat``) when ``flat``, else :func:`crm_estimate_nb` with ``tables`` and ``mle``."""
    if flat:
        return crm_estimate_nb(n, y, tables_flat, False, model, ll)
    return crm_estimate_nb(n, y, tables, mle, model, ll)


@njit(cache=True, nogil=True)
def crm_recommend_nb(beta: float, model: CRMModel) -> int:
    """dfcrm's ``mtd``: top dose if all estimates <= target, 1 if all >= target, else closest."""
    x, logistic, intercept, target = model
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


@njit(cache=True, nogil=True)
def finish_trial_nb(
    t: int,
    beta: float,
    model: CRMModel,
    selected: npt.NDArray[np.int64],
    capped: npt.NDArray[np.bool_],
    final_beta: F64,
) -> None:
    """Record trial ``t`` of a CRM-family kernel from its final ``beta``: the recommendation
    (level from 1) and the estimate; capped (these designs never stop on their own)."""
    final_beta[t] = beta
    selected[t] = crm_recommend_nb(beta, model) + 1
    capped[t] = True


@njit(cache=True, nogil=True)
def simulate_crm_nb(
    truth: F64,
    u: F64,
    model: CRMModel,
    tables: Tables,
    tables_flat: Tables,
    mle: bool,
    no_skip: bool,
    no_escalation_after_dlt: bool,
    stage1_doses: npt.NDArray[np.int64],
    start: int,
    cohort_size: int,
    max_cohorts: int,
    max_patients: int,
    record: KernelRecord,
    final_beta: F64,
) -> None:
    """Simulate CRM trials as dfcrm's ``crmsim`` (one- or two-stage), one row of ``u`` each.

    ``stage1_doses`` (indices per cohort, empty for a one-stage design) is followed until the
    first DLT.  While every patient so far had a DLT (two-stage only) the posterior uses the
    flat N(0, 500^2) prior, as dfcrm does.  No cohort starts once ``max_cohorts`` cohorts or
    ``max_patients`` patients were treated (the last cohort is cut to fit); the CRM never stops
    on its own, so every trial ends at a cap (``capped`` all True).  Writes the trial record
    (levels from 1) and the final beta estimate into the output arrays (zeroed by the caller).
    """
    n_trials = u.shape[0]
    ll = np.empty(tables[0].size)
    target = model[3]
    selected, npd, ypd, capped, _, _, _ = record
    n_stage1 = stage1_doses.size
    two_stage = n_stage1 > 0
    for t in range(n_trials):
        n = npd[t]
        y = ypd[t]
        stage1 = two_stage
        d = start
        total = 0
        ytot = 0
        c = 0
        while c < max_cohorts and total < max_patients:
            if stage1:
                d = stage1_doses[min(c, n_stage1 - 1)]
            m = min(cohort_size, max_patients - total)
            tox = treat_cohort_nb(u, truth, t, d, m, total, c, record)
            total += m
            ytot += tox
            c += 1
            if stage1:
                if tox > 0:
                    stage1 = False
                else:
                    continue
            if c >= max_cohorts or total >= max_patients:
                break
            flat = two_stage and ytot == total
            beta = crm_beta_nb(n, y, tables, tables_flat, flat, mle, model, ll)
            rec = crm_recommend_nb(beta, model)
            if no_escalation_after_dlt and tox / m >= target:
                rec = min(rec, d)  # dfcrm's coherence restriction
            elif no_skip:
                rec = min(rec, d + 1)
            d = rec
        flat = mle and (ytot == 0 or ytot == total)
        beta = crm_beta_nb(n, y, tables, tables_flat, flat, mle, model, ll)
        finish_trial_nb(t, beta, model, selected, capped, final_beta)
