"""Results unchanged by the model declaration and the generated kernels (issue 10).

The golden summaries of v0.1 (``tests/golden/v1/simulate*/``, recorded by
``tests/golden/record_v1.py`` with ``il2sim simulate --json``, 200 patients, seeds 10..19 in
regimen order; 2 patients for the reference solver) against today's library summary.
Toxicity keys (DLT, antibodies, AE grades) belong to the toxicity layer and its own tests.

* fixed (v0.1's solver and grid, the default before): <= 1e-4 relative on every model
  summary number (measured: <= 1.1e-8, the generated kernel repeats the v0.1 arithmetic up
  to rounding);
* fast (the default: adaptive steps, exact depot input, refined peaks): <= 1e-4 relative on
  every summary number except where the golden value carries the v0.1 grid's own error
  (``FAST_EXCEPTIONS``, measured; the fast values are the ones within 1e-4 of the reference
  on 50 patients, tests/test_simulate_agreement.py):
  the first-dose Tmax (location of a flat maximum; the v0.1 grid is up to 2e-3 off, and for the
  continuous infusion the concentration still rises at the end of the first day), the NK and
  CD56bright increases of the 20 MIU/m2 and pulse regimens (v0.1 grid 1.2e-3 off), and the
  weekly IL-2 troughs of the 1-year run after dosing ends (concentrations ~1e-6 of the
  on-treatment trough, compared with an absolute floor);
* reference: <= 1e-8 relative (the two short regimens in CI; all ten with IL2SIM_SLOW_TESTS=1).
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from il2sim.population import Population
from il2sim.regimen.spec import parse_spec
from il2sim.simulate import simulate

GOLDEN = Path(__file__).parent / "golden" / "v1"
sys.path.insert(0, str(GOLDEN.parent))
from record_v1 import REGIMENS  # noqa: E402

#: Keys of the summary that come from the toxicity layer (not from simulate).
TOX_KEYS = {"ada_incidence", "dlt_probability"}
SLOW = os.environ.get("IL2SIM_SLOW_TESTS") == "1"


def _model_keys(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in summary.items() if k not in TOX_KEYS and not k.startswith("p_grade")
    }


def _compare(got: Any, want: Any, rtol: float, path: str, worst: list[tuple[float, str]]) -> None:
    if isinstance(want, dict):
        assert set(got) == set(want), path
        for k in want:
            _compare(got[k], want[k], rtol, f"{path}.{k}", worst)
    elif isinstance(want, list):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _compare(g, w, rtol, f"{path}[{i}]", worst)
    elif isinstance(want, float) and not isinstance(want, bool):
        err = abs(got - want) / abs(want) if want != 0 else abs(got)
        worst.append((err, path))
        assert math.isfinite(got) and err <= rtol, f"{path}: {got!r} vs golden {want!r} ({err:.2e})"
    else:
        assert got == want, path


def _run(name: str, solver: str, n: int) -> dict[str, Any]:
    spec, extra = REGIMENS[name]
    horizon = float(extra[1]) if extra else None
    seed = 10 + list(REGIMENS).index(name)
    res = simulate(parse_spec(spec), Population.sample(n, seed), horizon_day=horizon, solver=solver)
    out = res.summary()
    out["regimen"] = spec
    return _model_keys(out)


@pytest.mark.parametrize("name", list(REGIMENS))
def test_fixed_summary_equals_golden(name: str) -> None:
    want = _model_keys(json.loads((GOLDEN / "simulate" / f"{name}.json").read_text()))
    got = _run(name, "fixed", 200)
    assert got.pop("solver") == "fixed" and want.pop("solver") == "fast"  # v0.1's name
    worst: list[tuple[float, str]] = []
    _compare(got, want, 1e-4, name, worst)
    # the same arithmetic as v0.1 up to rounding (measured <= 1.1e-8, on near-zero washout
    # troughs of the 1-year run; ~1e-13 elsewhere), far inside the 1e-4 requirement
    assert max(worst)[0] <= 1e-7, max(worst)


#: (regimen, summary key) -> tolerance where the golden (v0.1 grid) value is itself off the
#: reference by more than 1e-4; measured fast-vs-golden differences in the comments.
FAST_EXCEPTIONS: dict[tuple[str, str], float] = {
    # up to 2.9e-4 (0.4 MIU/m2) and 5.1e-4 (c.i.v.: still rising at 24 h)
    **{(n, "il2_tmax_first_dose_h"): 1e-2 for n in REGIMENS},
    ("sc_20_x5", "cd56bright_peak_increase_pct"): 2e-3,  # 3.9e-4 (v0.1 grid 1.6e-3 off)
    ("sc_20_x5", "nk_peak_increase_pct"): 2e-3,  # < 1e-4 measured
    ("pulse", "nk_peak_increase_pct"): 3e-3,  # 1.3e-3 (v0.1 grid 7.7e-4 off per patient)
    ("pulse", "cd56bright_peak_increase_pct"): 3e-3,  # 1.1e-4
}


@pytest.mark.parametrize("name", list(REGIMENS))
def test_fast_summary_within_1e4_of_golden(name: str) -> None:
    want = _model_keys(json.loads((GOLDEN / "simulate" / f"{name}.json").read_text()))
    got = _run(name, "fast", 200)
    assert got.pop("solver") == "fast" and want.pop("solver") == "fast"
    worst: list[tuple[float, str]] = []
    for key in list(want):
        tol = FAST_EXCEPTIONS.get((name, key))
        if tol is not None:
            _compare(got.pop(key), want.pop(key), tol, f"{name}.{key}", worst)
    if name == "year_1p25":
        # after the last dose (day 90) the troughs fall to ~1e-6 of their on-treatment value
        g, w = got["weekly"].pop("il2_trough_median_pm"), want["weekly"].pop("il2_trough_median_pm")
        days = want["weekly"]["day"]
        floor = 1e-4 * max(w)
        for d, a, b in zip(days, g, w, strict=True):
            assert abs(a - b) <= 1e-4 * abs(b) + (floor if d > 90 else 0.0), d
    _compare(got, want, 1e-4, name, worst)


_SHORT = ("iv_bolus_1", "iv_6h_1")


@pytest.mark.parametrize(
    "name",
    [n if n in _SHORT or SLOW else pytest.param(n, marks=pytest.mark.skip("IL2SIM_SLOW_TESTS"))
     for n in REGIMENS],
)  # fmt: skip
def test_reference_summary_equals_golden(name: str) -> None:
    want = _model_keys(json.loads((GOLDEN / "simulate_reference" / f"{name}.json").read_text()))
    got = _run(name, "reference", 2)
    # v0.1's CLI ran the reference one patient at a time (Population.subset drops the seed)
    assert want.pop("seed") is None and got.pop("seed") == 10 + list(REGIMENS).index(name)
    worst: list[tuple[float, str]] = []
    _compare(got, want, 1e-8, name, worst)
