"""Benchmark the regimen text parser: the lark grammar (issue 12) against the v0.1 hand-written
parser (``benchmarks/baselines/legacy_regimen_spec.py``), measured in the same run.

Three numbers, each as new / old:

1. parse: every example of README.md and docs/regimen.md parsed ``--repeat`` times (events
   and the :class:`Regimen` built, as callers get them);
2. syntax only: the same texts through lark's parser without building events (what the grammar
   itself costs; the old parser has no separate step, so this is new-only);
3. first call: building the LALR tables once per process (lark import + grammar analysis),
   timed in a fresh interpreter.

Trial code does not parse text per patient (``trial/cohort.py`` and ``regimen/builders.py``
build :class:`DoseEvent` tuples directly), so parsing is not on a hot path; this benchmark says
how much slower or faster a text spec got.

Usage: ``python benchmarks/bench_regimen.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "golden"))


def _best_of(fn: Callable[[], object], rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=200, help="passes over the examples")
    args = ap.parse_args()

    from record_regimen_examples import example_specs

    from baselines.legacy_regimen_spec import parse_spec as old_parse
    from il2sim.regimen.spec import _parser
    from il2sim.regimen.spec import parse_spec as new_parse

    specs = example_specs(ROOT)
    n_events = sum(len(new_parse(s)) for s in specs)
    for s in specs:  # same events, so the timings compare like with like
        assert old_parse(s).events == new_parse(s).events, s
    parser = _parser()

    def run(parse: Callable[[str], object]) -> Callable[[], None]:
        def go() -> None:
            for _ in range(args.repeat):
                for s in specs:
                    parse(s)

        return go

    t_old = _best_of(run(old_parse))
    t_new = _best_of(run(new_parse))
    t_syntax = _best_of(run(parser.parse))
    n = args.repeat * len(specs)
    first = (
        "import time; t = time.perf_counter(); from il2sim.regimen.spec import parse_spec;"
        "t1 = time.perf_counter(); parse_spec('1 MIU sc'); t2 = time.perf_counter();"
        "print(t1 - t, t2 - t1)"
    )
    out = subprocess.run([sys.executable, "-c", first], capture_output=True, text=True, check=True)
    t_import, t_first = (float(x) for x in out.stdout.split())

    print(f"regimen parser: {len(specs)} README/docs examples ({n_events} events) x {args.repeat}")
    print(f"  old (hand-written) : {1e6 * t_old / n:8.1f} us per spec")
    print(f"  new (lark grammar) : {1e6 * t_new / n:8.1f} us per spec   ratio new/old = "
          f"{t_new / t_old:.2f}")  # fmt: skip
    print(f"  new, syntax only   : {1e6 * t_syntax / n:8.1f} us per spec   (no events built)")
    print(f"  first call in a process (lark import + LALR tables): {1e3 * t_first:.0f} ms; "
          f"importing il2sim.regimen.spec: {1e3 * t_import:.0f} ms")  # fmt: skip
    print("  (timings are best of 5 on a shared machine; ratios are what to compare)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
