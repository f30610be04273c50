"""``il2sim simulate``: simulate a regimen in a seeded virtual population.

Examples::

    il2sim simulate --regimen "1.25 MIU/m2 sc qd x90" --patients 200 --seed 1 --json
    il2sim simulate --regimen "1 MIU/m2 iv bolus" --patients 200 --seed 1 --horizon-days 1 --json
    il2sim simulate --events doses.csv --patients 50 --seed 3 --out courses.parquet

The command parses options and prints: the simulation, its chunking or streaming (above
20 000 patients without ``--out``) and the summary are :func:`il2sim.toxicity.run_simulation`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from il2sim.cli._common import exit_interrupted, print_json, progress_bar, write_atomic
from il2sim.cli._model import ModelOption, ParametersOption, model_parameters, parameter_file
from il2sim.errors import InputError
from il2sim.regimen.events import Regimen


def _load_regimen(
    spec: str | None, events: Path | None, time_unit: str, amount_unit: str, per_m2: bool
) -> Regimen:
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
    console.print(
        f"DLT probability (study days 1-28) {summary['dlt_probability']:.3f}; anti-IL-2 "
        f"antibody incidence over the treated period {summary['ada_incidence']:.3f}"
    )


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
    solver: Annotated[
        str,
        typer.Option(
            "--solver",
            help="Solver preset (il2sim.simulate.options): fast, adaptive, trial or reference.",
        ),
    ] = "fast",
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write per-patient time courses (Parquet).")
    ] = None,
    time_unit: Annotated[str, typer.Option("--time-unit", help="Time unit of --events.")] = "h",
    amount_unit: Annotated[
        str, typer.Option("--amount-unit", help="Amount unit of --events.")
    ] = "IU",
    per_m2: Annotated[bool, typer.Option("--per-m2", help="--events AMT is per m2.")] = False,
    parameters: ParametersOption = None,
    model: ModelOption = "v1",
) -> None:
    """Simulate serum IL-2, receptor occupancy, NK counts, adverse events, DLTs and antibodies
    for a virtual population (the summary of il2sim.toxicity.summarise)."""
    from il2sim import checks

    if out is not None:
        checks.output_file(out, "--out")

    from il2sim._interrupt import interruptible
    from il2sim.toxicity import run_simulation

    reg = _load_regimen(regimen, events, time_unit, amount_unit, per_m2)
    param_set = model_parameters(model, parameter_file(parameters))
    label = reg.spec if reg.spec is not None else str(events)
    what = f"simulating ({solver})"
    with interruptible(), progress_bar(times=True) as update:  # contract: docs/interrupt.md
        run = run_simulation(
            reg,
            patients,
            seed,
            horizon_day=horizon_days,
            solver=solver,
            parameters=param_set,
            keep_result=out is not None,
            progress=lambda done, total: update(what, done, total),
            label=label,
        )
    summary = run.summary
    if out is not None and run.result is not None:
        frame = run.result.to_long_frame()
        write_atomic(out, lambda tmp: frame.to_parquet(tmp, index=False))
        summary["out"] = str(out)
    if json_out:
        print_json(summary)
    else:
        _print_table(summary)
    if summary.get("interrupted"):
        exit_interrupted("patients", summary["done"], summary["asked"], summary.get("out"))


def register(app: typer.Typer) -> None:
    """Add ``il2sim simulate`` to ``app``."""
    app.command("simulate")(simulate_cmd)
