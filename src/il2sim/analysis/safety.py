"""Safety tables: AE incidence by dose level, term and worst grade; DLTs; MTD; antibodies.

The AE table is the usual Phase I one: per dose level and term, the number of subjects whose
worst grade of that term is 1, 2, 3, 4 or 5, and the number with any grade, out of the subjects
treated at that level (each subject counted once per term, at their worst grade).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from il2sim.analysis.endpoints import subject_dlt, worst_grade_by_term
from il2sim.analysis.load import TrialData

GRADES: tuple[int, ...] = (1, 2, 3, 4, 5)


def treated_per_level(data: TrialData) -> pd.DataFrame:
    """level, dose_miu_per_m2, n_treated."""
    dm = data.treated.assign(level=lambda d: d["TRT01PN"].astype(int))
    g = dm.groupby("level")["DOSE01P"].agg(["first", "size"]).reset_index()
    return pd.DataFrame(
        {
            "level": g["level"].astype(int),
            "dose_miu_per_m2": g["first"].astype(float),
            "n_treated": g["size"].astype(int),
        }
    )


def ae_incidence(data: TrialData) -> pd.DataFrame | None:
    """Subjects per level x term by worst grade (columns grade_1..grade_5, any_grade, n_treated)."""
    w = worst_grade_by_term(data)
    if w is None:
        return None
    treated = treated_per_level(data)
    cols = ["level", "dose_miu_per_m2", "n_treated", "term"]
    cols += [f"grade_{g}" for g in GRADES] + ["any_grade", "grade_3_plus"]
    if w.empty:
        return pd.DataFrame(columns=cols)
    counts = pd.crosstab([w["level"], w["term"]], w["worst_grade"])
    counts = counts.reindex(columns=list(GRADES), fill_value=0)
    counts.columns = [f"grade_{g}" for g in GRADES]
    counts = counts.reset_index()
    counts["any_grade"] = counts[[f"grade_{g}" for g in GRADES]].sum(axis=1)
    counts["grade_3_plus"] = counts[[f"grade_{g}" for g in (3, 4, 5)]].sum(axis=1)
    counts = counts.merge(treated, on="level", how="left")
    return counts[cols].sort_values(["level", "term"]).reset_index(drop=True)


def dlt_by_level(data: TrialData) -> pd.DataFrame:
    """level, dose, n_treated, n_dlt (NaN when the data carry no DLT flag), dlt_rate (of the
    treated), n_dlt_evaluable (ADSL DLTEVLFL = Y)."""
    treated = treated_per_level(data)
    dlt = subject_dlt(data)
    dm = data.treated.assign(level=lambda d: d["TRT01PN"].astype(int))
    dm["dlt"] = dm["USUBJID"].map(dlt).astype(float)
    if dm["dlt"].isna().all():
        treated["n_dlt"] = math.nan
    else:
        treated["n_dlt"] = treated["level"].map(dm.groupby("level")["dlt"].sum()).astype(float)
    treated["dlt_rate"] = treated["n_dlt"] / treated["n_treated"]
    evl = (dm["DLTEVLFL"].astype(str) == "Y").groupby(dm["level"]).sum()
    treated["n_dlt_evaluable"] = treated["level"].map(evl).fillna(0).astype(int)
    return treated


def mtd_from_decisions(
    decisions: pd.DataFrame | None, dose_of_level: Mapping[int, float]
) -> dict[str, Any]:
    """The MTD the design picked: the MTD entry of the decision log's last row.

    Accepts a column whose name contains ``MTD`` (``MTD_LEVEL`` preferred); if its name
    mentions ``LEVEL`` the value is a dose level (from 1), otherwise a dose in MIU/m2.  A blank
    or 0 on the last row means the design selected no MTD.  ``dose_of_level`` maps the trial's
    dose levels to MIU/m2; a decision log with LEVEL and DOSE_MIU_PER_M2 columns adds to it.
    Returns ``{"level": int|None, "dose_miu_per_m2": float|None, "source": str}``.
    """
    if decisions is None or decisions.empty:
        return {"level": None, "dose_miu_per_m2": None, "source": "not available"}
    cols = [c for c in decisions.columns if "MTD" in c]
    if not cols:
        return {"level": None, "dose_miu_per_m2": None, "source": "not in decisions.csv"}
    col = sorted(cols, key=lambda c: ("LEV" not in c, c))[0]  # XPT truncates to MTD_LEVE
    source = f"decisions:{col}"
    last = pd.to_numeric(decisions[col], errors="coerce").iloc[-1]
    none: dict[str, Any] = {"level": None, "dose_miu_per_m2": None, "source": source}
    if pd.isna(last) or float(last) <= 0:
        return none
    v = float(last)
    doses = dict(dose_of_level)
    dose_col = next((c for c in ("DOSE_MIU_PER_M2", "DOSE_MIU") if c in decisions.columns), None)
    if "LEVEL" in decisions.columns and dose_col is not None:
        lv = pd.to_numeric(decisions["LEVEL"], errors="coerce")
        dd = pd.to_numeric(decisions[dose_col], errors="coerce")
        for a, b in zip(lv, dd, strict=True):
            if pd.notna(a) and pd.notna(b):
                doses.setdefault(int(a), float(b))
    if "LEV" in col:
        k = round(v)
        if k in doses:
            return {"level": k, "dose_miu_per_m2": doses[k], "source": source}
        return {"level": k, "dose_miu_per_m2": None, "source": source}
    hit = [k for k, d in doses.items() if np.isclose(d, v)]
    return {"level": hit[0] if hit else None, "dose_miu_per_m2": v, "source": source}


def antibody_incidence(data: TrialData) -> pd.DataFrame | None:
    """Per test code, level and overall (level 0): subjects tested, positive at any time.

    Columns: test, level, dose_miu_per_m2, n_treated, n_tested, n_positive, proportion.
    Without ISTESTCD all rows form one test ``ANY``; the primary test (``IL2AB`` when present)
    comes first.
    """
    if data.adis is None:
        return None
    is_ = data.adis.copy()
    is_["test"] = is_["PARAMCD"].astype(str).str.upper()
    is_["positive"] = is_["AVALC"].astype(str) == "POSITIVE"
    lv = data.treated.set_index("USUBJID").rename(columns={"TRT01PN": "level"})
    treated = treated_per_level(data)
    tests = sorted(is_["test"].unique(), key=lambda t: (t != "IL2AB", t))
    frames = []
    for test in tests:
        subj = is_[is_["test"] == test].groupby("USUBJID")["positive"].any().reset_index()
        subj["level"] = subj["USUBJID"].map(lv["level"])
        subj = subj[subj["level"].notna()]
        g = subj.groupby("level")["positive"].agg(["size", "sum"])
        out = treated.copy()
        out["n_tested"] = out["level"].map(g["size"]).fillna(0).astype(int)
        out["n_positive"] = out["level"].map(g["sum"]).fillna(0).astype(int)
        total = pd.DataFrame(
            {
                "level": [0],
                "dose_miu_per_m2": [math.nan],
                "n_treated": [int(out["n_treated"].sum())],
                "n_tested": [int(out["n_tested"].sum())],
                "n_positive": [int(out["n_positive"].sum())],
            }
        )
        out = pd.concat([out, total], ignore_index=True)
        out.insert(0, "test", test)
        frames.append(out)
    res = pd.concat(frames, ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        res["proportion"] = res["n_positive"] / res["n_tested"].replace(0, np.nan)
    return res
