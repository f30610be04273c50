"""``il2sim analyze DIR``: endpoints, dose-response statistics and safety tables of a trial.

Only parsing and printing; the work is done by :func:`il2sim.analysis.analyze`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from il2sim.cli._common import print_json, to_jsonable
from il2sim.errors import InputError

DirArg = Annotated[
    Path,
    typer.Argument(
        help="SDTM folder (dm, ex, cp; ae, pc, is), ADaM folder (adsl, adcp; adpc, adae, adis) "
        "or a trial's output folder holding sdtm/ and adam/."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", help="Write the result tables as CSV (and JSON) here.")
]
CodesOpt = Annotated[
    str | None,
    typer.Option(
        "--test-codes",
        help="Map endpoints to your CP test codes, e.g. NKCELLS=CD56NK,NKBRIGHT=CD56BR.",
    ),
]


def parse_test_codes(text: str | None) -> dict[str, str] | None:
    """Parse ``"NKCELLS=CODE,NKBRIGHT=CODE"``; raise InputError naming the bad entry."""
    if text is None:
        return None
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, val = part.partition("=")
        key, val = key.strip().upper(), val.strip()
        if not sep or not key or not val:
            raise InputError(
                f"expected ENDPOINT=CODE, got {part.strip()!r}", field="--test-codes", value=part
            )
        if key not in ("NKCELLS", "NKBRIGHT"):
            raise InputError(
                f"unknown endpoint {key!r} (expected NKCELLS or NKBRIGHT)",
                field="--test-codes",
                value=key,
            )
        out[key] = val
    return out


def analyze_cmd(
    directory: DirArg, json_out: JsonOpt = False, out: OutOpt = None, test_codes: CodesOpt = None
) -> None:
    """Analyse a trial folder: NK endpoints, dose-response tests, AEs, DLTs, antibodies."""
    from il2sim import checks

    if out is not None:
        checks.output_folder(out, "--out")
    from il2sim.analysis import analyze

    result = analyze(directory, parse_test_codes(test_codes))
    if out is not None:  # staged beside --out and moved into place when every table is written
        from il2sim._files import staged_folder

        with staged_folder(out) as stage:
            for name, table in result.tables().items():
                table.to_csv(stage / f"{name}.csv", index=False)
            (stage / "analysis.json").write_text(json.dumps(to_jsonable(result), indent=2))
    if json_out:
        print_json(result)
        return
    _print_text(result, out)


def _print_text(result: object, out: Path | None) -> None:
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from il2sim.analysis import AnalysisResult

    assert isinstance(result, AnalysisResult)
    con = Console()
    mtd = result.mtd.get("dose_miu_per_m2")
    con.print(
        f"[bold]{result.path}[/bold]: {result.n_subjects} subjects, dose levels "
        f"{', '.join(f'{d:g}' for d in result.dose_levels_miu_per_m2)} MIU/m2/day; "
        f"MTD selected: {'not recorded' if mtd is None else f'{mtd:g} MIU/m2/day'}"
    )
    for dr in result.dose_response:
        t = Table(title=f"{dr.test}: peak % increase from baseline")
        for col in ("level", "dose (MIU/m2)", "n", "mean", "SD", "median", "range"):
            t.add_column(col, justify="right")
        for s in dr.summary:
            t.add_row(
                str(s.level),
                f"{s.dose_miu_per_m2:g}",
                str(s.n),
                f"{s.mean:.0f}",
                f"{s.sd:.0f}",
                f"{s.median:.0f}",
                f"{s.min:.0f} - {s.max:.0f}",
            )
        con.print(t)
        if dr.jonckheere is not None:
            jt = dr.jonckheere
            con.print(
                f"  Jonckheere-Terpstra J = {jt.statistic:g}, one-sided p = {jt.pvalue:.3g} "
                f"({jt.method})"
            )
        if dr.spearman is not None:
            con.print(f"  Spearman rho = {dr.spearman.statistic:.3f}, p = {dr.spearman.pvalue:.3g}")
        if dr.log_dose is not None:
            f = dr.log_dose
            con.print(
                f"  slope per ln(dose) = {f.slope:.1f} %-points "
                f"(95% CI {f.slope_ci[0]:.1f} to {f.slope_ci[1]:.1f}), p = {f.pvalue:.3g}"
            )
    t = Table(title="DLTs by dose level")
    for col in ("level", "dose (MIU/m2)", "treated", "DLT"):
        t.add_column(col, justify="right")
    dl = result.dlt_table
    for level, dose, n_treated, n_dlt in zip(
        dl["level"], dl["dose_miu_per_m2"], dl["n_treated"], dl["n_dlt"], strict=True
    ):
        dlt_text = "-" if pd.isna(n_dlt) else str(int(n_dlt))
        t.add_row(str(level), f"{dose:g}", str(n_treated), dlt_text)
    con.print(t)
    if result.antibodies is not None:
        ab = result.antibodies
        tot = ab[ab["level"] == 0]
        for test, k, n in zip(tot["test"], tot["n_positive"], tot["n_tested"], strict=True):
            con.print(f"Antibodies {test}: {k} of {n} tested positive")
    for note in result.notes:
        con.print(f"[dim]note: {note}[/dim]")
    if out is not None:
        con.print(f"tables written to {out}")


def register(app: typer.Typer) -> None:
    """Add ``analyze`` to the il2sim app."""
    app.command("analyze")(analyze_cmd)
