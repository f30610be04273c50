"""Runner kinds: what one chunk of a sweep computes, through il2sim's public Python APIs.

A runner is ``run(params, n, seed) -> dict[str, float]``: ``params`` is one grid point's
parameters, ``n`` the number of replicates in the chunk (trials or virtual patients) and
``seed`` the chunk's :class:`numpy.random.SeedSequence`.  It returns flat numeric metrics that
are *means over the chunk's replicates*, so the store combines chunks by an ``n``-weighted mean
(exact for means and percentages; for quantiles it is the mean of per-chunk quantiles, an
approximation documented in ``docs/scale.md``).

Kinds: ``design`` (operating characteristics of a dose-finding design, via
:func:`il2sim.designs.registry.build_design` and
:func:`il2sim.designs.simulate.simulate_trials`), ``simulate`` (virtual-patient summaries via
:func:`il2sim.simulate.simulate`) and ``trial`` (whole simulated trials via
:mod:`il2sim.trial`) and ``regimen`` (one candidate of ``il2sim optimise``,
:mod:`il2sim.trial.regimens`).  Model/trial modules are imported only when their kind runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from il2sim.errors import InputError

__all__ = ["RUNNERS", "Runner", "flatten_metrics", "get_runner", "run_chunk", "seed_int"]

Runner = Callable[[Mapping[str, Any], int, np.random.SeedSequence], dict[str, float]]

#: Keys of result dictionaries that are not per-replicate means (labels, seeds, MC errors).
_SKIP_KEYS = {
    "n_trials",
    "seed",
    "method",
    "design",
    "truth",
    "target",
    "interrupted",
    "done",
    "asked",
}


def seed_int(seed: np.random.SeedSequence) -> int:
    """A 63-bit integer drawn from ``seed`` for APIs that take an integer seed."""
    return int(seed.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def flatten_metrics(data: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Flatten numbers, booleans and numeric lists/dicts into ``name`` / ``name_1``... floats.

    List elements are numbered from 1 (dose levels are numbered from 1).  Strings, ``None``
    and keys in ``_SKIP_KEYS`` or ending in ``_se``/``_se_pct`` (Monte Carlo errors that do not
    average across chunks) are dropped.
    """
    out: dict[str, float] = {}
    for key, value in data.items():
        k = str(key)
        if not prefix and k in _SKIP_KEYS:
            continue
        if k.endswith("_se") or k.endswith("_se_pct"):
            continue
        name = f"{prefix}{k}"
        if isinstance(value, bool | np.bool_):
            out[name] = float(value)
        elif isinstance(value, int | float | np.integer | np.floating):
            out[name] = float(value)
        elif isinstance(value, list | tuple | np.ndarray):
            for i, v in enumerate(np.asarray(value, dtype=object).ravel(), start=1):
                if isinstance(v, int | float | np.integer | np.floating) and not isinstance(
                    v, bool
                ):
                    out[f"{name}_{i}"] = float(v)
        elif isinstance(value, Mapping):
            out.update(flatten_metrics(value, prefix=f"{name}."))
    return out


def _as_truth(params: Mapping[str, Any]) -> list[float]:
    truth = params.get("truth")
    if not isinstance(truth, list | tuple) or not truth:
        raise InputError(f"needs a list of DLT probabilities, got {truth!r}", field="truth")
    return [float(x) for x in truth]


def run_design(params: Mapping[str, Any], n: int, seed: np.random.SeedSequence) -> dict[str, float]:
    """Operating characteristics of ``params['design']`` (default ``4+5``) under ``truth``.

    Other parameters go to :func:`build_design` (``target``, ``cohort_size``, rule options...)
    except ``max_cohorts``, which caps each simulated trial.  Metrics are the
    :class:`OperatingCharacteristics` fields (percentages 0..100, means per trial).
    """
    from il2sim.designs.registry import build_design
    from il2sim.designs.simulate import simulate_trials

    opts = dict(params)
    truth = _as_truth(opts)
    opts.pop("truth")
    name = str(opts.pop("design", "4+5"))
    max_cohorts = opts.pop("max_cohorts", None)
    opts.setdefault("n_doses", len(truth))
    design = build_design(name, **opts)
    oc = simulate_trials(
        design,
        np.asarray(truth),
        int(n),
        seed_int(seed),
        max_cohorts=int(max_cohorts) if max_cohorts is not None else None,
        target=opts.get("target"),
    )
    return flatten_metrics(oc.to_dict())


def run_simulate(
    params: Mapping[str, Any], n: int, seed: np.random.SeedSequence
) -> dict[str, float]:
    """Summary of ``n`` virtual patients on ``params['regimen']`` (a regimen text spec).

    Optional ``horizon_day``, ``solver``; any other key overrides a model parameter by name
    (``parameters.with_params``).  Metrics are :meth:`SimulationResult.summary` flattened.
    """
    from il2sim.sweep.stream import simulate_batch_summary

    opts = dict(params)
    regimen = opts.pop("regimen", None)
    if not isinstance(regimen, str):
        raise InputError(f"needs a regimen text, got {regimen!r}", field="regimen")
    horizon = opts.pop("horizon_day", None)
    solver = opts.pop("solver", None)
    summary = simulate_batch_summary(
        regimen, int(n), seed, horizon_day=horizon, solver=solver, overrides=opts
    )
    return flatten_metrics(summary)


def run_trial(params: Mapping[str, Any], n: int, seed: np.random.SeedSequence) -> dict[str, float]:
    """``n`` whole simulated trials via :func:`il2sim.trial.run.run_trial`.

    Parameters: ``doses`` (MIU/m2/day per level, required), ``design`` (default ``4+5``),
    ``max_patients``, ``neutralising``; any other key goes to
    :func:`il2sim.designs.registry.build_design`.  Trial ``i`` of the chunk gets the integer
    seed of child ``i`` of ``seed``.  Metrics (means over the chunk's trials):
    ``mtd_selected_pct_k`` (% of trials selecting level k; k = 0: none), ``n_patients``,
    ``n_dlt``, ``patients_per_level_k``, ``dlts_per_level_k``, ``mtd_miu_per_m2`` (over trials
    that selected one; NaN if none did).
    """
    from il2sim.designs.registry import build_design
    from il2sim.trial.run import run_trials
    from il2sim.trial.settings import CohortSettings

    opts = dict(params)
    doses = opts.pop("doses", None)
    if not isinstance(doses, list | tuple) or not doses:
        raise InputError(f"needs a list of doses (MIU/m2/day), got {doses!r}", field="doses")
    name = str(opts.pop("design", "4+5"))
    trial_kw: dict[str, Any] = {}
    if "max_patients" in opts:
        trial_kw["max_patients"] = opts.pop("max_patients")
    if "neutralising" in opts:
        trial_kw["settings"] = CohortSettings(neutralising=opts.pop("neutralising"))
    opts.setdefault("n_doses", len(doses))
    design = build_design(name, **opts)
    nd = len(doses)
    sel = np.zeros(nd + 1)
    npl = np.zeros(nd)
    dpl = np.zeros(nd)
    n_pat = 0.0
    n_dlt = 0.0
    mtd_doses: list[float] = []
    children = seed.spawn(int(n))
    trials = run_trials(
        design, [float(d) for d in doses], [seed_int(c) for c in children], **trial_kw
    )
    for tr in trials:
        d = tr.to_dict()
        sel[int(tr.mtd_level or 0)] += 1
        npl += np.asarray(d["patients_per_dose"], dtype=float)
        dpl += np.asarray(d["dlts_per_dose"], dtype=float)
        n_pat += tr.n_patients
        n_dlt += tr.n_dlt
        if tr.mtd_miu_per_m2 is not None:
            mtd_doses.append(float(tr.mtd_miu_per_m2))
    k = float(len(trials))
    out: dict[str, float] = {f"mtd_selected_pct_{i}": 100.0 * sel[i] / k for i in range(nd + 1)}
    out.update({f"patients_per_level_{i + 1}": npl[i] / k for i in range(nd)})
    out.update({f"dlts_per_level_{i + 1}": dpl[i] / k for i in range(nd)})
    out["n_patients"] = n_pat / k
    out["n_dlt"] = n_dlt / k
    out["mtd_miu_per_m2"] = math.fsum(mtd_doses) / len(mtd_doses) if mtd_doses else float("nan")
    return {key: float(v) for key, v in out.items()}


def run_regimen(
    params: Mapping[str, Any], n: int, seed: np.random.SeedSequence
) -> dict[str, float]:
    """One candidate regimen of ``il2sim optimise``: P(efficacy) and P(DLT) of ``n`` virtual
    patients via :func:`il2sim.trial.regimens.evaluate_regimen`.

    Parameters: ``regimen`` (text spec), ``efficacy`` (definition), ``population_seed`` (the
    patients' seed, shared by every regimen of a search; default: drawn from the chunk seed),
    ``horizon_day``, ``n_boot``, ``boot_seed``.  Metrics: ``RegimenEvaluation.metrics()``.
    """
    from il2sim.trial.regimens import evaluate_regimen

    opts = dict(params)
    pop_seed = opts.pop("population_seed", None)
    ev = evaluate_regimen(
        str(opts.pop("regimen")), int(n), seed_int(seed) if pop_seed is None else int(pop_seed),
        str(opts.pop("efficacy")), **opts,
    )  # fmt: skip
    return ev.metrics()


#: Registry of runner kinds.
RUNNERS: dict[str, Runner] = {
    "design": run_design,
    "simulate": run_simulate,
    "trial": run_trial,
    "regimen": run_regimen,
}


def check_point(kind: str, params: Mapping[str, Any]) -> None:
    """Validate one grid point without running it (what the runner of ``kind`` would build:
    the design, the regimen, the doses, the parameter overrides); raise the runner's error."""
    from il2sim import checks, limits
    from il2sim.designs.registry import build_design

    opts = dict(params)
    if kind == "design":
        truth = _as_truth(opts)
        opts.pop("truth")
        name = str(opts.pop("design", "4+5"))
        max_cohorts = opts.pop("max_cohorts", None)
        if max_cohorts is not None:
            checks.count(max_cohorts, "max_cohorts", maximum=int(limits.limit("cohorts")))
        opts.setdefault("n_doses", len(truth))
        build_design(name, **opts)
    elif kind == "simulate":
        from il2sim.model.parameters import load_parameters
        from il2sim.regimen.spec import parse_spec
        from il2sim.simulate import SOLVERS

        regimen = opts.pop("regimen", None)
        if not isinstance(regimen, str):
            raise InputError(f"needs a regimen text, got {regimen!r}", field="regimen")
        parse_spec(regimen)
        horizon = opts.pop("horizon_day", None)
        if horizon is not None and not (
            isinstance(horizon, int | float) and 0 < float(horizon) < math.inf
        ):
            raise InputError(
                f"must be a positive number of days, got {horizon!r}", field="horizon_day"
            )
        solver = opts.pop("solver", None)
        if solver is not None and solver not in SOLVERS:
            raise InputError(f"must be one of {', '.join(SOLVERS)}, got {solver!r}", field="solver")
        if opts:
            load_parameters().with_params(**{k: float(v) for k, v in opts.items()})
    elif kind == "trial":
        from il2sim.trial.run import check_doses

        doses = opts.pop("doses", None)
        if not isinstance(doses, list | tuple) or not doses:
            raise InputError(f"needs a list of doses (MIU/m2/day), got {doses!r}", field="doses")
        check_doses([float(d) for d in doses])
        opts.pop("design", None)
        name = str(params.get("design", "4+5"))
        max_patients = opts.pop("max_patients", None)
        if max_patients is not None:
            checks.count(max_patients, "max_patients", maximum=10**6)
        neutralising = opts.pop("neutralising", False)
        if not isinstance(neutralising, bool):
            raise InputError(f"must be true or false, got {neutralising!r}", field="neutralising")
        opts.setdefault("n_doses", len(doses))
        build_design(name, **opts)
    elif kind == "regimen":
        from il2sim.regimen.spec import parse_spec
        from il2sim.trial.efficacy import parse_efficacy

        for key in ("regimen", "efficacy"):
            if not isinstance(opts.get(key), str):
                raise InputError(f"needs a text, got {opts.get(key)!r}", field=key)
        parse_spec(str(opts["regimen"]))
        parse_efficacy(str(opts["efficacy"]))
    else:
        get_runner(kind)


def get_runner(kind: str) -> Runner:
    """The runner registered as ``kind``."""
    try:
        return RUNNERS[kind]
    except KeyError:
        raise InputError(
            f"unknown sweep kind {kind!r} (expected {', '.join(RUNNERS)})", field="kind", value=kind
        ) from None


def run_chunk(
    kind: str, params: Mapping[str, Any], n: int, sweep_seed: int, point_index: int, chunk: int
) -> dict[str, float]:
    """Run one chunk; the seed is ``SeedSequence([sweep_seed, point_index, chunk])``.

    A module-level function of plain arguments, so Dask can ship it to workers.
    """
    from il2sim.sweep.grid import chunk_seed_sequence

    return get_runner(kind)(params, int(n), chunk_seed_sequence(sweep_seed, point_index, chunk))
