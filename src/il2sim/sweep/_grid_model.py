"""The pydantic model of a sweep grid (the file layout of :mod:`il2sim.sweep.grid`).

Imported lazily by :mod:`il2sim.sweep.grid` (pydantic takes ~0.1 s to import).  The model
checks the structure (known keys, ``kind`` present, integer ``seed >= 0``, ``chunk_size >= 1``,
``chunks >= 1``, mappings of non-empty lists, a parameter not both fixed and an axis, at most
:data:`MAX_TASKS` chunks); parameter values must survive a JSON round trip (finite numbers,
strings, booleans, null, lists and mappings of them).  :func:`validate_grid` turns the first
problem into one :class:`~il2sim.errors.InputError` naming the field and the value, as
``chunks: must be an integer >= 1, got 0``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from il2sim.errors import InputError
from il2sim.limits import LIMITS, limit

__all__ = ["MAX_TASKS", "GridModel", "validate_grid"]

#: Largest number of chunks (grid points x chunks per point) one sweep may have: a resource
#: limit checked before any point is built (a grid of 10 axes of 100 values would otherwise
#: try to list 10^20 points).
#: The default; the limit in force is ``il2sim.limits.limit("sweep_tasks")`` (docs/limits.md).
MAX_TASKS = int(LIMITS["sweep_tasks"].default)

_KEYS = ("chunk_size", "chunks", "fixed", "grid", "kind", "seed")


def _value_error(kind: str, message: str, where: str, value: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, "{message}", {"message": message, "where": where, "value": value})


def _check_value(value: Any, where: str = "") -> Any:
    """A JSON-safe copy of a parameter value (tuples become lists), or a custom error whose
    ``where`` is the path below the parameter (``.a`` for ``{"a": nan}``)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise _value_error("not_finite", f"must be finite, got {value!r}", where, value)
    if isinstance(value, list | tuple):
        return [_check_value(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _check_value(v, f"{where}.{k}") for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise _value_error(
        "param_value", f"must be a number, string, boolean or list, got {value!r}", where, value
    )


def _string_keys(value: Any) -> Any:
    """Mapping keys as strings (a YAML ``1: 2`` is parameter ``"1"``)."""
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return value


def _whole(value: Any) -> Any:
    """numpy integers are integers; booleans and floats are not (strict int checks the rest)."""
    if isinstance(value, np.integer) and not isinstance(value, bool):
        return int(value)
    return value


ParamValue = Annotated[Any, BeforeValidator(_check_value)]
Count = Annotated[int, BeforeValidator(_whole), Field(strict=True)]


class GridModel(BaseModel):
    """A sweep grid file: runner ``kind``, ``seed``, chunking, ``fixed`` parameters, axes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Annotated[str, Field(strict=True, min_length=1)]
    seed: Annotated[Count, Field(ge=0)] = 0
    chunk_size: Annotated[Count, Field(ge=1)] = 1000
    chunks: Annotated[Count, Field(ge=1)] = 1
    fixed: Annotated[dict[str, ParamValue] | None, BeforeValidator(_string_keys)] = None
    grid: Annotated[
        dict[str, Annotated[list[ParamValue], Field(min_length=1)]] | None,
        BeforeValidator(_string_keys),
    ] = None

    @field_validator("fixed", "grid", mode="after")
    @classmethod
    def _none_is_empty(cls, v: dict[str, Any] | None) -> dict[str, Any]:
        return {} if v is None else v

    @model_validator(mode="after")
    def _fixed_and_axes_differ(self) -> GridModel:
        both = sorted(set(self.fixed or {}) & set(self.grid or {}))
        if both:
            raise PydanticCustomError("both", "is both fixed and a grid axis", {"name": both[0]})
        n_tasks = math.prod(len(v) for v in (self.grid or {}).values()) * self.chunks
        cap = limit("sweep_tasks")
        if n_tasks > cap:
            points = n_tasks // self.chunks
            message = (
                f"{n_tasks:,} chunks ({points:,} points x {self.chunks} chunks) is more than "
                f"the limit of {cap:,.0f} (override with {LIMITS['sweep_tasks'].env}=N)"
            )
            raise PydanticCustomError("too_many_tasks", "{message}", {"message": message, "n": n_tasks})
        return self


def _field_name(loc: tuple[int | str, ...]) -> str:
    """``('grid', 'x', 0)`` -> ``grid.x``; ``('fixed', 'x')`` -> ``x`` (as in v0.1)."""
    parts = [str(p) for p in loc if not isinstance(p, int)]
    if parts and parts[0] == "fixed" and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts)


def _error(exc: ValidationError, data: Mapping[str, Any]) -> InputError:
    """The first problem of ``exc`` (unknown and missing keys first) as one InputError."""
    errors = exc.errors()
    order = {"extra_forbidden": 0, "missing": 1}
    err = min(errors, key=lambda e: order.get(e["type"], 2))
    kind, loc, value = err["type"], tuple(err["loc"]), err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(loc[0])
        return InputError(
            f"unknown key {key!r} (expected {', '.join(_KEYS)})", field="grid file", value=key
        )
    if kind == "missing":
        return InputError(f"missing key {loc[0]!r}", field="grid file")
    if kind == "both":
        return InputError("is both fixed and a grid axis", field=str(ctx["name"]))
    if kind == "too_many_tasks":
        return InputError(str(ctx["message"]), field="grid", value=ctx["n"])
    field = _field_name(loc) or "grid"
    if kind in ("not_finite", "param_value"):
        return InputError(str(ctx["message"]), field=field + str(ctx["where"]), value=ctx["value"])
    top = str(loc[0]) if loc else ""
    if top == "kind":
        return InputError(f"must be a runner name, got {value!r}", field="kind", value=value)
    if top in ("seed", "chunk_size", "chunks"):
        lo = 0 if top == "seed" else 1
        return InputError(f"must be an integer >= {lo}, got {value!r}", field=top, value=value)
    if len(loc) == 1:  # fixed / grid themselves
        return InputError(f"must be a mapping, got {value!r}", field=top, value=value)
    return InputError(f"must be a non-empty list, got {value!r}", field=field, value=value)


def validate_grid(data: Mapping[str, Any]) -> GridModel:
    """Validate a grid mapping; raise :class:`InputError` naming the field and value."""
    try:
        return GridModel.model_validate(dict(data))
    except ValidationError as exc:
        raise _error(exc, data) from None
