"""The schema of il2sim's CDISC datasets: one declaration that drives writer, reader,
validation and define.xml.

A :class:`Dataset` lists its :class:`Variable` s in the order they are written; each variable
has its label, type, length, origin, core status and (optionally) a :class:`Codelist`.  The
declarations themselves live in :mod:`il2sim.cdisc.sdtm_spec` (SDTM) and
:mod:`il2sim.cdisc.adam_spec` (ADaM); :mod:`il2sim.cdisc.terminology` holds the codelists.

Types (``Variable.type``) and what each becomes:

=============  ==========================  ======================  ===========================
type           in memory (pandas)          Define-XML 2.1 DataType Dataset-JSON 1.1 dataType
=============  ==========================  ======================  ===========================
text           str ("" = missing)          text                    string
integer        Int64 (nullable)            integer                 integer
float          float64 (NaN = missing)     float                   double
datetime       str, ISO 8601               datetime                datetime
date           str, ISO 8601 (date only)   date                    date
duration       str, ISO 8601 duration      durationDatetime        string
adate          datetime64 (ADaM numeric)   integer, DATE9.         date (targetDataType integer)
adatetime      datetime64 (ADaM numeric)   integer, DATETIME20.    datetime (target integer)
=============  ==========================  ======================  ===========================

Origins follow Define-XML 2.1 (section 5.3.11.2): Collected, Derived, Assigned, Protocol,
Predecessor.  Core follows SDTMIG 3.4 / ADaMIG 1.3: Req, Exp, Perm (ADaM "Cond" is written
as Perm).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "TYPES",
    "Codelist",
    "Dataset",
    "Term",
    "Variable",
    "check_frame",
    "conform",
]

VarType = Literal["text", "integer", "float", "datetime", "date", "duration", "adate", "adatetime"]
TYPES: tuple[str, ...] = (
    "text", "integer", "float", "datetime", "date", "duration", "adate", "adatetime",
)  # fmt: skip
NUMERIC_TYPES = frozenset({"integer", "float"})
ADAM_DATE_TYPES = frozenset({"adate", "adatetime"})
ORIGINS = frozenset({"Collected", "Derived", "Assigned", "Protocol", "Predecessor"})


@dataclass(frozen=True)
class Term:
    """One codelist term: submission value, NCI C-code (when verified), decode, and
    whether it is a sponsor extension of an extensible CDISC codelist."""

    value: str
    nci: str | None = None
    decode: str | None = None
    extended: bool = False


@dataclass(frozen=True)
class Codelist:
    """A codelist: short name (used in the OID ``CL.<name>``), long name, NCI code of the
    CDISC codelist (None for sponsor codelists), its terms and whether CDISC lets sponsors
    extend it."""

    name: str
    label: str
    nci: str | None
    terms: tuple[Term, ...]
    extensible: bool = True
    data_type: Literal["text", "integer"] = "text"

    @property
    def values(self) -> frozenset[str]:
        """Submission values."""
        return frozenset(t.value for t in self.terms)

    @property
    def oid(self) -> str:
        return f"CL.{self.name}"


@dataclass(frozen=True)
class Variable:
    """One variable: name (<= 8 characters), label (<= 40), type (see module doc), maximum
    length of a text value, origin, core, codelist, SDTM role, derivation or predecessor
    text (``source``: written to define.xml as the method or origin description)."""

    name: str
    label: str
    type: VarType
    length: int = 8
    origin: str = "Derived"
    core: Literal["Req", "Exp", "Perm"] = "Exp"
    codelist: Codelist | None = None
    role: str | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.name) > 8 or self.name != self.name.upper():
            raise ValueError(f"variable name {self.name!r}: upper case, <= 8 characters")
        if len(self.label) > 40:
            raise ValueError(f"label of {self.name} longer than 40: {self.label!r}")
        if self.type not in TYPES:
            raise ValueError(f"unknown type {self.type!r} of {self.name}")
        if self.origin not in ORIGINS:
            raise ValueError(f"unknown origin {self.origin!r} of {self.name}")

    @property
    def numeric(self) -> bool:
        """Stored as a number in SAS XPT (integer, float, ADaM dates)."""
        return self.type in NUMERIC_TYPES or self.type in ADAM_DATE_TYPES


@dataclass(frozen=True)
class Dataset:
    """One dataset: name, label, standard (``SDTM`` or ``ADaM``), class, structure, key
    variables and variables in write order.  ``nonstandard``: not part of the standard
    (Define-XML 2.1 ``def:IsNonStandard``); ``reference``: trial design data
    (``IsReferenceData``)."""

    name: str
    label: str
    standard: Literal["SDTM", "ADaM"]
    klass: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[Variable, ...]
    nonstandard: bool = False
    reference: bool = False
    subclass: str | None = None
    comment: str = ""
    _index: dict[str, Variable] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.name) > 8 or self.name != self.name.upper():
            raise ValueError(f"dataset name {self.name!r}: upper case, <= 8 characters")
        names = [v.name for v in self.variables]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate variable")
        missing = [k for k in self.keys if k not in names]
        if missing:
            raise ValueError(f"{self.name}: key {missing[0]} is not a variable")
        self._index.update({v.name: v for v in self.variables})

    @property
    def names(self) -> tuple[str, ...]:
        """Variable names in write order."""
        return tuple(v.name for v in self.variables)

    @property
    def oid(self) -> str:
        return f"IG.{self.name}"

    @property
    def file_stem(self) -> str:
        """File name without suffix (lower case, as submissions name them)."""
        return self.name.lower()

    def variable(self, name: str) -> Variable:
        """The variable ``name`` (KeyError if not declared)."""
        return self._index[name]

    def has(self, name: str) -> bool:
        return name in self._index


def _blank(series: pd.Series) -> np.ndarray:
    return np.asarray(series.isna() | (series.astype(str).str.strip() == ""), dtype=bool)


def conform(df: pd.DataFrame, ds: Dataset) -> pd.DataFrame:
    """``df`` with exactly the declared variables, in order, with the in-memory types of
    the module docstring (missing variables become empty columns)."""
    out = pd.DataFrame(index=df.index)
    for v in ds.variables:
        col = df[v.name] if v.name in df.columns else pd.Series(pd.NA, index=df.index)
        if v.type == "integer":
            num = pd.to_numeric(col, errors="raise")
            out[v.name] = num.round().astype("Int64") if len(num) else num.astype("Int64")
        elif v.type == "float":
            out[v.name] = pd.to_numeric(col, errors="raise").astype(float)
        elif v.type in ADAM_DATE_TYPES:
            out[v.name] = pd.to_datetime(col, errors="raise")
        elif pd.api.types.is_string_dtype(col) and not isinstance(col.dtype, np.dtype):
            out[v.name] = col.fillna("").astype(str)
        else:
            out[v.name] = ["" if pd.isna(x) else str(x) for x in col]
    return out.reset_index(drop=True)


def check_frame(df: pd.DataFrame, ds: Dataset) -> list[str]:
    """Problems of ``df`` against ``ds`` (empty list = conformant): variables missing or not
    declared, required values missing, text too long, values outside a codelist."""
    problems: list[str] = []
    declared = set(ds.names)
    for c in df.columns:
        if c not in declared:
            problems.append(f"{ds.name}: variable {c} is not declared")
    for v in ds.variables:
        if v.name not in df.columns:
            if v.core == "Req":
                problems.append(f"{ds.name}: required variable {v.name} missing")
            continue
        col = df[v.name]
        blank = _blank(col)
        if v.core == "Req" and blank.any():
            i = int(np.flatnonzero(blank)[0])
            problems.append(f"{ds.name} row {i + 1}: required {v.name} is empty")
        if v.type in ("text", "datetime", "date", "duration"):
            too_long = [i for i, x in enumerate(col) if isinstance(x, str) and len(x) > v.length]
            if too_long:
                problems.append(
                    f"{ds.name} row {too_long[0] + 1}: {v.name} longer than {v.length}"
                )
        if v.codelist is not None:
            allowed = v.codelist.values
            for i, x in enumerate(col):
                if blank[i]:
                    continue
                key = str(int(x)) if v.type == "integer" else str(x)
                if key not in allowed:
                    problems.append(
                        f"{ds.name} row {i + 1}: {v.name} {key!r} not in codelist "
                        f"{v.codelist.name}"
                    )
                    break
    return problems
