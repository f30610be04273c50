"""Helpers shared by the CLI modules: JSON printing, atomic file writes, float lists."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from il2sim.errors import InputError


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


def print_json(obj: Any) -> None:
    """Print ``obj`` as one JSON object on stdout."""
    print(json.dumps(to_jsonable(obj), indent=2))


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_atomic(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` then atomically move the result onto ``path``."""
    with atomic_path(path, suffix=Path(path).suffix) as tmp:
        writer(tmp)


def parse_float_list(text: str, field: str) -> list[float]:
    """Parse ``"0.4,0.6,0.8"`` into floats; raise InputError naming ``field`` otherwise."""
    out: list[float] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise InputError(f"empty entry in list {text!r}", field=field, value=text)
        try:
            x = float(part)
        except ValueError:
            raise InputError(f"not a number: {part!r}", field=field, value=part) from None
        if not math.isfinite(x):
            raise InputError(f"not a finite number: {part!r}", field=field, value=part)
        out.append(x)
    return out
