"""Simulate a regimen in a virtual population: ``simulate(regimen, pop) -> SimulationResult``.

Two solvers integrate the same model (:mod:`il2sim.model.system`): ``fast`` (numba, batched,
exponential RK4 on a grid aligned to doses; :mod:`il2sim.simulate.fast`) and ``reference``
(scipy ``solve_ivp`` Radau with tight tolerances, one patient at a time, segment by segment;
:mod:`il2sim.simulate.reference`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from il2sim import units
from il2sim.errors import InputError
from il2sim.model.parameters import Parameters, load_parameters
from il2sim.model.system import MASS_STATES, T_KD_HIGH, T_KD_INT, build_theta, initial_state
from il2sim.population import Population
from il2sim.regimen.events import Regimen
from il2sim.simulate.grid import build_grid, default_output_times
from il2sim.simulate.result import SimulationResult

SOLVERS: tuple[str, ...] = ("fast", "reference")

__all__ = ["SOLVERS", "SimulationResult", "simulate"]


def simulate(
    regimen: Regimen,
    pop: Population,
    parameters: Parameters | None = None,
    horizon_day: float | None = None,
    solver: str = "fast",
    output_times_day: npt.ArrayLike | None = None,
    amount_scale: npt.ArrayLike | None = None,
    dt_max_day: float | None = None,
) -> SimulationResult:
    """Simulate ``regimen`` for every patient of ``pop``.

    parameters: typical values (default: the population's own set, else the packaged table);
        the population's random effects are applied to them.
    horizon_day: end of the simulation, days (default ``regimen.default_horizon_day``).
    solver: ``"fast"`` or ``"reference"``.
    output_times_day: times (days, increasing, within [0, horizon]) of the time courses
        (default every 0.25 day).  Peaks do not depend on it (tracked inside the solver).
    amount_scale: (P, E) multiplier of each patient's event amounts (0 = dose held).
    dt_max_day: step of the fast solver after s.c./i.m. doses (default 1/96 day; twice that
        elsewhere, see :mod:`il2sim.simulate.grid`).
    """
    if not isinstance(regimen, Regimen):
        raise InputError(f"must be a Regimen, got {type(regimen).__name__}", field="regimen")
    if not isinstance(pop, Population):
        raise InputError(f"must be a Population, got {type(pop).__name__}", field="population")
    if solver not in SOLVERS:
        raise InputError(f"must be one of {', '.join(SOLVERS)}, got {solver!r}", field="solver")
    p = parameters if parameters is not None else (pop.parameters or load_parameters())
    horizon = float(regimen.default_horizon_day if horizon_day is None else horizon_day)
    if not (np.isfinite(horizon) and horizon > 0):
        raise InputError(f"must be a positive number of days, got {horizon_day!r}", field="horizon")
    out_t = (
        default_output_times(horizon)
        if output_times_day is None
        else np.asarray(output_times_day, dtype=float)
    )
    arrays = regimen.arrays(pop.bsa_m2)
    amounts = np.array(arrays.amount_iu, dtype=float)
    if amount_scale is not None:
        scale = np.asarray(amount_scale, dtype=float)
        if scale.shape != amounts.shape:
            raise InputError(
                f"shape must be {amounts.shape}, got {scale.shape}", field="amount_scale"
            )
        if not np.all(np.isfinite(scale)) or np.any(scale < 0):
            raise InputError("must be finite and non-negative", field="amount_scale")
        amounts = amounts * scale
    from il2sim.simulate.fast import DEFAULT_DT_MAX_DAY

    dt = DEFAULT_DT_MAX_DAY if dt_max_day is None else float(dt_max_day)
    if not (dt > 0 and np.isfinite(dt)):
        raise InputError(
            f"must be a positive number of days, got {dt_max_day!r}", field="dt_max_day"
        )
    grid = build_grid(regimen, arrays, amounts, horizon, out_t, dt)
    theta = build_theta(pop, p)
    y0 = initial_state(pop, theta)
    if solver == "fast":
        from il2sim.simulate.fast import solve_batch

        raw = solve_batch(
            theta,
            y0,
            grid.node_t,
            grid.seg_nsub,
            grid.seg_day,
            grid.seg_first,
            grid.inf_rate,
            grid.ev_node,
            arrays.route,
            amounts,
            grid.out_node_idx,
            int(grid.out_t.size),
            int(grid.n_days),
        )
    else:
        from il2sim.simulate.reference import solve_reference

        raw = solve_reference(theta, y0, grid, arrays.route, amounts)
    conc, bright, dim, dmax, node_auc, fcmax, ftmax, y_end = raw
    # no first-dose window inside the horizon: Cmax 0 at the first dose time
    ftmax = np.where(fcmax > 0.0, ftmax, grid.first_dose_day)
    fcmax = np.maximum(fcmax, 0.0)
    pm = units.pm_per_iu_per_ml()
    kdh = theta[:, T_KD_HIGH][:, None]
    kdi = theta[:, T_KD_INT][:, None]
    cpos = np.maximum(conc, 0.0)
    day_auc = np.diff(node_auc[:, grid.day_nodes], axis=1)
    day_len = np.diff(grid.node_t[grid.day_nodes])
    f0, f1 = grid.first_nodes
    dosed = (amounts * grid.ev_keep[None, :]).sum(axis=1)
    return SimulationResult(
        t_day=grid.out_t,
        il2_pm=conc * pm,
        nk_per_ul=bright + dim,
        bright_per_ul=bright,
        dim_per_ul=dim,
        occ_high=cpos / (kdh + cpos),
        occ_int=cpos / (kdi + cpos),
        il2_daily_max_pm=dmax * pm,
        il2_daily_mean_pm=day_auc / day_len[None, :] * pm,
        il2_peak_pm=dmax.max(axis=1) * pm,
        il2_cmax_first_dose_pm=fcmax * pm,
        il2_tmax_first_dose_h=units.days_to_hours(ftmax - grid.first_dose_day),
        il2_auc_first_24h_iu_h_per_ml=units.days_to_hours(node_auc[:, f1] - node_auc[:, f0]),
        dosed_iu=dosed,
        pk_amounts_end_iu=y_end[:, list(MASS_STATES)],
        horizon_day=horizon,
        solver=solver,
        regimen=regimen.spec,
        seed=pop.seed,
    )
