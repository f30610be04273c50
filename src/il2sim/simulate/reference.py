"""Reference solver: scipy ``solve_ivp`` (Radau, rtol 1e-10), one patient at a time.

Each segment between grid nodes (doses, infusion switches, day boundaries, output times) is
integrated separately from the state left by the previous one plus the doses given at its
start, with dense output.  Serum IL-2 maxima are located on the dense output: sampled on each
segment, then refined with a bounded scalar optimiser around the best sample.  Slow by design;
it checks the fast solver (:mod:`il2sim.simulate.fast`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.integrate import solve_ivp
from scipy.optimize import minimize_scalar

from il2sim.model.system import (
    MASS_STATES,
    N_STATES,
    S_AUC,
    S_BRIGHT,
    S_CENTRAL,
    S_DEPOT1,
    S_DIM,
    S_NOT_ABS,
    T_F_IM,
    T_F_SC,
    T_VC_ML,
    rhs,
)
from il2sim.regimen.events import ROUTE_CODES, Route
from il2sim.simulate.grid import Grid

FloatArray = npt.NDArray[np.float64]
RTOL = 1e-10
#: Absolute tolerance per state: amounts (IU) 1e-6, the rest 1e-12 of their unit.
_ATOL = np.full(N_STATES, 1e-12)
_ATOL[list(MASS_STATES)] = 1e-6
_SAMPLES_PER_SEGMENT = 24
_SC, _IM, _BOLUS = (ROUTE_CODES.index(r) for r in (Route.SC, Route.IM, Route.IV_BOLUS))


def _segment_max(sol: object, t0: float, t1: float, vc: float) -> tuple[float, float]:
    """(time, value) of the maximum concentration on [t0, t1] from the dense output."""
    ts = np.linspace(t0, t1, _SAMPLES_PER_SEGMENT + 1)
    c = sol(ts)[S_CENTRAL] / vc  # type: ignore[operator]
    i = int(np.argmax(c))
    best_t, best_c = float(ts[i]), float(c[i])
    # refine around the best sample, also when it is a segment end: the maximum can lie
    # between the last two samples (a sample grid only brackets it)
    lo, hi = float(ts[max(i - 1, 0)]), float(ts[min(i + 1, ts.size - 1)])
    if hi > lo:
        res = minimize_scalar(
            lambda t: -float(sol(t)[S_CENTRAL]) / vc,  # type: ignore[operator]
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-12 * max(1.0, t1)},
        )
        if -res.fun > best_c:
            best_t, best_c = float(res.x), float(-res.fun)
    return best_t, best_c


def solve_reference(
    theta: FloatArray,
    y0: FloatArray,
    grid: Grid,
    route: npt.NDArray[np.int64],
    amounts: FloatArray,
) -> tuple[
    FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray
]:
    """Same outputs as :func:`il2sim.simulate.fast.solve_batch`, computed with scipy."""
    n_pat = theta.shape[0]
    nodes = grid.node_t
    n_seg = nodes.size - 1
    n_out = grid.out_t.size
    out_c = np.zeros((n_pat, n_out))
    out_b = np.zeros((n_pat, n_out))
    out_d = np.zeros((n_pat, n_out))
    dmax = np.zeros((n_pat, grid.n_days))
    node_auc = np.zeros((n_pat, n_seg + 1))
    fcmax = np.full(n_pat, -1.0)
    ftmax = np.zeros(n_pat)
    y_end = np.zeros((n_pat, N_STATES))
    for p in range(n_pat):
        th = np.ascontiguousarray(theta[p])
        vc = th[T_VC_ML]
        y = y0[p].astype(float).copy()
        buf = np.empty(N_STATES)
        for g in range(n_seg + 1):
            node_auc[p, g] = y[S_AUC]
            k = grid.out_node_idx[g]
            if k >= 0:
                out_c[p, k] = y[S_CENTRAL] / vc
                out_b[p, k] = y[S_BRIGHT]
                out_d[p, k] = y[S_DIM]
            if g == n_seg:
                break
            for e in np.flatnonzero(grid.ev_node == g):
                amt = amounts[p, e]
                if route[e] in (_SC, _IM):
                    f = th[T_F_SC] if route[e] == _SC else th[T_F_IM]
                    y[S_DEPOT1] += f * amt
                    y[S_NOT_ABS] += (1.0 - f) * amt
                elif route[e] == _BOLUS:
                    y[S_CENTRAL] += amt
            t0, t1 = float(nodes[g]), float(nodes[g + 1])
            day = grid.seg_day[g]
            rate = float(grid.inf_rate[p, g])

            def f_rhs(
                t: float, yy: FloatArray, rate: float = rate, th: FloatArray = th
            ) -> FloatArray:
                out = np.empty(N_STATES)
                rhs(yy, th, rate, out)
                return out

            sol = solve_ivp(
                f_rhs,
                (t0, t1),
                y,
                method="Radau",
                rtol=RTOL,
                atol=_ATOL,
                dense_output=True,
            )
            if not sol.success:  # pragma: no cover - scipy failure
                raise RuntimeError(f"reference solver failed at day {t0:g}: {sol.message}")
            c0 = y[S_CENTRAL] / vc
            tm, cm = _segment_max(sol.sol, t0, t1, vc)
            if c0 >= cm:
                tm, cm = t0, c0
            dmax[p, day] = max(dmax[p, day], cm)
            if grid.seg_first[g] and cm > fcmax[p]:
                fcmax[p], ftmax[p] = cm, tm
            y = sol.y[:, -1].copy()
        del buf
        y_end[p] = y
    return out_c, out_b, out_d, dmax, node_auc, fcmax, ftmax, y_end
