"""SDTM datasets il2sim writes (SDTM v2.0 / SDTMIG 3.4), declared once.

Subject data: DM (+ SUPPDM), EX, AE (+ SUPPAE: the DLT flag), CP (cell phenotyping: NK
counts), PC (serum IL-2), IS (anti-IL-2 antibodies), RS (the model-defined efficacy
response, written only when the trial has an efficacy definition).  Trial design: TS, TA, TE, TV.
DECISION, the dose-escalation decision log (one record per cohort), is not part of SDTM and is
declared non-standard (Define-XML 2.1 ``def:IsNonStandard``).

Variable order, labels and core follow the SDTMIG 3.4 domain specifications; lengths are
il2sim's maxima (define.xml states the longest value written).  CP test codes live in
:data:`CP_TESTS` (one line per cell population, so later cell types add a line).
"""

from __future__ import annotations

from il2sim.cdisc import terminology as ct
from il2sim.cdisc.schema import Codelist, Dataset, Variable, VarType

__all__ = ["CP_TESTS", "DOMAINS", "IS_TESTS", "PC_TESTS", "RS_TESTS", "SDTM"]

#: CP test code -> (test name, standard unit).  Sponsor-defined codes (CDISC CP test codes
#: for these NK subsets are not used; the mapping to a study's codes is ``--test-codes``).
CP_TESTS: dict[str, tuple[str, str]] = {
    "NKCELLS": ("Natural Killer Cells (CD3-CD56+)", "cells/uL"),
    "NKBRIGHT": ("CD56bright Natural Killer Cells", "cells/uL"),
    "TREG": ("Regulatory T Cells (CD4+CD25hiFOXP3+)", "cells/uL"),
    "CD4TCONV": ("Conventional CD4+ T Cells (non-Treg)", "cells/uL"),
    "CD8T": ("CD8+ T Cells", "cells/uL"),
}
PC_TESTS: dict[str, tuple[str, str]] = {"IL2": ("Interleukin 2", "pmol/L")}
IS_TESTS: dict[str, str] = {
    "IL2AB": "Anti-IL-2 Antibody",
    "IL2NAB": "Neutralizing Anti-IL-2 Antibody",
}
CPTESTCD = ct.sponsor("CPTESTCD", "Cell Phenotyping Test Code", {k: v[0] for k, v in CP_TESTS.items()})
CPTEST = ct.sponsor("CPTEST", "Cell Phenotyping Test Name", tuple(v[0] for v in CP_TESTS.values()))
PCTESTCD = ct.sponsor("PCTESTCD", "PK Analyte Code", {k: v[0] for k, v in PC_TESTS.items()})
ISTESTCD = ct.sponsor("ISTESTCD", "Immunogenicity Test Code", IS_TESTS)


def V(
    name: str,
    label: str,
    type_: VarType = "text",
    length: int = 200,
    origin: str = "Derived",
    core: str = "Exp",
    codelist: Codelist | None = None,
    role: str | None = None,
    source: str = "",
) -> Variable:
    """Shorthand for a :class:`Variable`."""
    return Variable(name, label, type_, length, origin, core, codelist, role, source)  # type: ignore[arg-type]


def _ids(domain: str) -> tuple[Variable, ...]:
    return (
        V("STUDYID", "Study Identifier", length=20, origin="Protocol", core="Req", role="Identifier"),
        V("DOMAIN", "Domain Abbreviation", length=2, origin="Assigned", core="Req", role="Identifier"),
        V("USUBJID", "Unique Subject Identifier", length=40, core="Req", role="Identifier",
          source="STUDYID-SUBJID"),
        V(f"{domain}SEQ", "Sequence Number", "integer", core="Req", role="Identifier",
          source="record number within subject"),
    )  # fmt: skip


def _timing(domain: str, dtc: str = "datetime") -> tuple[Variable, ...]:
    return (
        V("VISITNUM", "Visit Number", "integer", origin="Assigned", role="Timing"),
        V("VISIT", "Visit Name", length=40, origin="Assigned", role="Timing"),
        V("VISITDY", "Planned Study Day of Visit", "integer", origin="Protocol", core="Perm",
          role="Timing"),
        V("EPOCH", "Epoch", length=20, origin="Assigned", codelist=ct.EPOCH, role="Timing"),
        V(f"{domain}DTC", "Date/Time of Specimen Collection", dtc, 19, "Collected", role="Timing"),  # type: ignore[arg-type]
        V(f"{domain}DY", "Study Day of Specimen Collection", "integer", role="Timing",
          source=f"{domain}DTC - RFSTDTC (+1 on or after RFSTDTC)"),
    )  # fmt: skip


def _supp(name: str, rdomain: str, label: str) -> Dataset:
    return Dataset(
        name, label, "SDTM", "RELATIONSHIP",
        "One record per IDVAR, IDVARVAL, and QNAM value per subject",
        ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
        (
            V("STUDYID", "Study Identifier", length=20, origin="Protocol", core="Req"),
            V("RDOMAIN", "Related Domain Abbreviation", length=2, origin="Assigned", core="Req"),
            V("USUBJID", "Unique Subject Identifier", length=40, core="Req"),
            V("IDVAR", "Identifying Variable", length=8, origin="Assigned"),
            V("IDVARVAL", "Identifying Variable Value", length=40, origin="Assigned"),
            V("QNAM", "Qualifier Variable Name", length=8, origin="Assigned", core="Req"),
            V("QLABEL", "Qualifier Variable Label", length=40, origin="Assigned", core="Req"),
            V("QVAL", "Data Value", length=200, core="Req"),
            V("QORIG", "Origin", length=20, origin="Assigned", core="Req"),
        ),
    )  # fmt: skip


DM = Dataset(
    "DM", "Demographics", "SDTM", "SPECIAL PURPOSE", "One record per subject", ("STUDYID", "USUBJID"),
    (
        *_ids("DM")[:3],
        V("SUBJID", "Subject Identifier for the Study", length=10, origin="Assigned", core="Req"),
        V("RFSTDTC", "Subject Reference Start Date/Time", "date", 10, source="date of first dose"),
        V("RFENDTC", "Subject Reference End Date/Time", "date", 10, source="date of last planned day"),
        V("RFXSTDTC", "Date/Time of First Study Treatment", "date", 10, source="EX.EXSTDTC (first)"),
        V("RFXENDTC", "Date/Time of Last Study Treatment", "date", 10, source="EX.EXENDTC (last dose > 0)"),
        V("SITEID", "Study Site Identifier", length=10, origin="Assigned", core="Req"),
        V("AGE", "Age", "integer", origin="Collected"),
        V("AGEU", "Age Units", length=10, origin="Assigned", codelist=ct.AGEU),
        V("SEX", "Sex", length=1, origin="Collected", core="Req", codelist=ct.SEX),
        V("ARMCD", "Planned Arm Code", length=20, origin="Assigned", core="Req", source="L<dose level>"),
        V("ARM", "Description of Planned Arm", length=200, origin="Assigned", core="Req"),
        V("ACTARMCD", "Actual Arm Code", length=20, origin="Assigned", core="Req"),
        V("ACTARM", "Description of Actual Arm", length=200, origin="Assigned", core="Req"),
        V("COUNTRY", "Country", length=3, origin="Assigned", core="Req"),
    ),
)  # fmt: skip
SUPPDM = _supp("SUPPDM", "DM", "Supplemental Qualifiers for DM")
SUPPAE = _supp("SUPPAE", "AE", "Supplemental Qualifiers for AE")
EX = Dataset(
    "EX", "Exposure", "SDTM", "INTERVENTIONS", "One record per constant dosing interval per subject",
    ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC"),
    (
        *_ids("EX"),
        V("EXTRT", "Name of Treatment", length=40, origin="Protocol", core="Req", role="Topic"),
        V("EXDOSE", "Dose", "float", origin="Collected"),
        V("EXDOSU", "Dose Units", length=10, origin="Protocol", codelist=ct.DOSEUNIT),
        V("EXDOSFRM", "Dose Form", length=20, origin="Protocol", codelist=ct.FRM),
        V("EXDOSFRQ", "Dosing Frequency per Interval", length=10, origin="Protocol", codelist=ct.FREQ),
        V("EXROUTE", "Route of Administration", length=20, origin="Protocol", codelist=ct.ROUTE),
        V("EXADJ", "Reason for Dose Adjustment", length=40, origin="Collected", core="Perm"),
        V("EPOCH", "Epoch", length=20, origin="Assigned", codelist=ct.EPOCH),
        V("EXSTDTC", "Start Date/Time of Treatment", "date", 10, "Collected"),
        V("EXENDTC", "End Date/Time of Treatment", "date", 10, "Collected"),
        V("EXSTDY", "Study Day of Start of Treatment", "integer"),
        V("EXENDY", "Study Day of End of Treatment", "integer"),
    ),
)  # fmt: skip
AE = Dataset(
    "AE", "Adverse Events", "SDTM", "EVENTS", "One record per run of days at one grade per AE term",
    ("STUDYID", "USUBJID", "AEDECOD", "AESTDTC"),
    (
        *_ids("AE"),
        V("AETERM", "Reported Term for the Adverse Event", origin="Collected", core="Req", role="Topic"),
        V("AEDECOD", "Dictionary-Derived Term", length=100, core="Req"),
        V("AEBODSYS", "Body System or Organ Class", length=100),
        V("AESER", "Serious Event", length=1, origin="Collected", codelist=ct.NY, source="Y if grade >= 4"),
        V("AEACN", "Action Taken with Study Treatment", length=20, origin="Collected", codelist=ct.ACN),
        V("AEREL", "Causality", length=20, origin="Collected", codelist=ct.AEREL),
        V("AEOUT", "Outcome of Adverse Event", length=30, origin="Collected", codelist=ct.OUT),
        V("AETOXGR", "Standard Toxicity Grade", length=1, origin="Collected", codelist=ct.TOXGR,
          source="CTCAE v5 grade (model score thresholds, docs/model.md)"),
        V("EPOCH", "Epoch", length=20, origin="Assigned", codelist=ct.EPOCH),
        V("AESTDTC", "Start Date/Time of Adverse Event", "date", 10, "Collected"),
        V("AEENDTC", "End Date/Time of Adverse Event", "date", 10, "Collected"),
        V("AESTDY", "Study Day of Start of Adverse Event", "integer"),
        V("AEENDY", "Study Day of End of Adverse Event", "integer"),
    ),
)  # fmt: skip
CP = Dataset(
    "CP", "Cell Phenotype Findings", "SDTM", "FINDINGS", "One record per test per visit per subject",
    ("STUDYID", "USUBJID", "CPTESTCD", "VISITNUM"),
    (
        *_ids("CP"),
        V("CPTESTCD", "Cell Phenotyping Test Short Name", length=8, origin="Assigned", core="Req",
          codelist=CPTESTCD, role="Topic"),
        V("CPTEST", "Cell Phenotyping Test Name", length=40, origin="Assigned", core="Req", codelist=CPTEST),
        V("CPORRES", "Result or Finding in Original Units", length=20, origin="Collected"),
        V("CPORRESU", "Original Units", length=10, origin="Collected", codelist=ct.COUNTUNIT),
        V("CPSTRESC", "Character Result/Finding in Std Format", length=20),
        V("CPSTRESN", "Numeric Result/Finding in Standard Units", "float"),
        V("CPSTRESU", "Standard Units", length=10, codelist=ct.COUNTUNIT),
        V("CPSPEC", "Specimen Material Type", length=10, origin="Assigned", codelist=ct.SPECTYPE),
        V("CPMETHOD", "Method of Test or Examination", length=20, origin="Assigned", codelist=ct.METHOD),
        V("CPLOBXFL", "Last Observation Before Exposure Flag", length=1, codelist=ct.Y_ONLY),
        V("CPBLFL", "Baseline Flag", length=1, core="Perm", codelist=ct.Y_ONLY),
        *_timing("CP"),
    ),
)  # fmt: skip
PC = Dataset(
    "PC", "Pharmacokinetics Concentrations", "SDTM", "FINDINGS",
    "One record per sample characteristic or time point concentration per reference time point or "
    "per analyte per subject",
    ("STUDYID", "USUBJID", "PCTESTCD", "VISITNUM", "PCTPTNUM"),
    (
        *_ids("PC"),
        V("PCTESTCD", "Pharmacokinetic Test Short Name", length=8, origin="Assigned", core="Req",
          codelist=PCTESTCD, role="Topic"),
        V("PCTEST", "Pharmacokinetic Test Name", length=40, origin="Assigned", core="Req"),
        V("PCORRES", "Result or Finding in Original Units", length=20, origin="Collected"),
        V("PCORRESU", "Original Units", length=10, origin="Collected", codelist=ct.CONCUNIT),
        V("PCSTRESC", "Character Result/Finding in Std Format", length=20, source="<LLOQ if below LLOQ"),
        V("PCSTRESN", "Numeric Result/Finding in Standard Units", "float", source="missing if below LLOQ"),
        V("PCSTRESU", "Standard Units", length=10, codelist=ct.CONCUNIT),
        V("PCSPEC", "Specimen Material Type", length=10, origin="Assigned", codelist=ct.SPECTYPE),
        V("PCLLOQ", "Lower Limit of Quantitation", "float", origin="Assigned"),
        V("PCTPT", "Planned Time Point Name", length=20, origin="Protocol"),
        V("PCTPTNUM", "Planned Time Point Number", "integer", origin="Protocol"),
        V("PCELTM", "Planned Elapsed Time from Time Point Ref", "duration", 10, "Protocol"),
        V("PCTPTREF", "Time Point Reference", length=40, origin="Protocol"),
        V("PCRFTDTC", "Date/Time of Reference Time Point", "datetime", 19),
        *_timing("PC"),
    ),
)  # fmt: skip
IS = Dataset(
    "IS", "Immunogenicity Specimen Assessments", "SDTM", "FINDINGS",
    "One record per test per visit per subject", ("STUDYID", "USUBJID", "ISTESTCD", "VISITNUM"),
    (
        *_ids("IS"),
        V("ISTESTCD", "Immunogenicity Test/Exam Short Name", length=8, origin="Assigned", core="Req",
          codelist=ISTESTCD, role="Topic"),
        V("ISTEST", "Immunogenicity Test or Examination Name", length=40, origin="Assigned", core="Req"),
        V("ISBDAGNT", "Binding Agent", length=40, origin="Assigned", core="Perm"),
        V("ISORRES", "Result or Finding in Original Units", length=10, origin="Collected", codelist=ct.POSNEG),
        V("ISSTRESC", "Character Result/Finding in Std Format", length=10, codelist=ct.POSNEG),
        V("ISSPEC", "Specimen Material Type", length=10, origin="Assigned", codelist=ct.SPECTYPE),
        *_timing("IS", "date"),
    ),
)  # fmt: skip

#: RS test codes (sponsor-defined: SDTMIG 3.4 RS holds responses to sponsor-defined criteria
#: as well as published ones; RSCAT names the criterion, here the efficacy definition).
RS_TESTS: dict[str, str] = {
    "EFFVAL": "Efficacy Endpoint Quantity",
    "EFFRESP": "Model-Defined Efficacy Response",
}
RSTESTCD = ct.sponsor("RSTESTCD", "Response Test Code", RS_TESTS)
RS = Dataset(
    "RS", "Disease Response and Clin Classification", "SDTM", "FINDINGS",
    "One record per response assessment per visit per subject",
    ("STUDYID", "USUBJID", "RSTESTCD", "VISITDY"),
    (
        *_ids("RS"),
        V("RSTESTCD", "Assessment Short Name", length=8, origin="Assigned", core="Req",
          codelist=RSTESTCD, role="Topic"),
        V("RSTEST", "Assessment Name", length=40, origin="Assigned", core="Req"),
        V("RSCAT", "Category for Assessment", length=100, origin="Assigned",
          source="the efficacy definition (il2sim trial --efficacy)"),
        V("RSORRES", "Result or Finding in Original Units", length=20, origin="Derived",
          source="EFFVAL: model value on the day; EFFRESP: RESPONDER or NON-RESPONDER"),
        V("RSORRESU", "Original Units", length=20, origin="Assigned", core="Perm"),
        V("RSSTRESC", "Character Result/Finding in Std Format", length=20),
        V("RSSTRESN", "Numeric Result/Finding in Standard Units", "float", core="Perm"),
        V("RSSTRESU", "Standard Units", length=20, origin="Assigned", core="Perm"),
        V("RSEVAL", "Evaluator", length=40, origin="Assigned", core="Perm"),
        *_timing("RS"),
    ),
)  # fmt: skip

_TD_IDS = _ids("TS")[:2]
TS = Dataset(
    "TS", "Trial Summary", "SDTM", "TRIAL DESIGN", "One record per trial summary parameter value",
    ("STUDYID", "TSPARMCD", "TSSEQ"),
    (
        *_TD_IDS,
        V("TSSEQ", "Sequence Number", "integer", origin="Assigned", core="Req"),
        V("TSPARMCD", "Trial Summary Parameter Short Name", length=8, origin="Assigned", core="Req"),
        V("TSPARM", "Trial Summary Parameter", length=40, origin="Assigned", core="Req"),
        V("TSVAL", "Parameter Value", length=200, origin="Protocol"),
        V("TSVALNF", "Parameter Null Flavor", length=10, origin="Assigned", core="Perm"),
        V("TSVALCD", "Parameter Value Code", length=20, origin="Assigned"),
        V("TSVCDREF", "Name of the Reference Terminology", length=20, origin="Assigned"),
        V("TSVCDVER", "Version of the Reference Terminology", length=20, origin="Assigned"),
    ),
    reference=True,
)  # fmt: skip
TA = Dataset(
    "TA", "Trial Arms", "SDTM", "TRIAL DESIGN", "One record per planned Element per Arm",
    ("STUDYID", "ARMCD", "TAETORD"),
    (
        *_TD_IDS,
        V("ARMCD", "Planned Arm Code", length=20, origin="Protocol", core="Req"),
        V("ARM", "Description of Planned Arm", length=200, origin="Protocol", core="Req"),
        V("TAETORD", "Planned Order of Element within Arm", "integer", origin="Protocol", core="Req"),
        V("ETCD", "Element Code", length=8, origin="Protocol", core="Req"),
        V("ELEMENT", "Description of Element", length=200, origin="Protocol", core="Perm"),
        V("TABRANCH", "Branch", length=200, origin="Protocol"),
        V("TATRANS", "Transition Rule", length=200, origin="Protocol"),
        V("EPOCH", "Epoch", length=20, origin="Protocol", core="Req", codelist=ct.EPOCH),
    ),
    reference=True,
)  # fmt: skip
TE = Dataset(
    "TE", "Trial Elements", "SDTM", "TRIAL DESIGN", "One record per planned Element",
    ("STUDYID", "ETCD"),
    (
        *_TD_IDS,
        V("ETCD", "Element Code", length=8, origin="Protocol", core="Req"),
        V("ELEMENT", "Description of Element", length=200, origin="Protocol", core="Req"),
        V("TESTRL", "Rule for Start of Element", length=200, origin="Protocol", core="Req"),
        V("TEENRL", "Rule for End of Element", length=200, origin="Protocol"),
        V("TEDUR", "Planned Duration of Element", "duration", 10, "Protocol"),
    ),
    reference=True,
)  # fmt: skip
TV = Dataset(
    "TV", "Trial Visits", "SDTM", "TRIAL DESIGN", "One record per planned Visit per Arm",
    ("STUDYID", "VISITNUM"),
    (
        *_TD_IDS,
        V("VISITNUM", "Visit Number", "integer", origin="Protocol", core="Req"),
        V("VISIT", "Visit Name", length=40, origin="Protocol"),
        V("VISITDY", "Planned Study Day of Visit", "integer", origin="Protocol", core="Perm"),
        V("ARMCD", "Planned Arm Code", length=20, origin="Protocol", source="blank: every arm"),
        V("TVSTRL", "Visit Start Rule", length=200, origin="Protocol", core="Req"),
        V("TVENRL", "Visit End Rule", length=200, origin="Protocol"),
    ),
    reference=True,
)  # fmt: skip
DECISION = Dataset(
    "DECISION", "Dose-Escalation Decisions (non-standard)", "SDTM", "SPECIAL PURPOSE",
    "One record per cohort", ("STUDYID", "COHORT"),
    (
        V("STUDYID", "Study Identifier", length=20, origin="Protocol", core="Req"),
        V("COHORT", "Cohort Number", "integer", origin="Assigned", core="Req"),
        V("LEVEL", "Dose Level Treated", "integer", origin="Assigned", core="Req"),
        V("DOSE", "Dose of the Level", "float", origin="Protocol"),
        V("DOSEU", "Dose Units", length=10, origin="Protocol", codelist=ct.DOSEUNIT),
        V("NSUBJ", "Subjects in Cohort", "integer"),
        V("NDLT", "Subjects with a DLT in Cohort", "integer"),
        V("DECISION", "Decision of the Design", length=200, source="design rule"),
        V("NXTLEVEL", "Next Dose Level", "integer"),
        V("NXTDOSE", "Next Dose", "float"),
        V("STOPFL", "Escalation Stopped Flag", length=1, codelist=ct.NY),
        V("MTDLEVEL", "MTD Level Selected so Far", "integer"),
        V("MTDDOSE", "MTD Selected so Far", "float"),
    ),
    nonstandard=True,
    comment="Design's decision log; not an SDTM domain (il2sim sponsor-defined).",
)  # fmt: skip

#: The decision log of a live trial (``il2sim serve``): the design's decision beside the one
#: the team took, who decided and entered, and whether the cohort deviated from the plan.
DECISION_LIVE = Dataset(
    DECISION.name, DECISION.label, DECISION.standard, DECISION.klass, DECISION.structure,
    DECISION.keys,
    (
        *DECISION.variables,
        V("TEAMACT", "Team Action on the Recommendation", length=20, origin="Collected",
          source="FOLLOW or OVERRIDE"),
        V("TEAMNXT", "Next Dose Level Decided by the Team", "integer", origin="Collected"),
        V("TEAMSTFL", "Team Stopped Escalation Flag", length=1, origin="Collected",
          codelist=ct.NY),
        V("TEAMRSN", "Reason for the Team Decision", length=200, origin="Collected"),
        V("DECIDBY", "Decision Recorded by (User)", length=40, origin="Collected"),
        V("ENTERBY", "Cohort Entered by (User)", length=40, origin="Collected"),
        V("DEVIATFL", "Cohort Deviated from the Plan Flag", length=1, origin="Derived",
          codelist=ct.NY),
    ),
    nonstandard=True,
    comment="Live trial's decision log (il2sim serve): recommendation and team decision.",
)  # fmt: skip

#: Every SDTM dataset il2sim writes, in write order.
SDTM: dict[str, Dataset] = {
    d.name: d for d in (DM, SUPPDM, EX, AE, SUPPAE, CP, PC, IS, RS, TS, TA, TE, TV, DECISION)
}
#: The datasets of a live trial's export (``il2sim serve``).
SDTM_LIVE: dict[str, Dataset] = {**SDTM, "DECISION": DECISION_LIVE}
#: Subject-level domains (v0.1 names kept for compatibility of ``il2sim.DOMAINS``).
#: RS is written only with an efficacy definition, so it is not among them.
DOMAINS: tuple[str, ...] = tuple(n for n in SDTM if n != "RS")
