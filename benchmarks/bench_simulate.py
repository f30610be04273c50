"""Benchmark: fast solver for 1000 patients x 90 days vs the scipy reference solver.

Goal (issue 3): fast path under 0.5 s on 2 cores and >= 150x faster than the reference path.
The reference path is timed on a subset of patients and scaled per patient.

Run: ``python benchmarks/bench_simulate.py [--patients 1000] [--reference-patients 10]``
"""

from __future__ import annotations

import argparse
import time

from il2sim.calibrate import seed_regimen
from il2sim.population import Population
from il2sim.simulate import simulate


def main() -> None:
    """Time both solvers on the seed regimen (1.25 MIU/m2 s.c. daily x 90) and print."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--reference-patients", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    reg = seed_regimen(1.25)
    pop = Population.sample(args.patients, 1)
    simulate(reg, pop.subset([0, 1]))  # compile / load the numba cache
    best = float("inf")
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        simulate(reg, pop, horizon_day=90.0)
        best = min(best, time.perf_counter() - t0)
    sub = pop.subset(list(range(args.reference_patients)))
    t0 = time.perf_counter()
    simulate(reg, sub, horizon_day=90.0, solver="reference")
    ref_per_patient = (time.perf_counter() - t0) / args.reference_patients
    ref_total = ref_per_patient * args.patients
    print(f"fast:      {args.patients} patients x 90 days: {best:.3f} s (best of {args.repeats})")
    print(
        f"reference: {ref_per_patient:.2f} s/patient ({args.reference_patients} timed) -> "
        f"{ref_total:.0f} s for {args.patients}"
    )
    print(f"ratio reference/fast: {ref_total / best:.0f}x (goal >= 150x; fast goal < 0.5 s)")


if __name__ == "__main__":
    main()
