"""Benchmark the scale goals of issue 7 and print the ratios.

1. Dask speed-up: a CPU-bound sweep (4+5 design wrapped in dont_skip_doses, whose operating
   characteristics run the generic per-trial loop) on a
   LocalCluster of 1 and of 2 single-threaded worker processes.  Goal: >= 1.7x.  The
   clusters are started and warmed up (imports, numba cache) before the clock starts.
2. Streaming: ``simulate_streaming`` of ``--patients`` virtual patients (default 10^6) on the
   seed regimen for 90 days; wall time and peak memory (``resource.getrusage`` max RSS and
   ``tracemalloc`` peak of Python allocations).  Goal: <= 5 min and <= 4 GB.

Usage: ``python benchmarks/bench_sweep.py [--patients N] [--stream-workers W] [--skip-dask]
[--skip-streaming]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

#: The seed trial's MTD regimen: 1.25 MIU/m2 s.c. daily for 90 days (Meropol 1996).
SEED_REGIMEN = "1.25 MIU/m2 sc qd x90"


def bench_dask(chunk_size: int, chunks: int) -> float:
    """Time one CPU-bound sweep on 1 and on 2 worker processes; return the speed-up."""
    from dask.distributed import LocalCluster

    from il2sim.sweep import Grid, Store, run_sweep

    grid = Grid(
        kind="design",
        seed=1,
        chunk_size=chunk_size,
        chunks=chunks,
        # a rule-wrapped design runs the generic (pure Python) trial loop: CPU-bound
        fixed={"design": "4+5", "no_skip": True},
        axes={
            "truth": [
                [0.02, 0.05, 0.1, 0.15, 0.25, 0.35, 0.5],
                [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            ]
        },
    )
    warm = Grid(kind="design", seed=0, chunk_size=100, chunks=4, fixed=grid.fixed, axes=grid.axes)
    times: dict[int, float] = {}
    summaries: dict[int, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n_workers in (1, 2):
            with LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster:
                addr = cluster.scheduler_address
                run_sweep(warm, Path(tmp) / f"warm{n_workers}", scheduler=addr)
                t0 = time.perf_counter()
                run_sweep(grid, Path(tmp) / f"w{n_workers}", scheduler=addr)
                times[n_workers] = time.perf_counter() - t0
            import json

            summaries[n_workers] = json.dumps(
                Store(Path(tmp) / f"w{n_workers}").summary().to_dict()
            )
    speedup = times[1] / times[2]
    print(
        f"dask sweep ({grid.n_tasks} chunks x {chunk_size} trials): 1 worker {times[1]:.2f} s, "
        f"2 workers {times[2]:.2f} s -> speed-up {speedup:.2f}x (goal >= 1.7x); "
        f"identical results: {summaries[1] == summaries[2]}"
    )
    return speedup


def bench_streaming(n_patients: int, batch_size: int, workers: int) -> tuple[float, float]:
    """Stream ``n_patients`` over 90 days; return (seconds, peak RSS in GB).

    Peak memory: max RSS of this process plus that of its (finished) worker processes
    (``RUSAGE_CHILDREN`` reports the largest child), and the ``tracemalloc`` peak of this
    process's Python allocations."""
    from il2sim.simulate.stream import simulate_streaming

    tracemalloc.start()
    t0 = time.perf_counter()
    summary = simulate_streaming(
        SEED_REGIMEN, n_patients, seed=1, batch_size=batch_size, workers=workers
    )
    elapsed = time.perf_counter() - t0
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # kilobytes on Linux
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    rss_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    total = rss_self + workers * rss_child if workers > 1 else rss_self
    print(
        f"streaming {n_patients} patients x 90 days (batch {batch_size}, {workers} worker(s)): "
        f"{elapsed:.1f} s (goal <= 300 s), peak RSS {rss_self:.2f} GB main + "
        f"{rss_child:.2f} GB per worker = {total:.2f} GB at most (goal <= 4 GB); peak Python "
        f"allocations in main {py_peak / 1024**3:.2f} GB; patients = {summary['patients']}"
    )
    return elapsed, total


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the selected benchmarks."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=1_000_000, help="streamed patients")
    ap.add_argument("--batch-size", type=int, default=10_000, help="patients per batch")
    ap.add_argument(
        "--stream-workers", type=int, default=os.cpu_count() or 1, help="streaming processes"
    )
    ap.add_argument("--chunk-size", type=int, default=1000, help="trials per sweep chunk")
    ap.add_argument("--chunks", type=int, default=8, help="chunks per grid point")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--skip-streaming", action="store_true")
    args = ap.parse_args(argv)
    if not args.skip_dask:
        bench_dask(args.chunk_size, args.chunks)
    if not args.skip_streaming:
        bench_streaming(args.patients, args.batch_size, args.stream_workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
