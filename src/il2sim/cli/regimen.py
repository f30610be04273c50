"""``il2sim regimen``: show the expanded events of a regimen text spec or NONMEM table; convert.

Examples::

    il2sim regimen show "1.25 MIU/m2 sc qd x90" --bsa 1.8
    il2sim regimen show "1.25 MIU/m2 sc qd x90" --json
    il2sim regimen show --events doses.csv --time-unit h --amount-unit IU
    il2sim regimen convert "1.25 MIU/m2 sc qd x90" --to-nonmem doses.csv --bsa 1.8 --addl
    il2sim regimen convert --events doses.csv          # prints the canonical text spec
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from il2sim.cli._common import print_json
from il2sim.errors import InputError

regimen_app = typer.Typer(
    help="Dosing regimens: expand a text spec or a NONMEM event table; convert between them.",
    no_args_is_help=True,
)

SpecArg = Annotated[
    str | None,
    typer.Argument(
        metavar="SPEC",
        help='Regimen text, e.g. "1.25 MIU/m2 sc qd x90" (see docs/regimen.md).',
    ),
]
EventsOpt = Annotated[
    Path | None,
    typer.Option("--events", help="NONMEM-style event table (CSV) instead of SPEC."),
]
BsaOpt = Annotated[
    float | None, typer.Option("--bsa", help="Body-surface area, m2, to resolve per-m2 doses.")
]
TimeUnitOpt = Annotated[
    str, typer.Option("--time-unit", help="Time unit of the NONMEM table (h, d, min, week).")
]
AmountUnitOpt = Annotated[
    str, typer.Option("--amount-unit", help="Amount unit of the NONMEM table (IU, MIU, ug, mg).")
]
PerM2Opt = Annotated[
    bool, typer.Option("--per-m2", help="AMT in the NONMEM table is per m2 of BSA.")
]


def _load(
    spec: str | None,
    events: Path | None,
    time_unit: str,
    amount_unit: str,
    per_m2: bool,
) -> dict[str, Any]:
    """``{label: Regimen}`` from SPEC or --events (exactly one of them)."""
    from il2sim.regimen import parse_spec, read_nonmem_csv

    if (spec is None) == (events is None):
        raise InputError("give either SPEC or --events FILE (not both)", field="SPEC", value=spec)
    if spec is not None:
        return {"": parse_spec(spec)}
    assert events is not None
    regs = read_nonmem_csv(events, time_unit=time_unit, amount_unit=amount_unit, per_m2=per_m2)
    return {str(k): v for k, v in regs.items()}


#: Accepted body-surface areas, m2: a newborn has about 0.2 m2, the largest adults about 3 m2.
BSA_RANGE_M2 = (0.05, 5.0)


def _check_bsa(bsa: float | None) -> None:
    lo, hi = BSA_RANGE_M2
    if bsa is not None and not (lo <= bsa <= hi):
        raise InputError(
            f"must be a body-surface area between {lo:g} and {hi:g} m2, got {bsa!r}",
            field="bsa",
            value=bsa,
        )


def _fmt_time_of_day(time_day: float) -> str:
    minutes = round((time_day - int(time_day)) * 1440)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _fmt_duration(duration_day: float) -> str:
    if duration_day == 0:
        return ""
    if duration_day < 1:
        return f"{duration_day * 24:g} h"
    return f"{duration_day:g} d"


def _print_table(title: str, rows: list[dict[str, Any]], bsa: float | None) -> None:
    from rich.console import Console
    from rich.table import Table

    if bsa is not None:
        title = f"{title}  (BSA {bsa:g} m2)"
    table = Table(title=title)
    if any(r["amount_iu"] is None for r in rows):
        table.caption = "IU '-': a per-m2 dose; give --bsa to resolve it"
    for name in ("#", "day", "time", "amount", "unit", "route", "duration", "IU"):
        table.add_column(name, justify="right" if name not in ("unit", "route") else "left")
    for i, r in enumerate(rows, start=1):
        iu = r["amount_iu"]
        table.add_row(
            str(i),
            str(int(r["time_day"])),  # treatment day; "time" is the clock time in that day
            _fmt_time_of_day(r["time_day"]),
            f"{r['amount']:.10g}",
            str(r["unit"]),
            str(r["route"]).replace("_", " "),
            _fmt_duration(r["duration_day"]),
            "-" if iu is None else f"{iu:,.0f}",
        )
    Console(soft_wrap=True).print(table)


#: a SPEC such as "-1 MIU sc" starts with "-": pass it through as SPEC so the regimen parser
#: reports the bad dose instead of click reporting an unknown option.
_CTX = {"ignore_unknown_options": True}


@regimen_app.command("show", context_settings=_CTX)
def show_cmd(
    spec: SpecArg = None,
    events: EventsOpt = None,
    bsa: BsaOpt = None,
    time_unit: TimeUnitOpt = "h",
    amount_unit: AmountUnitOpt = "IU",
    per_m2: PerM2Opt = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the events as JSON.")] = False,
) -> None:
    """Print the expanded dosing events of SPEC (or of a NONMEM table) as a table."""
    from il2sim.regimen import format_spec

    _check_bsa(bsa)
    regs = _load(spec, events, time_unit, amount_unit, per_m2)
    out: dict[str, dict[str, Any]] = {}
    for label, reg in regs.items():
        rows = reg.event_rows(bsa)
        out[label] = {
            "spec": spec if spec is not None else format_spec(reg),
            "canonical_spec": format_spec(reg),
            "bsa_m2": bsa,
            "n_events": len(rows),
            "events": rows,
        }
    if json_out:
        if spec is not None:
            print_json(out[""])
        else:
            print_json({"file": str(events), "ids": out})
        return
    for label, rec in out.items():
        title = rec["canonical_spec"] if not label else f"ID {label}: {rec['canonical_spec']}"
        _print_table(title, rec["events"], bsa)
        print(f"{rec['n_events']} events")


@regimen_app.command("convert", context_settings=_CTX)
def convert_cmd(
    spec: SpecArg = None,
    events: EventsOpt = None,
    to_nonmem: Annotated[
        Path | None, typer.Option("--to-nonmem", help="Write a NONMEM-style CSV here (atomic).")
    ] = None,
    bsa: BsaOpt = None,
    time_unit: TimeUnitOpt = "h",
    amount_unit: AmountUnitOpt = "IU",
    per_m2: PerM2Opt = False,
    addl: Annotated[
        bool, typer.Option("--addl", help="Collapse equally spaced doses into II/ADDL rows.")
    ] = False,
) -> None:
    """Convert SPEC or --events to a NONMEM CSV (--to-nonmem), or print its canonical spec.

    --time-unit/--amount-unit/--per-m2 describe the input table and the written table.
    """
    from il2sim import checks

    if to_nonmem is not None:
        checks.output_file(to_nonmem, "--to-nonmem")
    from il2sim.regimen import format_spec, to_nonmem_table, write_nonmem_csv

    _check_bsa(bsa)
    regs = _load(spec, events, time_unit, amount_unit, per_m2)
    if to_nonmem is None:
        for label, reg in regs.items():
            print(f"{label}: {format_spec(reg)}" if label else format_spec(reg))
        return
    if per_m2 and bsa is not None:
        raise InputError("give --per-m2 or --bsa for the written table, not both", field="bsa")
    if bsa is None and not per_m2 and any(e.per_m2 for r in regs.values() for e in r.events):
        raise InputError(
            "per-m2 doses need --bsa (flat amounts) or --per-m2 (keep per-m2 amounts)",
            field="bsa",
            value=None,
        )
    ids: dict[int | str, Any] = {(1 if not k else k): v for k, v in regs.items()}
    table = to_nonmem_table(
        ids, bsa_m2=bsa, time_unit=time_unit, amount_unit=amount_unit, addl=addl
    )
    write_nonmem_csv(table, to_nonmem)
    print(f"wrote {len(table)} rows to {to_nonmem}")


def register(app: typer.Typer) -> None:
    """Add the ``regimen`` group to the il2sim app."""
    app.add_typer(regimen_app, name="regimen")
