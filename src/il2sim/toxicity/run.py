"""Simulate a regimen in a seeded virtual population and summarise it: ``il2sim simulate``.

:func:`summarise` is the one function behind ``il2sim simulate --json``: it draws the
population, simulates it (in chunks, reporting progress through a callback, or streamed in
blocks with bounded memory above :data:`~il2sim.simulate.stream.STREAMING_THRESHOLD_PATIENTS`
patients) and returns the model summary (:meth:`il2sim.simulate.SimulationResult.summary`)
plus the toxicity summary (:func:`il2sim.toxicity.outcomes.toxicity_summary`) and
``interrupted``.  The CLI only parses options and prints this dict.

Seeds: in memory, the population is ``Population.sample(patients, seed)`` and the toxicity
effects come from ``default_rng(seed)`` (each a Generator of its own); streamed, block ``k``
is drawn from ``SeedSequence([seed, k])`` and its toxicity effects from
``SeedSequence([seed, k, 1])`` (:mod:`il2sim.simulate.stream`).  The two paths therefore draw
different patients: a streamed summary equals the in-memory summary of the same blocks
(``tests/test_sweep_stream.py``), not of ``Population.sample(patients, seed)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from il2sim._interrupt import interrupt_fields, interruptible, paced
from il2sim.errors import InputError
from il2sim.model.parameters import Parameters, load_parameters
from il2sim.population import Population
from il2sim.regimen.events import Regimen
from il2sim.simulate import SOLVERS, simulate
from il2sim.simulate.result import SimulationResult, concat_results
from il2sim.simulate.stream import (
    STREAMING_THRESHOLD_PATIENTS,
    simulate_streaming,
    streaming_workers,
)
from il2sim.toxicity.catalogue import DLTDefinition
from il2sim.toxicity.outcomes import toxicity_summary
from il2sim.toxicity.table import load_toxicity_parameters

__all__ = ["CHUNK_PATIENTS", "SimulationRun", "ToxicityExtra", "run_simulation", "summarise"]

#: Most patients per in-memory chunk: the reference solvers integrate one patient at a time,
#: the batched presets up to 1000 at a time.  Chunks are sized by time (``il2sim._interrupt
#: .paced``: about a second each, the first one patient, which carries the kernel's compile),
#: so a first Ctrl-C waits about a second; the values do not depend on the chunking.
CHUNK_PATIENTS: dict[str, int] = {"reference": 1, "reference-lsoda": 1}
DEFAULT_CHUNK_PATIENTS = 1000

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ToxicityExtra:
    """The streaming ``extra`` hook adding :func:`toxicity_summary` means per block (a frozen
    dataclass, so it pickles to worker processes)."""

    tox: Parameters
    dlt: DLTDefinition | None = None

    def __call__(
        self, result: SimulationResult, regimen: Regimen, pop: Population, seed: int
    ) -> dict[str, float]:
        """Toxicity means of one streamed block."""
        return toxicity_summary(result, regimen, pop, self.tox, self.dlt, seed=seed)


@dataclass(frozen=True)
class SimulationRun:
    """What :func:`run_simulation` did: the ``summary`` dict, and the in-memory ``result``
    and ``population`` (None when streamed)."""

    summary: dict[str, Any]
    result: SimulationResult | None
    population: Population | None

    @property
    def streamed(self) -> bool:
        """True if the population was streamed (no per-patient result kept)."""
        return self.result is None


def _check(patients: object, seed: object, solver: str, horizon_day: float | None) -> None:
    if isinstance(patients, bool) or not isinstance(patients, int) or patients <= 0:
        raise InputError(f"must be a positive integer, got {patients!r}", field="patients")
    from il2sim import checks, limits

    checks.seed(seed)
    limits.check("patients", patients, field="patients")
    if solver not in SOLVERS:
        raise InputError(f"must be one of {', '.join(SOLVERS)}, got {solver!r}", field="solver")
    if horizon_day is not None and not (horizon_day > 0 and horizon_day < float("inf")):
        raise InputError(
            f"must be a positive number of days, got {horizon_day}", field="horizon-days"
        )


def _check_size(regimen: Regimen, patients: int, horizon_day: float | None, solver: str) -> None:
    """Resource limits before sampling (:mod:`il2sim.limits`): horizon, patients x states x
    output times of a run held in memory."""
    from il2sim import limits
    from il2sim.simulate import check_size
    from il2sim.simulate.options import resolve

    horizon = float(regimen.default_horizon_day if horizon_day is None else horizon_day)
    limits.check("horizon_days", horizon, field="horizon_days")
    check_size(patients, int(horizon / resolve(solver)[1].output_step_day) + 2)


def _simulate_chunked(
    regimen: Regimen,
    pop: Population,
    parameters: Parameters,
    horizon_day: float | None,
    solver: str,
    progress: Progress | None,
) -> tuple[SimulationResult, Population, bool]:
    """Simulate ``pop`` in time-sized chunks of at most :data:`CHUNK_PATIENTS`; the first Ctrl-C
    (:mod:`il2sim._interrupt`) stops between chunks and keeps the finished ones (returned with
    ``interrupted`` true) unless none has finished."""
    size = CHUNK_PATIENTS.get(solver, DEFAULT_CHUNK_PATIENTS)
    done: list[SimulationResult] = []
    n_done = 0
    with interruptible() as stop:  # the shared contract: stop between chunks, never in numba
        for start, end in paced(pop.n, first=1, most=size):
            if stop:
                break
            sub = pop if (start == 0 and end == pop.n) else pop.subset(range(start, end))
            done.append(simulate(regimen, sub, parameters, horizon_day=horizon_day, solver=solver))
            n_done += sub.n
            if progress is not None:
                progress(n_done, pop.n)
    if not done:
        raise KeyboardInterrupt  # stopped before a chunk finished: nothing to keep
    res = done[0] if len(done) == 1 else concat_results(done)
    finished = pop if n_done == pop.n else pop.subset(range(n_done))
    return res, finished, n_done < pop.n


def run_simulation(
    regimen: Regimen,
    patients: int,
    seed: int = 0,
    *,
    parameters: Parameters | None = None,
    tox: Parameters | None = None,
    dlt: DLTDefinition | None = None,
    horizon_day: float | None = None,
    solver: str = "fast",
    keep_result: bool = False,
    stream: bool | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    label: str | None = None,
) -> SimulationRun:
    """Simulate ``regimen`` in ``patients`` virtual patients (seed ``seed``) and summarise.

    ``stream``: stream in blocks (bounded memory, no per-patient result); default: when
    ``patients > STREAMING_THRESHOLD_PATIENTS`` and not ``keep_result``.  ``workers``: worker
    processes when streaming (default one per CPU from 100 000 patients).  ``progress(done,
    total)``: called as patients finish.  ``label``: the summary's ``regimen`` (default the
    regimen's text spec).  ``parameters``/``tox``/``dlt``: model table, toxicity table and DLT
    rule (default: the packaged tables and the default rule).  Bad input ->
    :class:`~il2sim.errors.InputError` naming the field.
    """
    if not isinstance(regimen, Regimen):
        raise InputError(f"must be a Regimen, got {type(regimen).__name__}", field="regimen")
    _check(patients, seed, solver, horizon_day)
    params = parameters if parameters is not None else load_parameters()
    t = tox if tox is not None else load_toxicity_parameters(model=params.model)
    streamed = (patients > STREAMING_THRESHOLD_PATIENTS) if stream is None else bool(stream)
    if streamed and keep_result:
        raise InputError("a streamed run keeps no per-patient result", field="keep_result")
    if streamed:
        summary = simulate_streaming(
            regimen,
            patients,
            seed,
            parameters=params,
            horizon_day=horizon_day,
            solver=solver,
            workers=streaming_workers(patients) if workers is None else workers,
            on_batch=progress,
            extra=ToxicityExtra(t, dlt),
        )
        result: SimulationResult | None = None
        pop: Population | None = None
    else:
        _check_size(regimen, patients, horizon_day, solver)
        full = Population.sample(patients, seed, params)
        result, pop, _ = _simulate_chunked(regimen, full, params, horizon_day, solver, progress)
        summary = result.summary()
        # chunks are subsets, which carry no seed: v0.1 printed "seed": null for the reference
        # solver and for more than one chunk of patients
        summary["seed"] = seed
        summary.update(toxicity_summary(result, regimen, pop, t, dlt, seed=seed))
        summary.update(interrupt_fields(pop.n, patients))  # "interrupted" when pop.n < patients
    summary["regimen"] = label if label is not None else regimen.spec
    return SimulationRun(summary=summary, result=result, population=pop)


def summarise(
    regimen: Regimen,
    patients: int,
    seed: int = 0,
    **options: Any,
) -> dict[str, Any]:
    """The summary of ``il2sim simulate --json``: :func:`run_simulation` ``(...).summary``
    (same options)."""
    return run_simulation(regimen, patients, seed, **options).summary
