"""The sweep results store: a Parquet dataset, one file per finished chunk.

Layout of a store directory::

    STORE/manifest.json                      the grid (and its hash) this store belongs to
    STORE/chunks/<point_hash>-<chunk>.parquet  one row per finished chunk

A chunk file is written to a hidden temporary file in ``chunks/`` and moved into place with
``os.replace`` (atomic on POSIX), so a chunk file that exists is complete: a sweep killed at
any moment (even SIGKILL) loses at most the chunks in flight and never holds a partial or
duplicate chunk.  Resuming skips every chunk whose file exists.  The summary reads all chunk
files and combines them per grid point in chunk order, so it depends only on which chunks
finished, never on the order they finished in.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from il2sim._files import atomic_path, write_text_atomic
from il2sim.errors import DataError, InputError
from il2sim.sweep.grid import Grid, GridPoint, _canonical

__all__ = ["ChunkRow", "Store", "SweepSummary"]

_CHUNK_RE = re.compile(r"^([0-9a-f]{16})-(\d{6})\.parquet$", re.ASCII)
_MANIFEST = "manifest.json"
_FORMAT = "il2sim-sweep-store/1"


def _read_chunk(path: Path, pq: Any) -> list[dict[str, Any]]:
    """The rows of one chunk file; an empty, truncated or foreign file is a DataError naming
    it (its magic bytes are checked first; Arrow's own refusal is the last resort)."""
    import pyarrow as pa

    def bad(why: str) -> DataError:
        return DataError(
            f"unreadable chunk file {path.name} ({why}): delete it and re-run `il2sim sweep "
            "run` with the same grid to recompute it",
            field="chunk",
            value=path.name,
        )

    size = path.stat().st_size
    if size < 12:
        raise bad(f"{size} bytes")
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(-4, os.SEEK_END)
        tail = fh.read(4)
    if head != b"PAR1" or tail != b"PAR1":
        raise bad("not a Parquet file")
    try:
        rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    except (pa.ArrowException, OSError) as exc:
        raise bad(str(exc).splitlines()[0][:200]) from None
    for r in rows:
        missing = {"point_index", "point_hash", "chunk", "n", "params"} - set(r)
        if missing:
            raise bad(f"missing column(s) {', '.join(sorted(missing))}")
    return rows


@dataclass(frozen=True)
class ChunkRow:
    """One finished chunk: its grid point, chunk index, replicate count and mean metrics."""

    point_index: int
    point_hash: str
    chunk: int
    n: int
    params_json: str
    metrics: dict[str, float]


@dataclass(frozen=True)
class SweepSummary:
    """Per-grid-point summary of a store (``n``-weighted means of chunk metrics).

    ``points`` items: ``index``, ``point_hash``, ``params``, ``chunks_done``, ``n`` (replicates)
    and ``metrics`` (name -> mean); ``metrics_se`` is the between-chunk standard error of each
    mean (None with fewer than two chunks).
    """

    grid: dict[str, Any]
    grid_hash: str
    chunks_expected: int
    chunks_done: int
    points: tuple[dict[str, Any], ...]

    @property
    def complete(self) -> bool:
        """True when every chunk of every point is in the store."""
        return self.chunks_done == self.chunks_expected

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (deterministic: no timings, sorted metric names)."""
        return {
            "grid_hash": self.grid_hash,
            "grid": self.grid,
            "chunks_expected": self.chunks_expected,
            "chunks_done": self.chunks_done,
            "complete": self.complete,
            "points": list(self.points),
        }


def _write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


class Store:
    """A sweep results store rooted at ``path`` (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.chunks_dir = self.path / "chunks"

    # --- manifest -----------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any]:
        """The manifest, or DataError when the directory is not a sweep store."""
        f = self.path / _MANIFEST
        if not f.is_file():
            raise DataError(
                f"not a sweep store (no {_MANIFEST})", field="store", value=str(self.path)
            )
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"unreadable manifest: {exc}", field="store") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise DataError(f"not a {_FORMAT} manifest", field="store", value=str(self.path))
        return data

    def grid(self) -> Grid:
        """The grid this store belongs to."""
        return Grid.from_dict(self.read_manifest()["grid"])

    def open_for(self, grid: Grid) -> None:
        """Create the store for ``grid``, or check an existing one belongs to the same grid.

        Also removes temporary files left by a killed writer (one writer per store).
        """
        self.chunks_dir.mkdir(parents=True, exist_ok=True)
        f = self.path / _MANIFEST
        if f.is_file():
            have = self.read_manifest()
            if have.get("grid_hash") != grid.grid_hash:
                raise InputError(
                    f"store {str(self.path)!r} holds a different sweep (grid hash "
                    f"{have.get('grid_hash')}, this grid {grid.grid_hash}); use another --out",
                    field="out",
                    value=str(self.path),
                )
        else:
            _write_json_atomic(
                f, {"format": _FORMAT, "grid_hash": grid.grid_hash, "grid": grid.to_dict()}
            )
        for tmp in self.chunks_dir.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    # --- chunks -------------------------------------------------------------------------------
    @staticmethod
    def chunk_name(point_hash: str, chunk: int) -> str:
        """File name of a chunk: ``<point_hash>-<chunk:06d>.parquet``."""
        return f"{point_hash}-{int(chunk):06d}.parquet"

    def done(self) -> set[tuple[str, int]]:
        """Keys ``(point_hash, chunk)`` of the chunks already in the store."""
        if not self.chunks_dir.is_dir():
            return set()
        out: set[tuple[str, int]] = set()
        for p in self.chunks_dir.iterdir():
            m = _CHUNK_RE.match(p.name)
            if m:
                out.add((m.group(1), int(m.group(2))))
        return out

    def write_chunk(self, point: GridPoint, chunk: int, n: int, metrics: dict[str, float]) -> Path:
        """Write one chunk's row atomically (:func:`il2sim._files.atomic_path`, flushed to disk
        before the rename); return its path."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols: dict[str, list[Any]] = {
            "point_index": [int(point.index)],
            "point_hash": [point.point_hash],
            "chunk": [int(chunk)],
            "n": [int(n)],
            "params": [_canonical(point.params)],
        }
        for k in sorted(metrics):
            cols[f"m:{k}"] = [float(metrics[k])]
        table = pa.table(cols)
        target = self.chunks_dir / self.chunk_name(point.point_hash, chunk)
        with atomic_path(target, suffix=".tmp", fsync=True, clean=False) as tmp:
            pq.write_table(table, tmp)
        return target

    def read_chunks(self) -> list[ChunkRow]:
        """Every finished chunk, sorted by (point index, chunk)."""
        import pyarrow.parquet as pq

        rows: list[ChunkRow] = []
        if not self.chunks_dir.is_dir():
            return rows
        for p in sorted(self.chunks_dir.iterdir()):
            if not _CHUNK_RE.match(p.name):
                continue
            t = _read_chunk(p, pq)
            if len(t) != 1:
                raise DataError(f"expected one row, got {len(t)}", field="chunk", value=p.name)
            r = t[0]
            metrics = {
                k[2:]: float(v) for k, v in r.items() if k.startswith("m:") and v is not None
            }
            rows.append(
                ChunkRow(
                    int(r["point_index"]),
                    str(r["point_hash"]),
                    int(r["chunk"]),
                    int(r["n"]),
                    str(r["params"]),
                    metrics,
                )
            )
        rows.sort(key=lambda c: (c.point_index, c.chunk))
        return rows

    # --- summary ------------------------------------------------------------------------------
    def summary(self) -> SweepSummary:
        """Combine chunks per grid point: ``n``-weighted means and between-chunk SEs."""
        manifest = self.read_manifest()
        grid = Grid.from_dict(manifest["grid"])
        by_hash: dict[str, list[ChunkRow]] = {}
        for row in self.read_chunks():
            by_hash.setdefault(row.point_hash, []).append(row)
        points: list[dict[str, Any]] = []
        done = 0
        for pt in grid.points():
            rows = by_hash.get(pt.point_hash, [])
            done += len(rows)
            n_tot = sum(r.n for r in rows)
            names = sorted(set().union(*(r.metrics for r in rows))) if rows else []
            means: dict[str, float | None] = {}
            ses: dict[str, float | None] = {}
            for name in names:
                pairs = [(r.metrics[name], r.n) for r in rows if name in r.metrics]
                pairs = [(v, w) for v, w in pairs if math.isfinite(v)]
                wsum = sum(w for _, w in pairs)
                if not pairs or wsum == 0:
                    means[name], ses[name] = None, None
                    continue
                mean = math.fsum(v * w for v, w in pairs) / wsum
                means[name] = mean
                k = len(pairs)
                if k >= 2:
                    var = math.fsum(w * (v - mean) ** 2 for v, w in pairs) / wsum * k / (k - 1)
                    ses[name] = math.sqrt(var / k)
                else:
                    ses[name] = None
            points.append(
                {
                    "index": pt.index,
                    "point_hash": pt.point_hash,
                    "params": pt.params,
                    "chunks_done": len(rows),
                    "n": n_tot,
                    "metrics": means,
                    "metrics_se": ses,
                }
            )
        return SweepSummary(
            grid=grid.to_dict(),
            grid_hash=grid.grid_hash,
            chunks_expected=grid.n_tasks,
            chunks_done=done,
            points=tuple(points),
        )
