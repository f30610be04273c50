"""``il2sim calibrate``: fit the ``calibrated`` parameters to the seed's targets.

Examples::

    il2sim calibrate                      # fit the model, print target | model | met?
    il2sim calibrate --write              # ... store the fitted values in parameters.toml and
                                          # refit and store toxicity/toxicity.toml against them
    il2sim calibrate --check --json       # no fit: check the stored values against the targets

The fits are :mod:`il2sim.calibrate` (model and toxicity side by side); this module parses
options and prints.
"""

from __future__ import annotations

from typing import Annotated

import typer

from il2sim.cli._common import exit_interrupted, print_json
from il2sim.cli._model import StudyModelOption, require_v2
from il2sim.errors import InputError


def _print(result: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from il2sim.calibrate import CalibrationResult

    assert isinstance(result, CalibrationResult)
    console = Console()
    if result.fitted:
        ft = Table(title="calibrated parameters")
        ft.add_column("parameter")
        ft.add_column("value", justify="right")
        for k, v in result.fitted.items():
            ft.add_row(k, f"{v:.6g}")
        console.print(ft)
    lt = Table(title=f"dose levels ({result.patients_per_level} patients each, seed {result.seed})")
    for col in (
        "MIU/m2",
        "NK peak %",
        "CD56bright peak %",
        "NK t95 day",
        "end/max",
        "IL-2 peak pM",
    ):
        lt.add_column(col, justify="right")
    for lv in result.levels:
        lt.add_row(
            f"{lv.dose_miu_per_m2:.2f}",
            f"{lv.nk_mean_peak_pct:.0f}",
            f"{lv.bright_mean_peak_pct:.0f}",
            f"{lv.nk_mean_t95_day:.1f}",
            f"{lv.nk_mean_end_over_max:.3f}",
            f"{lv.il2_median_peak_pm:.2f}",
        )
    console.print(lt)
    tt = Table(title="targets (Meropol 1996; science.md §6)")
    tt.add_column("target")
    tt.add_column("expected")
    tt.add_column("model", justify="right")
    tt.add_column("met?")
    for c in result.checks:
        tt.add_row(c.target, c.expected, f"{c.model:.4g}", "yes" if c.met else "NO")
    console.print(tt)
    if result.training:
        tr = Table(title="training studies (weighted by published uncertainty)")
        for col in ("study", "endpoint", "published", "model", "residual", "agree"):
            tr.add_column(col)
        for row in result.training:
            tr.add_row(row["study"], row["endpoint"], row["published"],
                       f"{row['model_statistic']:.4g}", f"{row['weighted_residual']:.3g}",
                       "yes" if row["agree"] else "NO")
        console.print(tr)
    if result.intervals:
        it = Table(title="calibrated parameters: 95% intervals (Gauss-Newton, log scale)")
        for col in ("parameter", "value", "95% interval", "identified"):
            it.add_column(col)
        for iv in result.intervals:
            it.add_row(iv.name, f"{iv.value:.4g}", f"[{iv.low:.3g}, {iv.high:.3g}]",
                       "yes" if iv.identified else "NO (flagged)")
        console.print(it)
    if result.interrupted:
        console.print("interrupted: the best point so far is shown; nothing was written")
    if result.written_to:
        console.print(f"fitted values written to {result.written_to}")
    if result.toxicity is not None:
        console.print("toxicity table refitted to the new model and written (toxicity_v2.toml)")
    if result.toxicity_current is False:
        console.print(
            "the toxicity table was calibrated against other model values: "
            "run `il2sim calibrate --write` to refit it"
        )


def calibrate_cmd(
    patients: Annotated[
        int, typer.Option("--patients", help="Virtual patients per dose level.")
    ] = 150,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the calibration population.")] = 2026,
    max_evaluations: Annotated[
        int, typer.Option("--max-evaluations", help="Limit on model evaluations of the fit.")
    ] = 200,
    write: Annotated[
        bool,
        typer.Option(
            "--write",
            help="Write the fitted values into parameters_v2.toml, then refit toxicity_v2.toml.",
        ),
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="No fit: check the stored values against targets.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    model: StudyModelOption = "v2",
) -> None:
    """Fit the parameters marked "calibrated" (model v2) to the training studies; print targets
    and intervals."""
    from il2sim import calibrate as cal

    require_v2(model, "calibrate")
    if patients <= 0:
        raise InputError(f"must be a positive integer, got {patients}", field="patients")
    if max_evaluations <= 0:
        raise InputError(
            f"must be a positive integer, got {max_evaluations}", field="max-evaluations"
        )
    if check:
        result = cal.check_stored(patients=patients, seed=seed)
    else:
        from il2sim.cli._common import progress_bar

        with progress_bar(times=True) as update:

            def progress(n: int, cost: float) -> None:
                label = f"calibrating: evaluation {n}, cost {cost:.4g}"
                update("calibrating", n, max_evaluations, label=label)

            result = cal.calibrate(
                patients=patients,
                seed=seed,
                max_evaluations=max_evaluations,
                write=write,
                progress=progress,
            )
    if json_out:
        print_json(result)
    else:
        _print(result)
    if getattr(result, "interrupted", False):
        exit_interrupted("evaluations", result.n_evaluations, max_evaluations)


def register(app: typer.Typer) -> None:
    """Add ``il2sim calibrate`` to ``app``."""
    app.command("calibrate")(calibrate_cmd)
