"""Time 10,000 simulated dose-finding trials per design; print seconds and speed-up ratios.

Goals (issue 4, on 2 cores): CRM (5 doses, N = 30, cohorts of 3) <= 0.5 s; BOIN (10 cohorts of
3) <= 0.1 s.  R's dfcrm ``crmsim`` and BOIN ``get.oc`` take about 87 s and 8 s on this machine
class (issue 4).  The named baseline is il2sim's own generic pure-Python loop
(``simulate_trials(..., use_fast=False)``: ``design.fit(outcomes).decision()`` after each
cohort), timed on a few hundred trials and scaled to 10,000.

Run: ``.venv/bin/python benchmarks/bench_designs.py [--trials 10000] [--baseline-trials 300]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from il2sim.designs import Design, build_design, simulate_trials

TRUTH = (0.05, 0.15, 0.30, 0.45, 0.60)  # BOIN help example (dose-finding.md)
SKELETON = (0.05, 0.12, 0.25, 0.40, 0.55)

#: name -> (design factory, simulate keyword arguments, goal in seconds or None, share of
#: ``--baseline-trials`` run by the baseline: CRM's generic fit() integrates numerically at
#: every cohort, so it runs a tenth)
CASES: dict[str, tuple[Callable[[], Design], dict[str, int], float | None, float]] = {
    "crm (N=30, cohorts of 3)": (
        lambda: build_design("crm", n_doses=5, target=0.25, skeleton=list(SKELETON)),
        {"max_patients": 30},
        0.5,
        0.1,
    ),
    "boin (10 cohorts of 3)": (
        lambda: build_design("boin", n_doses=5, target=0.3, cohort_size=3),
        {"max_cohorts": 10},
        0.1,
        1.0,
    ),
    "3+3b": (lambda: build_design("3+3b", n_doses=5), {}, None, 1.0),
    "4+5 (seed A+B)": (lambda: build_design("4+5", n_doses=5), {}, None, 1.0),
}


def _time(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    """Print one line per design: fast seconds, scaled baseline seconds, ratio, goal."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--baseline-trials", type=int, default=300)
    args = ap.parse_args(argv)
    n, nb = args.trials, args.baseline_trials
    print(f"{'design':<28}{'fast s':>10}{'baseline s':>12}{'ratio':>9}  goal")
    for name, (factory, kw, goal, share) in CASES.items():
        des = factory()
        nbi = max(int(nb * share), 5)
        simulate_trials(des, TRUTH, 50, seed=0, **kw)  # compile / load numba caches
        fast = _time(lambda d=des, k=kw: simulate_trials(d, TRUTH, n, seed=1, **k))
        base = _time(
            lambda d=des, k=kw, m=nbi: simulate_trials(d, TRUTH, m, seed=1, use_fast=False, **k)
        ) * (n / nbi)
        verdict = "-" if goal is None else f"<= {goal} s: {'met' if fast <= goal else 'NOT met'}"
        print(f"{name:<28}{fast:>10.3f}{base:>12.2f}{base / fast:>9.0f}x  {verdict}")
    print(
        f"({n} trials; baseline = generic fit() loop on {nb} trials (CRM {max(nb // 10, 5)}), scaled)"
    )


if __name__ == "__main__":
    main()
