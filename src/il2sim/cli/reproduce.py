"""``il2sim reproduce``: the seed trial in silico, each reported result beside the model's.

Only parsing and printing; the work is done by :func:`il2sim.reproduce.reproduce`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from il2sim._interrupt import interruptible
from il2sim.cli._common import exit_interrupted, print_json, progress_bar
from il2sim.cli._model import ModelOption, check_model, model_parameters, require_v2


def reproduce_cmd(
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Folder for the representative trial's datasets and the tables."
        ),
    ] = Path("il2sim-reproduce"),
    trials: Annotated[
        int, typer.Option("--trials", help="Replicate trials from the pools (>= 1).")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed.")] = 1,
    pool_size: Annotated[
        int,
        typer.Option("--pool-size", help="Simulated patients per dose level for the replicates."),
    ] = 600,
    xpt: Annotated[bool, typer.Option("--xpt", help="Also write SAS XPT v5 files.")] = False,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Write report.html into --out.")
    ] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    validation: Annotated[
        bool | None,
        typer.Option("--validate/--no-validate",
                     help="Add the il2sim validate table (model v2) to report.html and "
                     "validate.json (default: with --model v2)."),
    ] = None,
    model: ModelOption = "v1",
) -> None:
    """Run the seed trial (4+5, seven levels) in silico: one representative trial plus
    replicates, and compare each reported result with the model's."""
    from il2sim import checks

    checks.output_folder(out, "--out")
    from il2sim.errors import InputError
    from il2sim.reproduce import reproduce

    if trials < 1:
        raise InputError(f"must be >= 1, got {trials}", field="trials", value=trials)
    check_model(model)
    if validation is None:
        validation = model == "v2"
    elif validation:
        require_v2(model, "reproduce --validate")
    params = model_parameters(model) if model != "v1" else None
    with interruptible() as stop, progress_bar(not json_out) as update:
        res = reproduce(
            out_dir=out, n_replicates=trials, seed=seed, pool_size=pool_size, xpt=xpt,
            progress=update, parameters=params,
        )  # fmt: skip
    report_note = None
    if report and not stop:
        try:
            from il2sim.report import write_report
            from il2sim.reproduce import SEED_REFERENCE

            vtable = None
            if validation:
                import pandas as pd

                from il2sim._files import write_text_atomic
                from il2sim._json import to_jsonable
                from il2sim.validate import validate

                with progress_bar(not json_out) as vupdate:
                    vrep = validate(progress=lambda d, t: vupdate("validate", d, t))
                vtable = pd.DataFrame(vrep.table_rows())
                write_text_atomic(out / "validate.json",
                                  __import__("json").dumps(to_jsonable(vrep.to_dict()), indent=2))
            write_report(
                out,
                out / "report.html",
                reference=SEED_REFERENCE,
                title="il2sim reproduce: Meropol 1996 in silico",
                validation=vtable,
            )
            report_note = str(out / "report.html")
        except ImportError:
            report_note = "report module not available"
        except Exception as exc:  # the report is an extra; the table is the job
            report_note = f"report not written: {type(exc).__name__}: {exc}"
    import sys

    for note in res.notes:
        if note.startswith("the toxicity table"):
            print(f"il2sim: warning: {note}", file=sys.stderr)
    if json_out:
        d = res.to_dict()
        d["report"] = report_note
        print_json(d)
        _exit_if_interrupted(res, out)
        return
    from rich.console import Console
    from rich.table import Table

    tab = Table(title=f"Meropol 1996 vs il2sim (seed {seed}, {res.n_replicates} replicates)")
    for col in ("result", "reported", "model", "agree", "rule"):
        tab.add_column(col, overflow="fold")
    for r in res.results:
        tab.add_row(
            r.name, r.reported, r.model, "agree" if r.agree else "[bold red]DISAGREE[/]", r.rule
        )
    # a log file or pipe has no width: use a wide one so the table stays readable there
    con = Console() if sys.stdout.isatty() else Console(width=160)
    con.print(tab)
    sel = ", ".join(f"{k}: {v:.1f}%" for k, v in res.mtd_selected_pct.items())
    none = res.replicates.get("none_selected_pct", 0.0)
    con.print(f"MTD selected (MIU/m2/day): {sel}, none: {none:.1f}%")
    con.print(f"{sum(r.agree for r in res.results)}/{len(res.results)} results agree")
    con.print(f"written to {out}" + (f"; report: {report_note}" if report_note else ""))
    _exit_if_interrupted(res, out)


def _exit_if_interrupted(res: object, out: Path) -> None:
    if getattr(res, "interrupted", False):
        done, asked = res.n_replicates, res.n_replicates_requested  # type: ignore[attr-defined]
        exit_interrupted("replicate trials", done, asked, str(out))


def register(app: typer.Typer) -> None:
    """Add ``il2sim reproduce`` to ``app``."""
    app.command("reproduce")(reproduce_cmd)
