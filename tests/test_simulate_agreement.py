"""Fast solvers against stored reference-solver metrics (issue 10).

``tests/data/reference_metrics/<regimen>.json`` holds, per regimen of issue 10, per-patient
metrics of the reference solver (scipy Radau, rtol 1e-10) for the first patients of
``Population.sample(50, seed)`` on a daily output grid (written by
``tests/golden/record_reference_metrics.py``).  The default preset ("fast": adaptive steps,
exact depot input, refined peaks) and the first adaptive preset must agree to <= 1e-4
relative on IL-2 peak, first-dose Cmax and AUC over 24 h, NK and CD56bright peak increase;
v0.1's fixed grid ("fixed") misses it on six regimens (strict xfail).
The stored data come from the LSODA reference (fast: its loop is compiled); one test ties it
to the Radau reference (<= 1e-8), another recomputes stored patients so the data cannot
silently rot.

Model v2 (issue 11): the 50-patient data of ``reference_metrics/`` are the pinned v1 model's
(:data:`il2sim.model.il2nk_v1.IL2NK_V1`) and keep checking the machinery on it;
``reference_metrics_v2/`` holds the v2 model's (as many patients as were recorded, see each
file's ``patients``), checked the same way.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from il2sim.population import Population
from il2sim.regimen.spec import parse_spec
from il2sim.simulate import simulate
from il2sim.simulate.options import FAST, FAST_V2, SolverOptions, resolve

DATA = Path(__file__).parent / "data" / "reference_metrics"
sys.path.insert(0, str(Path(__file__).parent / "golden"))
from record_reference_metrics import (  # noqa: E402
    METRICS,
    OUT_DIRS,
    model_and_table,
    output_times,
    run_one,
)

NAMES = sorted(p.stem for p in DATA.glob("*.json"))
NAMES_V2 = sorted(p.stem for p in OUT_DIRS["v2"].glob("*.json"))
TOL = 1e-4
#: Metrics of the agreement goal (first-dose Tmax, the location of a flat maximum, is not).
CHECKED = [m for m in METRICS if m != "il2_tmax_first_dose_h"]


def _load(name: str, model: str = "v1") -> dict[str, object]:
    return json.loads((OUT_DIRS[model] / f"{name}.json").read_text())


def _fast(
    name: str, solver: str | SolverOptions, model: str = "v1"
) -> tuple[dict[str, object], object]:
    data = _load(name, model)
    decl, table = model_and_table(model)
    reg = parse_spec(str(data["regimen"]))
    h = float(data["horizon_day"])  # type: ignore[arg-type]
    pop = Population.sample(50, int(data["seed"]), parameters=table)  # type: ignore[arg-type]
    pop = pop.subset(range(int(data["patients"])))  # type: ignore[call-overload]
    return data, simulate(
        reg, pop, horizon_day=h, output_times_day=output_times(h), solver=solver,
        parameters=table, model=decl,  # type: ignore[arg-type]
    )


#: The v0.1 fixed grid (preset "fixed", the default before) misses 1e-4 on 50 patients for these regimens
#: (measured max rel. errors, patient-wise: AUC 24 h / NK / CD56bright peak increase):
#: flat 3.4e-4 / 1.0e-4 / 1.6e-4; pulse (also peak 1.3e-4) 2.1e-4 / 7.7e-4 / 1.2e-3;
#: 20 MIU/m2 x5 3.0e-4 / 1.2e-3 / 1.6e-3; seed 1.25 AUC 1.6e-4; seed 1.75 AUC 2.0e-4;
#: 1-year AUC 1.2e-4.  The 2- and 20-patient checks of v0.1 had not seen it.  Strict xfail:
#: these start failing the moment the fixed grid meets the goal.
FIXED_GRID_MISSES = {"flat_2miu", "pulse", "sc_20_x5", "seed_1p25", "seed_1p75", "year_1p25"}


def _cases() -> list[object]:
    out: list[object] = []
    for name in NAMES:
        out.append(pytest.param(name, "fast", id=f"{name}-fast"))
        out.append(pytest.param(name, "adaptive", id=f"{name}-adaptive"))
        marks = (
            [pytest.mark.xfail(strict=True, reason="v0.1 grid misses 1e-4 (see FIXED_GRID_MISSES)")]
            if name in FIXED_GRID_MISSES
            else []
        )
        out.append(pytest.param(name, "fixed", id=f"{name}-fixed", marks=marks))
    return out


@pytest.mark.parametrize(("name", "solver"), _cases())
def test_fast_agrees_with_stored_reference(name: str, solver: str) -> None:
    data, res = _fast(name, solver)
    _agree(data, res)


#: Model v2 (issue 11) with v1's ``FAST`` (rtol 6e-3 / 3e-3 after i.v. switches) missed 1e-4 on
#: 6 of 10 regimens (stop 21/22: c.i.v. AUC 24 h 2.9e-4; 6-h infusion CD56bright 8.1e-4; bolus
#: CD56bright 2.4e-4; 20 MIU/m2 x5 AUC 1.5e-4; 0.4 and 1.75 s.c. peak 1.1e-4 / 1.2e-4).  v2's own
#: ``fast`` (:data:`il2sim.simulate.options.FAST_V2`, rtol 3e-3 / 7.5e-4) meets it on all ten
#: (measured worst 6.5e-5, 20 MIU/m2 first-day AUC).
@pytest.mark.parametrize("name", NAMES_V2)
def test_v2_fast_agrees_with_stored_reference(name: str) -> None:
    """Model v2 (issue 11): the default preset (fast, v2's options) against the v2 reference."""
    data, res = _fast(name, "fast", "v2")
    assert res.solver == "fast"
    _agree(data, res)


def test_v2_runs_its_own_fast_preset() -> None:
    """``solver="fast"`` on a v2 parameter set is :data:`FAST_V2`; on v1 it is :data:`FAST`."""
    assert resolve("fast", "v2") == ("fast", FAST_V2)
    assert resolve("fast", "v1") == ("fast", FAST) == resolve("fast")
    assert resolve(FAST_V2, "v2")[0] == "fast"
    assert FAST_V2.rtol < FAST.rtol


def _agree(data: dict[str, object], res: object) -> None:
    for m in CHECKED:
        want = np.asarray(data[m])
        got = getattr(res, m)
        err = np.abs(got / want - 1.0)
        assert float(err.max()) <= TOL, f"{m}: max rel. error {err.max():.2e} (patient {err.argmax()})"


def test_fast_takes_at_least_2x_fewer_steps_than_v01_on_daily_sc() -> None:
    """Issue 10: >= 2x fewer steps per patient than v0.1's grid (6480 for 90 days of daily
    s.c.) at the agreement above.  Counted: ETDRK4 steps taken, accepted + rejected (each costs
    one step; the embedded estimate is free), against the fixed grid's steps."""
    _, res = _fast("seed_1p25", "fast")
    _, fixed = _fast("seed_1p25", "fixed")
    assert int(fixed.steps[0]) == 6480
    work = res.steps + res.rejected
    assert float(work.mean()) * 2.0 <= float(fixed.steps.mean()), work.mean()


#: v2's s.c. IL-2 peak (first-dose Cmax) differs between the two references by 3.0e-8
#: (measured session 21, after main's shared Radau/LSODA loop; AUC 24 h, NK and CD56bright
#: increase agree to 2e-10, the i.v. bolus to 7e-11): the maximum is read from each solver's
#: dense output, and v2's flatter s.c. maximum (Tmax differs by 2.2e-5) shows their
#: interpolants' difference.  Strict xfail on the peak only; the other metrics are checked
#: before it.
_V2_REF_PEAK = pytest.mark.xfail(
    strict=True, reason="v2 s.c. peak: Radau vs LSODA dense-output maxima differ by 3.0e-8 > 1e-8"
)


@pytest.mark.parametrize(
    ("model", "tmax_rtol"), [("v1", 1e-5), pytest.param("v2", 1e-4, marks=_V2_REF_PEAK)]
)
def test_lsoda_reference_equals_radau_reference(model: str, tmax_rtol: float) -> None:
    """The two references (scipy Radau and LSODA, rtol 1e-10) on 2 patients, 3 days of the
    seed regimen and an i.v. bolus: every stored metric to 1e-8 (the peak metrics last); Tmax,
    the location of a flat maximum, to 1e-5 (v1) and 1e-4 (v2, issue 11: measured 2.2e-5, its
    s.c. maximum is flatter: the saturable depot loss shortens the input)."""
    decl, table = model_and_table(model)
    pop = Population.sample(2, 1, parameters=table)  # type: ignore[arg-type]
    peaks = ("il2_peak_pm", "il2_cmax_first_dose_pm")
    runs = []
    for spec, h in (("1.25 MIU/m2 sc qd x3", 3.0), ("1 MIU/m2 iv bolus", 1.0)):
        reg = parse_spec(spec)
        kw = {"horizon_day": h, "output_times_day": output_times(h), "parameters": table}
        a = simulate(reg, pop, solver="reference-lsoda", model=decl, **kw)  # type: ignore[arg-type]
        b = simulate(reg, pop, solver="reference", model=decl, **kw)  # type: ignore[arg-type]
        for m in CHECKED:
            if m not in peaks:
                np.testing.assert_allclose(getattr(a, m), getattr(b, m), rtol=1e-8, err_msg=m)
        np.testing.assert_allclose(
            a.il2_tmax_first_dose_h, b.il2_tmax_first_dose_h, rtol=tmax_rtol
        )
        runs.append((a, b))
    for a, b in runs:
        for m in peaks:
            np.testing.assert_allclose(getattr(a, m), getattr(b, m), rtol=1e-8, err_msg=m)


@pytest.mark.parametrize(
    ("name", "patients", "model"),
    [("iv_6h_1", [0, 7], "v1"), ("sc_20_x5", [3], "v1"), ("seed_1p25", [5], "v1"),
     ("seed_1p25", [5], "v2"), ("iv_6h_1", [7], "v2")],
)
def test_stored_reference_metrics_are_reproduced(name: str, patients: list[int], model: str) -> None:
    if not (OUT_DIRS[model] / f"{name}.json").exists():
        pytest.skip(f"no stored {model} reference metrics for {name}")
    data = _load(name, model)
    if max(patients) >= int(data["patients"]):  # type: ignore[call-overload]
        pytest.skip(f"{name}: only {data['patients']} patients stored")
    again = run_one(name, patients, model)
    for m in METRICS:
        want = np.asarray(data[m])[patients]
        np.testing.assert_allclose(again[m], want, rtol=1e-9, err_msg=m)


def test_iv_window_step_limit_keeps_agreement_with_longer_steps_elsewhere() -> None:
    """``iv_dt_max_day`` limits the step only within a day after an i.v. switch: with 1/4-day
    steps allowed elsewhere the 6-h infusion misses 1e-4 (NK peak increase, measured 1.9e-3,
    stop 27); with 1/16 day kept in the i.v. window it meets it (measured 2.9e-5)."""
    loose = FAST.with_(dt_max_day=0.25)
    _, res = _fast("iv_6h_1", loose)
    data = _load("iv_6h_1")
    err = np.abs(res.nk_peak_increase_pct / np.asarray(data["nk_peak_increase_pct"]) - 1.0)
    assert float(err.max()) > 10 * TOL
    data, res = _fast("iv_6h_1", loose.with_(iv_dt_max_day=1 / 16))
    _agree(data, res)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), True, "x"])
def test_iv_dt_max_must_be_positive(bad: object) -> None:
    from il2sim.errors import InputError

    with pytest.raises(InputError, match="iv_dt_max_day"):
        FAST.with_(iv_dt_max_day=bad)
