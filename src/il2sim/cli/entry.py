"""The ``il2sim`` console script: a Ctrl-C while the CLI is still importing (seconds on a
loaded machine) exits 130 with one line, no traceback (docs/interrupt.md).

Only the import is guarded: once :func:`il2sim.cli.main.main` runs, Python's ordinary
``KeyboardInterrupt`` (mapped to exit 130 there) and the long commands' own contract
(:mod:`il2sim._interrupt`) take over.
"""

from __future__ import annotations

import os
import signal
from typing import Any


def _quiet(signum: int, frame: Any) -> None:
    os.write(2, b"il2sim: interrupted\n")
    os._exit(130)


def main() -> None:
    """Import the CLI with a quiet Ctrl-C, then run it."""
    previous = signal.signal(signal.SIGINT, _quiet)
    from il2sim.cli.main import main as run

    signal.signal(signal.SIGINT, previous)
    run()
