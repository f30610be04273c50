"""Probe (issue 10): one whole ETDRK4 step, one patient at a time vs B patients in SIMD lanes.

``probe_lane_rhs.py`` times the right-hand side alone; this probe times a whole fixed step of
the scheme the kernel uses (Cox & Matthews stages with the star-shaped linear part: the stiff
state's own Jacobian entry and column recomputed every step, without the exact depot input
or the step controller) on model v1:

* the chain: the generated kernel's own ``_etd_step``, ``_star_coefficients``,
  ``model_rhs`` and ``model_column``, one patient after another (as ``solve_batch`` does);
* lanes: the same formulas over B patients in structure-of-arrays lanes (state x lane): the
  right-hand side and column rewritten from the generated code, the stiff row's phi functions
  per lane, every other loop over lanes (vectorisable).  Powers: at the start of each step,
  ``x**g`` for the lanes whose argument left the kernel's binomial-series range (|x/x_ref -
  1| > 0.01) moves the reference point; the stages then use the series without a branch.

Patient states: day 89.1 of the seed regimen (1.25 MIU/m2 s.c. daily), 1024 patients, step
1/64 day, one thread.  Prints ns per step per patient, the ratio to the chain measured in the
same run, and the largest relative difference of the lane states from the chain's after 50
steps.  What a lane kernel would add (the controller, doses, divergent lanes) is not timed.

Run: ``python benchmarks/probe_lane_step.py [--steps 400] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba import njit

from probe_lane_rhs import (
    INDEXED,
    LANE_DEF,
    LANE_HELPERS,
    POWER,
    _import,
    _states,
    model_body,
)

#: Moves a power's reference point for the lanes whose argument left the series range.
_REFRESH = '''

@njit(inline="always")
def _refresh(x, g, ref, j, b):
    if x > 0.0 and abs((x - ref[j, 0, b]) * ref[j, 1, b]) <= 0.01:
        return 0.0
    p = x**g if x > 0.0 else 0.0
    ref[j, 0, b] = x if x > 0.0 else 1.0
    ref[j, 1, b] = 1.0 / ref[j, 0, b]
    ref[j, 2, b] = p if x > 0.0 else 0.0
    return p
'''


def lane_module_source(text: str) -> str:
    """``lane_rhs`` (rates, and the stiff diagonal into ``lamc``), ``lane_column`` and
    ``lane_refresh`` (the powers' reference points) from the generated kernel text."""
    rhs, refresh = [], []
    for line in model_body(text, "model_rhs"):
        s = INDEXED.sub(r"\1[\2, b]", line.strip())
        if s.startswith("return "):
            rhs.append(f"        lamc[b] = {s[len('return ') :]}")
            continue
        rhs.append("        " + POWER.sub(r"_spow(\1, pc, ref, \3, b)", s))
        if not s.startswith("out[") and "_x" not in s.split("=")[0]:
            refresh.append("        " + POWER.sub(r"_refresh(\1, \2, ref, \3, b)", s))
    column = [
        "        " + INDEXED.sub(r"\1[\2, b]", s.strip()) for s in model_body(text, "model_column")
    ]
    return (
        LANE_HELPERS + _REFRESH
        + LANE_DEF.format("lane_rhs(y, th, rate, out, pc, ref, lamc)") + "\n".join(rhs) + "\n"
        + LANE_DEF.format("lane_column(y, th, v)") + "\n".join(column) + "\n"
        + LANE_DEF.format("lane_refresh(y, th, ref)") + "\n".join(refresh) + "\n"
    )  # fmt: skip


@njit(inline="always")
def _n(dst: Any, k: Any, lam: Any, y: Any, v: Any, yc: Any, nc: Any, c: int) -> None:
    """Lanes: stiff entry of ``y`` into ``yc``, N = k - lam y - v y_c into ``dst``, its stiff
    entry into ``nc``."""
    for b in range(y.shape[1]):
        yc[b] = y[c, b]
    for i in range(y.shape[0]):
        for b in range(y.shape[1]):
            dst[i, b] = k[i, b] - lam[i, b] * y[i, b] - v[i, b] * yc[b]
    for b in range(y.shape[1]):
        nc[b] = dst[c, b]


@njit(inline="always")
def _stage(dst: Any, y: Any, yc: Any, w: Any, wc: Any, co: Any, od: Any, hh: float) -> None:
    """Lanes: dst = e^{hL/2} y + h/2 phi1(hL/2) w (star matrix; ``yc``, ``wc``: stiff
    entries)."""
    for i in range(y.shape[0]):
        for b in range(y.shape[1]):
            dst[i, b] = (
                co[1, i, b] * y[i, b] + od[1, i, b] * yc[b]
                + hh * (co[2, i, b] * w[i, b] + od[2, i, b] * wc[b])
            )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Time the chain and the lanes; print ns per step, ratios and the lanes' difference."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    from il2sim.model.models import declaration
    from il2sim.simulate.fast import load_kernel

    numba.set_num_threads(1)
    m = load_kernel(declaration("v1"))
    path = Path(tempfile.mkdtemp(prefix="il2sim_lane_")) / "il2sim_lane_step.py"
    path.write_text(lane_module_source(Path(str(m.__file__)).read_text(encoding="utf-8")))
    lanes = _import(path)
    lane_rhs, lane_column, lane_refresh = lanes.lane_rhs, lanes.lane_column, lanes.lane_refresh
    theta, y_all = _states(m, 1024)
    stiff, coupled, n_pow, n_co = m.STIFF, m.COUPLED, max(m.N_POW, 1), m._N_CO
    phis, double, coefs = m._phis, m._double, m._coefficients
    rhs, column, star, step = m.model_rhs, m.model_column, m._star_coefficients, m._etd_step
    const_diag, pow_setup = m.model_const_diag, m.model_pow_setup

    @njit
    def chain(y_all: np.ndarray, th_all: np.ndarray, h: float, n: int) -> np.ndarray:
        p_n, s_n = y_all.shape
        res = np.empty_like(y_all)
        co = np.zeros((n_co, s_n))
        od = np.zeros((n_co, s_n))
        v = np.zeros(s_n)
        lam = np.zeros(s_n)
        w = np.empty((12, s_n))
        pc = np.zeros((n_pow, 5))
        ref = np.zeros((n_pow, 3))
        mu = np.zeros(1)
        a_in = np.zeros(2)
        psi = np.zeros((2, 2, s_n))
        emu = np.ones((2, 1))
        fv = np.zeros((3, s_n))
        y = np.empty(s_n)
        for p in range(p_n):
            y[:] = y_all[p]
            th = th_all[p]
            lam[:] = 0.0
            const_diag(th, lam)
            pow_setup(th, pc)
            ref[:] = 1.0
            for i in range(s_n):
                if i != stiff:
                    coefs(lam[i], h, co, i)
            for _ in range(n):
                lam[stiff] = rhs(y, th, 0.0, w[0], pc, ref)
                column(y, th, v)
                star(lam, v, h, co, od)
                step(y, th, 0.0, h, w[0], lam, v, co, od, w[1], w[2], w[3], w[4], w[5], w[6],
                     w[7], w[8], w[9], w[10], w[11], pc, ref, False, False, mu, a_in, psi, emu,
                     fv)  # fmt: skip
                y[:] = w[7]
            res[p] = y
        return res

    @njit(error_model="numpy")
    def lanes_run(y_all: np.ndarray, th_all: np.ndarray, h: float, n: int, b_n: int) -> Any:
        p_n, s_n = y_all.shape
        res = np.full_like(y_all, np.nan)
        y = np.empty((s_n, b_n))
        th = np.empty((th_all.shape[1], b_n))
        lam = np.zeros((s_n, b_n))
        co = np.zeros((n_co, s_n, b_n))
        od = np.zeros((n_co, s_n, b_n))
        v = np.zeros((s_n, b_n))
        k = np.empty((4, s_n, b_n))  # rates at y, a, b, c
        st = np.empty((3, s_n, b_n))  # stages a, b, c
        nn = np.empty((3, s_n, b_n))  # N(y), N(a), N(b)
        lamc = np.empty(b_n)
        sc = np.empty((8, b_n))  # stiff entries: y, N(y), a, N(a), N(b), b/c, N(c)
        g = np.empty((n_co, b_n))
        wv = np.empty((s_n, b_n))
        wc = np.empty(b_n)
        pc = np.zeros((n_pow, 5, b_n))
        ref = np.ones((n_pow, 3, b_n))
        lam1 = np.zeros(s_n)
        co1 = np.zeros((n_co, s_n))
        pc1 = np.zeros((n_pow, 5))
        c = stiff
        hh = 0.5 * h
        for p0 in range(0, p_n - b_n + 1, b_n):
            for b in range(b_n):
                y[:, b] = y_all[p0 + b]
                th[:, b] = th_all[p0 + b]
                lam1[:] = 0.0
                const_diag(th_all[p0 + b], lam1)
                pow_setup(th_all[p0 + b], pc1)
                pc[:, :, b] = pc1
                for i in range(s_n):
                    lam[i, b] = lam1[i]
                    if i != c:
                        coefs(lam1[i], h, co1, i)
                        co[:, i, b] = co1[:, i]
            for _ in range(n):
                lane_refresh(y, th, ref)
                lane_rhs(y, th, 0.0, k[0], pc, ref, lamc)
                lane_column(y, th, v)
                for b in range(b_n):  # the stiff row's phi functions (series or expm1)
                    e2, h1, h2, h3, h4 = phis(0.5 * lamc[b] * h)
                    e, q1, q2, q3, q4 = double(e2, h1, h2, h3, h4)
                    lam[c, b] = lamc[b]
                    co[0, c, b], co[1, c, b], co[2, c, b] = e, e2, h1
                    co[3, c, b] = q1 - 3.0 * q2 + 4.0 * q3
                    co[4, c, b] = 2.0 * (q2 - 2.0 * q3)
                    co[5, c, b] = 4.0 * q3 - q2
                    co[6, c, b], co[7, c, b], co[8, c, b] = h2, q1, q2
                    g[0, b], g[1, b], g[2, b] = h * q1, hh * h1, hh * h2
                    g[3, b] = h * (q2 - 3.0 * q3 + 4.0 * q4)
                    g[4, b] = h * 2.0 * (q3 - 2.0 * q4)
                    g[5, b] = h * (4.0 * q4 - q3)
                    g[6, b], g[7, b], g[8, b] = hh * h3, h * q2, h * q3
                for i in coupled:
                    for b in range(b_n):
                        if lam[i, b] == 0.0:
                            for q in range(n_co):
                                od[q, i, b] = v[i, b] * g[q, b]
                        else:
                            f = v[i, b] / (lam[c, b] - lam[i, b])
                            for q in range(n_co):
                                od[q, i, b] = f * (co[q, c, b] - co[q, i, b])
                # stages a, b, c (Cox & Matthews): N(y), a, f(a), N(a), b, f(b), N(b), c, f(c)
                _n(nn[0], k[0], lam, y, v, sc[0], sc[3], c)
                _stage(st[0], y, sc[0], nn[0], sc[3], co, od, hh)
                lane_rhs(st[0], th, 0.0, k[1], pc, ref, lamc)
                _n(nn[1], k[1], lam, st[0], v, sc[1], sc[4], c)
                _stage(st[1], y, sc[0], nn[1], sc[4], co, od, hh)
                lane_rhs(st[1], th, 0.0, k[2], pc, ref, lamc)
                _n(nn[2], k[2], lam, st[1], v, sc[2], sc[5], c)
                for i in range(s_n):
                    for b in range(b_n):
                        wv[i, b] = 2.0 * nn[2, i, b] - nn[0, i, b]
                for b in range(b_n):
                    wc[b] = 2.0 * sc[5, b] - sc[3, b]
                _stage(st[2], st[0], sc[1], wv, wc, co, od, hh)
                lane_rhs(st[2], th, 0.0, k[3], pc, ref, lamc)
                for b in range(b_n):
                    sc[6, b] = st[2, c, b]
                    sc[7, b] = k[3, c, b] - lam[c, b] * sc[6, b]
                for i in range(s_n):
                    for b in range(b_n):
                        if i == c:
                            ncv = sc[7, b]
                        else:
                            ncv = k[3, i, b] - lam[i, b] * st[2, i, b] - v[i, b] * sc[6, b]
                        y[i, b] = (
                            co[0, i, b] * y[i, b] + od[0, i, b] * sc[0, b]
                            + h * (co[3, i, b] * nn[0, i, b] + od[3, i, b] * sc[3, b]
                                   + co[4, i, b] * (nn[1, i, b] + nn[2, i, b])
                                   + od[4, i, b] * (sc[4, b] + sc[5, b])
                                   + co[5, i, b] * ncv + od[5, i, b] * sc[7, b])
                        )  # fmt: skip
            for b in range(b_n):
                res[p0 + b] = y[:, b]
        return res

    h = 1.0 / 64.0
    chain(y_all[:16], theta, h, 2)
    lanes_run(y_all[:16], theta, h, 2, 8)
    ref_y = chain(y_all, theta, h, 50)
    diff = {}
    for b_n in (4, 8, 16):
        got = lanes_run(y_all, theta, h, 50, b_n)
        diff[b_n] = float(np.max(np.abs(got - ref_y) / np.maximum(np.abs(ref_y), 1e-300)))
    n = args.steps
    best: dict[str, float] = {}
    for _ in range(args.repeats):
        t = time.perf_counter()
        chain(y_all, theta, h, n)
        best["chain"] = min(best.get("chain", np.inf), time.perf_counter() - t)
        for b_n in (4, 8, 16):
            t = time.perf_counter()
            lanes_run(y_all, theta, h, n, b_n)
            best[str(b_n)] = min(best.get(str(b_n), np.inf), time.perf_counter() - t)
    p_n = y_all.shape[0]
    base = best["chain"]
    print(f"v1, {p_n} patients x {n} fixed steps of 1/64 day, one thread (best of "
          f"{args.repeats}); ns per step per patient:")  # fmt: skip
    print(f"  one patient at a time (the kernel's own step): {base / (p_n * n) * 1e9:.1f} ns")
    for b_n in (4, 8, 16):
        v_ = best[str(b_n)]
        print(f"  lanes, B={b_n}: {v_ / (p_n * n) * 1e9:.1f} ns -> {base / v_:.2f}x the chain; "
              f"largest relative difference of the states after 50 steps {diff[b_n]:.1e}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
