"""Reports: figures (matplotlib, lazily imported) and the one-file HTML report.

``write_report(path_or_result, out, reference=None)`` analyses an SDTM folder (or takes an
:class:`~il2sim.analysis.AnalysisResult`) and writes one self-contained HTML file atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from il2sim.analysis import AnalysisResult, analyze
from il2sim.report.html import render_html

__all__ = ["render_html", "write_report"]


def write_report(
    source: str | Path | AnalysisResult,
    out: str | os.PathLike[str],
    reference: Mapping[str, Any] | None = None,
    test_codes: Mapping[str, str] | None = None,
    title: str | None = None,
    progress: Callable[[str], None] | None = None,
    validation: Any = None,
) -> Path:
    """Write the HTML report of ``source`` to ``out`` (temp file, then rename); return ``out``.

    ``reference`` holds published values to draw on the figures (see
    :func:`il2sim.report.figures.normalise_reference`).
    """
    from il2sim._files import write_text_atomic

    result = source if isinstance(source, AnalysisResult) else analyze(source, test_codes)
    text = render_html(
        result, reference=reference, title=title, progress=progress, validation=validation
    )
    target = Path(out)
    return write_text_atomic(target, text)
