"""``il2sim trial``: one in-silico dose-finding trial written as datasets, or ``--trials R``
replicate trials summarised as operating characteristics.

Only parsing and printing: the design comes from the shared design options
(:mod:`il2sim.cli._design_options`, default ``--design 4+5``, the seed trial's), the work from
:func:`il2sim.trial.conduct_trial` or :func:`il2sim.trial.replicate_trials`.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from il2sim._interrupt import interruptible
from il2sim.cli._common import exit_interrupted, parse_float_list, print_json, progress_bar
from il2sim.cli._design_options import DesignSpec, design_options
from il2sim.cli._model import ParametersOption, parameter_file
from il2sim.errors import InputError

DEFAULT_DOSES = "0.4,0.6,0.8,1.0,1.25,1.5,1.75"
DEFAULT_OUT = Path("il2sim-trial")


def trial_cmd(
    spec: DesignSpec,
    doses: Annotated[
        str, typer.Option("--doses", help="Dose levels, MIU/m2/day, comma-separated.")
    ] = DEFAULT_DOSES,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the trial (and the replicates).")
    ] = 1,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Folder for the datasets (one trial) or replicates.json (--trials)."
        ),
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option("--trials", help="Run this many replicate trials from pools and summarise."),
    ] = None,
    pool_size: Annotated[
        int, typer.Option("--pool-size", help="Simulated patients per level for --trials.")
    ] = 600,
    dlt_window_days: Annotated[
        int, typer.Option("--dlt-window-days", help="DLT window, days from the first dose.")
    ] = 28,
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
    start_date: Annotated[
        str | None,
        typer.Option("--start-date", help="Nominal first enrolment date, YYYY-MM-DD (1994-01-03)."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    parameters: ParametersOption = None,
    il2_model: Annotated[
        str, typer.Option("--model-version", help="Model: v1 (default) or v2 (--model: CRM's).")
    ] = "v1",
    efficacy: Annotated[
        str | None,
        typer.Option(
            "--efficacy",
            help="Efficacy response on a model output, e.g. nk_fold>=3@day56 (docs/designs.md); "
            "written to SDTM RS and ADaM ADRS, and seen by efficacy-toxicity designs.",
        ),
    ] = None,
) -> None:
    """Run one in-silico trial (datasets into --out) or --trials R replicate trials (OCs)."""
    from il2sim import checks

    if out is not None:
        checks.output_folder(out, "--out")
    from il2sim.cdisc.sdtm import sdtm_options
    from il2sim.trial import (
        CohortSettings,
        DoseModification,
        Schedule,
        conduct_trial,
        replicate_trials,
    )
    from il2sim.trial.run import DEFAULT_MAX_PATIENTS

    levels = parse_float_list(doses, "doses")
    param_set = parameter_file(parameters)
    if param_set is not None or il2_model != "v1":  # --model-version v2 (v1: packaged default)
        from il2sim.cli._model import model_parameters

        param_set = model_parameters(il2_model, param_set)
    des = spec.build(n_doses=len(levels), max_patients_rule=False)
    cap = spec.max_patients if spec.max_patients is not None else DEFAULT_MAX_PATIENTS
    sch = Schedule(dlt_window_day=dlt_window_days)
    from il2sim.model.models import declaration
    from il2sim.trial.efficacy import parse_efficacy

    eff = None if efficacy is None else parse_efficacy(
        efficacy, last_day=sch.n_treatment_days, model=declaration(il2_model))
    mod = DoseModification(hold_days=hold_days, resume_fraction=resume_fraction)
    settings = CohortSettings(parameters=param_set, schedule=sch, modification=mod,
                              neutralising=neutralising, efficacy=eff)  # fmt: skip
    if trials is None:
        res = conduct_trial(
            des, levels, seed, out if out is not None else DEFAULT_OUT, settings,
            max_patients=cap,
            writer=partial(_write_trial, xpt=xpt, options=sdtm_options(start_date)),
        )  # fmt: skip
        t = res.trial
        if json_out:
            print_json(res)
        else:
            print(f"design {t.design}: {t.n_patients} patients, {t.n_dlt} DLTs")
            print(f"outcomes: {t.outcomes().to_string()}")
            print(f"MTD: {t.mtd_miu_per_m2 if t.mtd_miu_per_m2 else 'none'} MIU/m2/day")
            if t.efficacy is not None:
                e = t.efficacy_summary()
                print(f"efficacy {e['definition']}: {e['n_responders']}/{t.n_patients} "
                      f"responders ({100 * (e['response_rate'] or 0):.1f}%)")  # fmt: skip
            print(f"SDTM and ADaM with define.xml written to {res.out_dir}/sdtm and "
                  f"{res.out_dir}/adam")  # fmt: skip
        if t.interrupted:  # the finished cohorts were written, with interrupted.json beside
            exit_interrupted("cohorts", len(t.cohorts), None, str(res.out_dir))
        return
    if trials < 1:
        raise InputError(f"must be >= 1, got {trials}", field="trials", value=trials)
    with interruptible(), progress_bar(not json_out) as update:
        reps = replicate_trials(
            des, levels, trials, seed, pool_size=pool_size, settings=settings, max_patients=cap,
            out_dir=out, progress=update,
        )  # fmt: skip
    summary = reps.to_dict()
    if json_out:
        print_json(summary)
    else:
        _print_replicates(summary, levels, seed)
    if summary["interrupted"]:
        where = str(reps.file) if reps.file is not None else None
        exit_interrupted("trials", summary["n_trials"], summary["n_trials_requested"], where)


def _write_trial(trial: Any, out_dir: Path, **options: Any) -> list[Path]:
    """The SDTM/ADaM writer; an interrupted trial (docs/interrupt.md) also gets
    ``interrupted.json`` (its summary, ``"interrupted": true``) in the same staged folder."""
    from il2sim.cdisc import write_trial

    def flag(stage: Path) -> list[Path]:
        path = stage / "interrupted.json"
        path.write_text(json.dumps(trial.to_dict(), indent=2) + "\n")
        return [path]

    return write_trial(trial, out_dir, extra=flag if trial.interrupted else None, **options)


def _print_replicates(summary: dict[str, Any], levels: list[float], seed: int) -> None:
    from rich.console import Console
    from rich.table import Table

    tab = Table(title=f"{summary['design']}: {summary['n_trials']} replicate trials (seed {seed})")
    for col in ("dose MIU/m2", "selected %", "patients", "DLTs", "NK peak +%", "CD56bright +%"):
        tab.add_column(col, justify="right")
    for j, dose in enumerate(levels):
        tab.add_row(
            f"{dose:g}",
            f"{summary['selection_pct'][j]:.1f}",
            f"{summary['patients_per_dose'][j]:.2f}",
            f"{summary['dlts_per_dose'][j]:.2f}",
            f"{summary['nk_peak_increase_pct_per_dose'][j]:.0f}",
            f"{summary['bright_peak_increase_pct_per_dose'][j]:.0f}",
        )
    tab.add_row("none", f"{summary['none_selected_pct']:.1f}", "", "", "", "")
    Console().print(tab)
    print(f"mean patients {summary['mean_patients']:.1f}, mean DLTs {summary['mean_dlts']:.2f}")
    if summary.get("response_rate_per_dose") is not None:
        rates = ", ".join(
            "-" if v is None else f"{100 * v:.0f}%" for v in summary["response_rate_per_dose"]
        )
        print(f"efficacy {summary['efficacy']}: response rate per level {rates}")


def register(app: typer.Typer) -> None:
    """Add ``il2sim trial`` to ``app``."""
    app.command("trial")(design_options(design="4+5")(trial_cmd))
