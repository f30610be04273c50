"""A finished in-silico trial (:class:`il2sim.trial.run.Trial`) as SDTM datasets.

Subject domains (SDTMIG 3.4; variables and codelists in :mod:`il2sim.cdisc.sdtm_spec`):

* DM: one record per subject, ARMCD ``L<level>``; SUPPDM: BSA, height, weight, cohort.
* EX: one record per constant-dose period; a hold after a DLT has EXDOSE 0 and EXADJ
  ``DOSE HELD FOR DLT``; the resumed reduced dose ``DOSE REDUCED AFTER DLT``.
* AE: one record per run of days at one CTCAE grade >= 1 (AETOXGR); the dose-limiting
  toxicity flag is SUPPAE QNAM ``AEDLT`` (Y on the record that is the DLT, N on the others),
  keyed by AESEQ (SDTMIG 3.4 section 8.4: non-standard qualifiers go to SUPP--).
* CP: NK and CD56bright counts (flow cytometry, with measurement noise), cells/uL; baseline
  is the day-1 pre-dose draw (CPLOBXFL = CPBLFL = Y).
* PC: serum IL-2 (with assay noise), pmol/L; below the LLOQ PCSTRESN is missing and PCORRES /
  PCSTRESC read ``<LLOQ``; PCELTM is the ISO 8601 time after the day's dose (PCTPTREF).
* IS: anti-IL-2 antibodies, binding (IL2AB) and neutralising (IL2NAB), POSITIVE/NEGATIVE.
* RS (with an efficacy definition only): the model-defined response, :mod:`.efficacy`.
* DECISION (non-standard): the design's decision log, one record per cohort.

Dates: subject ``i`` of a cohort starts ``start_day + i * enrol_gap_day`` days after the
nominal study start (:class:`SdtmOptions`); --DTC = RFSTDTC + (--DY - 1) days, samples at the
nominal dose time (pre-dose) or that time plus PCELTM.  Trial design domains: :mod:`.design`.
Noise comes from :func:`il2sim.trial.noise.observe` (the trial's noise seed), so the same
trial gives the same datasets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd

from il2sim.cdisc.dates import DEFAULT_DOSE_TIME, DEFAULT_START_DATE, date_of_day
from il2sim.cdisc.efficacy import rs_rows
from il2sim.cdisc.schema import conform
from il2sim.cdisc.sdtm_spec import CP_TESTS, IS_TESTS, PC_TESTS, SDTM
from il2sim.toxicity import AE_TYPES
from il2sim.trial.noise import IL2_LLOQ_PM, observe
from il2sim.trial.run import Trial

__all__ = ["EXTRT", "SdtmOptions", "build_sdtm", "sdtm_options"]

EXTRT = "ALDESLEUKIN (IL-2)"
#: MedDRA primary system organ class of the AE terms il2sim simulates.
SOC: dict[str, str] = {
    "Pyrexia": "General disorders and administration site conditions",
    "Fatigue": "General disorders and administration site conditions",
    "Injection site reaction": "General disorders and administration site conditions",
    "Vomiting": "Gastrointestinal disorders",
    "Hyperglycaemia": "Metabolism and nutrition disorders",
}


@dataclass(frozen=True)
class SdtmOptions:
    """Calendar and site of a simulated trial: first enrolment date, clock time of the daily
    dose, site and country (all nominal; none is published for the seed trial)."""

    start_date: date = DEFAULT_START_DATE
    dose_time: time = DEFAULT_DOSE_TIME
    site_id: str = "01"
    country: str = "USA"


def sdtm_options(start_date: str | None = None) -> SdtmOptions:
    """:class:`SdtmOptions` from a ``YYYY-MM-DD`` start date (None: the default date)."""
    if start_date is None:
        return SdtmOptions()
    try:
        return SdtmOptions(start_date=date.fromisoformat(start_date.strip()))
    except ValueError:
        from il2sim.errors import InputError

        raise InputError(f"expected a date YYYY-MM-DD, got {start_date!r}", field="--start-date",
                         value=start_date) from None  # fmt: skip


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


def _duration(hours: float) -> str:
    return f"PT{hours:g}H"


class _Builder:
    """Rows of every subject domain, one subject at a time."""

    def __init__(self, trial: Trial, opts: SdtmOptions) -> None:
        self.t, self.o = trial, opts
        self.rows: dict[str, list[dict[str, Any]]] = {k: [] for k in SDTM}

    def _at(self, start: date, day: int, hours: float = 0.0) -> str:
        d = datetime.combine(date_of_day(start, day), self.o.dose_time) + timedelta(hours=hours)
        return d.isoformat(timespec="minutes")

    def _epoch(self, day: int, predose: bool) -> str:
        return "SCREENING" if day <= 1 and predose else "TREATMENT"

    def subject(self, rec: Any, obs: Any, i: int, subj: int) -> None:
        sch, sid = self.t.schedule, self.t.study_id
        r, pop = rec.result, rec.result.pop
        subjid = f"{subj:03d}"
        usub = f"{sid}-{subjid}"
        start = self.o.start_date + timedelta(days=int(rec.start_day + i * sch.enrol_gap_day))
        base = {"STUDYID": sid, "USUBJID": usub}
        arm = f"IL-2 {rec.dose_miu_per_m2:g} MIU/m2 SC QD x{sch.n_treatment_days}"
        periods = _runs(r.dose_scale[i])
        last_dosed = max(e for s, e, f in periods if f > 0) + 1
        self.rows["DM"].append(base | {
            "DOMAIN": "DM", "SUBJID": subjid, "RFSTDTC": start.isoformat(),
            "RFENDTC": date_of_day(start, sch.n_treatment_days).isoformat(),
            "RFXSTDTC": start.isoformat(), "RFXENDTC": date_of_day(start, last_dosed).isoformat(),
            "SITEID": self.o.site_id, "AGE": int(np.floor(pop.age_yr[i])), "AGEU": "YEARS",
            "SEX": str(pop.sex[i]), "ARMCD": f"L{rec.level}", "ARM": arm,
            "ACTARMCD": f"L{rec.level}", "ACTARM": arm, "COUNTRY": self.o.country,
        })  # fmt: skip
        for qnam, qlabel, qval in (
            ("BSA", "Body Surface Area (m2, Mosteller)", f"{pop.bsa_m2[i]:.3f}"),
            ("HEIGHT", "Height (cm)", f"{pop.height_cm[i]:.1f}"),
            ("WEIGHT", "Weight (kg)", f"{pop.weight_kg[i]:.1f}"),
            ("COHORT", "Dose-finding cohort", str(rec.cohort)),
        ):
            self.rows["SUPPDM"].append(base | {
                "RDOMAIN": "DM", "IDVAR": "", "IDVARVAL": "", "QNAM": qnam, "QLABEL": qlabel,
                "QVAL": qval, "QORIG": "DERIVED" if qnam == "BSA" else "CRF",
            })  # fmt: skip
        for seq, (s, e, f) in enumerate(periods, start=1):
            adj = "DOSE HELD FOR DLT" if f == 0.0 else ("DOSE REDUCED AFTER DLT" if f < 1 else "")
            self.rows["EX"].append(base | {
                "DOMAIN": "EX", "EXSEQ": seq, "EXTRT": EXTRT,
                "EXDOSE": round(float(rec.dose_miu_per_m2 * f), 6), "EXDOSU": "MIU/m2",
                "EXDOSFRM": "INJECTION", "EXDOSFRQ": "QD", "EXROUTE": "SUBCUTANEOUS", "EXADJ": adj,
                "EPOCH": "TREATMENT", "EXSTDTC": date_of_day(start, s + 1).isoformat(),
                "EXENDTC": date_of_day(start, e + 1).isoformat(), "EXSTDY": s + 1, "EXENDY": e + 1,
            })  # fmt: skip
        self._ae(r, i, base, start)
        self._findings(rec, obs, i, base, start)
        self.rows["RS"] += rs_rows(self.t, rec, i, base, start, self.o.dose_time)

    def _ae(self, r: Any, i: int, base: dict[str, Any], start: date) -> None:
        seq = 0
        dlt_day, dlt_k, n_days = int(r.dlt.day[i]), int(r.dlt.ae_index[i]), r.grades.shape[2]
        for k, a in enumerate(AE_TYPES):
            for s, e, g in _runs(r.grades[i, k]):
                if g < 1:
                    continue
                seq += 1
                is_dlt = k == dlt_k and s + 1 <= dlt_day <= e + 1
                self.rows["AE"].append(base | {
                    "DOMAIN": "AE", "AESEQ": seq, "AETERM": a.term, "AEDECOD": a.decod,
                    "AEBODSYS": SOC.get(a.decod, ""), "AESER": "Y" if g >= 4 else "N",
                    "AEACN": "DRUG INTERRUPTED" if is_dlt else "DOSE NOT CHANGED",
                    "AEREL": "RELATED",
                    "AEOUT": "NOT RECOVERED/NOT RESOLVED" if e + 1 == n_days else "RECOVERED/RESOLVED",
                    "AETOXGR": str(int(g)), "EPOCH": "TREATMENT",
                    "AESTDTC": date_of_day(start, s + 1).isoformat(),
                    "AEENDTC": date_of_day(start, e + 1).isoformat(), "AESTDY": s + 1, "AEENDY": e + 1,
                })  # fmt: skip
                self.rows["SUPPAE"].append(base | {
                    "RDOMAIN": "AE", "IDVAR": "AESEQ", "IDVARVAL": str(seq), "QNAM": "AEDLT",
                    "QLABEL": "Dose-Limiting Toxicity", "QVAL": "Y" if is_dlt else "N",
                    "QORIG": "Assigned",
                })  # fmt: skip

    def _findings(self, rec: Any, obs: Any, i: int, base: dict[str, Any], start: date) -> None:
        sch = self.t.schedule
        weeks = sch.visit_weeks
        seq = 0
        for v, w in enumerate(weeks):
            day = 7 * w + 1
            vis = {"VISITNUM": v + 1, "VISIT": _visit_name(w), "VISITDY": day,
                   "EPOCH": self._epoch(day, True), "CPDTC": self._at(start, day), "CPDY": day}  # fmt: skip
            for code, (name, unit) in CP_TESTS.items():
                if code not in obs.counts_per_ul:  # a model without T cells (v1)
                    continue
                seq += 1
                x = round(float(obs.counts_per_ul[code][i, v]), 2)
                self.rows["CP"].append(base | vis | {
                    "DOMAIN": "CP", "CPSEQ": seq, "CPTESTCD": code, "CPTEST": name,
                    "CPORRES": f"{x:.2f}", "CPORRESU": unit, "CPSTRESC": f"{x:.2f}", "CPSTRESN": x,
                    "CPSTRESU": unit, "CPSPEC": "BLOOD", "CPMETHOD": "FLOW CYTOMETRY",
                    "CPLOBXFL": "Y" if w == 0 else "", "CPBLFL": "Y" if w == 0 else "",
                })  # fmt: skip
        seq = 0
        (code, (name, unit)), = PC_TESTS.items()
        for v, w in enumerate(weeks):
            day = 7 * w + 1
            for h, hr in enumerate(sch.pc_hours):
                seq += 1
                blq = bool(obs.il2_blq[i, v, h])
                x = float(obs.il2_pm[i, v, h])
                text = f"<{IL2_LLOQ_PM:g}" if blq else f"{x:.3f}"
                self.rows["PC"].append(base | {
                    "DOMAIN": "PC", "PCSEQ": seq, "PCTESTCD": code, "PCTEST": name,
                    "PCORRES": text, "PCORRESU": unit, "PCSTRESC": text,
                    "PCSTRESN": np.nan if blq else round(x, 3), "PCSTRESU": unit, "PCSPEC": "SERUM",
                    "PCLLOQ": IL2_LLOQ_PM, "PCTPT": "PRE-DOSE" if hr == 0 else f"{hr:g}H POST-DOSE",
                    "PCTPTNUM": h + 1, "PCELTM": _duration(hr), "PCTPTREF": "DOSE ON DAY OF VISIT",
                    "PCRFTDTC": self._at(start, day), "VISITNUM": v + 1, "VISIT": _visit_name(w),
                    "VISITDY": day, "EPOCH": self._epoch(day, hr == 0),
                    "PCDTC": self._at(start, day, hr), "PCDY": day,
                })  # fmt: skip
        seq = 0
        r = rec.result
        for w in sch.ada_visit_weeks:
            day = 7 * w + 1
            pos = bool(r.ada_onset_day[i] <= day - 1)
            for code, name in IS_TESTS.items():
                seq += 1
                res = pos and (code == "IL2AB" or self.t.neutralising)
                self.rows["IS"].append(base | {
                    "DOMAIN": "IS", "ISSEQ": seq, "ISTESTCD": code, "ISTEST": name,
                    "ISBDAGNT": EXTRT, "ISORRES": "POSITIVE" if res else "NEGATIVE",
                    "ISSTRESC": "POSITIVE" if res else "NEGATIVE", "ISSPEC": "SERUM",
                    "VISITNUM": weeks.index(w) + 1 if w in weeks else pd.NA,
                    "VISIT": _visit_name(w), "VISITDY": day, "EPOCH": self._epoch(day, True),
                    "ISDTC": date_of_day(start, day).isoformat(), "ISDY": day,
                })  # fmt: skip

    def decisions(self) -> None:
        t = self.t
        for rec in t.cohorts:
            d = rec.decision
            self.rows["DECISION"].append({
                "STUDYID": t.study_id, "COHORT": rec.cohort, "LEVEL": rec.level,
                "DOSE": rec.dose_miu_per_m2, "DOSEU": "MIU/m2", "NSUBJ": rec.n, "NDLT": rec.n_dlt,
                "DECISION": d.reason, "NXTLEVEL": d.next_dose or pd.NA,
                "NXTDOSE": t.doses_miu_per_m2[d.next_dose - 1] if d.next_dose else np.nan,
                "STOPFL": "Y" if d.stop else "N", "MTDLEVEL": d.mtd or pd.NA,
                "MTDDOSE": t.doses_miu_per_m2[d.mtd - 1] if d.mtd else np.nan,
            })  # fmt: skip


def build_sdtm(trial: Trial, options: SdtmOptions | None = None) -> dict[str, pd.DataFrame]:
    """Every SDTM dataset of ``trial`` (see the module docstring), keyed by dataset name,
    with exactly the declared variables of :data:`il2sim.cdisc.sdtm_spec.SDTM`."""
    from il2sim.cdisc.design import design_domains

    opts = options or SdtmOptions()
    b = _Builder(trial, opts)
    subj = 0
    for rec, obs in zip(trial.cohorts, observe(trial.cohorts, trial.noise_seed), strict=True):
        for i in range(rec.n):
            subj += 1
            b.subject(rec, obs, i, subj)
    b.decisions()
    b.rows.update(design_domains(trial, opts.start_date))
    return {
        name: conform(pd.DataFrame(b.rows[name]), ds)
        for name, ds in SDTM.items()
        if name != "RS" or trial.efficacy is not None  # RS only with an efficacy definition
    }
