"""Value checks of an SDTM or ADaM package before analysis or export (docs/readers.md).

Every problem is listed in one block.

The cdisc reader (:mod:`il2sim.cdisc.read`) checks files, variables and types; this module
checks that the values can be analysed, and lists *every* problem it finds (table, row,
column, value) in one :class:`~il2sim.errors.DataError` rather than stopping at the first:

* cell counts (CP ``CPSTRESN``, ADCP ``AVAL``) and IL-2 concentrations (PC ``PCSTRESN``) are
  finite and >= 0, and at most :data:`MAX_VALUE` (larger values are not measurements: 1e308
  overflows a percent change and silently left the peak);
* study days are ordered: EX ``EXSTDY <= EXENDY`` (else the days on treatment are negative);
* a decision log's levels (``level``, ``next_level``, ``mtd_level``; 0 or blank = none for
  the MTD) are whole numbers among the trial's dose levels (1..L);
* a requested ``--test-codes`` mapping names a code that the data hold (no silent fallback to
  the default code).

Rows are numbered from 1 in the order of the file (the header is not a row).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from il2sim.errors import DataError

__all__ = ["MAX_VALUE", "check_decisions", "check_test_codes_present", "check_values", "raise_all"]

#: Largest accepted count or concentration, in the dataset's unit (1e12: 10^12 cells/uL or pM
#: is far beyond any biological value and far below overflow).
MAX_VALUE = 1e12
#: Problems listed in full before "... and N more".
MAX_LISTED = 50

#: (table, column, what) of the measured values checked for range.
_MEASURED: tuple[tuple[str, str, str], ...] = (
    ("CP", "CPSTRESN", "cell count"),
    ("PC", "PCSTRESN", "IL-2 concentration"),
    ("ADCP", "AVAL", "cell count"),
    ("ADPC", "AVAL", "IL-2 concentration"),
)


def _range_problems(df: pd.DataFrame, table: str, col: str, what: str) -> list[str]:
    vals = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    out: list[str] = []
    for i in np.flatnonzero(~np.isnan(vals) & ~((vals >= 0) & (vals <= MAX_VALUE))):
        v = vals[i]
        why = (
            "is not finite" if not np.isfinite(v)
            else "must be >= 0" if v < 0
            else f"exceeds {MAX_VALUE:g} (not a measurement; it would overflow)"
        )  # fmt: skip
        out.append(f"{table}: row {i + 1}, column {col}: {what} {why}, got {float(v)!r}")
    return out


def check_values(tables: Mapping[str, pd.DataFrame | None]) -> list[str]:
    """Problems with measured values and study days in SDTM or ADaM ``tables``."""
    problems: list[str] = []
    for table, col, what in _MEASURED:
        df = tables.get(table)
        if df is not None and col in df.columns:
            problems += _range_problems(df, table, col, what)
    ex = tables.get("EX")
    if ex is not None and {"EXSTDY", "EXENDY"} <= set(ex.columns):
        st = pd.to_numeric(ex["EXSTDY"], errors="coerce").to_numpy(dtype=float)
        en = pd.to_numeric(ex["EXENDY"], errors="coerce").to_numpy(dtype=float)
        for i in np.flatnonzero(st > en):
            problems.append(
                f"EX: row {i + 1}, columns EXSTDY/EXENDY: the start day {st[i]:g} is after the "
                f"end day {en[i]:g}"
            )
    return problems


def check_decisions(decisions: pd.DataFrame | None, n_levels: int) -> list[str]:
    """Problems with the decision log's level columns: levels 1..``n_levels`` (the highest
    level number of the trial: ARMCD numbers are the design's), ``next_level`` up to one more."""
    if decisions is None or decisions.empty:
        return []
    problems: list[str] = []
    for col in decisions.columns:
        name = str(col).upper()
        if name not in ("LEVEL", "NEXT_LEVEL", "MTD_LEVEL", "MTD_LEVE", "NEXT_LEV"):
            continue
        allow_zero = name.startswith("MTD")
        top = n_levels + 1 if name.startswith("NEXT") else n_levels  # one step up is allowed
        for i, raw in enumerate(decisions[col].tolist()):
            if raw is None or (isinstance(raw, float) and np.isnan(raw)) or str(raw).strip() == "":
                continue
            try:
                v = float(str(raw).strip())
            except ValueError:
                v = float("nan")
            ok = np.isfinite(v) and v == int(v) and (1 <= v <= top or (allow_zero and v == 0))
            if not ok:
                problems.append(
                    f"DECISION: row {i + 1}, column {col}: {raw!r} is not a dose level "
                    f"(the trial has levels 1..{n_levels}{'; 0 or blank = none' if allow_zero else ''})"
                )
    return problems


def check_test_codes_present(
    requested: Mapping[str, str] | None, present: set[str], table: str, column: str
) -> list[str]:
    """Problems: a requested ``--test-codes`` mapping to a code absent from the data."""
    out: list[str] = []
    for key, val in (requested or {}).items():
        code = str(val).strip().upper()
        if code not in present:
            out.append(
                f"test_codes: {key.strip().upper()}={code} requested, but {table} has no "
                f"{column} {code!r} (found: {', '.join(sorted(present)) or 'none'})"
            )
    return out


def raise_all(problems: list[str], where: str) -> None:
    """Raise one DataError listing every problem (the first one leads), if any."""
    if not problems:
        return
    if len(problems) == 1:
        raise DataError(f"in {where}: {problems[0]}", field="data", value=1)
    shown = problems[:MAX_LISTED]
    more = len(problems) - len(shown)
    lines = "\n".join(f"  - {p}" for p in shown)
    tail = f"\n  ... and {more} more" if more else ""
    raise DataError(
        f"{len(problems)} problem(s) in {where}; the first: {problems[0]}\n{lines}{tail}",
        field="data",
        value=len(problems),
    )
