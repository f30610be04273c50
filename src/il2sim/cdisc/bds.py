"""ADSL and the BDS datasets (ADEX, ADCP, ADPC, ADIS) from SDTM tables (ADaMIG 1.3 sections
3 and 4).  Called by :func:`il2sim.cdisc.adam.build_adam`, which has checked the required
variables, converted EX doses (``ex["dose"]``, MIU/m2) and assigned dose levels.

ADCP (the cell counts): AVAL = CPSTRESN in cells/uL; the baseline record (ABLFL = Y) is the
last non-missing value on or before study day 1 (first dose on day 1); BASE on every record;
CHG and PCHG on post-baseline records (ADY > 1); and one ``DTYPE = MAXIMUM`` record per
subject and parameter holding the largest post-baseline value (the first in ADY order), whose
PCHG is the subject's peak % increase (:func:`il2sim.baseline.pct_change`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from il2sim.baseline import pct_change
from il2sim.cdisc.adam_spec import ADAM, EX_PARAMS
from il2sim.cdisc.read import parse_float, parse_hours
from il2sim.cdisc.sdtm_spec import CP_TESTS, IS_TESTS, PC_TESTS
from il2sim.cdisc.unit_text import (
    conc_unit_factor_to_pm,
    convert_units,
    count_unit_factor_to_cells_per_ul,
)
from il2sim.errors import DataError

__all__ = ["BASELINE_LAST_DAY", "adcp", "adex", "adis", "adpc", "dates_of", "parse_flag", "subject_info"]

#: Baseline: the last value on or before this study day.
BASELINE_LAST_DAY = 1
MAX_VISITN = 99
_TRUE = frozenset({"Y", "YES", "1", "1.0", "TRUE", "T"})
_FALSE = frozenset({"N", "NO", "0", "0.0", "FALSE", "F", ""})


def parse_flag(df: pd.DataFrame, table: str, col: str) -> np.ndarray:
    """Y/N (also 1/0, TRUE/FALSE) -> bool; blank -> False; anything else a DataError."""
    out = np.zeros(len(df), dtype=bool)
    for i, v in enumerate(df[col].tolist()):
        s = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip().upper()
        if s in _TRUE:
            out[i] = True
        elif s not in _FALSE:
            raise DataError(f"row {i + 1}, column {col}: expected Y or N, got {s!r}", field=table)
    return out


def dates_of(df: pd.DataFrame, col: str) -> pd.Series:
    """Complete ISO 8601 dates (or date/times with ``timed``) of ``df[col]`` as datetime64;
    partial or missing dates are NaT (no imputation)."""
    if col not in df.columns:
        return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    vals = [str(v)[:10] if isinstance(v, str) and len(v) >= 10 else None for v in df[col]]
    return pd.to_datetime(pd.Series(vals, index=df.index), format="%Y-%m-%d")


def _datetimes(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    vals = [v if isinstance(v, str) and len(v) >= 16 else None for v in df[col]]
    return pd.to_datetime(pd.Series(vals, index=df.index), format="ISO8601")


def _supp_value(tables: Mapping[str, pd.DataFrame], qnam: str, ids: pd.Series) -> np.ndarray:
    supp = tables.get("SUPPDM")
    if supp is None or not {"QNAM", "QVAL"} <= set(supp.columns):
        return np.full(len(ids), math.nan)
    s = supp[supp["QNAM"].astype(str).str.upper() == qnam].reset_index(drop=True)
    vals = parse_float(s, "SUPPDM", "QVAL")
    by = dict(zip(s["USUBJID"].astype(str), vals, strict=True))
    return np.array([by.get(x, math.nan) for x in ids], dtype=float)


def subject_info(
    dm: pd.DataFrame,
    ex: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    dlt: pd.Series | None,
    window_day: int,
) -> pd.DataFrame:
    """ADSL rows (one per DM subject, in DM order)."""
    ids = dm["USUBJID"].astype(str)
    dosed = ex[ex["dose"] > 0]
    if "EXSTDY" in ex.columns:
        end = (ex["EXENDY"] if "EXENDY" in ex.columns else ex["EXSTDY"]).fillna(ex["EXSTDY"])
        g = pd.DataFrame({"USUBJID": ex["USUBJID"], "st": ex["EXSTDY"], "en": end.where(ex["dose"] > 0)})
        dur = (g.groupby("USUBJID")["en"].max() - g.groupby("USUBJID")["st"].min() + 1.0).reindex(ids)
    else:
        dur = pd.Series(math.nan, index=ids)
    start = dates_of(ex, "EXSTDTC").groupby(ex["USUBJID"]).min().reindex(ids)
    ends = dates_of(dosed, "EXENDTC" if "EXENDTC" in dosed.columns else "EXSTDTC")
    stop = ends.groupby(dosed["USUBJID"]).max().reindex(ids)
    dlt_subj: dict[str, bool] | None = None
    if dlt is not None:
        ae = tables["AE"]
        hit = set(ae.loc[dlt.to_numpy(dtype=bool), "USUBJID"].astype(str))
        dlt_subj = {s: s in hit for s in ids}
    level = dm["level"]
    treated = level.notna().to_numpy()
    trt = [f"IL-2 {d:g} MIU/m2" if t else "" for d, t in zip(dm["dose"], treated, strict=True)]
    dltfl = ["" if dlt_subj is None else ("Y" if dlt_subj[s] else "N") for s in ids]
    evl = [
        "Y" if f == "Y" or (np.isfinite(d) and d >= window_day) else "N"
        for f, d in zip(dltfl, dur.to_numpy(dtype=float), strict=True)
    ]
    any_dose = set(dosed["USUBJID"].astype(str))

    def col(name: str, default: Any = "") -> Any:
        return dm[name].to_numpy() if name in dm.columns else default

    return pd.DataFrame({
        "STUDYID": col("STUDYID"), "USUBJID": ids.to_numpy(), "SUBJID": col("SUBJID"),
        "SITEID": col("SITEID"), "AGE": parse_float(dm, "DM", "AGE") if "AGE" in dm.columns else np.nan,
        "AGEU": col("AGEU"), "SEX": col("SEX"), "ARMCD": col("ARMCD"), "ARM": col("ARM"),
        "ACTARMCD": col("ACTARMCD"), "ACTARM": col("ACTARM"),
        "COHORT": _supp_value(tables, "COHORT", ids), "TRT01P": trt,
        "TRT01PN": level.to_numpy(), "TRT01A": trt, "TRT01AN": level.to_numpy(),
        "DOSE01P": dm["dose"].to_numpy(), "DOSE01A": dm["dose"].to_numpy(),
        "DOSEU": np.where(treated, "MIU/m2", ""), "TRTSDT": start.to_numpy(),
        "TRTEDT": stop.to_numpy(), "TRTDURD": dur.to_numpy(dtype=float),
        "SAFFL": ["Y" if s in any_dose else "N" for s in ids], "DLTEVLFL": evl, "PKFL": "N",
        "DLTFL": dltfl, "HEIGHTBL": _supp_value(tables, "HEIGHT", ids),
        "WEIGHTBL": _supp_value(tables, "WEIGHT", ids), "BSABL": _supp_value(tables, "BSA", ids),
    })  # fmt: skip


def _with_trt(df: pd.DataFrame, info: pd.DataFrame) -> pd.DataFrame:
    trt = info.set_index("USUBJID")
    ids = df["USUBJID"]
    for name, src in (("STUDYID", "STUDYID"), ("TRTP", "TRT01P"), ("TRTPN", "TRT01PN"),
                      ("TRTA", "TRT01A"), ("TRTAN", "TRT01AN"), ("SAFFL", "SAFFL")):  # fmt: skip
        df[name] = ids.map(trt[src]).to_numpy()
    return df


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame(columns=list(ADAM[name].names))


def adex(ex: pd.DataFrame, info: pd.DataFrame) -> pd.DataFrame:
    """ADEX: per subject DURD, DOSDAYS, CUMDOSE, RDI, NINTERR, NREDUC (see EX_PARAMS)."""
    if "EXSTDY" not in ex.columns:
        return _empty("ADEX")
    end = ex["EXENDY"].fillna(ex["EXSTDY"]) if "EXENDY" in ex.columns else ex["EXSTDY"]
    days = (end - ex["EXSTDY"] + 1.0).clip(lower=0)
    by_subject = info.set_index("USUBJID")
    planned, duration = by_subject["DOSE01P"], by_subject["TRTDURD"]
    rows = []
    for sid, g in ex.assign(days=days).groupby("USUBJID", sort=False):
        p = float(planned.get(sid, math.nan))
        span = float(g["EXENDY"].max() if "EXENDY" in g else g["EXSTDY"].max()) - float(g["EXSTDY"].min()) + 1
        dosed = g[g["dose"] > 0]
        cum = float((dosed["dose"] * dosed["days"]).sum())
        dur = duration.get(sid, math.nan)
        vals = {
            "DURD": dur, "DOSDAYS": float(dosed["days"].sum()), "CUMDOSE": cum,
            "RDI": 100.0 * cum / (p * span) if p > 0 and span > 0 else math.nan,
            "NINTERR": float((g["dose"] == 0).sum()), "NREDUC": float(((g["dose"] > 0) & (g["dose"] < p)).sum()),
        }  # fmt: skip
        for k, (code, label) in enumerate(EX_PARAMS.items(), start=1):
            rows.append({"USUBJID": sid, "PARAMCD": code, "PARAM": label, "PARAMN": k,
                         "AVAL": vals[code], "AVISIT": "OVERALL", "AVISITN": MAX_VISITN,
                         "SRCDOM": "EX", "SRCVAR": "", "SRCSEQ": pd.NA})  # fmt: skip
    return _with_trt(pd.DataFrame(rows), info) if rows else _empty("ADEX")


def adcp(cp: pd.DataFrame | None, info: pd.DataFrame, test_codes: Mapping[str, str]) -> pd.DataFrame:
    """ADCP (see the module docstring); ``test_codes`` maps il2sim's CP codes to the study's."""
    if cp is None:
        return _empty("ADCP")
    cp = cp.reset_index(drop=True)
    cp["CPSTRESN"] = parse_float(cp, "CP", "CPSTRESN")
    cp["CPDY"] = parse_float(cp, "CP", "CPDY", allow_missing=False)
    aval = _convert(cp, "CP", "CPSTRESN", "CPSTRESU", count_unit_factor_to_cells_per_ul, "cells/uL")
    reverse = {str(v).upper(): k for k, v in test_codes.items()}
    code = [reverse.get(str(c).upper(), str(c).upper()) for c in cp["CPTESTCD"]]
    names = list(CP_TESTS)
    df = pd.DataFrame({
        "USUBJID": cp["USUBJID"], "PARAMCD": code,
        "PARAM": [f"{CP_TESTS[c][0]} ({CP_TESTS[c][1]})" if c in CP_TESTS else c for c in code],
        "PARAMN": [names.index(c) + 1 if c in CP_TESTS else len(names) + 1 for c in code],
        "AVAL": aval, "ADY": cp["CPDY"],
        "AVISIT": cp["VISIT"] if "VISIT" in cp.columns else [f"DAY {d:g}" for d in cp["CPDY"]],
        "AVISITN": parse_float(cp, "CP", "VISITNUM") if "VISITNUM" in cp.columns else cp["CPDY"],
        "ADT": dates_of(cp, "CPDTC"), "SRCDOM": "CP", "SRCVAR": "CPSTRESN",
        "SRCSEQ": parse_float(cp, "CP", "CPSEQ") if "CPSEQ" in cp.columns else np.nan,
    })  # fmt: skip
    df = df[df["AVAL"].notna()].sort_values(["USUBJID", "PARAMCD", "ADY"], kind="stable")
    pre = df[df["ADY"] <= BASELINE_LAST_DAY]
    base_idx = pre.groupby(["USUBJID", "PARAMCD"], sort=False).tail(1).index
    df["ABLFL"] = np.where(df.index.isin(base_idx), "Y", "")
    base = df.loc[base_idx].set_index(["USUBJID", "PARAMCD"])["AVAL"]
    keys = pd.MultiIndex.from_arrays([df["USUBJID"], df["PARAMCD"]])
    df["BASE"] = base.reindex(keys).to_numpy()
    post = (df["ADY"] > BASELINE_LAST_DAY).to_numpy()
    df["CHG"] = np.where(post, df["AVAL"] - df["BASE"], np.nan)
    df["PCHG"] = np.where(post, pct_change(df["AVAL"], df["BASE"]), np.nan)
    df["DTYPE"] = ""
    maxima = []
    for _, g in df[post].groupby(["USUBJID", "PARAMCD"], sort=False):
        row = g.iloc[int(np.argmax(g["AVAL"].to_numpy(dtype=float)))].copy()
        row["AVISIT"], row["AVISITN"], row["DTYPE"] = "POST-BASELINE MAXIMUM", MAX_VISITN, "MAXIMUM"
        maxima.append(row)
    if maxima:
        df = pd.concat([df, pd.DataFrame(maxima)]).sort_values(
            ["USUBJID", "PARAMN", "AVISITN"], kind="stable"
        )
    return _with_trt(df.reset_index(drop=True), info)


def _convert(df: pd.DataFrame, table: str, vcol: str, ucol: str, f: Any, expected: str) -> np.ndarray:
    return convert_units(df, table, vcol, ucol, f, expected)


def _hours(pc: pd.DataFrame) -> np.ndarray:
    """Hours after the day's dose from PCELTM (ISO 8601 duration or a number of hours)."""
    col = next((c for c in ("PCELTM", "PCELTM_H") if c in pc.columns), None)
    return np.full(len(pc), math.nan) if col is None else parse_hours(pc, "PC", col)


def adpc(pc: pd.DataFrame | None, info: pd.DataFrame) -> pd.DataFrame:
    """ADPC: IL-2 samples in pmol/L, the LLOQ, BLQFL and the nominal hours after dose."""
    if pc is None:
        return _empty("ADPC")
    if "PCTESTCD" in pc.columns:
        pc = pc[pc["PCTESTCD"].astype(str).str.upper().isin(["IL2", "IL-2", "IL02"])]
    pc = pc.reset_index(drop=True)
    pc["PCSTRESN"] = parse_float(pc, "PC", "PCSTRESN")
    conc = _convert(pc, "PC", "PCSTRESN", "PCSTRESU", conc_unit_factor_to_pm, "pM, IU/mL, ng/mL or pg/mL")
    flag = next((c for c in ("PCBLQFL", "BLQ", "PCBLQ", "BLQFL") if c in pc.columns), None)
    if flag is not None:  # a sponsor's (or il2sim v0.1's) BLQ flag
        blq = parse_flag(pc, "PC", flag)
    elif "PCSTRESC" in pc.columns:
        text = pc["PCSTRESC"].astype(str).str.upper()
        blq = (text.str.startswith("<") | text.str.contains("BLQ")).to_numpy()
    else:
        blq = np.isnan(conc)
    if "PCLLOQ" in pc.columns:
        pc["PCLLOQ"] = parse_float(pc, "PC", "PCLLOQ")
        lloq = _convert(pc, "PC", "PCLLOQ", "PCSTRESU", conc_unit_factor_to_pm, "pM, IU/mL, ng/mL")
    else:
        lloq = np.full(len(pc), math.nan)
    (code, (name, unit)), = PC_TESTS.items()
    df = pd.DataFrame({
        "USUBJID": pc["USUBJID"], "PARAMCD": code, "PARAM": f"{name} ({unit})", "PARAMN": 1,
        "AVAL": conc, "AVALC": pc["PCSTRESC"] if "PCSTRESC" in pc.columns else "",
        "ALLOQ": lloq, "BLQFL": np.where(blq, "Y", "N"),
        "ATPT": pc["PCTPT"] if "PCTPT" in pc.columns else "",
        "ATPTN": parse_float(pc, "PC", "PCTPTNUM") if "PCTPTNUM" in pc.columns else np.nan,
        "NRRLT": _hours(pc), "RRLTU": "h", "ADTM": _datetimes(pc, "PCDTC"),
        "AVISIT": pc["VISIT"] if "VISIT" in pc.columns else "",
        "AVISITN": parse_float(pc, "PC", "VISITNUM") if "VISITNUM" in pc.columns else np.nan,
        "ADT": dates_of(pc, "PCDTC"), "ADY": parse_float(pc, "PC", "PCDY", allow_missing=False),
        "SRCDOM": "PC", "SRCVAR": "PCSTRESN",
        "SRCSEQ": parse_float(pc, "PC", "PCSEQ") if "PCSEQ" in pc.columns else np.nan,
    })  # fmt: skip
    return _with_trt(df, info)


def adis(is_: pd.DataFrame | None, info: pd.DataFrame) -> pd.DataFrame:
    """ADIS: antibody results (blank results left out)."""
    if is_ is None:
        return _empty("ADIS")
    is_ = is_.reset_index(drop=True)
    res = is_["ISSTRESC"].astype(str).str.upper()
    ok = res.isin(["POSITIVE", "NEGATIVE", "POS", "NEG", ""])
    if not ok.all():
        i = int(np.flatnonzero((~ok).to_numpy())[0])
        raise DataError(f"row {i + 1}, column ISSTRESC: expected POSITIVE or NEGATIVE, "
                        f"got {is_['ISSTRESC'].iat[i]!r}", field="IS")  # fmt: skip
    code = is_["ISTESTCD"].astype(str).str.upper() if "ISTESTCD" in is_.columns else pd.Series("ANY", index=is_.index)
    pos = res.str.startswith("POS")
    df = pd.DataFrame({
        "USUBJID": is_["USUBJID"], "PARAMCD": code,
        "PARAM": [IS_TESTS.get(c, c) for c in code], "PARAMN": [list(IS_TESTS).index(c) + 1 if c in IS_TESTS else 9 for c in code],
        "AVAL": pos.astype(float), "AVALC": np.where(pos, "POSITIVE", "NEGATIVE"),
        "AVISIT": is_["VISIT"] if "VISIT" in is_.columns else "",
        "AVISITN": parse_float(is_, "IS", "VISITNUM") if "VISITNUM" in is_.columns else np.nan,
        "ADT": dates_of(is_, "ISDTC"), "ADY": parse_float(is_, "IS", "ISDY") if "ISDY" in is_.columns else np.nan,
        "SRCDOM": "IS", "SRCVAR": "ISSTRESC",
        "SRCSEQ": parse_float(is_, "IS", "ISSEQ") if "ISSEQ" in is_.columns else np.nan,
    })[(res != "").to_numpy()]  # fmt: skip
    return _with_trt(df.reset_index(drop=True), info)
