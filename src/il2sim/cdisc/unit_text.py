"""Unit text of SDTM results and doses -> the factor to il2sim's units.

Parses the unit strings real datasets carry (``MIU/m2``, ``IU/m2/day``, ``10^9/L``, ``U/mL``
...); every factor is computed by :mod:`il2sim.units`, the one conversion module.  Each
function returns ``None`` for a unit it does not know (the caller rejects the row).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from il2sim import units
from il2sim.errors import DataError

__all__ = [
    "conc_unit_factor_to_pm",
    "convert_units",
    "count_unit_factor_to_cells_per_ul",
    "dose_unit_factor_to_miu_per_m2",
]

_DOSE_UNIT_RE = re.compile(
    r"^\s*(?:10\^6\s*)?([a-zµ]+)\s*/\s*m(?:2|\^2|²)\s*(?:/\s*d(?:ay)?)?\s*$", re.I
)


def dose_unit_factor_to_miu_per_m2(unit: str) -> float | None:
    """Factor turning a dose in ``unit`` (e.g. ``MIU/m2``, ``IU/m2/day``, ``ug/m2``) into MIU/m2.

    ``mIU`` in the seed paper means million IU, so ``MIU``/``mIU`` are both read as 1e6 IU.
    """
    text = unit.strip()
    if text.lower().startswith("10^6"):
        text = "MIU" + text[4:].lstrip().lstrip("IU").lstrip("iu")
    m = _DOSE_UNIT_RE.match(text)
    if m is None:
        return None
    try:
        iu = units.amount_to_iu(1.0, m.group(1).upper())
    except Exception:
        return None
    return float(units.iu_to_miu(iu))


def count_unit_factor_to_cells_per_ul(unit: str) -> float | None:
    """Factor turning a cell count in ``unit`` into cells/ul: cells/uL (also µL, mm3,
    ``/uL``), ``10^6/L`` (= cells/ul) and ``10^9/L``."""
    u = unit.strip().lower().replace("µ", "u").replace(" ", "")
    u = u.removeprefix("cells")
    if u in ("/ul", "/mm3", "/mm^3", "per_ul"):
        return 1.0
    per_l = {"10^6/l": 1.0e6, "10^9/l": 1.0e9, "/l": 1.0}
    if u in per_l:
        return per_l[u] / float(units.per_ul_to_per_l(1.0))
    return None


def conc_unit_factor_to_pm(unit: str) -> float | None:
    """Factor turning an IL-2 concentration in ``unit`` (pM, IU/mL, U/mL, ng/mL, pg/mL) into pM."""
    u = unit.strip().lower().replace(" ", "")
    if u in ("pm", "pmol/l"):
        return 1.0
    if u in ("nm", "nmol/l"):
        return 1000.0
    if u in ("iu/ml", "u/ml"):
        return float(units.iu_per_ml_to_pm(1.0))
    if u == "ng/ml":
        return float(units.ng_per_ml_to_pm(1.0))
    if u == "pg/ml":
        return float(units.ng_per_ml_to_pm(1.0e-3))
    return None


def convert_units(
    df: pd.DataFrame, table: str, value_col: str, unit_col: str, factor_of: Any, expected: str
) -> np.ndarray:
    """``df[value_col]`` (floats) times the factor of each row's unit, rounded by
    :func:`il2sim.units.exact_after_conversion` where the factor is not 1 (the same value in
    two units is one exact
    value, e.g. ``400000 IU/m2`` and ``0.4 MIU/m2`` both become ``0.4``).  Rows whose unit is
    unknown are rejected together, in one DataError naming the column, the units and the rows
    (a row with neither value nor unit is missing)."""
    values = np.asarray(df[value_col], dtype=float)
    factors = np.empty(len(df), dtype=float)
    cache: dict[str, float | None] = {}
    bad: dict[str, list[int]] = {}
    for i, u in enumerate(df[unit_col].tolist()):
        key = "" if u is None or (isinstance(u, float) and math.isnan(u)) else str(u)
        if key not in cache:
            cache[key] = factor_of(key) if key else None
        f = cache[key]
        if f is None:
            if not key and math.isnan(values[i]):
                factors[i] = math.nan
                continue
            bad.setdefault(key, []).append(i + 1)
            factors[i] = math.nan
            continue
        factors[i] = f
    if bad:
        first_key, first_rows = next(iter(bad.items()))
        msg = f"row {first_rows[0]}, column {unit_col}: unknown unit {first_key!r} (expected {expected})"
        if sum(len(r) for r in bad.values()) > 1:
            parts = "; ".join(f"{k!r} in {_rows(r)}" for k, r in bad.items())
            msg += f"; units that cannot be converted: {parts}"
        raise DataError(msg, field=table, value=first_key)
    out = values * factors
    converted = np.isfinite(factors) & (factors != 1.0)  # factor 1: no rounding error to remove
    out[converted] = units.exact_after_conversion(out[converted])
    return out


def _rows(rows: list[int], most: int = 10) -> str:
    """``rows 3, 5, 7`` (the first ``most``, then ``... (N rows)``)."""
    shown = ", ".join(str(r) for r in rows[:most])
    more = f", ... ({len(rows)} rows)" if len(rows) > most else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"
