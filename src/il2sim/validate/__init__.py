"""``il2sim validate``: the model against published studies (training and validation rows).

:func:`validate` runs a study file (default: the built-in library ``studies.yaml``) and
returns a :class:`ValidationReport`: one row per published number, with the model's median
and 90% prediction interval over its virtual population, the population statistic the rule is
applied to, the rule and agree / disagree.  Misses are reported, never tuned away: only the
training rows are fitted (``il2sim calibrate``).  See docs/validate.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from il2sim._interrupt import interrupt_fields, interruptible
from il2sim.model.parameters import Parameters
from il2sim.validate.library import (
    DEFAULT_PATIENTS,
    Study,
    ValidationRow,
    builtin_path,
    load_studies,
    parse_study,
    run_studies,
)
from il2sim.validate.metrics import METRICS

__all__ = [
    "DEFAULT_PATIENTS",
    "METRICS",
    "Study",
    "ValidationReport",
    "ValidationRow",
    "builtin_path",
    "format_table",
    "load_studies",
    "parse_study",
    "validate",
]


def _g(x: float) -> str:
    return f"{x:.3g}"


@dataclass(frozen=True)
class ValidationReport:
    """Rows and counts of one validation run."""

    rows: tuple[ValidationRow, ...]
    seed: int
    studies_file: str
    #: Rows asked for (``len(rows) < asked``: interrupted, the finished rows only).
    asked: int = -1

    @property
    def interrupted(self) -> bool:
        """True when a Ctrl-C stopped the run before every row was simulated."""
        return 0 <= self.asked and len(self.rows) < self.asked

    def counts(self) -> dict[str, dict[str, int]]:
        """{role: {rows, agree}}."""
        out: dict[str, dict[str, int]] = {}
        for r in self.rows:
            c = out.setdefault(r.study.role, {"rows": 0, "agree": 0, "studies": 0})
            c["rows"] += 1
            c["agree"] += int(r.agree)
        for role in out:
            out[role]["studies"] = len({r.study.study for r in self.rows if r.study.role == role})
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``il2sim validate --json``)."""
        return {
            "seed": self.seed,
            "studies_file": self.studies_file,
            "counts": self.counts(),
            "n_rows": len(self.rows),
            "n_agree": sum(r.agree for r in self.rows),
            "rows": [r.to_dict() for r in self.rows],
            **interrupt_fields(len(self.rows), self.asked if self.asked >= 0 else len(self.rows)),
        }

    def table_rows(self) -> list[dict[str, str]]:
        """Rows as text cells: study | regimen | endpoint | published | model median [90% PI]
        | agree | role | rule."""
        out = []
        for r in self.rows:
            s = r.study
            model = f"{_g(r.median)} [{_g(r.p5)}, {_g(r.p95)}]"
            if s.stat == "mean":
                model += f" (mean {_g(r.statistic)})"
            out.append({
                "study": s.study, "regimen": s.regimen, "endpoint": s.endpoint,
                "published": s.published_text, "model": model,
                "agree": "yes" if r.agree else "NO", "role": s.role, "rule": s.rule_text,
            })
        return out


def format_table(report: ValidationReport) -> str:
    """Plain-text table (one row per line, ` | `-separated) with the counts at the end."""
    head = "study | regimen | endpoint | published | model median [90% PI] | agree | role | rule"
    lines = [head, "-" * len(head)]
    for c in report.table_rows():
        lines.append(" | ".join(c[k] for k in ("study", "regimen", "endpoint", "published",
                                                "model", "agree", "role", "rule")))
    for role, n in sorted(report.counts().items()):
        lines.append(f"{role}: {n['agree']} of {n['rows']} rows agree ({n['studies']} studies)")
    return "\n".join(lines)


def validate(
    studies: str | Path | None = None,
    seed: int = 2026,
    parameters: Parameters | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ValidationReport:
    """Run the rows of ``studies`` (a file; default the built-in library).  Interruptible
    (:mod:`il2sim._interrupt`): a first Ctrl-C keeps the finished rows, flagged.
    ``parameters``: default model v2's packaged table (:mod:`il2sim.model.models`)."""
    table = load_studies(studies)
    if parameters is None:
        from il2sim.model.models import load_model_parameters

        parameters = load_model_parameters("v2")
    with interruptible():
        rows = run_studies(table, seed=seed, parameters=parameters, progress=progress)
    return ValidationReport(rows, seed, str(studies) if studies is not None else "built-in",
                            asked=len(table))
