"""ADaM datasets derived from SDTM datasets: the same derivation for a simulated trial and for
a real one (ADaMIG 1.3; the datasets and variables are declared in :mod:`.adam_spec`).

Input: SDTM tables as :func:`il2sim.cdisc.read.read_package` returns them (or as
:func:`il2sim.cdisc.sdtm.build_sdtm` builds them).  DM and EX are required; CP, PC, IS, AE,
SUPPAE, SUPPDM, RS (ADRS, :mod:`.efficacy`) and DECISION are used when present.  Doses are converted to MIU/m2, counts to
cells/uL, concentrations to pmol/L (:mod:`.unit_text`); a unit il2sim does not know is rejected
with its row.  Dose level (TRT01PN): the level in DM.ARMCD (``L3`` or ``3``) when it maps
one-to-one and in order onto the doses, else the rank of the subject's first dose among the
doses given.  The DLT flag: SUPPAE ``QNAM = AEDLT``; for il2sim v0.1 folders (and other
sponsors' layouts) an AE column ``AEDLT``, ``DLT``, ``AEDLTFL`` or ``DLTFL`` is read instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from il2sim.cdisc.adam_spec import ADAM
from il2sim.cdisc.bds import adcp, adex, adis, adpc, dates_of, parse_flag, subject_info
from il2sim.cdisc.efficacy import adrs
from il2sim.cdisc.read import parse_float
from il2sim.cdisc.schema import conform
from il2sim.cdisc.unit_text import convert_units, dose_unit_factor_to_miu_per_m2
from il2sim.errors import DataError

__all__ = ["REQUIRED", "AdamOptions", "build_adam"]

#: Variables each SDTM dataset needs for the derivation.
REQUIRED: dict[str, tuple[str, ...]] = {
    "DM": ("USUBJID",),
    "EX": ("USUBJID", "EXDOSE", "EXDOSU"),
    "CP": ("USUBJID", "CPTESTCD", "CPSTRESN", "CPSTRESU", "CPDY"),
    "AE": ("USUBJID", "AETOXGR"),
    "PC": ("USUBJID", "PCSTRESN", "PCSTRESU", "PCDY"),
    "IS": ("USUBJID", "ISSTRESC"),
}
LEGACY_DLT_COLUMNS: tuple[str, ...] = ("AEDLT", "DLT", "AEDLTFL", "DLTFL")


@dataclass(frozen=True)
class AdamOptions:
    """Derivation options: the DLT window (days; DLTEVLFL) and the study's CP test codes,
    ``{"NKCELLS": "CD56NK"}`` (il2sim's code -> the study's)."""

    dlt_window_day: int = 28
    test_codes: Mapping[str, str] = field(default_factory=dict)


def _check(tables: Mapping[str, pd.DataFrame]) -> None:
    for name, cols in REQUIRED.items():
        df = tables.get(name)
        if df is None:
            continue
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DataError(
                f"missing required variable {missing[0]} (has: {', '.join(df.columns)})", field=name
            )
        for i, v in enumerate(df["USUBJID"].tolist()):
            if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "":
                raise DataError(f"row {i + 1}, column USUBJID: value is missing", field=name)
    ae = tables.get("AE")
    if ae is not None and "AETERM" not in ae.columns and "AEDECOD" not in ae.columns:
        raise DataError("missing required variable AETERM or AEDECOD", field="AE")
    dm = tables["DM"]
    ids = dm["USUBJID"].astype(str)
    dup = ids.duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((ids == ids.iat[i]).to_numpy())[0])
        raise DataError(
            f"row {i + 1}, column USUBJID: duplicate subject {ids.iat[i]!r} (first at row {first + 1})",
            field="DM", value=ids.iat[i],
        )  # fmt: skip
    known = set(ids)
    for name, other in tables.items():
        if name == "DM" or "USUBJID" not in other.columns:
            continue
        unknown = ~other["USUBJID"].astype(str).isin(known)
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            raise DataError(
                f"row {i + 1}, column USUBJID: subject {other['USUBJID'].iat[i]!r} is not in DM",
                field=name, value=other["USUBJID"].iat[i],
            )  # fmt: skip


_ARMCD_LEVEL = re.compile(r"^(?:L|LEVEL|DL)?\s*(\d+)$", re.I | re.ASCII)


def _levels_from_armcd(treated: pd.DataFrame) -> pd.Series | None:
    if "ARMCD" not in treated.columns or treated.empty:
        return None
    levels = []
    for v in treated["ARMCD"].tolist():
        m = _ARMCD_LEVEL.match(str(v).strip())
        if m is None:
            return None
        levels.append(int(m.group(1)))
    lv = pd.Series(levels, index=treated.index, dtype=float)
    pairs = pd.DataFrame({"level": lv, "dose": treated["dose"]}).drop_duplicates()
    if pairs["level"].duplicated().any() or pairs["dose"].duplicated().any():
        return None
    pairs = pairs.sort_values("level")
    if (pairs["level"] < 1).any() or not pairs["dose"].is_monotonic_increasing:
        return None
    return lv


def _levels(dm: pd.DataFrame, ex: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """dm with ``dose`` (first EX dose, MIU/m2) and ``level`` (from 1; NaN untreated)."""
    order = ex.sort_values("EXSTDY", kind="stable") if "EXSTDY" in ex.columns else ex
    first = order.groupby("USUBJID", sort=False)["dose"].first()
    dm = dm.copy()
    dm["dose"] = dm["USUBJID"].map(first).astype(float)
    untreated = dm["dose"].isna()
    if untreated.any():
        notes.append(
            f"{int(untreated.sum())} subject(s) in DM have no EX record and are left out: "
            + ", ".join(dm.loc[untreated, "USUBJID"].astype(str).tolist()[:5])
        )
    treated = dm[~untreated]
    from_arm = _levels_from_armcd(treated)
    if from_arm is not None:
        dm["level"] = from_arm.reindex(dm.index)
    else:
        doses = sorted(treated["dose"].unique())
        dm["level"] = dm["dose"].map({d: k for k, d in enumerate(doses, start=1)})
    return dm


def _dlt_flags(tables: Mapping[str, pd.DataFrame], notes: list[str]) -> pd.Series | None:
    """Per AE record: True/False DLT, or None when the data carry no DLT flag."""
    ae = tables.get("AE")
    if ae is None:
        return None
    supp = tables.get("SUPPAE")
    if supp is not None and {"QNAM", "QVAL", "IDVARVAL", "USUBJID"} <= set(supp.columns):
        s = supp[supp["QNAM"].astype(str).str.upper() == "AEDLT"]
        if len(s):
            keys_s = zip(s["USUBJID"].astype(str), s["IDVARVAL"].astype(str), strict=True)
            vals = parse_flag(s.reset_index(drop=True), "SUPPAE", "QVAL")
            flag = dict(zip(keys_s, vals, strict=True))
            seq = ae["AESEQ"] if "AESEQ" in ae.columns else pd.Series(range(1, len(ae) + 1))
            keys = zip(ae["USUBJID"].astype(str), (str(int(x)) for x in seq), strict=True)
            return pd.Series([bool(flag.get(k, False)) for k in keys], index=ae.index)
    col = next((c for c in LEGACY_DLT_COLUMNS if c in ae.columns), None)
    if col is None:
        notes.append("AE has no DLT flag (SUPPAE AEDLT): DLTs are not counted")
        return None
    return pd.Series(parse_flag(ae, "AE", col), index=ae.index)


def build_adam(
    sdtm: Mapping[str, pd.DataFrame], options: AdamOptions | None = None
) -> tuple[dict[str, pd.DataFrame], tuple[str, ...]]:
    """The ADaM datasets of ``sdtm`` (conformant to :data:`.adam_spec.ADAM`) and the notes of
    the derivation (what was left out or not available)."""
    opts = options or AdamOptions()
    for name in ("DM", "EX"):
        if name not in sdtm:
            raise DataError(f"missing required domain {name}", field=name)
    tables = {k: v.copy() for k, v in sdtm.items()}
    for df in tables.values():
        if "USUBJID" in df.columns:
            df["USUBJID"] = df["USUBJID"].astype(str)
    _check(tables)
    notes: list[str] = []
    ex = tables["EX"]
    ex["EXDOSE"] = parse_float(ex, "EX", "EXDOSE", allow_missing=False)
    for c in ("EXSTDY", "EXENDY"):
        if c in ex.columns:
            ex[c] = parse_float(ex, "EX", c)
    ex["dose"] = convert_units(ex, "EX", "EXDOSE", "EXDOSU", dose_unit_factor_to_miu_per_m2,
                               "a dose per m2, e.g. MIU/m2")  # fmt: skip
    bad = ~(ex["dose"] >= 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"row {i + 1}, column EXDOSE: dose must be >= 0, got {ex['EXDOSE'].iat[i]!r}",
                        field="EX")  # fmt: skip
    dm = _levels(tables["DM"], ex, notes)
    dlt = _dlt_flags(tables, notes)
    info = subject_info(dm, ex, tables, dlt, opts.dlt_window_day)
    out: dict[str, pd.DataFrame] = {"ADSL": info}
    out["ADAE"] = _adae(tables.get("AE"), dlt, info)
    out["ADEX"] = adex(ex, info)
    out["ADCP"] = adcp(tables.get("CP"), info, opts.test_codes)
    out["ADPC"] = adpc(tables.get("PC"), info)
    out["ADIS"] = adis(tables.get("IS"), info)
    rs = adrs(tables.get("RS"), info)
    if rs is not None:  # ADRS only where RS holds efficacy responses
        out["ADRS"] = rs
    pk = out["ADPC"].groupby("USUBJID")["AVAL"].apply(lambda s: bool(s.notna().any()))
    out["ADSL"]["PKFL"] = ["Y" if pk.get(s, False) else "N" for s in out["ADSL"]["USUBJID"]]
    frames = {k: conform(v, ADAM[k]) for k, v in out.items()}
    if "DECISION" in sdtm:
        frames["DECISION"] = sdtm["DECISION"]
    return frames, tuple(notes)


def _adae(ae: pd.DataFrame | None, dlt: pd.Series | None, info: pd.DataFrame) -> pd.DataFrame:
    if ae is None:
        return pd.DataFrame(columns=list(ADAM["ADAE"].names))
    ae = ae.reset_index(drop=True)
    grade = parse_float(ae, "AE", "AETOXGR", allow_missing=False)
    bad = ~np.isin(grade, [1.0, 2.0, 3.0, 4.0, 5.0])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"row {i + 1}, column AETOXGR: grade must be 1-5, got {ae['AETOXGR'].iat[i]!r}",
                        field="AE")  # fmt: skip
    term = ae["AEDECOD"].astype(str) if "AEDECOD" in ae.columns else ae["AETERM"].astype(str)
    if "AETERM" in ae.columns and "AEDECOD" in ae.columns:
        empty = term.str.strip() == ""
        term = term.where(~empty, ae["AETERM"].astype(str))
    trt = info.set_index("USUBJID")
    sty = parse_float(ae, "AE", "AESTDY") if "AESTDY" in ae.columns else np.full(len(ae), np.nan)
    out = pd.DataFrame({
        "STUDYID": ae["USUBJID"].map(trt["STUDYID"]), "USUBJID": ae["USUBJID"],
        "TRTP": ae["USUBJID"].map(trt["TRT01P"]), "TRTPN": ae["USUBJID"].map(trt["TRT01PN"]),
        "TRTA": ae["USUBJID"].map(trt["TRT01A"]), "TRTAN": ae["USUBJID"].map(trt["TRT01AN"]),
        "AESEQ": ae["AESEQ"] if "AESEQ" in ae.columns else np.arange(1, len(ae) + 1),
        "AETERM": ae.get("AETERM", term), "AEDECOD": term, "AEBODSYS": ae.get("AEBODSYS", ""),
        "ATOXGR": [str(int(g)) for g in grade], "ATOXGRN": grade.astype(int),
        "AESER": ae.get("AESER", ""),
        "ASTDT": dates_of(ae, "AESTDTC"), "AENDT": dates_of(ae, "AEENDTC"), "ASTDY": sty,
        "AENDY": parse_float(ae, "AE", "AEENDY") if "AEENDY" in ae.columns else np.nan,
        "TRTEMFL": ["Y" if not (d < 1) else "" for d in sty],
        "DLTFL": "" if dlt is None else np.where(dlt.to_numpy(dtype=bool), "Y", "N"),
        "SAFFL": ae["USUBJID"].map(trt["SAFFL"]),
    })  # fmt: skip
    return out
