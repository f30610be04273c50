"""The ``il2sim`` console script: Ctrl-C is quiet from the first line (docs/interrupt.md).

This module lives outside the ``il2sim`` package on purpose: importing any ``il2sim.*``
module first runs ``il2sim/__init__.py`` (0.2-0.4 s, seconds on a loaded machine), and a
Ctrl-C in that time would show Python's ``KeyboardInterrupt`` traceback.  Here the SIGINT
handler is installed before anything of il2sim is imported, so a Ctrl-C at any point of the
start-up exits 130 with the one line ``il2sim: interrupted``.  What is left is the time
before Python runs this script (interpreter start-up, a few milliseconds), where a SIGINT
ends the process by the signal's default action (no output at all).

Only the import is guarded: once :func:`il2sim.cli.main.main` runs, Python's ordinary
``KeyboardInterrupt`` (mapped to one line and exit 130 there) and the long commands'
contract (:mod:`il2sim._interrupt`) take over.
"""

from __future__ import annotations

# Only modules that are already loaded when Python runs a script (``os``, by ``site``) or
# built in (``_signal``: the C module; ``signal`` would import ``enum``, ``functools``...),
# so nothing slow runs before the handler is installed.
import os
from _signal import SIGINT
from _signal import signal as _set_handler


def _quiet(signum: int, frame: object) -> None:
    os.write(2, b"il2sim: interrupted\n")
    os._exit(130)


def main() -> None:
    """Import the CLI with a quiet Ctrl-C, then run it."""
    previous = _set_handler(SIGINT, _quiet)
    from il2sim.cli.main import main as run

    _set_handler(SIGINT, previous)
    run()


if __name__ == "__main__":
    main()
