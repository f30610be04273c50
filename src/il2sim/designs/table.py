"""Protocol-ready decision tables for every design (``il2sim design table``).

- Interval designs (BOIN, mTPI-2, i3+3, Keyboard; BOIN with get.boundary's clipping): one row
  per number treated at the current dose: escalate if DLTs <=, de-escalate if >=, eliminate
  if >= (the BOIN package's ``get.boundary`` layout).
- Every other design (A+B, CRM, TITE-CRM and TITE-BOIN on complete follow-up, BOIN12 with its
  N/E/T/B outcomes, any rule-wrapped design): the next dose for every outcome history of the
  next ``cohorts_ahead`` cohorts from the outcomes so far (:func:`dose_paths`), as in a CRM
  protocol's "dose transition" table.

Formats: markdown, CSV, HTML (escaped) and JSON, all from one :class:`DecisionTable`.
"""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import dataclass
from typing import Any

from il2sim.designs._interval import IntervalDesign
from il2sim.designs.base import Design, Outcomes
from il2sim.designs.paths import dose_paths
from il2sim.errors import DesignError

__all__ = ["FORMATS", "DecisionTable", "decision_table"]

FORMATS = ("md", "csv", "html", "json")


@dataclass(frozen=True)
class DecisionTable:
    """A design's decision table: a title, column names and rows of cells (None = NA)."""

    design: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: one object per row."""
        return {
            "design": self.design,
            "title": self.title,
            "columns": list(self.columns),
            "rows": [dict(zip(self.columns, r, strict=True)) for r in self.rows],
        }

    def render(self, fmt: str) -> str:
        """The table as ``md``, ``csv``, ``html`` or ``json`` text."""
        cell = [["NA" if v is None else str(v) for v in r] for r in self.rows]
        if fmt == "md":
            head = "| " + " | ".join(self.columns) + " |"
            sep = "|" + "|".join(" --- " for _ in self.columns) + "|"
            body = ["| " + " | ".join(r) + " |" for r in cell]
            return "\n".join([f"**{self.title}**", "", head, sep, *body]) + "\n"
        if fmt == "csv":
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(self.columns)
            w.writerows(cell)
            return buf.getvalue()
        if fmt == "html":
            esc = html.escape
            th = "".join(f"<th>{esc(c)}</th>" for c in self.columns)
            trs = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>"
                          for r in cell)  # fmt: skip
            return (f"<table><caption>{esc(self.title)}</caption><thead><tr>{th}</tr></thead>"
                    f"<tbody>{trs}</tbody></table>\n")  # fmt: skip
        if fmt == "json":
            return json.dumps(self.to_dict(), indent=2) + "\n"
        raise DesignError(f"must be one of {', '.join(FORMATS)}, got {fmt!r}", field="format")


def decision_table(
    design: Design, n_cohorts: int = 10, cohorts_ahead: int = 2, outcomes: Outcomes | str = ""
) -> DecisionTable:
    """The decision table of ``design`` (module docstring)."""
    if isinstance(design, IntervalDesign) and not design.time_to_event:
        b = design.boundaries(n_cohorts * design.cohort_size)
        rows = tuple(zip(b["n"], b["escalate_max_dlt"], b["deescalate_min_dlt"],
                         b["eliminate_min_dlt"], strict=True))  # fmt: skip
        return DecisionTable(
            design.name,
            f"{design.name}: decisions by DLTs among patients treated at the current dose "
            f"(target {design.target:g})",
            ("patients treated", "escalate if DLTs <=", "de-escalate if DLTs >=",
             "eliminate if DLTs >="),
            rows,
        )  # fmt: skip
    tree = dose_paths(design, outcomes, cohorts_ahead)
    rows_p: list[tuple[Any, ...]] = []
    for node in tree.nodes:
        dec = node.decision
        rows_p.append((node.depth, node.path or "(start)",
                       "stop" if dec.stop else dec.next_dose, dec.cohort_size, dec.mtd,
                       dec.reason))  # fmt: skip
    what = "OBD" if getattr(design, "efficacy", False) else "MTD"
    return DecisionTable(
        design.name,
        f"{design.name}: next dose after every outcome of the next {cohorts_ahead} cohorts "
        f"(from: {tree.start or 'start'}; complete follow-up)",
        ("cohorts ahead", "outcomes", "next dose", "cohort size", f"{what} if stopped now",
         "reason"),
        tuple(rows_p),
    )  # fmt: skip
