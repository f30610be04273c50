"""Reference solvers: scipy ``solve_ivp`` (Radau, rtol 1e-10) or ``odeint`` (LSODA), one
patient at a time, through one segment loop (:func:`solve_reference`).

The right-hand side and its analytic Jacobian are generated from the model declaration and
compiled (:mod:`il2sim.simulate.codegen`; exact powers, no series), the integrator is scipy's:
an independent check of the fast kernel's scheme, step control and power series.  Each
segment between grid nodes (doses, infusion switches, day boundaries, output times) is
integrated separately from the state left by the previous one plus the doses given at its
start, with dense output (each segment starts with the last step size of the previous one).
Serum concentration maxima are located on the dense output: sampled on each segment, then
refined with a bounded scalar optimiser around the best sample.  Slow by design.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.integrate import solve_ivp
from scipy.optimize import minimize_scalar

from il2sim.model.declaration import Model
from il2sim.simulate.codegen import load_kernel
from il2sim.simulate.fast import RawSolution
from il2sim.simulate.grid import Grid
from il2sim.simulate.options import SolverOptions

FloatArray = npt.NDArray[np.float64]
_SAMPLES_PER_SEGMENT = 24


def _segment_max(sol: object, t0: float, t1: float, ext: int, xs: float) -> tuple[float, float]:
    """(time, value) of the maximum concentration on [t0, t1] from the dense output."""
    ts = np.linspace(t0, t1, _SAMPLES_PER_SEGMENT + 1)
    c = sol(ts)[ext] * xs  # type: ignore[operator]
    i = int(np.argmax(c))
    best_t, best_c = float(ts[i]), float(c[i])
    # refine around the best sample, also when it is a segment end: the maximum can lie
    # between the last two samples (a sample grid only brackets it)
    lo, hi = float(ts[max(i - 1, 0)]), float(ts[min(i + 1, ts.size - 1)])
    if hi > lo:
        res = minimize_scalar(
            lambda t: -float(sol(t)[ext]) * xs,  # type: ignore[operator]
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-12 * max(1.0, t1)},
        )
        if -res.fun > best_c:
            best_t, best_c = float(res.x), float(-res.fun)
    return best_t, best_c


#: One segment of one patient: (kernel, theta, y at t0 after the doses, t0, t1, infusion rate,
#: absolute tolerances, concentration scale, extremum state) -> (y at t1, time and value of
#: the segment's concentration maximum).
SegmentSolver = Callable[
    [Any, FloatArray, FloatArray, float, float, float, FloatArray, float, int],
    tuple[FloatArray, float, float],
]


def solve_reference(
    model: Model,
    theta: FloatArray,
    y0: FloatArray,
    grid: Grid,
    route: npt.NDArray[np.int64],
    amounts: FloatArray,
    options: SolverOptions,
) -> RawSolution:
    """Same outputs as :func:`il2sim.simulate.fast.solve_fast`, computed with scipy: Radau
    (``options.method == "radau"``) or LSODA (``"lsoda"``).  The loop both share: per patient
    (a new segment solver, which may keep state across that patient's segments), per grid
    segment: record the outputs and the AUC at the node, apply the doses given there,
    integrate to the next node, update the daily and first-dose maxima."""
    new_patient = _radau_patient if options.method == "radau" else _lsoda_patient
    k = load_kernel(model)
    n_pat = theta.shape[0]
    n = model.n_states
    nodes = grid.node_t
    n_seg = nodes.size - 1
    ext = model.state_index(model.extremum.state)
    auc = model.state_index(model.extremum.auc_state)
    atol = np.full(n, options.ref_atol)
    atol[[model.state_index(s) for s in model.mass_states]] = options.ref_atol_amount
    rec = np.zeros((n_pat, grid.out_t.size, len(model.outputs)))
    dmax = np.zeros((n_pat, grid.n_days))
    node_auc = np.zeros((n_pat, n_seg + 1))
    fcmax = np.full(n_pat, -1.0)
    ftmax = np.zeros(n_pat)
    y_end = np.zeros((n_pat, n))
    for p in range(n_pat):
        th = np.ascontiguousarray(theta[p], dtype=float)
        xs = float(k.model_ext_scale(th))
        y = y0[p].astype(float).copy()
        segment = new_patient(options)
        for g in range(n_seg + 1):
            node_auc[p, g] = y[auc]
            j = grid.out_node_idx[g]
            if j >= 0:
                k.record(y, th, rec[p, j])
            if g == n_seg:
                break
            for e in np.flatnonzero(grid.ev_node == g):
                k.apply_dose(y, th, int(route[e]), float(amounts[p, e]))
            t0, t1 = float(nodes[g]), float(nodes[g + 1])
            rate = float(grid.inf_rate[p, g])
            y, tm, cm = segment(k, th, y, t0, t1, rate, atol, xs, ext)
            day = grid.seg_day[g]
            dmax[p, day] = max(dmax[p, day], cm)
            if grid.seg_first[g] and cm > fcmax[p]:
                fcmax[p], ftmax[p] = cm, tm
        y_end[p] = y
    zeros = np.zeros(n_pat, dtype=np.int64)
    return RawSolution(
        rec, dmax, node_auc, fcmax, ftmax, y_end, zeros, zeros.copy(), np.zeros((n_pat, n), dtype=np.int64)
    )


def _radau_patient(options: SolverOptions) -> SegmentSolver:
    """scipy ``solve_ivp`` Radau with dense output; each segment starts with the last step
    size of the previous one (kept here, per patient)."""
    h_last: list[float] = []  # the previous segment's last step (none yet)

    def segment(
        k: Any, th: FloatArray, y: FloatArray, t0: float, t1: float, rate: float,
        atol: FloatArray, xs: float, ext: int,
    ) -> tuple[FloatArray, float, float]:  # fmt: skip
        sol = solve_ivp(
            lambda t, yy: k.ref_rhs(yy, th, rate),
            (t0, t1),
            y,
            method="Radau",
            rtol=options.rtol,
            atol=atol,
            jac=lambda t, yy: k.ref_jac(yy, th, rate),
            dense_output=True,
            first_step=min(h_last[0], t1 - t0) if h_last else None,
        )
        if not sol.success:  # pragma: no cover - scipy failure
            raise RuntimeError(f"reference solver failed at day {t0:g}: {sol.message}")
        if sol.t.size > 1:
            # the last step was cut to hit t1: take the larger of the last two
            h_last[:] = [float(np.max(np.diff(sol.t[-3:])))]
        c0 = y[ext] * xs
        tm, cm = _segment_max(sol.sol, t0, t1, ext, xs)
        if c0 >= cm:
            tm, cm = t0, c0
        return sol.y[:, -1].copy(), tm, cm

    return segment


#: Output samples per day of the LSODA reference (maxima: samples + a parabola through the
#: three samples around the largest).
_LSODA_SAMPLES_PER_DAY = 1440


def _lsoda_patient(options: SolverOptions) -> SegmentSolver:
    """Second reference: scipy ``odeint`` (LSODA, Adams/BDF with the analytic Jacobian), same
    tolerances and outputs as Radau; its step loop runs in Fortran, so it is ~50x faster
    (used to record the stored reference metrics of the tests; the two references agree to
    ~1e-9, tests/test_simulate_agreement.py).  Maxima: samples every minute and the vertex of
    the parabola through the three around the largest."""
    from scipy.integrate import odeint

    def segment(
        k: Any, th: FloatArray, y: FloatArray, t0: float, t1: float, rate: float,
        atol: FloatArray, xs: float, ext: int,
    ) -> tuple[FloatArray, float, float]:  # fmt: skip
        m = max(3, int(np.ceil((t1 - t0) * _LSODA_SAMPLES_PER_DAY)) + 1)
        ts = np.linspace(t0, t1, m)
        sol = odeint(
            lambda yy, t: k.ref_rhs(yy, th, rate),
            y,
            ts,
            Dfun=lambda yy, t: k.ref_jac(yy, th, rate),
            rtol=options.rtol,
            atol=atol,
            mxstep=10**7,
        )
        c = sol[:, ext] * xs
        i = int(np.argmax(c))
        tm, cm = float(ts[i]), float(c[i])
        if 0 < i < m - 1 and c[i - 1] < cm and c[i + 1] < cm:
            # vertex of the parabola through the three samples
            a, b = c[i - 1] - 2 * cm + c[i + 1], c[i + 1] - c[i - 1]
            off = -0.5 * b / a
            tm = float(ts[i] + off * (ts[1] - ts[0]))
            cm = float(cm - 0.125 * b * b / a)
        return sol[-1].copy(), tm, cm

    return segment
