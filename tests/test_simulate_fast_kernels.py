"""Building blocks of the fast solver: cached powers, the rhs variant, step-size cache."""

from __future__ import annotations

import numpy as np
import pytest

from il2sim.model.parameters import load_parameters
from il2sim.model.system import (
    N_STATES,
    S_BRIGHT,
    S_CENTRAL,
    S_DIM,
    S_SIGNAL,
    T_GAMMA,
    T_HILL,
    T_KDD,
    T_N0,
    T_VC_ML,
    build_theta,
    initial_state,
    nk_total,
    rhs,
    rhs_given_powers,
)
from il2sim.population import Population
from il2sim.regimen.events import DoseEvent, Regimen, Route
from il2sim.simulate import simulate
from il2sim.simulate.fast import _N_SLOTS, _POW_SERIES_D, _power, _rhs


def _series_coefficients(g: float) -> np.ndarray:
    return np.array([(g - k) / (k + 1) for k in range(5)])


@pytest.mark.parametrize("g", [0.01, 0.8718, 1.3819, 4.0, 8.0])
def test_cached_power_matches_pow(g: float) -> None:
    pc = _series_coefficients(g)
    ref = np.array([0.0, np.inf, 0.0])
    x0 = 0.37
    assert _power(x0, g, pc, ref, 0) == x0**g  # first call: pow, sets the reference point
    assert ref[0] == x0
    for d in np.linspace(-_POW_SERIES_D, _POW_SERIES_D, 41):
        x = x0 * (1.0 + d)
        got = _power(x, g, pc, ref, 0)
        assert ref[0] == x0  # served by the series
        assert got == pytest.approx(x**g, rel=5e-11)
    # outside the window: pow, and the reference point moves
    x = x0 * (1.0 + 3.0 * _POW_SERIES_D)
    assert _power(x, g, pc, ref, 0) == x**g
    assert ref[0] == x
    assert _power(0.0, g, pc, ref, 0) == 0.0


def test_fast_rhs_matches_model_rhs() -> None:
    pop = Population.sample(4, 3)
    theta = build_theta(pop, load_parameters())
    y0 = initial_state(pop, theta)
    rng = np.random.default_rng(0)
    for p in range(pop.n):
        th = theta[p]
        pc = np.empty((2, 6))
        pc[0, :5] = _series_coefficients(th[T_HILL])
        pc[1, :5] = _series_coefficients(th[T_GAMMA])
        pc[0, 5] = 1.0 / th[T_VC_ML]
        pc[1, 5] = 1.0 / th[T_N0]
        ref = np.array([0.0, np.inf, 0.0, 0.0, np.inf, 0.0])
        y = y0[p].copy()
        y[S_CENTRAL] = 1e4
        y[S_SIGNAL] = 0.2
        for _ in range(200):  # a random walk: both the series and the pow branch are used
            y[S_SIGNAL] *= 1.0 + 0.004 * rng.standard_normal()
            y[S_BRIGHT] *= 1.0 + 0.002 * rng.standard_normal()
            y[S_DIM] *= 1.0 + 0.002 * rng.standard_normal()
            y[S_CENTRAL] *= 1.0 + 0.2 * rng.standard_normal()
            exact = np.empty(N_STATES)
            fast = np.empty(N_STATES)
            same = np.empty(N_STATES)
            lam = rhs(y, th, 0.0, exact)
            assert _rhs(y, th, 0.0, fast, pc, ref) == pytest.approx(lam, rel=1e-13)
            # CD56dim: a difference of production and loss, compare on the loss scale
            scale = np.abs(exact)
            scale[S_DIM] = max(scale[S_DIM], th[T_KDD] * y[S_DIM])
            assert np.all(np.abs(fast - exact) <= 1e-11 * scale)
            pw_sig = y[S_SIGNAL] ** th[T_HILL]
            pw_total = (nk_total(y) / th[T_N0]) ** th[T_GAMMA]
            assert rhs_given_powers(y, th, 0.0, same, pw_sig, pw_total, 1.0 / th[T_VC_ML]) == lam
            np.testing.assert_array_equal(same, exact)


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
    fast = simulate(reg, pop, horizon_day=3.0, output_times_day=out_t)
    ref = simulate(reg, pop, horizon_day=3.0, output_times_day=out_t, solver="reference")
    seg = np.diff(np.unique(np.concatenate([out_t, [0.37, 1.13, 1.71]])))
    assert np.unique(np.round(seg, 12)).size > _N_SLOTS
    np.testing.assert_allclose(fast.il2_peak_pm, ref.il2_peak_pm, rtol=1e-4)
    # 1.2 h after an s.c. dose the scheme's error is ~5e-4 at the default step (as before the
    # coefficient cache); the 1e-4 applies to peaks and NK
    np.testing.assert_allclose(fast.il2_pm, ref.il2_pm, rtol=1e-3, atol=1e-4 * ref.il2_pm.max())
    np.testing.assert_allclose(fast.nk_per_ul, ref.nk_per_ul, rtol=1e-5)
