"""Global sensitivity analysis with SALib: Sobol indices and Morris screening.

* Sobol: Saltelli's sampling (Sobol' sequence, ``N (D + 2)`` rows) and the estimators of
  Saltelli et al. 2010 (Comput Phys Commun 181:259) for first-order and Jansen's for total
  indices, bootstrap 95% confidence intervals (SALib ``sobol.analyze``).
* Morris (1991, Technometrics 33:161) elementary effects, ``mu*`` and ``sigma`` with
  bootstrap intervals (Campolongo et al. 2007).

The model is any vectorised ``fn(X) -> Y`` ((M, D) -> (M, n_outputs)), evaluated in chunks of
rows, in this process or on a Dask cluster (a LocalCluster on 127.0.0.1 or an existing
scheduler; the execution model of ``il2sim sweep``).  Chunks are independent and deterministic,
so results do not depend on the number of workers.  :func:`ishigami` (Ishigami & Homma 1990)
has known indices and checks the whole path; :class:`Il2simOutputs` evaluates il2sim for a
typical patient.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.errors import InputError

FloatArray = npt.NDArray[np.float64]
Model = Callable[[FloatArray], FloatArray]

__all__ = ["IL2SIM_OUTPUTS", "ISHIGAMI_EXACT", "Il2simOutputs", "SensitivityResult",
           "cell_count_outputs", "evaluate", "il2sim_outputs", "ishigami", "morris", "sobol"]


def ishigami(x: FloatArray, a: float = 7.0, b: float = 0.1) -> FloatArray:
    """Ishigami function (M, 3) -> (M, 1): sin x1 + a sin^2 x2 + b x3^4 sin x1."""
    y = np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])
    return np.asarray(y[:, None])


def _ishigami_exact(a: float = 7.0, b: float = 0.1) -> dict[str, tuple[float, ...]]:
    pi4, pi8 = math.pi**4, math.pi**8
    v1 = 0.5 * (1 + b * pi4 / 5) ** 2
    v2 = a * a / 8
    v13 = b * b * pi8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return {"S1": (v1 / v, v2 / v, 0.0), "ST": ((v1 + v13) / v, v2 / v, v13 / v)}


#: Analytic indices of the Ishigami function (a = 7, b = 0.1; Sobol' & Levitan 1999).
ISHIGAMI_EXACT = _ishigami_exact()


@dataclass(frozen=True)
class SensitivityResult:
    """Indices per output: ``indices[output][param]`` = {S1, S1_conf, ST, ST_conf} (Sobol) or
    {mu_star, mu_star_conf, sigma} (Morris); ``n_evaluations``, ``method``."""

    method: str
    names: tuple[str, ...]
    outputs: tuple[str, ...]
    indices: dict[str, dict[str, dict[str, float]]]
    n_evaluations: int
    bounds: tuple[tuple[float, float], ...]
    scale: tuple[str, ...]

    def ranking(self, output: str) -> list[str]:
        """Parameters by decreasing total (Sobol) or mu* (Morris) index for ``output``."""
        key = "ST" if self.method == "sobol" else "mu_star"
        ix = self.indices[output]
        return sorted(self.names, key=lambda n: -np.nan_to_num(ix[n][key]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (with the ranking per output)."""
        return {"method": self.method, "parameters": list(self.names),
                "outputs": list(self.outputs), "indices": self.indices,
                "ranking": {o: self.ranking(o) for o in self.outputs},
                "n_evaluations": self.n_evaluations,
                "bounds": {n: list(b) for n, b in zip(self.names, self.bounds, strict=True)},
                "scale": dict(zip(self.names, self.scale, strict=True))}


class SensitivityInterrupted(Exception):
    """A first Ctrl-C (:func:`il2sim._interrupt.interruptible`) stopped the model runs between
    chunks: ``done`` of ``asked`` chunks had finished (the indices need every run)."""

    def __init__(self, done: int, asked: int) -> None:
        super().__init__(f"interrupted: {done} of {asked} chunks")
        self.done, self.asked = int(done), int(asked)


def evaluate(fn: Model, x: FloatArray, chunk_rows: int = 2048, workers: int | None = None,
             scheduler: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> FloatArray:
    """``fn`` on the rows of ``x`` in chunks, here or on Dask (see the module docstring).
    Under :func:`il2sim._interrupt.interruptible` a first Ctrl-C stops between chunks
    (:class:`SensitivityInterrupted`; Dask futures not yet done are cancelled)."""
    from il2sim._interrupt import stop_requested

    if workers is not None and scheduler is not None:
        raise InputError("give workers or scheduler, not both", field="scheduler")
    chunks = [x[i:i + chunk_rows] for i in range(0, x.shape[0], chunk_rows)]
    out: list[FloatArray | None] = [None] * len(chunks)
    if workers is None and scheduler is None:
        for i, c in enumerate(chunks):
            out[i] = np.asarray(fn(c), dtype=float)
            if progress is not None:
                progress(i + 1, len(chunks))
            if i + 1 < len(chunks) and stop_requested():
                raise SensitivityInterrupted(i + 1, len(chunks))
    else:
        from contextlib import AbstractContextManager, closing

        from dask.distributed import Client, as_completed

        from il2sim._dask import local_client

        # the one loopback-only cluster of il2sim (no dashboard, no 8787: il2sim._dask)
        cm: AbstractContextManager[Any] = (
            local_client(int(workers or 1), processes=True)
            if scheduler is None else closing(Client(scheduler))
        )  # fmt: skip
        with cm as client:
            futs = {client.submit(fn, c, pure=False): i for i, c in enumerate(chunks)}
            for k, fut in enumerate(as_completed(futs), start=1):
                out[futs[fut]] = np.asarray(fut.result(), dtype=float)
                if progress is not None:
                    progress(k, len(chunks))
                if k < len(chunks) and stop_requested():
                    client.cancel(list(futs))
                    raise SensitivityInterrupted(k, len(chunks))
    return np.concatenate([o for o in out if o is not None], axis=0)


def _problem(names: Sequence[str], bounds: Sequence[tuple[float, float]],
             scale: Sequence[str]) -> dict[str, Any]:
    if len(names) < 2:
        raise InputError("needs at least two parameters", field="params", value=",".join(names))
    b: list[list[float]] = []
    for n, (lo, hi), sc in zip(names, bounds, scale, strict=True):
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) or (sc == "log" and lo <= 0):
            raise InputError(f"bad interval [{lo}, {hi}]", field=f"bounds {n}", value=f"{lo},{hi}")
        b.append([math.log(lo), math.log(hi)] if sc == "log" else [lo, hi])
    return {"num_vars": len(names), "names": list(names), "bounds": b}


def _to_natural(x: FloatArray, scale: Sequence[str]) -> FloatArray:
    out = x.copy()
    for j, sc in enumerate(scale):
        if sc == "log":
            out[:, j] = np.exp(x[:, j])
    return out


def sobol(fn: Model, names: Sequence[str], bounds: Sequence[tuple[float, float]],
          outputs: Sequence[str], n: int = 1024, seed: int = 1,
          scale: Sequence[str] | None = None, **eval_kw: Any) -> SensitivityResult:
    """First-order and total Sobol indices (uniform on ``bounds``, or log-uniform where
    ``scale`` is ``log``) of each output of ``fn``."""
    from SALib.analyze import sobol as sa
    from SALib.sample import sobol as ss

    sc = tuple(scale or ["linear"] * len(names))
    prob = _problem(names, bounds, sc)
    x = ss.sample(prob, int(n), calc_second_order=False, seed=seed)
    y = evaluate(fn, _to_natural(x, sc), **eval_kw)
    ind: dict[str, dict[str, dict[str, float]]] = {}
    for k, o in enumerate(outputs):
        r = sa.analyze(prob, y[:, k], calc_second_order=False, num_resamples=200, seed=seed)
        ind[o] = {nm: {"S1": float(r["S1"][j]), "S1_conf": float(r["S1_conf"][j]),
                       "ST": float(r["ST"][j]), "ST_conf": float(r["ST_conf"][j])}
                  for j, nm in enumerate(names)}
    return SensitivityResult("sobol", tuple(names), tuple(outputs), ind, int(x.shape[0]),
                             tuple((float(b[0]), float(b[1])) for b in bounds), sc)


def morris(fn: Model, names: Sequence[str], bounds: Sequence[tuple[float, float]],
           outputs: Sequence[str], n: int = 50, seed: int = 1,
           scale: Sequence[str] | None = None, **eval_kw: Any) -> SensitivityResult:
    """Morris screening with ``n`` trajectories (``n (D + 1)`` rows)."""
    from SALib.analyze import morris as ma
    from SALib.sample import morris as ms

    sc = tuple(scale or ["linear"] * len(names))
    prob = _problem(names, bounds, sc)
    x = ms.sample(prob, int(n), num_levels=4, seed=seed)
    y = evaluate(fn, _to_natural(x, sc), **eval_kw)
    ind: dict[str, dict[str, dict[str, float]]] = {}
    for k, o in enumerate(outputs):
        r = ma.analyze(prob, x, y[:, k], num_resamples=200, num_levels=4, seed=seed)
        ind[o] = {nm: {"mu_star": float(r["mu_star"][j]),
                       "mu_star_conf": float(r["mu_star_conf"][j]),
                       "sigma": float(r["sigma"][j])} for j, nm in enumerate(names)}
    return SensitivityResult("morris", tuple(names), tuple(outputs), ind, int(x.shape[0]),
                             tuple((float(b[0]), float(b[1])) for b in bounds), sc)


#: Outputs of :class:`Il2simOutputs` (typical patient): peak % increase of total NK and of
#: CD56bright NK over baseline, peak serum IL-2 (pM), first-dose AUC over 24 h (IU*h/ml),
#: probability of a DLT (closed form of :func:`il2sim.toxicity.grading.dlt_probability` over
#: the toxicity random effects, baseline glucose at its typical value);
#: :func:`il2sim_outputs` adds one peak % increase per further cell-count output of the model.
IL2SIM_OUTPUTS: tuple[str, ...] = ("nk_peak_increase_pct", "cd56bright_peak_increase_pct",
                                   "il2_peak_pm", "il2_auc_first_24h_iu_h_per_ml",
                                   "dlt_probability")
_COVERED_COUNTS = ("nk_per_ul", "bright_per_ul")


def cell_count_outputs(model: str = "v1") -> tuple[str, ...]:
    """The cell-count outputs (unit cells/ul) of model ``model`` (``"v1"``, ``"v2"``) beyond
    total and CD56bright NK (v1: ``dim_per_ul``; v2 adds the Treg, Tconv and CD8 counts), in
    declaration order."""
    from il2sim.model.models import declaration

    return tuple(o.name for o in declaration(model).outputs
                 if o.unit == "cells/ul" and o.name not in _COVERED_COUNTS)


def il2sim_outputs(model: str = "v1") -> tuple[str, ...]:
    """:data:`IL2SIM_OUTPUTS` plus ``<cell>_peak_increase_pct`` for each of
    :func:`cell_count_outputs` of ``model`` (e.g. ``treg_peak_increase_pct`` for a
    ``treg_per_ul`` output)."""
    return IL2SIM_OUTPUTS + tuple(f"{c.removesuffix('_per_ul')}_peak_increase_pct"
                                  for c in cell_count_outputs(model))


@dataclass(frozen=True)
class Il2simOutputs:
    """il2sim for one typical patient per row (BSA 1.8 m2-like median covariates, baseline NK
    at the reference-range geometric means), the rows' parameter values replacing the
    typical ones; a picklable callable for Dask."""

    regimen: str
    names: tuple[str, ...]
    parameters_path: str | None = None

    def __call__(self, x: FloatArray) -> FloatArray:
        """(M, D) parameter values -> (M, K) outputs (:func:`il2sim_outputs`)."""
        from il2sim.model.parameters import load_parameters
        from il2sim.population import Population
        from il2sim.regimen.spec import parse_spec
        from il2sim.simulate import simulate

        base = load_parameters(self.parameters_path)
        ref = base.without_variability().with_bpv(**{k: 1.0 for k in self.names})
        om = math.sqrt(math.log(2.0))
        m = x.shape[0]
        z = {k: (np.log(x[:, j]) - math.log(base.value(k))) / om for j, k in enumerate(self.names)}
        nk0 = math.sqrt(base.value("nk0_low_per_ul") * base.value("nk0_high_per_ul"))
        br0 = math.sqrt(base.value("bright0_low_per_ul") * base.value("bright0_high_per_ul"))
        pop = Population(
            age_yr=np.full(m, 55.0), sex=np.full(m, "M"), height_cm=np.full(m, 175.0),
            weight_kg=np.full(m, 75.0), bsa_m2=np.full(m, 1.9), nk0_per_ul=np.full(m, nk0),
            bright0_per_ul=np.full(m, min(br0, 0.5 * nk0)), params=z, parameters=ref,
        )
        from il2sim.simulate.summary import peak_increase_pct
        from il2sim.toxicity import load_toxicity_parameters
        from il2sim.toxicity.clock import daily_dose_miu, to_study_days
        from il2sim.toxicity.grading import dlt_probability, score_base

        reg = parse_spec(self.regimen)
        res = simulate(reg, pop, parameters=ref)
        tox = load_toxicity_parameters(model=base.model)
        e_model = np.asarray(res.il2_daily_max_pm, dtype=float)
        base_scores = score_base(to_study_days(e_model, reg),
                                 to_study_days(daily_dose_miu(reg, pop.bsa_m2, e_model.shape[1]),
                                               reg), tox)
        p_dlt = dlt_probability(base_scores, np.full(m, tox.value("glucose0_mg_per_dl")), tox)
        counts = [peak_increase_pct(res.output(c)) for c in cell_count_outputs(base.model)]
        return np.column_stack([res.nk_peak_increase_pct, res.bright_peak_increase_pct,
                                res.il2_peak_pm, res.il2_auc_first_24h_iu_h_per_ml, p_dlt,
                                *counts])
