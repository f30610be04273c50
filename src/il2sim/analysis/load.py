"""Load and validate a folder of SDTM-named tables (DM, EX, CP required; AE, PC, IS optional).

Liberal in what it accepts: file names in any case (``dm.csv``, ``DM.xpt``, ``Dm.parquet``),
CSV, Parquet or SAS XPT v5, variables in any case, extra variables ignored.  Strict in what it
returns: every value is parsed and every unit converted to the one il2sim uses inside
(doses in MIU/m2, cell counts in cells/ul, IL-2 in pM, time in study days).  Any problem raises
one :class:`~il2sim.errors.DataError` naming the table, the row (1-based data row, as a
spreadsheet shows it minus the header) and the column.

Optional extras in the same folder: ``decisions`` (CSV, Parquet or XPT: the design's decision
log written by ``il2sim trial``) and a replicate-summary JSON (``replicates.json``,
``oc.json`` or ``summary.json``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from il2sim import units
from il2sim.errors import DataError

#: Canonical test codes for the NK endpoints (CDISC CP): total CD3-CD56+ NK and CD56bright NK.
NK_TEST_CODES: tuple[str, ...] = ("NKCELLS", "NKBRIGHT")

SUFFIXES: tuple[str, ...] = (".parquet", ".csv", ".xpt")

REQUIRED: dict[str, tuple[str, ...]] = {
    "DM": ("USUBJID",),
    "EX": ("USUBJID", "EXDOSE", "EXDOSU"),
    "CP": ("USUBJID", "CPTESTCD", "CPSTRESN", "CPSTRESU", "CPDY"),
    "AE": ("USUBJID", "AETOXGR"),  # plus AETERM or AEDECOD (checked apart)
    "PC": ("USUBJID", "PCSTRESN", "PCSTRESU", "PCDY"),
    "IS": ("USUBJID", "ISSTRESC"),
}
OPTIONAL_DOMAINS: tuple[str, ...] = ("AE", "PC", "IS")

#: Numeric variables: name -> may the value be blank (missing)?
NUMERIC: dict[str, dict[str, bool]] = {
    "DM": {"AGE": True},
    "EX": {"EXDOSE": False, "EXSTDY": True, "EXENDY": True},
    "CP": {"CPSTRESN": True, "CPDY": False},
    "AE": {"AETOXGR": False, "AESTDY": True, "AEENDY": True},
    "PC": {"PCSTRESN": True, "PCDY": False, "PCLLOQ": True},
    "IS": {"ISDY": True},
}

_MISSING = {"", "NA", "NAN", "N/A", "."}


@dataclass(frozen=True)
class SdtmData:
    """A validated trial dataset, with units converted to il2sim's internal ones.

    ``ex['dose_miu_per_m2']``, ``cp['value_cells_per_ul']``, ``pc['conc_pm']`` carry the
    converted values; ``cp['test']`` is the canonical test code (NKCELLS/NKBRIGHT) or the
    original one.  ``dm['level']`` is the dose level (from 1) and ``dm['dose_miu_per_m2']`` the
    starting dose.  Absent optional domains are ``None`` and listed in ``notes``.
    """

    path: str
    dm: pd.DataFrame
    ex: pd.DataFrame
    cp: pd.DataFrame
    ae: pd.DataFrame | None = None
    pc: pd.DataFrame | None = None
    is_: pd.DataFrame | None = None
    decisions: pd.DataFrame | None = None
    replicates: dict[str, Any] | None = None
    dose_levels_miu_per_m2: tuple[float, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


# ------------------------------------------------------------------------------------------
# file discovery and reading
# ------------------------------------------------------------------------------------------


def find_domain_file(folder: Path, domain: str) -> Path | None:
    """The file holding ``domain`` in ``folder`` (case-insensitive; Parquet > CSV > XPT)."""
    by_name = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    for suffix in SUFFIXES:
        hit = by_name.get(domain.lower() + suffix)
        if hit is not None:
            return hit
    return None


def _read_table(path: Path, table: str) -> pd.DataFrame:
    """Read one table as strings-or-numbers with upper-case column names."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
        elif suffix == ".parquet":
            df = pd.read_parquet(path)
        else:
            import pyreadstat

            df, _meta = pyreadstat.read_xport(str(path))
    except Exception as exc:  # any reader failure is a data problem of this file
        raise DataError(f"cannot read {path.name}: {exc}", field=table) from None
    df.columns = [str(c).strip().upper() for c in df.columns]
    dupes = df.columns[df.columns.duplicated()].tolist()
    if dupes:
        raise DataError(f"column {dupes[0]} appears twice in {path.name}", field=table)
    # strings: strip, decode bytes (XPT)
    for col in df.columns:
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
            df[col] = [
                _clean_str(v.decode("latin-1") if isinstance(v, bytes) else v) for v in df[col]
            ]
    return df.reset_index(drop=True)


def _clean_str(v: Any) -> Any:
    if isinstance(v, str):
        return v.strip()
    return v


def _row_label(i: int) -> str:
    return f"row {i + 1}"


def _parse_numeric(df: pd.DataFrame, table: str, col: str, allow_missing: bool) -> pd.Series:
    """Parse ``df[col]`` to float; raise DataError naming table, row and column otherwise."""
    out = np.empty(len(df), dtype=float)
    for i, v in enumerate(df[col].tolist()):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            x = math.nan
        elif isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
            x = float(v)
        else:
            s = str(v).strip()
            if s.upper() in _MISSING:
                x = math.nan
            else:
                try:
                    x = float(s)
                except ValueError:
                    raise DataError(
                        f"{_row_label(i)}, column {col}: cannot parse {s!r} as a number",
                        field=table,
                        value=s,
                    ) from None
        if math.isnan(x) and not allow_missing:
            raise DataError(f"{_row_label(i)}, column {col}: value is missing", field=table)
        if math.isinf(x):
            raise DataError(f"{_row_label(i)}, column {col}: value is infinite", field=table)
        out[i] = x
    return pd.Series(out, index=df.index, name=col)


def _require_columns(df: pd.DataFrame, table: str, cols: tuple[str, ...], fname: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(
            f"missing required variable {missing[0]} in {fname} (has: {', '.join(df.columns)})",
            field=table,
        )


def _require_subject_ids(df: pd.DataFrame, table: str) -> None:
    for i, v in enumerate(df["USUBJID"].tolist()):
        if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "":
            raise DataError(f"{_row_label(i)}, column USUBJID: value is missing", field=table)
    df["USUBJID"] = df["USUBJID"].astype(str)


# ------------------------------------------------------------------------------------------
# units (factors computed through il2sim.units)
# ------------------------------------------------------------------------------------------

_DOSE_UNIT_RE = re.compile(
    r"^\s*(?:10\^6\s*)?([a-zµ]+)\s*/\s*m(?:2|\^2|²)\s*(?:/\s*d(?:ay)?)?\s*$", re.I
)


def dose_unit_factor_to_miu_per_m2(unit: str) -> float | None:
    """Factor turning a dose in ``unit`` (e.g. ``MIU/m2``, ``IU/m2/day``, ``ug/m2``) into MIU/m2.

    ``mIU`` in the seed paper means million IU, so ``MIU``/``mIU`` are both read as 1e6 IU.
    Returns ``None`` for an unknown unit.
    """
    text = unit.strip()
    if text.lower().startswith("10^6"):
        text = "MIU" + text[4:].lstrip().lstrip("IU").lstrip("iu")
    m = _DOSE_UNIT_RE.match(text)
    if m is None:
        return None
    amount = m.group(1).upper()
    try:
        iu = units.amount_to_iu(1.0, amount)
    except Exception:
        return None
    return float(units.iu_to_miu(iu))


def count_unit_factor_to_cells_per_ul(unit: str) -> float | None:
    """Factor turning a cell count in ``unit`` into cells/ul (``None`` if unknown).

    Accepts cells/uL (also µL, mm3, ``/uL``), ``10^6/L`` (= cells/ul) and ``10^9/L``.
    """
    u = unit.strip().lower().replace("µ", "u").replace(" ", "")
    u = u.removeprefix("cells")
    if u in ("/ul", "/mm3", "/mm^3", "per_ul"):
        return 1.0
    per_l = {"10^6/l": 1.0e6, "10^9/l": 1.0e9, "/l": 1.0}
    if u in per_l:
        return per_l[u] / float(units.per_ul_to_per_l(1.0))
    return None


def conc_unit_factor_to_pm(unit: str) -> float | None:
    """Factor turning an IL-2 concentration in ``unit`` (pM, IU/mL, U/mL, ng/mL, pg/mL) into pM."""
    u = unit.strip().lower().replace(" ", "")
    if u in ("pm", "pmol/l"):
        return 1.0
    if u in ("nm", "nmol/l"):
        return 1000.0
    if u in ("iu/ml", "u/ml"):
        return float(units.iu_per_ml_to_pm(1.0))
    if u == "ng/ml":
        return float(units.ng_per_ml_to_pm(1.0))
    if u == "pg/ml":
        return float(units.ng_per_ml_to_pm(1.0e-3))
    return None


def _convert_units(
    df: pd.DataFrame, table: str, value_col: str, unit_col: str, factor_of: Any, expected: str
) -> pd.Series:
    factors = np.empty(len(df), dtype=float)
    cache: dict[str, float | None] = {}
    for i, u in enumerate(df[unit_col].tolist()):
        key = "" if u is None or (isinstance(u, float) and math.isnan(u)) else str(u)
        if key not in cache:
            cache[key] = factor_of(key) if key else None
        f = cache[key]
        if f is None:
            if not key and math.isnan(float(df[value_col].to_numpy(dtype=float)[i])):
                factors[i] = math.nan  # no value, no unit: fine
                continue
            raise DataError(
                f"{_row_label(i)}, column {unit_col}: unknown unit {key!r} (expected {expected})",
                field=table,
                value=key,
            )
        factors[i] = f
    return df[value_col] * factors


# ------------------------------------------------------------------------------------------
# the loader
# ------------------------------------------------------------------------------------------


def load_sdtm(path: str | Path, test_codes: Mapping[str, str] | None = None) -> SdtmData:
    """Load and validate the SDTM folder ``path``.

    ``test_codes`` maps il2sim's canonical CP codes to the study's, e.g.
    ``{"NKCELLS": "CD56NK", "NKBRIGHT": "CD56BR"}``.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"not a folder: {str(folder)!r}", field="path", value=str(folder))
    codes = _check_test_codes(test_codes)
    notes: list[str] = []

    tables: dict[str, pd.DataFrame | None] = {}
    for domain in ("DM", "EX", "CP", *OPTIONAL_DOMAINS):
        f = find_domain_file(folder, domain)
        if f is None:
            if domain in OPTIONAL_DOMAINS:
                notes.append(f"{domain} absent: its part of the analysis is skipped")
                tables[domain] = None
                continue
            raise DataError(
                f"missing required domain {domain} (no {domain.lower()}.csv, "
                f"{domain.lower()}.parquet or {domain.lower()}.xpt in {folder})",
                field=domain,
            )
        df = _read_table(f, domain)
        _require_columns(df, domain, REQUIRED[domain], f.name)
        if domain == "AE" and "AETERM" not in df.columns and "AEDECOD" not in df.columns:
            raise DataError(f"missing required variable AETERM or AEDECOD in {f.name}", field="AE")
        _require_subject_ids(df, domain)
        for col, allow_missing in NUMERIC[domain].items():
            if col in df.columns:
                df[col] = _parse_numeric(df, domain, col, allow_missing)
        tables[domain] = df

    dm = tables["DM"]
    ex = tables["EX"]
    cp = tables["CP"]
    assert dm is not None and ex is not None and cp is not None

    # DM: one row per subject
    dup = dm["USUBJID"].duplicated(keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        first = int(np.flatnonzero((dm["USUBJID"] == dm["USUBJID"].iat[i]).to_numpy())[0])
        raise DataError(
            f"{_row_label(i)}, column USUBJID: duplicate subject {dm['USUBJID'].iat[i]!r} "
            f"(first at {_row_label(first)})",
            field="DM",
            value=dm["USUBJID"].iat[i],
        )
    known = set(dm["USUBJID"])
    for name, other in tables.items():
        if other is None or name == "DM":
            continue
        unknown = ~other["USUBJID"].isin(known)
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            raise DataError(
                f"{_row_label(i)}, column USUBJID: subject {other['USUBJID'].iat[i]!r} is not in DM",
                field=name,
                value=other["USUBJID"].iat[i],
            )

    # EX: doses in MIU/m2
    ex["dose_miu_per_m2"] = _convert_units(
        ex, "EX", "EXDOSE", "EXDOSU", dose_unit_factor_to_miu_per_m2, "a dose per m2, e.g. MIU/m2"
    )
    bad = ~(ex["dose_miu_per_m2"] >= 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{_row_label(i)}, column EXDOSE: dose must be >= 0, got {ex['EXDOSE'].iat[i]!r}",
            field="EX",
        )
    dm = _assign_levels(dm, ex, notes)
    levels = tuple(float(x) for x in sorted(dm["dose_miu_per_m2"].dropna().unique()))

    # CP: counts in cells/ul, canonical test codes
    cp["value_cells_per_ul"] = _convert_units(
        cp, "CP", "CPSTRESN", "CPSTRESU", count_unit_factor_to_cells_per_ul, "cells/uL"
    )
    reverse = {study.upper(): canon for canon, study in codes.items()}
    cp["test"] = [reverse.get(str(c).upper(), str(c).upper()) for c in cp["CPTESTCD"]]
    present = set(cp["test"])
    if NK_TEST_CODES[0] not in present:
        raise DataError(
            f"no rows with CPTESTCD {codes[NK_TEST_CODES[0]]!r} (total NK cells); found "
            f"{sorted(set(cp['CPTESTCD']))} - map yours with --test-codes NKCELLS=CODE",
            field="CP",
        )
    if NK_TEST_CODES[1] not in present:
        notes.append(f"CP has no CPTESTCD {codes[NK_TEST_CODES[1]]!r} (CD56bright NK): skipped")

    ae = tables["AE"]
    if ae is not None:
        ae = ae.copy()
        ae["term"] = ae["AEDECOD"] if "AEDECOD" in ae.columns else ae["AETERM"]
        if "AETERM" in ae.columns and "AEDECOD" in ae.columns:
            empty = ae["term"].astype(str).str.strip() == ""
            ae.loc[empty, "term"] = ae.loc[empty, "AETERM"]
        bad = ~ae["AETOXGR"].isin([1.0, 2.0, 3.0, 4.0, 5.0])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{_row_label(i)}, column AETOXGR: grade must be 1-5, got {ae['AETOXGR'].iat[i]!r}",
                field="AE",
            )
        dlt_col = next((c for c in ("AEDLT", "DLT", "AEDLTFL", "DLTFL") if c in ae.columns), None)
        if dlt_col is None:
            notes.append("AE has no DLT flag (AEDLT): DLTs are not counted")
            ae["dlt"] = np.nan
        else:
            ae["dlt"] = _parse_flag(ae, "AE", dlt_col)

    pc = tables["PC"]
    if pc is not None:
        pc = pc.copy()
        if "PCTESTCD" in pc.columns:
            pc = pc[pc["PCTESTCD"].astype(str).str.upper().isin(["IL2", "IL-2", "IL02"])]
            pc = pc.reset_index(drop=True)
        pc["conc_pm"] = _convert_units(
            pc, "PC", "PCSTRESN", "PCSTRESU", conc_unit_factor_to_pm, "pM, IU/mL, ng/mL or pg/mL"
        )
        blq_col = next((c for c in ("PCBLQFL", "BLQ", "PCBLQ", "BLQFL") if c in pc.columns), None)
        pc["blq"] = _parse_flag(pc, "PC", blq_col) if blq_col else pc["conc_pm"].isna()
        if "PCLLOQ" in pc.columns:
            pc["lloq_pm"] = _convert_units(
                pc, "PC", "PCLLOQ", "PCSTRESU", conc_unit_factor_to_pm, "pM, IU/mL, ng/mL"
            )
        else:
            pc["lloq_pm"] = np.nan

    is_ = tables["IS"]
    if is_ is not None:
        is_ = is_.copy()
        res = is_["ISSTRESC"].astype(str).str.upper()
        ok = res.isin(["POSITIVE", "NEGATIVE", "POS", "NEG", ""])
        if not ok.all():
            i = int(np.flatnonzero((~ok).to_numpy())[0])
            raise DataError(
                f"{_row_label(i)}, column ISSTRESC: expected POSITIVE or NEGATIVE, "
                f"got {is_['ISSTRESC'].iat[i]!r}",
                field="IS",
            )
        is_["positive"] = res.str.startswith("POS")
        is_ = is_[res != ""].reset_index(drop=True)

    decisions_file = find_domain_file(folder, "decisions")
    decisions = _read_table(decisions_file, "decisions") if decisions_file else None
    replicates = None
    for p in folder.iterdir():
        if p.is_file() and p.name.lower() in ("replicates.json", "oc.json", "summary.json"):
            try:
                loaded = json.loads(p.read_text())
            except (OSError, ValueError) as exc:
                raise DataError(f"cannot read {p.name}: {exc}", field="replicates") from None
            if isinstance(loaded, dict):
                replicates = loaded

    return SdtmData(
        path=str(folder),
        dm=dm,
        ex=ex,
        cp=cp,
        ae=ae,
        pc=pc,
        is_=is_,
        decisions=decisions,
        replicates=replicates,
        dose_levels_miu_per_m2=levels,
        notes=tuple(notes),
    )


def _check_test_codes(test_codes: Mapping[str, str] | None) -> dict[str, str]:
    codes = {c: c for c in NK_TEST_CODES}
    for key, val in (test_codes or {}).items():
        k = key.strip().upper()
        if k not in NK_TEST_CODES:
            raise DataError(
                f"unknown endpoint {key!r} (expected NKCELLS or NKBRIGHT)", field="test_codes"
            )
        if not str(val).strip():
            raise DataError(f"empty test code for {k}", field="test_codes")
        codes[k] = str(val).strip().upper()
    return codes


def _parse_flag(df: pd.DataFrame, table: str, col: str) -> pd.Series:
    """Y/N (also 1/0, TRUE/FALSE) -> bool; blank -> False; anything else a DataError."""
    out = np.zeros(len(df), dtype=bool)
    for i, v in enumerate(df[col].tolist()):
        s = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip().upper()
        if s in ("Y", "YES", "1", "1.0", "TRUE", "T"):
            out[i] = True
        elif s in ("N", "NO", "0", "0.0", "FALSE", "F", ""):
            out[i] = False
        else:
            raise DataError(
                f"{_row_label(i)}, column {col}: expected Y or N, got {s!r}", field=table
            )
    return pd.Series(out, index=df.index)


_ARMCD_LEVEL = re.compile(r"^(?:L|LEVEL|DL)?\s*(\d+)$", re.I)


def _levels_from_armcd(treated: pd.DataFrame) -> pd.Series | None:
    """Dose levels from ARMCD when they map one-to-one and in order onto the doses."""
    if "ARMCD" not in treated.columns or treated.empty:
        return None
    levels = []
    for v in treated["ARMCD"].tolist():
        m = _ARMCD_LEVEL.match(str(v).strip())
        if m is None:
            return None
        levels.append(int(m.group(1)))
    lv = pd.Series(levels, index=treated.index, dtype=float)
    pairs = pd.DataFrame({"level": lv, "dose": treated["dose_miu_per_m2"]}).drop_duplicates()
    if pairs["level"].duplicated().any() or pairs["dose"].duplicated().any():
        return None
    pairs = pairs.sort_values("level")
    if (pairs["level"] < 1).any() or not pairs["dose"].is_monotonic_increasing:
        return None
    return lv


def _assign_levels(dm: pd.DataFrame, ex: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Give each subject its assigned (first) dose and dose level numbered from 1.

    The assigned dose is the dose of the subject's first EX record (by EXSTDY when present):
    later records may be reduced doses (EXADJ) and do not change the level.  The level is the
    design's own number when DM ARMCD holds it for every treated subject (``L3`` or ``3``)
    consistently with the doses; otherwise the rank of the dose among the doses given.
    """
    order = ex.sort_values("EXSTDY", kind="stable") if "EXSTDY" in ex.columns else ex
    first = order.groupby("USUBJID", sort=False)["dose_miu_per_m2"].first()
    dm = dm.copy()
    dm["dose_miu_per_m2"] = dm["USUBJID"].map(first).astype(float)
    untreated = dm["dose_miu_per_m2"].isna()
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
        doses = sorted(treated["dose_miu_per_m2"].unique())
        level_of = {d: k for k, d in enumerate(doses, start=1)}
        dm["level"] = dm["dose_miu_per_m2"].map(level_of)
    dm["order"] = np.arange(1, len(dm) + 1)
    return dm
