"""Integrator template: batched exponential RK4 (ETDRK4) with a star-shaped linear part.

(This file is longer than the project's ~400 lines because numba inlines the step into the
generated kernel only when both live in one module: the hooks are spliced in at the marked
import, and a split would need a second generated module per model.)

This file is the model-independent half of every fast kernel.  :mod:`il2sim.simulate.codegen`
writes a module made of the model hooks generated from a declaration followed by this text
(the import of :mod:`il2sim.simulate._hooks_stub` below is replaced), so numba compiles the
hooks inlined into the loops and caches the result on disk.

Scheme: ETDRK4 of Cox & Matthews (2002, J Comput Phys 176:430) in the phi-function form of
Krogstad (2005).  Linear part, re-evaluated at the start of each step: L = diag(lam) + v e_s^T,
with constant diagonal rates (rows whose own Jacobian entry depends on constants only), the
stiff state's own Jacobian entry and the stiff *column* (d f_i / d y_s) for the rows with a
constant diagonal that the stiff state feeds.  Functions of this "star" matrix are exact
(divided differences of the phi functions).

Steps are aligned to the grid nodes (doses, infusion starts/ends, day boundaries, output
times), so doses enter exactly at their time.  Step policies:

* fixed: ``seg_nsub[g]`` equal steps in segment g (the grid of :mod:`il2sim.simulate.grid`);
* adaptive, embedded estimate (``embedded``): per patient, one ETDRK4 step per step;
  Krogstad's stage c, ``e^{hL} y + h phi1(hL) N(y) + 2h phi2(hL) (N(b) - N(y))``, is a
  second-order solution at t + h, and ``err = max_i |ynew_i - c_i| / (rtol max(|y_i|,
  |ynew_i|, floor_i))`` over the controlled states bounds the local error of the lower-order
  solution (local extrapolation: the fourth-order ``ynew`` is kept; an embedded pair in the
  sense of Hochbruck & Ostermann 2010, Acta Numerica 19:209, section 2.6).  Rejected if
  err > 1; the step follows ``0.9 err^(-1/3)``;
* adaptive, step doubling (Richardson): each macro step 2h is also taken as two steps of h;
  ``err = max_i |y_2h,i - y_h+h,i| / (15 rtol max(...))`` (3 ETDRK4 steps per 2 accepted).

Adaptive steps are dyadic fractions L/2^k of each segment (length L), halved on rejection and
doubled when aligned (at most two levels per step), so the constant-rate coefficients are
cached and reused.  (Before the exact input below, an embedded estimate was blind to the
error of the depot input, tests/test_model_declaration.py; with the input exact, it has no
such error to see.)

Exact dose input (``forcing``, Krogstad stages): the linear dose-input block of the
declaration (:func:`il2sim.simulate._hooks_gen.input_block`: the depots) feeds the stiff
state with ``u(s) = b^T exp(s A_F) y_F(t_n) = sum_t a_t s^m/m! e^{mu s}``; u is removed from
the stiff row's N and its integral ``int_0^tau e^{(tau-s)L} e_s u(s) ds = sum_t a_t e^{mu
tau} tau^{m+1} phi_{m+1}(tau (L - mu))`` e_s is added to every stage (exact for the star
matrix L).  The absorption input was the error that set the step after s.c. doses (it
scaled with ka^2..ka^3); now only the receptor nonlinearity does.

Peak refinement (``refine``): where the slope of the tracked concentration changes sign in
a step, one extra ETDRK4 sub-step from the step start to the cubic Hermite maximum gives the
integrator's own value there (:func:`_peak_in_step`), so the peak and Cmax no longer limit
the step size (the interpolant's O(h^4) error was 6e-3 with 1-h steps).

Stages: Cox & Matthews (2002) as in v0.1, or Krogstad (2005, J Comput Phys 203:72,
"ETDRK4-B"), whose stages b and c use phi2 terms and keep more of the order for the stiff
central compartment.

Serum concentration extrema are tracked at every step end and, where the slope changes sign
inside a step, at the maximum of the cubic Hermite interpolant (values and exact slopes).
Powers with a constant exponent come from a 5-term binomial series about the point where pow
was last called (|x/x_ref - 1| <= 0.01; truncation < 1e-10 relative).  Sinks are rescaled
after each step so that pool + sinks = amount dosed (to rounding).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit, prange

# >>> model hooks (replaced by il2sim.simulate.codegen)
from il2sim.simulate._hooks_stub import (
    AUC_STATE,
    CONTROL,
    COUPLED,
    EXT_STATE,
    IN_MU,
    IN_POW,
    N_IN,
    N_MU,
    N_OUT,
    N_POW,
    N_STATES,
    POOL,
    SINKS,
    STIFF,
    model_column,
    model_const_diag,
    model_dose,
    model_ext_scale,
    model_input,
    model_input_terms,
    model_jac,
    model_pow_setup,
    model_record,
    model_rhs,
    model_rhs_exact,
)

# <<< model hooks

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: |z| below which the phi functions use their Taylor series (avoids cancellation).
_PHI_SERIES_Z = 1.0
#: Terms of phi_4's series used below it (|z|^n / (n + 4)! < 1e-19 for n = 16, |z| < 1) and
#: their coefficients 1 / (n + 4)!.
_PHI4_N = 16
_PHI4_C = np.array([1.0 / math.factorial(n + 4) for n in range(_PHI4_N)])
#: Distinct step sizes whose constant-rate coefficients are cached per patient.
_N_SLOTS = 8
#: Coefficient rows per state (see :func:`_coefficients`).
_N_CO = 9
#: Powers come from the binomial series while |x/x_ref - 1| <= this.
_POW_SERIES_D = 0.01
#: Step-size controller: safety factor, largest growth and shrink per step.
_SAFETY = 0.9
_MAX_LEVELS_UP = 2
_MIN_FACTOR = 0.05
#: Rows of the star matrix without an off-diagonal entry (every state but the coupled ones:
#: the stiff state and the states it does not feed): their ``od`` coefficients, coupling ``v``
#: and exact-input terms ``fv`` are structurally zero, so the stage loops skip those terms
#: (x + 0.0 == x: the same numbers, up to the sign of a zero).
PLAIN = np.array([i for i in range(N_STATES) if i not in set(COUPLED.tolist())], dtype=np.int64)
#: The rows that receive the exact dose input: the stiff state and the coupled ones.
FORCED = np.array([STIFF, *COUPLED.tolist()], dtype=np.int64)


@njit(cache=True, error_model="numpy", inline="always")
def _power(x: float, g: float, pc: FloatArray, ref: FloatArray, j: int) -> float:
    """``x**g`` (``0**g`` for x <= 0).  ``ref[j]`` = (x_ref, 1/x_ref, x_ref**g) is the last
    point where pow was called; near it the series (1+d)^g = 1 + g d (1 + (g-1)/2 d (...)) to
    d^5 is used (``pc[j]`` = g, (g-1)/2, ..., (g-4)/5), else pow is called and the point moved."""
    if x <= 0.0:
        return 0.0**g
    d = (x - ref[j, 0]) * ref[j, 1]
    if abs(d) <= _POW_SERIES_D:
        return ref[j, 2] * (
            1.0
            + pc[j, 0]
            * d
            * (
                1.0
                + pc[j, 1]
                * d
                * (1.0 + pc[j, 2] * d * (1.0 + pc[j, 3] * d * (1.0 + pc[j, 4] * d)))
            )
        )
    p = x**g
    ref[j, 0] = x
    ref[j, 1] = 1.0 / x
    ref[j, 2] = p
    return p


@njit(cache=True, error_model="numpy", inline="always")
def _pos(x: float) -> float:
    return x if x > 0.0 else 0.0


@njit(cache=True, error_model="numpy", inline="always")
def _rpow(x: float, g: float) -> float:
    return x**g if x > 0.0 else 0.0


@njit(cache=True, error_model="numpy", inline="always")
def _phis(z: float) -> tuple[float, float, float, float, float]:
    """e^z and phi_1..phi_4 of ``z`` (phi_k(z) = sum_n z^n / (n + k)!).  For |z| <
    :data:`_PHI_SERIES_Z`: phi_4 by Horner's rule on its series (no divisions; truncation below
    1e-17), then the stable upward recurrence phi_{k-1} = 1/(k-1)! + z phi_k; else one expm1
    and the downward recurrence phi_{k+1} = (phi_k - 1/k!) / z (loses at most ~24 eps)."""
    if abs(z) < _PHI_SERIES_Z:
        p4 = _PHI4_C[_PHI4_N - 1]
        for n in range(_PHI4_N - 2, -1, -1):
            p4 = p4 * z + _PHI4_C[n]
        p3 = 1.0 / 6.0 + z * p4
        p2 = 0.5 + z * p3
        p1 = 1.0 + z * p2
        return 1.0 + z * p1, p1, p2, p3, p4
    em1 = math.expm1(z)
    iz = 1.0 / z
    p1 = em1 * iz
    p2 = (p1 - 1.0) * iz
    p3 = (p2 - 0.5) * iz
    return em1 + 1.0, p1, p2, p3, (p3 - 1.0 / 6.0) * iz


@njit(cache=True, error_model="numpy", inline="always")
def _double(
    e: float, p1: float, p2: float, p3: float, p4: float
) -> tuple[float, float, float, float, float]:
    """e^{2x}, phi_1..phi_4(2x) from e^x and phi_k(x): phi_k(2x) = 2^-k (e^x phi_k(x) +
    sum_{j=1..k} phi_j(x) / (k-j)!) (every term positive for real x: no cancellation)."""
    e1 = e + 1.0
    return (
        e * e,
        0.5 * e1 * p1,
        0.25 * (e1 * p2 + p1),
        0.125 * (e1 * p3 + p2 + 0.5 * p1),
        0.0625 * (e1 * p4 + p3 + 0.5 * p2 + p1 / 6.0),
    )


@njit(cache=True, error_model="numpy")
def phi123(z: float) -> tuple[float, float, float]:
    """phi_1, phi_2, phi_3 of ``z``."""
    _, p1, p2, p3, _ = _phis(z)
    return p1, p2, p3


@njit(cache=True, error_model="numpy")
def phi1234(z: float) -> tuple[float, float, float, float]:
    """phi_1..phi_4 of ``z``."""
    _, p1, p2, p3, p4 = _phis(z)
    return p1, p2, p3, p4


@njit(cache=True, error_model="numpy")
def _hermite_max(h: float, c0: float, c1: float, d0: float, d1: float) -> tuple[float, float]:
    """Maximum of the cubic Hermite interpolant on [0, h] when the slope goes from + to -:
    returns (offset, value); (-1, -inf) if there is no interior maximum."""
    if not (d0 > 0.0 and d1 < 0.0):
        return -1.0, -np.inf
    m0 = h * d0
    m1 = h * d1
    a = 6.0 * c0 + 3.0 * m0 - 6.0 * c1 + 3.0 * m1
    b = -6.0 * c0 - 4.0 * m0 + 6.0 * c1 - 2.0 * m1
    c = m0
    s = -1.0
    if abs(a) < 1e-300:
        if b != 0.0:
            s = -c / b
    else:
        disc = b * b - 4.0 * a * c
        if disc < 0.0:
            disc = 0.0
        sq = math.sqrt(disc)
        q = -0.5 * (b + math.copysign(sq, b))
        r1 = q / a
        r2 = c / q if q != 0.0 else -1.0
        for r in (r1, r2):
            if 0.0 < r < 1.0 and 2.0 * a * r + b < 0.0:
                s = r
    if not (0.0 < s < 1.0):
        return -1.0, -np.inf
    h00 = 2 * s**3 - 3 * s**2 + 1
    h10 = s**3 - 2 * s**2 + s
    h01 = -2 * s**3 + 3 * s**2
    h11 = s**3 - s**2
    return s * h, h00 * c0 + h10 * m0 + h01 * c1 + h11 * m1


@njit(cache=True, error_model="numpy")
def _coefficients(lam: float, h: float, co: FloatArray, i: int) -> None:
    """ETDRK4 coefficients of state ``i`` for diagonal rate ``lam`` and step ``h`` into
    ``co[:, i]``: e^z, e^{z/2}, phi1(z/2), b1, b2=b3, b4, and for Krogstad's stages
    phi2(z/2), phi1(z), phi2(z) (z = lam*h)."""
    e2, p1h, p2h, p3h, p4h = _phis(0.5 * lam * h)
    e, p1, p2, p3, _ = _double(e2, p1h, p2h, p3h, p4h)
    _fill_coefficients(co, i, e, e2, p1h, p2h, p1, p2, p3)


@njit(cache=True, error_model="numpy", inline="always")
def _fill_coefficients(
    co: FloatArray, i: int, e: float, e2: float, p1h: float, p2h: float, p1: float, p2: float,
    p3: float,
) -> None:
    """``co[:, i]`` from the phi functions of z/2 (``e2``, ``p1h``, ``p2h``) and z (``e``,
    ``p1``..``p3``): e^z, e^{z/2}, phi1(z/2), b1, b2=b3, b4, phi2(z/2), phi1(z), phi2(z)."""
    co[0, i] = e
    co[1, i] = e2
    co[2, i] = p1h
    co[3, i] = p1 - 3.0 * p2 + 4.0 * p3
    co[4, i] = 2.0 * (p2 - 2.0 * p3)
    co[5, i] = 4.0 * p3 - p2
    co[6, i] = p2h
    co[7, i] = p1
    co[8, i] = p2


@njit(cache=True, error_model="numpy", inline="always")
def _star_coefficients(
    lam: FloatArray, v: FloatArray, h: float, co: FloatArray, od: FloatArray
) -> None:
    """Coefficients of the stiff state into ``co[:, STIFF]`` and the off-diagonal ones
    ``od[k, i]`` of the functions of h*L, L = diag(lam) + v e_s^T:
    (F_k(hL) w)_i = co[k,i] w_i + od[k,i] w_s.  ``co`` holds the other states' coefficients."""
    c = STIFF
    lc = lam[c]
    e2, h1, h2, h3, h4 = _phis(0.5 * lc * h)
    e, q1, q2, q3, q4 = _double(e2, h1, h2, h3, h4)
    _fill_coefficients(co, c, e, e2, h1, h2, q1, q2, q3)
    g0 = h * q1
    g1 = 0.5 * h * h1
    g2 = 0.5 * h * h2
    g3 = h * (q2 - 3.0 * q3 + 4.0 * q4)
    g4 = h * 2.0 * (q3 - 2.0 * q4)
    g5 = h * (4.0 * q4 - q3)
    g6 = 0.5 * h * h3
    g7 = h * q2
    g8 = h * q3
    for i in COUPLED:
        vi = v[i]
        if vi == 0.0:
            for k in range(_N_CO):
                od[k, i] = 0.0
        elif lam[i] == 0.0:
            od[0, i] = vi * g0
            od[1, i] = vi * g1
            od[2, i] = vi * g2
            od[3, i] = vi * g3
            od[4, i] = vi * g4
            od[5, i] = vi * g5
            od[6, i] = vi * g6
            od[7, i] = vi * g7
            od[8, i] = vi * g8
        else:
            dl = lc - lam[i]
            if abs(dl * h) < 1e-3:
                for k in range(_N_CO):
                    od[k, i] = 0.0
                v[i] = 0.0
            else:
                f = vi / dl
                for k in range(_N_CO):
                    od[k, i] = f * (co[k, c] - co[k, i])


@njit(cache=True, error_model="numpy", inline="always")
def _input_coefficients(
    lam: FloatArray, mu: FloatArray, h: float, psi: FloatArray, emu: FloatArray
) -> None:
    """Constant parts of the exact input over steps h/2 and h (``k`` = 0, 1): ``emu[k, j]`` =
    exp(mu_j tau) and, for the coupled rows i, ``psi[k, t, i]`` = int_0^tau e^{(tau-s)
    lam_i} s^m/m! e^{mu s} ds = e^{mu tau} tau^{m+1} phi_{m+1}((lam_i - mu) tau) of term t."""
    for j in range(N_MU):
        e2 = math.exp(0.5 * mu[j] * h) if N_IN > 0 else 1.0
        emu[0, j] = e2
        emu[1, j] = e2 * e2
    for i in COUPLED:
        for m_ in range(N_MU):
            if N_IN == 0:
                break
            e2, p1h, p2h, p3h, p4h = _phis(0.5 * (lam[i] - mu[m_]) * h)
            _, p1, p2, _, _ = _double(e2, p1h, p2h, p3h, p4h)
            for t in range(N_IN):
                if IN_MU[t] == m_:
                    for k in range(2):
                        tau = 0.5 * h if k == 0 else h
                        q1 = p1h if k == 0 else p1
                        q2 = p2h if k == 0 else p2
                        psi[k, t, i] = emu[k, m_] * tau * (q1 if IN_POW[t] == 0 else tau * q2)


@njit(cache=True, error_model="numpy", inline="always")
def _input_forcing(
    y: FloatArray,
    th: FloatArray,
    lam: FloatArray,
    v: FloatArray,
    h: float,
    mu: FloatArray,
    a_in: FloatArray,
    psi: FloatArray,
    emu: FloatArray,
    fv: FloatArray,
) -> None:
    """Exact contribution of the dose input over [0, h/2] (``fv[0]``) and [0, h] (``fv[1]``):
    int_0^tau e^{(tau-s)L} e_s u(s) ds with u(s) = sum_t a_t s^m/m! e^{mu s} the input of
    the linear block (depots) into the stiff state, exact for the star matrix L (divided
    differences as in :func:`_star_coefficients`; rows whose coupling was moved to N, v_i = 0,
    receive it through N).  ``fv``: (3, N_STATES), row 2 scratch."""
    c = STIFF
    lc = lam[c]
    model_input_terms(y, th, mu, a_in)
    for k in range(2):
        fv[k, c] = 0.0
        for i in COUPLED:
            fv[k, i] = 0.0
    for i in COUPLED:  # fv[2]: v_i / (lam_s - lam_i), once per step (0: coupling in N)
        dl = lc - lam[i]
        fv[2, i] = v[i] / dl if N_IN > 0 and v[i] != 0.0 and abs(dl * h) >= 1e-3 else 0.0
    for m_ in range(N_MU):
        if N_IN == 0:
            break
        # phi_1, phi_2 of (lam_s - mu) tau for tau = h/2 (series or one expm1) and, by the
        # doubling formula, tau = h: shared by the terms of this mu
        e2, p1h, p2h, p3h, p4h = _phis(0.5 * (lc - mu[m_]) * h)
        _, p1f, p2f, _, _ = _double(e2, p1h, p2h, p3h, p4h)
        for k in range(2):
            tau = 0.5 * h if k == 0 else h
            p1 = p1h if k == 0 else p1f
            p2 = p2h if k == 0 else p2f
            for t in range(N_IN):
                if IN_MU[t] != m_:
                    continue
                ps = emu[k, m_] * tau * (p1 if IN_POW[t] == 0 else tau * p2)
                fv[k, c] += a_in[t] * ps
                for i in COUPLED:
                    if fv[2, i] != 0.0:
                        fv[k, i] += fv[2, i] * a_in[t] * (ps - psi[k, t, i])


@njit(cache=True, error_model="numpy", inline="always")
def _nonlinear(
    ns: FloatArray, ks: FloatArray, lam: FloatArray, v: FloatArray, ys: FloatArray
) -> None:
    """The nonlinear part ``ns = ks - L ys`` of rates ``ks`` at ``ys`` (star matrix L; the
    coupling ``v`` only on the coupled rows, :data:`PLAIN` rows have none)."""
    ysc = ys[STIFF]
    for i in PLAIN:
        ns[i] = ks[i] - lam[i] * ys[i]
    for i in COUPLED:
        ns[i] = ks[i] - lam[i] * ys[i] - v[i] * ysc


@njit(cache=True, error_model="numpy", inline="always")
def _half_stage(
    dst: FloatArray,
    co: FloatArray,
    od: FloatArray,
    y: FloatArray,
    yc0: float,
    w: FloatArray,
    wc: float,
    hh: float,
) -> None:
    """``dst = e^{hL/2} y + (h/2) phi1(hL/2) w`` with the star-matrix functions (``yc0``,
    ``wc``: the stiff entries of y and w; the off-diagonal terms on the coupled rows only)."""
    for i in PLAIN:
        dst[i] = co[1, i] * y[i] + hh * (co[2, i] * w[i])
    for i in COUPLED:
        dst[i] = co[1, i] * y[i] + od[1, i] * yc0 + hh * (co[2, i] * w[i] + od[2, i] * wc)


@njit(cache=True, error_model="numpy", inline="always")
def _stage_n(
    ys: FloatArray,
    th: FloatArray,
    rate: float,
    ks: FloatArray,
    lam: FloatArray,
    v: FloatArray,
    pc: FloatArray,
    ref: FloatArray,
    forcing: bool,
    ns: FloatArray,
) -> float:
    """Rates ``ks`` = f(ys) and the nonlinear part ``ns`` = f(ys) - L ys (less the exact dose
    input when ``forcing``) of a stage; returns ``ns[STIFF]``."""
    model_rhs(ys, th, rate, ks, pc, ref)
    _nonlinear(ns, ks, lam, v, ys)
    if forcing:
        ns[STIFF] -= model_input(ys, th)
    return ns[STIFF]


@njit(cache=True, error_model="numpy", inline="always")
def _krogstad_stage(
    dst: FloatArray,
    co: FloatArray,
    od: FloatArray,
    r0: int,
    r1: int,
    r2: int,
    y: FloatArray,
    yc0: float,
    nu: FloatArray,
    nuc: float,
    h1: float,
    n: FloatArray,
    nc: float,
    h2: float,
) -> None:
    """Krogstad's (2005) stages b and c: ``dst = F_r0 y + h1 F_r1 N(y) + h2 F_r2 (n - N(y))``
    with the star-matrix functions ``F_k w = co[k] w + od[k] w_s`` (``yc0``, ``nuc``, ``nc``:
    the stiff entries of y, N(y) and n)."""
    for i in PLAIN:
        dst[i] = co[r0, i] * y[i] + h1 * (co[r1, i] * nu[i]) + h2 * (co[r2, i] * (n[i] - nu[i]))
    for i in COUPLED:
        dst[i] = (
            co[r0, i] * y[i]
            + od[r0, i] * yc0
            + h1 * (co[r1, i] * nu[i] + od[r1, i] * nuc)
            + h2 * (co[r2, i] * (n[i] - nu[i]) + od[r2, i] * (nc - nuc))
        )


@njit(cache=True, error_model="numpy", inline="always")
def _etd_step(
    y: FloatArray,
    th: FloatArray,
    rate: float,
    h: float,
    k1: FloatArray,
    lam: FloatArray,
    v: FloatArray,
    co: FloatArray,
    od: FloatArray,
    ya: FloatArray,
    yb: FloatArray,
    yc: FloatArray,
    ka: FloatArray,
    kb: FloatArray,
    kc: FloatArray,
    ynew: FloatArray,
    nu: FloatArray,
    na: FloatArray,
    nb: FloatArray,
    ncv: FloatArray,
    pc: FloatArray,
    ref: FloatArray,
    krog: bool,
    forcing: bool,
    mu: FloatArray,
    a_in: FloatArray,
    psi: FloatArray,
    emu: FloatArray,
    fv: FloatArray,
) -> None:
    """One ETDRK4 step: stages a, b, c (``ya``..``yc``, rates ``ka``..``kc``), the new state
    ``ynew``; N(y), N(a), N(b), N(c) in ``nu``, ``na``, ``nb``, ``ncv``.  ``krog``: Krogstad's
    stages b and c (else Cox & Matthews').  ``forcing`` (Krogstad only): the input of the
    linear dose block into the stiff state is taken out of N and integrated exactly
    (:func:`_input_forcing`), so only the receptor-mediated nonlinearity limits the step."""
    hh = 0.5 * h
    c = STIFF
    yc0 = y[c]
    if forcing:
        _input_forcing(y, th, lam, v, h, mu, a_in, psi, emu, fv)
    _nonlinear(nu, k1, lam, v, y)
    if forcing:
        nu[c] -= model_input(y, th)
    nuc = nu[c]
    _half_stage(ya, co, od, y, yc0, nu, nuc, hh)
    if forcing:
        for i in FORCED:
            ya[i] += fv[0, i]
    nac = _stage_n(ya, th, rate, ka, lam, v, pc, ref, forcing, na)
    yac = ya[c]
    if krog:
        _krogstad_stage(yb, co, od, 1, 2, 6, y, yc0, nu, nuc, hh, na, nac, h)
    else:
        _half_stage(yb, co, od, y, yc0, na, nac, hh)
    if forcing:
        for i in FORCED:
            yb[i] += fv[0, i]
    nbc = _stage_n(yb, th, rate, kb, lam, v, pc, ref, forcing, nb)
    if krog:
        _krogstad_stage(yc, co, od, 0, 7, 8, y, yc0, nu, nuc, h, nb, nbc, 2.0 * h)
    else:
        for i in PLAIN:
            yc[i] = co[1, i] * ya[i] + hh * (co[2, i] * (2.0 * nb[i] - nu[i]))
        for i in COUPLED:
            wi = 2.0 * nb[i] - nu[i]
            yc[i] = (
                co[1, i] * ya[i]
                + od[1, i] * yac
                + hh * (co[2, i] * wi + od[2, i] * (2.0 * nbc - nuc))
            )
    if forcing:
        for i in FORCED:
            yc[i] += fv[1, i]
    model_rhs(yc, th, rate, kc, pc, ref)
    ycc = yc[c]
    ncc = kc[c] - lam[c] * ycc
    if forcing:
        ncc -= model_input(yc, th)
    for i in PLAIN:
        nc = ncc if i == c else kc[i] - lam[i] * yc[i]
        ncv[i] = nc
        ynew[i] = co[0, i] * y[i] + h * (
            co[3, i] * nu[i] + co[4, i] * (na[i] + nb[i]) + co[5, i] * nc
        )
    for i in COUPLED:
        nc = kc[i] - lam[i] * yc[i] - v[i] * ycc
        ncv[i] = nc
        ynew[i] = (
            co[0, i] * y[i]
            + od[0, i] * yc0
            + h
            * (
                co[3, i] * nu[i]
                + od[3, i] * nuc
                + co[4, i] * (na[i] + nb[i])
                + od[4, i] * (nac + nbc)
                + co[5, i] * nc
                + od[5, i] * ncc
            )
        )
    if forcing:
        for i in FORCED:
            ynew[i] += fv[1, i]
    # conservative bookkeeping: sinks = what left the pool (+ infusion input)
    out = 0.0
    for i in SINKS:
        out += ynew[i] - y[i]
    if out > 0.0:
        need = rate * h
        for i in POOL:
            need += y[i] - ynew[i]
        f = need / out
        for i in SINKS:
            ynew[i] = y[i] + f * (ynew[i] - y[i])


@njit(cache=True, error_model="numpy", inline="always")
def _slot(
    h: float,
    cache_h: FloatArray,
    cache_co: FloatArray,
    lam: FloatArray,
    nxt: IntArray,
    forcing: bool,
    mu: FloatArray,
    cache_psi: FloatArray,
    cache_emu: FloatArray,
) -> int:
    """Cache slot holding the constant-rate coefficients for step ``h`` (computed on a miss,
    replacing the oldest slot), with the exact input's constant parts when ``forcing``."""
    for s_ in range(_N_SLOTS):
        if cache_h[s_] == h:
            return s_
    slot = nxt[0]
    nxt[0] = (slot + 1) % _N_SLOTS
    cache_h[slot] = h
    for i in range(N_STATES):
        if i != STIFF:
            _coefficients(lam[i], h, cache_co[slot], i)
    if forcing:
        _input_coefficients(lam, mu, h, cache_psi[slot], cache_emu[slot])
    return slot


@njit(cache=True, error_model="numpy", inline="always")
def _track(
    ts: float,
    te: float,
    c0: float,
    d0: float,
    c1: float,
    d1: float,
    dmax: FloatArray,
    p: int,
    day: int,
    first: bool,
    best_first: float,
    best_first_t: float,
    off_in: float,
    cm_in: float,
) -> tuple[float, float]:
    """Daily and first-dose maxima over one step [ts, te] with end values ``c0``, ``c1`` and
    slopes ``d0``, ``d1``: the step end, and the interior maximum ``(off_in, cm_in)`` when
    given (``off_in >= 0``, :func:`_peak_in_step`), else that of the cubic Hermite
    interpolant."""
    if c1 > dmax[p, day]:
        dmax[p, day] = c1
    if first and c1 > best_first:
        best_first = c1
        best_first_t = te
    if off_in >= 0.0:
        off, cm = off_in, cm_in
    else:
        off, cm = _hermite_max(te - ts, c0, c1, d0, d1)
    if off >= 0.0:
        if cm > dmax[p, day]:
            dmax[p, day] = cm
        if first and cm > best_first:
            best_first = cm
            best_first_t = ts + off
    return best_first, best_first_t


@njit(cache=True, error_model="numpy")
def _refine_peak(
    y: FloatArray, k1: FloatArray, lam_c: float, th: FloatArray, rate: float, h: float,
    c0: float, d0: float, c1: float, d1: float, xs: float, lam: FloatArray, v: FloatArray,
    sc: FloatArray, ws: FloatArray, pc: FloatArray, ref: FloatArray, krog: bool,
    forcing: bool, mu: FloatArray, a_in: FloatArray, off: float,
) -> tuple[float, float]:
    """(offset, value) of the refined maximum of the tracked concentration inside a step
    [0, h] from ``y`` whose cubic Hermite maximum is at ``off`` > 0 (slope + at the start,
    - at the end): one ETDRK4 sub-step from the step start to ``off``, then the Hermite
    maximum of the sub-interval holding the maximum, whose end values and slopes are now
    the integrator's own.  The value error drops from the interpolant's O(h^4) to the
    integrator's local error, so peak and Cmax accuracy no longer limit the step size.
    ``sc``: coefficient scratch (2 * _N_CO + 5, N_STATES); ``ws``: state scratch
    (12, N_STATES).  Not inlined: it runs only at a peak."""
    co_s = sc[:_N_CO]
    od_s = sc[_N_CO : 2 * _N_CO]
    emu_s = sc[2 * _N_CO : 2 * _N_CO + 2, :N_MU]
    fv = sc[2 * _N_CO + 2 : 2 * _N_CO + 5]
    psi_s = np.empty((2, max(N_IN, 1), N_STATES))
    for i in range(N_STATES):
        if i != STIFF:
            _coefficients(lam[i], off, co_s, i)
    if forcing:
        _input_coefficients(lam, mu, off, psi_s, emu_s)
    lam[STIFF] = lam_c
    model_column(y, th, v)
    _star_coefficients(lam, v, off, co_s, od_s)
    ysub = ws[10]
    ksub = ws[11]
    _etd_step(
        y, th, rate, off, k1, lam, v, co_s, od_s, ws[0], ws[1], ws[2], ws[3], ws[4], ws[5],
        ysub, ws[6], ws[7], ws[8], ws[9], pc, ref, krog, forcing, mu, a_in, psi_s, emu_s, fv,
    )  # fmt: skip
    model_rhs(ysub, th, rate, ksub, pc, ref)
    cs = ysub[EXT_STATE] * xs
    ds = ksub[EXT_STATE] * xs
    best_t = off
    best = cs
    if ds > 0.0:
        o2, c2 = _hermite_max(h - off, cs, c1, ds, d1)
        if o2 >= 0.0 and c2 > best:
            best = c2
            best_t = off + o2
    elif ds < 0.0:
        o2, c2 = _hermite_max(off, c0, cs, d0, ds)
        if o2 >= 0.0 and c2 > best:
            best = c2
            best_t = o2
    return best_t, best


@njit(cache=True, error_model="numpy", inline="always")
def _peak_in_step(
    refine: bool,
    y: FloatArray,
    k1: FloatArray,
    lam_c: float,
    th: FloatArray,
    rate: float,
    h: float,
    c0: float,
    d0: float,
    c1: float,
    d1: float,
    xs: float,
    lam: FloatArray,
    v: FloatArray,
    sc: FloatArray,
    ws: FloatArray,
    pc: FloatArray,
    ref: FloatArray,
    krog: bool,
    forcing: bool,
    mu: FloatArray,
    a_in: FloatArray,
    ts: float,
    te: float,
    dmax: FloatArray,
    p: int,
    day: int,
    first: bool,
    best_first: float,
    best_first_t: float,
) -> tuple[float, float]:
    """Track the serum maximum over one accepted step [ts, te] of length ``h`` from ``y``
    (values ``c0``, ``c1`` and slopes ``d0``, ``d1`` of the tracked concentration at its ends)
    with :func:`_track`, at the refined peak (:func:`_refine_peak`) where the slope turns
    from + to - and ``refine``; returns the updated (best first-dose value, its time)."""
    peak_off = -1.0
    peak = -np.inf
    off = -1.0
    if refine and d0 > 0.0 and d1 < 0.0:
        off, _cm = _hermite_max(h, c0, c1, d0, d1)
    if off > 0.0:
        peak_off, peak = _refine_peak(
            y, k1, lam_c, th, rate, h, c0, d0, c1, d1, xs, lam, v, sc, ws, pc, ref, krog,
            forcing, mu, a_in, off,
        )  # fmt: skip
    return _track(
        ts, te, c0, d0, c1, d1, dmax, p, day, first, best_first, best_first_t, peak_off, peak
    )  # fmt: skip


# >>> solve_batch
@njit(cache=True, parallel=True, error_model="numpy")
def solve_batch(
    theta: FloatArray,
    y0: FloatArray,
    node_t: FloatArray,
    seg_nsub: IntArray,
    seg_day: IntArray,
    seg_first: npt.NDArray[np.bool_],
    inf_rate: FloatArray,
    ev_node: IntArray,
    ev_route: IntArray,
    ev_amount: FloatArray,
    out_node_idx: IntArray,
    n_out: int,
    n_days: int,
    adaptive: bool,
    rtol: float,
    seg_hmax: FloatArray,
    h_min: float,
    h_init: float,
    floor: FloatArray,
    krog: bool,
    forcing: bool,
    refine: bool,
    embedded: bool,
    restart: bool,
    seg_tol: FloatArray,
    safety: float,
    max_up: int,
) -> tuple[
    FloatArray,
    FloatArray,
    FloatArray,
    FloatArray,
    FloatArray,
    FloatArray,
    IntArray,
    IntArray,
    IntArray,
]:
    """Integrate every patient over the grid ``node_t`` (G+1 nodes, G segments).

    ``forcing``: exact dose input (:func:`_input_forcing`; Krogstad stages only);
    ``refine``: sub-step to each interior concentration maximum (:func:`_peak_in_step`);
    ``embedded`` (with ``adaptive``): one ETDRK4 step per step, error from the embedded
    lower-order solution (Krogstad's stage c), instead of step doubling.
    Returns (outputs (P, T, N_OUT), daily_max (P, D), node_auc (P, G+1), first_cmax (P,),
    first_tmax_day (P,), y_end (P, N_STATES), accepted steps (P,), rejected steps (P,),
    limiter (P, N_STATES): how often each state attained the error norm).
    Outputs at a node are recorded before the doses given at that node."""
    n_pat = theta.shape[0]
    n_seg = node_t.shape[0] - 1
    grow_thr = (0.5 * safety) ** 3  # one level up while err <= this (embedded estimate)
    n_ev = ev_node.shape[0]
    rec = np.zeros((n_pat, n_out, N_OUT))
    dmax = np.zeros((n_pat, n_days))
    node_auc = np.zeros((n_pat, n_seg + 1))
    fcmax = np.zeros(n_pat)
    ftmax = np.zeros(n_pat)
    y_end = np.zeros((n_pat, N_STATES))
    n_acc = np.zeros(n_pat, dtype=np.int64)
    n_rej = np.zeros(n_pat, dtype=np.int64)
    limiter = np.zeros((n_pat, N_STATES), dtype=np.int64)
    for p in prange(n_pat):
        th = theta[p].copy()  # own buffer: no refcount traffic on the shared theta
        y = y0[p].copy()
        xs = model_ext_scale(th)
        lam = np.empty(N_STATES)
        cache_h = np.full(_N_SLOTS, -1.0)
        cache_co = np.zeros((_N_SLOTS, _N_CO, N_STATES))
        pc = np.zeros((max(N_POW, 1), 5))
        model_pow_setup(th, pc)
        ref = np.zeros((max(N_POW, 1), 3))
        ref[:, 1] = np.inf  # no reference point yet: the first call uses pow
        od = np.zeros((_N_CO, N_STATES))
        v = np.zeros(N_STATES)
        ya = np.empty(N_STATES)
        yb = np.empty(N_STATES)
        yc = np.empty(N_STATES)
        ka = np.empty(N_STATES)
        kb = np.empty(N_STATES)
        kc = np.empty(N_STATES)
        ynew = np.empty(N_STATES)
        nu = np.empty(N_STATES)
        na = np.empty(N_STATES)
        nb = np.empty(N_STATES)
        ncv = np.empty(N_STATES)
        ybig = np.empty(N_STATES)
        ymid = np.empty(N_STATES)
        kmid = np.empty(N_STATES)
        lim = np.zeros(1, dtype=np.int64)
        mu = np.zeros(N_MU)
        a_in = np.zeros(max(N_IN, 1))
        model_input_terms(y, th, mu, a_in)  # mu: constants only
        cache_psi = np.zeros((_N_SLOTS, 2, max(N_IN, 1), N_STATES))
        cache_emu = np.ones((_N_SLOTS, 2, N_MU))
        fv = np.zeros((3, N_STATES))
        scr = np.zeros((2 * _N_CO + 5, N_STATES))
        ws = np.zeros((12, N_STATES))
        nxt = np.zeros(1, dtype=np.int64)
        model_const_diag(th, lam)
        k1 = np.empty(N_STATES)
        kn = np.empty(N_STATES)
        ep = 0
        best_first = -1.0
        best_first_t = 0.0
        h_carry = h_init
        acc = 0
        rej = 0
        for g in range(n_seg + 1):
            node_auc[p, g] = y[AUC_STATE]
            k = out_node_idx[g]
            if k >= 0:
                model_record(y, th, rec[p, k])
            if g == n_seg:
                break
            dosed = False
            while ep < n_ev and ev_node[ep] == g:
                model_dose(y, th, ev_route[ep], ev_amount[p, ep])
                ep += 1
                dosed = True
            t0 = node_t[g]
            t1 = node_t[g + 1]
            seg = t1 - t0
            day = seg_day[g]
            first = seg_first[g]
            rate = inf_rate[p, g]
            rt = rtol * seg_tol[g]
            h_max = seg_hmax[g]  # the adaptive controller's largest step in this segment
            if h_carry > h_max:
                h_carry = h_max
            if restart and (dosed or (g > 0 and rate != inf_rate[p, g - 1])):
                # restart the controller at a dose or an infusion switch: the step carried from
                # the dose-free time before it would make the result depend on that history
                # (a shifted regimen would take another step sequence after its first dose)
                h_carry = h_init
            conc = y[EXT_STATE] * xs
            if conc > dmax[p, day]:
                dmax[p, day] = conc
            if first and conc > best_first:
                best_first = conc
                best_first_t = t0
            lam_c = model_rhs(y, th, rate, k1, pc, ref)
            # >>> one-step controller
            if embedded or not adaptive:
                # one ETDRK4 step per step: the fixed grid (seg_nsub[g] equal steps), or the
                # embedded estimate: Krogstad's stage c, e^{hL} y + h phi1 N(y) + 2h phi2
                # (N(b) - N(y)) (+ the exact input), is a second-order solution at t + h; its
                # distance to the fourth-order ynew bounds the local error (local
                # extrapolation: ynew is kept).  Adaptive steps are dyadic, seg/2^lev.
                lev = 0
                if adaptive:
                    while seg / (1 << lev) > h_carry * (1.0 + 1e-12) and lev < 40:
                        lev += 1
                    nlev = 1 << lev
                else:
                    nlev = seg_nsub[g]
                pos = 0
                while pos < nlev:
                    h = seg / nlev
                    slot = _slot(h, cache_h, cache_co, lam, nxt, forcing, mu, cache_psi, cache_emu)
                    lam[STIFF] = lam_c
                    model_column(y, th, v)
                    _star_coefficients(lam, v, h, cache_co[slot], od)
                    _etd_step(
                        y, th, rate, h, k1, lam, v, cache_co[slot], od, ya, yb, yc, ka, kb, kc,
                        ynew, nu, na, nb, ncv, pc, ref, krog, forcing, mu, a_in,
                        cache_psi[slot], cache_emu[slot], fv,
                    )  # fmt: skip
                    err = 0.0
                    if adaptive:
                        for i in CONTROL:
                            sc = max(abs(y[i]), abs(ynew[i]), floor[i]) * rt
                            d = abs(ynew[i] - yc[i])
                            if d > err * sc:  # divide only for a new maximum
                                err = d / sc
                                lim[0] = i
                        limiter[p, lim[0]] += 1
                    if adaptive and err > 1.0 and h > h_min and lev < 40:
                        fac = max(_MIN_FACTOR, safety * err ** (-1.0 / 3.0))
                        drop = 1
                        while 2.0 ** (-drop) > fac and drop < 6:
                            drop += 1
                        lev += drop
                        pos <<= drop
                        nlev <<= drop
                        rej += 1
                        continue
                    lam_new = model_rhs(ynew, th, rate, kn, pc, ref)
                    ts = t0 + pos * h
                    te = t1 if pos + 1 == nlev else t0 + (pos + 1) * h
                    c0 = y[EXT_STATE] * xs
                    d0 = k1[EXT_STATE] * xs
                    c1 = ynew[EXT_STATE] * xs
                    d1 = kn[EXT_STATE] * xs
                    best_first, best_first_t = _peak_in_step(
                        refine, y, k1, lam_c, th, rate, h, c0, d0, c1, d1, xs, lam, v, scr, ws,
                        pc, ref, krog, forcing, mu, a_in, ts, te, dmax, p, day, first,
                        best_first, best_first_t,
                    )  # fmt: skip
                    for i in range(N_STATES):
                        y[i] = ynew[i]
                        k1[i] = kn[i]
                    lam_c = lam_new
                    pos += 1
                    acc += 1
                    # grow while safety err^(-1/3) / 2^up >= 2, i.e. err <= (safety/2^(up+1))^3
                    # (no pow per step)
                    thr = grow_thr
                    up = 0
                    while (
                        adaptive
                        and up < max_up
                        and err <= thr
                        and lev > 0
                        and pos % 2 == 0
                        and 2.0 * seg / nlev <= h_max * (1.0 + 1e-12)
                    ):
                        lev -= 1
                        pos >>= 1
                        nlev >>= 1
                        thr *= 0.125
                        up += 1
                if adaptive:
                    h_carry = min(seg / nlev, h_max)
                continue
            # <<< one-step controller
            # >>> step doubling
            # adaptive: step doubling.  A macro step of 2h from y is compared with two steps
            # of h (the solution kept); fine steps are dyadic fractions seg/2^lev (lev >= 1).
            lev = 1
            while seg / (1 << lev) > h_carry * (1.0 + 1e-12) and lev < 40:
                lev += 1
            nlev = 1 << lev
            pos = 0
            while pos < nlev:
                h = seg / nlev
                sl2 = _slot(2.0 * h, cache_h, cache_co, lam, nxt, forcing, mu, cache_psi, cache_emu)
                sl1 = _slot(h, cache_h, cache_co, lam, nxt, forcing, mu, cache_psi, cache_emu)
                if cache_h[sl2] != 2.0 * h:  # evicted by the second lookup
                    sl2 = _slot(
                        2.0 * h, cache_h, cache_co, lam, nxt, forcing, mu, cache_psi, cache_emu
                    )
                # three ETDRK4 steps through one call site (compile time): y -2h-> ybig,
                # y -h-> ymid -h-> ynew
                lam_mid = lam_c
                for sub in range(3):
                    src, kk, dst, hs, sl, lc = y, k1, ybig, 2.0 * h, sl2, lam_c
                    if sub == 1:
                        dst, hs, sl = ymid, h, sl1
                    elif sub == 2:
                        src, kk, dst, hs, sl, lc = ymid, kmid, ynew, h, sl1, lam_mid
                    lam[STIFF] = lc
                    model_column(src, th, v)
                    _star_coefficients(lam, v, hs, cache_co[sl], od)
                    _etd_step(
                        src, th, rate, hs, kk, lam, v, cache_co[sl], od, ya, yb, yc, ka, kb, kc,
                        dst, nu, na, nb, ncv, pc, ref, krog, forcing, mu, a_in, cache_psi[sl],
                        cache_emu[sl], fv,
                    )  # fmt: skip
                    if sub == 1:
                        lam_mid = model_rhs(ymid, th, rate, kmid, pc, ref)
                lam_new = model_rhs(ynew, th, rate, kn, pc, ref)
                # Richardson: error of the two-step solution ~ (y_2 - y_big) / (2^4 - 1)
                err = 0.0
                for i in CONTROL:
                    sc = max(abs(y[i]), abs(ynew[i]), floor[i]) * rt
                    r = abs(ynew[i] - ybig[i]) / (15.0 * sc)
                    if r > err:
                        err = r
                        lim[0] = i
                limiter[p, lim[0]] += 1
                if err > 1.0 and h > h_min and lev < 40:
                    fac = max(_MIN_FACTOR, _SAFETY * err**-0.2)
                    drop = 1
                    while 2.0 ** (-drop) > fac and drop < 6:
                        drop += 1
                    lev += drop
                    pos <<= drop
                    nlev <<= drop
                    rej += 2
                    continue
                ts = t0 + pos * h
                tm = t0 + (pos + 1) * h
                te = t1 if pos + 2 == nlev else t0 + (pos + 2) * h
                c0 = y[EXT_STATE] * xs
                d0 = k1[EXT_STATE] * xs
                cmid = ymid[EXT_STATE] * xs
                dmid = kmid[EXT_STATE] * xs
                c1 = ynew[EXT_STATE] * xs
                d1 = kn[EXT_STATE] * xs
                best_first, best_first_t = _peak_in_step(
                    refine, y, k1, lam_c, th, rate, h, c0, d0, cmid, dmid, xs, lam, v, scr, ws,
                    pc, ref, krog, forcing, mu, a_in, ts, tm, dmax, p, day, first, best_first,
                    best_first_t,
                )  # fmt: skip
                best_first, best_first_t = _peak_in_step(
                    refine, ymid, kmid, lam_mid, th, rate, h, cmid, dmid, c1, d1, xs, lam, v,
                    scr, ws, pc, ref, krog, forcing, mu, a_in, tm, te, dmax, p, day, first,
                    best_first, best_first_t,
                )  # fmt: skip
                for i in range(N_STATES):
                    y[i] = ynew[i]
                    k1[i] = kn[i]
                lam_c = lam_new
                pos += 2
                acc += 2
                fac = _SAFETY * err**-0.2 if err > 0.0 else 1e9
                up = 0
                while (
                    up < _MAX_LEVELS_UP
                    and fac >= 2.0
                    and lev > 1
                    and pos % 4 == 0
                    and 4.0 * seg / nlev <= h_max * (1.0 + 1e-12)
                ):
                    lev -= 1
                    pos >>= 1
                    nlev >>= 1
                    fac *= 0.5
                    up += 1
            h_carry = min(2.0 * seg / nlev, h_max)
            # <<< step doubling
        fcmax[p] = best_first
        ftmax[p] = best_first_t
        n_acc[p] = acc
        n_rej[p] = rej
        for i in range(N_STATES):
            y_end[p, i] = y[i]
    return rec, dmax, node_auc, fcmax, ftmax, y_end, n_acc, n_rej, limiter
# <<< solve_batch


@njit(cache=True, error_model="numpy")
def ref_rhs(y: FloatArray, th: FloatArray, rate: float) -> FloatArray:
    """dy/dt with exact powers, as a new array (reference solver)."""
    out = np.empty(N_STATES)
    model_rhs_exact(y, th, rate, out)
    return out


@njit(cache=True, error_model="numpy")
def ref_jac(y: FloatArray, th: FloatArray, rate: float) -> FloatArray:
    """The analytic Jacobian, as a new (N, N) array (reference solver)."""
    jac = np.empty((N_STATES, N_STATES))
    model_jac(y, th, rate, jac)
    return jac


@njit(cache=True, error_model="numpy")
def apply_dose(y: FloatArray, th: FloatArray, route: int, amount: float) -> None:
    """Apply one bolus dose (reference solver)."""
    model_dose(y, th, route, amount)


@njit(cache=True, error_model="numpy")
def record(y: FloatArray, th: FloatArray, o: FloatArray) -> None:
    """The named outputs at ``y`` (reference solver)."""
    model_record(y, th, o)


@njit(cache=True, error_model="numpy")
def fast_rhs(y: FloatArray, th: FloatArray, rate: float) -> tuple[FloatArray, float]:
    """The fast right-hand side (cached powers, fresh cache) and d f_s / d y_s (tests)."""
    out = np.empty(N_STATES)
    pc = np.zeros((max(N_POW, 1), 5))
    model_pow_setup(th, pc)
    ref = np.zeros((max(N_POW, 1), 3))
    ref[:, 1] = np.inf
    lam = model_rhs(y, th, rate, out, pc, ref)
    return out, lam
