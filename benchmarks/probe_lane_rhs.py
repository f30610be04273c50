"""Probe (issue 10): what would patients in SIMD lanes buy?  Timing of the v1 right-hand side.

The ETDRK4 step is latency-bound: each stage waits for the previous right-hand side, and a
patient's stages form one dependent chain.  This probe times the generated ``model_rhs`` of
model v1 in such a chain (one patient at a time, as in ``solve_batch``) against the same
expressions over B patients in structure-of-arrays lanes (state x lane), with the two powers

* ``pow``: ``x**g`` per lane (libm calls: the lane loop does not vectorise);
* ``series``: the kernel's binomial series about a per-lane reference point, without its
  range check (branch-free, so the lane loop vectorises; a real lane kernel would need a
  masked fall-back to ``pow`` for the lanes out of range).

The patient states come from a 1000-patient run of the seed regimen (1.25 MIU/m2 s.c. daily,
state at day 89.1).  One thread.  Prints ns per right-hand side per patient and the ratios to
the chain, measured in the same run.  It times one building block only: it is not a kernel.

Run: ``python benchmarks/probe_lane_rhs.py [--evaluations 2000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba import njit

#: Lane helpers of the generated lane modules: ``_pos``, ``x**g`` per lane, and the kernel's
#: binomial power series about a per-lane reference point ``ref[j, :, b]`` (no range check).
LANE_HELPERS = '''import numpy as np
from numba import njit


@njit(inline="always")
def _pos(x):
    return x if x > 0.0 else 0.0


@njit(inline="always")
def _rpow(x, g):
    return x**g if x > 0.0 else 0.0


@njit(inline="always")
def _spow(x, pc, ref, j, b):
    d = (x - ref[j, 0, b]) * ref[j, 1, b]
    return ref[j, 2, b] * (1.0 + pc[j, 0, b] * d * (1.0 + pc[j, 1, b] * d * (1.0 + pc[j, 2, b]
        * d * (1.0 + pc[j, 3, b] * d * (1.0 + pc[j, 4, b] * d)))))
'''
#: A power hook call of the generated code: argument, exponent, power index.
POWER = re.compile(r"_power\(([^,]+(?:\([^)]*\))?), ([a-z_0-9]+), pc, ref, (\d)\)")
#: An array read or write with a constant index, rewritten to lane ``b``.
INDEXED = re.compile(r"\b(y|th|out|v)\[(\d+)\]")
#: Header of a generated lane function (its body is indented under the lane loop).
LANE_DEF = '\n\n@njit(inline="always", error_model="numpy")\ndef {}:\n    for b in range(y.shape[1]):\n'


def model_body(kernel_text: str, name: str) -> list[str]:
    """The body lines of the generated hook ``name`` (a straight-line function)."""
    start = kernel_text.index(f"def {name}(")
    return kernel_text[start : kernel_text.index("\n\n\n", start)].split("\n")[1:]


def lane_source(kernel_text: str, mode: str) -> str:
    """The body of the generated ``model_rhs`` rewritten over lanes ``[i, b]``."""
    lines = []
    for line in model_body(kernel_text, "model_rhs"):
        s = line.strip()
        if s.startswith("return"):  # the stiff diagonal: only needed once per step
            continue
        repl = r"_rpow(\1, \2)" if mode == "pow" else r"_spow(\1, pc, ref, \3, b)"
        lines.append("        " + POWER.sub(repl, INDEXED.sub(r"\1[\2, b]", s)))
    if any("_power(" in s for s in lines):
        raise SystemExit("probe: unexpected _power call in the generated model_rhs")
    head = LANE_DEF.format("lane_rhs(y, th, rate, out, pc, ref)")
    return LANE_HELPERS + head + "\n".join(lines) + "\n"


def _import(path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod
    spec.loader.exec_module(mod)
    return mod


def _states(kernel: types.ModuleType, patients: int) -> tuple[np.ndarray, np.ndarray]:
    """theta and the state at day 89.1 of ``patients`` virtual patients (seed regimen)."""
    import il2sim.simulate.fast as fast
    from il2sim.population import Population
    from il2sim.regimen.spec import parse_spec
    from il2sim.simulate import simulate

    cap: dict[str, Any] = {}
    wrapped = types.SimpleNamespace(
        **{k: getattr(kernel, k) for k in dir(kernel) if not k.startswith("__")}
    )

    def solve_batch(*a: Any, **k: Any) -> Any:
        r = kernel.solve_batch(*a, **k)
        cap["theta"], cap["y"] = a[0], r[5]
        return r

    wrapped.solve_batch = solve_batch
    original = fast.load_kernel
    setattr(fast, "load_kernel", lambda model: wrapped)  # noqa: B010 (a timing probe)
    try:
        simulate(parse_spec("1.25 MIU/m2 sc qd x90"), Population.sample(patients, 7),
                 horizon_day=89.1, solver="fast")  # fmt: skip
    finally:
        setattr(fast, "load_kernel", original)  # noqa: B010
    return np.ascontiguousarray(cap["theta"]), np.ascontiguousarray(cap["y"])


def main(argv: list[str] | None = None) -> int:
    """Time the chain and the lanes; print ns per evaluation and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evaluations", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    from il2sim.model.models import declaration
    from il2sim.simulate.fast import load_kernel

    numba.set_num_threads(1)
    kernel = load_kernel(declaration("v1"))
    text = Path(str(kernel.__file__)).read_text(encoding="utf-8")
    theta, y_all = _states(kernel, 1024)
    tmp = Path(tempfile.mkdtemp(prefix="il2sim_lane_"))
    lanes = {}
    for mode in ("pow", "series"):
        path = tmp / f"il2sim_lane_rhs_{mode}.py"
        path.write_text(lane_source(text, mode), encoding="utf-8")
        lanes[mode] = _import(path).lane_rhs
    rhs, setup, n_pow = kernel.model_rhs, kernel.model_pow_setup, max(kernel.N_POW, 1)

    @njit
    def chain(y_all: np.ndarray, th_all: np.ndarray, n: int) -> float:
        p_n, s_n = y_all.shape
        k = np.empty(s_n)
        y = np.empty(s_n)
        pc = np.zeros((n_pow, 5))
        ref = np.zeros((n_pow, 3))
        acc = 0.0
        for p in range(p_n):
            y[:] = y_all[p]
            th = th_all[p]
            setup(th, pc)
            ref[:] = 0.0
            for _ in range(n):
                rhs(y, th, 0.0, k, pc, ref)
                for i in range(s_n):  # the next evaluation depends on this one
                    y[i] = y[i] + 1e-12 * k[i]
            acc += y[2]
        return acc

    def make(fn: Any) -> Any:
        @njit
        def lane_chain(y_all: np.ndarray, th_all: np.ndarray, n: int, b_n: int) -> float:
            p_n, s_n = y_all.shape
            y = np.empty((s_n, b_n))
            th = np.empty((th_all.shape[1], b_n))
            k = np.empty((s_n, b_n))
            pc = np.full((n_pow, 5, b_n), 0.1)
            ref = np.ones((n_pow, 3, b_n))
            acc = 0.0
            for p0 in range(0, p_n - b_n + 1, b_n):
                for b in range(b_n):
                    y[:, b] = y_all[p0 + b]
                    th[:, b] = th_all[p0 + b]
                for _ in range(n):
                    fn(y, th, 0.0, k, pc, ref)
                    for i in range(s_n):
                        for b in range(b_n):
                            y[i, b] = y[i, b] + 1e-12 * k[i, b]
                acc += y[2, 0]
            return acc

        return lane_chain

    runs = {mode: make(fn) for mode, fn in lanes.items()}
    n = args.evaluations
    chain(y_all[:16], theta, 4)
    for f in runs.values():
        f(y_all[:16], theta, 4, 8)
    p_n = y_all.shape[0]
    print(f"v1 model_rhs, {p_n} patients x {n} dependent evaluations, one thread "
          f"(best of {args.repeats}); ns per evaluation per patient:")  # fmt: skip
    best: dict[str, float] = {}
    for _ in range(args.repeats):
        t = time.perf_counter()
        chain(y_all, theta, n)
        best["chain"] = min(best.get("chain", np.inf), time.perf_counter() - t)
        for b_n in (4, 8, 16):
            for mode, f in runs.items():
                t = time.perf_counter()
                f(y_all, theta, n, b_n)
                key = f"{mode} B={b_n}"
                best[key] = min(best.get(key, np.inf), time.perf_counter() - t)
    base = best["chain"]
    print(f"  one patient at a time (the kernel's chain): {base / (p_n * n) * 1e9:.1f} ns")
    for key, v in best.items():
        if key != "chain":
            print(f"  lanes, {key}: {v / (p_n * n) * 1e9:.1f} ns -> {base / v:.2f}x the chain")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
