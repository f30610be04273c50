"""A toy model built through the same machinery as the IL-2 model (docs/model.md, "Adding a
state"): declaration + parameter table only, then the fast kernel (fixed and adaptive), the
reference solver and the SBML export (libroadrunner) are checked against closed forms.

Toy: one-compartment PK with first-order absorption (depot -> central, elimination k = CL/V)
and a linear-turnover response ``dR/dt = kin - kout R + s C`` (R0 = kin/kout).  After a dose D
into the depot (bioavailability F) at t = 0, with a = F D ka / (V (ka - k)):
``C(t) = a (e^{-k t} - e^{-ka t})`` and
``R(t) = R0 + s a [(e^{-k t} - e^{-kout t})/(kout - k) - (e^{-ka t} - e^{-kout t})/(kout - ka)]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from il2sim.errors import InputError, ModelError
from il2sim.model.declaration import (
    Constant,
    Deposit,
    Derived,
    DoseTarget,
    Extremum,
    Model,
    Output,
    Param,
    State,
)
from il2sim.model.parameters import Parameters, load_parameters, read_table
from il2sim.population import Population
from il2sim.regimen.events import DoseEvent, Regimen, Route
from il2sim.simulate import simulate
from il2sim.simulate.options import ADAPTIVE, FAST, REFERENCE, SolverOptions

TABLE = Path(__file__).parent / "data" / "toy_parameters.toml"


def _p(name: str):  # type: ignore[no-untyped-def]
    return lambda e: e.p(name)


TOY = Model(
    name="toy_pk_turnover",
    title="toy: one-compartment PK + linear turnover",
    params=(
        Param("toy_ka_per_day", "1/day"),
        Param("toy_f", "fraction"),
        Param("toy_v_ml", "ml"),
        Param("toy_cl_ml_per_day", "ml/day"),
        Param("toy_kin_per_ul_per_day", "cells/ul/day"),
        Param("toy_kout_per_day", "1/day"),
        Param("toy_slope_per_ul_per_day_per_iu_ml", "cells/ul/day per IU/ml"),
    ),
    constants=(
        Constant("ka", "1/day", "absorption", _p("toy_ka_per_day"), "per_day"),
        Constant("f", "fraction", "bioavailability", _p("toy_f")),
        Constant("v", "ml", "volume", _p("toy_v_ml"), "ml"),
        Constant("k", "1/day", "elimination", lambda e: e.p("toy_cl_ml_per_day") / e.c("v"), "per_day"),
        Constant("kin", "cells/ul/day", "production", _p("toy_kin_per_ul_per_day"), "cells_per_ul_per_day"),
        Constant("kout", "1/day", "loss", _p("toy_kout_per_day"), "per_day"),
        Constant("s", "cells/ul/day per IU/ml", "drug effect", _p("toy_slope_per_ul_per_day_per_iu_ml")),
    ),
    states=(
        State("depot", "IU", "depot", "-ka * depot", 0.0, "iu", pool=True, scale_floor=1.0),
        State("central", "IU", "central", "ka * depot + rate_in - elim_rate", 0.0, "iu",
              pool=True, scale_floor=1.0),
        State("eliminated", "IU", "cumulative elimination", "elim_rate", 0.0, "iu", sink=True,
              control=False),
        State("not_abs", "IU", "not absorbed", "0", 0.0, "iu", pool=True, control=False),
        State("auc", "IU/ml*day", "AUC", "conc", 0.0, "iu_day_per_ml", scale_floor=1e-6),
        State("resp", "cells/ul", "response", "kin - kout * resp + s * conc",
              lambda e: e.c("kin") / e.c("kout"), "cells_per_ul", scale_floor=1e-3),
    ),
    derived=(
        Derived("conc", "IU/ml", "concentration", "pos(central) / v", "iu_per_ml"),
        Derived("elim_rate", "IU/day", "elimination", "k * pos(central)", "iu_per_day"),
    ),
    doses=(
        DoseTarget(Route.SC, (Deposit("depot", "f"), Deposit("not_abs", "1 - f"))),
        DoseTarget(Route.IV_BOLUS, (Deposit("central"),)),
        DoseTarget(Route.IV_INFUSION, infusion=True),
    ),
    outputs=(
        Output("conc_iu_per_ml", "IU/ml", "concentration", "central / v"),
        Output("resp_per_ul", "cells/ul", "response", "resp"),
    ),
    stiff="central",
    extremum=Extremum("central", "1 / v", "auc"),
    infusion_input="rate_in",
)


def _params() -> Parameters:
    base = load_parameters()
    return Parameters({**base.specs, **read_table(TABLE)})


def _closed_form(t: np.ndarray, dose: float, p: Parameters) -> tuple[np.ndarray, np.ndarray]:
    ka, f, v = p.value("toy_ka_per_day"), p.value("toy_f"), p.value("toy_v_ml")
    k = p.value("toy_cl_ml_per_day") / v
    kin, kout = p.value("toy_kin_per_ul_per_day"), p.value("toy_kout_per_day")
    s = p.value("toy_slope_per_ul_per_day_per_iu_ml")
    a = f * dose * ka / (v * (ka - k))
    c = a * (np.exp(-k * t) - np.exp(-ka * t))
    r = kin / kout + s * a * (
        (np.exp(-k * t) - np.exp(-kout * t)) / (kout - k)
        - (np.exp(-ka * t) - np.exp(-kout * t)) / (kout - ka)
    )
    return c, r


REG = Regimen((DoseEvent(0.0, 2.0, "MIU", False, Route.SC),))
T = np.linspace(0.0, 10.0, 41)


@pytest.mark.parametrize(
    ("solver", "rtol"),
    [
        ("fixed", 1e-5),
        (ADAPTIVE.with_(rtol=1e-9), 1e-7),
        (REFERENCE, 1e-8),
        # the depot input is integrated exactly (the toy is linear): exact to rounding with
        # 3-hour steps, and with the default controller
        (
            SolverOptions(
                method="etd4-fixed", scheme="krogstad", exact_input=True, refine_peaks=True,
                grid_dt_day=0.125, grid_coarse_factor=1.0,
            ),
            1e-10,
        ),
        (FAST, 1e-10),
    ],
    ids=["fixed", "adaptive", "reference", "exact-input-3h-steps", "fast"],
)
def test_toy_model_matches_closed_form(solver: object, rtol: float) -> None:
    p = _params()
    pop = Population.sample(2, 1, p)
    res = simulate(REG, pop, p, horizon_day=10.0, output_times_day=T, solver=solver, model=TOY)  # type: ignore[arg-type]
    c, r = _closed_form(T, 2e6, p)
    assert set(res.outputs) == {"conc_iu_per_ml", "resp_per_ul"}
    np.testing.assert_allclose(res.output("conc_iu_per_ml")[0], c, rtol=rtol, atol=rtol * c.max())
    np.testing.assert_allclose(res.output("resp_per_ul")[0], r, rtol=rtol)
    # Cmax of the closed form: t* = ln(ka/k)/(ka - k)
    ka, k = p.value("toy_ka_per_day"), p.value("toy_cl_ml_per_day") / p.value("toy_v_ml")
    tmax = np.log(ka / k) / (ka - k)
    cmax = _closed_form(np.array([tmax]), 2e6, p)[0][0]
    assert res.il2_cmax_first_dose_pm[0] == pytest.approx(cmax, rel=max(rtol, 1e-6))
    # mass balance: pool + sink = dose
    assert res.pk_amounts_end_iu[0].sum() == pytest.approx(2e6, rel=1e-9)
    assert res.state_names == ("depot", "central", "eliminated", "not_abs", "auc", "resp")
    frame = res.to_long_frame()
    assert set(frame["variable"].astype(str)) == {"conc_iu_per_ml", "resp_per_ul"}


def test_toy_model_sbml_in_libroadrunner_matches_closed_form() -> None:
    roadrunner = pytest.importorskip("roadrunner")
    from il2sim.io.sbml import export_sbml

    p = _params()
    ex = export_sbml(REG, patient=None, seed=1, parameters=p, model=TOY)
    rr = roadrunner.RoadRunner(ex.sbml)
    rr.integrator.relative_tolerance = 1e-11
    rr.integrator.absolute_tolerance = 1e-12
    rr.timeCourseSelections = ["time", "conc", "resp"]
    out = rr.simulate(times=T)
    c, r = _closed_form(T, 2e6, p)
    np.testing.assert_allclose(out[:, 1], c, rtol=1e-7, atol=1e-9 * c.max())
    np.testing.assert_allclose(out[:, 2], r, rtol=1e-7)


def test_toy_model_rejects_a_route_it_does_not_declare() -> None:
    p = _params()
    pop = Population.sample(1, 1, p)
    with pytest.raises(InputError, match="im"):
        simulate(Regimen((DoseEvent(0.0, 1.0, route=Route.IM),)), pop, p, model=TOY)


def test_declaration_errors_name_the_field() -> None:
    with pytest.raises(ModelError, match="stiff"):
        Model(**{**TOY.__dict__, "stiff": "nope"})
    with pytest.raises(ModelError, match="toy_ka_per_day"):
        TOY.check_parameters(load_parameters())  # the toy rows are not in the IL-2 table
