"""Building blocks of the generated fast kernel: cached powers, the generated right-hand side
and linear part, step-size cache, and the on-disk cache keyed by the declaration."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from il2sim.model.il2nk import IL2NK
from il2sim.model.parameters import load_parameters
from il2sim.population import Population
from il2sim.regimen.events import DoseEvent, Regimen, Route
from il2sim.simulate import simulate
from il2sim.simulate.codegen import describe, kernel_hash, load_kernel

K = load_kernel(IL2NK)
IDX = IL2NK.state_index


def _series_coefficients(g: float) -> np.ndarray:
    return np.array([[(g - k) / (k + 1) for k in range(5)]])


@pytest.mark.parametrize("g", [0.01, 0.8718, 1.3819, 4.0, 8.0])
def test_cached_power_matches_pow(g: float) -> None:
    pc = _series_coefficients(g)
    ref = np.array([[0.0, np.inf, 0.0]])
    x0 = 0.37
    assert K._power(x0, g, pc, ref, 0) == x0**g  # first call: pow, sets the reference point
    assert ref[0, 0] == x0
    for d in np.linspace(-K._POW_SERIES_D, K._POW_SERIES_D, 41):
        x = x0 * (1.0 + d)
        got = K._power(x, g, pc, ref, 0)
        assert ref[0, 0] == x0  # served by the series
        assert got == pytest.approx(x**g, rel=5e-11)
    x = x0 * (1.0 + 3.0 * K._POW_SERIES_D)
    assert K._power(x, g, pc, ref, 0) == x**g
    assert ref[0, 0] == x
    assert K._power(0.0, g, pc, ref, 0) == 0.0


def test_fast_rhs_matches_exact_rhs_and_jacobian_matches_differences() -> None:
    p = load_parameters()
    pop = Population.sample(4, 3)
    theta = IL2NK.build_theta(pop, p)
    y0 = IL2NK.initial_state(pop, theta, p)
    rng = np.random.default_rng(0)
    for i in range(pop.n):
        th = theta[i]
        y = y0[i].copy()
        y[IDX("central_iu")] = 1e4
        y[IDX("signal")] = 0.2
        y[IDX("periph_iu")] = 3e3
        for _ in range(20):
            y = y * (1.0 + 0.01 * rng.standard_normal(y.size))
            exact = K.ref_rhs(y, th, 5e4)
            fast, lam = K.fast_rhs(y, th, 5e4)
            scale = np.maximum(np.abs(exact), th[IL2NK.constant_index("kdd_per_day")] * y[-1])
            assert np.all(np.abs(fast - exact) <= 1e-11 * scale)
            jac = K.ref_jac(y, th, 5e4)
            assert lam == pytest.approx(jac[IDX("central_iu"), IDX("central_iu")], rel=1e-12)
            # central differences of the exact rhs
            for j in (IDX("central_iu"), IDX("signal"), IDX("dim_per_ul")):
                dy = 1e-6 * max(abs(y[j]), 1e-3)
                yp, ym = y.copy(), y.copy()
                yp[j] += dy
                ym[j] -= dy
                fd = (K.ref_rhs(yp, th, 5e4) - K.ref_rhs(ym, th, 5e4)) / (2 * dy)
                np.testing.assert_allclose(jac[:, j], fd, rtol=1e-5, atol=1e-9 * np.abs(fd).max())


def test_linear_part_found_by_the_generator() -> None:
    """The exponential integrator's linear part derived from the declaration: constant
    diagonal rows (depots, peripheral, cumulative states, signal, marrow, CD56bright) and
    the rows fed by the stiff central amount (peripheral, eliminations, AUC, signal) --
    exactly the hand-written choice of v0.1; CD56dim (state-dependent loss) stays explicit."""
    st = describe(IL2NK)
    names = IL2NK.state_names
    assert [names[i] for i in st["coupled"]] == [
        "periph_iu", "elim_renal_iu", "elim_rec_iu", "auc_iu_d_per_ml", "signal",
    ]  # fmt: skip
    assert "dim_per_ul" not in [names[i] for i in st["const_diag"]]
    assert {"depot1_iu", "bright_per_ul", "prog3_per_ul"} <= {names[i] for i in st["const_diag"]}


def test_kernel_hash_follows_the_declaration() -> None:
    """Editing a rate gives another generated module (no stale numba cache can be used)."""
    states = list(IL2NK.states)
    i = IDX("periph_iu")
    states[i] = replace(states[i], rate=states[i].rate + " - 0 * periph_iu")
    edited = replace(IL2NK, states=tuple(states))
    assert kernel_hash(edited) != kernel_hash(IL2NK)
    assert kernel_hash(replace(IL2NK)) == kernel_hash(IL2NK)


def test_many_distinct_step_sizes_match_reference() -> None:
    # irregular dose and output times: more distinct step sizes than coefficient cache slots
    reg = Regimen(
        (
            DoseEvent(0.0, 1.25),
            DoseEvent(0.37, 1.25),
            DoseEvent(1.13, 2.0),
            DoseEvent(1.71, 0.5, route=Route.IV_BOLUS),
        )
    )
    pop = Population.sample(1, 7)
    out_t = np.array([0.0, 0.05, 0.31, 0.9, 1.3, 1.45, 2.2, 2.61, 3.0])
    ref = simulate(reg, pop, horizon_day=3.0, output_times_day=out_t, solver="reference")
    for solver in ("fixed", "adaptive", "fast"):
        fast = simulate(reg, pop, horizon_day=3.0, output_times_day=out_t, solver=solver)
        np.testing.assert_allclose(fast.il2_peak_pm, ref.il2_peak_pm, rtol=1e-4)
        # 1.2 h after an s.c. dose the fixed grid's error is ~5e-4 at the default step; the
        # issue's 1e-4 applies to peaks and NK
        tol = 1e-3 if solver == "fixed" else 1e-4
        np.testing.assert_allclose(fast.il2_pm, ref.il2_pm, rtol=tol, atol=1e-4 * ref.il2_pm.max())
        np.testing.assert_allclose(fast.nk_per_ul, ref.nk_per_ul, rtol=1e-5)


def test_one_step_controller_per_kernel() -> None:
    """The template's ``solve_batch`` is generated as two kernels, each with one controller:
    ``solve_batch`` (fixed steps, embedded estimate) and ``solve_batch_doubling`` (step
    doubling), so each compiles with one inlined ETDRK4 call site; the marker comments are
    gone from the generated text."""
    from il2sim.simulate.codegen import generate_source

    text = generate_source(IL2NK)
    one = text.split("def solve_batch(", 1)[1].split("\ndef ", 1)[0]
    two = text.split("def solve_batch_doubling(", 1)[1].split("\ndef ", 1)[0]
    assert "Richardson" not in one and "Richardson" in two
    assert "if embedded or not adaptive:" in one and "if embedded or not adaptive:" not in two
    assert one.count("_etd_step(") == two.count("_etd_step(") == 1
    assert "# >>>" not in text and "# <<<" not in text
    assert callable(K.solve_batch) and callable(K.solve_batch_doubling)


def test_fixed_embedded_and_doubling_kernels_agree() -> None:
    """Fixed, embedded and doubling solvers still agree with each other to their tolerance
    (same model, two kernels): IL-2 peak within 1e-3 relative on 3 patients."""
    params = load_parameters()
    pop = Population.sample(3, 5, params)
    reg = Regimen((DoseEvent(0.0, 1.25, "MIU", True, Route.SC),))
    peaks = [
        simulate(reg, pop, params, horizon_day=3.0, solver=s).summary()["il2_peak_pm"]["median"]
        for s in ("fast", "fixed", "adaptive")
    ]
    assert peaks[1] == pytest.approx(peaks[0], rel=1e-3)
    assert peaks[2] == pytest.approx(peaks[0], rel=1e-3)
