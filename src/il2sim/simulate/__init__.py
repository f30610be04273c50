"""Simulate a regimen in a virtual population: ``simulate(regimen, pop) -> SimulationResult``.

Two solvers integrate the same declared model (:mod:`il2sim.model.il2nk`, machinery in
:mod:`il2sim.model.declaration`): the fast numba kernel generated from the declaration
(exponential RK4, adaptive or fixed steps; :mod:`il2sim.simulate.fast`) and the reference
(scipy ``solve_ivp`` Radau with tight tolerances and the analytic Jacobian, one patient at a
time; :mod:`il2sim.simulate.reference`).  How to integrate is one
:class:`~il2sim.simulate.options.SolverOptions` value (presets ``"fast"``, ``"fixed"``,
``"trial"``, ``"reference"``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from il2sim import limits, units
from il2sim.errors import InputError
from il2sim.model.declaration import Model
from il2sim.model.il2nk import IL2NK
from il2sim.model.parameters import Parameters, load_parameters
from il2sim.population import Population
from il2sim.regimen.events import ROUTE_CODES, Regimen
from il2sim.simulate.grid import build_grid, default_output_times
from il2sim.simulate.options import PRESETS, SolverOptions, resolve
from il2sim.simulate.result import SimulationResult

#: Names of the solver presets.
SOLVERS: tuple[str, ...] = tuple(PRESETS)

__all__ = ["SOLVERS", "SimulationResult", "SolverOptions", "check_size", "simulate"]


def check_size(n_patients: int, n_times: int, model: Model = IL2NK) -> None:
    """Refuse a simulation whose stored time courses (patients x states x output times) are
    over the ``stored_values`` limit of :mod:`il2sim.limits`, before allocating them."""
    limits.check(
        "stored_values",
        float(n_patients) * model.n_states * n_times,
        f"{n_patients:,} patients x {model.n_states} states x {n_times:,} output times",
        field="patients",
    )


def simulate(
    regimen: Regimen,
    pop: Population,
    parameters: Parameters | None = None,
    horizon_day: float | None = None,
    solver: str | SolverOptions = "fast",
    output_times_day: npt.ArrayLike | None = None,
    amount_scale: npt.ArrayLike | None = None,
    model: Model | None = None,
) -> SimulationResult:
    """Simulate ``regimen`` for every patient of ``pop``.

    parameters: typical values (default: the population's own set, else the packaged table);
        the population's random effects are applied to them.
    horizon_day: end of the simulation, days (default ``regimen.default_horizon_day``).
    solver: a preset name (``"fast"``, ``"fixed"``, ``"trial"``, ``"reference"``; the options
        of the model the parameters name, :data:`il2sim.simulate.options.MODEL_PRESETS`) or a
        :class:`SolverOptions` value.
    output_times_day: times (days, increasing, within [0, horizon]) of the time courses
        (default every ``options.output_step_day``).  Peaks do not depend on it (tracked
        inside the solver).
    amount_scale: (P, E) multiplier of each patient's event amounts (0 = dose held).
    model: the declared model (default: the one the parameters name, :attr:`Parameters.model`;
        v1 unless a v2 table was loaded, :mod:`il2sim.model.models`).
    """
    if not isinstance(regimen, Regimen):
        raise InputError(f"must be a Regimen, got {type(regimen).__name__}", field="regimen")
    if not isinstance(pop, Population):
        raise InputError(f"must be a Population, got {type(pop).__name__}", field="population")
    p = parameters if parameters is not None else (pop.parameters or load_parameters())
    name, options = resolve(solver, getattr(p, "model", None))
    if model is None:
        from il2sim.model.models import declaration

        model = declaration(p.model)
    horizon = float(regimen.default_horizon_day if horizon_day is None else horizon_day)
    if not (np.isfinite(horizon) and horizon > 0):
        raise InputError(f"must be a positive number of days, got {horizon_day!r}", field="horizon")
    limits.check("horizon_days", horizon, field="horizon_days")
    n_out = (
        int(horizon / options.output_step_day) + 2
        if output_times_day is None
        else int(np.size(output_times_day))
    )
    check_size(pop.n, n_out, model)
    for e in regimen.events:
        if model.dose_target(e.route) is None:
            raise InputError(f"the model {model.name!r} has no dose target", field=e.route.value)
    out_t = (
        default_output_times(horizon, options.output_step_day)
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
    grid = build_grid(regimen, arrays, amounts, horizon, out_t, options)
    theta = model.build_theta(pop, p)
    y0 = model.initial_state(pop, theta, p)
    if options.kernel:
        from il2sim.simulate.fast import solve_fast

        raw = solve_fast(model, theta, y0, grid, arrays.route, amounts, options)
    else:  # radau or lsoda
        from il2sim.simulate.reference import solve_reference

        raw = solve_reference(model, theta, y0, grid, arrays.route, amounts, options)
    assert len(ROUTE_CODES) == 4
    return _result(model, raw, grid, theta, amounts, horizon, name, regimen, pop)


def _result(
    model: Model,
    raw: object,
    grid: object,
    theta: npt.NDArray[np.float64],
    amounts: npt.NDArray[np.float64],
    horizon: float,
    name: str,
    regimen: Regimen,
    pop: Population,
) -> SimulationResult:
    from il2sim.simulate.fast import RawSolution
    from il2sim.simulate.grid import Grid

    assert isinstance(raw, RawSolution) and isinstance(grid, Grid)
    fcmax = raw.first_cmax
    # no first-dose window inside the horizon: Cmax 0 at the first dose time
    ftmax = np.where(fcmax > 0.0, raw.first_tmax_day, grid.first_dose_day)
    fcmax = np.maximum(fcmax, 0.0)
    unit = model.extremum.unit_constant
    pm = theta[:, model.constant_index(unit)] if unit else np.ones(theta.shape[0])
    day_auc = np.diff(raw.node_auc[:, grid.day_nodes], axis=1)
    day_len = np.diff(grid.node_t[grid.day_nodes])
    f0, f1 = grid.first_nodes
    dosed = (amounts * grid.ev_keep[None, :]).sum(axis=1)
    dmax = raw.daily_max * pm[:, None]
    return SimulationResult(
        t_day=grid.out_t,
        outputs={o.name: raw.outputs[:, :, k] for k, o in enumerate(model.outputs)},
        output_units={o.name: o.unit for o in model.outputs},
        il2_daily_max_pm=dmax,
        il2_daily_mean_pm=day_auc / day_len[None, :] * pm[:, None],
        il2_peak_pm=dmax.max(axis=1),
        il2_cmax_first_dose_pm=fcmax * pm,
        il2_tmax_first_dose_h=units.days_to_hours(ftmax - grid.first_dose_day),
        il2_auc_first_24h_iu_h_per_ml=units.days_to_hours(
            raw.node_auc[:, f1] - raw.node_auc[:, f0]
        ),
        dosed_iu=dosed,
        state_end=raw.y_end,
        state_names=model.state_names,
        mass_states=model.mass_states,
        horizon_day=horizon,
        solver=name,
        steps=raw.steps,
        rejected=raw.rejected,
        regimen=regimen.spec,
        seed=pop.seed,
    )
