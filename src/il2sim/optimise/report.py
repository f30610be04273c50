"""The optimiser's report: the Pareto table (Markdown, CSV) and the figure (PNG).

The figure plots every evaluated regimen's P(DLT) (x, bootstrap 95% interval) against its
P(efficacy) (y, Wilson 95% interval), joins the Pareto front, draws the DLT target as a
vertical line and marks the pick and the reference regimen.  matplotlib (Agg) through
:func:`il2sim.report.figures_base.figure_png` (text drawn literally), which writes through
:func:`il2sim._figures.png_bytes`, the one PNG writer of il2sim's figures.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

__all__ = ["COLUMNS", "pareto_figure", "pareto_markdown", "write_csv"]

#: Columns of the Pareto table (``pareto.csv``; one row per evaluated regimen).
COLUMNS: tuple[str, ...] = (
    "regimen", "p_eff", "p_eff_lo", "p_eff_hi", "p_dlt", "p_dlt_lo", "p_dlt_hi",
    "dlt_realised", "efficacy_median", "n", "within_target", "on_front",
)  # fmt: skip


def _table(data: dict[str, Any]) -> list[dict[str, Any]]:
    front = set(data["pareto_front"])
    t = float(data["dlt_target"])
    rows = sorted(data["regimens"], key=lambda r: (r["p_dlt"], -r["p_eff"]))
    return [
        {**{c: r.get(c) for c in COLUMNS[:-2]}, "within_target": r["p_dlt"] <= t,
         "on_front": r["regimen"] in front}
        for r in rows
    ]  # fmt: skip


def write_csv(data: dict[str, Any], path: Path) -> None:
    """Every evaluated regimen, sorted by P(DLT) (:data:`COLUMNS`)."""
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS), lineterminator="\n")
        w.writeheader()
        for r in _table(data):
            w.writerow(r)


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}"


def pareto_markdown(data: dict[str, Any], figure: str) -> str:
    """The report: settings, the pick against the reference, the table and the figure."""
    eff, t = data["efficacy"], float(data["dlt_target"])
    pick, ref, safe = data["pick"], data["reference_result"], data["pick_conservative"]
    lines = [
        "# il2sim optimise: regimen search",
        "",
        f"Efficacy: `{eff['definition']}`; DLT target: P(DLT) <= {t:g}; "
        f"{data['patients']} virtual patients (seed {data['seed']}, the same patients for "
        f"every regimen); {data['n_regimens']} regimens evaluated"
        + (" (**interrupted**: the search is incomplete)" if data["interrupted"] else "") + ".",
        f"Intervals (95%): {data['interval_method']}; Monte Carlo error over virtual "
        "patients only, not the model's parameter uncertainty.",
        "",
    ]
    for name, r in (("Pick", pick), ("Pick (upper bound within target)", safe),
                    ("Reference", ref)):  # fmt: skip
        if r is None:
            lines.append(f"* {name}: none")
        else:
            lines.append(
                f"* {name}: `{r['regimen']}`: P(eff) {_pct(r['p_eff'])}% "
                f"[{_pct(r['p_eff_lo'])}, {_pct(r['p_eff_hi'])}], P(DLT) {_pct(r['p_dlt'])}% "
                f"[{_pct(r['p_dlt_lo'])}, {_pct(r['p_dlt_hi'])}]"
            )
    lines += [
        "",
        "| regimen | P(eff) % | 95% | P(DLT) % | 95% | within target | Pareto front |",
        "| --- | ---: | --- | ---: | --- | :---: | :---: |",
    ]
    for r in _table(data):
        lines.append(
            f"| `{r['regimen']}` | {_pct(r['p_eff'])} | {_pct(r['p_eff_lo'])}-{_pct(r['p_eff_hi'])}"
            f" | {_pct(r['p_dlt'])} | {_pct(r['p_dlt_lo'])}-{_pct(r['p_dlt_hi'])} | "
            f"{'yes' if r['within_target'] else 'no'} | {'yes' if r['on_front'] else ''} |"
        )
    lines += ["", f"![P(efficacy) vs P(DLT)]({figure})", ""]
    return "\n".join(lines)


def pareto_figure(data: dict[str, Any]) -> bytes:
    """PNG: P(efficacy) vs P(DLT) of every regimen, the front, the target, pick, reference."""
    from il2sim.report.figures_base import A4_WIDTH_IN, _plt, figure_png

    plt = _plt()
    rows = data["regimens"]
    front = [r for r in rows if r["regimen"] in set(data["pareto_front"])]
    front.sort(key=lambda r: r["p_dlt"])
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 4.6))
    for r in rows:
        ax.errorbar(
            r["p_dlt"], r["p_eff"],
            xerr=[[max(r["p_dlt"] - r["p_dlt_lo"], 0.0)], [max(r["p_dlt_hi"] - r["p_dlt"], 0.0)]],
            yerr=[[max(r["p_eff"] - r["p_eff_lo"], 0.0)], [max(r["p_eff_hi"] - r["p_eff"], 0.0)]],
            fmt="o", ms=4, color="0.55", elinewidth=0.7, capsize=1.5, zorder=2,
        )  # fmt: skip
    if front:
        ax.plot([r["p_dlt"] for r in front], [r["p_eff"] for r in front], "-", color="C0",
                lw=1.4, label="Pareto front", zorder=3)  # fmt: skip
    ax.axvline(float(data["dlt_target"]), color="C3", ls="--", lw=1,
               label=f"DLT target {float(data['dlt_target']):g}")  # fmt: skip
    for key, marker, color, label in (("reference_result", "s", "C2", "reference"),
                                      ("pick", "*", "C1", "pick")):  # fmt: skip
        r = data[key]
        if r is not None:
            ax.plot(r["p_dlt"], r["p_eff"], marker, ms=13 if marker == "*" else 8, color=color,
                    mec="k", mew=0.6, zorder=4, label=f"{label}: {r['regimen']}")  # fmt: skip
    ax.set_xlabel("P(DLT) (toxicity layer, mean over virtual patients)")
    ax.set_ylabel(f"P(efficacy): {data['efficacy']['definition']}")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    png: bytes = figure_png(fig)
    return png
