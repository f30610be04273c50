"""The ``il2sim`` console script's entry, re-exported for callers inside the package.

The console script itself is :mod:`il2sim_console` (outside the package, so that its SIGINT
handler is installed before ``il2sim/__init__.py`` runs; docs/interrupt.md).
"""

from __future__ import annotations

from il2sim_console import main

__all__ = ["main"]
