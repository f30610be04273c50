"""``il2sim report DIR --out report.html``: one self-contained HTML report of a trial."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from il2sim.cli.analyze import CodesOpt, DirArg, parse_test_codes
from il2sim.errors import InputError

OutOpt = Annotated[Path, typer.Option("--out", help="HTML file to write.")]
RefOpt = Annotated[
    Path | None,
    typer.Option(
        "--reference",
        help="JSON of published values to draw on the figures (see docs/analysis.md).",
    ),
]
TitleOpt = Annotated[str | None, typer.Option("--title", help="Report title.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _load_reference(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        ref = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {str(path)!r}: {exc}", field="--reference") from None
    if not isinstance(ref, dict):
        raise InputError("must be a JSON object", field="--reference", value=str(path))
    return ref


def report_cmd(
    directory: DirArg,
    out: OutOpt = Path("report.html"),
    test_codes: CodesOpt = None,
    reference: RefOpt = None,
    title: TitleOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write an HTML report (figures embedded, printable on A4) of a trial folder."""
    from il2sim import checks

    checks.output_file(out, "--out")
    from il2sim.analysis import analyze
    from il2sim.cli._common import print_json, progress_bar
    from il2sim.report import write_report

    ref = _load_reference(reference)
    result = analyze(directory, parse_test_codes(test_codes))
    steps = (
        "escalation",
        "pk",
        "nk",
        "dose-response",
        "adverse events",
        "antibodies",
        "operating characteristics",
    )
    done = 0
    with progress_bar() as update:

        def tick(name: str) -> None:
            nonlocal done
            done += 1
            update("report", done, len(steps), label=name)

        path = write_report(result, out, reference=ref, title=title, progress=tick)
    if json_out:
        print_json({"report": str(path), "n_subjects": result.n_subjects})
    else:
        print(f"report written to {path}")


def register(app: typer.Typer) -> None:
    """Add ``report`` to the il2sim app."""
    app.command("report")(report_cmd)
