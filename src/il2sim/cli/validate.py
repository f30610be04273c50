"""``il2sim validate``: the model against the built-in study library (or a user's file).

Examples::

    il2sim validate                       # table: study | regimen | endpoint | published |
                                          # model median [90% PI] | agree | role | rule
    il2sim validate --json                # one JSON object (rows and counts)
    il2sim validate --studies my.yaml     # a user's studies, same format as the library
    il2sim validate --out DIR             # also write DIR/validate.json and DIR/validate.txt

The work is :func:`il2sim.validate.validate`; this module parses options and prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from il2sim import checks
from il2sim.cli._common import exit_interrupted, print_json, progress_bar, to_jsonable
from il2sim.cli._model import StudyModelOption, require_v2


def validate_cmd(
    studies: Annotated[
        Path | None, typer.Option("--studies", help="Study file (YAML); default: built-in.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the virtual populations.")] = 2026,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory for validate.json / validate.txt.")
    ] = None,
    model: StudyModelOption = "v2",
) -> None:
    """Run every study row (model v2) and print the published value beside the model's."""
    from il2sim._files import write_text_atomic
    from il2sim.validate import format_table, validate

    require_v2(model, "validate")
    if studies is not None:
        studies = checks.input_file(studies, "studies")
    if out is not None:
        out = checks.output_folder(out, "out")
    with progress_bar(not json_out) as update:
        report = validate(
            studies, seed=seed, progress=lambda d, t: update("simulating studies", d, t)
        )
    text = format_table(report)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "validate.json",
                          json.dumps(to_jsonable(report.to_dict()), indent=2))
        write_text_atomic(out / "validate.txt", text + "\n")
    if json_out:
        print_json(report.to_dict())
    else:
        print(text)
    if report.interrupted:
        exit_interrupted("study rows", len(report.rows), report.asked,
                         str(out / "validate.json") if out is not None else None)


def register(app: typer.Typer) -> None:
    """Add ``il2sim validate`` to ``app``."""
    app.command("validate")(validate_cmd)
