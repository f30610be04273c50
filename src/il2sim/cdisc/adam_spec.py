"""ADaM datasets il2sim derives (ADaM v2.1 / ADaMIG 1.3, ADaM OCCDS 1.1), declared once.

* ADSL (subject level): treatment (dose level) variables TRT01P/TRT01PN/TRT01A/TRT01AN with
  the dose DOSE01P/DOSE01A/DOSEU, treatment dates and duration, population flags SAFFL
  (dosed), DLTEVLFL (DLT-evaluable: a DLT, or dosed through the DLT window), PKFL (a
  quantifiable IL-2 sample), the subject's DLT flag and baseline body size.
* ADAE (OCCDS): one record per AE record, CTCAE grade ATOXGR/ATOXGRN, DLT flag from SUPPAE.
* ADEX (BDS): exposure parameters per subject (duration, days dosed, cumulative dose, relative
  dose intensity, interruptions, reductions).
* ADCP (BDS): cell counts, PARAMCD per CP test, AVAL, BASE, CHG, PCHG, ABLFL, AVISIT/AVISITN,
  ADT/ADY; plus one ``DTYPE = MAXIMUM`` record per subject and parameter: the post-baseline
  maximum, whose PCHG is the subject's peak % increase (:mod:`il2sim.baseline`).
* ADPC (BDS): serum IL-2 concentrations with the LLOQ, BLQ flag and nominal time after dose.
* ADIS (BDS): anti-IL-2 antibody results (AVALC POSITIVE/NEGATIVE, AVAL 1/0).
* ADRS (BDS, ADaMIG 1.3 section 3.3.7 analysis criteria CRITy/CRITyFL): the model-defined
  efficacy response from SDTM RS: EFFVAL (the quantity, CRIT1 the definition, CRIT1FL met)
  and EFFRESP (AVALC RESPONDER/NON-RESPONDER, AVAL 1/0); only with an efficacy definition.
* DECISION: the non-standard decision log, as in SDTM.
"""

from __future__ import annotations

from il2sim.cdisc import terminology as ct
from il2sim.cdisc.schema import Dataset, Variable
from il2sim.cdisc.sdtm_spec import CP_TESTS, DECISION, IS_TESTS, PC_TESTS, RS_TESTS, V

__all__ = ["ADAM", "EX_PARAMS"]

#: ADEX parameters: PARAMCD -> PARAM.
EX_PARAMS: dict[str, str] = {
    "DURD": "Duration of Treatment (days)",
    "DOSDAYS": "Number of Days Dosed",
    "CUMDOSE": "Cumulative Dose (MIU/m2)",
    "RDI": "Relative Dose Intensity (%)",
    "NINTERR": "Number of Dose Interruptions",
    "NREDUC": "Number of Dose Reductions",
}
CPPARAM = ct.sponsor("CPPARAM", "ADCP parameter", {k: f"{v[0]} ({v[1]})" for k, v in CP_TESTS.items()})
PCPARAM = ct.sponsor("PCPARAM", "ADPC parameter", {k: f"{v[0]} ({v[1]})" for k, v in PC_TESTS.items()})
ISPARAM = ct.sponsor("ISPARAM", "ADIS parameter", IS_TESTS)
EXPARAM = ct.sponsor("EXPARAM", "ADEX parameter", EX_PARAMS)


def _P(name: str, label: str, source: str) -> Variable:
    """A variable copied from an SDTM dataset (origin Predecessor)."""
    return V(name, label, length=200, origin="Predecessor", source=source)


_ID = (
    V("STUDYID", "Study Identifier", length=20, origin="Predecessor", core="Req", source="DM.STUDYID"),
    V("USUBJID", "Unique Subject Identifier", length=40, origin="Predecessor", core="Req",
      source="DM.USUBJID"),
)  # fmt: skip
_TRT = (
    V("TRTP", "Planned Treatment", length=200, core="Req", source="ADSL.TRT01P"),
    V("TRTPN", "Planned Treatment (N)", "integer", source="ADSL.TRT01PN"),
    V("TRTA", "Actual Treatment", length=200, core="Req", source="ADSL.TRT01A"),
    V("TRTAN", "Actual Treatment (N)", "integer", source="ADSL.TRT01AN"),
)  # fmt: skip


def _bds(name: str, label: str, params: object, extra: tuple[Variable, ...], src: str) -> Dataset:
    return Dataset(
        name, label, "ADaM", "BASIC DATA STRUCTURE",
        "One or more records per subject per analysis parameter per analysis timepoint",
        ("STUDYID", "USUBJID", "PARAMCD", "AVISITN", "DTYPE") if name == "ADCP"
        else ("STUDYID", "USUBJID", "PARAMCD", "AVISITN"),
        (
            *_ID, *_TRT,
            V("PARAMCD", "Parameter Code", length=8, core="Req", codelist=params),  # type: ignore[arg-type]
            V("PARAM", "Parameter", length=200, core="Req"),
            V("PARAMN", "Parameter (N)", "integer"),
            *extra,
            V("AVISIT", "Analysis Visit", length=40, source="VISIT, or POST-BASELINE MAXIMUM"),
            V("AVISITN", "Analysis Visit (N)", "integer", source="VISITNUM (99 for the maximum)"),
            V("ADT", "Analysis Date", "adate", source=f"date part of {src}DTC"),
            V("ADY", "Analysis Relative Day", "integer", source=f"{src}DY"),
            V("SAFFL", "Safety Population Flag", length=1, source="ADSL.SAFFL", codelist=ct.NY),
            V("SRCDOM", "Source Data", length=8, origin="Assigned"),
            V("SRCVAR", "Source Variable", length=8, origin="Assigned"),
            V("SRCSEQ", "Source Sequence Number", "integer", source=f"{src}SEQ"),
        ),
    )  # fmt: skip


ADSL = Dataset(
    "ADSL", "Subject-Level Analysis Dataset", "ADaM", "SUBJECT LEVEL ANALYSIS DATASET",
    "One record per subject", ("STUDYID", "USUBJID"),
    (
        *_ID,
        _P("SUBJID", "Subject Identifier for the Study", "DM.SUBJID"),
        _P("SITEID", "Study Site Identifier", "DM.SITEID"),
        V("AGE", "Age", "integer", origin="Predecessor", source="DM.AGE"),
        _P("AGEU", "Age Units", "DM.AGEU"),
        _P("SEX", "Sex", "DM.SEX"),
        _P("ARMCD", "Planned Arm Code", "DM.ARMCD"),
        _P("ARM", "Description of Planned Arm", "DM.ARM"),
        _P("ACTARMCD", "Actual Arm Code", "DM.ACTARMCD"),
        _P("ACTARM", "Description of Actual Arm", "DM.ACTARM"),
        V("COHORT", "Dose-Finding Cohort", "integer", source="SUPPDM.QVAL where QNAM = COHORT"),
        V("TRT01P", "Planned Treatment for Period 01", length=200, core="Req",
          source="IL-2 <dose of the first EX record> MIU/m2"),
        V("TRT01PN", "Planned Treatment for Period 01 (N)", "integer",
          source="dose level: DM.ARMCD level when consistent with the doses, else dose rank"),
        V("TRT01A", "Actual Treatment for Period 01", length=200, source="TRT01P"),
        V("TRT01AN", "Actual Treatment for Period 01 (N)", "integer", source="TRT01PN"),
        V("DOSE01P", "Planned Dose for Period 01", "float", source="EXDOSE of the first EX record, MIU/m2"),
        V("DOSE01A", "Actual Dose for Period 01", "float", source="DOSE01P (starting dose)"),
        V("DOSEU", "Units for Dose", length=10, origin="Assigned", codelist=ct.DOSEUNIT),
        V("TRTSDT", "Date of First Exposure to Treatment", "adate", source="first EX.EXSTDTC"),
        V("TRTEDT", "Date of Last Exposure to Treatment", "adate", source="last EX.EXENDTC with EXDOSE > 0"),
        V("TRTDURD", "Total Treatment Duration (Days)", "integer",
          source="last EXENDY with EXDOSE > 0 - first EXSTDY + 1"),
        V("SAFFL", "Safety Population Flag", length=1, core="Req", codelist=ct.NY,
          source="Y if any EXDOSE > 0"),
        V("DLTEVLFL", "DLT-Evaluable Population Flag", length=1, codelist=ct.NY,
          source="Y if a DLT, or dosed through the DLT window (TRTDURD >= window)"),
        V("PKFL", "PK Population Flag", length=1, codelist=ct.NY,
          source="Y if at least one quantifiable IL-2 concentration"),
        V("DLTFL", "Dose-Limiting Toxicity Flag", length=1, codelist=ct.NY,
          source="Y if any SUPPAE AEDLT = Y; null if the data carry no DLT flag"),
        V("HEIGHTBL", "Baseline Height (cm)", "float", source="SUPPDM.QVAL where QNAM = HEIGHT"),
        V("WEIGHTBL", "Baseline Weight (kg)", "float", source="SUPPDM.QVAL where QNAM = WEIGHT"),
        V("BSABL", "Baseline Body Surface Area (m2)", "float", source="SUPPDM.QVAL where QNAM = BSA"),
    ),
)  # fmt: skip
ADAE = Dataset(
    "ADAE", "Adverse Events Analysis Dataset", "ADaM", "OCCURRENCE DATA STRUCTURE",
    "One record per adverse event record per subject", ("STUDYID", "USUBJID", "AESEQ"),
    (
        *_ID, *_TRT,
        V("AESEQ", "Sequence Number", "integer", origin="Predecessor", source="AE.AESEQ"),
        _P("AETERM", "Reported Term for the Adverse Event", "AE.AETERM"),
        V("AEDECOD", "Dictionary-Derived Term", length=100, source="AE.AEDECOD, else AE.AETERM"),
        _P("AEBODSYS", "Body System or Organ Class", "AE.AEBODSYS"),
        V("ATOXGR", "Analysis Toxicity Grade", length=1, source="AE.AETOXGR", codelist=ct.TOXGR),
        V("ATOXGRN", "Analysis Toxicity Grade (N)", "integer", source="AE.AETOXGR", codelist=ct.TOXGRN),
        _P("AESER", "Serious Event", "AE.AESER"),
        V("ASTDT", "Analysis Start Date", "adate", source="AE.AESTDTC"),
        V("AENDT", "Analysis End Date", "adate", source="AE.AEENDTC"),
        V("ASTDY", "Analysis Start Relative Day", "integer", source="AE.AESTDY"),
        V("AENDY", "Analysis End Relative Day", "integer", source="AE.AEENDY"),
        V("TRTEMFL", "Treatment Emergent Analysis Flag", length=1, codelist=ct.Y_ONLY,
          source="Y if ASTDY >= 1 or ASTDY missing"),
        V("DLTFL", "Dose-Limiting Toxicity Flag", length=1, codelist=ct.NY, source="SUPPAE.QVAL (AEDLT)"),
        V("SAFFL", "Safety Population Flag", length=1, source="ADSL.SAFFL", codelist=ct.NY),
    ),
)  # fmt: skip
ADEX = _bds("ADEX", "Exposure Analysis Dataset", EXPARAM, (
    V("AVAL", "Analysis Value", "float", source="per PARAMCD from EX, see docs/cdisc.md"),
), "EX")  # fmt: skip
ADCP = _bds("ADCP", "Cell Phenotyping Analysis Dataset", CPPARAM, (
    V("AVAL", "Analysis Value", "float", source="CPSTRESN in cells/uL"),
    V("BASE", "Baseline Value", "float", source="AVAL of the record with ABLFL = Y"),
    V("CHG", "Change from Baseline", "float", source="AVAL - BASE, post-baseline records"),
    V("PCHG", "Percent Change from Baseline", "float", source="100 (AVAL / BASE - 1), post-baseline"),
    V("ABLFL", "Baseline Record Flag", length=1, codelist=ct.Y_ONLY,
      source="last non-missing AVAL with ADY <= 1"),
    V("DTYPE", "Derivation Type", length=10, codelist=ct.DTYPE,
      source="MAXIMUM: the largest post-baseline AVAL (first in ADY order)"),
), "CP")  # fmt: skip
ADPC = _bds("ADPC", "Pharmacokinetic Concentrations Analysis", PCPARAM, (
    V("AVAL", "Analysis Value", "float", source="PCSTRESN in pmol/L; null if below the LLOQ"),
    V("AVALC", "Analysis Value (C)", length=20, source="PCSTRESC"),
    V("ALLOQ", "Analysis Lower Limit of Quantitation", "float", source="PCLLOQ in pmol/L"),
    V("BLQFL", "Below Lower Limit of Quantitation Flag", length=1, codelist=ct.NY,
      source="Y if PCSTRESC starts with <"),
    _P("ATPT", "Analysis Timepoint", "PC.PCTPT"),
    V("ATPTN", "Analysis Timepoint (N)", "integer", origin="Predecessor", source="PC.PCTPTNUM"),
    V("NRRLT", "Nominal Rel Time from Ref Dose", "float", source="PCELTM in hours"),
    V("RRLTU", "Rel Time Unit", length=1, origin="Assigned"),
    V("ADTM", "Analysis Datetime", "adatetime", source="PC.PCDTC"),
), "PC")  # fmt: skip
ADIS = _bds("ADIS", "Immunogenicity Analysis Dataset", ISPARAM, (
    V("AVAL", "Analysis Value", "float", source="1 if AVALC = POSITIVE, 0 if NEGATIVE"),
    V("AVALC", "Analysis Value (C)", length=10, source="ISSTRESC", codelist=ct.POSNEG),
), "IS")  # fmt: skip
RSPARAM = ct.sponsor("RSPARAM", "ADRS parameter", RS_TESTS)
ADRS = _bds("ADRS", "Response Analysis Dataset", RSPARAM, (
    V("AVAL", "Analysis Value", "float",
      source="EFFVAL: RSSTRESN; EFFRESP: 1 if RSSTRESC = RESPONDER, 0 if NON-RESPONDER"),
    V("AVALC", "Analysis Value (C)", length=20, source="RSSTRESC"),
    V("CRIT1", "Analysis Criterion 1", length=200, source="EFFVAL: RS.RSCAT (the definition)"),
    V("CRIT1FL", "Criterion 1 Evaluation Result Flag", length=1, codelist=ct.NY,
      source="EFFVAL: Y if the subject's EFFRESP is RESPONDER, else N"),
), "RS")  # fmt: skip
ADDEC = Dataset(
    DECISION.name, DECISION.label, "ADaM", "ADAM OTHER", DECISION.structure, DECISION.keys,
    DECISION.variables, nonstandard=True, comment=DECISION.comment,
)

#: Every ADaM dataset il2sim writes, in write order.
ADAM: dict[str, Dataset] = {
    d.name: d for d in (ADSL, ADAE, ADEX, ADCP, ADPC, ADIS, ADRS, ADDEC)
}
