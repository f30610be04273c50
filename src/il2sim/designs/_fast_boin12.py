"""Numba kernels of BOIN12 (Lin, Zhou, Yan, Li, Yuan 2020, JCO Precis Oncol 4:1393; R
``escalation`` 0.2.3 ``boin12_next_dose`` / ``select_boin12_obd``) -- private.

One implementation of the decision serves conduct (``BOIN12Fit`` calls :func:`decide_nb`) and
the compiled trials (:func:`simulate_boin12_nb`), so the two agree trial by trial.  Beta tails
come from :func:`beta_sf_nb` (regularised incomplete beta by Lentz's continued fraction,
Numerical Recipes 6.4 / DLMF 8.17.22; the tests hold it to scipy's ``beta.sf`` at 1e-12 and
to escalation's utility scores at 1e-9).  Dose indices are 0-based; no random numbers are drawn
here (the controller passes two uniforms per patient: DLT, then efficacy).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from il2sim.designs._fast import pava_nb
from il2sim.designs.records import KernelRecord

#: Reason codes of :func:`decide_nb` (the text is in ``boin12.REASONS``).
STOP_N, EXPLORE, DEESCALATE, PAIR, NONE_ADMISSIBLE, BEST = range(6)


@njit(cache=True, nogil=True)
def _betacf(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < tiny:
        d = tiny
    d = 1.0 / d
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = tiny if abs(d) < tiny else d
        c = 1.0 + aa / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = tiny if abs(d) < tiny else d
        c = 1.0 + aa / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        de = d * c
        h *= de
        if abs(de - 1.0) < 1e-16:
            break
    return h


@njit(cache=True, nogil=True)
def betainc_nb(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b) for a, b > 0, 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
    lbt += b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


@njit(cache=True, nogil=True)
def beta_sf_nb(x: float, a: float, b: float) -> float:
    """Pr(X > x) for X ~ Beta(a, b) (= I_{1-x}(b, a))."""
    return betainc_nb(b, a, 1.0 - x)


@njit(cache=True, nogil=True)
def dose_stats_nb(
    i: int, n: npt.NDArray[np.int64], tox: npt.NDArray[np.int64], eff: npt.NDArray[np.int64],
    ce: npt.NDArray[np.int64], cn: npt.NDArray[np.int64], cb: npt.NDArray[np.int64],
    u2: float, u3: float, ub: float, target: float, target_eff: float, c_t: float, c_e: float,
    u: npt.NDArray[np.float64], ok: npt.NDArray[np.bool_],
) -> None:  # fmt: skip
    """Dose ``i``'s utility score ``u[i]`` = 100 Pr(U > u_b / 100), U ~ Beta(1 + x, 1 + n - x),
    x = (100 E + u2 N + u3 B) / 100 (u1 = 100, u4 = 0), and ``ok[i]``: not Pr(p_T > phi_T) >=
    c_t and not Pr(p_E < phi_E) >= c_e (Beta(1, 1) priors).  Only dose i's counts enter, so a
    kernel updates the dose of the last cohort only."""
    x = (100.0 * ce[i] + u2 * cn[i] + u3 * cb[i]) / 100.0
    u[i] = 100.0 * beta_sf_nb(ub / 100.0, 1.0 + x, 1.0 + n[i] - x)
    too_tox = beta_sf_nb(target, 1.0 + tox[i], 1.0 + n[i] - tox[i]) >= c_t
    futile = 1.0 - beta_sf_nb(target_eff, 1.0 + eff[i], 1.0 + n[i] - eff[i]) >= c_e
    ok[i] = not too_tox and not futile


@njit(cache=True, nogil=True)
def obd_nb(
    n: npt.NDArray[np.int64], tox: npt.NDArray[np.int64], u: npt.NDArray[np.float64],
    target: float,
) -> int:  # fmt: skip
    """``select_boin12_obd``: unweighted PAVA of y/n over treated doses, MTD the closest to
    the target (ties: higher), OBD the highest score at or below it (ties: lower); -1 if none
    treated."""
    k = n.size
    idx = np.empty(k, dtype=np.int64)
    m = 0
    for i in range(k):
        if n[i] > 0:
            idx[m] = i
            m += 1
    if m == 0:
        return -1
    ratio = np.empty(m)
    for j in range(m):
        ratio[j] = tox[idx[j]] / n[idx[j]]
    iso = pava_nb(ratio, np.ones(m))
    best = 1e300
    mtd = 0
    for j in range(m):
        dist = abs(iso[j] - target)
        if dist <= best:
            best = dist
            mtd = idx[j]
    obd = 0
    for i in range(mtd + 1):
        if u[i] > u[obd]:
            obd = i
    return obd


@njit(cache=True, nogil=True)
def decide_nb(
    d: int, n: npt.NDArray[np.int64], tox: npt.NDArray[np.int64], u: npt.NDArray[np.float64],
    ok: npt.NDArray[np.bool_], target: float, lam_e: float, lam_d: float, n_star: int,
    n_stop: int,
) -> tuple[int, int, int]:  # fmt: skip
    """(next dose or -1 to stop, reason code, OBD or -1) after the data, current dose ``d``, from
    the per-dose scores ``u`` and flags ``ok`` (:func:`dose_stats_nb`); the order of
    ``boin12_next_dose`` (see ``boin12``).  Admissible = ``ok`` among d-1, d, d+1."""
    k = n.size
    obd = obd_nb(n, tox, u, target)
    if n.max() >= n_stop:
        return -1, STOP_N, obd
    pt = tox[d] / n[d]
    if n[d] > 8 and pt < lam_d and d < k - 1 and n[d + 1] == 0:
        return d + 1, EXPLORE, obd
    if pt >= lam_d:
        return max(d - 1, 0), DEESCALATE, obd
    if lam_e < pt < lam_d and n[d] >= n_star:
        lo = d - 1 if d >= 1 else d
        if lo < d and ok[lo] and ok[d]:
            nxt = lo if u[lo] >= u[d] else d
        elif lo < d and ok[lo]:
            nxt = lo
        elif ok[d]:
            nxt = d
        else:
            nxt = 0
        return nxt, PAIR, obd
    best = -1
    for i in range(max(d - 1, 0), min(d + 2, k)):
        if ok[i] and (best < 0 or u[i] >= u[best]):
            best = i
    if best < 0:
        return -1, NONE_ADMISSIBLE, -1
    return best, BEST, obd


@njit(cache=True, nogil=True)
def simulate_boin12_nb(
    pt: npt.NDArray[np.float64], pe: npt.NDArray[np.float64], u: npt.NDArray[np.float64],
    target: float, target_eff: float, u2: float, u3: float, ub: float, lam_e: float,
    lam_d: float, n_star: int, c_t: float, c_e: float, n_stop: int, start: int, cs: int,
    max_cohorts: int, max_patients: int, record: KernelRecord, epd: npt.NDArray[np.int64],
    cohort_eff: npt.NDArray[np.int64], cohort_both: npt.NDArray[np.int64],
) -> None:  # fmt: skip
    """BOIN12 trials, one row of ``u`` each: patient j has a DLT when ``u[2j] < pt[d]`` and
    efficacy when ``u[2j+1] < pe[d]`` (independent).  After each cohort :func:`decide_nb`;
    stop when it says so, else treat the next cohort until ``max_cohorts`` / ``max_patients``
    (the last cohort cut to fit); the selection is the OBD of the last decision.  ``record``
    is ``SimulatedTrials.kernel_record``; ``epd``/``cohort_eff``/``cohort_both`` the efficacy
    counts per dose and per cohort."""
    selected, npd, ypd, capped, cohort_dose, cohort_size, cohort_dlt = record
    k = pt.size
    u0 = np.empty(k)
    ok0 = np.empty(k, dtype=np.bool_)
    uu = np.empty(k)
    ok = np.empty(k, dtype=np.bool_)
    ce = np.zeros(k, dtype=np.int64)
    cn = np.zeros(k, dtype=np.int64)
    cb = np.zeros(k, dtype=np.int64)
    tox = np.zeros(k, dtype=np.int64)
    eff = np.zeros(k, dtype=np.int64)
    n = np.zeros(k, dtype=np.int64)
    for i in range(k):  # the untreated doses' scores and flags
        dose_stats_nb(i, n, tox, eff, ce, cn, cb, u2, u3, ub, target, target_eff, c_t, c_e,
                      u0, ok0)  # fmt: skip
    for t in range(u.shape[0]):
        uu[:] = u0
        ok[:] = ok0
        ce[:] = 0
        cn[:] = 0
        cb[:] = 0
        tox[:] = 0
        eff[:] = 0
        n[:] = 0
        d = start
        j = 0
        obd = -1
        stopped = False
        for c in range(max_cohorts):
            if j >= max_patients:
                break
            size = min(cs, max_patients - j)
            ny = 0
            ne = 0
            nboth = 0
            for _ in range(size):
                y = u[t, 2 * j] < pt[d]
                e = u[t, 2 * j + 1] < pe[d]
                j += 1
                ny += y
                ne += e
                nboth += y and e
                if e and not y:
                    ce[d] += 1
                elif e and y:
                    cb[d] += 1
                elif not y:
                    cn[d] += 1
            n[d] += size
            tox[d] += ny
            eff[d] += ne
            cohort_dose[t, c] = d + 1
            cohort_size[t, c] = size
            cohort_dlt[t, c] = ny
            cohort_eff[t, c] = ne
            cohort_both[t, c] = nboth
            dose_stats_nb(d, n, tox, eff, ce, cn, cb, u2, u3, ub, target, target_eff, c_t, c_e,
                          uu, ok)  # fmt: skip
            nxt, _, obd = decide_nb(d, n, tox, uu, ok, target, lam_e, lam_d, n_star, n_stop)
            if nxt < 0:
                stopped = True
                break
            d = nxt
        selected[t] = obd + 1
        capped[t] = not stopped
        for i in range(k):
            npd[t, i] = n[i]
            ypd[t, i] = tox[i]
            epd[t, i] = eff[i]
