"""Strict reading of NONMEM-style event files: the record rules (docs/readers.md).

A table is read exactly as NONMEM would read it, or rejected with the row (1-based data row,
header excluded) and column named:

* the file is UTF-8, a byte-order mark is removed; one header line, its names unique
  (case-insensitive) and non-empty; lines whose first character is ``#`` are comments (NONMEM's
  default ``IGNORE=#``) and wholly blank lines are skipped;
* every data row has exactly as many fields as the header (a ragged row would shift values
  into the wrong columns);
* IDs are present, not ``nan``/``inf``, whole numbers when numeric; an individual's records are
  contiguous (NONMEM starts a new individual whenever ID changes, so an ID that comes back
  after another one is a second individual with the same ID: rejected);
* TIME is non-decreasing within an individual; NONMEM lets TIME restart only after a reset
  event (EVID 3 or 4), which il2sim's single time line cannot represent, so EVID 3/4 are
  accepted only as an individual's first record (where a reset changes nothing) and "not
  supported" elsewhere;
* a row identical to an earlier one means what it means to NONMEM: two records, so two
  doses at that time (il2sim's own writer emits such rows for a regimen with two equal doses
  at one time); it is not merged or dropped.

Numeric cells: blank or ``.`` is missing; ``nan``/``inf`` text is not a number.
"""

from __future__ import annotations

import csv
import io
import math
import os
from typing import TYPE_CHECKING

from il2sim.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["check_records", "read_event_csv"]

#: EVID values that reset the system (NONMEM): supported only as an individual's first record.
RESET_EVIDS = (3.0, 4.0)


def read_event_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an event CSV strictly (the module's file and row rules) into a table of strings."""
    import pandas as pd

    from il2sim import checks

    p = checks.reader_file(path, "events", DataError)  # name, folder, missing: one line
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{str(p)!r} is not UTF-8 text: {exc.reason}", field="events") from None
    except OSError as exc:
        raise DataError(
            f"cannot read {str(p)!r}: {exc.strerror or exc}", field="events", value=str(p)
        ) from None
    if "\x00" in text:
        raise DataError(f"{str(p)!r} is not a text file (NUL bytes)", field="events")
    lines = [ln for ln in io.StringIO(text, newline="").read().splitlines()]
    records = [(i, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#")]
    if not records:
        raise DataError(f"cannot read {str(p)!r}: empty (no header line)", field="events")
    parsed = list(csv.reader([ln for _, ln in records], skipinitialspace=True))
    header = [h.strip() for h in parsed[0]]
    for j, name in enumerate(header):
        if not name:
            raise DataError(f"header: column {j + 1} has no name", field="columns", value=j + 1)
    rows = parsed[1:]
    for r, fields in enumerate(rows, start=1):
        if len(fields) != len(header):
            raise DataError(
                f"cannot read {str(p)!r}: row {r} has {len(fields)} fields, the header "
                f"{len(header)} ({', '.join(header)}): values would shift into the wrong columns",
                field="table",
                value=r,
            )
    upper = [h.upper() for h in header]
    seen: dict[str, int] = {}
    for j, name in enumerate(upper):
        if name in seen:
            raise DataError(
                f"column {name} appears twice (columns {seen[name] + 1} and {j + 1})",
                field="columns",
                value=name,
            )
        seen[name] = j
    frame = pd.DataFrame([[f.strip() for f in fields] for fields in rows], columns=header)
    return frame.astype(str) if len(frame) else pd.DataFrame(columns=header, dtype=str)


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() in ("", ".")


def check_id(v: object, row: int) -> int | str:
    """An ID cell -> int (whole numbers) or text; DataError for missing, nan/inf, 1.5."""
    if _missing(v):
        raise DataError(f"row {row}: missing ID", field="ID", value=v)
    text = str(v).strip()
    try:
        f = float(text) if not isinstance(v, int | float) else float(v)
    except ValueError:
        return text
    if not math.isfinite(f):
        raise DataError(f"row {row}: not a subject id, got {text!r}", field="ID", value=v)
    if f != int(f):
        raise DataError(f"row {row}: must be a whole number, got {text!r}", field="ID", value=v)
    return int(f)


def check_records(ids: list[int | str], time: list[float], evid: list[float] | None) -> None:
    """The individual-level rules of the module docstring (IDs contiguous, TIME order,
    resets) over all rows (doses and others)."""
    finished: set[int | str] = set()
    current: int | str | None = None
    first_of: int = 0
    last_t = -math.inf
    for i, sid in enumerate(ids):
        row = i + 1
        if sid != current:
            if sid in finished:
                raise DataError(
                    f"row {row}: ID {sid} appears again after other IDs (NONMEM would read a "
                    "second individual): keep each ID's records together",
                    field="ID",
                    value=sid,
                )
            if current is not None:
                finished.add(current)
            current, first_of, last_t = sid, i, -math.inf
        e = evid[i] if evid is not None else math.nan
        if e in RESET_EVIDS and i != first_of:
            raise DataError(
                f"row {row}: EVID {e:g} (reset) after an individual's first record is not "
                "supported (il2sim keeps one time line per subject)",
                field="EVID",
                value=e,
            )
        t = time[i]
        if not math.isnan(t):
            if t < last_t:
                raise DataError(
                    f"row {row}: TIME {t:g} is before the previous record's {last_t:g} for ID "
                    f"{sid} (NONMEM needs TIME non-decreasing within an individual)",
                    field="TIME",
                    value=t,
                )
            last_t = t
