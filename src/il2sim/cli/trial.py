"""``il2sim trial``: one in-silico dose-finding trial written as SDTM, or many replicates.

Only parsing and printing; the work is done by :mod:`il2sim.trial`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from il2sim.cli._common import parse_float_list, print_json, to_jsonable, write_atomic

DEFAULT_DOSES = "0.4,0.6,0.8,1.0,1.25,1.5,1.75"


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """A ``rich`` progress bar on stderr; yields ``update(task, done, total)``."""
    if not enabled:
        yield lambda task, done, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as prog:

        def update(task: str, done: int, total: int) -> None:
            if task not in tasks:
                tasks[task] = prog.add_task(task, total=total)
            prog.update(tasks[task], completed=done)

        yield update


def trial_cmd(
    design: Annotated[
        str,
        typer.Option(
            "--design", help="Design name from the registry (a+b, 3+3, 4+5, crm, boin, ...)."
        ),
    ] = "a+b",
    a: Annotated[int | None, typer.Option("--a", help="A+B: first cohort size A.")] = 4,
    b: Annotated[int | None, typer.Option("--b", help="A+B: expansion cohort size B.")] = 5,
    c: Annotated[int | None, typer.Option("--c", help="A+B: escalate if DLTs <= c of A.")] = None,
    d: Annotated[int | None, typer.Option("--d", help="A+B: too toxic if DLTs > d of A.")] = None,
    e: Annotated[int | None, typer.Option("--e", help="A+B: escalate if DLTs <= e of A+B.")] = None,
    target: Annotated[
        float | None, typer.Option("--target", help="Target DLT probability (model-based designs).")
    ] = None,
    cohort_size: Annotated[
        int | None, typer.Option("--cohort-size", help="Cohort size (non-A+B designs).")
    ] = None,
    skeleton: Annotated[
        str | None, typer.Option("--skeleton", help="CRM skeleton, comma-separated, increasing.")
    ] = None,
    doses: Annotated[
        str, typer.Option("--doses", help="Dose levels, MIU/m2/day, comma-separated.")
    ] = DEFAULT_DOSES,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the trial (and of the replicates).")
    ] = 1,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the SDTM files (single trial) or replicates.json."),
    ] = None,
    replicates: Annotated[
        int, typer.Option("--replicates", help="Run this many replicate trials and summarise.")
    ] = 0,
    pool_size: Annotated[
        int, typer.Option("--pool-size", help="Simulated patients per level for replicates.")
    ] = 600,
    max_patients: Annotated[
        int, typer.Option("--max-patients", help="Hard cap on patients per trial.")
    ] = 200,
    dlt_window: Annotated[int, typer.Option("--dlt-window", help="DLT window, days.")] = 28,
    hold_days: Annotated[
        int, typer.Option("--hold-days", help="Days doses are held after a DLT.")
    ] = 7,
    resume_fraction: Annotated[
        float,
        typer.Option(
            "--resume-fraction", help="Fraction of the dose resumed after the hold (0 = stop)."
        ),
    ] = 0.5,
    neutralising: Annotated[
        bool,
        typer.Option("--neutralising", help="Anti-IL-2 antibodies neutralise (lower exposure)."),
    ] = False,
    xpt: Annotated[bool, typer.Option("--xpt", help="Also write SAS XPT v5 files.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    parameters: Annotated[
        Path | None,
        typer.Option("--parameters", help="Parameter table (TOML, e.g. an il2sim fit's)."),
    ] = None,
) -> None:
    """Run one in-silico trial (SDTM into --out) or --replicates R trials (summary)."""
    from il2sim.designs.registry import build_design
    from il2sim.errors import InputError
    from il2sim.trial import (
        DoseModification,
        Schedule,
        build_pools,
        build_sdtm,
        run_replicates,
        run_trial,
        write_sdtm,
    )

    levels = parse_float_list(doses, "--doses")
    from il2sim.cli.simulate import _load_parameter_file

    param_set = _load_parameter_file(parameters)
    is_ab = design.strip().lower().replace(" ", "") == "a+b"
    opts: dict[str, Any] = {
        "n_doses": len(levels),
        "target": target,
        "cohort_size": cohort_size,
        "skeleton": parse_float_list(skeleton, "--skeleton") if skeleton else None,
    }
    if is_ab:
        opts.update(a=a, b=b, c=c, d=d, e=e)
    else:
        opts.update(c=c, d=d, e=e)
    des = build_design(design, **opts)
    if replicates < 0:
        raise InputError(f"must be >= 0, got {replicates}", field="--replicates")
    sch = Schedule(dlt_window_day=dlt_window)
    mod = DoseModification(hold_days=hold_days, resume_fraction=resume_fraction)
    if replicates == 0:
        trial = run_trial(
            des, levels, seed, schedule=sch, modification=mod, neutralising=neutralising,
            max_patients=max_patients, parameters=param_set,
        )  # fmt: skip
        target_dir = out if out is not None else Path("il2sim-trial")
        files = write_sdtm(build_sdtm(trial), target_dir, xpt=xpt)
        res = trial.to_dict() | {"out_dir": str(target_dir), "files": [str(f) for f in files]}
        if json_out:
            print_json(res)
            return
        print(f"design {trial.design}: {trial.n_patients} patients, {trial.n_dlt} DLTs")
        print(f"outcomes: {res['outcomes']}")
        print(f"MTD: {trial.mtd_miu_per_m2 if trial.mtd_miu_per_m2 else 'none'} MIU/m2/day")
        print(f"SDTM written to {target_dir}")
        return
    with progress_bar(not json_out) as update:
        pools = build_pools(
            levels, pool_size, seed, schedule=sch, modification=mod, neutralising=neutralising,
            progress=lambda j: update("simulating pools", j, len(levels)), parameters=param_set,
        )  # fmt: skip
        reps = run_replicates(
            des, pools, replicates, seed, max_patients=max_patients,
            progress=lambda r: update("replicate trials", r, replicates),
        )  # fmt: skip
    summary = reps.to_dict(pools)
    if out is not None:
        import json

        def write(p: Path) -> None:
            p.write_text(json.dumps(to_jsonable(summary), indent=2) + "\n")

        write_atomic(Path(out) / "replicates.json", write)
    if json_out:
        print_json(summary)
        return
    from rich.console import Console
    from rich.table import Table

    tab = Table(title=f"{summary['design']}: {reps.n_replicates} replicate trials (seed {seed})")
    for col in (
        "dose MIU/m2",
        "MTD selected %",
        "patients",
        "DLTs",
        "NK peak +%",
        "CD56bright peak +%",
    ):
        tab.add_column(col, justify="right")
    sel = summary["mtd_selected_pct"]
    for j, dose in enumerate(levels):
        tab.add_row(
            f"{dose:g}",
            f"{sel[f'{dose:g}']:.1f}",
            f"{summary['patients_per_level'][j]:.2f}",
            f"{summary['dlts_per_level'][j]:.2f}",
            f"{summary['nk_peak_increase_pct_per_level'][j]:.0f}",
            f"{summary['bright_peak_increase_pct_per_level'][j]:.0f}",
        )
    tab.add_row("none", f"{summary['none_selected_pct']:.1f}", "", "", "", "")
    Console().print(tab)
    print(f"mean patients {summary['mean_patients']:.1f}, mean DLTs {summary['mean_dlts']:.2f}")


def register(app: typer.Typer) -> None:
    """Add ``il2sim trial`` to ``app``."""
    app.command("trial")(trial_cmd)
