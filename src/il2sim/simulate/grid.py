"""The shared time grid: nodes at dose times, infusion ends, day boundaries and output times."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from il2sim.errors import InputError
from il2sim.regimen.events import ROUTE_CODES, Regimen, RegimenArrays, Route
from il2sim.simulate.options import SolverOptions

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: Two grid times closer than this (days) are merged.
_MERGE_TOL_DAY = 1e-9
_INF_CODE = ROUTE_CODES.index(Route.IV_INFUSION)
_DEPOT_CODES = np.array([ROUTE_CODES.index(Route.SC), ROUTE_CODES.index(Route.IM)])


@dataclass(frozen=True)
class Grid:
    """Nodes (G+1,), per-segment sub-step counts and day index, event placement."""

    node_t: FloatArray
    seg_nsub: IntArray
    seg_day: IntArray
    seg_first: npt.NDArray[np.bool_]
    out_t: FloatArray
    out_node_idx: IntArray
    ev_node: IntArray  # (E,) node where each kept event is applied
    ev_keep: npt.NDArray[np.bool_]  # (E,) event starts before the horizon
    inf_rate: FloatArray  # (P, G) IU/day
    seg_tol: FloatArray  # (G,) factor on the adaptive controller's rtol per segment
    seg_hmax: FloatArray  # (G,) the adaptive controller's largest step per segment, days
    horizon_day: float
    n_days: int
    first_dose_day: float
    day_nodes: IntArray  # (D+1,) node index of day boundaries 0..D (last = horizon)
    first_nodes: tuple[int, int]  # node indices of first dose and first dose + 1 day (or horizon)


def _merge(times: FloatArray) -> FloatArray:
    t = np.unique(times)
    keep = np.ones(t.size, dtype=bool)
    keep[1:] = np.diff(t) > _MERGE_TOL_DAY
    return t[keep]


def _snap(values: FloatArray, nodes: FloatArray) -> IntArray:
    idx = np.searchsorted(nodes, values - _MERGE_TOL_DAY)
    idx = np.clip(idx, 0, nodes.size - 1)
    return idx.astype(np.int64)


def default_output_times(horizon_day: float, step_day: float) -> FloatArray:
    """Every ``step_day`` from 0 to the horizon (inclusive; the horizon is always a time)."""
    n = math.floor(horizon_day / step_day + 1e-9)
    t: FloatArray = np.arange(n + 1, dtype=float) * step_day
    if horizon_day - t[-1] > _MERGE_TOL_DAY:
        t = np.append(t, horizon_day)
    return t


def build_grid(
    regimen: Regimen,
    arrays: RegimenArrays,
    amounts_iu: FloatArray,
    horizon_day: float,
    output_times_day: FloatArray,
    options: SolverOptions,
) -> Grid:
    """Build the grid for ``regimen`` resolved to ``arrays`` with per-patient ``amounts_iu``.

    Fixed grid (``options.method == "etd4-fixed"``; every shape setting is in
    :class:`~il2sim.simulate.options.SolverOptions`): ``grid_dt_day`` steps for
    ``grid_depot_window_day`` after an s.c./i.m. dose (absorption input and receptor-limited
    central concentration change fastest there), ``grid_coarse_factor`` times that elsewhere,
    ``grid_dt_day / grid_iv_factor`` for ``grid_iv_window_day`` after an i.v. bolus or an
    infusion switch (distribution half-life 12.9 min, Konrad 1990; receptors de-saturate within
    hours) with extra nodes at ``t + grid_dt_day * 2**k`` (``grid_refine_powers``).  Adaptive
    steps use only the nodes every method needs (doses, infusion ends, days, outputs)."""
    refine = options.method == "etd4-fixed"
    dt_max_day = options.grid_dt_day
    if not (horizon_day > 0 and math.isfinite(horizon_day)):
        raise InputError(f"must be a positive number of days, got {horizon_day!r}", field="horizon")
    out_t = np.asarray(output_times_day, dtype=float)
    if out_t.ndim != 1 or out_t.size == 0 or not np.all(np.isfinite(out_t)):
        raise InputError("must be a non-empty 1-D array of finite times", field="output_times_day")
    if np.any(out_t < 0) or np.any(out_t > horizon_day + _MERGE_TOL_DAY):
        raise InputError(f"must lie in [0, horizon={horizon_day:g}] days", field="output_times_day")
    if np.any(np.diff(out_t) <= 0):
        raise InputError("must be strictly increasing", field="output_times_day")
    ev_t = arrays.time_day
    ev_keep = ev_t < horizon_day - _MERGE_TOL_DAY
    ends = ev_t + arrays.duration_day
    first = float(ev_t.min())
    n_days = max(1, math.ceil(horizon_day - 1e-9))
    cand = [
        np.array([0.0, horizon_day]),
        ev_t[ev_keep],
        ends[ev_keep],
        out_t,
        np.arange(1, n_days, dtype=float),
        np.array([first + 1.0]),
    ]
    depot = ev_t[ev_keep & np.isin(arrays.route, _DEPOT_CODES)]
    if refine:
        cand.append(depot + options.grid_depot_window_day)
    fast_route = (arrays.route == ROUTE_CODES.index(Route.IV_BOLUS)) | (arrays.route == _INF_CODE)
    switch = np.concatenate(
        [ev_t[ev_keep & fast_route], ends[ev_keep & (arrays.route == _INF_CODE)]]
    )
    if switch.size and refine:
        offsets = dt_max_day * np.power(2.0, np.array(options.grid_refine_powers))
        cand.append((switch[:, None] + offsets[None, :]).ravel())
    allt = np.concatenate(cand)
    allt = allt[(allt >= 0) & (allt <= horizon_day + _MERGE_TOL_DAY)]
    nodes = _merge(np.minimum(allt, horizon_day))
    nodes[-1] = horizon_day
    seg_len = np.diff(nodes)
    seg_dt = np.full(seg_len.size, dt_max_day * options.grid_coarse_factor)
    if depot.size:
        since = nodes[:-1, None] - depot[None, :]
        window = options.grid_depot_window_day
        fine = (since >= -_MERGE_TOL_DAY) & (since < window - _MERGE_TOL_DAY)
        seg_dt[np.any(fine, axis=1)] = dt_max_day
    seg_tol = np.ones(seg_len.size)
    seg_hmax = np.full(seg_len.size, float(options.dt_max_day))
    if switch.size:
        # within a day after an i.v. bolus or an infusion switch the receptors de-saturate
        # (the stiff rate changes several-fold within hours): finer steps there (fixed grid),
        # a tighter tolerance (adaptive)
        since = nodes[:-1, None] - switch[None, :]
        near = np.any((since >= -_MERGE_TOL_DAY) & (since < options.grid_iv_window_day), axis=1)
        seg_dt[near] = dt_max_day / options.grid_iv_factor
        seg_tol[near] = options.iv_rtol_factor
        if options.iv_dt_max_day is not None:
            seg_hmax[near] = min(options.dt_max_day, options.iv_dt_max_day)
    seg_nsub = np.maximum(1, np.ceil(seg_len / seg_dt - 1e-9)).astype(np.int64)
    seg_day = np.minimum(np.floor(nodes[:-1] + _MERGE_TOL_DAY), n_days - 1).astype(np.int64)
    first_end = min(first + 1.0, horizon_day)
    seg_first = (nodes[:-1] >= first - _MERGE_TOL_DAY) & (nodes[1:] <= first_end + _MERGE_TOL_DAY)
    out_idx = np.full(nodes.size, -1, dtype=np.int64)
    out_idx[_snap(out_t, nodes)] = np.arange(out_t.size)
    ev_node = _snap(ev_t, nodes)
    ev_node[~ev_keep] = nodes.size  # never applied
    n_pat = amounts_iu.shape[0]
    inf_rate = np.zeros((n_pat, nodes.size - 1))
    for e in np.flatnonzero(ev_keep & (arrays.route == _INF_CODE)):
        active = (nodes[:-1] >= ev_t[e] - _MERGE_TOL_DAY) & (nodes[1:] <= ends[e] + _MERGE_TOL_DAY)
        inf_rate[:, active] += (amounts_iu[:, e] / arrays.duration_day[e])[:, None]
    day_t = np.append(np.arange(n_days, dtype=float), horizon_day)
    return Grid(
        node_t=nodes,
        seg_nsub=seg_nsub,
        seg_day=seg_day,
        seg_first=seg_first,
        out_t=out_t,
        out_node_idx=out_idx,
        ev_node=ev_node.astype(np.int64),
        ev_keep=ev_keep,
        inf_rate=inf_rate,
        seg_tol=seg_tol,
        seg_hmax=seg_hmax,
        horizon_day=float(horizon_day),
        n_days=n_days,
        first_dose_day=first,
        day_nodes=_snap(day_t, nodes),
        first_nodes=(
            int(_snap(np.array([first]), nodes)[0]),
            int(_snap(np.array([first_end]), nodes)[0]),
        ),
    )
