"""Safety figures: the adverse-event heat map (worst grade per term and level) and the
anti-IL-2 antibody shares (matplotlib Figures; see :mod:`il2sim.report.figures`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from il2sim.analysis import AnalysisResult
from il2sim.report.figures_base import (
    A4_WIDTH_IN,
    _colors,
    _levels,
    _literal_text,
    _plt,
    _reference_line,
    normalise_reference,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


@_literal_text
def plot_ae_heatmap(result: AnalysisResult) -> Figure | None:
    """Worst grade of each AE term per dose level (colour) with the number of subjects."""
    table = result.ae_table
    if table is None or table.empty:
        return None
    plt = _plt()
    from matplotlib.colors import BoundaryNorm, ListedColormap

    levels = _levels(result)
    terms = sorted(table["term"].unique())
    worst = np.zeros((len(terms), len(levels)))
    count = np.zeros_like(worst, dtype=int)
    for i, term in enumerate(terms):
        for j, (level, _dose) in enumerate(levels):
            row = table[(table["term"] == term) & (table["level"] == level)]
            if row.empty:
                continue
            r = row.iloc[0]
            grades = [g for g in range(1, 6) if r[f"grade_{g}"] > 0]
            worst[i, j] = max(grades) if grades else 0
            count[i, j] = int(r["any_grade"])
    cmap = ListedColormap(["#ffffff", "#fff3b0", "#ffc857", "#e9724c", "#c5283d", "#481d24"])
    norm = BoundaryNorm(np.arange(-0.5, 6.5), cmap.N)
    height = 1.2 + 0.28 * len(terms)
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, height))
    im = ax.imshow(worst, cmap=cmap, norm=norm, aspect="auto")
    for i in range(len(terms)):
        for j in range(len(levels)):
            if count[i, j]:
                ax.text(
                    j,
                    i,
                    str(count[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if worst[i, j] >= 4 else "black",
                )
    ax.set_xticks(range(len(levels)))
    ax.set_xticklabels([f"{d:g}\n(n={_n_treated(result, lv)})" for lv, d in levels], fontsize=7)
    ax.set_yticks(range(len(terms)))
    ax.set_yticklabels([t.capitalize() for t in terms], fontsize=7)
    ax.set_xlabel("dose (MIU/m²/day); cell text = subjects with the AE")
    ax.set_title("Adverse events: worst grade by term and dose level", fontsize=10)
    cb = fig.colorbar(im, ax=ax, ticks=range(6), fraction=0.04)
    cb.set_label("worst CTCAE grade (0 = none)", fontsize=8)
    fig.tight_layout()
    return fig


def _n_treated(result: AnalysisResult, level: int) -> int:
    t = result.dlt_table
    return int(t.loc[t["level"] == level, "n_treated"].iloc[0])


@_literal_text
def plot_antibodies(
    result: AnalysisResult, reference: Mapping[str, Any] | None = None
) -> Figure | None:
    """Share of tested subjects positive at any time, per dose level and overall, per test."""
    ab = result.antibodies
    if ab is None or ab.empty:
        return None
    plt = _plt()
    ref = normalise_reference(reference, result.dose_levels_miu_per_m2)
    tests = list(dict.fromkeys(ab["test"]))
    first = ab[ab["test"] == tests[0]]
    labels = [
        f"{d:g}" if lv else "all"
        for lv, d in zip(first["level"], first["dose_miu_per_m2"], strict=True)
    ]
    x = np.arange(len(labels))
    width = 0.8 / len(tests)
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN * 0.8, 2.9))
    for k, test in enumerate(tests):
        t = ab[ab["test"] == test]
        props = 100.0 * t["proportion"].fillna(0.0).to_numpy()
        bars = ax.bar(
            x + (k - (len(tests) - 1) / 2) * width,
            props,
            width,
            label=test,
            color=_colors(len(tests))[k],
        )
        for bar, npos, ntest in zip(bars, t["n_positive"], t["n_tested"], strict=True):
            ax.text(
                bar.get_x() + bar.get_width() / 2,
                bar.get_height(),
                f"{npos}/{ntest}",
                ha="center",
                va="bottom",
                fontsize=6,
            )
    if ref.get("antibody_positive"):
        k_pos, n_all = ref["antibody_positive"]
        source = ref.get("source", "reference")
        label = f"reported {k_pos}/{n_all}, {source}"
        _reference_line(ax, 100.0 * k_pos / n_all, label, color="tab:red", lw=None)
    ax.set_xticks(x)
    ax.set_xticklabels(labels)
    ax.set_xlabel("dose (MIU/m²/day)")
    ax.set_ylabel("positive (% of tested)")
    ax.set_title("Anti-IL-2 antibodies (any time on study)", fontsize=10)
    ax.legend(fontsize=7, title="ISTESTCD", title_fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig
