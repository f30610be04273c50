"""Benchmark: model v2's cost against model v1, in the same run (issue 11).

1000 patients x 90 days of the seed regimen (1.25 MIU/m2 s.c. daily, Meropol 1996), the
default preset ``fast`` of each model:

* v1 (the baseline): :data:`il2sim.simulate.options.FAST` (rtol 6e-3);
* v2: its own ``fast``, :data:`il2sim.simulate.options.FAST_V2` (rtol 3e-3, 7.5e-4 after i.v.
  switches: what v2 needs to meet 1e-4 against the reference on all ten regimens of issue 10);
* v2 with v1's options, to show what the tighter preset costs.

Prints steps per patient (accepted + rejected ETDRK4 steps) and seconds, each as a ratio to
v1 measured in the same interleaved rounds; the machine may be shared, so compare ratios.

Run: ``python benchmarks/bench_model_v2.py [--patients 1000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    """Time both models and print the ratios."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from il2sim.model.models import load_model_parameters
    from il2sim.population import Population
    from il2sim.regimen.spec import parse_spec
    from il2sim.simulate import simulate
    from il2sim.simulate.options import FAST, FAST_V2

    reg = parse_spec("1.25 MIU/m2 sc qd x90")
    p1, p2 = load_model_parameters("v1"), load_model_parameters("v2")
    pop1 = Population.sample(args.patients, 1, p1)
    pop2 = Population.sample(args.patients, 1, p2)
    runs = {
        "v1 fast": lambda: simulate(reg, pop1, horizon_day=90.0),
        "v2 fast (FAST_V2)": lambda: simulate(reg, pop2, horizon_day=90.0),
        "v2 with v1's FAST": lambda: simulate(reg, pop2, horizon_day=90.0, solver=FAST),
    }
    for pop in (pop1, pop2):  # load both kernels (compiled and cached once per machine)
        simulate(reg, pop.subset([0]), horizon_day=90.0)
    load0 = os.getloadavg()[0]
    best = {k: float("inf") for k in runs}
    results = {}
    for _ in range(args.repeats):
        for k, fn in runs.items():
            t0 = time.perf_counter()
            results[k] = fn()
            best[k] = min(best[k], time.perf_counter() - t0)
    load1 = os.getloadavg()[0]
    assert results["v2 fast (FAST_V2)"].solver == "fast"
    work = {k: float(np.mean(r.steps + r.rejected)) for k, r in results.items()}
    print(
        f"{args.patients} patients x 90 days, 1.25 MIU/m2 s.c. daily, default preset of each model "
        f"(best of {args.repeats} interleaved rounds; 1-min load {load0:.1f} before, {load1:.1f} after, "
        f"{os.cpu_count()} cores); FAST_V2 rtol {FAST_V2.rtol:g} (i.v. x{FAST_V2.iv_rtol_factor:g}), "
        f"FAST rtol {FAST.rtol:g} (i.v. x{FAST.iv_rtol_factor:g}):"
    )
    b_t, b_w = best["v1 fast"], work["v1 fast"]
    for k, r in results.items():
        print(
            f"  {k}: {best[k]:.3f} s ({best[k] / b_t:.2f}x v1's time); "
            f"{r.steps.mean():.0f} accepted + {r.rejected.mean():.0f} rejected steps/patient "
            f"({work[k] / b_w:.2f}x v1's steps)"
        )
    price = work["v2 fast (FAST_V2)"] / work["v2 with v1's FAST"]
    print(f"  v2's preset costs {price:.2f}x the steps of v1's options on v2 (the price of 1e-4 on all ten regimens)")


if __name__ == "__main__":
    main()
