"""Figures of the trial's course: the escalation path, serum IL-2 (PK), the NK time courses and
the peak % increase against dose with the trend test (matplotlib Figures; see
:mod:`il2sim.report.figures`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from il2sim.analysis import AnalysisResult
from il2sim.report.figures_base import (
    A4_WIDTH_IN,
    TEST_LABELS,
    _colors,
    _dodge,
    _legend_below,
    _level_label,
    _levels,
    _literal_text,
    _plt,
    _reference_line,
    normalise_reference,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def _mean_sd(ax: Any, x: Any, stats: Any, offset: float, color: Any, **label: Any) -> None:
    """One dose level's mean ± SD over ``x`` (shifted by ``offset`` so levels do not overlap)."""
    ax.errorbar(x + offset, stats["mean"], yerr=stats["std"].fillna(0.0), marker="o", ms=3,
                capsize=2, lw=1.1, color=color, **label)  # fmt: skip


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
        reported = float(ref["mtd_miu_per_m2"])
        source = ref.get("source", "reference")
        _reference_line(ax, reported, f"MTD reported, {source} ({reported:g})")
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
        _mean_sd(ax, by_day["day"], by_day, _dodge(k, len(levels), 0.8), colors[k],
                 label=_level_label(level, dose))  # fmt: skip
        if has_hours:
            by_h = g.groupby("time_h")["conc_used_pm"].agg(["mean", "std"]).reset_index()
            _mean_sd(axes[0, 1], by_h["time_h"], by_h, _dodge(k, len(levels), 0.08), colors[k])
    axes[0, 0].set_xlabel("study day")
    axes[0, 0].set_title("Daily peak IL-2 by study day (mean ± SD)", fontsize=10)
    if has_hours:
        axes[0, 1].set_xlabel("time after dose (h)")
        axes[0, 1].set_title("IL-2 by time after dose (mean ± SD)", fontsize=10)
    for ax in axes[0]:
        ax.set_ylabel("serum IL-2 (pM)")
        ax.grid(alpha=0.3)
        if ref.get("il2_peak_limit_pm") is not None:
            source = ref.get("source", "reference")
            _reference_line(ax, float(ref["il2_peak_limit_pm"]), f"reported peak bound, {source}")
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
            _mean_sd(ax, g["day"], g, _dodge(k, len(levels), 0.8), colors[k],
                     label=_level_label(level, dose))  # fmt: skip
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
