"""Read a folder of SDTM or ADaM datasets: the one reader of il2sim.

Rules (what is accepted, what is rejected):

* Files: ``<dataset>.<suffix>``, names in any case (``dm.csv``, ``DM.xpt``, ``Dm.parquet``),
  suffix ``.parquet``, ``.json`` (Dataset-JSON 1.1), ``.csv`` or ``.xpt`` (SAS transport v5);
  when several exist the first in that order is read.
* Variables: names in any case (upper-cased on reading); a name that appears twice after
  upper-casing is rejected.  Variables il2sim does not declare are kept as text.
* Values of declared variables are parsed to their schema type (:mod:`.schema`): numbers
  (``""``, ``NA``, ``NaN``, ``N/A`` and ``.`` are missing), integers (a fraction is
  rejected), ISO 8601 dates.  A value that cannot be parsed is rejected with its dataset, row
  (1-based data row) and column; nothing is coerced to missing.
* Dataset-JSON: ``columns`` and ``rows`` are required and every row must have one value per
  column (rejected with the row number otherwise).
* The package: a folder holding ``adsl.*`` is ADaM, one holding ``dm.*`` SDTM; a folder with
  ``adam/`` or ``sdtm/`` sub-folders (what ``il2sim trial`` and ``reproduce`` write) is read
  from ``adam/`` when present, else ``sdtm/``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from il2sim.cdisc.dates import parse_iso_date
from il2sim.cdisc.schema import Dataset
from il2sim.errors import DataError

__all__ = [
    "MISSING",
    "SUFFIXES",
    "Package",
    "find_file",
    "parse_float",
    "parse_hours",
    "read_package",
    "read_table",
    "resolve_folder",
]

SUFFIXES: tuple[str, ...] = (".parquet", ".json", ".csv", ".xpt")
MISSING = frozenset({"", "NA", "NAN", "N/A", "."})


@dataclass(frozen=True)
class Package:
    """Datasets of one folder: standard (``SDTM`` or ``ADaM``), folder, tables by upper-case
    dataset name (raw values, upper-case variable names) and the file each came from."""

    standard: Literal["SDTM", "ADaM"]
    path: Path
    tables: Mapping[str, pd.DataFrame]
    files: Mapping[str, Path] = field(default_factory=dict)


def find_file(folder: Path, name: str) -> Path | None:
    """The file holding dataset ``name`` in ``folder`` (see the module docstring)."""
    by_name = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    for suffix in SUFFIXES:
        hit = by_name.get(name.lower() + suffix)
        if hit is not None:
            return hit
    return None


def _clean(v: Any) -> Any:
    if isinstance(v, bytes):
        v = v.decode("latin-1")
    return v.strip() if isinstance(v, str) else v


def _read_json(path: Path, name: str) -> pd.DataFrame:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path.name}: {exc}", field=name) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("columns"), list):
        raise DataError(f"{path.name}: not Dataset-JSON (no columns array)", field=name)
    try:
        cols = [str(c["name"]) for c in doc["columns"]]
    except (KeyError, TypeError):
        raise DataError(f"{path.name}: a column has no name", field=name) from None
    rows = doc.get("rows", [])
    if not isinstance(rows, list):
        raise DataError(f"{path.name}: rows is not an array", field=name)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(cols):
            raise DataError(
                f"{path.name} row {i + 1}: {len(row) if isinstance(row, list) else 'no'} values "
                f"for {len(cols)} columns",
                field=name,
            )
    return pd.DataFrame(rows, columns=cols, dtype=object)


def read_table(path: Path, name: str) -> pd.DataFrame:
    """One dataset file as a DataFrame with upper-case variable names and stripped text."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
        elif suffix == ".parquet":
            df = pd.read_parquet(path)
        elif suffix == ".json":
            df = _read_json(path, name)
        else:
            import pyreadstat

            df, _meta = pyreadstat.read_xport(str(path))
    except DataError:
        raise
    except Exception as exc:  # any reader failure is a data problem of this file
        raise DataError(f"cannot read {path.name}: {exc}", field=name) from None
    df.columns = [str(c).strip().upper() for c in df.columns]
    dupes = df.columns[df.columns.duplicated()].tolist()
    if dupes:
        raise DataError(f"column {dupes[0]} appears twice in {path.name}", field=name)
    for col in df.columns:
        if pd.api.types.is_string_dtype(df[col]) and not isinstance(df[col].dtype, np.dtype):
            df[col] = df[col].str.strip()  # a pandas string column (CSV, Parquet)
        elif df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
            df[col] = [_clean(v) for v in df[col]]
    return df.reset_index(drop=True)


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip().upper() in MISSING


def _missing_cell(v: Any, i: int, table: str, col: str, allow_missing: bool) -> bool:
    """True if cell ``v`` (row ``i``) is missing and may be (it becomes NaN); a DataError
    naming table, row and column if it is missing and may not be."""
    if not _is_missing(v):
        return False
    if not allow_missing:
        raise DataError(f"row {i + 1}, column {col}: value is missing", field=table)
    return True


def parse_float(df: pd.DataFrame, table: str, col: str, allow_missing: bool = True) -> np.ndarray:
    """``df[col]`` as floats; a DataError naming table, row and column for anything else."""
    col_values = df[col]
    if pd.api.types.is_numeric_dtype(col_values) and not pd.api.types.is_bool_dtype(col_values):
        fast = col_values.to_numpy(dtype=float, na_value=np.nan)
        if np.isinf(fast).any() or (not allow_missing and np.isnan(fast).any()):
            pass  # the loop below names the row
        else:
            return fast
    out = np.empty(len(df), dtype=float)
    for i, v in enumerate(df[col].tolist()):
        if _missing_cell(v, i, table, col, allow_missing):
            out[i] = math.nan
            continue
        if isinstance(v, bool):
            raise DataError(f"row {i + 1}, column {col}: expected a number, got {v!r}", field=table)
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise DataError(
                f"row {i + 1}, column {col}: cannot parse {str(v)!r} as a number",
                field=table, value=v,
            ) from None  # fmt: skip
        if math.isinf(x) or math.isnan(x):
            raise DataError(f"row {i + 1}, column {col}: value is not finite", field=table)
        out[i] = x
    return out


def parse_hours(df: pd.DataFrame, table: str, col: str, allow_missing: bool = True) -> np.ndarray:
    """``df[col]`` as hours: a number of hours or an ISO 8601 duration (``PT4H``); anything
    else is a DataError naming table, row and column."""
    from il2sim.cdisc.dates import iso_duration_hours

    out = np.empty(len(df))
    for i, v in enumerate(df[col].tolist()):
        if _missing_cell(v, i, table, col, allow_missing):
            out[i] = math.nan
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            try:
                out[i] = iso_duration_hours(str(v))
            except ValueError:
                raise DataError(f"row {i + 1}, column {col}: not an elapsed time: {v!r}",
                                field=table, value=v) from None  # fmt: skip
    return out


def _typed(
    df: pd.DataFrame, ds: Dataset, table: str, problems: list[DataError] | None = None
) -> pd.DataFrame:
    """Declared variables of ``df`` parsed to their types (see the module docstring).  With
    ``problems``, a variable that fails is recorded there (one error per variable) and the
    others are still parsed; without, the first failure is raised."""
    out = df.copy()
    for v in ds.variables:
        if v.name not in out.columns:
            continue
        try:
            _typed_variable(out, v, table)
        except DataError as exc:
            if problems is None:
                raise
            problems.append(exc)
    return out


def _typed_variable(out: pd.DataFrame, v: Any, table: str) -> None:
    """Parse variable ``v`` of ``out`` in place (DataError naming row and column)."""
    col = out[v.name]
    if v.type == "float":
        out[v.name] = parse_float(out, table, v.name)
    elif v.type == "integer":
        x = parse_float(out, table, v.name)
        frac = np.isfinite(x) & (x != np.round(x))
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise DataError(
                f"row {i + 1}, column {v.name}: expected an integer, got {col.iat[i]!r}",
                field=table,
            )
        out[v.name] = pd.array([None if math.isnan(a) else int(a) for a in x], dtype="Int64")
    elif v.type in ("adate", "adatetime"):
        vals: list[Any] = []
        for i, a in enumerate(col.tolist()):
            if _is_missing(a):
                vals.append(pd.NaT)
                continue
            try:
                vals.append(pd.Timestamp(a))
            except (TypeError, ValueError):
                raise DataError(
                    f"row {i + 1}, column {v.name}: not an ISO 8601 date: {a!r}", field=table
                ) from None
        out[v.name] = pd.to_datetime(pd.Series(vals, index=out.index, dtype="datetime64[ns]"))
    else:
        if pd.api.types.is_string_dtype(col):
            out[v.name] = col.fillna("").astype(str)
        else:
            out[v.name] = [
                ""
                if a is None or a is pd.NA or (isinstance(a, float) and math.isnan(a))
                else str(a)
                for a in col
            ]
        if v.type in ("date", "datetime"):
            for i, a in enumerate(out[v.name]):
                if a and len(a) >= 10:
                    try:
                        parse_iso_date(a)
                    except ValueError:
                        raise DataError(
                            f"row {i + 1}, column {v.name}: not an ISO 8601 date: {a!r}",
                            field=table,
                        ) from None


def resolve_folder(path: str | Path) -> tuple[Literal["SDTM", "ADaM"], Path]:
    """(standard, folder) of the package at ``path`` (see the module docstring)."""
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"not a folder: {str(folder)!r}", field="path", value=str(folder))
    if find_file(folder, "adsl") is not None:
        return "ADaM", folder
    if find_file(folder, "dm") is not None:
        return "SDTM", folder
    for sub, std in (("adam", "ADaM"), ("sdtm", "SDTM")):
        p = folder / sub
        if p.is_dir() and find_file(p, "adsl" if std == "ADaM" else "dm") is not None:
            return std, p  # type: ignore[return-value]
    raise DataError(
        f"no SDTM (dm.*) or ADaM (adsl.*) datasets in {str(folder)!r}", field="path",
        value=str(folder),
    )  # fmt: skip


def read_package(
    path: str | Path,
    specs: Mapping[str, Dataset],
    names: tuple[str, ...] | None = None,
    standard: Literal["SDTM", "ADaM"] | None = None,
) -> Package:
    """Read the datasets ``names`` (default: every dataset of ``specs``) present in the
    package at ``path``; declared variables are typed by ``specs``."""
    std, folder = resolve_folder(path)
    if standard is not None and std != standard:
        raise DataError(f"{folder} holds {std} datasets, expected {standard}", field="path")
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, Path] = {}
    problems: list[DataError] = []  # every file and variable problem, reported together
    for name in names or tuple(specs):
        f = find_file(folder, name)
        if f is None and name == "DECISION":
            f = find_file(folder, "decisions")  # il2sim v0.1 name
        if f is None:
            continue
        try:
            df = read_table(f, name)
        except DataError as exc:
            problems.append(exc)
            continue
        tables[name] = _typed(df, specs[name], name, problems) if name in specs else df
        files[name] = f
    if len(problems) == 1:
        raise problems[0]
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise DataError(
            f"{len(problems)} problem(s) in {folder}; the first: {problems[0]}\n{listed}",
            field="data",
            value=len(problems),
        )
    return Package(std, folder, tables, files)
