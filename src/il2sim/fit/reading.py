"""Read a trial's individual data for a fit: an SDTM folder or a NONMEM-style CSV, into one
NONMEM-shaped table (the single reading function, :func:`read_dataset`).

Output columns: ``ID`` (1..N), ``TIME`` (hours since the subject's first record), ``EVID`` (1
dose, 0 observation), ``AMT`` (IU), ``RATE`` (IU/h), ``CMT``, ``DVID`` (1 serum IL-2 pM, 2 NK
cells/ul, 3 CD56bright NK cells/ul), ``DV``, ``CENS`` (1 below the LLOQ), ``LLOQ`` (same unit as
DV), ``BSA`` (m2), ``WT`` (kg), ``AGE`` (years), ``SEX`` (1 M, 2 F), ``DOSE`` (nominal level).

* SDTM folder (as ``il2sim trial --out DIR`` writes it): via
  :func:`il2sim.io.nonmem.nonmem_from_sdtm`; the LLOQ of each PC record from ``PCLLOQ``.
* NONMEM CSV: required ``ID``, ``TIME``, ``DV``, ``AMT`` and ``EVID`` or ``MDV``; optional
  ``CMT`` (2 IL-2, 3 NK when ``DVID`` is absent), ``DVID``, ``BLQ`` or ``CENS`` (1 = below the
  LLOQ; with ``CENS`` and no ``LLOQ`` column, ``DV`` holds the LLOQ as in Monolix/nlmixr2),
  ``LLOQ``, ``RATE``, ``BSA``, ``WT``, ``AGE``, ``SEX``.  Rows with ``MDV`` = 1 that are neither
  doses nor censored are ignored.  ``TIME`` must not decrease within an ``ID``.

When the lead repoints this to ``il2sim.cdisc``, only this module changes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from il2sim.errors import DataError, InputError

__all__ = ["DVID_NAMES", "read_dataset"]

#: Observation types by DVID: (name, unit).
DVID_NAMES: dict[int, tuple[str, str]] = {1: ("il2", "pM"), 2: ("nk", "cells/ul"),
                                          3: ("bright", "cells/ul")}
_CMT_TO_DVID = {2: 1, 3: 2}


def _default_lloq_pm() -> float:
    from il2sim.trial.noise import IL2_LLOQ_PM

    return float(IL2_LLOQ_PM)


def _num(df: pd.DataFrame, col: str, required: bool = True) -> np.ndarray:
    raw = df[col]
    vals = pd.to_numeric(raw.replace({".": np.nan, "": np.nan}), errors="coerce").to_numpy(float)
    bad = np.isnan(vals) & raw.notna().to_numpy() & ~raw.astype(str).str.strip().isin(["", ".", "nan", "NaN"]).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"not a number in data row {i + 1}", field=col, value=raw.iloc[i])
    if required and np.isnan(vals).any():
        i = int(np.flatnonzero(np.isnan(vals))[0])
        raise DataError(f"missing value in data row {i + 1}", field=col, value="")
    return vals


def _from_sdtm(root: Path) -> pd.DataFrame:
    from il2sim.io.nonmem import nonmem_from_sdtm

    df = nonmem_from_sdtm(root)
    out = pd.DataFrame({c: df[c] for c in ("ID", "TIME", "EVID", "AMT", "RATE", "CMT", "DVID",
                                           "DV", "BSA", "WT", "AGE", "SEX", "DOSE")})
    out["CENS"] = df["BLQ"].astype(int)
    keep = (df["EVID"] == 1) | (df["MDV"] == 0) | (df["BLQ"] == 1)
    out["LLOQ"] = np.nan
    lloq = _default_lloq_pm()
    pc_file = next((p for p in root.iterdir() if p.name.lower() in ("pc.parquet", "pc.csv")), None)
    if pc_file is not None:
        pc = pd.read_parquet(pc_file) if pc_file.suffix == ".parquet" else pd.read_csv(pc_file)
        if "PCLLOQ" in pc.columns:
            vals = pd.to_numeric(pc["PCLLOQ"], errors="coerce").dropna().unique()
            if vals.size == 1:
                lloq = float(vals[0])
            elif vals.size > 1:
                raise DataError(f"{vals.size} different LLOQs in PC; one per study expected",
                                field="PCLLOQ", value=float(vals[1]))
    out.loc[out["DVID"] == 1, "LLOQ"] = lloq
    return out.loc[keep.to_numpy()].reset_index(drop=True)


def _from_csv(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    except Exception as exc:
        raise DataError(f"cannot read {path.name}: {exc}", field="data", value=str(path)) from None
    raw.columns = [str(c).strip().upper().lstrip("#") for c in raw.columns]
    for col in ("ID", "TIME", "DV", "AMT"):
        if col not in raw.columns:
            raise DataError(f"missing column {col} in {path.name}", field=col, value=path.name)
    if "EVID" not in raw.columns and "MDV" not in raw.columns:
        raise DataError(f"missing column EVID or MDV in {path.name}", field="EVID", value=path.name)
    if len(raw) == 0:
        raise DataError("no observations, got 0", field="observations", value=0)
    ids = raw["ID"].astype(str).str.strip()
    if (ids == "").any():
        raise DataError(f"missing value in data row {int(np.flatnonzero(ids == '')[0]) + 1}",
                        field="ID", value="")
    time = _num(raw, "TIME")
    amt = np.nan_to_num(_num(raw, "AMT", required=False))
    dv = _num(raw, "DV", required=False)
    evid = _num(raw, "EVID") if "EVID" in raw.columns else np.where(amt > 0, 1.0, 0.0)
    mdv = np.nan_to_num(_num(raw, "MDV", required=False)) if "MDV" in raw.columns else np.zeros(len(raw))
    cens = np.zeros(len(raw))
    for c in ("BLQ", "CENS"):
        if c in raw.columns:
            cens = np.maximum(cens, np.nan_to_num(_num(raw, c, required=False)))
    if "DVID" in raw.columns:
        dvid = np.nan_to_num(_num(raw, "DVID", required=False)).astype(int)
    elif "CMT" in raw.columns:
        cmt = np.nan_to_num(_num(raw, "CMT", required=False)).astype(int)
        dvid = np.array([_CMT_TO_DVID.get(int(c), 0) for c in cmt])
    else:
        dvid = np.ones(len(raw), dtype=int)
    lloq = _num(raw, "LLOQ", required=False) if "LLOQ" in raw.columns else np.full(len(raw), np.nan)
    if "CENS" in raw.columns and "LLOQ" not in raw.columns:
        lloq = np.where(cens > 0, dv, lloq)
    lloq = np.where((cens > 0) & np.isnan(lloq) & (dvid == 1), _default_lloq_pm(), lloq)
    out = pd.DataFrame({"ID": ids, "TIME": time, "EVID": evid.astype(int), "AMT": amt,
                        "DV": dv, "DVID": dvid, "CENS": (cens > 0).astype(int), "LLOQ": lloq})
    out["RATE"] = np.nan_to_num(_num(raw, "RATE", required=False)) if "RATE" in raw.columns else 0.0
    out["CMT"] = np.nan_to_num(_num(raw, "CMT", required=False)).astype(int) if "CMT" in raw.columns else 1
    for c, default in (("BSA", 1.8), ("WT", 70.0), ("AGE", 55.0), ("SEX", 1.0), ("DOSE", np.nan)):
        out[c] = _num(raw, c, required=False) if c in raw.columns else default
    for i in np.flatnonzero((out["EVID"] == 0).to_numpy() & ~np.isin(out["DVID"], list(DVID_NAMES))):
        if mdv[i] == 0 or cens[i] > 0:
            raise DataError(f"unknown observation type in data row {int(i) + 1} (DVID 1 IL-2, "
                            "2 NK, 3 CD56bright)", field="DVID", value=int(out["DVID"][i]))
    keep = (out["EVID"] == 1) | ((out["EVID"] == 0) & ((mdv == 0) | (out["CENS"] == 1)))
    keep &= ~((out["EVID"] == 0) & (out["CENS"] == 0) & out["DV"].isna())
    for i in np.flatnonzero(((out["EVID"] == 1) & (out["AMT"] < 0)).to_numpy()):
        raise DataError(f"negative dose in data row {int(i) + 1}", field="AMT", value=float(out["AMT"][i]))
    # TIME must not decrease within an ID (in file order)
    for sid, grp in out.groupby("ID", sort=False):
        t = grp["TIME"].to_numpy()
        dec = np.flatnonzero(np.diff(t) < 0)
        if dec.size:
            row = int(grp.index[dec[0] + 1]) + 1
            raise DataError(f"TIME decreases within ID {sid} (data row {row}: {t[dec[0]]:g} then "
                            f"{t[dec[0] + 1]:g})", field="TIME", value=float(t[dec[0] + 1]))
    return out.loc[keep.to_numpy()].reset_index(drop=True)


def read_dataset(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The fit input table (see the module docstring) from an SDTM folder or a NONMEM CSV."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"no such file or folder: {str(p)!r}", field="data", value=str(p))
    df = _from_sdtm(p) if p.is_dir() else _from_csv(p)
    obs = df["EVID"] == 0
    if not obs.any():
        raise DataError("no observations (EVID 0 rows), got 0", field="observations", value=0)
    if (df.loc[obs, "CENS"] == 1).all():
        raise DataError(f"all {int(obs.sum())} observations are below the LLOQ",
                        field="observations", value="all BLQ")
    return df
