"""What every il2sim figure shares, below the layers that draw them: matplotlib on the Agg
backend (imported on first use), a figure's PNG bytes, and a figure embedded in an HTML page
(:class:`FigureImage`: base64 PNG and caption).

Used by the trial report (:mod:`il2sim.report`, which draws its text literally), the fit
report (:mod:`il2sim.fit.report`, beneath ``report`` in the layers) and the regimen search's
figure (:mod:`il2sim.optimise`).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["FigureImage", "png_bytes", "pyplot"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def png_bytes(fig: Figure, dpi: int) -> bytes:
    """PNG of ``fig`` at ``dpi`` (tight bounding box); the figure is closed."""
    plt = pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


@dataclass(frozen=True)
class FigureImage:
    """A figure embedded as a base64 PNG, with its caption (also the image's alt text)."""

    png_base64: str
    caption: str

    @classmethod
    def from_png(cls, png: bytes, caption: str) -> FigureImage:
        """The image of PNG bytes ``png``."""
        return cls(base64.b64encode(png).decode("ascii"), caption)
