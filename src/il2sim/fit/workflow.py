"""``il2sim fit`` / ``il2sim vpc`` as library calls: options from text, every check before any
output, the fit, and its files (fit.json, parameters.toml, individual.csv, predictions.csv,
report.html), each written atomically.

Option text (the CLI's): ``params`` = comma-separated table names; ``omega`` = entries
``NAME`` or ``NAME=SD`` (starting SD on the log scale) or ``block(A,B)`` (a correlated block),
comma-separated; default: every fitted parameter that has between-patient variability in
the table (``bpv_cv > 0``), started at SD ``max(0.5, table SD)``.  ``error`` = one kind for
all observation types or ``TYPE=KIND,...`` (types il2, nk, bright; kinds add, prop,
combined, exp).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.errors import InputError
from il2sim.fit.estimate import PostOptions, fit
from il2sim.fit.il2sim_model import DEFAULT_FREE, Il2simDesign, Il2simModel
from il2sim.fit.model import FitSpec
from il2sim.fit.predictive import PopulationModel
from il2sim.fit.residual import KINDS, ResidualModel, check_kind
from il2sim.fit.result import FitResult
from il2sim.fit.saem import Progress, SaemOptions
from il2sim.model.parameters import Parameters, load_parameters

__all__ = ["FitJob", "load_fitted", "parse_error", "parse_omega", "parse_params", "prepare"]


def parse_params(text: str | None, base: Parameters) -> tuple[str, ...]:
    """Fitted parameter names (default :data:`DEFAULT_FREE`); unknown name -> InputError."""
    if text is None or not text.strip():
        return DEFAULT_FREE
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    for n in names:
        if n not in base:
            raise InputError(f"unknown parameter {n!r} (see `il2sim params`)", field="params", value=n)
    if len(set(names)) != len(names):
        raise InputError(f"a parameter is named twice in {text!r}", field="params", value=text)
    return names


def parse_omega(text: str | None, free: tuple[str, ...], base: Parameters,
                baselines: tuple[str, ...] = ()
                ) -> tuple[tuple[str, ...], dict[str, float], tuple[tuple[str, ...], ...]]:
    """(random names, starting SDs, blocks) from the ``--omega`` text; estimated baselines
    (``baselines``) always vary, in one correlated block."""
    extra_blocks = (baselines,) if len(baselines) > 1 else ()
    extra_sd = {n: 0.5 for n in baselines}
    if text is None or not text.strip():
        rnd = tuple(n for n in free if base.bpv_cv(n) > 0)
        start = {n: max(0.5, math.sqrt(math.log1p(base.bpv_cv(n) ** 2))) for n in rnd}
        return rnd + baselines, start | extra_sd, extra_blocks
    blocks: list[tuple[str, ...]] = []
    entries: list[str] = []
    rest = text
    for m in re.finditer(r"block\(([^)]*)\)", text):
        blk = tuple(t.strip() for t in m.group(1).split(",") if t.strip())
        if len(blk) < 2:
            raise InputError(f"a block needs at least two parameters, got {m.group(0)!r}", field="omega", value=m.group(0))
        blocks.append(blk)
        entries.extend(blk)
    rest = re.sub(r"block\([^)]*\)", "", rest)
    sd0: dict[str, float] = {}
    for tok in (t.strip() for t in rest.split(",")):
        if not tok:
            continue
        name, _, val = tok.partition("=")
        name = name.strip()
        entries.append(name)
        if val:
            try:
                sd0[name] = float(val)
            except ValueError:
                raise InputError(f"not a number: {val!r}", field=f"omega {name}", value=val) from None
    for n in entries:
        if n not in base:
            raise InputError(f"unknown parameter {n!r}", field="omega", value=n)
        if n not in free:
            raise InputError(f"omega for {n!r}, which is not fitted (add it to --params)",
                             field="omega", value=n)
        if base.bpv_cv(n) <= 0:
            raise InputError(f"omega for {n!r}, a parameter without between-patient variability in "
                             "the parameter table (bpv_cv = 0)", field="omega", value=n)
    rnd = tuple(dict.fromkeys(entries))
    for n in rnd:
        sd0.setdefault(n, max(0.5, math.sqrt(math.log1p(base.bpv_cv(n) ** 2))))
    return rnd + baselines, sd0 | extra_sd, tuple(blocks) + extra_blocks


def parse_error(text: str | None) -> dict[str, str]:
    """``{"*": kind}`` or ``{type: kind}`` from the ``--error`` text (default prop)."""
    if text is None or not text.strip():
        return {"*": "prop"}
    if "=" not in text:
        return {"*": check_kind(text)}
    out: dict[str, str] = {}
    for tok in text.split(","):
        name, _, kind = tok.partition("=")
        out[name.strip()] = check_kind(kind, field=f"error {name.strip()}")
    return out


@dataclass(frozen=True, eq=False)
class FitJob:
    """A checked fit request: the design, the bound model and the spec."""

    data_label: str
    design: Il2simDesign
    model: Il2simModel
    spec: FitSpec
    base: Parameters


def prepare(data_path: str, params: str | None = None, omega: str | None = None,
            error: str | None = None, parameters_file: str | None = None,
            baseline: str = "estimate") -> FitJob:
    """Read and check everything a fit needs (raises before any output is written)."""
    from il2sim.fit.il2sim_model import BASELINE_PARAMS
    from il2sim.fit.problem import Problem
    from il2sim.fit.reading import read_dataset

    if baseline not in ("estimate", "observed"):
        raise InputError(f"must be estimate or observed, got {baseline!r}", field="baseline",
                         value=baseline)
    base = load_parameters(parameters_file) if parameters_file else load_parameters()
    free = parse_params(params, base)
    err = parse_error(error)
    df = read_dataset(data_path)
    design = Il2simDesign.from_table(df, base, baseline)
    model = Il2simModel(design, free, base)
    bl = tuple(n for n in model.param_names if n in BASELINE_PARAMS)
    rnd, sd0, blocks = parse_omega(omega, free, base, bl)
    units = {n: base.spec(n).unit for n in free} | {n: "cells/ul" for n in bl}
    spec = FitSpec(model.param_names, model.initial(), rnd, sd0, blocks, err, units)
    Problem.build(design.data, model, spec)  # data/spec checks (all BLQ, error kinds...)
    return FitJob(str(data_path), design, model, spec, base)


def run(job: FitJob, options: SaemOptions, post: PostOptions, out_dir: Path | None,
        resume: bool, progress: Progress | None) -> FitResult:
    """The fit, checkpointed in ``out_dir/saem_state.npz`` when ``out_dir`` is given."""
    ck = out_dir / "saem_state.npz" if out_dir is not None else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    return fit(job.design.data, job.model, job.spec, options, post, progress=progress,
               checkpoint=ck, resume=resume, model_id=repr((job.model.param_names, job.model.solver)))


def fitted_model_dict(result: FitResult, job: FitJob) -> dict[str, Any]:
    """The ``model`` block of fit.json: what ``il2sim vpc`` needs to simulate the fit."""
    return {"free": list(result.param_names), "mu": result.mu.tolist(),
            "omega_matrix": result.omega_matrix.tolist(),
            "residual": {t: {"kind": k, "a": float(result.ab[i, 0]), "b": float(result.ab[i, 1])}
                         for i, (t, k) in enumerate(zip(job.design.data.type_names,
                                                        result.residual_kinds, strict=True))},
            "parameters_file": "parameters.toml", "solver": job.model.solver_name}


def write_outputs(result: FitResult, job: FitJob, out_dir: Path, n_sim: int = 200,
                  report: bool = True, progress: Callable[[str], None] | None = None) -> list[Path]:
    """fit.json, parameters.toml, individual.csv, predictions.csv and report.html."""
    import pandas as pd

    from il2sim._files import write_atomic, write_text_atomic
    from il2sim._json import to_jsonable
    from il2sim.fit.paramfile import write_parameter_file
    from il2sim.fit.predictive import npde, simulate_replicates

    data = job.design.data
    pm = PopulationModel(job.model, result.mu, result.omega_matrix,
                         ResidualModel(result.residual_kinds, result.ab,
                                       np.full(data.n_types, 1e-12)))
    if progress:
        progress("simulating replicates for NPDE")
    from il2sim._interrupt import stop_requested
    from il2sim.fit.saem import FitInterrupted

    sims, cens = simulate_replicates(pm, data, n_sim, result.seed, stop=stop_requested)
    if sims.shape[0] < n_sim or stop_requested():
        raise FitInterrupted("npde", sims.shape[0], n_sim)  # nothing written yet
    nd = npde(data, sims, cens, result.seed)
    body = result.to_dict() | {"model": fitted_model_dict(result, job), "data": job.data_label}
    paths = [out_dir / "fit.json", out_dir / "parameters.toml", out_dir / "individual.csv",
             out_dir / "predictions.csv"]
    write_text_atomic(paths[0], json.dumps(to_jsonable(body), indent=2) + "\n")
    write_parameter_file(result, paths[1], job.data_label, job.base)
    ind = pd.DataFrame({"ID": data.subject_ids,
                        **{n: v for n, v in result.individual("mode").items()},
                        **{f"{n}_cond_mean": v for n, v in result.individual("mean").items()}})
    write_atomic(paths[2], lambda p: ind.to_csv(p, index=False))
    m = data.mask
    pr = pd.DataFrame({"ID": np.repeat(np.array(data.subject_ids), m.sum(axis=1)),
                       "TIME": data.time[m], "TYPE": np.array(data.type_names)[data.obs_type[m]],
                       "DV": data.dv[m], "CENS": data.censored[m].astype(int),
                       "LLOQ": data.lloq[m], "PRED": result.pred[m], "IPRED": result.ipred[m],
                       "IWRES": result.iwres[m], "NPDE": nd[m]})
    write_atomic(paths[3], lambda p: pr.to_csv(p, index=False))
    if report:
        from il2sim.fit.report import render_fit_html

        if progress:
            progress("writing the report")
        html = render_fit_html(result, data, job.data_label, nd, n_sim)
        paths.append(out_dir / "report.html")
        write_text_atomic(paths[-1], html)
    return paths


def baseline_distribution(base: Parameters) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(log medians, covariance) of the baseline NK and CD56bright counts of the parameter
    table's population (reference ranges as 2.5-97.5th percentiles, log correlation)."""
    z = 1.959963984540054
    mus, sds = [], []
    for lo, hi in (("nk0_low_per_ul", "nk0_high_per_ul"),
                   ("bright0_low_per_ul", "bright0_high_per_ul")):
        a, b = math.log(base.value(lo)), math.log(base.value(hi))
        mus.append(0.5 * (a + b))
        sds.append((b - a) / (2 * z))
    rho = base.value("nk_bright_log_corr")
    cov = np.array([[sds[0] ** 2, rho * sds[0] * sds[1]], [rho * sds[0] * sds[1], sds[1] ** 2]])
    return np.array(mus), cov


def load_fitted(path: str, table: Any) -> tuple[PopulationModel, Il2simDesign, list[str]]:
    """A population model from a fit's ``fit.json`` or ``parameters.toml`` bound to the
    design of ``table`` (a :func:`read_dataset` table), the design and notes.  Residual
    errors come from ``fit.json`` (beside the TOML file), else the trial's assay errors
    (IL-2 proportional 15%, cell counts 12%); baselines from the fit, else from the table's
    population (reference ranges)."""
    from il2sim.checks import reader_file
    from il2sim.fit.il2sim_model import BASELINE_PARAMS

    p = reader_file(path, "parameters")  # fit.json or a table: name, folder, missing
    notes: list[str] = []
    meta: dict[str, Any] | None = None
    if p.suffix.lower() == ".json":
        try:
            meta = json.loads(p.read_text())["model"]
        except (ValueError, KeyError, OSError):
            raise InputError(f"not an il2sim fit.json: {str(p)!r}", field="parameters",
                             value=str(p)) from None
        toml = p.parent / meta.get("parameters_file", "parameters.toml")
        base = load_parameters(toml) if toml.exists() else load_parameters()
    else:
        base = load_parameters(p)
        side = p.parent / "fit.json"
        if side.exists():
            try:
                meta = json.loads(side.read_text()).get("model")
            except ValueError:
                meta = None
    if meta is not None:
        names = tuple(meta["free"])
        mu = np.asarray(meta["mu"], dtype=float)
        omega = np.asarray(meta["omega_matrix"], dtype=float)
        res_of = meta["residual"]
        baseline = "estimate" if any(n in BASELINE_PARAMS for n in names) else "observed"
    else:
        names = tuple(n for n in base.names if base.bpv_cv(n) > 0 and n in set(DEFAULT_FREE) |
                      {"ka_per_day", "vc_l_per_m2", "cl_renal_ml_per_min", "receptor_pool_scale"})
        names = names or DEFAULT_FREE
        m0, c0 = baseline_distribution(base)
        k = len(names)
        mu = np.concatenate([np.log([base.value(n) for n in names]), m0])
        omega = np.zeros((k + 2, k + 2))
        omega[:k, :k] = np.diag([math.log1p(base.bpv_cv(n) ** 2) for n in names])
        omega[k:, k:] = c0
        names = names + BASELINE_PARAMS
        res_of = {}
        baseline = "estimate"
        notes.append("no fit.json: residual errors are the trial's assay errors (IL-2 prop 15%, "
                     "counts prop 12%); baselines from the table's reference ranges")
    design = Il2simDesign.from_table(table, base, baseline)
    free = tuple(n for n in names if n not in BASELINE_PARAMS)
    types = design.data.type_names
    kinds, ab = [], []
    for t in types:
        r = res_of.get(t, {"kind": "prop", "a": 0.0, "b": 0.15 if t == "il2" else 0.12})
        kinds.append(r["kind"] if r["kind"] in KINDS else "prop")
        ab.append((float(r["a"]), float(r["b"])))
    typical = {n: math.exp(v) for n, v in zip(names, mu, strict=True) if n in free}
    solver = str(meta.get("solver", "fit")) if meta is not None else "fit"
    model = Il2simModel(design, free, base.with_params(**typical), solver=solver)
    res = ResidualModel(tuple(kinds), np.asarray(ab), np.full(len(types), 1e-12))
    return PopulationModel(model, mu, omega, res), design, notes
