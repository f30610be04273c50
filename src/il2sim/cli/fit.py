"""``il2sim fit``, ``il2sim vpc``, ``il2sim sensitivity`` and ``il2sim params``.

Only option parsing, progress bars and printing; the work is in :mod:`il2sim.fit`.

Examples::

    il2sim trial --design a+b --a 4 --b 5 --seed 1 --out trial1
    il2sim fit trial1 --out fit1 --json
    il2sim fit trial.csv --params f_sc,emax_production --omega f_sc=0.3 --error prop
    il2sim vpc trial1 --parameters fit1/parameters.toml --out vpc1
    il2sim sensitivity --method sobol --n 256 --json
    il2sim params --parameters fit1/parameters.toml --json
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from il2sim import checks
from il2sim.cli._common import print_json
from il2sim.cli._model import ModelOption, model_parameters, model_table_path
from il2sim.errors import InputError

_PHASES = {"saem": "SAEM iterations", "conditional": "conditional distributions + FIM",
           "modes": "conditional modes (EBEs)", "likelihood": "-2LL (importance sampling)",
           "npde": "NPDE replicates", "profile": "95% intervals (profile likelihood)"}


@contextmanager
def _bars(enabled: bool) -> Iterator[Callable[[str, int, int, dict[str, Any]], None]]:
    """The shared progress bar (:func:`il2sim.cli._common.progress_bar`), one bar per fit
    phase on stderr."""
    from il2sim.cli import _common

    with _common.progress_bar(enabled) as update:

        def phase_update(phase: str, done: int, total: int, info: dict[str, Any]) -> None:
            update(_PHASES.get(phase, phase), done, total)

        yield phase_update


def _positive_int(v: int, field: str, minimum: int = 1) -> int:
    if v < minimum:
        raise InputError(f"must be an integer >= {minimum}, got {v}", field=field, value=v)
    return v


def fit_cmd(
    data: Annotated[str, typer.Argument(help="SDTM folder or NONMEM-style CSV.")],
    params: Annotated[str | None, typer.Option("--params", help="Fitted parameters, comma-separated (default: f_sc,emax_production,nk_loss_per_day,marrow_transit_day).")] = None,
    omega: Annotated[str | None, typer.Option("--omega", help="Random effects: NAME[=SD],... or block(A,B).")] = None,
    error: Annotated[str | None, typer.Option("--error", help="Residual error: prop|add|combined|exp or TYPE=KIND,...")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    out: Annotated[Path, typer.Option("--out", help="Output folder (fit.json, parameters.toml, report.html, ...).")] = Path("il2sim-fit"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random draw.")] = 1,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted fit from OUT/saem_state.npz.")] = False,
    iterations: Annotated[str, typer.Option("--iterations", help="SAEM K1,K2 (exploration, smoothing).")] = "300,100",
    chains: Annotated[int, typer.Option("--chains", help="MCMC chains per subject.")] = 1,
    is_samples: Annotated[int, typer.Option("--is-samples", help="Importance samples per subject for -2LL.")] = 500,
    conditional: Annotated[int, typer.Option("--conditional", help="MCMC sweeps for EBEs and standard errors.")] = 150,
    parameters: Annotated[str | None, typer.Option("--parameters", help="Parameter table to start from (default: packaged).")] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Skip report.html.")] = False,
    npde_replicates: Annotated[int, typer.Option("--npde-replicates", help="Simulated replicates of the dataset for the NPDE.")] = 200,
    baseline: Annotated[str, typer.Option("--baseline", help="Baseline NK counts: estimate (individual parameters) or observed (covariates).")] = "estimate",
    checkpoint_every: Annotated[float, typer.Option("--checkpoint-every", help="Seconds between saves of the SAEM state.")] = 10.0,
    intervals: Annotated[str, typer.Option("--intervals", help="95% intervals: auto (profile likelihood for random effects with eta shrinkage > 30% or no Wald interval, else Wald), check (Wald where the profile confirms it), profile (all), or wald.")] = "auto",
    profile_draws: Annotated[int, typer.Option("--profile-draws", help="Importance draws per subject of the profile likelihood.")] = 200,
) -> None:
    """Fit the model to a trial's individual data by SAEM (Monolix/saemix-style)."""
    from il2sim.fit.estimate import PostOptions
    from il2sim.fit.saem import SaemOptions
    from il2sim.fit.workflow import prepare, run, write_outputs

    try:
        k1, k2 = (int(x) for x in iterations.split(","))
    except ValueError:
        raise InputError(f"expected K1,K2, got {iterations!r}", field="iterations", value=iterations) from None
    opts = SaemOptions(k1=_positive_int(k1, "iterations", 0), k2=_positive_int(k2, "iterations"),
                       n_chains=_positive_int(chains, "chains"), seed=seed,
                       checkpoint_every_s=max(0.0, float(checkpoint_every)))
    post = PostOptions(n_conditional=_positive_int(conditional, "conditional", 2),
                       n_is=_positive_int(is_samples, "is-samples", 2),
                       intervals=str(intervals).strip().lower(),
                       profile_draws=_positive_int(profile_draws, "profile-draws", 20))
    _positive_int(npde_replicates, "npde-replicates", 10)
    job = prepare(data, params, omega, error, parameters, baseline)  # every check before any output
    checks.output_folder(out, "--out")  # a file, or a file as parent (found by make fuzz)
    if resume and not (out / "saem_state.npz").exists():
        raise InputError(f"no saved state to resume from: {str(out / 'saem_state.npz')!r}", field="resume", value=str(out / "saem_state.npz"))
    from il2sim._interrupt import interruptible
    from il2sim.fit.saem import FitInterrupted

    state = out / "saem_state.npz"
    with interruptible():
        try:
            with _bars(True) as bar:
                result = run(job, opts, post, out, resume, bar)
            paths = write_outputs(result, job, out, n_sim=npde_replicates, report=not no_report)
        except FitInterrupted as stop:
            _exit_fit_interrupted(stop, opts.n_iter, state, json_out)
    if json_out:
        print_json(result.to_dict(individual=False) | {"files": [str(p) for p in paths]})
        return
    _print_fit(result, paths)


def _exit_fit_interrupted(stop: Any, n_iter: int, state: Path, json_out: bool) -> None:
    """The interruption contract (docs/interrupt.md) for a fit: what finished is the SAEM
    state (``state``, written atomically); print it flagged ``"interrupted": true`` (with
    ``--json``), one line on stderr, exit 130.  ``--resume`` continues from it."""
    import numpy as np

    from il2sim.cli._common import exit_interrupted

    k = int(np.load(state)["k"]) if state.exists() else 0
    kept = state.exists() and k > 0
    if json_out:
        print_json({"interrupted": True, "done": k, "asked": n_iter, "phase": stop.phase,
                    "phase_done": stop.done, "phase_asked": stop.asked,
                    "checkpoint": str(state) if kept else None,
                    "resume": "--resume" if kept else None})
    if not kept:
        print("il2sim: interrupted", file=sys.stderr)
        raise SystemExit(130)
    where = f"{state}" + ("" if stop.phase == "saem" else f"; {_PHASES.get(stop.phase, stop.phase)} "
                          "not finished") + "; continue with --resume"
    exit_interrupted("SAEM iterations", k, n_iter, where)


def _print_fit(result: Any, paths: list[Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    tab = Table(title=f"il2sim fit: {result.method}, {result.n_subjects} subjects, "
                      f"{result.n_observations} observations ({result.n_censored} BLQ)")
    for c in ("parameter", "estimate", "SE", "95% CI", "omega SD", "CV %", "shrinkage %"):
        tab.add_column(c, justify="left" if c == "parameter" else "right")
    for n, p in result.parameters.items():
        om = result.omega.get(n, {})
        sh = result.shrinkage["eta"].get(n, math.nan)
        tab.add_row(n, f"{p.estimate:.4g}", f"{p.se:.3g}", f"{p.ci95[0]:.4g}-{p.ci95[1]:.4g}",
                    f"{om.get('sd', math.nan):.3g}", f"{om.get('cv_pct', math.nan):.3g}", f"{sh:.3g}")
    con = Console()
    con.print(tab)
    for t, r in result.residual.items():
        con.print(f"residual {t}: {r['kind']} a={r['a']:.4g} b={r['b']:.4g}")
    con.print(f"-2LL {result.ofv:.2f} (MC SE {result.ofv_se:.2f})  AIC {result.aic:.2f}  "
              f"BIC {result.bic:.2f}  ({result.elapsed_s:.0f} s)")
    for n in result.notes:
        con.print(f"note: {n}")
    con.print("files: " + ", ".join(str(p) for p in paths))


def vpc_cmd(
    data: Annotated[str, typer.Argument(help="SDTM folder or NONMEM-style CSV.")],
    parameters: Annotated[str, typer.Option("--parameters", help="fit.json or parameters.toml of a fit.")],
    n_sim: Annotated[int, typer.Option("--n-sim", help="Simulated replicates of the dataset.")] = 200,
    pc: Annotated[bool, typer.Option("--pc", help="Prediction-corrected VPC (Bergstrand 2011).")] = False,
    bins: Annotated[int, typer.Option("--bins", help="Largest number of time bins per type.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulations.")] = 1,
    out: Annotated[Path, typer.Option("--out", help="Output folder (vpc.csv, vpc_<type>.png).")] = Path("il2sim-vpc"),
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Visual predictive check of a fitted model against a dataset (BLQ-aware)."""
    from il2sim._interrupt import interrupt_fields, interruptible
    from il2sim.cli._common import exit_interrupted
    from il2sim.fit.vpc_run import run_vpc

    n_sim = _positive_int(n_sim, "n-sim", 20)
    checks.output_folder(out, "--out")  # a file, or a file as parent (found by make fuzz)
    with interruptible():
        res, paths, notes, done = run_vpc(data, parameters, n_sim, pc,
                                          _positive_int(bins, "bins"), seed, out)
    flag = interrupt_fields(done, n_sim)
    if json_out:
        print_json(res.to_dict() | {"files": [str(p) for p in paths], "notes": notes} | flag)
    else:
        print(f"VPC ({'prediction-corrected, ' if pc else ''}{done} replicates): "
              f"{100 * res.coverage:.1f}% of observed percentiles inside the simulated 90% "
              f"intervals ({len(res.table)} bins)")
        for n in notes:
            print(f"note: {n}")
        print("files: " + ", ".join(str(p) for p in paths))
    if flag["interrupted"]:
        exit_interrupted("replicates", done, n_sim, str(out) if paths else None)


def sensitivity_cmd(
    method: Annotated[str, typer.Option("--method", help="sobol or morris.")] = "sobol",
    params: Annotated[str | None, typer.Option("--params", help="Parameters (default: calibrated + fitted ones).")] = None,
    regimen: Annotated[str, typer.Option("--regimen", help="Regimen text.")] = "1.25 MIU/m2 sc qd x90",
    n: Annotated[int, typer.Option("--n", help="Sobol base sample N (rows N(D+2)) or Morris trajectories.")] = 256,
    factor: Annotated[float, typer.Option("--factor", help="Interval [value/f, value*f] (log-uniform) where no fitted CI is known.")] = 2.0,
    parameters: Annotated[str | None, typer.Option("--parameters", help="Parameter table (a fit's: its 95% CIs are the intervals).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Dask LocalCluster workers (127.0.0.1).")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Existing Dask scheduler address.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed.")] = 1,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for sensitivity.json and the figure.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    model_version: ModelOption = "v1",
) -> None:
    """Global sensitivity (SALib Sobol / Morris) of NK expansion and IL-2 exposure."""
    from il2sim._interrupt import interruptible
    from il2sim.cli._common import exit_interrupted
    from il2sim.fit.sensitivity import SensitivityInterrupted
    from il2sim.fit.sensitivity_run import run_sensitivity

    if not (math.isfinite(factor) and factor > 1):
        raise InputError(f"must be > 1, got {factor}", field="factor", value=factor)
    from il2sim.cli import _common

    m = method.strip().lower()
    parameters = model_table_path(model_version, parameters)
    with interruptible(), _common.progress_bar(not json_out) as update:
        try:
            res, paths = run_sensitivity(
                method, params, regimen, _positive_int(n, "n", 2), factor, parameters, workers,
                scheduler, seed, out,
                progress=lambda done, total: update(f"{m}: model evaluations (chunks)", done, total))
        except SensitivityInterrupted as stop:
            # the indices need every model run: nothing is written
            if json_out:
                print_json({"interrupted": True, "done": stop.done, "asked": stop.asked,
                            "method": method, "indices": None})
            exit_interrupted("chunks of model runs (indices need every run: nothing written)",
                             stop.done, stop.asked)
    if json_out:
        print_json(res.to_dict() | {"files": [str(p) for p in paths]})
        return
    key = "ST" if res.method == "sobol" else "mu_star"
    for o in res.outputs:
        top = ", ".join(f"{p} ({res.indices[o][p][key]:.2f})" for p in res.ranking(o)[:4])
        print(f"{o}: driven by {top}")
    if paths:
        print("files: " + ", ".join(str(p) for p in paths))


def params_cmd(
    parameters: Annotated[str | None, typer.Option("--parameters", help="Parameter table file (default: packaged).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    model_version: ModelOption = "v1",
) -> None:
    """The parameter table in force (of --model-version): {NAME: {value, unit, cv, source}}."""
    from il2sim.fit.paramfile import parameter_table
    from il2sim.model.parameters import load_parameters

    table = load_parameters(parameters) if parameters else None  # the reader checks the file
    tab = parameter_table(model_parameters(model_version, table))
    if json_out:
        print_json(tab)
        return
    for name, e in tab.items():
        print(f"{name:28s} {e['value']:<14.6g} {e['unit']:<28s} cv {e['cv']:<5g} {e['source'][:60]}")


def register(app: typer.Typer) -> None:
    """Add fit, vpc, sensitivity and params to ``app``."""
    app.command("fit")(fit_cmd)
    app.command("vpc")(vpc_cmd)
    app.command("sensitivity")(sensitivity_cmd)
    app.command("params")(params_cmd)
