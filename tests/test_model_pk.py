"""PK: closed forms, Konrad 1990 half-lives, mass balance, receptor saturation."""

from __future__ import annotations

import numpy as np
import pytest

from il2sim import units
from il2sim.model import pk, receptors
from il2sim.model.parameters import load_parameters
from il2sim.population import Population
from il2sim.regimen.events import DoseEvent, Regimen, Route
from il2sim.simulate import simulate
from il2sim.simulate.options import ADAPTIVE, FAST, FIXED, SolverOptions


def _linear_one_compartment():  # type: ignore[no-untyped-def]
    """No receptors, no peripheral compartment, no variability."""
    return (
        load_parameters()
        .without_variability()
        .with_params(receptor_pool_scale=0.0, nk_body_per_blood=0.0, q_ml_per_min=0.0)
    )


def test_two_compartment_half_lives_reproduce_konrad() -> None:
    p = load_parameters()
    vc, vp = pk.volumes_ml(p.value("vc_l_per_m2"), p.value("vp_l_per_m2"), 1.8)
    k10, k12, k21 = pk.micro_constants_per_day(
        p.value("cl_renal_ml_per_min"), p.value("q_ml_per_min"), vc, vp
    )
    a, b = pk.two_compartment_half_lives_min(float(k10), float(k12), float(k21))
    # Konrad 1990: i.v. half-lives 12.9 and 85 min
    assert a == pytest.approx(12.9, rel=2e-3)
    assert b == pytest.approx(85.0, rel=2e-3)


@pytest.mark.parametrize(
    ("solver", "rtol"),
    [
        (FIXED, 2e-5),
        (FIXED.with_(grid_dt_day=1.0 / 256), 1e-7),
        (ADAPTIVE, 2e-5),
        (ADAPTIVE.with_(rtol=1e-9), 1e-7),
        # the default: the depot input into central is integrated exactly within each step
        # and this reduced case is linear; what is left (measured 2.4e-7) is the second
        # depot's own ETDRK4 error (its input from the first depot is in N)
        (FAST, 1e-6),
    ],
    ids=["fixed-default", "fixed-fine", "adaptive-default", "adaptive-tight", "fast-exact-input"],
)
def test_fast_solver_matches_closed_form_for_reduced_linear_case(
    solver: SolverOptions, rtol: float
) -> None:
    p = _linear_one_compartment()
    pop = Population.sample(3, 5, p)
    reg = Regimen((DoseEvent(0.0, 1.0),))
    t = np.linspace(0.0, 2.0, 97)
    res = simulate(reg, pop, parameters=p, horizon_day=2.0, output_times_day=t, solver=solver)
    for i in range(pop.n):
        vc = p.value("vc_l_per_m2") * pop.bsa_m2[i] * 1000.0
        k = units.per_minute_to_per_day(p.value("cl_renal_ml_per_min")) / vc
        dose = 1.0e6 * pop.bsa_m2[i]
        expect = pk.one_compartment_two_depot_conc(
            t, dose, p.value("f_sc"), p.value("ka_per_day"), k, vc
        )
        got = units.pm_to_iu_per_ml(res.il2_pm[i])
        np.testing.assert_allclose(got, expect, rtol=rtol, atol=1e-9 * expect.max())
        # exact peak of the closed form, on a fine grid
        tf = np.linspace(0.0, 1.0, 200001)
        cmax = pk.one_compartment_two_depot_conc(
            tf, dose, p.value("f_sc"), p.value("ka_per_day"), k, vc
        ).max()
        assert units.pm_to_iu_per_ml(res.il2_cmax_first_dose_pm[i]) == pytest.approx(cmax, rel=rtol)
        # AUC over 24 h: integral of the closed form
        assert res.il2_auc_first_24h_iu_h_per_ml[i] == pytest.approx(
            np.trapezoid(
                pk.one_compartment_two_depot_conc(
                    tf, dose, p.value("f_sc"), p.value("ka_per_day"), k, vc
                ),
                tf,
            )
            * 24.0,
            rel=max(rtol, 1e-8),
        )


def test_iv_bolus_first_level_is_dose_over_central_volume() -> None:
    # Konrad 1990: 650 U/ml right after 1e6 U/m2 i.v.
    p = load_parameters().without_variability()
    pop = Population.sample(4, 1, p)
    res = simulate(
        Regimen((DoseEvent(0.0, 1.0, route=Route.IV_BOLUS),)), pop, parameters=p, horizon_day=1.0
    )
    np.testing.assert_allclose(
        units.pm_to_iu_per_ml(res.il2_cmax_first_dose_pm), 1e6 / 1538.0, rtol=1e-9 + 1e-3
    )
    assert np.all(res.il2_tmax_first_dose_h == 0.0)


@pytest.mark.parametrize(
    "events",
    [
        tuple(DoseEvent(float(d), 1.25) for d in range(30)),
        (DoseEvent(0.0, 1.0, route=Route.IV_BOLUS),),
        (DoseEvent(0.0, 1.0, route=Route.IV_INFUSION, duration_day=0.25),),
        tuple(DoseEvent(float(d), 20.0, route=Route.IV_BOLUS) for d in (0, 7, 14)),
        tuple(DoseEvent(float(d), 0.5, route=Route.IM) for d in range(5)),
        (
            DoseEvent(0.0, 2.0, per_m2=False),
            DoseEvent(0.5, 3.0, route=Route.IV_INFUSION, duration_day=3.0),
        ),
    ],
)
def test_mass_balance(events: tuple[DoseEvent, ...]) -> None:
    pop = Population.sample(5, 11)
    res = simulate(Regimen(events), pop, horizon_day=35.0)
    rel = np.abs(res.mass_balance_error_iu()) / res.dosed_iu
    assert np.all(rel < 1e-6)
    assert np.all(res.pk_amounts_end_iu >= -1e-6 * res.dosed_iu[:, None])


def test_receptor_clearance_is_saturable_and_makes_exposure_more_than_dose_proportional() -> None:
    p = load_parameters().without_variability()
    pop = Population.sample(1, 0, p)
    auc = []
    for dose in (0.1, 1.0, 10.0):
        r = simulate(Regimen((DoseEvent(0.0, dose),)), pop, parameters=p, horizon_day=1.0)
        auc.append(r.il2_auc_first_24h_iu_h_per_ml[0] / dose)
    # dose-normalised exposure rises with dose (receptors saturate)
    assert auc[0] < auc[1] < auc[2]
    # occupancy closed form
    assert receptors.occupancy(25.0, 25.0) == 0.5
    np.testing.assert_allclose(receptors.occupancy_np([0.0, 75.0], 25.0), [0.0, 0.75])


def test_iu_mol_conversion_follows_the_seed_convention() -> None:
    # seed: 10 pM = 2.3 IU/ml, so 1 IU (in 1 ml) = 10/2.3 pM * 1 ml = 4.348e-15 mol
    assert units.iu_to_mol(1.0) == pytest.approx(10.0 / 2.3 * 1e-15, rel=1e-12)
    assert units.mol_to_iu(units.iu_to_mol(123.0)) == pytest.approx(123.0, rel=1e-12)
    # 1200 sites on 1e9 cells, in IU
    sites = receptors.sites_to_iu_per_cell_ul(1200.0, 1.0, 1.0)  # 1 ml blood = 1000 cells/ul
    assert float(sites) == pytest.approx(1200.0 * 1000.0 / 6.02214076e23 / 4.3478e-15, rel=1e-4)
