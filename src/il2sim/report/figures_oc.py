"""Operating characteristics of replicate trials (bar charts) and the report's tables: the OC
series and scalars of a replicate summary, and the per-level summary table (see
:mod:`il2sim.report.figures`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from il2sim.analysis import AnalysisResult
from il2sim.report.figures_base import (
    A4_WIDTH_IN,
    _literal_text,
    _plt,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


@_literal_text
def plot_operating_characteristics(result: AnalysisResult) -> Figure | None:
    """Bar charts of per-level operating characteristics from a replicate summary JSON.

    Every top-level entry that is a list of numbers with one value per dose level (levels from
    the JSON's ``doses_miu_per_m2`` when present), or a dict of dose -> number (such as
    ``mtd_selected_pct``), becomes one panel.
    """
    rep = result.replicates
    if not rep:
        return None
    series = oc_series(rep, result.dose_levels_miu_per_m2)
    if not series:
        return None
    plt = _plt()
    n = len(series)
    ncols = min(n, 2)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(A4_WIDTH_IN, 2.5 * nrows), squeeze=False)
    for ax, (name, (labels, vals)) in zip(axes.ravel(), series.items(), strict=False):
        ax.bar(labels, vals, color="tab:cyan", edgecolor="k", lw=0.5)
        nice = name.replace("_pct", " (%)").replace("_", " ")
        for short, upper in (
            ("mtd", "MTD"),
            ("dlts", "DLTs"),
            ("nk ", "NK "),
            ("bright", "CD56bright"),
        ):
            nice = nice.replace(short, upper)
        nice = nice[:1].upper() + nice[1:]
        ax.set_title(nice, fontsize=9)
        ax.set_xlabel("dose (MIU/m²/day)", fontsize=8)
        ax.set_ylabel(nice if len(nice) < 28 else nice[:26] + "…", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3, axis="y")
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def oc_series(
    rep: Mapping[str, Any], levels_miu_per_m2: tuple[float, ...]
) -> dict[str, tuple[list[str], list[float]]]:
    """Per-level numeric series of a replicate summary: name -> (x labels, values)."""
    doses = rep.get("doses_miu_per_m2") or list(levels_miu_per_m2)
    labels_all = [f"{float(d):g}" for d in doses]
    out: dict[str, tuple[list[str], list[float]]] = {}
    for key, val in rep.items():
        if key == "doses_miu_per_m2":
            continue
        if isinstance(val, list) and val and all(_is_num(x) for x in val):
            if len(val) != len(labels_all):
                continue
            out[str(key)] = (labels_all, [math.nan if x is None else float(x) for x in val])
        elif isinstance(val, dict) and val and all(_is_num(x) for x in val.values()):
            out[str(key)] = ([str(k) for k in val], [float(x) for x in val.values()])
    return out


def _is_num(x: Any) -> bool:
    return x is None or (isinstance(x, int | float) and not isinstance(x, bool))


def oc_scalars(rep: Mapping[str, Any]) -> pd.DataFrame:
    """Scalar entries of a replicate summary (n_replicates, mean_patients, ...) as a table."""
    rows = [
        {"quantity": str(k), "value": v}
        for k, v in rep.items()
        if isinstance(v, int | float | str) and not isinstance(v, bool)
    ]
    return pd.DataFrame(rows, columns=["quantity", "value"])


def summary_frame(result: AnalysisResult) -> pd.DataFrame:
    """Per level: n treated, DLTs, and mean ± SD peak % increase of each NK endpoint."""
    t = result.dlt_table.copy()
    for dr in result.dose_response:
        by_level = {x.level: x for x in dr.summary}
        texts = []
        for lv in t["level"]:
            x = by_level.get(int(lv))
            if x is None or x.n == 0:
                texts.append("-")
            elif x.n == 1:
                texts.append(f"{x.mean:.0f}")
            else:
                texts.append(f"{x.mean:.0f} ± {x.sd:.0f}")
        t[f"{dr.test} peak % (mean ± SD)"] = texts
    return t
