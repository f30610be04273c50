"""One self-contained HTML report: figures as base64 PNG, inline CSS, no network, A4-printable."""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from il2sim.analysis import AnalysisResult
from il2sim.report import figures as F

_CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; color: #222;
       max-width: 190mm; margin: 12mm auto; line-height: 1.35; }
h1 { font-size: 17pt; margin-bottom: 2mm; } h2 { font-size: 13pt; margin-top: 8mm;
       border-bottom: 1px solid #999; } h3 { font-size: 11pt; }
figure { margin: 3mm 0; page-break-inside: avoid; break-inside: avoid; }
figure img { width: 100%; height: auto; } figcaption { font-size: 9pt; color: #444; }
table { border-collapse: collapse; font-size: 8.5pt; margin: 2mm 0; page-break-inside: auto; }
th, td { border: 1px solid #bbb; padding: 1px 5px; text-align: right; }
th { background: #eee; } td.l, th.l { text-align: left; }
.note { font-size: 9pt; color: #555; } .small { font-size: 8.5pt; }
@page { size: A4; margin: 12mm; }
@media print { body { margin: 0; max-width: none; } h2 { page-break-after: avoid; }
  section { page-break-inside: auto; } }
"""


def _img(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return html.escape(str(v))


#: Column headers shown to readers (units in the header, not in the variable name).
HEADERS: dict[str, str] = {
    "level": "level",
    "dose_miu_per_m2": "dose (MIU/m²)",
    "n_treated": "treated",
    "n_dlt": "DLTs",
    "dlt_rate": "DLT rate",
    "n_tested": "tested",
    "n_positive": "positive",
    "any_grade": "any grade",
    "grade_3_plus": "grade ≥3",
    "test": "test",
}


def _table(df: pd.DataFrame, left: tuple[str, ...] = ()) -> str:
    def name(c: object) -> str:
        text = HEADERS.get(str(c), str(c))
        return text.replace("grade_", "grade ") if text.startswith("grade_") else text

    head = "".join(
        f'<th class="{"l" if c in left else ""}">{html.escape(name(c))}</th>' for c in df.columns
    )
    rows = []
    for rec in df.itertuples(index=False):
        cells = "".join(
            f'<td class="{"l" if c in left else ""}">{_fmt(v)}</td>'
            for c, v in zip(df.columns, rec, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _stats_table(result: AnalysisResult) -> str:
    rows = []
    for dr in result.dose_response:
        jt, sp, fit = dr.jonckheere, dr.spearman, dr.log_dose
        rows.append(
            {
                "endpoint": F.TEST_LABELS.get(dr.test, dr.test) + ", peak % increase",
                "JT statistic": jt.statistic if jt else None,
                "JT p (one-sided)": jt.pvalue if jt else None,
                "JT method": jt.method if jt else "",
                "Spearman rho": sp.statistic if sp else None,
                "Spearman p": sp.pvalue if sp else None,
                "slope per ln(dose) [95% CI]": (
                    f"{fit.slope:.0f} [{fit.slope_ci[0]:.0f}, {fit.slope_ci[1]:.0f}]" if fit else ""
                ),
            }
        )
    if not rows:
        return '<p class="note">No dose-response analysis (no post-baseline NK data).</p>'
    return _table(pd.DataFrame(rows), left=("endpoint", "JT method"))


def render_html(
    result: AnalysisResult,
    reference: Mapping[str, Any] | None = None,
    title: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> str:
    """The report of ``result`` as one HTML string (figures embedded)."""
    tick = progress or (lambda _name: None)
    ref = F.normalise_reference(reference, result.dose_levels_miu_per_m2)
    title = title or f"il2sim trial report: {Path(result.path).name}"
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">Data: {html.escape(result.path)}. Generated '
        f"{_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} by il2sim. Units: dose "
        "MIU/m²/day, cell counts cells/µL, IL-2 pM, time in study days (first dose day 1).</p>",
    ]
    if ref:
        parts.append(
            f'<p class="note">Reference values drawn on figures: '
            f"{html.escape(str(ref.get('source', 'reference')))} (stars / dotted lines).</p>"
        )

    # 1 trial summary
    mtd = result.mtd
    mtd_text = (
        f"{mtd['dose_miu_per_m2']:g} MIU/m²/day (level {mtd['level']}; {mtd['source']})"
        if mtd.get("dose_miu_per_m2") is not None
        else "not recorded"
    )
    parts.append("<section><h2>1. Trial summary</h2>")
    parts.append(
        f"<p>{result.n_subjects} subjects treated at {len(result.dose_levels_miu_per_m2)} dose "
        f"levels ({', '.join(f'{d:g}' for d in result.dose_levels_miu_per_m2)} MIU/m²/day). "
        f"MTD selected by the design: {html.escape(mtd_text)}.</p>"
    )
    parts.append(_table(F.summary_frame(result)))
    if result.notes:
        parts.append(
            '<ul class="note">'
            + "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
            + "</ul>"
        )
    parts.append("</section>")

    # 2 escalation
    tick("escalation")
    parts.append("<section><h2>2. Escalation path</h2>")
    parts.append(
        _img(
            F.figure_png(F.plot_escalation(result, ref)),
            "Dose of each patient in enrolment order; red crosses are DLTs.",
        )
    )
    parts.append(_table(result.dlt_table))
    parts.append("</section>")

    # 3 PK
    tick("pk")
    parts.append("<section><h2>3. Serum IL-2</h2>")
    fig = F.plot_pk(result, ref)
    if fig is None:
        parts.append('<p class="note">No PC domain: IL-2 profiles skipped.</p>')
    else:
        parts.append(
            _img(
                F.figure_png(fig),
                "Serum IL-2 by dose level (mean ± SD across subjects; BLQ as LLOQ/2). Left: each "
                "subject's highest sample of the day; right: samples by time after dose.",
            )
        )
        pt = result.subjects.groupby(["level", "dose_miu_per_m2"])[["il2_peak_pm", "il2_trough_pm"]]
        parts.append(
            _table(
                pt.median()
                .reset_index()
                .rename(
                    columns={
                        "il2_peak_pm": "median peak (pM)",
                        "il2_trough_pm": "median trough (pM)",
                    }
                )
            )
        )
    parts.append("</section>")

    # 4 NK over time
    tick("nk")
    parts.append("<section><h2>4. NK and CD56bright NK cells over time</h2>")
    parts.append(
        _img(
            F.figure_png(F.plot_nk_time(result)),
            "Blood counts by dose level, mean ± SD across subjects at each study day.",
        )
    )
    parts.append("</section>")

    # 5 peak vs dose
    tick("dose-response")
    parts.append("<section><h2>5. Peak increase vs dose</h2>")
    if result.dose_response:
        parts.append(
            _img(
                F.figure_png(F.plot_peak_vs_dose(result, ref)),
                "Peak % increase over baseline per subject, level means, OLS fit on "
                "ln(dose); one-sided Jonckheere-Terpstra test for an increasing trend.",
            )
        )
    parts.append(_stats_table(result))
    for dr in result.dose_response:
        parts.append(
            f"<h3>{html.escape(F.TEST_LABELS.get(dr.test, dr.test))}: peak % increase</h3>"
        )
        parts.append(_table(pd.DataFrame([s.to_dict() for s in dr.summary])))
    parts.append("</section>")

    # 6 AEs
    tick("adverse events")
    parts.append("<section><h2>6. Adverse events</h2>")
    if result.ae_table is None:
        parts.append('<p class="note">No AE domain: safety tables skipped.</p>')
    else:
        fig = F.plot_ae_heatmap(result)
        if fig is not None:
            parts.append(_img(F.figure_png(fig), "Worst grade per term and dose level."))
        parts.append(
            '<p class="small">Subjects by worst grade of each term (each subject '
            "counted once per term).</p>"
        )
        parts.append(_table(result.ae_table, left=("term",)))
    parts.append("</section>")

    # 7 antibodies
    tick("antibodies")
    parts.append("<section><h2>7. Anti-IL-2 antibodies</h2>")
    fig = F.plot_antibodies(result, ref)
    if fig is None:
        parts.append('<p class="note">No IS domain: antibody incidence skipped.</p>')
    else:
        parts.append(
            _img(
                F.figure_png(fig),
                "Subjects positive at any time / subjects tested "
                "(level 0 and bar 'all' = whole trial).",
            )
        )
        assert result.antibodies is not None
        parts.append(_table(result.antibodies, left=("test",)))
    parts.append("</section>")

    # 8 OC
    tick("operating characteristics")
    fig = F.plot_operating_characteristics(result)
    if fig is not None:
        parts.append("<section><h2>8. Operating characteristics (replicate simulations)</h2>")
        parts.append(_img(F.figure_png(fig), "Per-level summaries across replicate trials."))
        assert result.replicates is not None
        parts.append(_table(F.oc_scalars(result.replicates), left=("quantity", "value")))
        parts.append("</section>")

    parts.append("</body></html>")
    return "\n".join(parts)
