"""Per-subject endpoints from a loaded trial (:class:`il2sim.analysis.load.TrialData`, ADaM).

Definitions (the seed's analysis as far as the abstract states it; the rest are the usual
Phase I conventions, documented in ``docs/analysis.md``):

* baseline: the last non-missing value on or before study day 1 (first dose on day 1), the
  ADCP record with ABLFL = Y;
* % change per visit: ADCP PCHG = ``100 (AVAL / BASE - 1)`` for visits after day 1
  (:func:`il2sim.baseline.pct_change`);
* peak % increase: the PCHG of the ADCP ``DTYPE = MAXIMUM`` record (the largest
  post-baseline value), with the first day it is reached;
* IL-2 peak: the largest measured concentration (pM); trough: the mean pre-dose
  concentration after day 1 (see :func:`il2_peak_trough`); a sample below the limit of
  quantification (BLQ) counts as LLOQ/2 when the LLOQ is known and is otherwise left out;
* time on treatment: ADSL TRTDURD (last day with a dose > 0 - first EXSTDY + 1);
* DLT: ADSL DLTFL (any AE flagged dose-limiting in SUPPAE).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from il2sim.analysis.load import TrialData

BASELINE_LAST_DAY: int = 1


def _level_of(data: TrialData) -> pd.DataFrame:
    return data.treated.set_index("USUBJID")


def nk_visits(data: TrialData, test: str) -> pd.DataFrame:
    """One row per subject and visit for ``test``: day, value (cells/ul), baseline, % change.

    Columns: USUBJID, level, dose_miu_per_m2, day, value_cells_per_ul, baseline_cells_per_ul,
    pct_change (NaN on or before day 1 and when the baseline is missing or zero).
    """
    lv = _level_of(data)
    cp = data.adcp
    cp = cp[(cp["PARAMCD"] == test) & (cp["DTYPE"].astype(str) == "") & cp["USUBJID"].isin(lv.index)]
    out = pd.DataFrame(
        {
            "USUBJID": cp["USUBJID"].to_numpy(),
            "day": cp["ADY"].to_numpy(dtype=float),
            "value_cells_per_ul": cp["AVAL"].to_numpy(dtype=float),
            "baseline_cells_per_ul": cp["BASE"].to_numpy(dtype=float),
            "pct_change": cp["PCHG"].to_numpy(dtype=float),
        }
    )
    out.insert(1, "level", out["USUBJID"].map(lv["TRT01PN"]).astype(int))
    out.insert(2, "dose_miu_per_m2", out["USUBJID"].map(lv["DOSE01P"]).astype(float))
    return out.reset_index(drop=True)


def peak_increase(data: TrialData, test: str) -> pd.DataFrame:
    """Per subject: baseline, peak % increase and the first day of the peak (the ADCP
    ``DTYPE = MAXIMUM`` records); NaN without a baseline or a post-baseline value."""
    cp = data.adcp[data.adcp["PARAMCD"] == test]
    base = cp.groupby("USUBJID", sort=False)["BASE"].first()
    mx = cp[cp["DTYPE"].astype(str) == "MAXIMUM"].drop_duplicates("USUBJID").set_index("USUBJID")
    peak = mx["PCHG"].astype(float)
    day = mx["ADY"].astype(float).where(peak.notna())
    ids = base.index
    return pd.DataFrame(
        {
            "USUBJID": ids,
            "baseline_cells_per_ul": base.astype(float).to_numpy(),
            "peak_pct_increase": peak.reindex(ids).to_numpy(dtype=float),
            "peak_day": day.reindex(ids).to_numpy(dtype=float),
        }
    )


def il2_samples(data: TrialData) -> pd.DataFrame | None:
    """IL-2 samples (pM) with level, BLQ handling applied in ``conc_used_pm``; None if no PC."""
    if data.adpc is None:
        return None
    pc = data.adpc
    lv = _level_of(data)
    out = pd.DataFrame(
        {
            "USUBJID": pc["USUBJID"].to_numpy(),
            "day": pc["ADY"].to_numpy(dtype=float),
            "conc_pm": pc["AVAL"].to_numpy(dtype=float),
            "blq": (pc["BLQFL"].astype(str) == "Y").to_numpy(),
            "lloq_pm": pc["ALLOQ"].to_numpy(dtype=float),
        }
    )
    out["time_h"] = pc["NRRLT"].to_numpy(dtype=float)
    tpt = pc["ATPT"].astype(str)
    if (tpt != "").any():
        out["predose"] = tpt.str.upper().str.contains("PRE").to_numpy()
    else:
        out["predose"] = (out["time_h"] == 0) | (out["time_h"] >= 24)
    used = out["conc_pm"].to_numpy().copy()
    blq = out["blq"].to_numpy()
    used[blq] = out["lloq_pm"].to_numpy()[blq] / 2.0
    out["conc_used_pm"] = used
    out.insert(1, "level", out["USUBJID"].map(lv["TRT01PN"]))
    out.insert(2, "dose_miu_per_m2", out["USUBJID"].map(lv["DOSE01P"]))
    return out[out["level"].notna()].reset_index(drop=True)


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




def time_on_treatment(data: TrialData) -> pd.Series:
    """Days on treatment per subject (ADSL TRTDURD; NaN without EXSTDY); index USUBJID."""
    return pd.Series(data.adsl["TRTDURD"].astype(float).to_numpy(), index=data.adsl["USUBJID"])


def subject_dlt(data: TrialData) -> pd.Series:
    """1.0 if the subject had a DLT, 0.0 if not, NaN if the data carry no DLT flag."""
    flag = data.adsl["DLTFL"].astype(str)
    ids = data.adsl["USUBJID"]
    if data.adae is None or (flag == "").all():
        return pd.Series(math.nan, index=ids, dtype=float)
    return pd.Series(np.where(flag == "Y", 1.0, 0.0), index=ids, dtype=float)


def worst_grade_by_term(data: TrialData) -> pd.DataFrame | None:
    """Worst CTCAE grade per subject and AE term (USUBJID, level, term, worst_grade)."""
    if data.adae is None:
        return None
    lv = _level_of(data)
    ae = data.adae[data.adae["USUBJID"].isin(lv.index)]
    ae = ae.assign(term=ae["AEDECOD"].astype(str), grade=ae["ATOXGRN"].astype(float))
    w = ae.groupby(["USUBJID", "term"], sort=True)["grade"].max().reset_index()
    w = w.rename(columns={"grade": "worst_grade"})
    w["worst_grade"] = w["worst_grade"].astype(int)
    w.insert(1, "level", w["USUBJID"].map(lv["TRT01PN"]).astype(int))
    w.insert(2, "dose_miu_per_m2", w["USUBJID"].map(lv["DOSE01P"]).astype(float))
    return w


def subject_endpoints(data: TrialData) -> pd.DataFrame:
    """One row per treated subject: level, dose, NK and CD56bright peaks, IL-2, time, DLT."""
    order = pd.Series(np.arange(1, len(data.adsl) + 1), index=data.adsl["USUBJID"])
    dm = data.treated
    out = pd.DataFrame(
        {
            "USUBJID": dm["USUBJID"].to_numpy(),
            "order": dm["USUBJID"].map(order).to_numpy(),
            "level": dm["TRT01PN"].to_numpy(dtype=int),
            "dose_miu_per_m2": dm["DOSE01P"].to_numpy(dtype=float),
        }
    )
    for test in data.cell_tests:
        pk = peak_increase(data, test).set_index("USUBJID")
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
