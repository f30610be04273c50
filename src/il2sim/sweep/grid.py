"""Sweep grids: a cartesian product of parameter values over one runner kind.

A grid is read from a YAML or TOML file, or built from CLI lists (``--param truth=...``)::

    kind: design            # runner kind: design | simulate | trial (see runners.py)
    seed: 2026              # sweep seed; chunk seeds derive from (seed, point, chunk)
    chunk_size: 2000        # replicates per chunk (trials, or virtual patients)
    chunks: 5               # chunks per grid point
    fixed:                  # parameters shared by every point
      n_doses: 7
    grid:                   # axes: each a list of values; points = cartesian product
      design: ["3+3", "4+5"]
      truth: [[0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.02, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6]]

Point ``i`` is the i-th element of the product with the first axis varying slowest; its key
is a short SHA-256 hash of the canonical JSON of its parameters (``point_hash``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from il2sim.errors import InputError

__all__ = ["Grid", "GridPoint", "chunk_seed_sequence", "load_grid", "parse_param_list"]


def _canonical(obj: Any) -> str:
    """Canonical JSON (sorted keys, no spaces) used for hashes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _check_value(field_name: str, value: Any) -> Any:
    """Reject values that do not survive a JSON round trip (NaN, objects)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"must be finite, got {value!r}", field=field_name, value=value)
    if isinstance(value, list | tuple):
        return [_check_value(field_name, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _check_value(f"{field_name}.{k}", v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise InputError(
        f"must be a number, string, boolean or list, got {value!r}", field=field_name, value=value
    )


@dataclass(frozen=True)
class GridPoint:
    """One grid point: its index (0-based, product order), parameters and hash key."""

    index: int
    params: dict[str, Any]

    @property
    def point_hash(self) -> str:
        """First 16 hex digits of SHA-256 of the canonical parameter JSON."""
        return hashlib.sha256(_canonical(self.params).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Grid:
    """A sweep: runner ``kind``, seed, chunking and the parameter axes.

    ``chunk_size`` replicates (trials or patients) per chunk, ``chunks`` chunks per point.
    """

    kind: str
    seed: int = 0
    chunk_size: int = 1000
    chunks: int = 1
    fixed: dict[str, Any] = field(default_factory=dict)
    axes: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not self.kind:
            raise InputError(f"must be a runner name, got {self.kind!r}", field="kind")
        for name, lo in (("seed", 0), ("chunk_size", 1), ("chunks", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or int(v) < lo:
                raise InputError(f"must be an integer >= {lo}, got {v!r}", field=name, value=v)
            object.__setattr__(self, name, int(v))
        fixed = {str(k): _check_value(str(k), v) for k, v in dict(self.fixed).items()}
        axes: dict[str, list[Any]] = {}
        for k, vals in dict(self.axes).items():
            if not isinstance(vals, list | tuple) or len(vals) == 0:
                raise InputError(f"must be a non-empty list, got {vals!r}", field=f"grid.{k}")
            if k in fixed:
                raise InputError("is both fixed and a grid axis", field=str(k))
            axes[str(k)] = [_check_value(f"grid.{k}", v) for v in vals]
        object.__setattr__(self, "fixed", fixed)
        object.__setattr__(self, "axes", axes)

    @property
    def n_points(self) -> int:
        """Number of grid points (1 with no axes)."""
        return math.prod(len(v) for v in self.axes.values())

    @property
    def n_tasks(self) -> int:
        """Number of chunks over all points."""
        return self.n_points * self.chunks

    def points(self) -> list[GridPoint]:
        """All grid points in product order (first axis slowest)."""
        names = list(self.axes)
        out: list[GridPoint] = []
        for i, combo in enumerate(itertools.product(*(self.axes[n] for n in names))):
            params = dict(self.fixed)
            params.update(dict(zip(names, combo, strict=True)))
            out.append(GridPoint(i, params))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (also written to the store's manifest)."""
        return {
            "kind": self.kind,
            "seed": self.seed,
            "chunk_size": self.chunk_size,
            "chunks": self.chunks,
            "fixed": self.fixed,
            "grid": self.axes,
        }

    @property
    def grid_hash(self) -> str:
        """SHA-256 (16 hex digits) of the canonical grid and its axis order (which fixes the
        point indices, hence the seeds): a store belongs to one grid."""
        key = {"grid": self.to_dict(), "axis_order": list(self.axes)}
        return hashlib.sha256(_canonical(key).encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Grid:
        """Build from the file layout documented in the module docstring."""
        known = {"kind", "seed", "chunk_size", "chunks", "fixed", "grid"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(
                f"unknown key {unknown[0]!r} (expected {', '.join(sorted(known))})",
                field="grid file",
                value=unknown[0],
            )
        if "kind" not in data:
            raise InputError("missing key 'kind'", field="grid file")
        fixed = data.get("fixed") or {}
        axes = data.get("grid") or {}
        if not isinstance(fixed, Mapping):
            raise InputError(f"must be a mapping, got {fixed!r}", field="fixed")
        if not isinstance(axes, Mapping):
            raise InputError(f"must be a mapping, got {axes!r}", field="grid")
        return cls(
            kind=data["kind"],
            seed=data.get("seed", 0),
            chunk_size=data.get("chunk_size", 1000),
            chunks=data.get("chunks", 1),
            fixed=dict(fixed),
            axes={k: list(v) if isinstance(v, list | tuple) else v for k, v in axes.items()},
        )


def load_grid(path: str | Path) -> Grid:
    """Read a grid from a ``.yaml``/``.yml``/``.toml``/``.json`` file."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such file: {str(p)!r}", field="grid", value=str(p))
    text = p.read_text(encoding="utf-8")
    suffix = p.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise InputError(f"cannot parse {p.name}: {exc}", field="grid", value=str(p)) from None
    except Exception as exc:  # yaml.YAMLError without importing yaml at module level
        raise InputError(f"cannot parse {p.name}: {exc}", field="grid", value=str(p)) from None
    if not isinstance(data, Mapping):
        raise InputError(f"must hold a mapping, got {type(data).__name__}", field="grid")
    return Grid.from_dict(data)


def _parse_scalar(text: str) -> Any:
    """``"3"`` -> 3, ``"0.5"`` -> 0.5, ``"true"`` -> True, ``"[0.1,0.2]"`` -> list, else str."""
    t = text.strip()
    if t.startswith("["):
        try:
            return json.loads(t)
        except json.JSONDecodeError:
            raise InputError(f"not a JSON list: {t!r}", field="param", value=t) from None
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(t)
    except ValueError:
        pass
    try:
        x = float(t)
    except ValueError:
        return t
    if not math.isfinite(x):
        raise InputError(f"not a finite number: {t!r}", field="param", value=t)
    return x


def _split_top_level(text: str) -> list[str]:
    """Split on ``;`` outside brackets, else on ``,`` outside brackets."""
    sep = ";" if ";" in text else ","
    parts: list[str] = []
    depth = 0
    cur: list[str] = []
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def parse_param_list(items: Sequence[str]) -> dict[str, list[Any]]:
    """Parse CLI ``name=v1,v2`` items into axes.

    Values are ints, floats, booleans, strings or JSON lists (``truth=[0.1,0.2];[0.2,0.3]``:
    use ``;`` to separate values that contain commas).  A name given twice is an error.
    """
    axes: dict[str, list[Any]] = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"expected NAME=V1,V2,..., got {item!r}", field="param", value=item)
        name, _, rest = item.partition("=")
        name = name.strip()
        if not name:
            raise InputError(f"empty name in {item!r}", field="param", value=item)
        if name in axes:
            raise InputError(f"given twice: {name!r}", field="param", value=name)
        parts = _split_top_level(rest)
        if any(not p.strip() for p in parts):
            raise InputError(f"empty value in {item!r}", field="param", value=item)
        axes[name] = [_parse_scalar(p) for p in parts]
    return axes


def chunk_seed_sequence(sweep_seed: int, point_index: int, chunk: int) -> np.random.SeedSequence:
    """The seed of one chunk: ``SeedSequence([sweep_seed, point_index, chunk])``.

    Depends only on these three integers, so results do not depend on chunking order or the
    number of workers.
    """
    return np.random.SeedSequence([int(sweep_seed), int(point_index), int(chunk)])
