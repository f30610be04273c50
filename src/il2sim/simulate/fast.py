"""Fast batched solver: the generated numba kernel of the declared model.

The kernel (:mod:`il2sim.simulate.codegen`, integrator :mod:`il2sim.simulate._etd_template`)
is exponential RK4 with a star-shaped linear part (the stiff central compartment's Jacobian
entry and column), parallel over patients, on a grid aligned to doses, infusion switches, day
boundaries and output times; steps inside each segment are chosen by the adaptive controller
(``SolverOptions.method == "etd4-adaptive"``, the default) or by the fixed grid of v0.1
(``"etd4-fixed"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from il2sim.model.declaration import Model
from il2sim.simulate.codegen import load_kernel
from il2sim.simulate.grid import Grid
from il2sim.simulate.options import SolverOptions

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RawSolution:
    """What a solver returns (shapes P patients, T outputs, D days, G+1 nodes, N states):
    ``outputs`` (P, T, n_outputs); ``daily_max`` (P, D), ``node_auc`` (P, G+1),
    ``first_cmax`` (P,) and ``first_tmax_day`` (P,) of the tracked concentration (solver
    units); ``y_end`` (P, N); accepted ``steps`` and ``rejected`` steps (P,); ``limiter``
    (P, N): how often each state set the adaptive controller's error norm."""

    outputs: FloatArray
    daily_max: FloatArray
    node_auc: FloatArray
    first_cmax: FloatArray
    first_tmax_day: FloatArray
    y_end: FloatArray
    steps: IntArray
    rejected: IntArray
    limiter: IntArray


def solve_fast(
    model: Model,
    theta: FloatArray,
    y0: FloatArray,
    grid: Grid,
    route: IntArray,
    amounts: FloatArray,
    options: SolverOptions,
    floor: FloatArray | None = None,
) -> RawSolution:
    """Integrate every patient with the generated kernel of ``model`` (``floor``: error-norm
    floors per state, default the declaration's ``scale_floor``)."""
    k = load_kernel(model)
    doubling = options.adaptive and options.error_estimate != "embedded"
    kernel = k.solve_batch_doubling if doubling else k.solve_batch
    raw = kernel(
        np.ascontiguousarray(theta, dtype=float),
        np.ascontiguousarray(y0, dtype=float),
        grid.node_t,
        grid.seg_nsub,
        grid.seg_day,
        grid.seg_first,
        grid.inf_rate,
        grid.ev_node,
        route,
        np.ascontiguousarray(amounts, dtype=float),
        grid.out_node_idx,
        int(grid.out_t.size),
        int(grid.n_days),
        bool(options.adaptive),
        float(options.rtol),
        grid.seg_hmax,
        float(options.dt_min_day),
        float(options.dt_init_day),
        np.array([s.scale_floor for s in model.states], dtype=float) if floor is None else floor,
        options.scheme == "krogstad",
        bool(options.exact_input and k.N_IN > 0),
        bool(options.refine_peaks),
        options.error_estimate == "embedded",
        bool(options.restart_at_doses),
        grid.seg_tol,
        float(options.controller_safety),
        int(options.max_growth_levels),
    )
    return RawSolution(*raw)
