"""Worker processes of the ordered pool (streaming): SIGINT ignored, numba threads shared.

With ``workers`` processes on ``cpu_count`` CPUs each worker runs numba's parallel loops on
``cpu_count // workers`` threads (at least one): two workers of two threads on a 2-core
machine oversubscribe it.
"""

from __future__ import annotations

import signal

import numba
import pytest

from il2sim._interrupt import StopFlag
from il2sim.simulate import _ordered_pool
from il2sim.simulate._ordered_pool import ordered_map, worker_threads


def _worker_state(k: int) -> tuple[int, int, bool]:
    """(job, numba threads, SIGINT ignored) as a worker process sees them."""
    return k, numba.get_num_threads(), signal.getsignal(signal.SIGINT) == signal.SIG_IGN


@pytest.mark.parametrize(
    ("cpus", "workers", "threads"), [(2, 1, 2), (2, 2, 1), (1, 2, 1), (8, 3, 2), (None, 2, 1)]
)
def test_worker_threads_share_the_cpus(
    monkeypatch: pytest.MonkeyPatch, cpus: int | None, workers: int, threads: int
) -> None:
    monkeypatch.setattr(_ordered_pool.os, "cpu_count", lambda: cpus)
    assert worker_threads(workers) == threads


def test_workers_run_with_their_share_of_threads_and_ignore_sigint() -> None:
    want = min(worker_threads(2), numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    got = list(ordered_map(_worker_state, [(k,) for k in range(4)], 2, StopFlag()))
    assert [g[0] for g in got] == [0, 1, 2, 3]  # submission order
    assert {g[1] for g in got} == {want}
    assert all(g[2] for g in got)
