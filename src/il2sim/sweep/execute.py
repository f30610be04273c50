"""Run a sweep: in-process by default, or on Dask (a local cluster or an existing scheduler).

Every chunk's seed is ``SeedSequence([sweep seed, point index, chunk])`` and chunk files are
combined in chunk order, so results are identical whatever the order chunks finish in or the
number of workers.  Chunks already in the store are skipped (resume).  Results are written by
this (driver) process as they arrive, so workers need no access to the store's file system.
Ctrl-C follows the interruption contract (:mod:`il2sim._interrupt`): the first stops the
sweep after the chunk in hand (a chunk still running in this process when the stop came is
discarded, never stored half-done), keeps every chunk that finished and flags the run; Dask
workers are started with SIGINT ignored, so a Ctrl-C sent to the process group prints nothing
from them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from il2sim._dask import local_client
from il2sim._interrupt import interruptible
from il2sim.errors import Il2simError, InputError
from il2sim.sweep.grid import Grid, GridPoint
from il2sim.sweep.runners import check_point, get_runner, run_chunk
from il2sim.sweep.store import Store

__all__ = ["SweepRun", "run_sweep"]


@dataclass(frozen=True)
class SweepRun:
    """What one ``run_sweep`` call did: chunks in the grid, found done, run now, interrupted."""

    store: str
    n_tasks: int
    already_done: int
    ran: int
    interrupted: bool
    elapsed_s: float
    executor: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "store": self.store,
            "n_tasks": self.n_tasks,
            "already_done": self.already_done,
            "ran": self.ran,
            "remaining": self.n_tasks - self.already_done - self.ran,
            "interrupted": self.interrupted,
            "done": self.already_done + self.ran,
            "asked": self.n_tasks,
            "elapsed_s": self.elapsed_s,
            "executor": self.executor,
        }


@contextmanager
def _dask_client(
    workers: int | None,
    scheduler: str | None,
    dashboard: bool,
    processes: bool,
    on_dashboard: Callable[[str], None] | None = None,
) -> Iterator[Any]:
    """A Dask client on ``scheduler`` or on a new loopback-only LocalCluster
    (:func:`il2sim._dask.local_client`: no dashboard unless ``dashboard``, then on a free
    127.0.0.1 port whose link goes to ``on_dashboard``)."""
    with _quiet_dask_logs():
        if scheduler is not None:
            from dask.distributed import Client

            client = Client(scheduler)
            try:
                yield client
            finally:
                client.close()
            return
        assert workers is not None
        with local_client(int(workers), processes=processes, dashboard=dashboard) as client:
            if dashboard and on_dashboard is not None:
                on_dashboard(str(client.dashboard_link))
            yield client


@contextmanager
def _quiet_dask_logs() -> Iterator[None]:
    """Dask's loggers in this process (client, scheduler, thread workers) at CRITICAL while a
    sweep runs: a failing chunk becomes one ``il2sim:`` line (:func:`_chunk_failed`), never a
    "Compute Failed" block on stderr."""
    names = ["distributed", "dask"] + [
        n for n in logging.root.manager.loggerDict if n.startswith(("distributed.", "dask."))
    ]  # the children too: dask's logging config gives some their own level
    loggers = [logging.getLogger(name) for name in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _chunk_failed(pt: GridPoint, chunk: int, exc: BaseException, ran: int, out: Any) -> Il2simError:
    """The one error of a chunk that failed in a Dask worker: names the point, the chunk and
    the worker's exception; the chunks that finished stay in the store (a rerun resumes)."""
    if isinstance(exc, Il2simError):
        what = str(exc)
    else:
        what = f"{type(exc).__name__}: {exc}"
    return InputError(
        f"point {pt.index} {pt.params} chunk {chunk} failed in a Dask worker: {what}; "
        f"{ran} chunk(s) finished this run and are kept in {out} (a rerun resumes)",
        field="grid",
        value=pt.index,
    )


def _check_grid(grid: Grid) -> None:
    """Validate every point of ``grid`` (:func:`~il2sim.sweep.runners.check_point`); one
    InputError listing the failing points (their index and parameters)."""
    problems: list[str] = []
    for pt in grid.points():
        try:
            check_point(grid.kind, pt.params)
        except (Il2simError, TypeError, ValueError) as exc:
            problems.append(f"point {pt.index} {pt.params}: {exc}")
    if problems:
        shown = "\n".join(f"  - {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise InputError(
            f"{len(problems)} of {grid.n_points} grid point(s) are invalid; nothing was run or "
            f"written\n{shown}{more}",
            field="grid",
            value=len(problems),
        )


def run_sweep(
    grid: Grid,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    dashboard: bool = False,
    processes: bool = True,
    progress: Callable[[int, int], None] | None = None,
    max_chunks: int | None = None,
    on_dashboard: Callable[[str], None] | None = None,
) -> SweepRun:
    """Run every chunk of ``grid`` not yet in the store at ``out``.

    ``workers``: start a Dask LocalCluster with that many single-threaded workers (processes,
    or threads with ``processes=False``) on 127.0.0.1, no dashboard unless ``dashboard`` (then
    on a free 127.0.0.1 port; ``on_dashboard(link)`` is called with its address);
    ``scheduler``: ``tcp://HOST:PORT`` of an existing Dask scheduler; neither: run in this
    process.  ``max_chunks`` stops after that many new chunks (for staged runs).
    ``progress(done, total)``: chunks in the store after each one (the library draws nothing;
    ``il2sim sweep run`` shows it as a bar).
    """
    get_runner(grid.kind)  # fail fast on an unknown kind
    if workers is not None and int(workers) < 1:
        raise InputError(f"must be >= 1, got {workers}", field="workers", value=workers)
    if workers is not None and scheduler is not None:
        raise InputError("give --workers or --scheduler, not both", field="scheduler")
    if dashboard and workers is None:
        raise InputError(
            "is served by the cluster --workers N starts (a --scheduler serves its own)",
            field="dashboard",
        )
    if scheduler is not None:
        from il2sim.checks import scheduler_address

        scheduler = scheduler_address(scheduler)
    _check_grid(grid)  # every point, before the store exists: a bad grid leaves nothing behind
    store = Store(out)
    store.open_for(grid)
    done = store.done()
    tasks: list[tuple[GridPoint, int]] = [
        (pt, c)
        for pt in grid.points()
        for c in range(grid.chunks)
        if (pt.point_hash, c) not in done
    ]
    already = grid.n_tasks - len(tasks)
    if max_chunks is not None:
        tasks = tasks[: max(int(max_chunks), 0)]
    t0 = time.perf_counter()
    ran = 0
    interrupted = False
    executor = "in-process" if workers is None and scheduler is None else "dask"

    def advance() -> None:
        if progress is not None:
            progress(already + ran, grid.n_tasks)

    advance()
    with interruptible() as stop:
        if executor == "in-process":
            for pt, c in tasks:
                if stop:
                    break
                metrics = run_chunk(grid.kind, pt.params, grid.chunk_size, grid.seed, pt.index, c)
                if stop:  # the chunk may have stopped early too: discard it, rerun on resume
                    break
                store.write_chunk(pt, c, grid.chunk_size, metrics)
                ran += 1
                advance()
        else:
            from dask.distributed import as_completed

            with _dask_client(workers, scheduler, dashboard, processes, on_dashboard) as client:
                futures: list[Any] = []
                where: dict[str, tuple[GridPoint, int]] = {}
                for pt, c in tasks:
                    fut = client.submit(
                        run_chunk,
                        grid.kind,
                        pt.params,
                        grid.chunk_size,
                        grid.seed,
                        pt.index,
                        c,
                        key=f"il2sim-chunk-{grid.grid_hash}-{pt.point_hash}-{c:06d}",
                        pure=False,
                    )
                    futures.append(fut)
                    where[fut.key] = (pt, c)
                for fut in as_completed(futures):
                    pt, c = where[fut.key]  # workers run chunks whole (SIGINT ignored)
                    try:
                        metrics = fut.result()
                    except Exception as exc:  # raised in a worker: one line, the rest cancelled
                        client.cancel(futures)
                        raise _chunk_failed(pt, c, exc, ran, out) from None
                    store.write_chunk(pt, c, grid.chunk_size, metrics)
                    ran += 1
                    advance()
                    if stop:
                        client.cancel(futures)
                        break
        interrupted = bool(stop) and already + ran < grid.n_tasks
    return SweepRun(
        store=str(out),
        n_tasks=grid.n_tasks,
        already_done=already,
        ran=ran,
        interrupted=interrupted,
        elapsed_s=time.perf_counter() - t0,
        executor=executor if scheduler is None else f"dask:{scheduler}",
    )
