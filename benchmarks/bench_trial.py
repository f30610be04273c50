"""Time 1000 replicate seed trials (4+5, seven levels, 90 days of daily s.c. IL-2); print the
seconds and the ratio against the named baseline.

Goal (issue 5, on 2 cores): <= 10 s for 1000 replicates, pools included.  Method: the pooled
resampler of :mod:`il2sim.trial.replicates` (simulate ``--pool-size`` patients per level once,
draw each replicate's patients from the pools; the trials run in the one controller with a
pool patient source).  Named baseline: whole in-silico trials that simulate each replicate's
patients anew, cohort by cohort (:func:`il2sim.trial.run_trials`, the same controller with the
model-cohort source), timed on ``--baseline-trials`` replicates and scaled to the same number.

Run: ``.venv/bin/python benchmarks/bench_trial.py [--trials 1000] [--pool-size 600]
[--baseline-trials 10]``.
"""

from __future__ import annotations

import argparse
import time

from il2sim.designs.registry import build_design
from il2sim.reproduce import SEED_DOSES_MIU_PER_M2
from il2sim.trial import build_pools, run_replicates, run_trial, run_trials

GOAL_S = 10.0


def main() -> None:
    """Run the benchmark and print the timings."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--pool-size", type=int, default=600)
    ap.add_argument("--baseline-trials", type=int, default=10)
    args = ap.parse_args()
    design = build_design("4+5", n_doses=len(SEED_DOSES_MIU_PER_M2))
    # warm-up: numba compilation / cache load, not part of either timing
    run_trial(design, SEED_DOSES_MIU_PER_M2, seed=0)

    t0 = time.perf_counter()
    pools = build_pools(SEED_DOSES_MIU_PER_M2, args.pool_size, seed=1)
    t_pool = time.perf_counter() - t0
    t1 = time.perf_counter()
    reps = run_replicates(design, pools, args.trials, seed=1)
    t_rep = time.perf_counter() - t1
    pooled = t_pool + t_rep

    t2 = time.perf_counter()
    run_trials(design, SEED_DOSES_MIU_PER_M2, [1000 + s for s in range(args.baseline_trials)])
    naive = (time.perf_counter() - t2) / args.baseline_trials * args.trials

    sel = reps.mtd_selected_pct()
    print(f"{args.trials} replicate seed trials (4+5, 7 levels, 90 days):")
    print(f"  pooled resampler : {pooled:7.2f} s  (pools {t_pool:.2f} s of "
          f"{args.pool_size} x {len(SEED_DOSES_MIU_PER_M2)} patients + replicates {t_rep:.2f} s)")  # fmt: skip
    print(f"  naive baseline   : {naive:7.2f} s  (whole model trials, "
          f"{args.baseline_trials} timed, scaled)")  # fmt: skip
    print(f"  ratio naive/pooled: {naive / pooled:.1f}x;  goal <= {GOAL_S:g} s: "
          f"{'met' if pooled <= GOAL_S else 'NOT met'}")  # fmt: skip
    print(f"  MTD 1.25 selected in {sel['1.25']:.1f}% of replicates")


if __name__ == "__main__":
    main()
