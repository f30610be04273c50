"""Codelists of il2sim's datasets: CDISC Controlled Terminology where a codelist exists,
sponsor-defined codelists otherwise.

CDISC codelists carry their NCI code (e.g. route ``C66729``); a term carries its NCI code only
where il2sim checked it against published CDISC CT (NCI EVS SDTM Terminology files and the
pharmaverse ``sdtm.oak`` CT extract); the others are left without a code rather than guessed,
and a conformance tool (CDISC CORE, Pinnacle 21) should be run against the CT package of the
submission.  il2sim's own values in an extensible CDISC codelist (e.g. ``MIU/m2`` in UNIT) are
marked as sponsor extensions (Define-XML 2.1 ``def:ExtendedValue="Yes"``).

Sources of the verified codes: route SUBCUTANEOUS C38299 and INTRAVENOUS C38276 (C66729),
dose form INJECTION C42946 (C66726), frequency QD C25473 (C71113), unit IU C48579 and pmol/L
C67434 (C71620), Y C49488 (C66742), action taken (C66767) and outcome (C66768) terms from the
NCI SDTM Terminology 2008-01-15 text file.
"""

from __future__ import annotations

from collections.abc import Mapping

from il2sim.cdisc.schema import Codelist, Term

__all__ = [
    "ACN",
    "AEREL",
    "AGEU",
    "DOSEUNIT",
    "EPOCH",
    "FREQ",
    "FRM",
    "NY",
    "OUT",
    "POSNEG",
    "ROUTE",
    "SEX",
    "SPECTYPE",
    "TOXGR",
    "Y_ONLY",
    "sponsor",
]


def sponsor(name: str, label: str, values: Mapping[str, str | None] | tuple[str, ...]) -> Codelist:
    """A sponsor-defined codelist (no NCI code) from values or ``{value: decode}``."""
    items = values.items() if isinstance(values, Mapping) else ((v, None) for v in values)
    return Codelist(name, label, None, tuple(Term(v, None, d) for v, d in items), True)


NY = Codelist(
    "NY", "No Yes Response", "C66742",
    (Term("N", "C49487", "No"), Term("Y", "C49488", "Yes")), extensible=False,
)  # fmt: skip
#: Flags that are "Y" or null (ADaM population and record flags, ABLFL).
Y_ONLY = Codelist("NY_Y", "No Yes Response (Y only)", "C66742", (Term("Y", "C49488", "Yes"),), False)
ROUTE = Codelist(
    "ROUTE", "Route of Administration", "C66729",
    (Term("SUBCUTANEOUS", "C38299"), Term("INTRAVENOUS", "C38276")),
)  # fmt: skip
FRM = Codelist("FRM", "Pharmaceutical Dosage Form", "C66726", (Term("INJECTION", "C42946"),))
FREQ = Codelist("FREQ", "Frequency", "C71113", (Term("QD", "C25473", "Daily"),))
#: UNIT (C71620) subset for doses; MIU/m2 is il2sim's extension (million IU per m2 of BSA).
DOSEUNIT = Codelist(
    "DOSEUNIT", "Unit (dose)", "C71620",
    (Term("MIU/m2", None, "10^6 International Units per square meter", extended=True),),
)  # fmt: skip
COUNTUNIT = Codelist(
    "COUNTUNIT", "Unit (cell count)", "C71620",
    (Term("cells/uL", None, "Cells per Microliter", extended=True),),
)  # fmt: skip
CONCUNIT = Codelist("CONCUNIT", "Unit (concentration)", "C71620", (Term("pmol/L", "C67434"),))
AGEU = Codelist("AGEU", "Age Unit", "C66781", (Term("YEARS"),))
SEX = Codelist("SEX", "Sex", "C66731", (Term("M", None, "Male"), Term("F", None, "Female")), False)
ACN = Codelist(
    "ACN", "Action Taken with Study Treatment", "C66767",
    (Term("DOSE NOT CHANGED", "C49504"), Term("DOSE REDUCED", "C49505"),
     Term("DRUG INTERRUPTED", "C49501"), Term("DRUG WITHDRAWN", "C49502"),
     Term("NOT APPLICABLE", "C48660"), Term("UNKNOWN", "C17998")),
    extensible=False,
)  # fmt: skip
OUT = Codelist(
    "OUT", "Outcome of Event", "C66768",
    (Term("RECOVERED/RESOLVED"), Term("NOT RECOVERED/NOT RESOLVED"), Term("FATAL")),
    extensible=False,
)  # fmt: skip
TOXGR = Codelist(
    "TOXGR", "Common Terminology Criteria for Adverse Events", "C66784",
    tuple(Term(str(g), None, f"Grade {g}") for g in range(1, 6)), extensible=False,
)  # fmt: skip
TOXGRN = Codelist(
    "TOXGRN", "CTCAE grade (numeric)", None,
    tuple(Term(str(g), None, f"Grade {g}") for g in range(1, 6)), False, "integer",
)  # fmt: skip
SPECTYPE = Codelist("SPECTYPE", "Specimen Type", "C78734", (Term("BLOOD"), Term("SERUM")))
METHOD = Codelist("METHOD", "Method", "C85492", (Term("FLOW CYTOMETRY"),))
EPOCH = Codelist("EPOCH", "Epoch", "C99079", (Term("SCREENING"), Term("TREATMENT")))
AEREL = sponsor("AEREL", "Causality", ("RELATED", "NOT RELATED"))
POSNEG = sponsor("POSNEG", "Positive or Negative", ("POSITIVE", "NEGATIVE"))
DTYPE = Codelist("DTYPE", "Derivation Type", "C81224", (Term("MAXIMUM"),))
TPHASE = Codelist("TPHASE", "Trial Phase Response", "C66737", (Term("PHASE I TRIAL", "C15600"),))
