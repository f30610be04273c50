"""NONMEM-style dosing event tables in and out (CSV files or pandas DataFrames).

Columns (names case-insensitive; only ``TIME`` and ``AMT`` are required):

=========  ==========================================================================
``ID``     subject id (default 1); one :class:`Regimen` per id
``TIME``   dose time, in ``time_unit`` (hours by default, as NONMEM users expect)
``AMT``    amount, in ``amount_unit`` (IU by default), flat unless ``per_m2=True``;
           for an infusion the total amount
``RATE``   infusion rate, amount per ``time_unit`` (0/missing: no rate); -1/-2
           (modelled rate/duration) are rejected
``DUR``    infusion duration in ``time_unit`` (0/missing: none); if both RATE and
           DUR are given they must agree (AMT/RATE = DUR to 1e-6 relative)
``II``     interdose interval for ``ADDL`` (``time_unit``)
``ADDL``   number of additional doses every ``II`` after this one
``CMT``    1 = depot (s.c./i.m. absorption), 2 = central (i.v. bolus, or i.v. infusion
           when RATE/DUR > 0).  Missing: 2 if RATE/DUR > 0 else 1
``EVID``   1 (dose) is kept; 0 (observation) and 2 (other event) rows are skipped; 3
           (reset) and 4 (reset and dose) only as an ID's first record, where a reset
           changes nothing (elsewhere "not supported").  Missing: rows with AMT > 0
``ROUTE``  optional: sc | im | iv bolus | iv infusion; must agree with CMT
``SS``     optional; steady-state doses (SS != 0) are rejected
=========  ==========================================================================

Missing values may be blank or ``.``.  Errors name the column, the row (1-based data rows)
and the value: :class:`~il2sim.errors.DataError` for a malformed table.  The record rules
(one header, no ragged rows, no duplicated columns or rows, IDs contiguous, TIME
non-decreasing within an ID, a byte-order mark removed): :mod:`._nonmem_records`.

Writing: :func:`to_nonmem_table` writes one row per event (or, with ``addl=True``, one row
per run of equally spaced identical doses using II/ADDL).  With ``bsa_m2`` per-m2 amounts are
resolved to flat amounts for that patient; without it the table keeps per-m2 amounts (read
them back with ``per_m2=True``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import numpy as np

from il2sim import units
from il2sim.errors import DataError, Il2simError, InputError
from il2sim.regimen._nonmem_records import check_id, check_records, read_event_csv
from il2sim.regimen.canonical import arithmetic_runs
from il2sim.regimen.events import DoseEvent, Regimen, Route, canonical_unit

if TYPE_CHECKING:  # pandas is imported inside the functions to keep `import il2sim` light
    import pandas as pd

__all__ = [
    "NONMEM_COLUMNS",
    "read_nonmem_csv",
    "regimen_from_table",
    "regimens_from_table",
    "to_nonmem_table",
    "write_nonmem_csv",
]

#: Columns written by :func:`to_nonmem_table`, in order.
NONMEM_COLUMNS: tuple[str, ...] = (
    "ID",
    "TIME",
    "AMT",
    "RATE",
    "DUR",
    "II",
    "ADDL",
    "CMT",
    "EVID",
    "ROUTE",
)
CMT_DEPOT = 1
CMT_CENTRAL = 2
_REQUIRED = ("TIME", "AMT")
_NUMERIC = ("ID", "TIME", "AMT", "RATE", "DUR", "II", "ADDL", "CMT", "EVID", "SS")
_REL_TOL = 1e-6


def _numeric_column(df: pd.DataFrame, name: str) -> np.ndarray:
    """Column ``name`` as floats (NaN for blank/``.``); DataError naming the bad cell."""
    col = df[name]
    out = np.full(len(col), np.nan)
    for i, v in enumerate(col.tolist()):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, str):
            t = v.strip()
            if t in ("", "."):
                continue
            try:
                out[i] = float(t)
            except ValueError:
                raise DataError(
                    f"row {i + 1}: not a number, got {v!r}", field=name, value=v
                ) from None
            if math.isnan(out[i]):  # the text "nan" is not a missing value (blank or ".")
                raise DataError(f"row {i + 1}: not a number, got {v!r}", field=name, value=v)
        elif isinstance(v, bool):
            raise DataError(f"row {i + 1}: not a number, got {v!r}", field=name, value=v)
        else:
            try:
                out[i] = float(v)
            except (TypeError, ValueError):
                raise DataError(
                    f"row {i + 1}: not a number, got {v!r}", field=name, value=v
                ) from None
        if math.isinf(out[i]):
            raise DataError(f"row {i + 1}: not a finite number, got {v!r}", field=name, value=v)
    return out


def _zero_if_nan(x: float) -> float:
    return 0.0 if math.isnan(x) else x


def regimens_from_table(
    table: pd.DataFrame,
    *,
    time_unit: str = "h",
    amount_unit: str = "IU",
    per_m2: bool = False,
) -> dict[int | str, Regimen]:
    """Read a NONMEM-style event table (see module docstring) into ``{id: Regimen}``.

    ``time_unit`` is that of TIME, RATE's denominator, DUR and II (``h``, ``d``, ``min``,
    ``week``); ``amount_unit`` that of AMT (IU, kIU, MIU, ug, mg), per m2 of BSA if
    ``per_m2``.  Raises :class:`DataError` for a malformed table.
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise DataError(f"expected a table, got {type(table).__name__}", field="table")
    unit = canonical_unit(amount_unit)
    day_per_unit = float(units.time_to_days(1.0, time_unit))
    cols = {str(c).strip().upper(): c for c in table.columns}
    if len(cols) != len(table.columns):
        raise DataError("duplicate column names (case-insensitive)", field="columns")
    missing = [c for c in _REQUIRED if c not in cols]
    if missing:
        raise DataError(
            f"missing column(s) {', '.join(missing)}; have {', '.join(cols) or 'none'}",
            field="columns",
            value=missing,
        )
    df = table.rename(columns={v: k for k, v in cols.items()})
    if len(df) == 0:
        raise DataError("the table has no rows", field="table")
    num = {c: _numeric_column(df, c) for c in _NUMERIC if c in df.columns and c != "ID"}
    n = len(df)
    ids: list[int | str]
    if "ID" in df.columns:
        ids = [check_id(v, i + 1) for i, v in enumerate(df["ID"].tolist())]
    else:
        ids = [1] * n
    check_records(ids, list(num["TIME"]), list(num["EVID"]) if "EVID" in num else None)
    routes: list[str | None] = [None] * n
    if "ROUTE" in df.columns:
        routes = [
            None
            if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() in ("", ".")
            else str(v)
            for v in df["ROUTE"].tolist()
        ]

    def col(name: str, i: int) -> float:
        return float(num[name][i]) if name in num else math.nan

    by_id: dict[int | str, list[DoseEvent]] = {}
    for i in range(n):
        row = i + 1
        evid = col("EVID", i)
        amt = col("AMT", i)
        if "EVID" in num:
            if math.isnan(evid):
                raise DataError(f"row {row}: missing EVID", field="EVID", value=None)
            if evid not in (0.0, 1.0, 2.0, 3.0, 4.0):
                raise DataError(f"row {row}: must be 0-4, got {evid:g}", field="EVID", value=evid)
            if evid not in (1.0, 4.0):  # 4 only as the first record (check_records)
                continue
            if math.isnan(amt):
                raise DataError(f"row {row}: a dose row needs AMT", field="AMT", value=None)
        elif math.isnan(amt) or amt == 0.0:
            continue
        if amt <= 0:
            raise DataError(f"row {row}: must be positive, got {amt:g}", field="AMT", value=amt)
        t = col("TIME", i)
        if math.isnan(t):
            raise DataError(f"row {row}: missing TIME", field="TIME", value=None)
        if t < 0:
            raise DataError(f"row {row}: must be >= 0, got {t:g}", field="TIME", value=t)
        if _zero_if_nan(col("SS", i)) != 0:
            raise DataError(
                f"row {row}: steady-state doses are not supported, got {col('SS', i):g}",
                field="SS",
                value=col("SS", i),
            )
        rate = _zero_if_nan(col("RATE", i))
        dur = _zero_if_nan(col("DUR", i))
        if rate < 0:
            raise DataError(
                f"row {row}: modelled or negative rates are not supported, got {rate:g}",
                field="RATE",
                value=rate,
            )
        if dur < 0:
            raise DataError(f"row {row}: must be >= 0, got {dur:g}", field="DUR", value=dur)
        if rate > 0 and dur > 0 and abs(amt / rate - dur) > _REL_TOL * dur:
            raise DataError(
                f"row {row}: RATE {rate:g} and DUR {dur:g} disagree (AMT/RATE = {amt / rate:g})",
                field="RATE",
                value=rate,
            )
        dur_t = dur if dur > 0 else (amt / rate if rate > 0 else 0.0)
        cmt = col("CMT", i)
        if math.isnan(cmt):
            cmt = float(CMT_CENTRAL if dur_t > 0 else CMT_DEPOT)
        if cmt not in (CMT_DEPOT, CMT_CENTRAL):
            raise DataError(
                f"row {row}: must be 1 (depot) or 2 (central), got {cmt:g}", field="CMT", value=cmt
            )
        if cmt == CMT_DEPOT:
            if dur_t > 0:
                raise DataError(
                    f"row {row}: zero-order input (RATE/DUR) into the depot (CMT 1) is not "
                    "supported",
                    field="RATE",
                    value=rate,
                )
            route = Route.SC
        else:
            route = Route.IV_INFUSION if dur_t > 0 else Route.IV_BOLUS
        if routes[i] is not None:
            try:
                given = Route.parse(str(routes[i]))
            except InputError:
                raise DataError(
                    f"row {row}: unknown route {routes[i]!r}", field="ROUTE", value=routes[i]
                ) from None
            if given.is_depot != (cmt == CMT_DEPOT):
                raise DataError(
                    f"row {row}: route {routes[i]!r} disagrees with CMT {cmt:g}",
                    field="ROUTE",
                    value=routes[i],
                )
            if given is Route.IV_INFUSION and dur_t <= 0:
                raise DataError(
                    f"row {row}: an iv infusion needs RATE or DUR > 0",
                    field="ROUTE",
                    value=routes[i],
                )
            if given.is_depot:
                route = given
        addl = _zero_if_nan(col("ADDL", i))  # TODO(i16-harden): the ADDL/administrations limit
        ii = _zero_if_nan(col("II", i))
        if addl < 0 or addl != int(addl):
            raise DataError(
                f"row {row}: must be a whole number >= 0, got {addl:g}", field="ADDL", value=addl
            )
        if addl > 0 and ii <= 0:
            raise DataError(
                f"row {row}: ADDL {addl:g} needs II > 0, got {ii:g}", field="II", value=ii
            )
        for k in range(int(addl) + 1):
            try:
                ev = DoseEvent(
                    time_day=(t + k * ii) * day_per_unit,
                    amount=amt,
                    amount_unit=unit,
                    per_m2=per_m2,
                    route=route,
                    duration_day=dur_t * day_per_unit,
                )
            except Il2simError as exc:
                raise DataError(f"row {row}: {exc}", field="table") from None
            by_id.setdefault(ids[i], []).append(ev)
    if not by_id:
        raise DataError("no dose rows (EVID 1/4 or AMT > 0)", field="table")
    out: dict[int | str, Regimen] = {}
    for sid, events in by_id.items():
        try:
            out[sid] = Regimen(tuple(events))
        except Il2simError as exc:
            raise DataError(f"ID {sid}: {exc}", field="table") from None
    return out


def regimen_from_table(
    table: pd.DataFrame, *, time_unit: str = "h", amount_unit: str = "IU", per_m2: bool = False
) -> Regimen:
    """Like :func:`regimens_from_table` for a table holding exactly one ID."""
    regs = regimens_from_table(table, time_unit=time_unit, amount_unit=amount_unit, per_m2=per_m2)
    if len(regs) != 1:
        raise DataError(
            f"expected one ID, got {len(regs)}: {', '.join(map(str, regs))}",
            field="ID",
            value=list(regs),
        )
    return next(iter(regs.values()))


def read_nonmem_csv(
    path: str | os.PathLike[str],
    *,
    time_unit: str = "h",
    amount_unit: str = "IU",
    per_m2: bool = False,
) -> dict[int | str, Regimen]:
    """Read a NONMEM-style CSV (see module docstring) into ``{id: Regimen}``, strictly
    (:func:`._nonmem_records.read_event_csv`: BOM, one header, no ragged rows)."""
    return regimens_from_table(
        read_event_csv(path), time_unit=time_unit, amount_unit=amount_unit, per_m2=per_m2
    )


def to_nonmem_table(
    regimen: Regimen | Mapping[int | str, Regimen],
    *,
    bsa_m2: float | Mapping[int | str, float] | None = None,
    subject_id: int | str = 1,
    time_unit: str = "h",
    amount_unit: str = "IU",
    infusion: Literal["rate", "dur"] = "rate",
    addl: bool = False,
) -> pd.DataFrame:
    """Write a regimen (or ``{id: regimen}``) as a NONMEM-style event table.

    Amounts are in ``amount_unit``: flat for a patient of ``bsa_m2`` when given (a number,
    or one per id), else as written (per m2 for per-m2 doses; a regimen that mixes flat and
    per-m2 doses then needs ``bsa_m2``).  Times, II, DUR and RATE's denominator are in
    ``time_unit``.  Infusions get ``RATE`` (``infusion="rate"``) or ``DUR``.  ``addl=True``
    collapses equally spaced identical doses into II/ADDL.
    """
    import pandas as pd

    regs: Mapping[int | str, Regimen] = (
        {subject_id: regimen} if isinstance(regimen, Regimen) else regimen
    )
    unit = canonical_unit(amount_unit)
    unit_per_day = float(units.days_to_time(1.0, time_unit))
    if infusion not in ("rate", "dur"):
        raise InputError(f"must be 'rate' or 'dur', got {infusion!r}", field="infusion")
    rows: list[dict[str, object]] = []
    for sid, reg in regs.items():
        id_rows: list[dict[str, object]] = []
        bsa = bsa_m2.get(sid) if isinstance(bsa_m2, Mapping) else bsa_m2
        if bsa is None and len({e.per_m2 for e in reg.events}) > 1:
            raise InputError(
                "needed: the regimen mixes flat and per-m2 doses", field="bsa_m2", value=None
            )
        if bsa is not None and (
            isinstance(bsa, bool)
            or not isinstance(bsa, int | float)
            or not math.isfinite(bsa)
            or bsa <= 0
        ):
            raise InputError(f"must be positive, got {bsa!r}", field="bsa_m2", value=bsa)
        groups: dict[tuple[float, Route, float], list[float]] = {}
        for e in reg.events:
            iu = e.amount_iu(bsa) if bsa is not None else e.amount_iu(1.0)
            amt = float(units.iu_to_amount(iu, unit))
            key = (amt, e.route, e.duration_day)
            groups.setdefault(key, []).append(e.time_day)
        for (amt, route, dur_day), times in groups.items():
            runs = arithmetic_runs(sorted(times)) if addl else [(t, 0.0, 1) for t in sorted(times)]
            for start, step, count in runs:
                dur = dur_day * unit_per_day
                id_rows.append(
                    {
                        "ID": sid,
                        "TIME": start * unit_per_day,
                        "AMT": amt,
                        "RATE": amt / dur if (dur > 0 and infusion == "rate") else 0.0,
                        "DUR": dur if (dur > 0 and infusion == "dur") else 0.0,
                        "II": step * unit_per_day if count > 1 else 0.0,
                        "ADDL": count - 1,
                        "CMT": CMT_DEPOT if route.is_depot else CMT_CENTRAL,
                        "EVID": 1,
                        "ROUTE": route.value,
                    }
                )
        rows.extend(sorted(id_rows, key=lambda r: float(r["TIME"])))  # type: ignore[arg-type]
    # one block per ID in the given order, each sorted by TIME (ties keep the event order)
    return pd.DataFrame(rows, columns=list(NONMEM_COLUMNS))


def write_nonmem_csv(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``table`` to ``path`` as CSV atomically (temporary file, then rename)."""
    from il2sim._files import atomic_path

    with atomic_path(path, suffix=".csv") as tmp:
        table.to_csv(tmp, index=False)
