"""The HTML report of a fit (Jinja2 template ``fit/templates/fit.html.j2``, autoescaped;
figures from :mod:`il2sim.fit.figures` embedded as base64 PNG), as ``il2sim report`` does for
trials."""

from __future__ import annotations

import datetime as _dt
import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from il2sim._figures import FigureImage
from il2sim.fit import figures as F

if TYPE_CHECKING:  # pragma: no cover
    import jinja2

    from il2sim.fit.data import FitData
    from il2sim.fit.result import FitResult
    from il2sim.fit.vpc import VpcResult

__all__ = ["render_fit_html"]


@dataclass(frozen=True)
class _Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def _num(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float | np.floating):
        if not math.isfinite(float(v)):
            return ""
        return f"{float(v):.4g}"
    return str(v)


@functools.cache
def _env() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("il2sim.fit", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    return env


def _fig(fig: Any, caption: str) -> FigureImage:
    return FigureImage.from_png(F.png_bytes(fig), caption)


def render_fit_html(result: FitResult, data: FitData, data_label: str,
                    npde: np.ndarray | None, n_sim: int,
                    vpc: VpcResult | None = None) -> str:
    """The report page as a string."""
    from il2sim._version import __version__

    ptab = _Table(("parameter", "unit", "estimate", "SE", "RSE %", "95% CI low", "95% CI high",
                   "CI method", "initial"),
                  tuple((n, p.unit, p.estimate, p.se, p.to_dict()["rse_pct"], p.ci95[0], p.ci95[1],
                         p.ci_method, p.initial) for n, p in result.parameters.items()))
    shr = result.shrinkage.get("eta", {})
    otab = _Table(("random effect", "SD (log scale)", "SE", "95% CI low", "95% CI high",
                   "CI method", "identified", "CV %", "eta shrinkage %"),
                  tuple((n, v["sd"], v["se"], *(v.get("ci95") or (math.nan, math.nan)),
                         v.get("ci_method", "wald"), str(v.get("identified", "")), v["cv_pct"],
                         shr.get(n)) for n, v in result.omega.items()))
    eps = result.shrinkage.get("epsilon", {})
    rtab = _Table(("observation", "unit", "error model", "a", "SE a", "b", "SE b",
                   "epsilon shrinkage %"),
                  tuple((n, v.get("unit", ""), v["kind"], v["a"], v["se_a"], v["b"], v["se_b"],
                         eps.get(n)) for n, v in result.residual.items()))
    gof = [_fig(F.gof_figure(data, t, result.pred, result.ipred, npde, data.time_unit),
                f"Goodness of fit: {data.type_names[t]}") for t in range(data.n_types)]
    nrows = []
    for t, tn in enumerate(data.type_names):
        v = npde[data.type_mask(t)] if npde is not None else np.array([])
        v = v[np.isfinite(v)]
        nrows.append((tn, int(v.size), float(v.mean()) if v.size else None,
                      float(v.var(ddof=1)) if v.size > 1 else None))
    k = len(result.param_names)
    conv = _fig(F.convergence_figure(result.history, result.history_names, k),
                "SAEM iterations: typical values (top) and random-effect SDs (bottom)")
    vfigs = [] if vpc is None else [
        _fig(F.vpc_figure(vpc, tn), f"VPC {tn}") for tn in dict.fromkeys(vpc.table["type"])
    ]
    ctx = {
        "title": f"il2sim fit: {data_label}", "data_label": data_label,
        "generated": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "version": __version__,
        "method_text": (f"{result.method} (Kuhn & Lavielle 2005), seed {result.seed}; standard "
                        "errors from the stochastic-approximation Fisher information (Louis)."),
        "n_subjects": result.n_subjects, "n_observations": result.n_observations,
        "n_censored": result.n_censored, "ofv": result.ofv, "ofv_se": result.ofv_se,
        "aic": result.aic, "bic": result.bic, "elapsed": result.elapsed_s,
        "param_table": ptab, "omega_table": otab, "residual_table": rtab,
        "notes": list(result.notes), "gof_figures": gof, "n_sim": n_sim,
        "npde_table": _Table(("observation", "n", "NPDE mean", "NPDE variance"), tuple(nrows)),
        "convergence_figure": conv, "vpc_figures": vfigs,
        "vpc_coverage": vpc.coverage if vpc is not None else float("nan"),
        "vpc_n": 3 * len(vpc.table) if vpc is not None else 0,
    }
    return _env().get_template("fit.html.j2").render(**ctx)
