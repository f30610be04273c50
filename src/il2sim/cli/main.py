"""The ``il2sim`` command line: a typer app; each command group lives in its own module.

User errors (:class:`il2sim.errors.Il2simError`) exit with code 2 and one line on stderr, no
traceback.  Ctrl-C exits with 130.  Every number option is checked first, in one
place (:mod:`il2sim.cli._options`); other exceptions are bugs and keep their traceback.  Modules register their commands through ``register(app)``.
"""

from __future__ import annotations

import functools
import importlib
import sys
import warnings
from typing import Any

import typer

from il2sim.errors import Il2simError


def _new_app() -> typer.Typer:
    return typer.Typer(
        name="il2sim",
        help="In-silico low-dose IL-2 dose-finding trials: model, designs, trials, analysis.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )


#: The app (every command is registered on first use: :func:`full_app`; ``il2sim.cli.main.app``
#: gives it registered).
_app = _new_app()

#: Command modules, in the order their commands appear in ``--help``.
COMMAND_MODULES: tuple[str, ...] = (
    "reproduce",
    "regimen",
    "simulate",
    "calibrate",
    "validate",
    "design",
    "trial",
    "analyze",
    "report",
    "sweep",
    "optimise",
    "export",
    "fit",
)


#: The web application's commands (serve, users, audit); the module imports typer only.
SERVE_COMMANDS = "il2sim.serve.commands"


#: First arguments that need the web application's commands only: ``il2sim serve``, ``users``
#: and ``audit`` start without importing the model, the designs, numba and scipy.stats (about
#: 7 s of the 10-15 s a server took to start on the shared 2-core machine, stop 23; the
#: server's tests start it many times).
SERVE_NAMES = frozenset({"serve", "users", "audit"})


def _root() -> None:
    """In-silico low-dose IL-2 dose-finding trials: model, designs, trials, analysis."""


def version() -> None:
    """Print the il2sim version."""
    from il2sim import __version__

    print(__version__)


_app.callback()(_root)
_app.command("version")(version)


@functools.cache
def full_app() -> typer.Typer:
    """The app with every command group registered (imported on first call)."""
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"il2sim.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"il2sim.cli.{name}":
                continue  # command group not built yet
            raise
        module.register(_app)
    importlib.import_module(SERVE_COMMANDS).register(_app)
    return _app


@functools.cache
def _serve_app() -> typer.Typer:
    """The same root with the web application's commands only (:data:`SERVE_NAMES`)."""
    small = _new_app()
    small.callback()(_root)
    importlib.import_module(SERVE_COMMANDS).register(small)
    return small


def __getattr__(name: str) -> Any:
    if name == "app":  # ``from il2sim.cli.main import app``: the full app
        return full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def command(argv: list[str] | None = None) -> Any:
    """The click command of the app with the strict number types (:mod:`il2sim.cli._options`):
    ASCII digits, finite floats, and each named option's checker.  For a serve command
    (``argv[0]`` in :data:`SERVE_NAMES`) only the web application's commands are loaded;
    without ``argv``, every command."""
    from il2sim.cli._options import harden

    base = _serve_app() if argv and argv[0] in SERVE_NAMES else full_app()
    return harden(typer.main.get_command(base))


def _notes(caught: list[warnings.WarningMessage]) -> None:
    """numpy/scipy warnings become one ``il2sim: note:`` line each (deduplicated), never raw
    stderr with a source line."""
    seen: set[str] = set()
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text not in seen:
            seen.add(text)
            print(f"il2sim: note: {text}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, mapping user errors to exit code 2 and one line.

    Both il2sim's own :class:`Il2simError` and click's usage errors (unknown option, a value
    that is not a number, ...) become ``il2sim: error: ...`` on stderr and exit code 2.
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            # as Python's own default: an unclosed file is the interpreter's business (a
            # Ctrl-C during an import leaves a .pyc reader open), not a note for the user
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                cmd = command(sys.argv[1:] if argv is None else argv)
                rc = cmd.main(args=argv, prog_name="il2sim", standalone_mode=False)
            finally:
                _notes(caught)
    except Il2simError as exc:
        print(f"il2sim: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (KeyboardInterrupt, typer.Abort):
        print("il2sim: interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.TyperException as exc:  # click usage errors (typer vendors click)
        fmt = getattr(exc, "format_message", None)
        msg = fmt() if callable(fmt) else str(exc)
        ctx = getattr(exc, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        print(f"il2sim: error: {msg}{where}", file=sys.stderr)
        sys.exit(int(getattr(exc, "exit_code", 2) or 2))
    if rc == 130:  # typer turns a KeyboardInterrupt into Exit(130), silently
        print("il2sim: interrupted", file=sys.stderr)
    # as click's standalone mode: always leave through SystemExit (0 on success)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
