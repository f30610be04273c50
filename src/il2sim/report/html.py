"""One self-contained HTML report: figures as base64 PNG, inline CSS, no network, A4-printable.

The page is laid out by Jinja2 templates packaged with il2sim (``report/templates/``:
``report.html.j2``, the ``_macros.html.j2`` figure and table macros and ``report.css``), rendered
with autoescaping on: every piece of text that comes from data or from the user (title, data
path, AE terms, notes, reference source, table cells) is HTML-escaped by the template engine.
This module computes what the page shows (figures, tables, sentences) and hands it to the
template.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from il2sim._figures import FigureImage
from il2sim.analysis import AnalysisResult
from il2sim.report import figures as F

if TYPE_CHECKING:  # pragma: no cover
    import jinja2
    from matplotlib.figure import Figure

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


@dataclass(frozen=True)
class Header:
    """A table column header; ``left`` columns are left-aligned (text), others right (numbers)."""

    text: str
    left: bool


@dataclass(frozen=True)
class Table:
    """A table as the template draws it: headers and rows of raw cell values."""

    headers: tuple[Header, ...]
    rows: tuple[tuple[Any, ...], ...]


def format_cell(v: Any) -> str:
    """Cell text: floats to 3 significant digits (no decimals from 1000 up), NaN/None empty."""
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def _header(c: object) -> str:
    text = HEADERS.get(str(c), str(c))
    return text.replace("grade_", "grade ") if text.startswith("grade_") else text


def table(df: pd.DataFrame, left: tuple[str, ...] = ()) -> Table:
    """A data frame as a :class:`Table` (columns named in ``left`` are left-aligned)."""
    headers = tuple(Header(_header(c), c in left) for c in df.columns)
    return Table(headers, tuple(tuple(rec) for rec in df.itertuples(index=False)))


def _image(fig: Figure, caption: str) -> FigureImage:
    return FigureImage.from_png(F.figure_png(fig), caption)


def _figure_section(
    fig: Figure | None, caption: str, make_table: Callable[[], Table]
) -> tuple[FigureImage | None, Table | None]:
    """A report section that exists only when its figure does: ``(image, table)`` of the
    figure and its table (built by ``make_table`` only then), or ``(None, None)``."""
    if fig is None:
        return None, None
    return _image(fig, caption), make_table()


_T = TypeVar("_T")


def _present(value: _T | None) -> _T:
    """``value``, which a drawn figure guarantees is there (the figure was drawn from it)."""
    assert value is not None
    return value


def _pk_table(result: AnalysisResult) -> Table:
    pt = result.subjects.groupby(["level", "dose_miu_per_m2"])[["il2_peak_pm", "il2_trough_pm"]]
    columns = {"il2_peak_pm": "median peak (pM)", "il2_trough_pm": "median trough (pM)"}
    return table(pt.median().reset_index().rename(columns=columns))


def _stats_table(result: AnalysisResult) -> Table | None:
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
        return None
    return table(pd.DataFrame(rows), left=("endpoint", "JT method"))


@functools.cache
def _environment() -> jinja2.Environment:
    """The template environment (built once; Jinja2 is imported on first use)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("il2sim.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["num"] = format_cell
    env.filters["g"] = lambda x: f"{x:g}"
    return env


def render_html(
    result: AnalysisResult,
    reference: Mapping[str, Any] | None = None,
    title: str | None = None,
    progress: Callable[[str], None] | None = None,
    validation: pd.DataFrame | None = None,
) -> str:
    """The report of ``result`` as one HTML string (figures embedded).

    ``validation``: the rows of ``il2sim validate`` (study, regimen, endpoint, published,
    model median [90% PI], agree, role, rule), drawn as a last section when given.

    ``progress(name)`` is called before each figure is drawn (escalation, pk, nk,
    dose-response, adverse events, antibodies, operating characteristics).
    """
    tick = progress or (lambda _name: None)
    ref = F.normalise_reference(reference, result.dose_levels_miu_per_m2)
    mtd = result.mtd
    context: dict[str, Any] = {
        "title": title or f"il2sim trial report: {Path(result.path).name}",
        "data_path": result.path,
        "generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "reference_source": str(ref.get("source", "reference")) if ref else None,
        "n_subjects": result.n_subjects,
        "dose_levels": result.dose_levels_miu_per_m2,
        "mtd_text": (
            f"{mtd['dose_miu_per_m2']:g} MIU/m²/day (level {mtd['level']}; {mtd['source']})"
            if mtd.get("dose_miu_per_m2") is not None
            else "not recorded"
        ),
        "summary": table(F.summary_frame(result)),
        "notes": list(result.notes),
    }

    tick("escalation")
    context["escalation_figure"] = _image(
        F.plot_escalation(result, ref),
        "Dose of each patient in enrolment order; red crosses are DLTs.",
    )
    context["dlt_table"] = table(result.dlt_table)

    tick("pk")
    context["pk_figure"], context["pk_table"] = _figure_section(
        F.plot_pk(result, ref),
        "Serum IL-2 by dose level (mean ± SD across subjects; BLQ as LLOQ/2). Left: each "
        "subject's highest sample of the day; right: samples by time after dose.",
        lambda: _pk_table(result),
    )

    tick("nk")
    context["nk_figure"] = _image(
        F.plot_nk_time(result),
        "Blood counts by dose level, mean ± SD across subjects at each study day.",
    )

    tick("dose-response")
    context["peak_figure"] = None
    if result.dose_response:
        context["peak_figure"] = _image(
            F.plot_peak_vs_dose(result, ref),
            "Peak % increase over baseline per subject, level means, OLS fit on "
            "ln(dose); one-sided Jonckheere-Terpstra test for an increasing trend.",
        )
    context["stats_table"] = _stats_table(result)
    context["response_tables"] = [
        (F.TEST_LABELS.get(dr.test, dr.test), table(pd.DataFrame([s.to_dict() for s in dr.summary])))
        for dr in result.dose_response
    ]

    tick("adverse events")
    context["ae_figure"] = context["ae_table"] = None
    if result.ae_table is not None:
        fig = F.plot_ae_heatmap(result)
        if fig is not None:
            context["ae_figure"] = _image(fig, "Worst grade per term and dose level.")
        context["ae_table"] = table(result.ae_table, left=("term",))

    tick("antibodies")
    context["antibody_figure"], context["antibody_table"] = _figure_section(
        F.plot_antibodies(result, ref),
        "Subjects positive at any time / subjects tested (level 0 and bar 'all' = whole trial).",
        lambda: table(_present(result.antibodies), left=("test",)),
    )

    tick("operating characteristics")
    context["oc_figure"], context["oc_table"] = _figure_section(
        F.plot_operating_characteristics(result),
        "Per-level summaries across replicate trials.",
        lambda: table(F.oc_scalars(_present(result.replicates)), left=("quantity", "value")),
    )

    context["validation_table"] = (
        None if validation is None else table(validation, left=tuple(validation.columns))
    )
    return _environment().get_template("report.html.j2").render(context)
