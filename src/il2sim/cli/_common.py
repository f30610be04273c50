"""Helpers shared by the CLI modules: JSON printing, atomic file writes, float lists, progress
bars (the library reports progress through callbacks; only the CLI draws bars)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from il2sim import checks
from il2sim._files import atomic_path, write_atomic
from il2sim._json import to_jsonable

__all__ = [
    "Update",
    "atomic_path",
    "exit_interrupted",
    "parse_float_list",
    "print_json",
    "progress_bar",
    "to_jsonable",
    "write_atomic",
]


def print_json(obj: Any) -> None:
    """Print ``obj`` as one JSON object on stdout."""
    print(json.dumps(to_jsonable(obj), indent=2))


def parse_float_list(text: str, field: str) -> list[float]:
    """Parse ``"0.4,0.6,0.8"`` into finite floats (:func:`il2sim.checks.number_list`)."""
    return checks.number_list(text, field)


@contextmanager
def progress_bar(enabled: bool = True, *, times: bool = False) -> Iterator[Update]:
    """The CLI's one progress display: ``rich`` bars on stderr, drawn only when stderr is a
    terminal, gone when the work ends.  Yields ``update(task, done, total, label=None)``: one
    bar per task name, ``total`` None while unknown (the bar pulses), ``label`` the text shown
    (default: the task name).  ``times`` adds elapsed and remaining time.  Disabled (e.g.
    with ``--json``), ``update`` does nothing.  The library never draws: it reports progress
    through callbacks that the commands route here."""
    if not enabled:
        yield _no_update
        return
    import sys

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[ProgressColumn] = [TextColumn("{task.description}"), BarColumn(),
                                     MofNCompleteColumn()]  # fmt: skip
    if times:
        columns += [TimeElapsedColumn(), TimeRemainingColumn()]
    tasks: dict[str, Any] = {}
    with Progress(
        *columns,
        console=Console(stderr=True),
        transient=True,
        disable=not sys.stderr.isatty(),  # a bar is for a terminal, not for logs and pipes
    ) as prog:

        def update(task: str, done: float, total: float | None, label: str | None = None) -> None:
            if task not in tasks:
                tasks[task] = prog.add_task(label or task, total=total)
            prog.update(tasks[task], completed=done, total=total, description=label or task)

        yield update


#: ``update(task, done, total, label=None)`` of :func:`progress_bar`.
Update = Callable[..., None]


def _no_update(task: str, done: float, total: float | None, label: str | None = None) -> None:
    """The ``update`` of a disabled bar."""


def exit_interrupted(what: str, done: int, asked: int | None, where: str | None = None) -> None:
    """End an interrupted command: print the contract's one line and exit 130
    (:mod:`il2sim._interrupt`).  Call it after the flagged result was written and printed."""
    import sys

    from il2sim._interrupt import EXIT_INTERRUPTED, interrupt_message

    sys.stdout.flush()
    print(interrupt_message(what, done, asked, where), file=sys.stderr)
    raise SystemExit(EXIT_INTERRUPTED)  # not typer.Exit: main() prints a line for that one
