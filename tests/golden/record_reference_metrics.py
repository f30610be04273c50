"""Record per-patient reference-solver metrics for the fast-vs-reference agreement tests.

For each regimen of issue 10 (the names of ``tests/golden/record_v1.py``), 50 virtual patients
(``Population.sample(50, 1000 + i)``) are simulated with the LSODA reference solver (scipy
odeint, rtol 1e-10, the analytic Jacobian, :data:`il2sim.simulate.options.REFERENCE_LSODA`;
it agrees with the Radau reference to ~1e-9, tests/test_simulate_agreement.py) on a daily
output grid, and six
per-patient metrics are stored in ``tests/data/reference_metrics/<name>.json`` (a few KB):
IL-2 peak, first-dose Cmax and AUC over 24 h, first-dose Tmax, NK and CD56bright peak
increase.  ``tests/test_simulate_agreement.py`` checks the fast solver against them, and
recomputes a few patients with the reference solver so the data cannot silently rot.

A few minutes: run once, niced, from the repository root::

    nice -n 10 .venv/bin/python tests/golden/record_reference_metrics.py [NAME ...] [--jobs 2]
        [--model v1|v2] [--patients N]

``--model v1`` (the default for the existing data): the pinned v0.1 model
(:data:`il2sim.model.il2nk_v1.IL2NK_V1`, ``parameters_v1.toml``), stored in
``reference_metrics/``; ``--model v2``: the default model, stored in ``reference_metrics_v2/``
(issue 11), the first ``--patients`` of each population.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT_DIRS = {"v1": ROOT / "tests" / "data" / "reference_metrics",
            "v2": ROOT / "tests" / "data" / "reference_metrics_v2"}
OUT = OUT_DIRS["v1"]
N_PATIENTS = 50
#: name -> (regimen text, horizon in days or None for the regimen's default)
REGIMENS: dict[str, tuple[str, float | None]] = {
    "seed_1p25": ("1.25 MIU/m2 sc qd x90", None),
    "seed_0p4": ("0.4 MIU/m2 sc qd x90", None),
    "seed_1p75": ("1.75 MIU/m2 sc qd x90", None),
    "iv_bolus_1": ("1 MIU/m2 iv bolus", 1.0),
    "iv_6h_1": ("1 MIU/m2 iv infusion over 6h", 2.0),
    "civ_0p45_56d": ("0.45 MIU/m2/day iv infusion x56d", None),
    "sc_20_x5": ("20 MIU/m2 sc qd x5", None),
    "pulse": ("1.25 MIU/m2 sc qd x84 + 15 MIU/m2 sc qd x3 @42 + 15 MIU/m2 sc qd x3 @56", None),
    "flat_2miu": ("2 MIU sc qd x90", None),
    "year_1p25": ("1.25 MIU/m2 sc qd x90", 365.0),
}
METRICS = (
    "il2_peak_pm",
    "il2_cmax_first_dose_pm",
    "il2_tmax_first_dose_h",
    "il2_auc_first_24h_iu_h_per_ml",
    "nk_peak_increase_pct",
    "bright_peak_increase_pct",
)


def seed_of(name: str) -> int:
    """Population seed of regimen ``name``."""
    return 1000 + list(REGIMENS).index(name)


def output_times(horizon: float) -> np.ndarray:
    """Daily output grid 0, 1, ..., horizon."""
    t = np.arange(0.0, np.floor(horizon + 1e-9) + 1.0)
    return t if horizon - t[-1] <= 1e-9 else np.append(t, horizon)


def metrics(res: object) -> dict[str, list[float]]:
    """The stored per-patient metrics of a result."""
    return {m: [float(v) for v in getattr(res, m)] for m in METRICS}


def model_and_table(model: str) -> tuple[object, object]:
    """(declaration, parameter set) of ``model`` ("v1": the default; "v2")."""
    from il2sim.model.models import declaration, load_model_parameters

    return declaration(model), load_model_parameters(model)


def run_one(
    name: str, patients: list[int] | None = None, model: str = "v1", solver: str = "reference-lsoda"
) -> dict[str, object]:
    """Reference metrics of regimen ``name`` (all 50 patients, or the given indices)."""
    from il2sim.population import Population
    from il2sim.regimen.spec import parse_spec
    from il2sim.simulate import simulate

    decl, table = model_and_table(model)
    spec, horizon = REGIMENS[name]
    reg = parse_spec(spec)
    h = float(reg.default_horizon_day if horizon is None else horizon)
    pop = Population.sample(N_PATIENTS, seed_of(name), parameters=table)  # type: ignore[arg-type]
    if patients is not None:
        pop = pop.subset(patients)
    res = simulate(
        reg, pop, horizon_day=h, output_times_day=output_times(h), solver=solver,
        parameters=table, model=decl,  # type: ignore[arg-type]
    )
    return {
        "model": model,
        "regimen": spec,
        "horizon_day": h,
        "seed": seed_of(name),
        "patients": N_PATIENTS if patients is None else len(patients),
        "output_grid": "daily",
        "solver": "reference-lsoda (scipy odeint LSODA, rtol 1e-10)",
        **metrics(res),
    }


#: Patients per work unit (results are saved after each unit, so a partial run is usable).
BLOCK = 10


def _job(task: tuple[str, int, str, int]) -> tuple[str, int, dict[str, object]]:
    name, start, model, n = task
    idx = list(range(start, min(start + BLOCK, n)))
    return name, start, run_one(name, idx, model)


def _save(name: str, blocks: dict[int, dict[str, object]], out: Path = OUT) -> None:
    starts = sorted(blocks)
    # only a contiguous prefix of blocks: patients 0..n-1
    prefix = []
    for i, s in enumerate(starts):
        if s != i * BLOCK:
            break
        prefix.append(s)
    first = blocks[prefix[0]]
    data: dict[str, object] = {k: v for k, v in first.items() if k not in METRICS}
    data["patients"] = sum(int(blocks[s]["patients"]) for s in prefix)  # type: ignore[call-overload]
    for m in METRICS:
        data[m] = [v for s in prefix for v in blocks[s][m]]  # type: ignore[attr-defined]
    path = out / f"{name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=0) + "\n")
    tmp.replace(path)


def main(argv: list[str]) -> None:
    jobs = 1
    if "--jobs" in argv:
        i = argv.index("--jobs")
        jobs = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2 :]
    opts = {"--model": "v1", "--patients": str(N_PATIENTS)}
    for key in opts:
        if key in argv:
            i = argv.index(key)
            opts[key] = argv[i + 1]
            argv = argv[:i] + argv[i + 2 :]
    model, n_pat = opts["--model"], int(opts["--patients"])
    out = OUT_DIRS[model]
    names = argv or list(REGIMENS)
    out.mkdir(parents=True, exist_ok=True)
    # round robin over regimens, shortest first: every regimen gets its first patients early
    names = sorted(names, key=lambda n: REGIMENS[n][1] or 90.0)
    tasks = [(n, b, model, n_pat) for b in range(0, n_pat, BLOCK) for n in names]
    done: dict[str, dict[int, dict[str, object]]] = {n: {} for n in names}
    t0 = time.perf_counter()
    with ProcessPoolExecutor(jobs) as ex:
        for name, start, data in ex.map(_job, tasks):
            done[name][start] = data
            _save(name, done[name], out)
            print(f"{name} patients {start}-{start + BLOCK - 1}: {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
