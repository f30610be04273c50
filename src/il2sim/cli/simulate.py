"""``il2sim simulate``: simulate a regimen in a seeded virtual population.

Examples::

    il2sim simulate --regimen "1.25 MIU/m2 sc qd x90" --patients 200 --seed 1 --json
    il2sim simulate --regimen "1 MIU/m2 iv bolus" --patients 200 --seed 1 --horizon-days 1 --json
    il2sim simulate --events doses.csv --patients 50 --seed 3 --out courses.parquet
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from il2sim.cli._common import print_json, write_atomic
from il2sim.errors import InputError


def _load_regimen(
    spec: str | None, events: Path | None, time_unit: str, amount_unit: str, per_m2: bool
) -> Any:
    if (spec is None) == (events is None):
        raise InputError("give exactly one of --regimen or --events", field="regimen")
    if spec is not None:
        from il2sim.regimen.spec import parse_spec

        return parse_spec(spec)
    from il2sim.regimen.nonmem import read_nonmem_csv

    assert events is not None
    regs = read_nonmem_csv(events, time_unit=time_unit, amount_unit=amount_unit, per_m2=per_m2)
    if len(regs) != 1:
        raise InputError(
            f"the event table must hold one ID for simulate, got {len(regs)}", field="events"
        )
    return next(iter(regs.values()))


def _load_parameter_file(path: Path | None) -> Any:
    """``--parameters FILE``: a parameter table (None: the packaged one)."""
    if path is None:
        return None
    if not path.is_file():
        raise InputError(f"no such file: {str(path)!r}", field="parameters", value=str(path))
    from il2sim.model.parameters import load_parameters

    return load_parameters(path)


def _print_table(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"il2sim simulate: {summary['regimen']} ({summary['patients']} patients)")
    for col in ("quantity", "mean", "median", "p5", "p95"):
        table.add_column(col, justify="right" if col != "quantity" else "left")
    for key in (
        "il2_peak_pm",
        "il2_cmax_first_dose_pm",
        "il2_tmax_first_dose_h",
        "il2_auc_first_24h_iu_h_per_ml",
        "nk_peak_increase_pct",
        "cd56bright_peak_increase_pct",
    ):
        s = summary[key]
        table.add_row(key, *(f"{s[k]:.4g}" for k in ("mean", "median", "p5", "p95")))
    console = Console()
    console.print(table)
    console.print(
        f"population-mean NK reaches 95% of its max on day {summary['nk_mean_t95_day']:.1f}; "
        f"at the horizon it is {summary['nk_mean_end_over_max']:.2f} of the max"
    )


#: Patients per chunk (progress-bar granularity) for each solver.
_CHUNK = {"fast": 2000, "reference": 1}


def _run_chunked(reg: Any, pop: Any, horizon_days: float | None, solver: str) -> Any:
    """Simulate in chunks of patients with a progress bar on stderr; Ctrl-C keeps the chunks
    already finished (and says so) unless none has finished."""
    import sys

    from rich.console import Console
    from rich.progress import Progress

    from il2sim.simulate import simulate
    from il2sim.simulate.result import concat_results

    size = _CHUNK[solver]
    if pop.n <= size and solver == "fast":
        return simulate(reg, pop, horizon_day=horizon_days, solver=solver)
    done = []
    try:
        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(f"simulating ({solver})", total=pop.n)
            for start in range(0, pop.n, size):
                idx = list(range(start, min(start + size, pop.n)))
                done.append(simulate(reg, pop.subset(idx), horizon_day=horizon_days, solver=solver))
                bar.advance(task, len(idx))
    except KeyboardInterrupt:
        if not done:
            raise
        n_done = sum(r.n_patients for r in done)
        print(f"il2sim: interrupted; summarising the {n_done} finished patients", file=sys.stderr)
    return concat_results(done)


def simulate_cmd(
    regimen: Annotated[
        str | None, typer.Option("--regimen", help='Regimen text, e.g. "1.25 MIU/m2 sc qd x90".')
    ] = None,
    events: Annotated[
        Path | None, typer.Option("--events", help="NONMEM-style event table (CSV), one ID.")
    ] = None,
    patients: Annotated[int, typer.Option("--patients", help="Number of virtual patients.")] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the virtual population.")] = 0,
    horizon_days: Annotated[
        float | None,
        typer.Option("--horizon-days", help="Horizon, days (default: regimen end + 1 interval)."),
    ] = None,
    solver: Annotated[str, typer.Option("--solver", help="fast or reference.")] = "fast",
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write per-patient time courses (Parquet).")
    ] = None,
    time_unit: Annotated[str, typer.Option("--time-unit", help="Time unit of --events.")] = "h",
    amount_unit: Annotated[
        str, typer.Option("--amount-unit", help="Amount unit of --events.")
    ] = "IU",
    per_m2: Annotated[bool, typer.Option("--per-m2", help="--events AMT is per m2.")] = False,
    parameters: Annotated[
        Path | None,
        typer.Option("--parameters", help="Parameter table (TOML, e.g. an il2sim fit's)."),
    ] = None,
) -> None:
    """Simulate serum IL-2, receptor occupancy and NK counts for a virtual population."""
    from il2sim.population import Population
    from il2sim.simulate import SOLVERS

    if patients <= 0:
        raise InputError(f"must be a positive integer, got {patients}", field="patients")
    if horizon_days is not None and not (math.isfinite(horizon_days) and horizon_days > 0):
        raise InputError(
            f"must be a positive number of days, got {horizon_days}", field="horizon-days"
        )
    if solver not in SOLVERS:
        raise InputError(f"must be one of {', '.join(SOLVERS)}, got {solver!r}", field="solver")
    reg = _load_regimen(regimen, events, time_unit, amount_unit, per_m2)
    param_set = _load_parameter_file(parameters)
    # --- streaming for large populations (issue 7, engineer F): above the threshold and
    # without --out, simulate in blocks with bounded memory (docs/scale.md); same summary keys.
    from il2sim.sweep.stream import (
        STREAMING_THRESHOLD_PATIENTS,
        simulate_streaming,
        streaming_workers,
        toxicity_extra,
    )

    if patients > STREAMING_THRESHOLD_PATIENTS and out is None:
        summary = simulate_streaming(
            reg,
            patients,
            seed,
            horizon_day=horizon_days,
            solver=solver,
            parameters=param_set,
            workers=streaming_workers(patients),
            progress=True,
            extra=toxicity_extra,
        )
        summary["regimen"] = reg.spec if reg.spec is not None else str(events)
        if json_out:
            print_json(summary)
        else:
            _print_table(summary)
        return
    # --- end streaming
    pop = Population.sample(patients, seed, parameters=param_set)
    res = _run_chunked(reg, pop, horizon_days, solver)
    summary = res.summary()
    summary["regimen"] = reg.spec if reg.spec is not None else str(events)
    # --- toxicity summary (issue 5, engineer D): dlt_probability (population mean) and
    # ada_incidence, from il2sim.model.toxicity / immunogenicity.
    from il2sim.model.toxicity import toxicity_summary

    summary.update(toxicity_summary(res, reg, pop, seed=seed))
    # --- end toxicity summary
    if out is not None:
        frame = res.to_long_frame()
        write_atomic(out, lambda tmp: frame.to_parquet(tmp, index=False))
        summary["out"] = str(out)
    if json_out:
        print_json(summary)
    else:
        _print_table(summary)


def register(app: typer.Typer) -> None:
    """Add ``il2sim simulate`` to ``app``."""
    app.command("simulate")(simulate_cmd)
