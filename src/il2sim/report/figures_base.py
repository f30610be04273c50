"""What every report figure shares: matplotlib (Agg, imported lazily), literal text, colours,
the A4 width, the legend under the panels, dose-level labels, PNG output, and the published
reference values drawn over the data (:func:`normalise_reference`).

The figures themselves are in :mod:`il2sim.report.figures_course` (escalation, PK, NK time
courses, peak vs dose), :mod:`il2sim.report.figures_safety` (adverse events, antibodies) and
:mod:`il2sim.report.figures_oc` (operating characteristics and the summary tables);
:mod:`il2sim.report.figures` re-exports the public names.
"""


from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

from il2sim._figures import png_bytes, pyplot
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
    return pyplot()


def _colors(n: int) -> list[Any]:
    plt = _plt()
    cmap = plt.get_cmap("viridis")
    return [cmap(x) for x in np.linspace(0.05, 0.85, max(n, 1))]


@_literal_text
def figure_png(fig: Figure, dpi: int = 130) -> bytes:
    """Render ``fig`` to PNG bytes and close it (text drawn literally)."""
    return png_bytes(fig, dpi)


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


def _reference_line(ax: Any, value: float, label: str, color: str = "k", lw: float | None = 1.2) -> None:
    """A published value as a dotted horizontal line (``label`` names its source)."""
    style: dict[str, Any] = {"color": color, "ls": ":"}
    if lw is not None:
        style["lw"] = lw
    ax.axhline(value, label=label, **style)


def _dodge(k: int, n: int, width: float) -> float:
    """Horizontal offset of series ``k`` of ``n`` so error bars do not overlap."""
    return (k - (n - 1) / 2) * width


def _level_label(level: int, dose: float) -> str:
    return f"L{level}: {dose:g} MIU/m²"


def _levels(result: AnalysisResult) -> list[tuple[int, float]]:
    s = result.subjects[["level", "dose_miu_per_m2"]].drop_duplicates().sort_values("level")
    return [(int(a), float(b)) for a, b in zip(s["level"], s["dose_miu_per_m2"], strict=True)]
