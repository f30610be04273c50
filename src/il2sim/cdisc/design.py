"""SDTM trial design domains of an in-silico trial (SDTMIG 3.4 section 7): TS, TA, TE, TV.

* TE: a screening element ``SCRN`` (ends with the first dose) and one treatment element per
  dose level (``L<level>``, ``P<n>D`` daily dosing).
* TA: one arm per planned dose level (ARMCD ``L<level>``, as DM), SCRN then the level's
  element; the branch is the dose-escalation design's assignment.
* TV: the blood-draw visits of the schedule (study day ``7 w + 1``, before that day's dose).
* TS: trial summary parameters (TSPARMCD codelist C66738): title, phase, type, blinding,
  control, randomisation, adaptive design, treatment, route, frequency, one DOSE record per
  level, units, subjects, start and end dates, sex of participants, SDTM/SDTMIG versions.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from il2sim.cdisc.dates import date_of_day
from il2sim.trial.run import Trial

__all__ = ["SDTMIG_VERSION", "SDTM_VERSION", "design_domains"]

SDTMIG_VERSION = "3.4"
SDTM_VERSION = "2.0"


def _last_day(trial: Trial, start: date) -> date:
    sch = trial.schedule
    last = start
    for rec in trial.cohorts:
        first = start + timedelta(days=int(rec.start_day + (rec.n - 1) * sch.enrol_gap_day))
        last = max(last, date_of_day(first, sch.n_treatment_days))
    return last


def design_domains(trial: Trial, start: date) -> dict[str, list[dict[str, Any]]]:
    """Rows of TS, TA, TE and TV for ``trial`` starting on ``start``."""
    sid, sch = trial.study_id, trial.schedule
    n_days = sch.n_treatment_days
    levels = list(enumerate(trial.doses_miu_per_m2, start=1))
    te = [{"STUDYID": sid, "DOMAIN": "TE", "ETCD": "SCRN", "ELEMENT": "Screening",
           "TESTRL": "Informed consent", "TEENRL": "First dose of IL-2", "TEDUR": ""}]  # fmt: skip
    ta = []
    for k, dose in levels:
        te.append({
            "STUDYID": sid, "DOMAIN": "TE", "ETCD": f"L{k}",
            "ELEMENT": f"IL-2 {dose:g} MIU/m2 SC QD",
            "TESTRL": f"First dose of IL-2 at {dose:g} MIU/m2",
            "TEENRL": f"{n_days} days after the first dose", "TEDUR": f"P{n_days}D",
        })  # fmt: skip
        arm = f"IL-2 {dose:g} MIU/m2 SC QD x{n_days}"
        ta.append({"STUDYID": sid, "DOMAIN": "TA", "ARMCD": f"L{k}", "ARM": arm, "TAETORD": 1,
                   "ETCD": "SCRN", "ELEMENT": "Screening", "TABRANCH": "", "TATRANS": "",
                   "EPOCH": "SCREENING"})  # fmt: skip
        ta.append({"STUDYID": sid, "DOMAIN": "TA", "ARMCD": f"L{k}", "ARM": arm, "TAETORD": 2,
                   "ETCD": f"L{k}", "ELEMENT": f"IL-2 {dose:g} MIU/m2 SC QD",
                   "TABRANCH": f"Assigned to dose level {k} by the {trial.design} design",
                   "TATRANS": "", "EPOCH": "TREATMENT"})  # fmt: skip
    tv = [
        {"STUDYID": sid, "DOMAIN": "TV", "VISITNUM": v + 1,
         "VISIT": "BASELINE" if w == 0 else f"WEEK {w}", "VISITDY": 7 * w + 1, "ARMCD": "",
         "TVSTRL": "Day 1, before the first dose" if w == 0
         else f"Day {7 * w + 1}, before that day's dose", "TVENRL": ""}
        for v, w in enumerate(sch.visit_weeks)
    ]  # fmt: skip
    params: list[tuple[str, str, str, str]] = [
        ("TITLE", "Trial Title",
         f"In-silico {trial.design} dose-finding trial of daily subcutaneous IL-2 "
         f"(il2sim, seed {trial.seed})", ""),
        ("TPHASE", "Trial Phase Classification", "PHASE I TRIAL", "C15600"),
        ("STYPE", "Study Type", "INTERVENTIONAL", ""),
        ("TTYPE", "Trial Type", "SAFETY", ""),
        ("TTYPE", "Trial Type", "PHARMACOKINETIC", ""),
        ("TTYPE", "Trial Type", "PHARMACODYNAMIC", ""),
        ("TBLIND", "Trial Blinding Schema", "OPEN LABEL", ""),
        ("TCNTRL", "Control Type", "NONE", ""),
        ("RANDOM", "Trial is Randomized", "N", "C49487"),
        ("ADAPT", "Adaptive Design", "Y", "C49488"),
        ("TRT", "Investigational Therapy or Treatment", "ALDESLEUKIN", ""),
        ("ROUTE", "Route of Administration", "SUBCUTANEOUS", "C38299"),
        ("DOSFRQ", "Dosing Frequency", "QD", "C25473"),
        *[("DOSE", "Dose per Administration", f"{d:g}", "") for _, d in levels],
        ("DOSU", "Dose Units", "MIU/m2", ""),
        ("ACTSUB", "Actual Number of Subjects", str(trial.n_patients), ""),
        ("SSTDTC", "Study Start Date", start.isoformat(), ""),
        ("SENDTC", "Study End Date", _last_day(trial, start).isoformat(), ""),
        ("SEXPOP", "Sex of Participants", "BOTH", ""),
        ("SDTIGVER", "SDTM IG Version", SDTMIG_VERSION, ""),
        ("SDTMVER", "SDTM Version", SDTM_VERSION, ""),
    ]  # fmt: skip
    ts = []
    seq_of: dict[str, int] = {}
    for code, name, val, nci in params:
        seq_of[code] = seq_of.get(code, 0) + 1
        ts.append({"STUDYID": sid, "DOMAIN": "TS", "TSSEQ": seq_of[code], "TSPARMCD": code,
                   "TSPARM": name, "TSVAL": val, "TSVALNF": "", "TSVALCD": nci,
                   "TSVCDREF": "CDISC CT" if nci else "", "TSVCDVER": ""})  # fmt: skip
    return {"TS": ts, "TA": ta, "TE": te, "TV": tv}
