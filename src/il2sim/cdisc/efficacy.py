"""The model-defined efficacy response in SDTM (RS) and ADaM (ADRS), and its rate.

Where it goes and why:

* **SDTM RS** (Disease Response and Clinical Classification, SDTMIG 3.4 section 6.3.5.x,
  FINDINGS class).  RS holds a subject's response "as assessed against a set of criteria";
  SDTMIG allows sponsor-defined criteria beside published ones (RECIST etc.), with RSCAT naming
  the criterion.  The response here is one, defined on a model output
  (:mod:`il2sim.trial.efficacy`), so RS is the right place (CP holds the cell counts the
  criterion may be computed from, not the response).  Two sponsor-defined tests per subject:
  ``EFFVAL`` the endpoint quantity (RSSTRESN; fold change, % change or the value) and
  ``EFFRESP`` the response (RSSTRESC ``RESPONDER`` / ``NON-RESPONDER``); RSCAT is the
  definition text, RSEVAL ``MODEL`` (the model's true value, no assay noise), timing at the
  assessment's study day (VISITNUM when that day is a scheduled visit).
* **ADaM ADRS** (BDS, ADaMIG 1.3; the analysis criterion variables CRIT1/CRIT1FL of section
  3.3.7): PARAMCD ``EFFVAL`` with AVAL = RSSTRESN, CRIT1 = the definition, CRIT1FL Y/N; and
  PARAMCD ``EFFRESP`` with AVALC = RSSTRESC, AVAL 1/0.  Derived from RS alone, so an SDTM
  folder and the ADaM folder derived from it give the same response rate
  (:func:`efficacy_rate`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import numpy as np
import pandas as pd

from il2sim.cdisc.dates import date_of_day
from il2sim.cdisc.sdtm_spec import RS_TESTS
from il2sim.errors import DataError

__all__ = ["RESPONDER", "adrs", "efficacy_rate", "rs_rows"]

RESPONDER, NON_RESPONDER = "RESPONDER", "NON-RESPONDER"
_UNITS = {"fold": "RATIO", "pct": "%"}


def rs_rows(
    trial: Any, rec: Any, i: int, base: dict[str, Any], start: date, dose_time: time
) -> list[dict[str, Any]]:
    """The RS records of subject ``i`` of cohort ``rec`` (none without an efficacy definition)."""
    eff = trial.efficacy
    r = rec.result
    if eff is None or r.efficacy_value is None or r.responder is None:
        return []
    day = eff.study_day
    weeks = trial.schedule.visit_weeks
    visit_days = [7 * w + 1 for w in weeks]
    vnum = visit_days.index(day) + 1 if day in visit_days else pd.NA
    dtc = datetime.combine(date_of_day(start, day), dose_time).isoformat(timespec="minutes")
    q = float(r.efficacy_value[i])
    unit = _UNITS.get(eff.measure, "")
    timing = {
        "VISITNUM": vnum, "VISIT": f"DAY {day}", "VISITDY": day, "EPOCH": "TREATMENT",
        "RSDTC": dtc, "RSDY": day, "RSCAT": eff.text.upper(), "RSEVAL": "MODEL",
    }  # fmt: skip
    resp = RESPONDER if bool(r.responder[i]) else NON_RESPONDER
    text = f"{q:.4g}" if np.isfinite(q) else ""
    return [
        base | timing | {
            "DOMAIN": "RS", "RSSEQ": 1, "RSTESTCD": "EFFVAL", "RSTEST": RS_TESTS["EFFVAL"],
            "RSORRES": text, "RSORRESU": unit, "RSSTRESC": text,
            "RSSTRESN": float(f"{q:.4g}") if np.isfinite(q) else np.nan, "RSSTRESU": unit,
        },
        base | timing | {
            "DOMAIN": "RS", "RSSEQ": 2, "RSTESTCD": "EFFRESP", "RSTEST": RS_TESTS["EFFRESP"],
            "RSORRES": resp, "RSORRESU": "", "RSSTRESC": resp, "RSSTRESN": np.nan,
            "RSSTRESU": "",
        },
    ]  # fmt: skip


def _response(rs: pd.DataFrame) -> pd.Series:
    """Per subject: True (responder) / False from the EFFRESP records (DataError otherwise)."""
    code = rs["RSTESTCD"].astype(str).str.strip().str.upper()
    r = rs[code == "EFFRESP"]
    val = r["RSSTRESC"].astype(str).str.strip().str.upper()
    bad = ~val.isin([RESPONDER, NON_RESPONDER])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"row {int(r.index[i]) + 1}, column RSSTRESC: expected {RESPONDER} or "
            f"{NON_RESPONDER}, got {r['RSSTRESC'].iat[i]!r}", field="RS",
        )  # fmt: skip
    return pd.Series((val == RESPONDER).to_numpy(), index=r["USUBJID"].astype(str).to_numpy())


def adrs(rs: pd.DataFrame | None, info: pd.DataFrame) -> pd.DataFrame | None:
    """ADRS from SDTM RS (None without RS records): see the module docstring."""
    from il2sim.cdisc.bds import _with_trt, dates_of
    from il2sim.cdisc.read import parse_float

    if rs is None or not len(rs) or "RSTESTCD" not in rs.columns:
        return None
    rs = rs.reset_index(drop=True)
    resp = _response(rs)
    code = rs["RSTESTCD"].astype(str).str.strip().str.upper()
    ids = rs["USUBJID"].astype(str)
    is_val = (code == "EFFVAL").to_numpy()
    stresn = parse_float(rs, "RS", "RSSTRESN") if "RSSTRESN" in rs.columns else np.nan
    aval = np.where(is_val, stresn, ids.map(resp).astype(float).to_numpy())
    met = ids.map(resp)
    df = pd.DataFrame({
        "USUBJID": ids, "PARAMCD": code, "PARAM": [RS_TESTS.get(c, c) for c in code],
        "PARAMN": [list(RS_TESTS).index(c) + 1 if c in RS_TESTS else 9 for c in code],
        "AVAL": aval, "AVALC": rs["RSSTRESC"].astype(str),
        "CRIT1": np.where(is_val, rs.get("RSCAT", pd.Series("", index=rs.index)).astype(str), ""),
        "CRIT1FL": np.where(is_val, np.where(met.fillna(False).astype(bool), "Y", "N"), ""),
        "AVISIT": rs["VISIT"] if "VISIT" in rs.columns else "",
        "AVISITN": parse_float(rs, "RS", "VISITNUM") if "VISITNUM" in rs.columns else np.nan,
        "ADT": dates_of(rs, "RSDTC"),
        "ADY": parse_float(rs, "RS", "RSDY") if "RSDY" in rs.columns else np.nan,
        "SRCDOM": "RS", "SRCVAR": np.where(is_val, "RSSTRESN", "RSSTRESC"),
        "SRCSEQ": parse_float(rs, "RS", "RSSEQ") if "RSSEQ" in rs.columns else np.nan,
    })[code.isin(list(RS_TESTS)).to_numpy()]  # fmt: skip
    return _with_trt(df.reset_index(drop=True), info)


def efficacy_rate(adsl: pd.DataFrame, adrs_df: pd.DataFrame | None) -> dict[str, Any] | None:
    """Responders and response rate overall and per dose level (ADSL TRT01PN), from ADRS
    PARAMCD EFFRESP (AVAL 1/0); None without ADRS records.  Denominator: treated subjects
    with an EFFRESP record."""
    if adrs_df is None or not len(adrs_df):
        return None
    r = adrs_df[adrs_df["PARAMCD"].astype(str).str.upper() == "EFFRESP"]
    if not len(r):
        return None
    lv = adsl.set_index(adsl["USUBJID"].astype(str))["TRT01PN"]
    df = pd.DataFrame({
        "level": r["USUBJID"].astype(str).map(lv).astype(float).to_numpy(),
        "resp": r["AVAL"].astype(float).to_numpy(),
    }).dropna()  # fmt: skip
    crit = adrs_df.loc[adrs_df["PARAMCD"].astype(str).str.upper() == "EFFVAL", "CRIT1"]
    per = df.groupby("level")["resp"].agg(["sum", "count"])
    return {
        "definition": str(crit.iat[0]) if len(crit) else "",
        "n_evaluated": len(df),
        "n_responders": int(df["resp"].sum()),
        "response_rate": float(df["resp"].mean()) if len(df) else None,
        "per_level": [
            {"level": int(float(str(k))), "n": int(v["count"]), "responders": int(v["sum"]),
             "response_rate": float(v["sum"] / v["count"])}
            for k, v in per.iterrows()
        ],
    }  # fmt: skip

