"""``il2sim export``: SBML model files and NONMEM-style datasets.

Examples::

    il2sim export sbml --regimen "1.25 MIU/m2 sc qd x90" --out model.xml
    il2sim export sbml --regimen "1.25 MIU/m2 sc qd x90" --patient 3 --seed 7 --out p3.xml
    il2sim export nonmem --regimen "1.25 MIU/m2 sc qd x90" --patients 20 --out sim.csv
    il2sim export nonmem --sdtm trial_out/ --out trial.csv      # trial_out/sdtm/ is read
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from il2sim.cli._common import print_json
from il2sim.errors import InputError

export_app = typer.Typer(
    help="Export the model as SBML, or simulations / SDTM trials as NONMEM datasets.",
    no_args_is_help=True,
)


@export_app.command("sbml")
def sbml_cmd(
    regimen: Annotated[str, typer.Option(help='Regimen text, e.g. "1.25 MIU/m2 sc qd x90".')],
    out: Annotated[Path, typer.Option("--out", "-o", help="SBML file to write.")],
    patient: Annotated[
        int | None,
        typer.Option(help="Patient index (0-based) of the seeded population; default: typical."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Population seed.")] = 0,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print what was written as JSON.")
    ] = False,
) -> None:
    """Write the model (one patient's parameters, doses as SBML events) as SBML L3V2."""
    from il2sim import checks

    checks.output_file(out, "--out")
    from il2sim.io.sbml import export_sbml
    from il2sim.regimen.spec import parse_spec

    ex = export_sbml(parse_spec(regimen), patient=patient, seed=seed)
    _write_text(out, ex.sbml)
    if json_out:
        print_json({**ex.to_dict(), "out": str(out)})
    else:
        print(f"wrote {out} ({ex.n_events} dose events, {len(ex.y0)} states)")


@export_app.command("nonmem")
def nonmem_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV dataset to write.")],
    sdtm: Annotated[
        Path | None,
        typer.Option(
            help="SDTM folder (or the folder `il2sim trial --out` wrote, read from its sdtm/), "
            "instead of a simulation; file and variable names in any case, bad values rejected "
            "with row and column."
        ),
    ] = None,
    regimen: Annotated[
        str | None, typer.Option(help="Regimen text to simulate (instead of --sdtm).")
    ] = None,
    patients: Annotated[int, typer.Option(help="Virtual patients to simulate.")] = 10,
    seed: Annotated[int, typer.Option(help="Population seed.")] = 0,
    horizon: Annotated[
        float | None, typer.Option("--horizon-days", help="Simulation horizon, days.")
    ] = None,
    every: Annotated[
        float, typer.Option(help="Observation spacing of the simulation, hours.")
    ] = 24.0,
    observe: Annotated[
        str, typer.Option(help="Observations, comma-separated: il2, nk, bright.")
    ] = "il2,nk",
    json_out: Annotated[bool, typer.Option("--json", help="Print a summary as JSON.")] = False,
) -> None:
    """Write a NONMEM-style dataset (ID TIME(h) AMT RATE DV MDV EVID CMT DVID BLQ BSA WT AGE
    SEX DOSE) of a simulation or of an SDTM trial folder."""
    from il2sim import checks

    checks.output_file(out, "--out")
    import numpy as np

    from il2sim import units
    from il2sim.io.nonmem import nonmem_from_sdtm, nonmem_from_simulation, write_nonmem

    if (sdtm is None) == (regimen is None):
        raise InputError("give exactly one of --sdtm or --regimen", field="export nonmem")
    if sdtm is not None:
        df = nonmem_from_sdtm(sdtm)
        source = str(sdtm)
    else:
        assert regimen is not None
        from il2sim import limits
        from il2sim.model.parameters import load_parameters
        from il2sim.option_rules import check_rule
        from il2sim.population import Population
        from il2sim.regimen.spec import parse_spec
        from il2sim.simulate import simulate

        every = check_rule("every", every, "--every")  # >= 1 minute (docs/limits.md)
        from il2sim.simulate import check_size

        reg = parse_spec(regimen)
        params = load_parameters()
        h = float(reg.default_horizon_day if horizon is None else horizon)
        limits.check("horizon_days", h, field="horizon_days")
        step = float(units.hours_to_days(every))
        check_size(patients, int(h / step) + 2)  # finite: step >= 1 minute, h <= HORIZON_DAYS
        pop = Population.sample(patients, seed, params)
        t = np.arange(int(np.floor(h / step + 1e-9)) + 1) * step
        res = simulate(reg, pop, params, horizon_day=h, output_times_day=t)
        obs = [o.strip() for o in observe.split(",") if o.strip()]
        df = nonmem_from_simulation(res, pop, reg, observations=obs)
        source = regimen
    write_nonmem(df, out)
    info = {
        "out": str(out),
        "source": source,
        "rows": len(df),
        "subjects": int(df["ID"].nunique()),
        "doses": int((df["EVID"] == 1).sum()),
        "observations": int((df["EVID"] == 0).sum()),
        "columns": list(df.columns),
    }
    if json_out:
        print_json(info)
    else:
        print(
            f"wrote {out}: {info['rows']} rows, {info['subjects']} subjects, "
            f"{info['doses']} doses, {info['observations']} observations"
        )


def _write_text(path: Path, text: str) -> None:
    from il2sim.cli._common import write_atomic

    def writer(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    write_atomic(path, writer)


def register(app: typer.Typer) -> None:
    """Add the ``export`` group to the il2sim app."""
    app.add_typer(export_app, name="export")
