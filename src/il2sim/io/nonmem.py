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


def _sdtm_folder(root: Path) -> Path:
    from il2sim.cdisc.read import find_file

    for cand in (root, root / "sdtm"):
        if cand.is_dir() and find_file(cand, "dm") is not None:
            return cand
    raise DataError(f"no SDTM datasets (dm.*) in {str(root)!r} or its sdtm/ folder", field="sdtm")


def _need(df: pd.DataFrame, cols: Sequence[str], domain: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(f"missing column {missing[0]}", field=domain, value=missing[0])


def _num(df: pd.DataFrame, col: str, domain: str, required: bool = False) -> npt.NDArray[np.float64]:
    """Numeric column through the one reader's parser: a value that is not a number is
    rejected with its row and column; with ``required`` a missing value is too."""
    from il2sim.cdisc.read import parse_float

    return parse_float(df.reset_index(drop=True), domain, col, allow_missing=not required)


def _hours(pc: pd.DataFrame) -> npt.NDArray[np.float64]:
    """PCELTM as hours: an ISO 8601 duration (``PT4H``) or a number of hours (required)."""
    from il2sim.cdisc.read import parse_hours

    return parse_hours(pc.reset_index(drop=True), "PC", "PCELTM", allow_missing=False)


def _id(id_of: dict[str, int], subject: str, domain: str) -> int:
    if subject not in id_of:
        raise DataError(f"subject {subject} not in DM", field=domain, value=subject)
    return id_of[subject]


def nonmem_from_sdtm(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """Dataset of an SDTM trial folder (DM, SUPPDM, EX, PC and optionally CP, as written by
    ``il2sim trial``; the folder itself or its ``sdtm/`` sub-folder).

    Read by the one reader (:func:`il2sim.cdisc.read.read_package`): file and variable names
    in any case, every value parsed to its type, a bad value rejected with its dataset, row
    and column (never turned into a missing value); values checked as for analysis
    (:mod:`il2sim.cdisc.checks`: every problem listed).  Doses: one record per study day of each
    EX period with EXDOSE > 0 (MIU/m2, multiplied by the subject's BSA; daily, at the start of
    the study day, s.c. -> depot).  Study day ``d`` is ``TIME = 24 (d - 1)`` hours.
    PC: ``TIME = 24 (PCDY - 1) + PCELTM`` (ISO 8601 duration, or hours); below-LLOQ samples
    (PCSTRESC ``<LLOQ``, or a PCBLQFL = Y column) have MDV 1 and BLQ 1.  CP: ``NKCELLS``
    (DVID 2) and ``NKBRIGHT`` (DVID 3).
    """
    from il2sim.cdisc.checks import check_values, raise_all
    from il2sim.cdisc.read import read_package
    from il2sim.cdisc.sdtm_spec import SDTM

    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"no such folder: {str(root)!r}", field="sdtm", value=str(root))
    pkg = read_package(_sdtm_folder(root), SDTM, names=("DM", "SUPPDM", "EX", "PC", "CP"))
    raise_all(check_values(pkg.tables), str(pkg.path))  # counts, concentrations, study days
    for name in ("DM", "SUPPDM", "EX"):
        if name not in pkg.tables:
            raise DataError(f"missing domain {name.lower()} in {str(pkg.path)!r}", field=name)
    dm, supp, ex = pkg.tables["DM"], pkg.tables["SUPPDM"], pkg.tables["EX"]
    pc, cp = pkg.tables.get("PC"), pkg.tables.get("CP")
    _need(dm, ("USUBJID", "AGE", "SEX"), "DM")
    _need(supp, ("USUBJID", "QNAM", "QVAL"), "SUPPDM")
    _need(ex, ("USUBJID", "EXDOSE", "EXDOSU", "EXSTDY", "EXENDY"), "EX")
    subjects = list(dict.fromkeys(dm["USUBJID"].astype(str)))
    id_of = {s: i + 1 for i, s in enumerate(subjects)}
    supp = supp.assign(QVAL=_num(supp, "QVAL", "SUPPDM"), USUBJID=supp["USUBJID"].astype(str))
    wide = supp.pivot_table(index="USUBJID", columns="QNAM", values="QVAL", aggfunc="first")
    for q in ("BSA", "WEIGHT"):
        if q not in wide.columns:
            raise DataError(f"missing QNAM {q}", field="SUPPDM", value=q)
    dm1 = dm.drop_duplicates("USUBJID").set_index(dm.drop_duplicates("USUBJID")["USUBJID"].astype(str))
    wide = wide.reindex(subjects)
    cov = pd.DataFrame(
        {
            "USUBJID": subjects,
            "ID": [id_of[s] for s in subjects],
            "BSA": wide["BSA"].to_numpy(dtype=float),
            "WT": wide["WEIGHT"].to_numpy(dtype=float),
            "AGE": dm1.loc[subjects, "AGE"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
            "SEX": _sex_code(dm1.loc[subjects, "SEX"].tolist()),
        }
    )
    bad_unit = ex.loc[~ex["EXDOSU"].astype(str).str.upper().isin(["MIU/M2"]), "EXDOSU"]
    if len(bad_unit):
        raise DataError(f"expected MIU/m2, got {bad_unit.iloc[0]!r}", field="EXDOSU")
    ex = ex.assign(
        USUBJID=ex["USUBJID"].astype(str),
        EXDOSE=_num(ex, "EXDOSE", "EX", required=True),
        EXSTDY=_num(ex, "EXSTDY", "EX", required=True),
        EXENDY=_num(ex, "EXENDY", "EX", required=True),
    )
    for s in ex["USUBJID"]:
        _id(id_of, s, "EX")
    # nominal dose level: the subject's first (unreduced) EX dose
    first_dose = ex.sort_values(["USUBJID", "EXSTDY"]).groupby("USUBJID")["EXDOSE"].first()
    cov["DOSE"] = first_dose.reindex(subjects).to_numpy(dtype=float)
    bsa_of = dict(zip(subjects, cov["BSA"].tolist(), strict=True))
    rows: list[dict[str, Any]] = []
    for s, dose, d0, d1 in zip(ex["USUBJID"], ex["EXDOSE"], ex["EXSTDY"], ex["EXENDY"], strict=True):
        if dose <= 0:
            continue
        amt_iu = float(units.miu_to_iu(dose)) * bsa_of[s]
        for day in range(int(d0), int(d1) + 1):
            rows.append(
                {"ID": id_of[s], "TIME": 24.0 * (day - 1), "AMT": amt_iu, "RATE": 0.0,
                 "DV": 0.0, "MDV": 1, "EVID": 1, "CMT": CMT_DEPOT, "DVID": 0, "BLQ": 0}
            )  # fmt: skip
    if pc is not None and len(pc):
        _need(pc, ("USUBJID", "PCSTRESN", "PCDY", "PCELTM"), "PC")
        pc = pc.reset_index(drop=True)
        if "PCBLQFL" in pc.columns:
            blq = pc["PCBLQFL"].astype(str).str.upper().eq("Y").to_numpy()
        elif "PCSTRESC" in pc.columns:
            blq = pc["PCSTRESC"].astype(str).str.startswith("<").to_numpy()
        else:
            blq = np.zeros(len(pc), dtype=bool)
        for s, val, day, eltm, is_blq in zip(
            pc["USUBJID"].astype(str), _num(pc, "PCSTRESN", "PC"), _num(pc, "PCDY", "PC", True),
            _hours(pc), blq, strict=True,
        ):  # fmt: skip
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
            cp["USUBJID"].astype(str), cp["CPTESTCD"].astype(str).str.upper(),
            _num(cp, "CPSTRESN", "CP"), _num(cp, "CPDY", "CP", True), strict=True,
        ):  # fmt: skip
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
