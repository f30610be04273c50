"""``il2sim optimise``: search regimens for the highest P(efficacy) with P(DLT) <= a target.

Only parsing and printing: the work is :func:`il2sim.optimise.optimise` (docs/optimise.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from il2sim.cli._common import exit_interrupted, parse_float_list, print_json, progress_bar

DEFAULT_OUT = Path("il2sim-optimise")


def _names(text: str) -> list[str]:
    return [t for t in (x.strip() for x in text.split(",")) if t]


def optimise_cmd(
    efficacy: Annotated[
        str, typer.Option("--efficacy", help="Efficacy definition, e.g. nk_fold>=3@day56.")
    ] = "nk_fold>=3@day56",
    dlt_target: Annotated[
        float, typer.Option("--dlt-target", help="Largest acceptable P(DLT), in (0, 1).")
    ] = 0.25,
    doses: Annotated[
        str, typer.Option("--doses", help="Doses per m2, MIU/m2, comma-separated ('' for none).")
    ] = "0.5,1,1.25,1.5,2",
    flat_doses: Annotated[
        str, typer.Option("--flat-doses", help="Flat doses, MIU, comma-separated (BSA ignored).")
    ] = "",
    intervals: Annotated[
        str, typer.Option("--intervals", help="Intervals among qd, q2d, q3d, weekly.")
    ] = "qd,q2d",
    routes: Annotated[str, typer.Option("--routes", help="Routes among sc, iv (bolus).")] = "sc",
    days: Annotated[int, typer.Option("--days", help="Treatment period, days from day 0.")] = 90,
    reference: Annotated[
        str, typer.Option("--reference", help="Comparator regimen (always evaluated).")
    ] = "1.25 MIU/m2 sc qd x90d",
    patients: Annotated[
        int, typer.Option("--patients", help="Virtual patients per regimen (the same for all).")
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the virtual patients.")] = 1,
    n_boot: Annotated[
        int, typer.Option("--n-boot", help="Bootstrap resamples of patients for the intervals.")
    ] = 1000,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder: store/ (resumable), optimise.json, "
                           "pareto.csv, pareto.png, report.md.")
    ] = DEFAULT_OUT,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Dask LocalCluster workers (default: in-process).")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="An existing Dask scheduler, tcp://HOST:PORT.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Find the regimen with the highest P(efficacy) subject to P(DLT) <= --dlt-target."""
    from il2sim import checks

    checks.output_folder(out, "--out")
    from il2sim.optimise import SearchSpace, optimise
    from il2sim.trial.efficacy import parse_efficacy

    space = SearchSpace(
        doses_per_m2=tuple(parse_float_list(doses, "--doses")) if doses.strip() else (),
        flat_doses=tuple(parse_float_list(flat_doses, "--flat-doses")) if flat_doses.strip() else (),
        intervals=tuple(_names(intervals)), routes=tuple(_names(routes)), days=days,
        reference=reference,
    )  # fmt: skip
    parse_efficacy(efficacy, last_day=days)  # checked before anything runs
    checks.probability(dlt_target, "--dlt-target", open_interval=True)
    with progress_bar(not json_out, times=True) as update:
        res = optimise(
            space, efficacy, dlt_target, patients, seed, out, n_boot=n_boot, workers=workers,
            scheduler=scheduler, progress=lambda done, total: update("regimens", done, total),
        )  # fmt: skip
    data = res.to_dict()
    if json_out:
        print_json(data)
    else:
        _print(data)
    if data["interrupted"]:
        exit_interrupted("regimens", res.done, res.asked, str(out))


def _print(data: dict[str, Any]) -> None:
    def line(name: str, r: dict[str, Any] | None) -> str:
        if r is None:
            return f"{name}: none within the target"
        return (f"{name}: {r['regimen']}  P(eff) {r['p_eff']:.3f} [{r['p_eff_lo']:.3f}, "
                f"{r['p_eff_hi']:.3f}]  P(DLT) {r['p_dlt']:.3f} [{r['p_dlt_lo']:.3f}, "
                f"{r['p_dlt_hi']:.3f}]")  # fmt: skip

    print(f"{data['n_regimens']} regimens, {data['patients']} patients each, efficacy "
          f"{data['efficacy']['definition']}, P(DLT) <= {data['dlt_target']:g}")  # fmt: skip
    print(line("pick", data["pick"]))
    print(line("pick (upper bound within target)", data["pick_conservative"]))
    print(line("reference", data["reference_result"]))
    print("Pareto front: " + "; ".join(data["pareto_front"]))
    print(f"report: {data['out_dir']}/report.md (table and figure)")


def register(app: typer.Typer) -> None:
    """Add ``optimise`` to the il2sim app."""
    app.command("optimise")(optimise_cmd)
