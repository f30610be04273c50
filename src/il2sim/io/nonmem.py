"""NONMEM-style analysis datasets (one row per event), as pharmacometricians feed to NONMEM or
nlmixr2, from a simulation or from an SDTM trial folder.

Columns (in this order):

======  ============================================================================
ID      subject number, 1..N
TIME    hours since the subject's first dose (DESIGN.md: NONMEM tables are in hours)
AMT     dose amount, IU (flat, per subject: per-m2 doses multiplied by BSA); 0 on observations
RATE    infusion rate, IU/h (0 for bolus/depot doses and observations)
DV      observation: IL-2 in pM (DVID 1), total NK in cells/ul (DVID 2), CD56bright NK in
        cells/ul (DVID 3); 0 on dose records and on IL-2 below the LLOQ
MDV     1 on dose records and missing/BLQ observations, else 0
EVID    1 dose, 0 observation
CMT     1 depot (s.c./i.m. doses), 2 central (i.v. doses, IL-2 observations),
        3 NK observations (total and CD56bright)
DVID    observation type (above); 0 on dose records
BLQ     1 if the IL-2 observation is below the LLOQ (SDTM ``PCBLQFL`` = Y), else 0
BSA     body-surface area, m2 (Mosteller)
WT      weight, kg
AGE     age, years
SEX     1 male, 2 female
DOSE    the subject's nominal dose level, MIU/m2 (MIU for flat doses)
======  ============================================================================

Rows are sorted by ID, TIME, then observations before doses at the same time (a sample taken
at a dosing time is the pre-dose trough, as in il2sim's time courses and SDTM ``PRE-DOSE``).
Written as CSV with a header line: in NONMEM use ``$DATA data.csv IGNORE=@``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from il2sim import units
from il2sim._files import atomic_path
from il2sim.errors import DataError, InputError
from il2sim.regimen.events import Regimen, Route

__all__ = [
    "CMT_CENTRAL",
    "CMT_DEPOT",
    "CMT_NK",
    "COLUMNS",
    "DVID",
    "nonmem_from_sdtm",
    "nonmem_from_simulation",
    "write_nonmem",
]

COLUMNS: tuple[str, ...] = (
    "ID", "TIME", "AMT", "RATE", "DV", "MDV", "EVID", "CMT", "DVID", "BLQ",
    "BSA", "WT", "AGE", "SEX", "DOSE",
)  # fmt: skip
CMT_DEPOT, CMT_CENTRAL, CMT_NK = 1, 2, 3
#: Observation types: name -> (DVID, CMT, SimulationResult attribute).
DVID: dict[str, tuple[int, int, str]] = {
    "il2": (1, CMT_CENTRAL, "il2_pm"),
    "nk": (2, CMT_NK, "nk_per_ul"),
    "bright": (3, CMT_NK, "bright_per_ul"),
}
_SEX_CODE = {"M": 1, "F": 2}


def _sex_code(values: Sequence[Any] | npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        key = str(v).strip().upper()[:1]
        if key not in _SEX_CODE:
            raise DataError(f"expected M or F, got {v!r}", field="SEX", value=v)
        out[i] = _SEX_CODE[key]
    return out


def _finish(rows: pd.DataFrame) -> pd.DataFrame:
    """Order columns and rows, fix dtypes."""
    df = rows.loc[:, list(COLUMNS)].copy()
    for c in ("ID", "MDV", "EVID", "CMT", "DVID", "BLQ", "SEX"):
        df[c] = df[c].astype(np.int64)
    for c in ("TIME", "AMT", "RATE", "DV", "BSA", "WT", "AGE", "DOSE"):
        df[c] = df[c].astype(float)
    df = df.sort_values(["ID", "TIME", "EVID"], kind="stable").reset_index(drop=True)
    return df


def _nominal_dose(regimen: Regimen) -> float:
    """First event's amount in MIU/m2 (MIU for a flat dose)."""
    e = regimen.events[0]
    return float(units.iu_to_miu(units.amount_to_iu(e.amount, e.amount_unit)))


def nonmem_from_simulation(
    result: Any,
    population: Any,
    regimen: Regimen,
    observations: Sequence[str] = ("il2", "nk"),
    obs_times_day: npt.ArrayLike | None = None,
) -> pd.DataFrame:
    """Dataset of a simulated population: dose records from ``regimen`` (amounts resolved
    with each patient's BSA), observations from ``result`` (a :class:`SimulationResult` of
    ``population``) at ``obs_times_day`` (default: every output time of the result; given
    times must be among them).  Observations are model predictions (no assay noise)."""
    unknown = [o for o in observations if o not in DVID]
    if unknown:
        raise InputError(
            f"unknown observation {unknown[0]!r} (expected {', '.join(DVID)})",
            field="observations",
            value=unknown[0],
        )
    n = int(population.n)
    if result.il2_pm.shape[0] != n:
        raise InputError(
            f"result has {result.il2_pm.shape[0]} patients, population {n}", field="population"
        )
    t_all = np.asarray(result.t_day, dtype=float)
    if obs_times_day is None:
        idx = np.arange(t_all.size)
    else:
        want = np.atleast_1d(np.asarray(obs_times_day, dtype=float))
        idx = np.searchsorted(t_all, want - 1e-9)
        bad = (idx >= t_all.size) | (np.abs(t_all[np.minimum(idx, t_all.size - 1)] - want) > 1e-9)
        if bad.any():
            raise InputError(
                f"time {want[bad][0]:g} day is not an output time of the result",
                field="obs_times_day",
            )
    t0 = regimen.start_day
    cov = {
        "BSA": np.asarray(population.bsa_m2, dtype=float),
        "WT": np.asarray(population.weight_kg, dtype=float),
        "AGE": np.asarray(population.age_yr, dtype=float),
        "SEX": _sex_code(population.sex),
    }
    dose_level = _nominal_dose(regimen)
    amounts = regimen.amounts_iu(cov["BSA"])  # (P, E)
    frames: list[pd.DataFrame] = []
    ids = np.arange(1, n + 1)
    for j, e in enumerate(regimen.events):
        cmt = CMT_DEPOT if e.route.is_depot else CMT_CENTRAL
        rate = (
            amounts[:, j] / units.days_to_hours(e.duration_day)
            if e.route is Route.IV_INFUSION
            else np.zeros(n)
        )
        frames.append(
            pd.DataFrame(
                {
                    "ID": ids,
                    "TIME": units.days_to_hours(e.time_day - t0),
                    "AMT": amounts[:, j],
                    "RATE": rate,
                    "DV": 0.0,
                    "MDV": 1,
                    "EVID": 1,
                    "CMT": cmt,
                    "DVID": 0,
                    "BLQ": 0,
                    **cov,
                    "DOSE": dose_level,
                }
            )
        )
    t_obs = units.days_to_hours(t_all[idx] - t0)
    for name in observations:
        dvid, cmt, attr = DVID[name]
        dv = np.asarray(getattr(result, attr), dtype=float)[:, idx]  # (P, K)
        k = idx.size
        frames.append(
            pd.DataFrame(
                {
                    "ID": np.repeat(ids, k),
                    "TIME": np.tile(t_obs, n),
                    "AMT": 0.0,
                    "RATE": 0.0,
                    "DV": dv.ravel(),
                    "MDV": 0,
                    "EVID": 0,
                    "CMT": cmt,
                    "DVID": dvid,
                    "BLQ": 0,
                    **{c: np.repeat(v, k) for c, v in cov.items()},
                    "DOSE": dose_level,
                }
            )
        )
    return _finish(pd.concat(frames, ignore_index=True))


def _read_domain(folder: Path, name: str, required: bool = True) -> pd.DataFrame | None:
    for ext in ("parquet", "csv"):
        p = folder / f"{name}.{ext}"
        if p.is_file():
            try:
                return pd.read_parquet(p) if ext == "parquet" else pd.read_csv(p)
            except Exception as exc:
                raise DataError(f"cannot read {p.name}: {exc}", field=name.upper()) from None
    if required:
        raise DataError(
            f"missing domain {name}.parquet/.csv in {str(folder)!r}", field=name.upper()
        )
    return None


def _need(df: pd.DataFrame, cols: Sequence[str], domain: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(f"missing column {missing[0]}", field=domain, value=missing[0])


def _num(values: Any, field: str, required: bool = False) -> npt.NDArray[np.float64]:
    """Numeric column (non-numbers -> NaN; with ``required`` a NaN is a DataError)."""
    arr = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    if required and np.isnan(arr).any():
        raise DataError("missing or non-numeric value", field=field)
    return arr


def _id(id_of: dict[str, int], subject: str, domain: str) -> int:
    if subject not in id_of:
        raise DataError(f"subject {subject} not in DM", field=domain, value=subject)
    return id_of[subject]


def nonmem_from_sdtm(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """Dataset of an SDTM trial folder (DM, SUPPDM, EX, PC and optionally CP, as written by
    ``il2sim trial``).

    Doses: one record per study day of each EX period with EXDOSE > 0 (MIU/m2, multiplied by
    the subject's BSA; daily, at the start of the study day, s.c. -> depot).  Study day ``d``
    is ``TIME = 24 (d - 1)`` hours.  PC: ``TIME = 24 (PCDY - 1) + PCELTM``; below-LLOQ
    samples have MDV 1 and BLQ 1.  CP: ``NKCELLS`` (DVID 2) and ``NKBRIGHT`` (DVID 3).
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"no such folder: {str(root)!r}", field="sdtm", value=str(root))
    dm = _read_domain(root, "dm")
    supp = _read_domain(root, "suppdm")
    ex = _read_domain(root, "ex")
    pc = _read_domain(root, "pc", required=False)
    cp = _read_domain(root, "cp", required=False)
    assert dm is not None and supp is not None and ex is not None
    _need(dm, ("USUBJID", "AGE", "SEX"), "DM")
    _need(supp, ("USUBJID", "QNAM", "QVAL"), "SUPPDM")
    _need(ex, ("USUBJID", "EXDOSE", "EXDOSU", "EXSTDY", "EXENDY"), "EX")
    subjects = list(dict.fromkeys(dm["USUBJID"].astype(str)))
    id_of = {s: i + 1 for i, s in enumerate(subjects)}
    wide = supp.assign(QVAL=pd.to_numeric(supp["QVAL"], errors="coerce")).pivot_table(
        index="USUBJID", columns="QNAM", values="QVAL", aggfunc="first"
    )
    for q in ("BSA", "WEIGHT"):
        if q not in wide.columns:
            raise DataError(f"missing QNAM {q}", field="SUPPDM", value=q)
    dm1 = dm.drop_duplicates("USUBJID").set_index("USUBJID")
    dm1.index = dm1.index.astype(str)
    wide.index = wide.index.astype(str)
    cov = pd.DataFrame(
        {
            "USUBJID": subjects,
            "ID": [id_of[s] for s in subjects],
            "BSA": _num(wide.loc[subjects, "BSA"], "SUPPDM BSA"),
            "WT": _num(wide.loc[subjects, "WEIGHT"], "SUPPDM WEIGHT"),
            "AGE": _num(dm1.loc[subjects, "AGE"], "AGE"),
            "SEX": _sex_code(dm1.loc[subjects, "SEX"].tolist()),
        }
    )
    bad_unit = ex.loc[~ex["EXDOSU"].astype(str).str.upper().isin(["MIU/M2"]), "EXDOSU"]
    if len(bad_unit):
        raise DataError(f"expected MIU/m2, got {bad_unit.iloc[0]!r}", field="EXDOSU")
    # nominal dose level: the subject's first (unreduced) EX dose
    first_dose = ex.sort_values(["USUBJID", "EXSTDY"]).groupby("USUBJID")["EXDOSE"].first()
    first_dose.index = first_dose.index.astype(str)
    cov["DOSE"] = _num(first_dose.reindex(subjects), "EXDOSE")
    bsa_of = dict(zip(subjects, cov["BSA"].tolist(), strict=True))
    rows: list[dict[str, Any]] = []
    ex_subj = ex["USUBJID"].astype(str).tolist()
    for s in ex_subj:
        if s not in id_of:
            raise DataError(f"subject {s} not in DM", field="EX", value=s)
    for s, dose, d0, d1 in zip(
        ex_subj,
        _num(ex["EXDOSE"], "EXDOSE").tolist(),
        _num(ex["EXSTDY"], "EXSTDY", required=True).tolist(),
        _num(ex["EXENDY"], "EXENDY", required=True).tolist(),
        strict=True,
    ):
        if not np.isfinite(dose) or dose <= 0:
            continue
        amt_iu = float(units.miu_to_iu(dose)) * bsa_of[s]
        for day in range(int(d0), int(d1) + 1):
            rows.append(
                {"ID": id_of[s], "TIME": 24.0 * (day - 1), "AMT": amt_iu, "RATE": 0.0,
                 "DV": 0.0, "MDV": 1, "EVID": 1, "CMT": CMT_DEPOT, "DVID": 0, "BLQ": 0}
            )  # fmt: skip
    if pc is not None and len(pc):
        _need(pc, ("USUBJID", "PCSTRESN", "PCDY", "PCELTM"), "PC")
        blq = (
            pc["PCBLQFL"].astype(str).str.upper().eq("Y").tolist()
            if "PCBLQFL" in pc.columns
            else [False] * len(pc)
        )
        for s, val, day, eltm, is_blq in zip(
            pc["USUBJID"].astype(str).tolist(),
            _num(pc["PCSTRESN"], "PCSTRESN").tolist(),
            _num(pc["PCDY"], "PCDY", required=True).tolist(),
            _num(pc["PCELTM"], "PCELTM", required=True).tolist(),
            blq,
            strict=True,
        ):
            missing = bool(is_blq) or not np.isfinite(val)
            rows.append(
                {"ID": _id(id_of, s, "PC"), "TIME": 24.0 * (day - 1) + eltm, "AMT": 0.0,
                 "RATE": 0.0, "DV": 0.0 if missing else val, "MDV": int(missing), "EVID": 0,
                 "CMT": CMT_CENTRAL, "DVID": 1, "BLQ": int(bool(is_blq))}
            )  # fmt: skip
    if cp is not None and len(cp):
        _need(cp, ("USUBJID", "CPTESTCD", "CPSTRESN", "CPDY"), "CP")
        codes = {"NKCELLS": DVID["nk"][0], "NKBRIGHT": DVID["bright"][0]}
        for s, code, val, day in zip(
            cp["USUBJID"].astype(str).tolist(),
            cp["CPTESTCD"].astype(str).str.upper().tolist(),
            _num(cp["CPSTRESN"], "CPSTRESN").tolist(),
            _num(cp["CPDY"], "CPDY", required=True).tolist(),
            strict=True,
        ):
            if code not in codes:
                continue
            missing = not np.isfinite(val)
            rows.append(
                {"ID": _id(id_of, s, "CP"), "TIME": 24.0 * (day - 1), "AMT": 0.0, "RATE": 0.0,
                 "DV": 0.0 if missing else val, "MDV": int(missing), "EVID": 0, "CMT": CMT_NK,
                 "DVID": codes[code], "BLQ": 0}
            )  # fmt: skip
    if not rows:
        raise DataError("no dose or observation records", field="sdtm")
    df = pd.DataFrame(rows)
    by_id = cov.set_index("ID")
    for col in ("BSA", "WT", "AGE", "SEX", "DOSE"):
        df[col] = by_id.loc[df["ID"].to_numpy(), col].to_numpy()
    return _finish(df)


def write_nonmem(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` as CSV (a header line; full-precision numbers, no ``.``), atomically."""
    target = Path(path)
    with atomic_path(target, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n")
    return target
