"""``il2sim design next|simulate|exact|boundaries|paths``: dose-finding from the command line.

Only parsing and printing: each command builds the design from the shared options
(:mod:`il2sim.cli._design_options`) and calls one library function of :mod:`il2sim.designs`
(``next_decision``, ``simulate_trials``, ``exact_oc``, ``decision_boundaries``,
``dose_paths``).  Dose levels are 1-based.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from il2sim._interrupt import interruptible
from il2sim.cli._common import exit_interrupted, parse_float_list, print_json, progress_bar
from il2sim.cli._design_options import DesignSpec, design_options
from il2sim.errors import DataError, DesignError, InputError

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
OutcomesOpt = Annotated[
    str | None, typer.Option(help='Outcome string, e.g. "1NNN 2NTN" (cohort dose, then N/T).')
]
OutcomesFileOpt = Annotated[
    Path | None,
    typer.Option("--outcomes-file", help="CSV/TSV with columns dose,dlt[,cohort]."),
]
TruthOpt = Annotated[str, typer.Option("--truth", help="True DLT probabilities per dose.")]
CohortsOpt = Annotated[
    int | None, typer.Option("--cohorts", help="Maximum number of cohorts per trial.")
]


def _outcomes(text: str | None, path: Path | None, n_doses: int) -> Any:
    from il2sim.designs import Outcomes

    if text is not None and path is not None:
        raise InputError("give --outcomes or --outcomes-file, not both", field="outcomes")
    if path is None:
        return Outcomes.parse(text or "", n_doses)
    import numpy as np
    import pandas as pd

    if not path.exists():
        raise DataError(f"no such file: {path}", field="outcomes_file", value=str(path))
    try:
        df = pd.read_csv(path, sep=None, engine="python")
    except Exception as exc:  # pandas raises many types for unreadable tables
        raise DataError(f"cannot read {path}: {exc}", field="outcomes_file") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in ("dose", "dlt") if c not in df.columns]
    if missing:
        raise DataError(
            f"missing column(s) {', '.join(missing)} in {path} (need dose,dlt[,cohort])",
            field="outcomes_file",
        )
    try:
        dose = df["dose"].to_numpy(dtype=np.int64)
        dlt = df["dlt"].to_numpy(dtype=np.int64)
        cohort = (
            df["cohort"].to_numpy(dtype=np.int64)
            if "cohort" in df.columns
            else np.arange(1, len(df) + 1)
        )
    except (ValueError, TypeError) as exc:
        raise DataError(f"non-integer value in {path}: {exc}", field="outcomes_file") from None
    out = Outcomes(dose, dlt, cohort)
    if out.dose.size and out.dose.max() > n_doses:
        raise DesignError(
            f"dose level {int(out.dose.max())} is out of range 1..{n_doses}", field="dose"
        )
    return out


def _truth(text: str | None, field: str = "truth") -> list[float] | None:
    from il2sim.designs import check_truth

    if text is None:
        return None
    return [float(v) for v in check_truth(parse_float_list(text, field), field)]


def _print_oc(oc: Any) -> None:
    n = len(oc.truth)
    what = f", {oc.n_trials} trials" if oc.n_trials else ""
    print(f"design {oc.design} ({oc.method}{what})")
    print("dose            " + " ".join(f"{i:>7d}" for i in range(1, n + 1)))
    print("truth           " + " ".join(f"{v:>7.3f}" for v in oc.truth))
    print("selection %     " + " ".join(f"{v:>7.1f}" for v in oc.selection_pct))
    print("patients        " + " ".join(f"{v:>7.2f}" for v in oc.patients_per_dose))
    print("DLTs            " + " ".join(f"{v:>7.2f}" for v in oc.dlts_per_dose))
    print(f"none selected % {oc.none_selected_pct:.1f}")
    print(f"mean patients   {oc.mean_patients:.2f}   mean DLTs {oc.mean_dlts:.2f}")
    over = "-" if oc.overdosed_pct is None else f"{oc.overdosed_pct:.1f}"
    print(
        f"stopped early % {oc.stopped_early_pct:.1f}   for toxicity % "
        f"{oc.stopped_for_toxicity_pct:.1f}   overdosed % {over}"
    )
    if oc.mean_duration_days is not None:
        print(f"mean duration   {oc.mean_duration_days:.1f} days")
    if oc.efficacy_per_dose is not None:
        print("efficacies      " + " ".join(f"{v:>7.2f}" for v in oc.efficacy_per_dose))
        print("(selection = optimal biological dose, OBD)")


def _show(oc: Any, json_out: bool) -> None:
    if json_out:
        print_json(oc)
    else:
        _print_oc(oc)


def _exit_if_interrupted(oc: Any) -> None:
    """The interruption contract (docs/interrupt.md): one line, exit 130."""
    if oc.interrupted:
        exit_interrupted("trials", oc.n_trials, oc.n_trials_requested)


FollowupOpt = Annotated[
    str | None,
    typer.Option(
        "--followup-days",
        help="Time-to-event designs: days observed per patient, in outcome order (for a DLT, "
        "days to the DLT); omitted = complete.",
    ),
]


def _with_followup(out: Any, text: str | None) -> Any:
    if text is None:
        return out
    fu = parse_float_list(text, "followup_days")
    if len(fu) != out.n_patients:
        raise InputError(
            f"needs one value per patient ({out.n_patients}), got {len(fu)}",
            field="followup_days",
            value=text,
        )
    return out.with_followup(fu)


def next_cmd(
    spec: DesignSpec,
    outcomes: OutcomesOpt = None,
    outcomes_file: OutcomesFileOpt = None,
    followup_days: FollowupOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Recommend the next dose (or stop) from the outcomes so far."""
    from il2sim.designs import next_decision

    des = spec.build()
    obs = _with_followup(_outcomes(outcomes, outcomes_file, des.n_doses), followup_days)
    res = next_decision(des, obs)
    if json_out:
        print_json(res)
        return
    dec = res.decision
    print(f"design {res.design}; outcomes: {res.outcomes.to_string() or '(none)'}")
    if dec.stop:
        print(f"STOP: {dec.reason}; MTD = {dec.mtd if dec.mtd is not None else 'none'}")
    else:
        size = f" ({dec.cohort_size} patients)" if dec.cohort_size else ""
        print(f"next dose: {dec.next_dose}{size}; {dec.reason}")
    for k, v in res.estimates.items():
        print(f"  {k}: {v}")


def simulate_cmd(
    spec: DesignSpec,
    truth: Annotated[
        str | None, typer.Option("--truth", help="True DLT probabilities per dose.")
    ] = None,
    truth_tox: Annotated[
        str | None, typer.Option("--truth-tox", help="= --truth (efficacy-toxicity designs).")
    ] = None,
    truth_eff: Annotated[
        str | None,
        typer.Option("--truth-eff", help="True efficacy probabilities per dose (boin12)."),
    ] = None,
    trials: Annotated[int, typer.Option("--trials", help="Number of simulated trials.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 1,
    cohorts: CohortsOpt = None,
    workers: Annotated[
        int, typer.Option("--workers", help="Threads for the compiled kernels (same numbers).")
    ] = 1,
    generic: Annotated[
        bool, typer.Option("--generic", help="Use the generic fit() loop, not the kernel.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Simulate operating characteristics (selection %, patients/DLTs per dose, ...)."""
    from il2sim.designs import simulate_trials

    if truth is not None and truth_tox is not None:
        raise InputError("give --truth or --truth-tox, not both", field="truth_tox")
    text = truth if truth is not None else truth_tox
    if text is None:
        raise InputError("give --truth (true DLT probabilities per dose)", field="truth")
    p = _truth(text)
    q = _truth(truth_eff, "truth_eff")
    if q is not None and p is not None and len(q) != len(p):
        raise InputError(
            f"has {len(q)} doses but --truth has {len(p)}", field="truth_eff", value=truth_eff
        )
    with interruptible() as stop, progress_bar(not json_out) as update:
        des = spec.build(truth=p, max_patients_rule=False)
        oc = simulate_trials(
            des, p, trials, seed, max_cohorts=cohorts, max_patients=spec.max_patients,
            target=spec.target if spec.target is not None else spec.target_tox,
            use_kernel=not generic, workers=workers, truth_eff=q,
            progress=lambda done, total: update("simulating trials", done, total),
        )  # fmt: skip
        if stop and oc.n_trials == 0:
            raise KeyboardInterrupt  # stopped before one trial finished: nothing to keep
    _show(oc, json_out)
    _exit_if_interrupted(oc)


def exact_cmd(spec: DesignSpec, truth: TruthOpt, json_out: JsonOpt = False) -> None:
    """Exact operating characteristics (A+B family: 3+3, 3+3a, 3+3b, 4+5, a+b)."""
    from il2sim.designs import exact_oc

    p = _truth(truth)
    _show(exact_oc(spec.build(truth=p), p, spec.target), json_out)


def boundaries_cmd(
    spec: DesignSpec,
    cohorts: Annotated[int, typer.Option("--cohorts", help="Table up to this many cohorts.")] = 10,
    json_out: JsonOpt = False,
) -> None:
    """Print an interval design's decision table (escalate / de-escalate / eliminate per n)."""
    from il2sim.designs.conduct import decision_boundaries

    res = decision_boundaries(spec.build(n_doses=1), cohorts)
    if json_out:
        print_json(res)
    else:
        print(res.to_text())


def paths_cmd(
    spec: DesignSpec,
    outcomes: OutcomesOpt = None,
    outcomes_file: OutcomesFileOpt = None,
    cohorts_ahead: Annotated[
        int, typer.Option("--cohorts-ahead", help="Number of future cohorts.")
    ] = 2,
    truth: Annotated[
        str | None, typer.Option("--truth", help="True DLT probabilities per dose.")
    ] = None,
    truth_eff: Annotated[
        str | None,
        typer.Option("--truth-eff", help="True efficacy probabilities (boin12, efftox)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """All outcomes of the next cohorts with the design's decisions (and probabilities)."""
    from il2sim.designs import dose_paths

    p = _truth(truth)
    des = spec.build(truth=p)
    oc = _outcomes(outcomes, outcomes_file, des.n_doses)
    res = dose_paths(des, oc, cohorts_ahead, p, truth_eff=_truth(truth_eff, "truth_eff"))
    if json_out:
        print_json(res)
        return
    print(f"design {res.design}; from: {res.start or '(none)'}")
    for node in res.nodes:
        dec = node.decision
        what = (
            f"stop, MTD {dec.mtd if dec.mtd is not None else 'none'}"
            if dec.stop
            else f"next {dec.next_dose}"
        )
        pr = f"  p={node.probability:.4f}" if node.probability is not None else ""
        print(f"{'  ' * node.depth}{node.path or '(start)'} -> {what}{pr}")


def table_cmd(
    spec: DesignSpec,
    fmt: Annotated[str, typer.Option("--format", help="md, csv, html or json.")] = "md",
    cohorts: Annotated[
        int, typer.Option("--cohorts", help="Interval designs: table up to this many cohorts.")
    ] = 10,
    cohorts_ahead: Annotated[
        int, typer.Option("--cohorts-ahead", help="Other designs: cohorts enumerated.")
    ] = 2,
    outcomes: OutcomesOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the table to this file.")
    ] = None,
) -> None:
    """Protocol-ready decision table: BOIN-style counts per n, else next dose per history."""
    from il2sim._files import write_text_atomic
    from il2sim.designs.table import FORMATS, decision_table

    if fmt not in FORMATS:
        raise InputError(f"must be one of {', '.join(FORMATS)}, got {fmt!r}", field="format")
    interval = spec.design.strip().lower() in ("boin", "mtpi2", "i3+3", "keyboard")
    des = spec.build(n_doses=1 if interval else None)  # the count table needs no doses
    text = decision_table(des, cohorts, cohorts_ahead, outcomes or "").render(fmt)
    if out is None:
        sys.stdout.write(text)
    else:
        write_text_atomic(out, text)


def register(app: typer.Typer) -> None:
    """Add the ``design`` command group to ``app``."""
    grp = typer.Typer(help="Dose-finding designs: next dose, simulate, exact OCs, paths.")
    app.add_typer(grp, name="design")
    grp.command("next")(design_options()(next_cmd))
    grp.command("simulate")(design_options()(simulate_cmd))
    grp.command("exact")(design_options()(exact_cmd))
    grp.command("boundaries")(
        design_options(design="boin", target=0.3, cohort_size=3)(boundaries_cmd)
    )
    grp.command("paths")(design_options()(paths_cmd))
    grp.command("table")(design_options()(table_cmd))
