"""Figures of an :class:`~il2sim.analysis.AnalysisResult` (matplotlib, Agg, imported lazily).

Each ``plot_*`` function returns a matplotlib Figure or ``None`` when its data are absent;
``figure_png(fig)`` turns it into PNG bytes.  ``reference`` (optional) is a dict of published
values drawn over the data (see :func:`normalise_reference`), e.g. for the seed trial::

    {"source": "Meropol 1996",
     "peak_pct_increase": {"NKCELLS": {"lowest": 154, "highest": 530},
                           "NKBRIGHT": {"lowest": 368, "highest": 2763}},
     "mtd_miu_per_m2": 1.25, "il2_peak_limit_pm": 10.0,
     "antibody_positive": [3, 38]}
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np
import pandas as pd

from il2sim.analysis import AnalysisResult

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

#: Human names of the CP test codes.
TEST_LABELS: dict[str, str] = {
    "NKCELLS": "NK cells (CD3- CD56+)",
    "NKBRIGHT": "CD56bright NK cells",
}
#: Figure width in inches that fits an A4 page with 15 mm margins (180 mm).
A4_WIDTH_IN: float = 7.0


_F = TypeVar("_F", bound=Callable[..., Any])


def _literal_text(fn: _F) -> _F:
    """Run ``fn`` with matplotlib's math parsing off: text from data (AE terms, labels) is
    drawn literally (``Pyrexia $^$`` is not mathtext), and never through TeX."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
            return fn(*args, **kwargs)

    return cast(_F, wrapper)


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _colors(n: int) -> list[Any]:
    plt = _plt()
    cmap = plt.get_cmap("viridis")
    return [cmap(x) for x in np.linspace(0.05, 0.85, max(n, 1))]


@_literal_text
def figure_png(fig: Figure, dpi: int = 130) -> bytes:
    """Render ``fig`` to PNG bytes and close it."""
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def normalise_reference(
    reference: Mapping[str, Any] | None, levels_miu_per_m2: tuple[float, ...]
) -> dict[str, Any]:
    """Resolve dose keys of ``peak_pct_increase`` to floats; keep the rest as is.

    Keys may be doses (``"1.75"``) or ``lowest``/``highest``: those map to the extremes of
    ``reference["doses_miu_per_m2"]`` when given (the reported trial's levels), else to the
    extremes of ``levels_miu_per_m2`` (this trial's).
    """
    if not reference:
        return {}
    ref = dict(reference)
    if ref.get("doses_miu_per_m2"):
        levels_miu_per_m2 = tuple(float(x) for x in ref["doses_miu_per_m2"])
    peaks: dict[str, dict[float, float]] = {}
    for test, vals in dict(ref.get("peak_pct_increase", {})).items():
        out: dict[float, float] = {}
        for key, val in dict(vals).items():
            if key == "lowest" and levels_miu_per_m2:
                out[min(levels_miu_per_m2)] = float(val)
            elif key == "highest" and levels_miu_per_m2:
                out[max(levels_miu_per_m2)] = float(val)
            else:
                try:
                    out[float(key)] = float(val)
                except (TypeError, ValueError):
                    continue
        peaks[str(test).upper()] = out
    ref["peak_pct_increase"] = peaks
    return ref


def _legend_below(fig: Figure, axes: Any, ncol: int = 4) -> None:
    """One legend for all panels, under the figure (keeps the data visible)."""
    seen: dict[str, Any] = {}
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    if seen:
        fig.legend(
            list(seen.values()),
            list(seen.keys()),
            loc="lower center",
            ncol=ncol,
            fontsize=7,
            frameon=False,
        )
        fig.tight_layout(rect=(0, 0.06 + 0.045 * ((len(seen) - 1) // ncol), 1, 1))


def _dodge(k: int, n: int, width: float) -> float:
    """Horizontal offset of series ``k`` of ``n`` so error bars do not overlap."""
    return (k - (n - 1) / 2) * width


def _level_label(level: int, dose: float) -> str:
    return f"L{level}: {dose:g} MIU/m²"


def _levels(result: AnalysisResult) -> list[tuple[int, float]]:
    s = result.subjects[["level", "dose_miu_per_m2"]].drop_duplicates().sort_values("level")
    return [(int(a), float(b)) for a, b in zip(s["level"], s["dose_miu_per_m2"], strict=True)]


# ------------------------------------------------------------------------------------------


@_literal_text
def plot_escalation(result: AnalysisResult, reference: Mapping[str, Any] | None = None) -> Figure:
    """Dose by patient in enrolment order; DLTs marked; the MTD picked as a line."""
    plt = _plt()
    ref = normalise_reference(reference, result.dose_levels_miu_per_m2)
    s = result.subjects.sort_values("order")
    x = np.arange(1, len(s) + 1)
    y = s["dose_miu_per_m2"].to_numpy()
    dlt = s["dlt"].to_numpy()
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 3.0))
    ax.step(x, y, where="mid", color="0.75", lw=1, zorder=1)
    no = ~(dlt == 1)
    ax.scatter(x[no], y[no], marker="o", s=30, color="tab:blue", label="no DLT", zorder=2)
    if np.any(dlt == 1):
        ax.scatter(
            x[dlt == 1], y[dlt == 1], marker="X", s=70, color="tab:red", label="DLT", zorder=3
        )
    if np.isnan(dlt).all():
        ax.text(0.01, 0.95, "DLT not recorded", transform=ax.transAxes, va="top", fontsize=8)
    mtd = result.mtd.get("dose_miu_per_m2")
    if mtd is not None:
        ax.axhline(mtd, color="tab:green", ls="--", lw=1.2, label=f"MTD selected ({mtd:g})")
    if ref.get("mtd_miu_per_m2") is not None:
        ax.axhline(
            float(ref["mtd_miu_per_m2"]),
            color="k",
            ls=":",
            lw=1.2,
            label=f"MTD reported, {ref.get('source', 'reference')} ({float(ref['mtd_miu_per_m2']):g})",
        )
    ax.set_yticks(list(result.dose_levels_miu_per_m2))
    ax.set_xlabel("patient (enrolment order)")
    ax.set_ylabel("dose (MIU/m²/day)")
    ax.set_title("Escalation path")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    return fig


@_literal_text
def plot_pk(result: AnalysisResult, reference: Mapping[str, Any] | None = None) -> Figure | None:
    """Serum IL-2 (pM) per dose level: each subject's daily peak by study day and, when the
    time after dose is recorded, all samples by hour after dose."""
    samples = result.il2_samples
    if samples is None or samples.empty:
        return None
    plt = _plt()
    ref = normalise_reference(reference, result.dose_levels_miu_per_m2)
    levels = _levels(result)
    colors = _colors(len(levels))
    has_hours = samples["time_h"].notna().any()
    ncols = 2 if has_hours else 1
    fig, axes = plt.subplots(1, ncols, figsize=(A4_WIDTH_IN, 3.2), squeeze=False)
    for k, (level, dose) in enumerate(levels):
        g = samples[samples["level"] == level]
        if g.empty:
            continue
        # each subject's highest sample of the day, then mean ± SD across subjects
        daily_peak = g.groupby(["USUBJID", "day"])["conc_used_pm"].max().reset_index()
        by_day = daily_peak.groupby("day")["conc_used_pm"].agg(["mean", "std"]).reset_index()
        ax = axes[0, 0]
        ax.errorbar(
            by_day["day"] + _dodge(k, len(levels), 0.8),
            by_day["mean"],
            yerr=by_day["std"].fillna(0.0),
            marker="o",
            ms=3,
            capsize=2,
            lw=1.1,
            color=colors[k],
            label=_level_label(level, dose),
        )
        if has_hours:
            by_h = g.groupby("time_h")["conc_used_pm"].agg(["mean", "std"]).reset_index()
            axes[0, 1].errorbar(
                by_h["time_h"] + _dodge(k, len(levels), 0.08),
                by_h["mean"],
                yerr=by_h["std"].fillna(0.0),
                marker="o",
                ms=3,
                capsize=2,
                lw=1.1,
                color=colors[k],
            )
    axes[0, 0].set_xlabel("study day")
    axes[0, 0].set_title("Daily peak IL-2 by study day (mean ± SD)", fontsize=10)
    if has_hours:
        axes[0, 1].set_xlabel("time after dose (h)")
        axes[0, 1].set_title("IL-2 by time after dose (mean ± SD)", fontsize=10)
    for ax in axes[0]:
        ax.set_ylabel("serum IL-2 (pM)")
        ax.grid(alpha=0.3)
        if ref.get("il2_peak_limit_pm") is not None:
            ax.axhline(
                float(ref["il2_peak_limit_pm"]),
                color="k",
                ls=":",
                lw=1.2,
                label=f"reported peak bound, {ref.get('source', 'reference')}",
            )
    _legend_below(fig, axes)
    return fig


@_literal_text
def plot_nk_time(result: AnalysisResult) -> Figure:
    """NK and CD56bright counts (cells/ul), mean ± SD per study day, one line per dose level."""
    plt = _plt()
    visits = result.nk_visits
    tests = [t for t in ("NKCELLS", "NKBRIGHT") if (visits["test"] == t).any()]
    levels = _levels(result)
    colors = _colors(len(levels))
    fig, axes = plt.subplots(1, len(tests), figsize=(A4_WIDTH_IN, 3.2), squeeze=False)
    for j, test in enumerate(tests):
        ax = axes[0, j]
        v = visits[visits["test"] == test]
        for k, (level, dose) in enumerate(levels):
            g = v[v["level"] == level].groupby("day")["value_cells_per_ul"].agg(["mean", "std"])
            if g.empty:
                continue
            g = g.reset_index()
            ax.errorbar(
                g["day"] + _dodge(k, len(levels), 0.8),
                g["mean"],
                yerr=g["std"].fillna(0.0),
                marker="o",
                ms=3,
                capsize=2,
                lw=1.1,
                color=colors[k],
                label=_level_label(level, dose),
            )
        ax.axvline(1, color="0.6", lw=0.8, ls=":")
        ax.set_xlabel("study day (first dose on day 1)")
        ax.set_ylabel("cells/µL (mean ± SD)")
        ax.set_title(TEST_LABELS.get(test, test), fontsize=10)
        ax.grid(alpha=0.3)
    _legend_below(fig, axes)
    return fig


@_literal_text
def plot_peak_vs_dose(result: AnalysisResult, reference: Mapping[str, Any] | None = None) -> Figure:
    """Peak % increase vs dose: subjects, level means, log-dose fit and the trend test."""
    plt = _plt()
    ref = normalise_reference(reference, result.dose_levels_miu_per_m2)
    drs = list(result.dose_response)
    fig, axes = plt.subplots(1, max(len(drs), 1), figsize=(A4_WIDTH_IN, 3.4), squeeze=False)
    rng = np.random.default_rng(0)  # jitter only; fixed so the figure is reproducible
    for j, dr in enumerate(drs):
        ax = axes[0, j]
        col = f"{dr.test}_peak_pct_increase"
        s = result.subjects[result.subjects[col].notna()]
        d = s["dose_miu_per_m2"].to_numpy()
        span = (max(d) - min(d)) if len(d) else 1.0
        jit = rng.uniform(-0.012, 0.012, size=d.size) * max(span, 0.1)
        ax.scatter(d + jit, s[col], s=14, alpha=0.6, color="tab:blue", label="subjects")
        means = [(x.dose_miu_per_m2, x.mean) for x in dr.summary if x.n]
        if means:
            mx, my = zip(*means, strict=True)
            ax.plot(mx, my, "D-", color="tab:orange", ms=5, lw=1.2, label="level mean")
        if dr.log_dose is not None and len(d):
            grid = np.linspace(min(d), max(d), 50)
            ax.plot(grid, dr.log_dose.predict(grid), "--", color="0.3", lw=1, label="ln-dose fit")
        rp = ref.get("peak_pct_increase", {}).get(dr.test, {})
        if rp:
            ax.scatter(
                list(rp.keys()),
                list(rp.values()),
                marker="*",
                s=160,
                color="tab:red",
                edgecolor="k",
                zorder=5,
                label=f"reported, {ref.get('source', 'reference')}",
            )
        if dr.jonckheere is not None:
            ax.text(
                0.02,
                0.97,
                f"Jonckheere-Terpstra p = {_fmt_p(dr.jonckheere.pvalue)}\n({dr.jonckheere.method})",
                transform=ax.transAxes,
                va="top",
                fontsize=7,
            )
        ax.set_xlabel("dose (MIU/m²/day)")
        ax.set_ylabel("peak increase over baseline (%)")
        ax.set_title(TEST_LABELS.get(dr.test, dr.test), fontsize=10)
        ax.grid(alpha=0.3)
    _legend_below(fig, axes)
    return fig


def _fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "n/a"
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


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
        ax.axhline(
            100.0 * k_pos / n_all,
            color="tab:red",
            ls=":",
            label=f"reported {k_pos}/{n_all}, {ref.get('source', 'reference')}",
        )
    ax.set_xticks(x)
    ax.set_xticklabels(labels)
    ax.set_xlabel("dose (MIU/m²/day)")
    ax.set_ylabel("positive (% of tested)")
    ax.set_title("Anti-IL-2 antibodies (any time on study)", fontsize=10)
    ax.legend(fontsize=7, title="ISTESTCD", title_fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


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
