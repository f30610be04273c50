"""Per-subject endpoints from validated SDTM tables (see :mod:`il2sim.analysis.load`).

Definitions (the seed's analysis as far as the abstract states it; the rest are the usual
Phase I conventions, documented in ``docs/analysis.md``):

* baseline: the last non-missing value on or before study day 1 (first dose on day 1);
* % change per visit: ``100 * (value - baseline) / baseline`` for visits after day 1;
* peak % increase: the largest post-baseline % change, with the first day it is reached;
* IL-2 peak: the largest measured concentration (pM); trough: the mean pre-dose
  concentration after day 1 (see :func:`il2_peak_trough`); a sample below the limit of
  quantification (BLQ) counts as LLOQ/2 when the LLOQ is known and is otherwise left out;
* time on treatment: last day with a dose > 0 (EXENDY, else EXSTDY) - first EXSTDY + 1;
* DLT: any AE flagged as dose-limiting.
"""

from __future__ import annotations

import math
import re

import numpy as np
import numpy.typing as npt
import pandas as pd

from il2sim import units
from il2sim.analysis.load import NK_TEST_CODES, SdtmData

_ISO_DURATION = re.compile(
    r"^-?P(?:(\d+(?:\.\d+)?)D)?T?(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?$"
)

BASELINE_LAST_DAY: int = 1


def nk_visits(data: SdtmData, test: str) -> pd.DataFrame:
    """One row per subject and visit for ``test``: day, value (cells/ul), baseline, % change.

    Columns: USUBJID, level, dose_miu_per_m2, day, value_cells_per_ul, baseline_cells_per_ul,
    pct_change (NaN on or before day 1 and when the baseline is missing or zero).
    """
    cp = data.cp[(data.cp["test"] == test) & data.cp["value_cells_per_ul"].notna()]
    cp = cp[cp["USUBJID"].isin(data.dm.loc[data.dm["level"].notna(), "USUBJID"])]
    cp = cp.sort_values(["USUBJID", "CPDY"], kind="stable")
    base = (
        cp[cp["CPDY"] <= BASELINE_LAST_DAY]
        .groupby("USUBJID", sort=False)["value_cells_per_ul"]
        .last()
    )
    out = pd.DataFrame(
        {
            "USUBJID": cp["USUBJID"].to_numpy(),
            "day": cp["CPDY"].to_numpy(dtype=float),
            "value_cells_per_ul": cp["value_cells_per_ul"].to_numpy(dtype=float),
        }
    )
    out["baseline_cells_per_ul"] = out["USUBJID"].map(base).astype(float)
    b = out["baseline_cells_per_ul"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * (out["value_cells_per_ul"].to_numpy() - b) / b
    pct[(out["day"].to_numpy() <= BASELINE_LAST_DAY) | ~np.isfinite(pct)] = np.nan
    out["pct_change"] = pct
    lv = data.dm.set_index("USUBJID")
    out.insert(1, "level", out["USUBJID"].map(lv["level"]).astype(int))
    out.insert(2, "dose_miu_per_m2", out["USUBJID"].map(lv["dose_miu_per_m2"]).astype(float))
    return out.reset_index(drop=True)


def peak_increase(visits: pd.DataFrame) -> pd.DataFrame:
    """Per subject: baseline, peak % increase and the first day of the peak (from ``nk_visits``)."""
    rows = []
    for sid, g in visits.groupby("USUBJID", sort=False):
        post = g[g["pct_change"].notna()]
        if post.empty:
            peak, day = math.nan, math.nan
        else:
            pct = post["pct_change"].to_numpy(dtype=float)
            i = int(np.argmax(pct))
            peak = float(pct[i])
            day = float(post["day"].to_numpy(dtype=float)[i])
        rows.append(
            {
                "USUBJID": sid,
                "baseline_cells_per_ul": float(g["baseline_cells_per_ul"].to_numpy(dtype=float)[0]),
                "peak_pct_increase": peak,
                "peak_day": day,
            }
        )
    return pd.DataFrame(
        rows, columns=["USUBJID", "baseline_cells_per_ul", "peak_pct_increase", "peak_day"]
    )


def il2_samples(data: SdtmData) -> pd.DataFrame | None:
    """IL-2 samples (pM) with level, BLQ handling applied in ``conc_used_pm``; None if no PC."""
    if data.pc is None:
        return None
    pc = data.pc
    lv = data.dm.set_index("USUBJID")
    out = pd.DataFrame(
        {
            "USUBJID": pc["USUBJID"].to_numpy(),
            "day": pc["PCDY"].to_numpy(dtype=float),
            "conc_pm": pc["conc_pm"].to_numpy(dtype=float),
            "blq": pc["blq"].to_numpy(dtype=bool),
            "lloq_pm": pc["lloq_pm"].to_numpy(dtype=float),
        }
    )
    out["time_h"] = _elapsed_hours(pc)
    if "PCTPT" in pc.columns:
        out["predose"] = pc["PCTPT"].astype(str).str.upper().str.contains("PRE").to_numpy()
    else:
        out["predose"] = (out["time_h"] == 0) | (out["time_h"] >= 24)
    used = out["conc_pm"].to_numpy().copy()
    blq = out["blq"].to_numpy()
    used[blq] = out["lloq_pm"].to_numpy()[blq] / 2.0
    out["conc_used_pm"] = used
    out.insert(1, "level", out["USUBJID"].map(lv["level"]))
    out.insert(2, "dose_miu_per_m2", out["USUBJID"].map(lv["dose_miu_per_m2"]))
    return out[out["level"].notna()].reset_index(drop=True)


def _elapsed_hours(pc: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Hours after the day's dose: numeric PCELTM (or PCELTM_H), or ISO 8601 ``PT6H``/``PT30M``."""
    for col in ("PCELTM", "PCELTM_H"):
        if col not in pc.columns:
            continue
        vals = []
        for v in pc[col].tolist():
            if isinstance(v, int | float | np.integer | np.floating):
                vals.append(float(v))
                continue
            text = str(v).strip().upper()
            try:
                vals.append(float(text) if text else math.nan)
                continue
            except ValueError:
                pass
            m = _ISO_DURATION.match(text)
            if m is None or text in ("P", "PT", "-P", "-PT"):
                vals.append(math.nan)
                continue
            d, h, mi = (float(x) if x else 0.0 for x in m.groups())
            vals.append(units.days_to_hours(d) + h + mi / 60.0)
        return np.asarray(vals, dtype=float)
    return np.full(len(pc), math.nan)


def il2_peak_trough(samples: pd.DataFrame) -> pd.DataFrame:
    """Per subject IL-2 peak and trough, pM, from ``il2_samples``.

    Peak: the largest sample.  Trough: the mean of pre-dose samples after day 1 (PCTPT
    containing ``PRE``, or elapsed time 0 or >= 24 h); without any, the lowest sample after
    day 1.
    """
    rows = []
    for sid, g in samples.groupby("USUBJID", sort=False):
        c = g["conc_used_pm"].to_numpy(dtype=float)
        on = g["day"].to_numpy() > 1
        pre = on & g["predose"].to_numpy(dtype=bool) & np.isfinite(c)
        if pre.any():
            trough = float(np.mean(c[pre]))
        elif np.isfinite(c[on]).any():
            trough = float(np.nanmin(c[on]))
        else:
            trough = math.nan
        rows.append(
            {
                "USUBJID": sid,
                "il2_peak_pm": float(np.nanmax(c)) if np.isfinite(c).any() else math.nan,
                "il2_trough_pm": trough,
                "il2_n_samples": len(g),
                "il2_n_blq": int(g["blq"].sum()),
            }
        )
    return pd.DataFrame(
        rows, columns=["USUBJID", "il2_peak_pm", "il2_trough_pm", "il2_n_samples", "il2_n_blq"]
    )


def time_on_treatment(data: SdtmData) -> pd.Series:
    """Days on treatment per subject (NaN without EXSTDY); index USUBJID."""
    ex = data.ex
    if "EXSTDY" not in ex.columns:
        return pd.Series(math.nan, index=data.dm["USUBJID"], dtype=float)
    end = ex["EXENDY"] if "EXENDY" in ex.columns else ex["EXSTDY"]
    end = end.fillna(ex["EXSTDY"]).where(ex["dose_miu_per_m2"] > 0)  # held periods: no dose
    g = pd.DataFrame({"USUBJID": ex["USUBJID"], "st": ex["EXSTDY"], "en": end}).groupby("USUBJID")
    days = g["en"].max() - g["st"].min() + 1.0
    return days.reindex(data.dm["USUBJID"]).astype(float)


def subject_dlt(data: SdtmData) -> pd.Series:
    """1.0 if the subject had a DLT, 0.0 if not, NaN if the data carry no DLT flag."""
    ids = data.dm["USUBJID"]
    if data.ae is None or data.ae["dlt"].isna().all():
        return pd.Series(math.nan, index=ids, dtype=float)
    flagged = set(data.ae.loc[data.ae["dlt"].astype(bool), "USUBJID"])
    return pd.Series([1.0 if s in flagged else 0.0 for s in ids], index=ids, dtype=float)


def worst_grade_by_term(data: SdtmData) -> pd.DataFrame | None:
    """Worst CTCAE grade per subject and AE term (USUBJID, level, term, worst_grade)."""
    if data.ae is None:
        return None
    ae = data.ae[data.ae["USUBJID"].isin(data.dm.loc[data.dm["level"].notna(), "USUBJID"])]
    w = ae.groupby(["USUBJID", "term"], sort=True)["AETOXGR"].max().reset_index()
    w = w.rename(columns={"AETOXGR": "worst_grade"})
    w["worst_grade"] = w["worst_grade"].astype(int)
    lv = data.dm.set_index("USUBJID")
    w.insert(1, "level", w["USUBJID"].map(lv["level"]).astype(int))
    w.insert(2, "dose_miu_per_m2", w["USUBJID"].map(lv["dose_miu_per_m2"]).astype(float))
    return w


def subject_endpoints(data: SdtmData) -> pd.DataFrame:
    """One row per treated subject: level, dose, NK and CD56bright peaks, IL-2, time, DLT."""
    dm = data.dm[data.dm["level"].notna()]
    out = pd.DataFrame(
        {
            "USUBJID": dm["USUBJID"].to_numpy(),
            "order": dm["order"].to_numpy(),
            "level": dm["level"].to_numpy(dtype=int),
            "dose_miu_per_m2": dm["dose_miu_per_m2"].to_numpy(dtype=float),
        }
    )
    for test in NK_TEST_CODES:
        pk = peak_increase(nk_visits(data, test)).set_index("USUBJID")
        for col in ("baseline_cells_per_ul", "peak_pct_increase", "peak_day"):
            out[f"{test}_{col}"] = out["USUBJID"].map(pk[col]).astype(float)
    samples = il2_samples(data)
    if samples is not None and len(samples):
        pt = il2_peak_trough(samples).set_index("USUBJID")
        out["il2_peak_pm"] = out["USUBJID"].map(pt["il2_peak_pm"]).astype(float)
        out["il2_trough_pm"] = out["USUBJID"].map(pt["il2_trough_pm"]).astype(float)
    else:
        out["il2_peak_pm"] = math.nan
        out["il2_trough_pm"] = math.nan
    out["days_on_treatment"] = out["USUBJID"].map(time_on_treatment(data)).astype(float)
    out["dlt"] = out["USUBJID"].map(subject_dlt(data)).astype(float)
    return out
