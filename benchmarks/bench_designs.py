"""Time 10,000 simulated dose-finding trials per design; print seconds and speed-up ratios.

Goals (issue 4, on 2 cores): CRM (5 doses, N = 30, cohorts of 3) <= 0.5 s; BOIN (10 cohorts of
3) <= 0.1 s; (issue 13) TITE-CRM (N = 30, one patient per decision, 28-day window) <= 1 s.  A goal
is met when the faster of 1 and 2 workers is within it; (issue 13) BOIN12 (12 cohorts of 3) <=
0.5 s.  R's dfcrm ``crmsim`` and BOIN ``get.oc`` take about 87 s and 8 s on this machine
class (issue 4).  Every run goes through the one controller (``simulate_trials``); the named
baseline is its generic ``fit()`` loop (``use_kernel=False``: ``design.fit(outcomes).decision()``
after each cohort), timed on a few hundred trials and scaled to 10,000.  ``2 workers`` runs the
kernel chunks on two threads (same numbers).

The last line times the interval kernels' MTD selection two ways on the same 10,000 final
states: in numba (``select_mtd_nb``, with its hand-written PAVA) and through scipy
(``select_mtd``, ``scipy.optimize.isotonic_regression``), one call per trial -- the reason the
PAVA inside the kernels stays hand-written (scipy cannot be called from numba, and a Python
call per trial costs more than the whole simulation).

Run: ``.venv/bin/python benchmarks/bench_designs.py [--trials 10000] [--baseline-trials 300]``.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from collections.abc import Callable
from typing import Any

from il2sim.designs import BernoulliSource, Caps, Design, TrialController, build_design
from il2sim.designs import simulate_trials as simulate

TRUTH = (0.05, 0.15, 0.30, 0.45, 0.60)  # BOIN help example (dose-finding.md)
SKELETON = (0.05, 0.12, 0.25, 0.40, 0.55)

#: name -> (design factory, simulate keyword arguments, goal in seconds or None, share of
#: ``--baseline-trials`` run by the baseline: CRM's generic fit() integrates numerically at
#: every cohort, so it runs a tenth)
CASES: dict[str, tuple[Callable[[], Design], dict[str, Any], float | None, float]] = {
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
    "tite-crm (N=30, 28 d)": (
        lambda: build_design(
            "tite-crm", target=0.25, skeleton=list(SKELETON), window_days=28,
            accrual_per_window=3,
        ),
        {"max_patients": 30},
        1.0,
        0.1,
    ),
    "boin12 (12 cohorts of 3)": (
        lambda: build_design("boin12", n_doses=5, target=0.35, target_eff=0.25),
        {"max_cohorts": 12, "truth_eff": (0.10, 0.30, 0.50, 0.55, 0.60)},
        0.5,
        0.3,
    ),
    "3+3b": (lambda: build_design("3+3b", n_doses=5), {}, None, 1.0),
    "4+5 (seed A+B)": (lambda: build_design("4+5", n_doses=5), {}, None, 1.0),
}


def _time(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _selection(n: int) -> tuple[float, float]:
    """Seconds for the MTD selection of ``n`` BOIN trials: the kernels' numba twin vs the same
    selection through ``scipy.optimize.isotonic_regression``, one call per trial."""
    import numpy as np
    from scipy.optimize import isotonic_regression

    from il2sim.designs._fast import eliminated_from_nb, select_mtd_nb

    des = build_design("boin", n_doses=5, target=0.3, cohort_size=3)
    tab = TrialController(des, BernoulliSource(TRUTH), Caps(10)).run(n, 1).trials
    _, elim, safe1 = des.tables(30)  # type: ignore[attr-defined]
    npd = np.ascontiguousarray(tab.n_per_dose)
    ypd = np.ascontiguousarray(tab.dlt_per_dose)
    select_mtd_nb(npd[0], ypd[0], 0.3, elim, safe1)

    def numba_all() -> None:
        for t in range(n):
            select_mtd_nb(npd[t], ypd[t], 0.3, elim, safe1)

    def scipy_all() -> None:
        for t in range(n):
            first = eliminated_from_nb(npd[t], ypd[t], elim, safe1)
            adm = np.flatnonzero(npd[t, :first] > 0)
            if first == 0 or adm.size == 0:
                continue
            a = ypd[t, adm] + 0.05
            b = npd[t, adm] - ypd[t, adm] + 0.05
            s = npd[t, adm] + 0.1
            iso = isotonic_regression(a / s, weights=s * s * (s + 1.0) / (a * b)).x
            int(np.argmin(np.abs(iso + np.arange(1, adm.size + 1) * 1e-10 - 0.3)))

    return _time(numba_all), _time(scipy_all)


def main(argv: list[str] | None = None) -> None:
    """Print one line per design: kernel seconds (1 and 2 workers), scaled baseline, ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--baseline-trials", type=int, default=300)
    args = ap.parse_args(argv)
    n, nb = args.trials, args.baseline_trials
    load0 = os.getloadavg()
    best_of: dict[str, float] = {}
    print(f"{'design':<26}{'kernel s':>10}{'2 workers':>11}{'baseline s':>12}{'ratio':>8}  goal")
    for name, (factory, kw, goal, share) in CASES.items():
        des = factory()
        nbi = max(int(nb * share), 5)
        simulate(des, TRUTH, 50, seed=0, **kw)  # compile / load numba caches
        fast = _time(functools.partial(simulate, des, TRUTH, n, seed=1, **kw))
        two = _time(functools.partial(simulate, des, TRUTH, n, seed=1, workers=2, **kw))
        base = _time(functools.partial(simulate, des, TRUTH, nbi, seed=1, use_kernel=False, **kw))
        base *= n / nbi
        best = min(fast, two)
        best_of[name] = best
        verdict = "-" if goal is None else f"<= {goal} s: {'met' if best <= goal else 'NOT met'}"
        print(f"{name:<26}{fast:>10.3f}{two:>11.3f}{base:>12.2f}{base / fast:>7.0f}x  {verdict}")
    print(
        f"({n} trials; baseline = generic fit() loop on {nb} trials (CRM {max(nb // 10, 5)}), "
        "scaled)"
    )
    crm = best_of[next(iter(CASES))]
    print("same-run ratios to the CRM kernel (best of 1 and 2 workers; a goal of g s is met on an "
          "unloaded machine where CRM meets its 0.5 s when the ratio is <= 2 g):")  # fmt: skip
    for name, t in best_of.items():
        print(f"  {name:<26}{t / crm:>7.2f} x CRM")
    load1 = os.getloadavg()
    print(f"load average (1, 5, 15 min) at start {load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f}, "
          f"at end {load1[0]:.1f} {load1[1]:.1f} {load1[2]:.1f} (2 cores)")
    t_nb, t_sp = _selection(n)
    print(
        f"MTD selection of {n} BOIN trials: numba {t_nb:.3f} s, scipy isotonic_regression "
        f"{t_sp:.2f} s ({t_sp / max(t_nb, 1e-9):.0f}x)"
    )


if __name__ == "__main__":
    main()
