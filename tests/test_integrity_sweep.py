"""A sweep validates its whole grid before it creates a store (issue 17 item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from il2sim.errors import InputError
from il2sim.sweep.execute import run_sweep
from il2sim.sweep.grid import Grid


def _grid(truths: list[list[float]], **fixed: object) -> Grid:
    fixed.setdefault("design", "3+3")
    return Grid.from_dict(
        {"kind": "design", "fixed": fixed, "grid": {"truth": truths},
         "seed": 1, "chunk_size": 20, "chunks": 1}
    )  # fmt: skip


def test_a_bad_point_leaves_no_store_and_the_fixed_grid_runs(tmp_path: Path) -> None:
    store = tmp_path / "store"
    bad = _grid([[0.1, 0.2], [0.1, "x"]])  # type: ignore[list-item]
    with pytest.raises(InputError) as err:
        run_sweep(bad, store)
    msg = str(err.value)
    assert msg.startswith("grid: 1 of 2 grid point(s) are invalid; nothing was run or written")
    assert "point 1" in msg
    assert not store.exists()
    good = _grid([[0.1, 0.2], [0.1, 0.3]])
    rec = run_sweep(good, store)
    assert (rec.ran, rec.interrupted) == (2, False)


def test_every_bad_point_is_listed(tmp_path: Path) -> None:
    bad = _grid([[0.1, 0.2], [0.2, 0.3]], design="crm")  # CRM needs a skeleton and a target
    with pytest.raises(InputError, match=r"2 of 2 grid point\(s\) are invalid") as err:
        run_sweep(bad, tmp_path / "s")
    assert "point 0" in str(err.value) and "point 1" in str(err.value)
    assert not (tmp_path / "s").exists()


def test_simulate_points_checked_without_simulating(tmp_path: Path) -> None:
    g = Grid.from_dict(
        {"kind": "simulate", "fixed": {}, "grid": {"regimen": ["1 MIU/m2 sc qd x2", "1 MIU sq"]},
         "seed": 1, "chunk_size": 10, "chunks": 1}
    )  # fmt: skip
    with pytest.raises(InputError, match="point 1"):
        run_sweep(g, tmp_path / "s")
    assert not (tmp_path / "s").exists()
