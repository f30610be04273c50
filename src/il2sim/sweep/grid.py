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

Validation is a pydantic model (:mod:`il2sim.sweep._grid_model`, imported on first use): the
same rules for a file, :meth:`Grid.from_dict` and ``Grid(...)``, each failure one
:class:`~il2sim.errors.InputError` naming the field and value.  Limits: at most
``MAX_TASKS`` (10^6) chunks, and a file may expand (YAML aliases) to at most
:data:`MAX_GRID_VALUES` (10^6) values; a binary or recursive file is refused.
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
from il2sim.limits import LIMITS, limit

__all__ = ["Grid", "GridPoint", "chunk_seed_sequence", "load_grid", "parse_param_list"]


def _canonical(obj: Any) -> str:
    """Canonical JSON (sorted keys, no spaces) used for hashes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


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
        from il2sim.sweep._grid_model import validate_grid

        model = validate_grid(
            {
                "kind": self.kind,
                "seed": self.seed,
                "chunk_size": self.chunk_size,
                "chunks": self.chunks,
                "fixed": _mapping("fixed", self.fixed),
                "grid": _mapping("grid", self.axes),
            }
        )
        object.__setattr__(self, "seed", model.seed)
        object.__setattr__(self, "chunk_size", model.chunk_size)
        object.__setattr__(self, "chunks", model.chunks)
        object.__setattr__(self, "fixed", dict(model.fixed or {}))
        object.__setattr__(self, "axes", {k: list(v) for k, v in (model.grid or {}).items()})

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
        from il2sim.sweep._grid_model import validate_grid

        model = validate_grid(data)
        return cls(
            kind=model.kind,
            seed=model.seed,
            chunk_size=model.chunk_size,
            chunks=model.chunks,
            fixed=dict(model.fixed or {}),
            axes=dict(model.grid or {}),
        )


def _mapping(field_name: str, value: Any) -> dict[str, Any]:
    """``value`` as a dict with string keys (a grid's ``fixed`` or axes), else an InputError."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"must be a mapping, got {value!r}", field=field_name, value=value)
    return {str(k): v for k, v in value.items()}


#: Largest number of values (after YAML aliases are expanded) a grid file may hold: the
#: default; the limit in force is ``il2sim.limits.limit("grid_values")`` (docs/limits.md).
MAX_GRID_VALUES = int(LIMITS["grid_values"].default)


def _expanded_size(data: Any) -> int:
    """Number of values in ``data`` counting each alias use (shared lists/mappings) again;
    linear in the number of distinct nodes.  Raises InputError for a recursive document."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(node: Any) -> int:
        if not isinstance(node, list | dict):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in busy:
            raise InputError("is recursive (a YAML alias inside itself)", field="grid")
        busy.add(key)
        items = node.values() if isinstance(node, dict) else node
        total = 1 + sum(size(v) for v in items)
        busy.discard(key)
        sizes[key] = min(total, 10**18)
        return sizes[key]

    return size(data)


def load_grid(path: str | Path) -> Grid:
    """Read a grid from a ``.yaml``/``.yml``/``.toml``/``.json`` file."""
    from il2sim import checks

    p = checks.reader_file(path, "grid")  # name the OS cannot take, folder, missing: one line
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(
            f"{p.name} is not a UTF-8 text file (YAML, TOML or JSON)", field="grid", value=str(p)
        ) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", field="grid", value=str(p)) from None
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
    n = _expanded_size(data)
    cap = limit("grid_values")
    if n > cap:
        raise InputError(
            f"{p.name} expands to {n:,} values (YAML aliases), more than the limit of "
            f"{cap:,.0f} (override with {LIMITS['grid_values'].env}=N)",
            field="grid",
            value=n,
        )
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
