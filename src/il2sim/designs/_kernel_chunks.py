"""Running a design's compiled kernel in chunks, and the trial table of the generic loop --
private parts of :class:`il2sim.designs.controller.TrialController`.

Kernel chunks: trial ``i`` reads its uniforms from positions ``i * width ...`` of the single
PCG64 stream of the run's root seed (each chunk starts by ``advance``), so the numbers do not
depend on the chunk size or the number of workers.  One worker: chunks sized by time
(:func:`il2sim._interrupt.paced`), the stop flag checked between chunks; more workers: fixed
chunks on threads (the kernels release the GIL), finished in order.  The generic loop's trials
(one :class:`~il2sim.designs.records.TrialRecord` each) become the same
:class:`~il2sim.designs.records.SimulatedTrials` table the kernels fill.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim._interrupt import StopFlag, paced
from il2sim.designs.kernels import Caps, Kernel
from il2sim.designs.records import SimulatedTrials, Simulation, TrialRecord

__all__ = ["TrialRow", "run_kernel", "trial_row", "trials_table"]

#: Uniforms held in memory per kernel chunk (8 MB of doubles).
_UNIFORM_BUDGET = 1 << 20
_MAX_CHUNK_TRIALS = 50_000

Progress = Callable[[int, int], None]
IntArray = npt.NDArray[np.int64]
#: One generic trial: selected, n/dlt per dose, capped, duration, cohort dose/size/dlt,
#: efficacy per dose, cohort efficacy and both-outcome counts.
TrialRow = tuple[int, Any, Any, bool, float, IntArray, IntArray, IntArray, Any, IntArray, IntArray]


def trial_row(rec: TrialRecord, k: int, lv: IntArray, sz: IntArray, yy: IntArray) -> TrialRow:
    """The table row of one generic trial (``lv``/``sz``/``yy``: its cohorts' level, size and
    DLTs)."""
    o = rec.outcomes
    ci = np.searchsorted(np.unique(o.cohort), o.cohort)
    ef = o.efficacy()
    ce = np.bincount(ci, weights=ef, minlength=lv.size).astype(np.int64)
    cb = np.bincount(ci, weights=ef * o.dlt, minlength=lv.size).astype(np.int64)
    return (rec.selected or 0, o.n_per_dose(k), o.dlt_per_dose(k), rec.capped,
            rec.duration_days, lv, sz, yy, o.eff_per_dose(k), ce, cb)  # fmt: skip


def trials_table(rows: list[TrialRow], k: int, efficacy: bool) -> SimulatedTrials:
    """The generic loop's trials as one table (cohort columns as wide as the longest trial)."""
    width = max((r[5].size for r in rows), default=0)
    tab = SimulatedTrials.empty(len(rows), k, width, efficacy=efficacy)
    for t, (sel, npd, ypd, capped, dur, lv, sz, yy, ef, ce, cb) in enumerate(rows):
        if tab.eff_per_dose is not None and tab.cohort_eff is not None:
            tab.eff_per_dose[t] = ef
            tab.cohort_eff[t, : ce.size] = ce
            tab.cohort_both[t, : cb.size] = cb  # type: ignore[index]
        tab.selected[t] = sel
        tab.n_per_dose[t] = npd
        tab.dlt_per_dose[t] = ypd
        tab.capped[t] = capped
        tab.duration_days[t] = dur
        tab.cohort_dose[t, : lv.size] = lv
        tab.cohort_size[t, : sz.size] = sz
        tab.cohort_dlt[t, : yy.size] = yy
    return tab


def run_kernel(
    kern: Kernel,
    design: Any,
    source: Any,
    caps: Caps,
    n: int,
    root: np.random.SeedSequence,
    progress: Progress | None,
    flag: StopFlag,
    chunk_trials: int | None,
    workers: int,
) -> Simulation:
    """``n`` compiled trials of ``design`` under ``source``'s truth (see the module)."""
    truth = source.truth()
    assert truth is not None
    width = int(kern.patient_slots(caps))
    eff = bool(getattr(design, "efficacy", False))
    out = SimulatedTrials.empty(
        n, design.n_doses, kern.cohort_slots(caps), kern.detail_names, efficacy=eff
    )
    chunk = chunk_trials or max(1, min(_MAX_CHUNK_TRIALS, _UNIFORM_BUDGET // max(width, 1)))
    if workers > 1 and not chunk_trials:  # at least 4 chunks a worker, or one thread idles
        chunk = max(1, min(chunk, -(-n // (4 * workers))))
    bounds = [(lo, min(lo + chunk, n)) for lo in range(0, n, chunk)]
    extra: dict[str, Any] = {}
    if eff:  # efficacy-toxicity kernels (BOIN12)
        extra["truth_eff"] = np.asarray(source.eff_probabilities, dtype=float)

    def job(lo: int, hi: int) -> None:
        bits = np.random.PCG64(root)
        bits.advance(lo * width)
        u = np.random.Generator(bits).random((hi - lo, width))
        kern.run(truth, u, caps, out.rows(lo, hi), **extra)

    done = 0
    try:
        if workers == 1:  # time-sized chunks: the flag is checked about every second
            sized = bounds if chunk_trials else paced(n, first=1, most=chunk)
            for lo, hi in sized:
                if flag.is_set():
                    break
                job(lo, hi)
                done = hi
                if progress is not None:
                    progress(done, n)
        else:
            done = _threaded(job, bounds, n, progress, flag, workers)
    except KeyboardInterrupt:
        if done == 0:
            raise
    part = out.rows(0, done) if done < n else out
    return Simulation(part.frozen(), n, done < n, True, kern.summary_details(part))


def _threaded(
    job: Callable[[int, int], None],
    bounds: list[tuple[int, int]],
    n: int,
    progress: Progress | None,
    flag: StopFlag,
    workers: int,
) -> int:
    """Kernel chunks on ``workers`` threads, finished in order; returns trials done."""
    done = 0
    with ThreadPoolExecutor(max_workers=workers) as ex:
        todo = iter(bounds)
        pending: deque[tuple[int, Future[None]]] = deque()

        def fill() -> None:
            while len(pending) < 2 * workers and not flag.is_set():
                b = next(todo, None)
                if b is None:
                    return
                pending.append((b[1], ex.submit(job, *b)))

        fill()
        while pending:
            hi, fut = pending.popleft()
            fut.result()
            done = hi
            if progress is not None:
                progress(done, n)
            fill()
    return done
