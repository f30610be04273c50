"""Write a package of datasets (SDTM or ADaM) into a folder: CSV, Parquet and Dataset-JSON 1.1
for every dataset, SAS XPT v5 on request, and the package's define.xml.

* CSV: a header line of variable names, UTF-8, ``\\n`` line ends; missing values empty;
  ADaM numeric dates as ISO 8601 (``1994-01-03``, ``1994-01-03T12:00:00``).
* Parquet (pyarrow): the in-memory types (Int64, float64, string, timestamp).
* Dataset-JSON 1.1 (CDISC 2024), ``<name>.json``: built with odmlib's Dataset-JSON 1.1 model;
  columns carry itemOID (``IT.<DATASET>.<VARIABLE>``, as define.xml), name, label, dataType,
  targetDataType for ADaM numeric dates, length and keySequence; ``null`` is missing.
* XPT (SAS transport version 5, pyreadstat): names <= 8, labels <= 40, text <= 200 bytes;
  ADaM dates as SAS dates (``DATE9.``) and datetimes (``DATETIME20.``).

CSV and Parquet are byte-for-byte the same for the same data; Dataset-JSON and XPT carry their
creation time.  Atomicity is the caller's (:func:`il2sim._files.staged_folder`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from il2sim.cdisc.schema import Dataset, check_frame
from il2sim.errors import DataError

__all__ = ["FORMATS", "JSON_TYPES", "write_dataset", "write_package"]

FORMATS: tuple[str, ...] = ("csv", "parquet", "json", "xpt")
#: Dataset-JSON 1.1 (dataType, targetDataType) of each schema type.
JSON_TYPES: dict[str, tuple[str, str | None]] = {
    "text": ("string", None),
    "integer": ("integer", None),
    "float": ("double", None),
    "datetime": ("datetime", None),
    "date": ("date", None),
    "duration": ("string", None),
    "adate": ("date", "integer"),
    "adatetime": ("datetime", "integer"),
}


def _text_frame(df: pd.DataFrame, ds: Dataset) -> pd.DataFrame:
    """``df`` with ADaM numeric dates as ISO 8601 text (CSV and Dataset-JSON form)."""
    out = df.copy()
    for v in ds.variables:
        if v.type == "adate":
            out[v.name] = [x.date().isoformat() if pd.notna(x) else "" for x in df[v.name]]
        elif v.type == "adatetime":
            out[v.name] = [x.isoformat(timespec="seconds") if pd.notna(x) else "" for x in df[v.name]]
    return out


def _json_value(x: Any, vtype: str) -> Any:
    if x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x)):
        return None
    if vtype == "integer":
        return int(x)
    if vtype == "float":
        return float(x)
    return None if x == "" else str(x)


def dataset_json(df: pd.DataFrame, ds: Dataset, study_id: str, created: str) -> dict[str, Any]:
    """The Dataset-JSON 1.1 document of ``df`` (a dict, validated by odmlib's model)."""
    from odmlib.dataset_json_1_1.model import Column, DatasetJSON, SourceSystem

    from il2sim._version import __version__

    text = _text_frame(df, ds)
    cols = []
    for v in ds.variables:
        dtype, target = JSON_TYPES[v.type]
        kw: dict[str, Any] = {"itemOID": f"IT.{ds.name}.{v.name}", "name": v.name,
                              "label": v.label, "dataType": dtype}  # fmt: skip
        if target:
            kw["targetDataType"] = target
        if v.type in ("text", "datetime", "date", "duration"):
            kw["length"] = max(1, int(text[v.name].astype(str).str.len().max() or 1))
        if v.name in ds.keys:
            kw["keySequence"] = ds.keys.index(v.name) + 1
        cols.append(Column(**kw))
    types = [v.type for v in ds.variables]
    rows = [
        [_json_value(x, t) for x, t in zip(row, types, strict=True)]
        for row in text.itertuples(index=False, name=None)
    ]
    doc = DatasetJSON(
        datasetJSONCreationDateTime=created,
        datasetJSONVersion="1.1.0",
        fileOID=f"FILE.{study_id}.{ds.standard}.{ds.name}",
        originator="il2sim",
        sourceSystem=SourceSystem(name="il2sim", version=__version__),
        studyOID=f"STUDY.{study_id}",
        metaDataVersionOID=f"MDV.{study_id}.{ds.standard}",
        metaDataRef="define.xml",
        itemGroupOID=ds.oid,
        records=len(rows),
        name=ds.name,
        label=ds.label,
        columns=cols,
    )
    out = doc.to_dict()
    out["rows"] = rows  # empty datasets keep their (empty) rows array
    return out


def _write_xpt(df: pd.DataFrame, ds: Dataset, path: Path) -> None:
    import pyreadstat

    out = pd.DataFrame(index=df.index)
    formats: dict[str, str] = {}
    for v in ds.variables:
        col = df[v.name]
        if v.type == "integer":
            out[v.name] = col.astype("Float64").astype(float)
        elif v.type == "float":
            out[v.name] = col.astype(float)
        elif v.type == "adate":
            out[v.name] = [x.date() if pd.notna(x) else None for x in col]
            formats[v.name] = "DATE9"
        elif v.type == "adatetime":
            out[v.name] = [x.to_pydatetime() if pd.notna(x) else None for x in col]
            formats[v.name] = "DATETIME20"
        else:
            out[v.name] = col.astype(str).str.slice(0, 200)
    pyreadstat.write_xport(
        out, str(path), file_label=ds.label, column_labels=[v.label for v in ds.variables],
        table_name=ds.name, file_format_version=5, variable_format=formats or None,
    )  # fmt: skip


def write_dataset(
    df: pd.DataFrame,
    ds: Dataset,
    folder: Path,
    formats: Sequence[str] = ("csv", "parquet", "json"),
    study_id: str = "IL2SIM",
    created: str | None = None,
    strict: bool = True,
) -> list[Path]:
    """Write ``df`` (conformant to ``ds``) as ``<name>.<format>`` files into ``folder``.
    ``strict=False`` writes a frame whose problems (:func:`check_frame`) the caller has
    reported itself (a live trial's export lacks values the server does not collect)."""
    problems = check_frame(df, ds)
    if problems and strict:
        raise DataError(problems[0], field=ds.name)
    stamp = created or datetime.now(UTC).isoformat(timespec="seconds")
    out: list[Path] = []
    for fmt in formats:
        path = folder / f"{ds.file_stem}.{fmt}"
        if fmt == "csv":
            _text_frame(df, ds).to_csv(path, index=False, lineterminator="\n")
        elif fmt == "parquet":
            df.to_parquet(path, index=False, engine="pyarrow")
        elif fmt == "json":
            doc = dataset_json(df, ds, study_id, stamp)
            path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        elif fmt == "xpt":
            _write_xpt(df, ds, path)
        else:
            raise DataError(f"unknown format {fmt!r} (expected {', '.join(FORMATS)})", field="format")
        out.append(path)
    return out


def write_package(
    datasets: Mapping[str, pd.DataFrame],
    specs: Mapping[str, Dataset],
    folder: Path,
    xpt: bool = False,
    study_id: str = "IL2SIM",
    define: bool = True,
    strict: bool = True,
) -> list[Path]:
    """Write every dataset of one standard into ``folder`` (created), plus ``define.xml``
    (``strict``: as :func:`write_dataset`)."""
    folder.mkdir(parents=True, exist_ok=True)
    formats = ("csv", "parquet", "json", "xpt") if xpt else ("csv", "parquet", "json")
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    written: list[Path] = []
    for name, df in datasets.items():
        written += write_dataset(df, specs[name], folder, formats, study_id, stamp, strict)
    if define:
        from il2sim.cdisc.define import write_define

        written.append(write_define(datasets, specs, folder / "define.xml", study_id, stamp))
    return written
