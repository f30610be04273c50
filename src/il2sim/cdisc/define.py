"""define.xml (CDISC Define-XML 2.1) of one package of datasets, built from the schema.

Built with odmlib's Define-XML 2.1 object model (odmlib 0.2.1, which also ships the Define-XML
2.1 XML schema that :func:`validate_define` checks against).  One ``ItemGroupDef`` per dataset
written (class, structure, keys, ``def:leaf`` to its XPT file name as the submission archive
location; non-standard datasets carry ``def:IsNonStandard="Yes"``), one ``ItemDef`` per
variable (``IT.<DATASET>.<VARIABLE>``: label, data type, the longest value written as length,
significant digits of floats, display format of ADaM dates, origin), a ``CodeList`` per
codelist used (NCI codes as ``nci:ExtCodeID`` aliases; sponsor values in extensible CDISC
codelists as ``def:ExtendedValue="Yes"``) and a ``MethodDef`` per derivation the schema
describes.  Standards: SDTMIG 3.4 or ADaMIG 1.3, and CDISC CT.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from il2sim.cdisc.schema import Codelist, Dataset, Variable

__all__ = ["DEFINE_TYPES", "build_define", "validate_define", "write_define"]

#: Define-XML DataType of each schema type.
DEFINE_TYPES: dict[str, str] = {
    "text": "text",
    "integer": "integer",
    "float": "float",
    "datetime": "datetime",
    "date": "date",
    "duration": "durationDatetime",
    "adate": "integer",
    "adatetime": "integer",
}
_IG = {"SDTM": ("STD.SDTMIG", "SDTMIG", "3.4"), "ADaM": ("STD.ADAMIG", "ADaMIG", "1.3")}
_CT_VERSION = "2024-03-29"


def _text(model: Any, text: str) -> Any:
    m = model
    return m.Description(TranslatedText=[m.TranslatedText(_content=text, lang="en")])


def _length_and_digits(v: Variable, col: pd.Series) -> tuple[int | None, int | None]:
    """Longest value written (text) or digits (numbers), and decimals of floats."""
    if v.type in ("adate", "adatetime"):
        return 8, None
    vals = col.dropna()
    if v.type in ("text", "datetime", "date", "duration"):
        n = int(vals.astype(str).str.len().max()) if len(vals) else 0
        return max(n, 1), None
    if v.type == "integer":
        n = int(vals.astype("int64").abs().astype(str).str.len().max()) if len(vals) else 1
        return max(n, 1), None
    texts = [repr(float(x)) for x in vals]
    if not texts:
        return 8, 0
    dec = max((len(t.split(".")[1]) if "." in t and "e" not in t else 0) for t in texts)
    return max(len(t.lstrip("-")) for t in texts), dec


def _codelist(m: Any, cl: Codelist) -> Any:
    """A CodeList: CodeListItems with decodes when any term has one, else EnumeratedItems."""
    decoded = any(t.decode for t in cl.terms)
    items = []
    for k, t in enumerate(cl.terms, start=1):
        kw: dict[str, object] = {"CodedValue": t.value, "OrderNumber": k}
        if t.extended:
            kw["ExtendedValue"] = "Yes"
        if decoded:
            kw["Decode"] = m.Decode(TranslatedText=[m.TranslatedText(_content=t.decode or t.value, lang="en")])
            item = m.CodeListItem(**kw)
        else:
            item = m.EnumeratedItem(**kw)
        if t.nci:
            item.Alias = [m.Alias(Context="nci:ExtCodeID", Name=t.nci)]
        items.append(item)
    code = m.CodeList(OID=cl.oid, Name=cl.label, DataType=cl.data_type)
    if cl.nci:
        code.StandardOID = "STD.CT"
    if decoded:
        code.CodeListItem = items
    else:
        code.EnumeratedItem = items
    if cl.nci:
        code.Alias = [m.Alias(Context="nci:ExtCodeID", Name=cl.nci)]
    return code


def build_define(
    datasets: Mapping[str, pd.DataFrame],
    specs: Mapping[str, Dataset],
    study_id: str = "IL2SIM",
    created: str = "2024-01-01T00:00:00",
) -> Any:
    """The odmlib ODM object of the define.xml of ``datasets`` (all one standard)."""
    import odmlib.define_2_1.model as m

    standard = specs[next(iter(datasets))].standard
    std_oid, ig_name, ig_version = _IG[standard]
    mdv = m.MetaDataVersion(
        OID=f"MDV.{study_id}.{standard}",
        Name=f"{study_id} {standard} datasets (il2sim)",
        Description="Datasets of an in-silico trial simulated by il2sim",
        DefineVersion="2.1.0",
    )
    mdv.Standards = m.Standards(Standard=[
        m.Standard(OID=std_oid, Name=ig_name, Type="IG", Version=ig_version, Status="Final"),
        m.Standard(OID="STD.CT", Name="CDISC/NCI", Type="CT",
                   PublishingSet="ADaM" if standard == "ADaM" else "SDTM",
                   Version=_CT_VERSION, Status="Final"),
    ])  # fmt: skip
    item_defs: list[Any] = []
    methods: list[Any] = []
    comments: list[Any] = []
    leaves: list[Any] = []
    codelists: dict[str, Codelist] = {}
    for name, df in datasets.items():
        ds = specs[name]
        leaf_id = f"LF.{ds.name}"
        ig = m.ItemGroupDef(
            OID=ds.oid, Name=ds.name,
            Repeating="No" if ds.reference or ds.structure == "One record per subject" else "Yes",
            IsReferenceData="Yes" if ds.reference else "No", SASDatasetName=ds.name,
            Purpose="Analysis" if ds.standard == "ADaM" else "Tabulation",
            Structure=ds.structure, ArchiveLocationID=leaf_id,
        )  # fmt: skip
        if ds.standard == "SDTM" and not ds.nonstandard and len(ds.name) == 2:
            ig.Domain = ds.name
        if ds.nonstandard:
            ig.IsNonStandard = "Yes"
        else:
            ig.StandardOID = std_oid
        if ds.comment:
            ig.CommentOID = f"COM.{ds.name}"
            comments.append(m.CommentDef(OID=f"COM.{ds.name}", Description=_text(m, ds.comment)))
        ig.Description = _text(m, ds.label)
        ig.Class = m.Class(Name=ds.klass)
        ig.leaf = m.leaf(ID=leaf_id, href=f"{ds.file_stem}.xpt", title=m.title(_content=f"{ds.file_stem}.xpt"))
        refs = []
        for k, v in enumerate(ds.variables, start=1):
            oid = f"IT.{ds.name}.{v.name}"
            ref = m.ItemRef(ItemOID=oid, OrderNumber=k, Mandatory="Yes" if v.core == "Req" else "No")
            if v.name in ds.keys:
                ref.KeySequence = ds.keys.index(v.name) + 1
            if v.role and ds.standard == "SDTM":
                ref.Role = v.role
            if v.origin == "Derived" and v.source:
                ref.MethodOID = f"MT.{ds.name}.{v.name}"
                methods.append(m.MethodDef(OID=ref.MethodOID, Name=f"Derivation of {ds.name}.{v.name}",
                                           Type="Computation", Description=_text(m, v.source)))  # fmt: skip
            refs.append(ref)
            length, digits = _length_and_digits(v, df[v.name])
            item = m.ItemDef(OID=oid, Name=v.name, DataType=DEFINE_TYPES[v.type], SASFieldName=v.name)
            if v.type not in ("datetime", "date", "duration"):
                item.Length = length
            if v.type == "float" and digits is not None:
                item.SignificantDigits = digits
            if v.type in ("adate", "adatetime"):
                item.DisplayFormat = "DATE9." if v.type == "adate" else "DATETIME20."
            item.Description = _text(m, v.label)
            if v.codelist is not None:
                item.CodeListRef = m.CodeListRef(CodeListOID=v.codelist.oid)
                codelists.setdefault(v.codelist.oid, v.codelist)
            origin = m.Origin(Type=v.origin)
            if v.origin == "Collected":
                origin.Source = "Investigator"
            elif v.origin in ("Assigned", "Protocol", "Derived"):
                origin.Source = "Sponsor"
            if v.origin == "Predecessor":
                origin.Description = _text(m, v.source or v.name)
            item.Origin = [origin]
            item_defs.append(item)
        ig.ItemRef = refs
        mdv.ItemGroupDef.append(ig)
    mdv.ItemDef = item_defs
    mdv.CodeList = [_codelist(m, cl) for cl in codelists.values()]
    mdv.MethodDef = methods
    mdv.CommentDef = comments
    mdv.leaf = leaves
    study = m.Study(
        OID=f"STUDY.{study_id}",
        GlobalVariables=m.GlobalVariables(
            StudyName=m.StudyName(_content=study_id),
            StudyDescription=m.StudyDescription(_content="In-silico low-dose IL-2 trial (il2sim)"),
            ProtocolName=m.ProtocolName(_content=study_id),
        ),
        MetaDataVersion=mdv,
    )
    from il2sim._version import __version__

    return m.ODM(
        FileType="Snapshot", FileOID=f"DEF.{study_id}.{standard}", CreationDateTime=created,
        ODMVersion="1.3.2", Originator="il2sim", SourceSystem="il2sim",
        SourceSystemVersion=__version__, Context="Submission", Study=study,
    )  # fmt: skip


def write_define(
    datasets: Mapping[str, pd.DataFrame],
    specs: Mapping[str, Dataset],
    path: Path,
    study_id: str = "IL2SIM",
    created: str = "2024-01-01T00:00:00",
) -> Path:
    """Write ``define.xml`` of ``datasets`` to ``path``; return the path."""
    odm = build_define(datasets, specs, study_id, created)
    odm.write_xml(str(path))
    return path


def validate_define(path: str | Path) -> None:
    """Validate ``path`` against the Define-XML 2.1 XML schema (raises on the first error)."""
    from odmlib.odm_parser import ODMSchemaValidator

    ODMSchemaValidator(standard="define", version="2.1").validate_file(str(path))
