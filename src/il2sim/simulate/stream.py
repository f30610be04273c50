"""Streaming simulation of very large virtual populations with bounded memory.

:func:`simulate_streaming` simulates ``n_patients`` in batches and returns the same summary
dictionary as :meth:`il2sim.simulate.SimulationResult.summary`, computed from per-batch
accumulators, so memory depends on the batch size, not on ``n_patients``.

The population is made of fixed *blocks* of :data:`BLOCK_PATIENTS` patients; block ``k`` is
drawn by ``Population.sample(size, SeedSequence([seed, k]))``.  A batch is a whole number of
consecutive blocks, so the patients (hence every per-patient value) do not depend on the batch
size, and the accumulators are added block by block in block order: means and population-mean
curves are exactly the same whatever the batch size.

Accuracy of the streamed summary versus :meth:`SimulationResult.summary` on the same patients:

* ``mean``, the population-mean curves (``nk_mean_t95_day``, ``nk_mean_end_over_max``) and the
  weekly mean increases: exact (float64 sums; they differ from numpy's pairwise sums only by
  rounding, ~1e-15 relative).
* ``median``, ``p5``, ``p95`` and the weekly median IL-2 trough: from a merged fixed-bin
  histogram on ``asinh(x)`` (:class:`il2sim.simulate.histogram.AsinhHistogram`, bin width
  :data:`~il2sim.simulate.histogram.HIST_BIN_WIDTH`): at most one bin of error, relative
  <= ~3e-4 for ``|x| > 1``, absolute <= ~3e-4 for ``|x| < 1``, plus the usual difference between
  a histogram quantile and numpy's interpolation between adjacent order statistics
  (negligible for large N).

Per-block extras (``extra``, e.g. the toxicity layer's means,
:class:`il2sim.toxicity.run.ToxicityExtra`) are combined into exact population means.  The
library reports progress through ``on_batch``; progress bars are the CLI's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim import units
from il2sim._interrupt import interrupt_fields, interruptible
from il2sim.errors import InputError
from il2sim.model.parameters import Parameters, load_parameters
from il2sim.population import Population
from il2sim.regimen.events import Regimen
from il2sim.simulate.histogram import HIST_BIN_WIDTH, AsinhHistogram
from il2sim.simulate.result import SimulationResult

__all__ = [
    "BLOCK_PATIENTS",
    "HIST_BIN_WIDTH",
    "PARALLEL_THRESHOLD_PATIENTS",
    "STREAMING_THRESHOLD_PATIENTS",
    "AsinhHistogram",
    "BlockExtra",
    "block_population",
    "simulate_streaming",
    "slice_result",
    "streaming_workers",
]

#: Patients per population block (the unit of seeding); batches are whole blocks.
BLOCK_PATIENTS = 1000
#: Above this many patients ``il2sim simulate`` streams (:func:`il2sim.toxicity.run_simulation`).
STREAMING_THRESHOLD_PATIENTS = 20000

#: ``extra(result, regimen, population, block_seed) -> {name: mean over the block}``.
BlockExtra = Callable[[SimulationResult, Regimen, Population, int], Mapping[str, float]]

#: Per-patient values summarised as {mean, median, p5, p95}: summary key -> function of a
#: :class:`SimulationResult` giving the (P,) array, exactly as ``SimulationResult.summary``.
_PATIENT_STATS: tuple[tuple[str, Callable[[SimulationResult], Any]], ...] = (
    ("il2_peak_pm", lambda r: r.il2_peak_pm),
    ("il2_cmax_first_dose_pm", lambda r: r.il2_cmax_first_dose_pm),
    ("il2_cmax_first_dose_iu_per_ml", lambda r: units.pm_to_iu_per_ml(r.il2_cmax_first_dose_pm)),
    ("il2_tmax_first_dose_h", lambda r: r.il2_tmax_first_dose_h),
    ("il2_auc_first_24h_iu_h_per_ml", lambda r: r.il2_auc_first_24h_iu_h_per_ml),
    ("nk_peak_increase_pct", lambda r: r.nk_peak_increase_pct),
    ("cd56bright_peak_increase_pct", lambda r: r.bright_peak_increase_pct),
)


@dataclass
class _BlockPartial:
    """What one block of patients contributes to the summary (picklable, for workers):
    float sums over the block, and the raw per-patient values that go into histograms."""

    n: int
    t_day: npt.NDArray[np.float64]
    meta: dict[str, Any]
    sums: dict[str, float]
    values: dict[str, npt.NDArray[np.float64]]
    nk_curve_sum: npt.NDArray[np.float64]
    nk_week_sum: npt.NDArray[np.float64]
    bright_week_sum: npt.NDArray[np.float64]
    troughs: list[npt.NDArray[np.float64]]
    extra_sums: dict[str, float]


def _block_partial(
    res: SimulationResult, stats: Mapping[str, Any], lo: int, hi: int, extra_means: Mapping[str, float]
) -> _BlockPartial:
    """Patients ``lo:hi`` of a batch result as a :class:`_BlockPartial`."""
    from il2sim.simulate.summary import WEEK_DAY

    t = np.asarray(res.t_day, dtype=float)
    weeks = np.arange(0.0, t[-1] + 1e-9, WEEK_DAY)
    nk = res.nk_per_ul[lo:hi]
    br = res.bright_per_ul[lo:hi]
    il2 = res.il2_pm[lo:hi]
    values = {k: np.asarray(v[lo:hi], dtype=float) for k, v in stats.items()}
    nk_week = np.zeros(weeks.size)
    br_week = np.zeros(weeks.size)
    troughs: list[npt.NDArray[np.float64]] = []
    for j, d in enumerate(weeks):
        nk_w = _interp_col(float(d), t, nk)
        br_w = _interp_col(float(d), t, br)
        nk_week[j] = math.fsum((100.0 * (nk_w / nk[:, 0] - 1.0)).tolist())
        br_week[j] = math.fsum((100.0 * (br_w / br[:, 0] - 1.0)).tolist())
        troughs.append(_interp_col(float(d), t, il2))
    size = hi - lo
    return _BlockPartial(
        n=size,
        t_day=t,
        meta={"solver": res.solver, "horizon_day": res.horizon_day, "regimen": res.regimen},
        sums={k: math.fsum(v.tolist()) for k, v in values.items()},
        values=values,
        nk_curve_sum=nk.sum(axis=0),
        nk_week_sum=nk_week,
        bright_week_sum=br_week,
        troughs=troughs,
        extra_sums={k: float(v) * size for k, v in extra_means.items()},
    )


@dataclass
class _Accumulator:
    """Running sums and histograms for one streamed summary (mutable, private).  Partials are
    merged in block order, so float sums do not depend on batch size or worker count."""

    t_day: npt.NDArray[np.float64] | None = None
    week_days: npt.NDArray[np.float64] | None = None
    n: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    hists: dict[str, AsinhHistogram] = field(default_factory=dict)
    nk_curve_sum: npt.NDArray[np.float64] | None = None
    nk_week_sum: npt.NDArray[np.float64] | None = None
    bright_week_sum: npt.NDArray[np.float64] | None = None
    trough_hists: list[AsinhHistogram] = field(default_factory=list)
    extra_sums: dict[str, list[float]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def merge(self, part: _BlockPartial) -> None:
        """Fold one block's partial sums in."""
        from il2sim.simulate.summary import WEEK_DAY

        if self.t_day is None:
            self.t_day = part.t_day
            self.week_days = np.arange(0.0, self.t_day[-1] + 1e-9, WEEK_DAY)
            self.nk_curve_sum = np.zeros(self.t_day.size)
            self.nk_week_sum = np.zeros(self.week_days.size)
            self.bright_week_sum = np.zeros(self.week_days.size)
            self.trough_hists = [AsinhHistogram() for _ in self.week_days]
            self.meta = dict(part.meta)
        assert self.nk_curve_sum is not None
        assert self.nk_week_sum is not None and self.bright_week_sum is not None
        self.n += part.n
        for key, _ in _PATIENT_STATS:
            self.sums[key] = self.sums.get(key, 0.0) + part.sums[key]
            self.hists.setdefault(key, AsinhHistogram()).add(part.values[key])
        self.nk_curve_sum += part.nk_curve_sum
        self.nk_week_sum += part.nk_week_sum
        self.bright_week_sum += part.bright_week_sum
        for h, x in zip(self.trough_hists, part.troughs, strict=True):
            h.add(x)
        for key, v in part.extra_sums.items():
            self.extra_sums.setdefault(key, []).append(v)

    def summary(self, seed: int | None) -> dict[str, Any]:
        """The summary dict, keys as :meth:`SimulationResult.summary` (plus extras)."""
        from il2sim.simulate import summary as _s

        assert self.t_day is not None and self.nk_curve_sum is not None
        assert self.week_days is not None
        assert self.nk_week_sum is not None and self.bright_week_sum is not None
        n = self.n
        out: dict[str, Any] = {
            "patients": n,
            "seed": seed,
            "regimen": self.meta["regimen"],
            "solver": self.meta["solver"],
            "horizon_day": self.meta["horizon_day"],
        }
        for key, _ in _PATIENT_STATS:
            h = self.hists[key]
            out[key] = {
                "mean": self.sums[key] / n,
                "median": h.quantile(0.5),
                "p5": h.quantile(0.05),
                "p95": h.quantile(0.95),
            }
        # the population-mean curve as a one-row "population": C's own definitions apply
        m = (self.nk_curve_sum / n)[None, :]
        out["nk_mean_t95_day"] = _s.mean_t95_day(self.t_day, m)
        out["nk_mean_end_over_max"] = _s.mean_end_over_max(m)
        out["weekly"] = {
            "day": self.week_days.tolist(),
            "nk_mean_increase_pct": (self.nk_week_sum / n).tolist(),
            "cd56bright_mean_increase_pct": (self.bright_week_sum / n).tolist(),
            "il2_trough_median_pm": [h.quantile(0.5) for h in self.trough_hists],
        }
        for key, parts in self.extra_sums.items():
            out[key] = math.fsum(parts) / n
        out["streaming"] = {
            "block_patients": BLOCK_PATIENTS,
            "quantiles": f"asinh histogram, bin width {HIST_BIN_WIDTH:g}",
        }
        return out


def _interp_col(
    d: float, t: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Row-wise linear interpolation of ``y`` (P, T) at time ``d`` (as ``numpy.interp``)."""
    j = int(np.searchsorted(t, d, side="right")) - 1
    if j < 0:
        return np.asarray(y[:, 0], dtype=float)
    if j >= t.size - 1 or t[j] == d:
        return np.asarray(y[:, min(j, t.size - 1)], dtype=float)
    w = (d - t[j]) / (t[j + 1] - t[j])
    return np.asarray(y[:, j] + w * (y[:, j + 1] - y[:, j]), dtype=float)


def _seed_entropy(seed: int | np.random.SeedSequence) -> list[int]:
    if isinstance(seed, np.random.SeedSequence):
        ent = seed.entropy
        ints: Sequence[int] = ent if isinstance(ent, Sequence) else [int(ent or 0)]
        return [int(x) for x in ints] + [int(k) for k in seed.spawn_key]
    from il2sim.checks import seed as check_seed

    check_seed(seed)
    return [int(seed)]


def block_population(
    k: int, size: int, entropy: Sequence[int], parameters: Parameters
) -> Population:
    """Block ``k`` of a streamed population: ``size`` patients drawn by
    ``Population.sample(size, default_rng(SeedSequence([*entropy, k])), parameters)``."""
    rng = np.random.default_rng(np.random.SeedSequence([*entropy, k]))
    return Population.sample(size, rng, parameters)


def _simulate_batch(
    regimen: Regimen,
    blocks: Sequence[int],
    n: int,
    entropy: Sequence[int],
    params: Parameters,
    horizon_day: float | None,
    solver: str,
    extra: BlockExtra | None,
) -> list[_BlockPartial]:
    """Simulate consecutive ``blocks`` in one batch; one partial per block (module level,
    so worker processes can run it)."""
    from il2sim.simulate import simulate

    sizes = [min(BLOCK_PATIENTS, n - k * BLOCK_PATIENTS) for k in blocks]
    pops = [block_population(k, size, entropy, params) for k, size in zip(blocks, sizes, strict=True)]
    pop = Population.concat(pops) if len(pops) > 1 else pops[0]
    res = simulate(regimen, pop, params, horizon_day=horizon_day, solver=solver)
    stats = {key: np.asarray(fn(res), dtype=float) for key, fn in _PATIENT_STATS}
    out: list[_BlockPartial] = []
    start = 0
    for k, size, bpop in zip(blocks, sizes, pops, strict=True):
        means: Mapping[str, float] = {}
        if extra is not None:
            bseed = np.random.SeedSequence([*entropy, k, 1])
            sub = slice_result(res, start, start + size)
            means = extra(sub, regimen, bpop, int(bseed.generate_state(1)[0]))
        out.append(_block_partial(res, stats, start, start + size, means))
        start += size
    return out


#: From this many patients ``il2sim simulate`` streams in one worker process per CPU.
PARALLEL_THRESHOLD_PATIENTS = 100_000


def streaming_workers(n_patients: int) -> int:
    """Worker processes for streaming ``n_patients``: one per CPU from
    :data:`PARALLEL_THRESHOLD_PATIENTS` on (process start-up costs seconds), else 1."""
    import os

    return (os.cpu_count() or 1) if n_patients >= PARALLEL_THRESHOLD_PATIENTS else 1


def _check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < 1:
        raise InputError(f"must be a positive integer, got {value!r}", field=name, value=value)
    return int(value)


def simulate_streaming(
    regimen: Regimen | str,
    n_patients: int,
    seed: int | np.random.SeedSequence = 0,
    batch_size: int = BLOCK_PATIENTS,
    parameters: Parameters | None = None,
    *,
    horizon_day: float | None = None,
    solver: str = "fast",
    workers: int = 1,
    on_batch: Callable[[int, int], None] | None = None,
    extra: BlockExtra | None = None,
) -> dict[str, Any]:
    """Summary of ``n_patients`` virtual patients simulated in batches (bounded memory).

    ``regimen``: a :class:`Regimen` or its text spec.  ``batch_size`` is rounded down to whole
    blocks of :data:`BLOCK_PATIENTS` (at least one).  Block ``k`` of the population is
    :func:`block_population` ``(k, size, [*seed, k], parameters)``.  ``workers > 1`` simulates
    batches in that many worker processes (spawned; at most ``2 * workers`` batches in
    flight; :mod:`il2sim.simulate._ordered_pool`); the summary is identical for any
    ``workers`` and ``batch_size``.
    ``on_batch(done, total)`` is called after each batch (progress); Ctrl-C returns the
    summary of the finished blocks (its ``patients`` says how many, ``interrupted`` is true),
    or re-raises when none finished (:mod:`il2sim._interrupt`: the first Ctrl-C stops between
    batches, workers ignore SIGINT).  Returns the dict of :meth:`SimulationResult.summary`
    plus ``interrupted`` and a ``streaming`` entry describing the approximation.

    ``extra(result, regimen, population, block_seed) -> {name: mean over the patients}`` is
    called for each block (its own :class:`SimulationResult` and :class:`Population`, and an
    integer seed derived from ``SeedSequence([*seed, k, 1])``); the block means are combined
    into exact population means (weighted by block size) and added to the summary.  With
    ``workers > 1`` it must be picklable (a module-level function or a frozen dataclass).
    """
    if isinstance(regimen, str):
        from il2sim.regimen.spec import parse_spec

        regimen = parse_spec(regimen)
    n = _check_count(n_patients, "patients")
    per_batch = max(1, _check_count(batch_size, "batch_size") // BLOCK_PATIENTS)
    n_workers = _check_count(workers, "workers")
    entropy = _seed_entropy(seed)
    params = parameters if parameters is not None else load_parameters()
    n_blocks = -(-n // BLOCK_PATIENTS)
    batches = [
        list(range(b0, min(b0 + per_batch, n_blocks))) for b0 in range(0, n_blocks, per_batch)
    ]
    args = (n, entropy, params, horizon_day, solver, extra)
    acc = _Accumulator()

    def fold(parts: list[_BlockPartial]) -> None:
        for part in parts:  # block order: sums independent of batching and workers
            acc.merge(part)
        if on_batch is not None:
            on_batch(acc.n, n)

    with interruptible() as stop:  # the shared contract: stop between batches, never in numba
        if n_workers == 1:
            for blocks in batches:
                if stop:
                    break
                fold(_simulate_batch(regimen, blocks, *args))
        else:
            from il2sim.simulate._ordered_pool import ordered_map

            jobs = [(regimen, blocks, *args) for blocks in batches]
            for parts in ordered_map(_simulate_batch, jobs, n_workers, stop):
                fold(parts)
    if acc.n == 0:
        raise KeyboardInterrupt  # stopped before any batch finished: nothing to keep
    out = acc.summary(int(seed) if isinstance(seed, int | np.integer) else None)
    out.update(interrupt_fields(acc.n, n))
    return out


def slice_result(res: SimulationResult, lo: int, hi: int) -> SimulationResult:
    """Patients ``lo:hi`` of a :class:`SimulationResult` (every per-patient array sliced)."""
    import dataclasses

    p = res.n_patients
    changes = {
        f.name: getattr(res, f.name)[lo:hi]
        for f in dataclasses.fields(res)
        if f.name != "t_day"
        and isinstance(getattr(res, f.name), np.ndarray)
        and getattr(res, f.name).ndim >= 1
        and getattr(res, f.name).shape[0] == p
    }
    return dataclasses.replace(res, **changes)
