"""simulate(): robustness far from the seed, result API, CLI contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from il2sim.errors import InputError
from il2sim.population import Population
from il2sim.regimen.events import DoseEvent, Regimen, Route
from il2sim.simulate import SimulationResult, simulate

POP = Population.sample(20, 123)


def _ok(res: SimulationResult) -> None:
    for name in (
        "il2_pm",
        "nk_per_ul",
        "bright_per_ul",
        "dim_per_ul",
        "il2_daily_max_pm",
        "il2_daily_mean_pm",
        "occ_high",
        "occ_int",
    ):
        arr = getattr(res, name)
        assert np.all(np.isfinite(arr)), name
        assert np.all(arr >= -1e-9 * max(1.0, float(np.abs(arr).max()))), name
    assert np.all(res.nk_per_ul > 0) and np.all(res.bright_per_ul > 0)


@pytest.mark.parametrize(
    ("events", "horizon"),
    [
        ((DoseEvent(0.0, 18.0, route=Route.IV_INFUSION, duration_day=5.0),), 10.0),
        (tuple(DoseEvent(float(d), 20.0, route=Route.IV_BOLUS) for d in range(0, 5)), 30.0),
        (tuple(DoseEvent(float(d), 15.0) for d in range(0, 14)), 30.0),
        (tuple(DoseEvent(float(d), 2.0, per_m2=False) for d in range(90)), 91.0),
        (tuple(DoseEvent(float(d), 1.0) for d in range(365)), 366.0),
        ((DoseEvent(0.0, 0.1),), 365.0),
    ],
    ids=["continuous-infusion", "20MIU-pulses", "15MIU-sc", "flat", "1-year", "tiny-1-year"],
)
def test_no_nan_no_negative_far_from_the_seed(
    events: tuple[DoseEvent, ...], horizon: float
) -> None:
    res = simulate(Regimen(events), POP, horizon_day=horizon)
    _ok(res)
    assert res.il2_daily_max_pm.shape == (POP.n, int(np.ceil(horizon)))
    assert np.all(res.il2_peak_pm > 0)


def test_continuous_infusion_reaches_a_steady_state_between_receptor_and_renal_bounds() -> None:
    # A long infusion: steady state C = rate / (CL_renal + receptor clearance) <= rate / CL_renal
    res = simulate(
        Regimen((DoseEvent(0.0, 10.0, route=Route.IV_INFUSION, duration_day=10.0),)),
        POP.subset([0]),
        horizon_day=10.0,
    )
    p = POP.parameters
    assert p is not None
    rate_iu_per_min = 1e6 * POP.bsa_m2[0] / 1440.0
    upper_iu_per_ml = rate_iu_per_min / POP.param("cl_renal_ml_per_min")[0]
    c_end = res.il2_pm[0, -2] / 4.3478
    assert 0.0 < c_end < upper_iu_per_ml


def test_untreated_patients_stay_at_baseline() -> None:
    reg = Regimen(tuple(DoseEvent(float(d), 1.25) for d in range(10)))
    scale = np.zeros((POP.n, 10))
    res = simulate(reg, POP, amount_scale=scale, horizon_day=20.0)
    np.testing.assert_allclose(
        res.nk_per_ul, POP.nk0_per_ul[:, None] * np.ones_like(res.nk_per_ul), rtol=1e-12
    )
    assert np.all(res.il2_pm == 0.0)


def test_held_doses_lower_the_response() -> None:
    reg = Regimen(tuple(DoseEvent(float(d), 1.25) for d in range(28)))
    full = simulate(reg, POP, horizon_day=28.0)
    scale = np.ones((POP.n, 28))
    scale[:, 14:] = 0.0
    held = simulate(reg, POP, horizon_day=28.0, amount_scale=scale)
    assert np.all(held.bright_per_ul[:, -1] < full.bright_per_ul[:, -1])
    np.testing.assert_allclose(held.il2_daily_max_pm[:, :14], full.il2_daily_max_pm[:, :14])


def test_result_api_and_long_frame() -> None:
    reg = Regimen(tuple(DoseEvent(float(d), 1.0) for d in range(14)), "1 MIU/m2 sc qd x14")
    res = simulate(reg, POP.subset([0, 1, 2]))
    assert res.horizon_day == reg.default_horizon_day == 14.0
    assert res.t_day[0] == 0.0 and res.t_day[-1] == 14.0
    np.testing.assert_allclose(res.il2_peak_pm, res.il2_daily_max_pm.max(axis=1))
    s = res.summary()
    for key in (
        "patients",
        "seed",
        "regimen",
        "il2_peak_pm",
        "il2_cmax_first_dose_pm",
        "il2_tmax_first_dose_h",
        "il2_auc_first_24h_iu_h_per_ml",
        "nk_peak_increase_pct",
        "cd56bright_peak_increase_pct",
        "nk_mean_t95_day",
        "nk_mean_end_over_max",
        "weekly",
    ):
        assert key in s
    assert set(s["il2_peak_pm"]) == {"mean", "median", "p5", "p95"}
    assert s["weekly"]["day"] == [0.0, 7.0, 14.0]
    frame = res.to_long_frame()
    assert list(frame.columns) == ["patient", "time_day", "variable", "value", "unit"]
    assert len(frame) == 3 * res.t_day.size * 6
    # daily mean lies between 0 and the daily max
    assert np.all(res.il2_daily_mean_pm <= res.il2_daily_max_pm + 1e-12)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"solver": "euler"}, "solver"),
        ({"horizon_day": -1.0}, "horizon"),
        ({"output_times_day": [0.0, 99.0]}, "output_times_day"),
        ({"amount_scale": np.ones((2, 2))}, "amount_scale"),
    ],
)
def test_bad_arguments_raise_input_error(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InputError, match=field):
        simulate(
            Regimen((DoseEvent(0.0, 1.0),)),
            POP,
            horizon_day=kwargs.pop("horizon_day", 5.0),
            **kwargs,
        )  # type: ignore[arg-type]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "il2sim.cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_iv_bolus_check_and_parquet(tmp_path: Path) -> None:
    out = tmp_path / "c.parquet"
    r = _cli(
        "simulate",
        "--regimen",
        "1 MIU/m2 iv bolus",
        "--patients",
        "200",
        "--seed",
        "1",
        "--horizon-days",
        "1",
        "--json",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["patients"] == 200 and s["seed"] == 1
    # Konrad 1990: 650 U/ml right after 1e6 U/m2 i.v. bolus (+-25%)
    assert 0.75 * 650 <= s["il2_cmax_first_dose_iu_per_ml"]["median"] <= 1.25 * 650
    frame = pd.read_parquet(out)
    assert set(frame["variable"].astype(str)) >= {"il2_pm", "nk_per_ul", "bright_per_ul"}
    assert frame["patient"].nunique() == 200


@pytest.mark.parametrize(
    "args",
    [
        ("--patients", "0"),
        ("--patients", "5", "--horizon-days", "-2"),
        ("--patients", "5", "--solver", "magic"),
    ],
)
def test_cli_bad_input_exits_2(args: tuple[str, ...]) -> None:
    r = _cli("simulate", "--regimen", "1 MIU/m2 sc qd x3", *args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
