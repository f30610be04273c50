"""Conversion of results (dataclasses with ``to_dict``, numpy values, NaN) to JSON-ready data."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class FieldRecord:
    """Mixin of a frozen dataclass of plain values (numbers, strings, flags): ``to_dict()`` is
    its fields by name, the JSON-ready form ``--json`` prints.  One definition for the result
    rows of analysis and calibration (per-level summaries, targets, intervals)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every field by name."""
        return dict(self.__dict__)


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
