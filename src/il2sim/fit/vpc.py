"""Visual predictive check: binned observed percentiles against simulated intervals.

Per stratum (observation type x dose level) and time bin: the 5th, 50th and 95th percentiles
of the observations and, from ``n_sim`` replicates of the dataset simulated under the model
(:func:`il2sim.fit.predictive.simulate_replicates`), the median and the 90% interval of each
simulated percentile (Holford 2005, PAGE 14 Abstr 738; Karlsson & Holford 2008 tutorial).

* BLQ-aware (Bergstrand et al. 2009, AAPS J 11:371): censored values rank below every
  quantified value in observed and simulated data alike; a percentile that falls below the
  LLOQ is reported as BLQ (NaN in the table), and it agrees with the simulations when their
  interval's lower end is below the LLOQ too.  The observed fraction BLQ is compared with its
  simulated 90% interval.
* Prediction-corrected (pcVPC; Bergstrand et al. 2011, AAPS J 13:143): observed and
  simulated values are multiplied by ``median(PRED in bin) / PRED`` (log-normal data, no
  lower bound), which removes the spread that different doses and times within a bin add.
* Bins: each distinct nominal time if a type has at most ``max_bins`` of them, else equal-count
  bins of time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from il2sim.fit.data import FitData

FloatArray = npt.NDArray[np.float64]

__all__ = ["PERCENTILES", "VpcResult", "vpc"]

PERCENTILES: tuple[float, ...] = (5.0, 50.0, 95.0)
_SENTINEL = -1e300


@dataclass(frozen=True, eq=False)
class VpcResult:
    """``table``: one row per (type, stratum, bin) with observed percentiles ``obs_p5`` ...,
    simulated ``sim_p5_lo/med/hi`` ..., ``inside_p5`` ..., fraction BLQ observed and
    simulated; ``coverage``: fraction of (bin, percentile) pairs whose observed percentile is
    inside the simulated 90% interval."""

    table: pd.DataFrame
    n_sim: int
    prediction_corrected: bool
    strata_name: str

    @property
    def coverage(self) -> float:
        """Fraction of observed percentiles inside their simulated 90% intervals."""
        cols = [f"inside_p{q:g}" for q in PERCENTILES]
        flags = self.table[cols].to_numpy(dtype=float).ravel()
        flags = flags[np.isfinite(flags)]
        return float(flags.mean()) if flags.size else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary plus the table's rows."""
        return {"n_sim": self.n_sim, "prediction_corrected": self.prediction_corrected,
                "strata": self.strata_name, "coverage": self.coverage,
                "n_bins": len(self.table),
                "table": self.table.replace({np.nan: None}).to_dict(orient="records")}


def _bins(times: FloatArray, max_bins: int) -> tuple[FloatArray, FloatArray]:
    """(bin index per time, bin centre) for ``times``."""
    u = np.unique(times)
    if u.size <= max_bins:
        return np.searchsorted(u, times).astype(float), u
    edges = np.unique(np.quantile(times, np.linspace(0, 1, max_bins + 1)))
    idx = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, edges.size - 2)
    centres = np.array([np.median(times[idx == b]) for b in range(edges.size - 1)])
    return idx.astype(float), centres


def vpc(data: FitData, sims: FloatArray, sim_cens: npt.NDArray[np.bool_],
        strata: npt.ArrayLike | None = None, pred: FloatArray | None = None,
        max_bins: int = 20, strata_name: str = "dose", period: float | None = 24.0) -> VpcResult:
    """VPC table of ``data`` against ``sims`` (n_sim, N, J) (see the module docstring).

    ``strata`` (N,): a label per subject (default: one stratum); ``pred`` (N, J): population
    predictions for the prediction correction (None: plain VPC); ``period``: dosing interval
    in the data's time unit -- observations are also stratified by their time within it
    (``tad`` column: pre-dose and 4-h samples are separate series), None to switch off."""
    n_sim = sims.shape[0]
    lab = np.zeros(data.n_subjects) if strata is None else np.asarray(strata)
    rows: list[dict[str, Any]] = []
    obs_v = np.where(data.censored, _SENTINEL, data.dv)
    sim_v = np.where(sim_cens, _SENTINEL, sims)
    tad = (np.round(np.mod(np.nan_to_num(data.time), period), 6) if period
           else np.zeros(data.mask.shape))
    for t, tname in enumerate(data.type_names):
        tm = data.type_mask(t)
        times = data.time[tm]
        bidx_flat, centres = _bins(times, max_bins * max(1, np.unique(tad[tm]).size))
        bidx = np.full(data.mask.shape, -1.0)
        bidx[tm] = bidx_flat
        for s, a in ((s, a) for s in np.unique(lab) for a in np.unique(tad[tm])):
            sm = tm & (lab == s)[:, None] & (tad == a)
            for b, centre in enumerate(centres):
                sel = sm & (bidx == b)
                if not sel.any():
                    continue
                o = obs_v[sel]
                sv = sim_v[:, sel]
                if pred is not None:
                    pr = pred[sel]
                    ratio = np.median(pr) / np.where(pr > 0, pr, np.nan)
                    ratio = np.where(np.isfinite(ratio), ratio, 1.0)
                    o = np.where(o > _SENTINEL, o * ratio, o)
                    sv = np.where(sv > _SENTINEL, sv * ratio[None, :], sv)
                lq = data.lloq[sel]
                lloq = float(np.nanmin(lq)) if np.isfinite(lq).any() else np.nan
                row: dict[str, Any] = {"type": tname, "unit": data.type_units[t],
                                       strata_name: s.item() if hasattr(s, "item") else s,
                                       "tad": float(a), "bin": b, "time": float(centre),
                                       "n_obs": int(o.size),
                                       "n_blq": int((o <= _SENTINEL).sum()), "lloq": lloq}
                for q in PERCENTILES:
                    oq = float(np.percentile(o, q))
                    sq = np.percentile(sv, q, axis=1)
                    lo, med, hi = (float(x) for x in np.percentile(sq, [5.0, 50.0, 95.0]))
                    blq = np.isfinite(lloq) and oq < lloq
                    inside = (lo <= oq <= hi) or (blq and lo < lloq)
                    row[f"obs_p{q:g}"] = np.nan if blq or oq <= _SENTINEL / 10 else oq
                    for key, val in (("lo", lo), ("med", med), ("hi", hi)):
                        below = (np.isfinite(lloq) and val < lloq) or val <= _SENTINEL / 10
                        row[f"sim_p{q:g}_{key}"] = np.nan if below else val
                    row[f"inside_p{q:g}"] = float(inside)
                fo = float((o <= _SENTINEL).mean())
                fs = (sv <= _SENTINEL).mean(axis=1)
                row["obs_frac_blq"] = fo
                row["sim_frac_blq_lo"], row["sim_frac_blq_hi"] = (float(x) for x in
                                                                   np.percentile(fs, [5.0, 95.0]))
                rows.append(row)
    return VpcResult(pd.DataFrame(rows), n_sim, pred is not None, strata_name)
