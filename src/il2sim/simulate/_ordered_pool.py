"""Run jobs in worker processes and yield their results in submission order, under the
interruption contract (:mod:`il2sim._interrupt`).

At most ``2 * workers`` jobs are in flight.  Workers are spawned with SIGINT ignored (a Ctrl-C
sent to the process group reaches the driver only, so no worker prints a traceback) and with
``cpu_count // workers`` numba threads each (at least one), so that ``workers`` processes
running a parallel kernel do not put more threads than cores on the machine (with 2 workers of
2 threads each on 2 cores, the threads of one process wait at the kernel's barriers for cores
the other holds).  The
driver waits in short steps and checks the stop flag between them: once a stop is asked for,
no further result is yielded, the jobs still running are abandoned (their workers are
terminated, since their results would be discarded) and the generator returns, so the caller
keeps exactly the results it already folded.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from il2sim._interrupt import StopFlag, ignore_sigint, sigint_ignored

__all__ = ["ordered_map", "worker_threads"]

#: Seconds between checks of the stop flag while waiting for a worker.
POLL_S = 0.25


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop the pool's workers now (their running jobs are abandoned)."""
    procs = getattr(pool, "_processes", None) or {}  # CPython's executor keeps them here
    for proc in list(procs.values()):
        if proc.is_alive():
            proc.terminate()


def worker_threads(workers: int) -> int:
    """numba threads per worker process: the CPUs shared among ``workers``, at least one."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def _init_worker(threads: int) -> None:
    """Worker start-up: ignore SIGINT, run numba's parallel loops on ``threads`` threads."""
    ignore_sigint()
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]


def ordered_map(
    fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]], workers: int, stop: StopFlag
) -> Iterator[Any]:
    """``fn(*job)`` for each job on ``workers`` spawned processes, yielded in job order."""
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(worker_threads(workers),),
    )
    abandoned = False
    try:
        pending: deque[Future[Any]] = deque()
        todo = iter(jobs)
        with sigint_ignored():  # workers are spawned on submit: they inherit "ignore SIGINT"
            for job in todo:
                pending.append(pool.submit(fn, *job))
                if len(pending) >= 2 * workers:
                    break
        while pending:
            head = pending[0]
            while not head.done() and not stop:
                wait([head], timeout=POLL_S, return_when=FIRST_COMPLETED)
            if stop:
                abandoned = True
                return
            yield pending.popleft().result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.submit(fn, *nxt))
    except BaseException:
        abandoned = True
        raise
    finally:
        if abandoned:
            _terminate(pool)
        pool.shutdown(wait=True, cancel_futures=True)
