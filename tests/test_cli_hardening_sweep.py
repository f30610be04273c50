"""Sweeps on Dask (issue 16 item 5 / the fuzz run's problem 4): a chunk that fails inside a
Dask worker process gives one ``il2sim:`` line and exit 2 -- no "Compute Failed" block, no
traceback, no Dask log on the real stderr -- and the grid's run options are checked before
any store or cluster exists."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from il2sim.cli.main import main


def _fail_in_worker(
    kind: str, params: Any, n: int, sweep_seed: int, point_index: int, chunk: int
) -> dict[str, float]:
    """Stands in for ``run_chunk`` on the workers (shipped by value): a bug in a worker."""
    raise ValueError(f"boom in the worker (point {point_index}, chunk {chunk})")


def test_an_exception_inside_a_dask_worker_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Real worker processes (LocalCluster on 127.0.0.1); capfd sees their stderr too."""
    pytest.importorskip("dask.distributed")
    import cloudpickle

    import il2sim.sweep.execute as ex

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(ex, "run_chunk", _fail_in_worker)
    store = tmp_path / "store"
    argv = ["sweep", "run", "--kind", "design", "-p", "design=3+3", "-p", "truth=[0.1,0.2,0.3]",
            "--chunks", "2", "--chunk-size", "10", "--workers", "1", "--no-progress",
            "--out", str(store)]  # fmt: skip
    try:
        with pytest.raises(SystemExit) as exc:
            main(argv)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    err = capfd.readouterr().err
    assert exc.value.code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("il2sim: error: grid: point 0 ") and "failed in a Dask worker" in err
    assert "ValueError: boom in the worker" in err
    assert "Traceback" not in err and "Compute Failed" not in err and "distributed" not in err


@pytest.mark.parametrize(
    ("param", "needle"),
    [("max_cohorts=abc", "max_cohorts: must be a whole number"),
     ("max_cohorts=0", "max_cohorts: must be a whole number in 1..1,000")],
)  # fmt: skip
def test_run_options_of_a_grid_point_are_checked_before_the_store(
    param: str, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``max_cohorts=abc`` used to reach the worker (ValueError inside ``int()``, with Dask's
    traceback on stderr); now the grid check refuses it and nothing is created."""
    store = tmp_path / "store"
    with pytest.raises(SystemExit) as exc:
        main(["sweep", "run", "--kind", "design", "-p", "design=3+3", "-p",
              "truth=[0.1,0.2,0.3]", "-p", param, "--workers", "1", "--out", str(store)])  # fmt: skip
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    assert err.startswith("il2sim: error: grid: 1 of 1 grid point(s) are invalid") and needle in err
    assert "Traceback" not in err and not store.exists()


def test_trial_grid_run_options_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    with pytest.raises(SystemExit) as exc:
        main(["sweep", "run", "--kind", "trial", "-p", "doses=[0.4,0.6]", "-p",
              "max_patients=-3", "--out", str(store)])  # fmt: skip
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "max_patients: must be a whole number" in err, err
    assert not store.exists()


def test_a_grid_file_name_the_os_cannot_take_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by the 30-minute ``make fuzz`` on main ce55629 (stop 22, seed 20261201): a GRID
    argument of 300 characters raised ``OSError: [Errno 36] File name too long`` in
    ``load_grid``; the reader now checks the name (``checks.path_name``) before it asks the OS."""
    store = tmp_path / "store"
    with pytest.raises(SystemExit) as exc:
        main(["sweep", "run", "x" * 300, "--out", str(store)])
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    assert err.startswith("il2sim: error: grid: has a name longer than 255 bytes")
    assert err.count("\n") == 1 and "Traceback" not in err and not store.exists()
