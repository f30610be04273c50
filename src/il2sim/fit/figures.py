"""Diagnostic figures of a fit (matplotlib, imported on first use, Agg backend, PNG bytes).

* goodness of fit per observation type: observed vs PRED and vs IPRED (log-log, identity
  line; censored values drawn at the LLOQ as open marks), NPDE vs time and vs PRED (with the
  0 and +-1.96 lines);
* SAEM convergence traces (typical values and SDs per iteration);
* VPC panels: observed percentiles (lines, points = observations) over the simulated 90%
  intervals of each percentile (bands), per type and stratum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from il2sim import _figures

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from il2sim.fit.data import FitData
    from il2sim.fit.vpc import VpcResult

FloatArray = npt.NDArray[np.float64]

__all__ = ["convergence_figure", "gof_figure", "png_bytes", "vpc_figure"]


def png_bytes(fig: Figure) -> bytes:
    """PNG of ``fig`` at 90 dpi (then closed)."""
    return _figures.png_bytes(fig, dpi=90)


def gof_figure(data: FitData, t: int, pred: FloatArray, ipred: FloatArray,
               npde: FloatArray | None, time_unit: str) -> Figure:
    """Goodness-of-fit panels of observation type ``t``."""
    plt = _figures.pyplot()
    sel = data.type_mask(t)
    obs = sel & ~data.censored
    cen = sel & data.censored
    name, unit = data.type_names[t], data.type_units[t]
    fig, ax = plt.subplots(1, 4, figsize=(15, 3.6))
    for a, p, lab in ((ax[0], pred, "PRED"), (ax[1], ipred, "IPRED")):
        x, y = p[obs], data.dv[obs]
        a.scatter(x, y, s=8, alpha=0.5)
        if cen.any():
            a.scatter(p[cen], data.lloq[cen], s=10, facecolors="none", edgecolors="grey",
                      label="BLQ (at LLOQ)")
            a.legend(fontsize=7)
        pos = np.concatenate([x[x > 0], y[y > 0]])
        if pos.size:
            lo, hi = pos.min() / 1.5, pos.max() * 1.5
            a.plot([lo, hi], [lo, hi], "k-", lw=0.8)
            a.set_xscale("log")
            a.set_yscale("log")
        a.set_xlabel(f"{lab} ({unit})")
        a.set_ylabel(f"observed {name} ({unit})")
        a.set_title(f"{name}: observed vs {lab}")
    for a, x, lab in ((ax[2], data.time, f"time ({time_unit})"), (ax[3], pred, "PRED")):
        if npde is not None:
            v = npde[sel]
            a.scatter(x[sel], v, s=8, alpha=0.5)
        for yv, st in ((0.0, "-"), (1.96, "--"), (-1.96, "--")):
            a.axhline(yv, color="k", lw=0.8, ls=st)
        a.set_xlabel(lab)
        a.set_ylabel("NPDE")
        a.set_title(f"{name}: NPDE vs {lab.split(' ')[0]}")
        if lab == "PRED" and (pred[sel] > 0).any():
            a.set_xscale("log")
            a.set_xlim(left=max(float(np.nanmin(np.where(pred[sel] > 0, pred[sel], np.inf))),
                                1e-3) / 1.5)
    fig.tight_layout()
    return fig


def convergence_figure(history: FloatArray, names: tuple[str, ...], k: int) -> Figure:
    """Traces of exp(mu) and the SDs over SAEM iterations (first ``2k`` history columns)."""
    plt = _figures.pyplot()
    fig, ax = plt.subplots(2, k, figsize=(3.2 * k, 4.8), squeeze=False)
    for j in range(k):
        ax[0, j].plot(np.exp(history[:, j]), lw=0.8)
        ax[0, j].set_title(names[j].removeprefix("mu_"), fontsize=9)
        ax[1, j].plot(history[:, k + j], lw=0.8, color="C1")
        ax[1, j].set_title(f"omega {names[j].removeprefix('mu_')}", fontsize=9)
        ax[1, j].set_xlabel("iteration")
    fig.tight_layout()
    return fig


def vpc_figure(res: VpcResult, type_name: str, log_y: bool = True) -> Figure:
    """VPC panels (one per stratum) of one observation type."""
    plt = _figures.pyplot()
    tab = res.table[res.table["type"] == type_name]
    keys = list(dict.fromkeys(zip(tab[res.strata_name].tolist(), tab["tad"].tolist(),
                                  strict=True)))
    ncol = min(4, max(1, len(keys)))
    nrow = int(np.ceil(len(keys) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 3.0 * nrow), squeeze=False)
    for a, (s, tad) in zip(axes.ravel(), keys, strict=False):
        d = tab[(tab[res.strata_name] == s) & (tab["tad"] == tad)].sort_values("time")
        x = d["time"].to_numpy(float)
        x = x / 24.0 if x.max() > 100 else x  # hours -> days for long studies
        lq = d["lloq"].to_numpy(float)
        floor = float(np.nanmin(lq)) if np.isfinite(lq).any() else np.nan
        for q, color in ((5, "C0"), (50, "C3"), (95, "C0")):
            lo = d[f"sim_p{q}_lo"].to_numpy(float)
            hi = d[f"sim_p{q}_hi"].to_numpy(float)
            base = floor if np.isfinite(floor) else np.nanmin(np.r_[lo, hi, 1e300])
            a.fill_between(x, np.nan_to_num(lo, nan=base), np.nan_to_num(hi, nan=base),
                           color=color, alpha=0.2, lw=0)
            a.plot(x, d[f"obs_p{q}"].to_numpy(float), color=color, lw=1.2, marker=".",
                   ls="-" if q == 50 else "--")
        if np.isfinite(floor):
            a.axhline(floor, color="grey", lw=0.8, ls=":")
        if log_y:
            a.set_yscale("log")
        when = f", {tad:g} h after dose" if tad else ""
        a.set_title(f"{type_name}, {res.strata_name} {s}{when}", fontsize=8)
        a.set_xlabel("time (days)" if d["time"].max() > 100 else "time")
    for a in axes.ravel()[len(keys):]:
        a.axis("off")
    fig.suptitle(("pc" if res.prediction_corrected else "") + f"VPC {type_name}: observed 5/50/95th "
                 "percentiles (lines) and simulated 90% intervals (bands)", fontsize=10)
    fig.tight_layout()
    return fig


def sensitivity_figure(res: object) -> Figure:
    """Bar chart of first-order and total Sobol indices (or Morris mu*) with their 95%
    intervals, one panel per output."""
    from il2sim.fit.sensitivity import SensitivityResult

    assert isinstance(res, SensitivityResult)
    plt = _figures.pyplot()
    k = len(res.outputs)
    fig, ax = plt.subplots(1, k, figsize=(3.8 * k, 3.8), squeeze=False)
    x = np.arange(len(res.names))
    for a, o in zip(ax[0], res.outputs, strict=True):
        ix = res.indices[o]
        if res.method == "sobol":
            for off, key, lab in ((-0.2, "S1", "first order"), (0.2, "ST", "total")):
                a.bar(x + off, [ix[n][key] for n in res.names], 0.4, label=lab,
                      yerr=[ix[n][f"{key}_conf"] for n in res.names], capsize=2)
        else:
            a.bar(x, [ix[n]["mu_star"] for n in res.names], 0.6, label="mu*",
                  yerr=[ix[n]["mu_star_conf"] for n in res.names], capsize=2)
        a.set_xticks(x)
        a.set_xticklabels(res.names, rotation=70, fontsize=7)
        a.set_title(o, fontsize=9)
        a.legend(fontsize=7)
    fig.tight_layout()
    return fig
