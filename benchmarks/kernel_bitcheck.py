"""Bit-identity check of the fast kernels across a change of the kernel template.

Prints one sha256 per (model, regimen, solver): the hash of every per-patient array of the
:class:`~il2sim.simulate.result.SimulationResult` (outputs, daily maxima and means, peaks,
first-dose Cmax/Tmax/AUC, dosed amount, end states, accepted and rejected steps) for 20
patients (seed 11) of the v1 and v2 models on six regimens, with the ``fast``, ``fixed``,
``adaptive`` (step doubling) and ``trial`` presets (or the presets named as arguments).  Run
it before and after a template edit (``IL2SIM_CACHE_DIR`` empty or not: the kernel file is
keyed by its source hash) and ``diff`` the two listings: a change that only moves code
(inlining, loop structure) must print the same lines.

    python benchmarks/kernel_bitcheck.py > before.txt   # then edit, rerun, diff
    python benchmarks/kernel_bitcheck.py adaptive      # one preset
"""

from __future__ import annotations

import hashlib
import sys

import numpy as np

from il2sim.model.il2nk_v2 import V2_TABLE
from il2sim.model.parameters import load_parameters
from il2sim.population import Population
from il2sim.regimen.spec import parse_spec
from il2sim.simulate import simulate
from il2sim.simulate.result import SimulationResult

REGIMENS = (
    "1.25 MIU/m2 sc qd x90",
    "0.4 MIU/m2 sc qd x90",
    "1 MIU/m2 iv bolus",
    "1 MIU/m2 iv infusion over 6h",
    "20 MIU/m2 sc qd x5",
    "1.25 MIU/m2 sc qd x84 + 15 MIU/m2 sc qd x3 @42 + 15 MIU/m2 sc qd x3 @56",
)
SOLVERS = ("fast", "fixed", "adaptive", "trial")
FIELDS = (
    "il2_daily_max_pm", "il2_daily_mean_pm", "il2_peak_pm", "il2_cmax_first_dose_pm",
    "il2_tmax_first_dose_h", "il2_auc_first_24h_iu_h_per_ml", "dosed_iu", "state_end",
    "steps", "rejected",
)  # fmt: skip


def digest(res: SimulationResult) -> str:
    """sha256 over the result's outputs and per-patient arrays, in a fixed order."""
    h = hashlib.sha256()
    outputs = res.outputs
    for name in sorted(outputs):
        h.update(name.encode())
        h.update(np.ascontiguousarray(outputs[name]).tobytes())
    for name in FIELDS:
        h.update(name.encode())
        h.update(np.ascontiguousarray(getattr(res, name)).tobytes())
    return h.hexdigest()[:16]


def main(argv: list[str]) -> int:
    solvers = tuple(argv) or SOLVERS
    tables = {"v1": load_parameters(), "v2": load_parameters(V2_TABLE)}
    for model, params in tables.items():
        pop = Population.sample(20, 11, params)
        for spec in REGIMENS:
            reg = parse_spec(spec)
            for solver in solvers:
                res = simulate(reg, pop, params, solver=solver)
                print(f"{model}\t{solver}\t{spec}\t{digest(res)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
