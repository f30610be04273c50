"""Export a live trial as SDTM-shaped domains (written by il2sim's SDTM writer) and as JSON.

A live trial knows, per patient, the dose level, the DLT outcome and (optionally) the DLT day;
per cohort, the design's recommendation and the team's decision.  The datasets are declared in
:mod:`il2sim.cdisc` (``SDTM_LIVE``: the SDTM datasets of ``il2sim trial`` with a live
decision log) and written by its writer, with define.xml:

* DM: one row per patient, ARMCD ``L<level>``, ARM the dose and regimen text, SITEID ``001``
  (one site), SEX ``U`` (not collected); COUNTRY and the dates are left empty and listed in
  the export's ``conformance.txt``, never invented;
* SUPPDM: the dose-finding cohort (QNAM ``COHORT``);
* EX: the planned dose per patient (EXDOSE, EXDOSU; the regimen text is in TS ``REGIMEN``);
* AE: one record per DLT (AETERM ``DOSE-LIMITING TOXICITY``, AESTDY = DLT day when entered)
  and SUPPAE ``AEDLT`` = Y, as in the simulated trial datasets;
* TS: trial summary (title, phase, design, target, regimen, protocol SHA-256);
* DECISION: per cohort the design's recommendation beside the decision taken (TEAMACT follow
  or override, TEAMRSN why, DECIDBY who).

Dates of dosing are not collected by the server, so no ``--DTC``/``--DY`` dosing dates are
invented; the study day of a DLT is what the investigator entered.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from il2sim.serve import engine

__all__ = ["json_export", "sdtm_domains", "sdtm_zip"]


def _study_id(state: dict[str, Any]) -> str:
    return f"IL2SIM-LIVE-{state['id']:04d}"


def sdtm_domains(state: dict[str, Any]) -> dict[str, Any]:
    """The trial's domains as pandas DataFrames, from :func:`~il2sim.serve.views.trial_state`."""
    import numpy as np
    import pandas as pd

    proto = state["protocol"]
    sid = _study_id(state)
    unit = proto["dose_unit"]
    dm, supp, ex, ae, suppae, dec = [], [], [], [], [], []
    subj = 0
    for c in state["cohorts"]:
        dose = proto["doses"][c["dose_level"] - 1]
        arm = f"{dose:g} {unit}" + (f" {proto['regimen']}" if proto["regimen"] else "")
        for k, letter in enumerate(c["outcomes"]):
            subj += 1
            usub = f"{sid}-{subj:03d}"
            dm.append({"STUDYID": sid, "DOMAIN": "DM", "USUBJID": usub, "SUBJID": f"{subj:03d}",
                       "SITEID": "001", "SEX": "U",
                       "ARMCD": f"L{c['dose_level']}", "ARM": arm,
                       "ACTARMCD": f"L{c['dose_level']}", "ACTARM": arm})  # fmt: skip
            supp.append({"STUDYID": sid, "RDOMAIN": "DM", "USUBJID": usub, "IDVAR": "",
                         "IDVARVAL": "", "QNAM": "COHORT", "QLABEL": "Dose-finding cohort",
                         "QVAL": str(c["cohort"]), "QORIG": "CRF"})  # fmt: skip
            ex.append({"STUDYID": sid, "DOMAIN": "EX", "USUBJID": usub, "EXSEQ": 1,
                       "EXTRT": "IL-2", "EXDOSE": dose, "EXDOSU": unit})  # fmt: skip
            if letter in "TB":
                day = c["dlt_days"][k]
                ae.append({"STUDYID": sid, "DOMAIN": "AE", "USUBJID": usub, "AESEQ": 1,
                           "AETERM": "DOSE-LIMITING TOXICITY",
                           "AESTDY": np.nan if day is None else day + 1})  # fmt: skip
                suppae.append({"STUDYID": sid, "RDOMAIN": "AE", "USUBJID": usub,
                               "IDVAR": "AESEQ", "IDVARVAL": "1", "QNAM": "AEDLT",
                               "QLABEL": "Dose-Limiting Toxicity", "QVAL": "Y",
                               "QORIG": "CRF"})  # fmt: skip
        r, d = c["recommendation"], c["decision"] or {}
        dec.append({
            "STUDYID": sid, "COHORT": c["cohort"], "LEVEL": c["dose_level"], "DOSE": dose,
            "DOSEU": unit, "NSUBJ": c["n_patients"], "NDLT": c["n_dlt"],
            "DECISION": r["reason"],
            "NXTLEVEL": r["next_dose"] if r["next_dose"] else np.nan,
            "NXTDOSE": proto["doses"][r["next_dose"] - 1] if r["next_dose"] else np.nan,
            "STOPFL": "Y" if r["stop"] else "N",
            "MTDLEVEL": r["mtd"] if r["mtd"] else np.nan,
            "MTDDOSE": proto["doses"][r["mtd"] - 1] if r["mtd"] else np.nan,
            "TEAMACT": str(d.get("action", "")).upper(),
            "TEAMNXT": d["next_dose"] if d.get("next_dose") else np.nan,
            "TEAMSTFL": ("Y" if d["stop"] else "N") if d else "",
            "TEAMRSN": d.get("reason", ""), "DECIDBY": d.get("decided_by", ""),
            "ENTERBY": c["entered_by"], "DEVIATFL": "Y" if c["deviation"] else "N",
        })  # fmt: skip
    ts_values = [
        ("TITLE", "Trial Title", state["name"]),
        ("TPHASE", "Trial Phase Classification", "PHASE I TRIAL"),
        ("DOSEDES", "Dose-Finding Design", proto["design"]),
        ("TDLTRT", "Target DLT Rate", "" if proto["options"].get("target") is None
         else f"{proto['options']['target']:g}"),
        ("REGIMEN", "Regimen (il2sim text)", proto["regimen"] or ""),
        ("PROTHASH", "Protocol SHA-256", state["protocol_sha256"]),
    ]  # fmt: skip
    ts = [{"STUDYID": sid, "DOMAIN": "TS", "TSSEQ": 1, "TSPARMCD": code, "TSPARM": label,
           "TSVAL": val} for code, label, val in ts_values]  # fmt: skip
    frames = {"TS": ts, "DM": dm, "SUPPDM": supp, "EX": ex, "AE": ae, "SUPPAE": suppae,
              "DECISION": dec}  # fmt: skip
    # empty lists still get their declared columns (il2sim.cdisc.write_sdtm conforms them)
    return {name: pd.DataFrame(rows) for name, rows in frames.items()}


def sdtm_zip(state: dict[str, Any]) -> bytes:
    """A zip of the SDTM files (CSV and Parquet) written by il2sim's SDTM writer."""
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="il2sim-export-") as tmp:
        paths, problems = engine.write_sdtm(sdtm_domains(state), tmp)
        top = _study_id(state).lower()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(paths, key=lambda x: x.name):
                zf.write(p, arcname=f"{top}/{Path(p).name}")
            note = "\n".join(problems) if problems else "none"
            zf.writestr(f"{top}/conformance.txt", "Values the live trial does not collect "
                        f"(left empty, not invented):\n{note}\n")  # fmt: skip
    return buf.getvalue()


def json_export(state: dict[str, Any], audit_rows: list[dict[str, Any]], who: str) -> bytes:
    """The trial state, its audit rows and who exported it, as JSON bytes."""
    from il2sim.serve.audit import now_iso

    doc = {"format": "il2sim-live-trial/1", "exported_at": now_iso(), "exported_by": who,
           "trial": state, "audit": audit_rows}  # fmt: skip
    return json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")
