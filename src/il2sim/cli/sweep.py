"""``il2sim sweep``: run a parameter sweep into a resumable store, and summarise a store.

``il2sim sweep GRID --out STORE`` is short for ``il2sim sweep run GRID --out STORE``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from il2sim.cli._common import exit_interrupted, print_json, progress_bar
from il2sim.errors import InputError


class _DefaultRunGroup(TyperGroup):
    """A group whose first argument, when not a sub-command name, goes to ``run``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


sweep_app = typer.Typer(
    cls=_DefaultRunGroup,
    help="Parameter sweeps: run a grid in chunks (resumable, optionally on Dask); summarise.",
    no_args_is_help=True,
)


@sweep_app.command("run")
def run_cmd(
    grid_file: Annotated[
        Path | None,
        typer.Argument(
            metavar="GRID", help="Grid file (.yaml/.toml/.json); or use --kind/--param."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Store directory (Parquet).")] = Path(
        "sweep-store"
    ),
    workers: Annotated[
        int | None, typer.Option(help="Start a Dask LocalCluster with N workers on 127.0.0.1.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Use an existing Dask scheduler, tcp://HOST:PORT.")
    ] = None,
    dashboard: Annotated[
        bool,
        typer.Option(
            help="Serve the Dask dashboard (with --workers) on a free 127.0.0.1 port; its "
            "address is printed on stderr."
        ),
    ] = False,
    kind: Annotated[
        str | None, typer.Option(help="Runner kind without a GRID file: design|simulate|trial.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="Axis NAME=V1,V2 (use ; between list values: truth=[.1,.2];[.2,.3]). Repeatable.",
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Sweep seed (overrides the file).")] = None,
    chunk_size: Annotated[
        int | None, typer.Option(help="Replicates per chunk (overrides the file).")
    ] = None,
    chunks: Annotated[
        int | None, typer.Option(help="Chunks per point (overrides the file).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Progress bar on stderr.")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print the run record as JSON.")] = False,
) -> None:
    """Run every chunk of the grid not yet in STORE (re-run the same command to resume)."""
    from il2sim import checks

    checks.output_folder(out, "--out")
    from il2sim.sweep.execute import run_sweep
    from il2sim.sweep.grid import Grid, load_grid, parse_param_list

    axes = parse_param_list(param or [])
    if grid_file is not None:
        base = load_grid(grid_file).to_dict()
        if kind is not None:
            base["kind"] = kind
        overlap = sorted(set(axes) & (set(base["grid"]) | set(base["fixed"])))
        for name in overlap:
            base["fixed"].pop(name, None)
        base["grid"].update(axes)
    else:
        if kind is None:
            raise InputError("give a GRID file or --kind with --param axes", field="GRID")
        base = {"kind": kind, "fixed": {}, "grid": axes}
    for name, value in (("seed", seed), ("chunk_size", chunk_size), ("chunks", chunks)):
        if value is not None:
            base[name] = value
    grid = Grid.from_dict(base)
    with progress_bar(progress, times=True) as update:
        rec = run_sweep(
            grid, out, workers=workers, scheduler=scheduler, dashboard=dashboard,
            progress=lambda done, total: update("sweep chunks", done, total),
            on_dashboard=lambda link: print(f"il2sim: Dask dashboard at {link}", file=sys.stderr),
        )  # fmt: skip
    if json_out:
        print_json(rec)
    else:
        state = "interrupted" if rec.interrupted else "done"
        print(
            f"{state}: {rec.already_done + rec.ran}/{rec.n_tasks} chunks in {out} "
            f"({rec.ran} run now, {rec.elapsed_s:.1f} s, {rec.executor})"
        )
    if rec.interrupted:  # the interruption contract: one line, exit 130 (resume by rerunning)
        exit_interrupted("chunks", rec.already_done + rec.ran, rec.n_tasks, str(out))


@sweep_app.command("summary")
def summary_cmd(
    store: Annotated[Path, typer.Argument(help="Store directory written by `il2sim sweep`.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Summarise a store per grid point (n-weighted means of chunk metrics)."""
    from il2sim.sweep.store import Store

    s = Store(store).summary()
    if json_out:
        print_json(s)
        return
    print(f"{s.chunks_done}/{s.chunks_expected} chunks; grid {s.grid_hash}")
    for p in s.points:
        metrics: dict[str, Any] = p["metrics"]
        shown = ", ".join(
            f"{k}={v:.4g}" for k, v in list(metrics.items())[:6] if isinstance(v, float)
        )
        print(f"  [{p['index']}] {p['params']} n={p['n']}: {shown}")


def register(app: typer.Typer) -> None:
    """Add the ``sweep`` group to the il2sim app."""
    app.add_typer(sweep_app, name="sweep")
