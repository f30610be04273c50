"""Numba kernels of TITE-CRM (Cheung & Chappell 2000, Biometrics 56:1177; dfcrm ``titecrm`` /
``titesim`` 0.2-2.1) -- private.

Weighted likelihood: a patient with an observed DLT contributes F(d, beta) (weight 1), one
without contributes 1 - w F(d, beta), w the follow-up weight (linear: follow-up / window;
adaptive: Cheung & Chappell sec. 3, as dfcrm).  The posterior mean of beta is the CRM's
(``_fast_crm.posterior_mean_nb``: trapezoid grid on [-10, 10], tails to the real line), used by
conduct (``fit()``) and the compiled trials alike, so the two agree exactly.  Indices are
0-based; no random numbers are drawn here (the controller passes uniforms, three per patient).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from il2sim.designs._fast_crm import (
    F64,
    CRMModel,
    Tables,
    crm_recommend_nb,
    density_mean_nb,
    finish_trial_nb,
    posterior_mean_nb,
)
from il2sim.designs.records import KernelRecord

#: DLT-time distributions within the window (code -> name): uniform, late (density ~ t),
#: early (density ~ window - t).
TOX_TIMES = ("uniform", "late", "early")


@njit(cache=True, nogil=True)
def tox_day_nb(u: float, window: float, kind: int) -> float:
    """Day of a DLT within the window from a uniform ``u`` (inverse CDF of ``TOX_TIMES[kind]``)."""
    if kind == 1:
        return window * np.sqrt(u)
    if kind == 2:
        return window * (1.0 - np.sqrt(1.0 - u))
    return window * u


@njit(cache=True, nogil=True)
def tite_weights_nb(
    fu: npt.NDArray[np.float64], dlt: npt.NDArray[np.int64], window: float, adaptive: bool
) -> npt.NDArray[np.float64]:
    """dfcrm ``titecrm`` weights: DLT patients 1; others linear min(fu / window, 1), or adaptive
    (with z DLTs at sorted follow-ups t_1..t_z and m of them <= fu: m = 0: fu / t_1 / (z+1);
    0 < m < z: (m + (fu - t_m) / (t_{m+1} - t_m)) / (z+1); m = z: (z + (fu - t_z) /
    (window - t_z)) / (z+1); capped at 1).  With no DLT the adaptive weights are linear."""
    w = np.empty(fu.size)
    tite_weights_into_nb(fu, dlt, window, adaptive, w)
    return w


@njit(cache=True, nogil=True)
def tite_weights_into_nb(
    fu: npt.NDArray[np.float64],
    dlt: npt.NDArray[np.int64],
    window: float,
    adaptive: bool,
    w: npt.NDArray[np.float64],
) -> None:
    """:func:`tite_weights_nb` into ``w`` (no allocation unless adaptive with DLTs)."""
    n = fu.size
    z = 0
    for i in range(n):
        if dlt[i] > 0:
            z += 1
    if not adaptive or z == 0:
        for i in range(n):
            w[i] = 1.0 if dlt[i] > 0 else min(fu[i], window) / window
        return
    t = np.empty(z)
    j = 0
    for i in range(n):
        if dlt[i] > 0:
            t[j] = min(fu[i], window)
            j += 1
    t.sort()
    for i in range(n):
        f = min(fu[i], window)
        if dlt[i] > 0:
            w[i] = 1.0
        elif not adaptive or z == 0:
            w[i] = f / window
        else:
            m = 0
            for k in range(z):
                if t[k] <= f:
                    m += 1
            if m == 0:
                v = f / t[0] / (z + 1) if t[0] > 0 else 1.0
            elif m < z:
                v = (m + (f - t[m - 1]) / (t[m] - t[m - 1])) / (z + 1)
            elif window > t[z - 1]:
                v = (z + (f - t[z - 1]) / (window - t[z - 1])) / (z + 1)
            else:
                v = 1.0
            w[i] = min(v, 1.0)


@njit(cache=True, nogil=True)
def work_buffers(n: int, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The integer and float work buffers of :func:`tite_estimate_nb` for ``n`` patients and
    ``k`` doses."""
    return np.zeros(3 * k + n, dtype=np.int64), np.empty(n)


@njit(cache=True, nogil=True)
def tite_estimate_nb(
    level: npt.NDArray[np.int64],
    dlt: npt.NDArray[np.int64],
    w: F64,
    tables: Tables,
    pp: F64,
    ll: F64,
    ibuf: npt.NDArray[np.int64],
    fbuf: F64,
) -> float:
    """Posterior mean of beta under the weighted likelihood (``level`` 0-based per patient).

    ``tables`` are the CRM's (``_fast_crm.Tables``: grid, lp, lq, logprior, tails, lp_inf,
    lq_inf).  Patients with weight 1 are pooled per dose (log p / log(1 - p) tables
    ``lp``/``lq``); the partially followed ones multiply the density by (1 - w p) each (``pp`` = exp(lp)); the
    integration is ``_fast_crm.density_mean_nb``, the CRM kernel's own step.  Work buffers
    (:func:`work_buffers`: ``ll`` per grid point, ``ibuf`` >= 3 k + n, ``fbuf`` >= n) come
    from the caller, so the compiled trials reuse theirs at every arrival; conduct and kernel
    run this same arithmetic.  The pooled sum skips doses with no fully followed patient:
    their terms are exactly 0 (``lp``/``lq`` are finite on the grid), so the sum is bitwise
    the one over every dose."""
    grid, lp, lq, logprior, tails, lp_inf, lq_inf = tables
    k = lp.shape[1]
    ny = ibuf[:k]
    nq = ibuf[k : 2 * k]
    used = ibuf[2 * k : 3 * k]
    pl = ibuf[3 * k :]
    pw = fbuf
    for i in range(k):
        ny[i] = 0
        nq[i] = 0
    g_n, k = lp.shape
    n_part = 0
    for i in range(level.size):
        if dlt[i] > 0:
            ny[level[i]] += 1
        elif w[i] >= 1.0:
            nq[level[i]] += 1
        elif w[i] > 0.0:
            pl[n_part] = level[i]
            pw[n_part] = w[i]
            n_part += 1
    ll_inf = 0.0
    n_used = 0
    for i in range(k):
        if ny[i] > 0:
            ll_inf += ny[i] * lp_inf[i]
        if nq[i] > 0:
            ll_inf += nq[i] * lq_inf[i]
        if ny[i] > 0 or nq[i] > 0:
            used[n_used] = i
            n_used += 1
    for j in range(n_part):
        ll_inf += np.log1p(-pw[j] * np.exp(lp_inf[pl[j]]))
    # pooled part (log scale); the partially followed patients multiply the density by
    # prod_j (1 - w_j p), each factor in [1 - w_j, 1], so exp(pooled + logprior - m) with m the
    # pooled maximum bounds the density from above: points more than 60 below it carry no mass
    # (< 1e-26 relative, as posterior_mean_nb) and need no product; no log per grid point.
    m = -1e300
    for g in range(g_n):
        s = 0.0
        for u in range(n_used):
            i = used[u]
            s += ny[i] * lp[g, i] + nq[i] * lq[g, i]
        ll[g] = s
        if s + logprior[g] > m:
            m = s + logprior[g]
    if n_part == 0:
        return posterior_mean_nb(ll, grid, logprior, tails, ll_inf)
    e0 = 0.0
    e1 = 0.0
    for e, g in enumerate((0, g_n - 1)):
        prod = 1.0
        for j in range(n_part):
            prod *= 1.0 - pw[j] * pp[g, pl[j]]
        if e == 0:
            e0 = ll[g] + np.log(prod)
        else:
            e1 = ll[g] + np.log(prod)
    for g in range(g_n):
        v = ll[g] + logprior[g] - m
        if v <= -60.0:
            ll[g] = 0.0
            continue
        prod = 1.0
        for j in range(n_part):
            prod *= 1.0 - pw[j] * pp[g, pl[j]]
        ll[g] = np.exp(v) * prod
    return density_mean_nb(ll, grid, tails, m, e0, e1, ll_inf)


@njit(cache=True, nogil=True)
def tite_next_nb(
    level: npt.NDArray[np.int64],
    dlt_obs: npt.NDArray[np.int64],
    fu: npt.NDArray[np.float64],
    new_dlt: bool,
    last: int,
    window: float,
    adaptive: bool,
    model: CRMModel,
    tables: Tables,
    pp: F64,
    ll: F64,
    no_skip: bool,
    no_escalation_after_dlt: bool,
) -> tuple[int, int, float]:
    """(restricted next dose, unrestricted recommendation, beta) from the data observed now;
    ``last`` = level of the last patient (dfcrm titesim: ``min(mtd, last + 1)``); with
    ``new_dlt`` (a DLT observed since the last assignment) and ``no_escalation_after_dlt``
    the dose is not above ``last``."""
    w = tite_weights_nb(fu, dlt_obs, window, adaptive)
    ibuf, fbuf = work_buffers(level.size, pp.shape[1])
    beta = tite_estimate_nb(level, dlt_obs, w, tables, pp, ll, ibuf, fbuf)
    rec = crm_recommend_nb(beta, model)
    return _restrict_nb(rec, new_dlt, last, no_skip, no_escalation_after_dlt), rec, beta


@njit(cache=True, nogil=True)
def _restrict_nb(
    rec: int, new_dlt: bool, last: int, no_skip: bool, no_escalation_after_dlt: bool
) -> int:
    """The usual restrictions on the recommendation ``rec`` (0-based): not above ``last``
    after a new DLT, not more than one level above it without skipping."""
    nxt = rec
    if no_escalation_after_dlt and new_dlt:
        nxt = min(nxt, last)
    if no_skip:
        nxt = min(nxt, last + 1)
    return nxt


@njit(cache=True, nogil=True)
def simulate_tite_crm_nb(
    truth: F64,
    u: F64,
    model: CRMModel,
    tables: Tables,
    pp: F64,
    window: float,
    gap_days: float,
    poisson: bool,
    tox_kind: int,
    adaptive: bool,
    no_skip: bool,
    no_escalation_after_dlt: bool,
    start: int,
    max_patients: int,
    record: KernelRecord,
    duration: F64,
    final_beta: F64,
) -> None:
    """TITE-CRM trials as dfcrm ``titesim`` (one-stage), one row of ``u`` each.

    Patient j uses ``u[3j]`` (DLT if < truth), ``u[3j+1]`` (DLT day within the window) and
    ``u[3j+2]`` (gap before its arrival: fixed ``gap_days``, or exponential with that mean;
    the first patient arrives after one gap, as titesim).  The dose of patient j > 0 is chosen
    at its arrival from the outcomes observed by then (a DLT counts once its day has passed;
    follow-up capped at the window).  Exactly ``max_patients`` patients; the MTD is the
    unrestricted recommendation on complete data; duration = last arrival + window.
    """
    n_trials = u.shape[0]
    selected, npd, ypd, capped, cohort_dose, cohort_size_out, cohort_dlt = record
    ll = np.empty(tables[0].size)
    n_max = max_patients
    k = pp.shape[1]
    arr = np.empty(n_max)
    lev = np.empty(n_max, dtype=np.int64)
    y = np.empty(n_max, dtype=np.int64)
    tdlt = np.empty(n_max)
    obs_buf = np.empty(n_max, dtype=np.int64)  # work buffers, reused at every arrival
    fu_buf = np.empty(n_max)
    w_buf = np.empty(n_max)
    ibuf, fbuf = work_buffers(n_max, k)
    full = np.ones(n_max)
    for t in range(n_trials):
        clock = 0.0
        d = start
        for j in range(n_max):
            g = gap_days
            if poisson:
                g = -np.log(1.0 - u[t, 3 * j + 2]) * gap_days
            clock += g
            arr[j] = clock
            if j > 0:
                obs = obs_buf[:j]
                fu = fu_buf[:j]
                new_dlt = False
                for i in range(j):
                    el = clock - arr[i]
                    if y[i] > 0 and tdlt[i] <= el:
                        obs[i] = 1
                        fu[i] = tdlt[i]
                        if arr[i] + tdlt[i] > arr[j - 1]:
                            new_dlt = True
                    else:
                        obs[i] = 0
                        fu[i] = min(el, window)
                w = w_buf[:j]
                tite_weights_into_nb(fu, obs, window, adaptive, w)
                beta = tite_estimate_nb(lev[:j], obs, w, tables, pp, ll, ibuf, fbuf)
                d = _restrict_nb(
                    crm_recommend_nb(beta, model), new_dlt, lev[j - 1], no_skip,
                    no_escalation_after_dlt,
                )  # fmt: skip
            lev[j] = d
            y[j] = 1 if u[t, 3 * j] < truth[d] else 0
            tdlt[j] = tox_day_nb(u[t, 3 * j + 1], window, tox_kind) if y[j] > 0 else np.inf
            npd[t, d] += 1
            ypd[t, d] += y[j]
            cohort_dose[t, j] = d + 1
            cohort_size_out[t, j] = 1
            cohort_dlt[t, j] = y[j]
        beta = tite_estimate_nb(lev, y, full, tables, pp, ll, ibuf, fbuf)
        finish_trial_nb(t, beta, model, selected, capped, final_beta)
        duration[t] = arr[n_max - 1] + window
