"""A finished trial as CDISC SDTM-shaped domains, written as CSV and Parquet (XPT v5 on request).

Domains (variable names from SDTMIG 3.x):

* DM  demographics: one row per subject; ARMCD = ``L<level>``; SUPPDM carries BSA and cohort.
* EX  exposure: one row per constant-dose period (EXDOSE in MIU/m2, EXDOSU ``MIU/m2``,
  EXROUTE ``SUBCUTANEOUS``, EXSTDY/EXENDY); a hold after a DLT is a row with EXDOSE 0 and
  EXADJ ``DOSE HELD FOR DLT``; a resumed reduced dose has EXADJ ``DOSE REDUCED AFTER DLT``.
* AE  adverse events: one row per run of days at a constant CTCAE grade >= 1 (AETOXGR 1..5),
  AESTDY/AEENDY, AESER, AEREL, AEACN, and the DLT flag ``AEDLT`` (Y on the record that is the
  DLT).
* CP  cell phenotyping (flow cytometry, with noise): CPTESTCD ``NKCELLS`` (CD3-CD56+ NK) and
  ``NKBRIGHT`` (CD56bright NK), CPSTRESU ``cells/uL``, VISIT/VISITNUM/CPDY.
* PC  serum IL-2 (with assay noise), ``pmol/L``; below the LLOQ PCSTRESN is missing,
  PCSTRESC ``<LLOQ`` and ``PCBLQFL`` = Y.
* IS  anti-IL-2 antibodies: ISTESTCD ``IL2AB`` (binding) and ``IL2NAB`` (neutralising),
  ISSTRESC POSITIVE/NEGATIVE.
* DECISIONS: the design's decision log (cohort, level, dose, n, DLTs, decision, next level).

Files are written into a temporary folder beside the target and moved into place one by one
(``os.replace``), so a reader never sees a half-written file.  CSV and Parquet are byte-for-byte
reproducible for a seed; XPT files carry their creation time in the header.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from il2sim.toxicity import AE_TYPES
from il2sim.trial.noise import IL2_LLOQ_PM, add_flow_noise, add_il2_noise
from il2sim.trial.run import Trial

__all__ = ["DOMAINS", "build_sdtm", "write_sdtm"]

DOMAINS: tuple[str, ...] = ("DM", "SUPPDM", "EX", "AE", "CP", "PC", "IS", "DECISIONS")
#: Nominal first enrolment date (calendar only; the seed's accrual dates are not published).
STUDY_START = date(1994, 1, 3)
EXTRT = "ALDESLEUKIN (IL-2)"


def _visit_name(week: int) -> str:
    return "BASELINE" if week == 0 else f"WEEK {week}"


def _runs(x: np.ndarray) -> list[tuple[int, int, Any]]:
    """(start index, end index inclusive, value) of runs of equal values."""
    out: list[tuple[int, int, Any]] = []
    start = 0
    for i in range(1, x.size + 1):
        if i == x.size or x[i] != x[start]:
            out.append((start, i - 1, x[start]))
            start = i
    return out


def build_sdtm(trial: Trial) -> dict[str, pd.DataFrame]:
    """The trial's domains as DataFrames (noise drawn from ``trial.noise_seed``)."""
    rng = np.random.default_rng(trial.noise_seed)
    sid = trial.study_id
    sch = trial.schedule
    visit_weeks = sch.visit_weeks
    dm, supp, ex, ae, cp, pc, is_ = [], [], [], [], [], [], []
    subj = 0
    for rec in trial.cohorts:
        r = rec.result
        pop = r.pop
        nk_obs = add_flow_noise(r.nk_visit_per_ul, rng)
        br_obs = add_flow_noise(r.bright_visit_per_ul, rng)
        il2_obs, il2_blq = add_il2_noise(r.il2_pc_pm, rng)
        for i in range(r.n):
            subj += 1
            subjid = f"{subj:03d}"
            usub = f"{sid}-{subjid}"
            start = STUDY_START + timedelta(days=int(rec.start_day + i * sch.enrol_gap_day))
            end = start + timedelta(days=sch.n_treatment_days - 1)
            arm = f"IL-2 {rec.dose_miu_per_m2:g} MIU/m2 SC QD x{sch.n_treatment_days}"
            dm.append(
                {
                    "STUDYID": sid,
                    "DOMAIN": "DM",
                    "USUBJID": usub,
                    "SUBJID": subjid,
                    "RFSTDTC": start.isoformat(),
                    "RFENDTC": end.isoformat(),
                    "AGE": int(np.floor(pop.age_yr[i])),
                    "AGEU": "YEARS",
                    "SEX": str(pop.sex[i]),
                    "ARMCD": f"L{rec.level}",
                    "ARM": arm,
                    "ACTARMCD": f"L{rec.level}",
                    "ACTARM": arm,
                }
            )
            for qnam, qlabel, qval in (
                ("BSA", "Body Surface Area (m2, Mosteller)", f"{pop.bsa_m2[i]:.3f}"),
                ("HEIGHT", "Height (cm)", f"{pop.height_cm[i]:.1f}"),
                ("WEIGHT", "Weight (kg)", f"{pop.weight_kg[i]:.1f}"),
                ("COHORT", "Dose-finding cohort", str(rec.cohort)),
            ):
                supp.append(
                    {
                        "STUDYID": sid,
                        "RDOMAIN": "DM",
                        "USUBJID": usub,
                        "IDVAR": "",
                        "IDVARVAL": "",
                        "QNAM": qnam,
                        "QLABEL": qlabel,
                        "QVAL": qval,
                        "QORIG": "DERIVED" if qnam == "BSA" else "CRF",
                    }
                )
            # EX: constant-dose periods
            seq = 0
            for s, e, f in _runs(r.dose_scale[i]):
                seq += 1
                adj = ""
                if f == 0.0:
                    adj = "DOSE HELD FOR DLT"
                elif f < 1.0:
                    adj = "DOSE REDUCED AFTER DLT"
                ex.append(
                    {
                        "STUDYID": sid,
                        "DOMAIN": "EX",
                        "USUBJID": usub,
                        "EXSEQ": seq,
                        "EXTRT": EXTRT,
                        "EXDOSE": round(float(rec.dose_miu_per_m2 * f), 6),
                        "EXDOSU": "MIU/m2",
                        "EXDOSFRM": "INJECTION",
                        "EXDOSFRQ": "QD",
                        "EXROUTE": "SUBCUTANEOUS",
                        "EXSTDY": s + 1,
                        "EXENDY": e + 1,
                        "EXADJ": adj,
                    }
                )
            # AE: runs of constant grade >= 1
            seq = 0
            dlt_day = int(r.dlt.day[i])
            dlt_k = int(r.dlt.ae_index[i])
            n_days = r.grades.shape[2]
            for k, a in enumerate(AE_TYPES):
                for s, e, g in _runs(r.grades[i, k]):
                    if g < 1:
                        continue
                    seq += 1
                    is_dlt = k == dlt_k and s + 1 <= dlt_day <= e + 1
                    ae.append(
                        {
                            "STUDYID": sid,
                            "DOMAIN": "AE",
                            "USUBJID": usub,
                            "AESEQ": seq,
                            "AETERM": a.term,
                            "AEDECOD": a.decod,
                            "AETOXGR": int(g),
                            "AESTDY": s + 1,
                            "AEENDY": e + 1,
                            "AESER": "Y" if g >= 4 else "N",
                            "AEREL": "RELATED",
                            "AEACN": "DRUG INTERRUPTED" if is_dlt else "DOSE NOT CHANGED",
                            "AEOUT": "NOT RECOVERED/NOT RESOLVED"
                            if e + 1 == n_days
                            else "RECOVERED/RESOLVED",
                            "AEDLT": "Y" if is_dlt else "N",
                        }
                    )
            # CP
            seq = 0
            for v, w in enumerate(visit_weeks):
                for code, name, val in (
                    ("NKCELLS", "Natural Killer Cells (CD3-CD56+)", nk_obs[i, v]),
                    ("NKBRIGHT", "CD56bright Natural Killer Cells", br_obs[i, v]),
                ):
                    seq += 1
                    x = round(float(val), 2)
                    cp.append(
                        {
                            "STUDYID": sid,
                            "DOMAIN": "CP",
                            "USUBJID": usub,
                            "CPSEQ": seq,
                            "CPTESTCD": code,
                            "CPTEST": name,
                            "CPORRES": f"{x:.2f}",
                            "CPORRESU": "cells/uL",
                            "CPSTRESC": f"{x:.2f}",
                            "CPSTRESN": x,
                            "CPSTRESU": "cells/uL",
                            "CPSPEC": "BLOOD",
                            "CPMETHOD": "FLOW CYTOMETRY",
                            "CPBLFL": "Y" if w == 0 else "",
                            "VISITNUM": v + 1,
                            "VISIT": _visit_name(w),
                            "CPDY": 7 * w + 1,
                        }
                    )
            # PC
            seq = 0
            for v, w in enumerate(visit_weeks):
                for h, hr in enumerate(sch.pc_hours):
                    seq += 1
                    blq = bool(il2_blq[i, v, h])
                    x = float(il2_obs[i, v, h])
                    pc.append(
                        {
                            "STUDYID": sid,
                            "DOMAIN": "PC",
                            "USUBJID": usub,
                            "PCSEQ": seq,
                            "PCTESTCD": "IL2",
                            "PCTEST": "Interleukin 2",
                            "PCORRES": f"<{IL2_LLOQ_PM:g}" if blq else f"{x:.3f}",
                            "PCORRESU": "pmol/L",
                            "PCSTRESC": f"<{IL2_LLOQ_PM:g}" if blq else f"{x:.3f}",
                            "PCSTRESN": np.nan if blq else round(x, 3),
                            "PCSTRESU": "pmol/L",
                            "PCLLOQ": IL2_LLOQ_PM,
                            "PCBLQFL": "Y" if blq else "N",
                            "PCSPEC": "SERUM",
                            "PCTPT": "PRE-DOSE" if hr == 0 else f"{hr:g}H POST-DOSE",
                            "PCTPTNUM": h + 1,
                            "PCELTM": float(hr),
                            "VISITNUM": v + 1,
                            "VISIT": _visit_name(w),
                            "PCDY": 7 * w + 1,
                        }
                    )
            # IS
            seq = 0
            for w in sch.ada_visit_weeks:
                day = 7 * w + 1
                pos = bool(r.ada_onset_day[i] <= day - 1)
                for code, name, res in (
                    ("IL2AB", "Anti-IL-2 Antibody", pos),
                    ("IL2NAB", "Neutralizing Anti-IL-2 Antibody", pos and trial.neutralising),
                ):
                    seq += 1
                    is_.append(
                        {
                            "STUDYID": sid,
                            "DOMAIN": "IS",
                            "USUBJID": usub,
                            "ISSEQ": seq,
                            "ISTESTCD": code,
                            "ISTEST": name,
                            "ISORRES": "POSITIVE" if res else "NEGATIVE",
                            "ISSTRESC": "POSITIVE" if res else "NEGATIVE",
                            "ISSPEC": "SERUM",
                            "VISITNUM": visit_weeks.index(w) + 1 if w in visit_weeks else np.nan,
                            "VISIT": _visit_name(w),
                            "ISDY": day,
                        }
                    )
    decisions = [
        {
            "COHORT": rec.cohort,
            "LEVEL": rec.level,
            "DOSE_MIU_PER_M2": rec.dose_miu_per_m2,
            "N": rec.n,
            "DLT": rec.n_dlt,
            "DECISION": rec.decision.reason,
            "NEXT_LEVEL": rec.decision.next_dose if rec.decision.next_dose else np.nan,
            "NEXT_DOSE_MIU_PER_M2": trial.doses_miu_per_m2[rec.decision.next_dose - 1]
            if rec.decision.next_dose
            else np.nan,
            "STOP": "Y" if rec.decision.stop else "N",
            "MTD_LEVEL": rec.decision.mtd if rec.decision.mtd else np.nan,
        }
        for rec in trial.cohorts
    ]
    ae_cols = [
        "STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AETOXGR", "AESTDY",
        "AEENDY", "AESER", "AEREL", "AEACN", "AEOUT", "AEDLT",
    ]  # fmt: skip
    return {
        "DM": pd.DataFrame(dm),
        "SUPPDM": pd.DataFrame(supp),
        "EX": pd.DataFrame(ex),
        "AE": pd.DataFrame(ae, columns=ae_cols),
        "CP": pd.DataFrame(cp),
        "PC": pd.DataFrame(pc),
        "IS": pd.DataFrame(is_),
        "DECISIONS": pd.DataFrame(decisions),
    }


def _write_xpt(df: pd.DataFrame, path: Path, name: str) -> None:
    import pyreadstat

    out = df.copy()
    out.columns = [c[:8] for c in out.columns]
    for c in out.columns:
        if out[c].dtype == object or str(out[c].dtype).startswith("str"):
            out[c] = out[c].astype(str).str.slice(0, 200)
    pyreadstat.write_xport(out, str(path), table_name=name[:8], file_format_version=5)


def write_sdtm(
    domains: dict[str, pd.DataFrame], out_dir: str | Path, xpt: bool = False
) -> list[Path]:
    """Write each domain as ``<name>.csv`` and ``<name>.parquet`` (and ``.xpt``) into
    ``out_dir`` (lower-case names), atomically; returns the written paths."""
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".sdtm-", dir=target))
    written: list[Path] = []
    try:
        staged: list[tuple[Path, Path]] = []
        for name, df in domains.items():
            stem = name.lower()
            csv = tmp / f"{stem}.csv"
            df.to_csv(csv, index=False, lineterminator="\n")
            staged.append((csv, target / csv.name))
            pq = tmp / f"{stem}.parquet"
            df.to_parquet(pq, index=False, engine="pyarrow")
            staged.append((pq, target / pq.name))
            if xpt:
                xp = tmp / f"{stem}.xpt"
                _write_xpt(df, xp, name)
                staged.append((xp, target / xp.name))
        for src, dst in staged:
            os.replace(src, dst)
            written.append(dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return written
