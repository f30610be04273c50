"""The one conduct/simulation controller: every simulated trial of every design runs here.

As pints' optimisation controller owns an optimiser's loop, :class:`TrialController` owns the
trial loop for any :class:`~il2sim.designs.base.Design` and any
:class:`~il2sim.designs.sources.PatientSource` (Bernoulli truth, resampled pool, model-simulated
cohorts): caps (:class:`~il2sim.designs.kernels.Caps`, hard cap
:data:`~il2sim.designs.kernels.HARD_CAP_COHORTS`), seeding, progress, interruption and the
choice between a design's compiled kernel and the generic loop.

The generic loop (:meth:`TrialController.run_one`) refits after each cohort
(``design.fit(outcomes).decision()``), treats the next cohort at the recommended dose with the
recommended size (cut to fit ``max_patients``) and stops when the design says so or at a cap.
Patients enter by an :class:`Accrual` process: gaps to each patient's entry, the first counted
from the decision, and a follow-up window after the cohort's last patient before the next
decision; ``duration_days`` is the time of the final decision.

Kernel path: when the source is Bernoulli, no accrual is given and ``design.kernel()`` offers a
kernel, chunks of trials run compiled (:mod:`il2sim.designs.kernels`; the chunking, threads and
uniform streams are :mod:`il2sim.designs._kernel_chunks`, which also assembles the generic
loop's trials into the same table); otherwise the generic loop.

Seeding (``seed`` an int or a ``SeedSequence`` root R): the generic loop gives trial ``i`` the
child ``SeedSequence(R.entropy, spawn_key=R.spawn_key + (i,))`` (= ``R.spawn(n)[i]``) and its
``default_rng``; a kernel reads trial ``i``'s uniforms from positions ``i * width ...`` of the
single PCG64 stream of R (each chunk starts by ``advance``).  Either way the numbers do not
depend on the chunk size or the number of workers.  An explicit sequence of per-trial seeds
(one trial each, generic loop) serves callers with their own seed tree (``il2sim.trial``).

Interruption (the shared contract, :mod:`il2sim._interrupt`): while running in the main thread,
the first Ctrl-C sets a flag that is checked between chunks (never inside numba) and between
generic trials; the run returns the finished trials with ``interrupted=True`` (a second Ctrl-C
raises at once).  Inside a caller's :func:`~il2sim._interrupt.interruptible` scope the
caller's flag is used, so one Ctrl-C stops the whole command.  Progress is reported through
``progress(done, total)`` only; drawing bars is the CLI's job.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from il2sim._interrupt import StopFlag, interruptible
from il2sim.designs._kernel_chunks import TrialRow, run_kernel, trial_row, trials_table
from il2sim.designs.base import Decision, Design, Outcomes
from il2sim.designs.kernels import HARD_CAP_COHORTS, Caps, Kernel
from il2sim.designs.records import CohortLog, Simulation, TrialRecord
from il2sim.designs.sources import Accrual, BernoulliSource, PatientSource, fixed_gaps
from il2sim.errors import DesignError

__all__ = [
    "INTERRUPTED",
    "Accrual",
    "CohortLog",
    "Progress",
    "Simulation",
    "TrialController",
    "TrialRecord",
    "fixed_gaps",
    "trial_seed",
]

#: ``progress(done, total)``: trials finished so far out of those asked for.
Progress = Callable[[int, int], None]

#: ``Decision.reason`` of a trial a Ctrl-C ended (``run_one(seed, stop)``).
INTERRUPTED = "interrupted"
_INTERRUPTED = Decision(None, True, INTERRUPTED)


def trial_seed(root: np.random.SeedSequence, i: int) -> np.random.SeedSequence:
    """Child ``i`` of ``root`` (``root.spawn(n)[i]`` without mutating ``root``)."""
    return np.random.SeedSequence(
        root.entropy, spawn_key=(*root.spawn_key, int(i)), pool_size=root.pool_size
    )


def _as_root(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    from il2sim import checks

    return np.random.SeedSequence(checks.seed(seed))


@dataclass(frozen=True)
class TrialController:
    """Runs trials of ``design`` with patients from ``source`` (see the module docstring).

    ``use_kernel=False`` forces the generic loop; ``chunk_trials`` sets the trials per kernel
    chunk (default: about 8 MB of uniforms); ``workers`` runs kernel chunks on that many threads
    (the kernels release the GIL; the generic loop runs in the calling thread).
    """

    design: Design
    source: PatientSource
    caps: Caps = field(default_factory=Caps)
    accrual: Accrual | None = None
    use_kernel: bool = True
    chunk_trials: int | None = None
    workers: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "caps", self.design.simulation_caps(self.caps))
        if self.source.n_doses != self.design.n_doses:
            raise DesignError(
                f"has {self.source.n_doses} doses but the design has {self.design.n_doses}",
                field="truth",
            )
        if self.design.requires_sample_size and not self.caps.given:
            raise DesignError(
                f"give max_cohorts or max_patients: {self.design.name} does not stop on its own",
                field="max_cohorts",
            )
        for name in ("chunk_trials", "workers"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or int(v) != v or int(v) < 1):
                raise DesignError(f"must be an integer >= 1, got {v!r}", field=name, value=v)

    def _check_size(self, n_trials: int) -> None:
        """Resource limits (:mod:`il2sim.limits`): trials, and trials x cohorts per trial."""
        from il2sim import limits

        per = self.caps.cohorts
        if self.caps.max_cohorts is None and self.caps.max_patients is not None:
            per = min(per, -(-self.caps.max_patients // max(self.design.cohort_size, 1)))
        limits.check("trials", n_trials, field="trials")
        limits.check("cohorts", per, field="cohorts")
        limits.check(
            "trial_cohorts", n_trials * per, f"{n_trials:,} trials x {per:,} cohorts",
            field="trials",
        )  # fmt: skip

    def kernel(self) -> Kernel | None:
        """The compiled kernel the run will use, or None for the generic loop."""
        if not self.use_kernel or self.accrual is not None:
            return None
        if not isinstance(self.source, BernoulliSource):
            return None
        return self.design.kernel()

    def run(
        self,
        n_trials: int,
        seed: int | np.random.SeedSequence | Sequence[np.random.SeedSequence],
        progress: Progress | None = None,
        keep_records: bool = False,
    ) -> Simulation:
        """Run ``n_trials`` trials; ``seed`` a root (int or SeedSequence) or one SeedSequence
        per trial.  ``keep_records`` keeps each generic trial's :class:`TrialRecord`."""
        if isinstance(n_trials, bool) or int(n_trials) != n_trials or int(n_trials) < 1:
            raise DesignError(f"must be an integer >= 1, got {n_trials!r}", field="trials")
        n = int(n_trials)
        self._check_size(n)
        if isinstance(seed, Sequence):
            seeds = list(seed)
            if len(seeds) != n:
                raise DesignError(f"needs {n} trial seeds, got {len(seeds)}", field="seed")
            with interruptible() as flag:
                return self._run_generic(n, seeds.__getitem__, progress, flag, keep_records)
        root = _as_root(seed)
        kern = self.kernel()
        with interruptible() as flag:
            if kern is not None:
                return self._run_kernel(kern, n, root, progress, flag)
            return self._run_generic(n, lambda i: trial_seed(root, i), progress, flag, keep_records)

    def run_one(
        self, seed: int | np.random.SeedSequence, stop: StopFlag | None = None
    ) -> TrialRecord:
        """One trial by the generic loop with its own seed (``rng = default_rng(seed)``).

        ``stop``: checked before each cohort (one long trial, ``il2sim trial``); once set the
        trial ends with the cohorts that finished and the final decision
        ``Decision(None, True, INTERRUPTED)`` (no dose selected)."""
        ss = _as_root(seed)
        rng = np.random.default_rng(ss)
        patients = self.source.trial(ss, rng)
        if self.design.time_to_event:
            return self._run_one_tte(ss, rng, patients, stop)
        design, caps, acc = self.design, self.caps, self.accrual
        out = Outcomes()
        logs: list[CohortLog] = []
        clock = 0.0
        dec = design.fit(out).decision()
        while not dec.stop:
            if len(logs) >= caps.cohorts or out.n_patients >= caps.patients:
                break
            if stop is not None and stop.is_set():
                return TrialRecord(ss, tuple(logs), _INTERRUPTED, False, clock, out)
            # one cohort, or one per arm of a randomised stage (then one decision)
            step: list[tuple[int | None, int]] = list(zip(dec.arms, dec.arm_sizes, strict=True)) or [
                (dec.next_dose, int(dec.cohort_size or design.cohort_size))
            ]
            new_logs: list[tuple[int, Any, Any, Any]] = []
            for level, want in step:
                if level is None or not 1 <= level <= design.n_doses:
                    raise DesignError(
                        f"design recommended dose {level!r} while continuing", field="design"
                    )
                size = min(int(want), caps.patients - out.n_patients)
                if size < 1:
                    break
                if acc is not None and acc.gaps is not None:
                    entry = clock + np.cumsum(np.asarray(acc.gaps(rng, size), dtype=float))
                    clock = float(entry[-1])
                else:
                    entry = np.full(size, clock)
                drawn = patients.draw(level, size, len(logs) + len(new_logs))
                out = out.add_cohort(level, drawn.dlt, drawn.eff)
                new_logs.append((level, drawn.dlt, entry, drawn.payload))
            dec = design.fit(out).decision()
            for level, dlt, entry, payload in new_logs:
                logs.append(CohortLog(len(logs) + 1, level, dlt, entry, dec, payload))
            if acc is not None:
                clock = float(new_logs[-1][2][-1]) + acc.window_days
        return TrialRecord(ss, tuple(logs), dec, not dec.stop, clock, out)

    def _run_one_tte(
        self,
        ss: np.random.SeedSequence,
        rng: np.random.Generator,
        patients: Any,
        stop: StopFlag | None = None,
    ) -> TrialRecord:
        """The loop of a time-to-event design (TITE-CRM, TITE-BOIN; dfcrm ``titesim``; BF-BOIN).

        Patients arrive after gaps from the design's ``timing`` (the first after one gap);
        at the arrival of each cohort's first patient the design decides from the outcomes
        observed by then (a DLT counts once its day has passed; follow-up capped at the
        window; efficacy seen at the window's end); the rest of the cohort arrives after
        further gaps at the same dose.  A backfill decision (``Decision.backfill``) enrols the
        arriving patient alone at its dose and does not count as a cohort; a backfill design
        runs until the decision after its last cohort.  DLT days come from the source or, if
        it gives none, the design's DLT-time distribution.  The final decision uses complete
        data; duration = last arrival + window (a backfill design: its ``end_day``).
        """
        design, caps = self.design, self.caps
        tm = design.timing  # type: ignore[attr-defined]
        window = float(tm.window_days)
        bf_design = bool(getattr(design, "backfill", False))
        truth = self.source.truth()
        dose: list[int] = []
        dlt: list[int] = []
        eff: list[int] = []
        bfl: list[bool] = []
        day: list[float] = []
        entry: list[float] = []
        coh: list[int] = []
        logs: list[CohortLog] = []
        clock = 0.0
        n_esc = 0

        def seen(now: float) -> Outcomes:
            e = np.asarray(entry, dtype=float)
            dd = np.asarray(day, dtype=float)
            obs = (np.asarray(dlt) > 0) & (e + dd <= now)
            fu = np.where(obs, dd, np.minimum(now - e, window))
            ef = (np.asarray(eff, dtype=np.int64) > 0) & (e + window <= now)
            return Outcomes(np.asarray(dose), obs.astype(np.int64), np.asarray(coh), fu, e,
                            ef.astype(np.int64), np.asarray(bfl, dtype=bool), now)  # fmt: skip

        dec = design.fit(Outcomes()).decision()
        waits = 0
        while (n_esc < caps.cohorts or bf_design) and len(dose) < caps.patients:
            if stop is not None and stop.is_set():
                done = Outcomes(np.asarray(dose), np.asarray(dlt), np.asarray(coh))
                return TrialRecord(ss, tuple(logs), _INTERRUPTED, False, clock, done)
            t0 = clock + float(tm.gaps(rng, 1)[0]) if (logs or tm.first_gap) else 0.0
            if logs:
                dec = design.fit(seen(t0)).decision()
                if dec.stop:
                    break
                if dec.wait:  # suspended: this arrival is lost, decide at the next one
                    clock = t0
                    waits += 1
                    if waits > 100 * HARD_CAP_COHORTS:
                        raise DesignError("accrual suspended without end", field="design")
                    continue
            if not dec.backfill and n_esc >= caps.cohorts:
                break  # a backfill design's decision after its last cohort
            level = dec.next_dose
            if level is None or not 1 <= level <= design.n_doses:
                raise DesignError(
                    f"design recommended dose {level!r} while continuing", field="design"
                )
            size = 1 if dec.backfill else int(dec.cohort_size or design.cohort_size)
            size = min(size, caps.patients - len(dose))
            times = t0 + np.concatenate([[0.0], np.cumsum(tm.gaps(rng, size - 1))])
            drawn = patients.draw(level, size, len(logs))
            dd = drawn.dlt_days
            if dd is None:
                p_lv = None if truth is None else float(truth[level - 1])
                dd = tm.dlt_days(rng, np.asarray(drawn.dlt), p_lv)
            dose += [level] * size
            dlt += [int(v) for v in drawn.dlt]
            eff += [0] * size if drawn.eff is None else [int(v) for v in drawn.eff]
            bfl += [dec.backfill] * size
            day += [float(v) if d else math.inf for v, d in zip(dd, drawn.dlt, strict=True)]
            entry += times.tolist()
            coh += [len(logs) + 1] * size
            n_esc += 0 if dec.backfill else 1
            logs.append(
                CohortLog(len(logs) + 1, level, drawn.dlt, times, dec, drawn.payload,
                          np.asarray(day[-size:]))
            )  # fmt: skip
            clock = float(times[-1])
        full = Outcomes(np.asarray(dose), np.asarray(dlt), np.asarray(coh),
                        eff=np.asarray(eff, dtype=np.int64))  # fmt: skip
        if bf_design:
            view = design.fit(seen(math.inf))
            mtd = None if dec.stop and dec.mtd is None else view.final_mtd()  # type: ignore[attr-defined]
            final = Decision(None, True, dec.reason if dec.stop else "cohort cap", mtd=mtd)
            end = view.end_day()  # type: ignore[attr-defined]
            return TrialRecord(ss, tuple(logs), final, not dec.stop, end, full)
        final = design.fit(full).decision()
        if dec.stop:  # stopped at an arrival: the selection uses the complete data
            final = Decision(None, True, dec.reason, mtd=final.mtd)
        end = clock + window if dose else 0.0
        return TrialRecord(ss, tuple(logs), final, not final.stop, end, full)

    def _run_generic(
        self,
        n: int,
        seed_of: Callable[[int], np.random.SeedSequence],
        progress: Progress | None,
        flag: StopFlag,
        keep_records: bool,
    ) -> Simulation:
        k = self.design.n_doses
        rows: list[TrialRow] = []
        records: list[TrialRecord] = []
        every = max(1, n // 200)
        try:
            for i in range(n):
                if flag.is_set():
                    break
                rec = self.run_one(seed_of(i))
                lv = np.array([c.level for c in rec.cohorts], dtype=np.int64)
                sz = np.array([c.size for c in rec.cohorts], dtype=np.int64)
                yy = np.array([int(c.dlt.sum()) for c in rec.cohorts], dtype=np.int64)
                rows.append(trial_row(rec, k, lv, sz, yy))
                if keep_records:
                    records.append(rec)
                if progress is not None and (len(rows) % every == 0 or len(rows) == n):
                    progress(len(rows), n)
        except KeyboardInterrupt:
            if not rows:
                raise
        tab = trials_table(rows, k, bool(getattr(self.design, "efficacy", False)))
        return Simulation(tab.frozen(), n, len(rows) < n, False, {}, tuple(records))

    def _run_kernel(
        self,
        kern: Kernel,
        n: int,
        root: np.random.SeedSequence,
        progress: Progress | None,
        flag: StopFlag,
    ) -> Simulation:
        """Chunks of compiled trials (:func:`il2sim.designs._kernel_chunks.run_kernel`)."""
        return run_kernel(
            kern, self.design, self.source, self.caps, n, root, progress, flag,
            self.chunk_trials, self.workers,
        )  # fmt: skip
