"""Run every benchmark in this folder, one after the other, and print their reports.

Each benchmark prints its own timings as ratios against a named baseline measured in the same
run (see each script's docstring).  ``--quick`` uses smaller sizes (a smoke run, not the
issue's goal sizes).

Run: ``make bench`` or ``.venv/bin/python benchmarks/run_all.py [--quick]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: script -> (full-size arguments, quick arguments)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "bench_designs.py": ([], ["--trials", "2000", "--baseline-trials", "100"]),
    "bench_simulate.py": ([], ["--patients", "200", "--reference-patients", "2"]),
    "bench_model_v2.py": ([], ["--patients", "200", "--repeats", "1"]),
    "bench_trial.py": ([], ["--trials", "200", "--baseline-trials", "3"]),
    "bench_roadrunner.py": ([], ["--patients", "100"]),
    "bench_sweep.py": ([], ["--patients", "20000"]),
    "bench_regimen.py": ([], ["--repeat", "20"]),
    "bench_fit.py": ([], ["--quick"]),
    "probe_lane_rhs.py": ([], ["--evaluations", "200", "--repeats", "1"]),
    "probe_lane_step.py": ([], ["--steps", "40", "--repeats", "1"]),
}


def main() -> int:
    """Run the benchmarks; return the number that failed."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = ap.parse_args()
    failed = 0
    for script, (full, quick) in BENCHMARKS.items():
        print(f"\n=== {script} {' '.join(quick if args.quick else full)}", flush=True)
        cmd = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        rc = subprocess.call(cmd)
        if rc != 0:
            print(f"--- {script} exited with {rc}", flush=True)
            failed += 1
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
