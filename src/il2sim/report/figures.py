"""Figures of an :class:`~il2sim.analysis.AnalysisResult` (matplotlib, Agg, imported lazily).

Each ``plot_*`` function returns a matplotlib Figure or ``None`` when its data are absent;
``figure_png(fig)`` turns it into PNG bytes.  ``reference`` (optional) is a dict of published
values drawn over the data (see :func:`normalise_reference`), e.g. for the seed trial::

    {"source": "Meropol 1996",
     "peak_pct_increase": {"NKCELLS": {"lowest": 154, "highest": 530},
                           "NKBRIGHT": {"lowest": 368, "highest": 2763}},
     "mtd_miu_per_m2": 1.25, "il2_peak_limit_pm": 10.0,
     "antibody_positive": [3, 38]}

The figures live in modules by responsibility, re-exported here (the public API is unchanged):
:mod:`~il2sim.report.figures_base` (shared helpers, PNG output, reference values),
:mod:`~il2sim.report.figures_course` (escalation, PK, NK time courses, peak vs dose),
:mod:`~il2sim.report.figures_safety` (adverse events, antibodies) and
:mod:`~il2sim.report.figures_oc` (operating characteristics, summary tables).
"""

from __future__ import annotations

from il2sim.report.figures_base import A4_WIDTH_IN, TEST_LABELS, figure_png, normalise_reference
from il2sim.report.figures_course import (
    plot_escalation,
    plot_nk_time,
    plot_peak_vs_dose,
    plot_pk,
)
from il2sim.report.figures_oc import (
    oc_scalars,
    oc_series,
    plot_operating_characteristics,
    summary_frame,
)
from il2sim.report.figures_safety import plot_ae_heatmap, plot_antibodies

__all__ = [
    "A4_WIDTH_IN",
    "TEST_LABELS",
    "figure_png",
    "normalise_reference",
    "oc_scalars",
    "oc_series",
    "plot_ae_heatmap",
    "plot_antibodies",
    "plot_escalation",
    "plot_nk_time",
    "plot_operating_characteristics",
    "plot_peak_vs_dose",
    "plot_pk",
    "summary_frame",
]
