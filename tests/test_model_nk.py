"""NK dynamics: untreated steady state and the treated steady state against a closed form."""

from __future__ import annotations

import numpy as np
import pytest

from il2sim import units
from il2sim.model import nk
from il2sim.model.il2nk import IL2NK
from il2sim.model.parameters import load_parameters
from il2sim.population import Population
from il2sim.regimen.events import DoseEvent, Regimen, Route
from il2sim.simulate import simulate


def test_baseline_rates_make_baseline_a_steady_state() -> None:
    kmat, i0 = nk.baseline_rates(10.0, 90.0, 0.069, 0.01)
    # Zhang 2007 loss 6.9%/day on 90 dim cells/ul must equal maturation of 10 bright cells/ul
    assert kmat * 10.0 == pytest.approx(0.069 * 90.0)
    assert i0 == pytest.approx((kmat + 0.01) * 10.0)
    b, d = nk.steady_state_counts(0.0, 0.0, i0, kmat, 0.01, 0.069, 100.0, 400.0, 1.4, 0.9, 1.0)
    assert b == pytest.approx(10.0, rel=1e-9)
    assert d == pytest.approx(90.0, rel=1e-9)


def test_constant_infusion_reaches_the_closed_form_steady_state() -> None:
    p = load_parameters().without_variability()
    pop = Population.sample(2, 4, p)
    days = 400.0
    reg = Regimen((DoseEvent(0.0, 0.3 * days, route=Route.IV_INFUSION, duration_day=days),))
    res = simulate(reg, pop, parameters=p, horizon_day=days, solver="adaptive")
    th = IL2NK.build_theta(pop, p)
    T_I0, T_KD_HIGH, T_KD_INT, T_KMAT = (
        IL2NK.constant_index(n)
        for n in ("i0_per_ul_per_day", "kd_high_iu_per_ml", "kd_int_iu_per_ml", "kmat_per_day")
    )
    for i in range(pop.n):
        c = units.pm_to_iu_per_ml(res.il2_pm[i, -2])
        occ_h = c / (th[i, T_KD_HIGH] + c)
        occ_i = c / (th[i, T_KD_INT] + c)
        b, d = nk.steady_state_counts(
            occ_h,
            occ_i,
            th[i, T_I0],
            th[i, T_KMAT],
            p.value("bright_death_per_day"),
            p.value("nk_loss_per_day"),
            pop.nk0_per_ul[i],
            p.value("emax_production"),
            p.value("hill_production"),
            p.value("homeostasis_gamma"),
            p.value("emax_survival"),
        )
        assert res.bright_per_ul[i, -2] == pytest.approx(b, rel=1e-4)
        assert res.dim_per_ul[i, -2] == pytest.approx(d, rel=1e-4)
        assert b > 2 * pop.bright0_per_ul[i]
    assert np.all(np.diff(res.il2_pm[:, -40:-2], axis=1) < 1e-6 * res.il2_pm[:, -40:-2].max())
