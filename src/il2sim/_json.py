"""Conversion of results (dataclasses with ``to_dict``, numpy values, NaN) to JSON-ready data."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class FieldRecord:
    """Mixin of a frozen dataclass of plain values (numbers, strings, flags, tuples of them):
    ``to_dict()`` is its fields by name, in field order, a tuple as a list -- the JSON-ready
    form ``--json`` prints.  One definition for the result rows of analysis, calibration and
    ``reproduce`` (per-level summaries, test results, targets, intervals, paper-vs-model rows)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every field by name (a tuple field as a list)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, dataclasses with ``to_dict`` and NaN to JSON-ready data."""
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
