"""The escalation plot: dose level (with dose) per patient, DLTs marked, as server-side SVG
drawn by matplotlib (object API, no pyplot state, so request threads do not share a figure).
No user text is drawn; the SVG is served as an image (``<img>``), so it cannot run script."""

from __future__ import annotations

import io
from typing import Any

__all__ = ["escalation_svg"]


def escalation_svg(state: dict[str, Any]) -> bytes:
    """SVG bytes of the escalation plot of a trial state (:func:`views.trial_state`)."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    proto = state["protocol"]
    n_doses = len(proto["doses"])
    fig = Figure(figsize=(7.5, 3.6), dpi=96)
    ax = fig.add_subplot(1, 1, 1)
    x = 0
    for c in state["cohorts"]:
        xs = list(range(x + 1, x + 1 + c["n_patients"]))
        x += c["n_patients"]
        for xi, letter in zip(xs, c["outcomes"], strict=True):
            dlt = letter in "TB"
            ax.plot([xi], [c["dose_level"]], marker="X" if dlt else "o", linestyle="none",
                    markersize=9, color="#c0392b" if dlt else "#2e86c1")  # fmt: skip
        ax.axvline(x + 0.5, color="#cccccc", linewidth=0.8)
    rec = state["recommendation"]
    if rec.get("next_dose") and not rec.get("stop"):
        ax.plot([x + 1], [rec["next_dose"]], marker="o", markersize=9, linestyle="none",
                markerfacecolor="none", color="#7f8c8d")  # fmt: skip
    ax.set_xlim(0.3, max(x + 1.7, 6))
    ax.set_ylim(0.5, n_doses + 0.5)
    ax.set_yticks(range(1, n_doses + 1))
    ax.set_yticklabels([f"{k}: {d:g}" for k, d in enumerate(proto["doses"], start=1)])
    ax.set_xlabel("patient (order of entry)")
    ax.set_ylabel(f"dose level ({proto['dose_unit']})")
    ax.legend(
        handles=[
            Line2D([], [], marker="o", linestyle="none", color="#2e86c1", label="no DLT"),
            Line2D([], [], marker="X", linestyle="none", color="#c0392b", label="DLT"),
            Line2D([], [], marker="o", linestyle="none", color="#7f8c8d",
                   markerfacecolor="none", label="recommended next"),
        ],
        loc="upper left", fontsize=8, frameon=False,
    )  # fmt: skip
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()
