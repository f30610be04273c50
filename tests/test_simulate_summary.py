"""``il2sim simulate --json`` is :func:`il2sim.toxicity.summarise`, whose model keys are
:meth:`SimulationResult.summary`, and both reproduce the golden outputs of v0.1
(``tests/golden/v1/simulate``: 10 regimens of issue 10, 200 patients, fixed seeds)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from il2sim._json import to_jsonable
from il2sim.cli.main import app
from il2sim.model.parameters import load_parameters
from il2sim.population import Population
from il2sim.regimen import parse_spec
from il2sim.simulate import simulate
from il2sim.toxicity import load_toxicity_parameters, summarise, toxicity_summary

GOLDEN = Path(__file__).resolve().parent / "golden" / "v1"

#: tests/golden/record_v1.py REGIMENS: name -> (spec, horizon_day or None); the seed of entry i
#: is 10 + i, 200 patients, v0.1's solver (today's ``"fixed"`` preset).
REGIMENS: dict[str, tuple[str, float | None]] = {
    "seed_1p25": ("1.25 MIU/m2 sc qd x90", None),
    "seed_0p4": ("0.4 MIU/m2 sc qd x90", None),
    "seed_1p75": ("1.75 MIU/m2 sc qd x90", None),
    "iv_bolus_1": ("1 MIU/m2 iv bolus", 1.0),
    "iv_6h_1": ("1 MIU/m2 iv infusion over 6h", 2.0),
    "civ_0p45_56d": ("0.45 MIU/m2/day iv infusion x56d", None),
    "sc_20_x5": ("20 MIU/m2 sc qd x5", None),
    "pulse": ("1.25 MIU/m2 sc qd x84 + 15 MIU/m2 sc qd x3 @42 + 15 MIU/m2 sc qd x3 @56", None),
    "flat_2miu": ("2 MIU sc qd x90", None),
    "year_1p25": ("1.25 MIU/m2 sc qd x90", 365.0),
}
#: Agreement asked of every summary number after the refactors of issue 10 (v0.1's solver,
#: today's "fixed" preset, vs golden): 1e-4 relative; the numbers are equal.  (The default
#: "fast" preset against these goldens: tests/test_golden_simulate.py.)
REL = 1e-4


def _close(got: Any, want: Any, path: str, rel: float = REL) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict), path
        for k, v in want.items():
            assert k in got, f"{path}.{k} missing"
            _close(got[k], v, f"{path}.{k}", rel)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _close(g, w, f"{path}[{i}]", rel)
    elif isinstance(want, float) and not isinstance(want, bool):
        assert isinstance(got, int | float), path
        assert got == pytest.approx(want, rel=rel, abs=1e-12), path
    else:
        assert got == want, path


@pytest.mark.parametrize("name", list(REGIMENS))
def test_summarise_reproduces_the_v01_golden_summary(name: str) -> None:
    """Every key of v0.1's ``simulate --json`` (model and toxicity), same value; the clock fix
    changes none of these day-0 regimens (their first dose is on day 0)."""
    spec, horizon = REGIMENS[name]
    seed = 10 + list(REGIMENS).index(name)
    want = json.loads((GOLDEN / "simulate" / f"{name}.json").read_text())
    got = to_jsonable(summarise(parse_spec(spec), 200, seed, horizon_day=horizon, solver="fixed"))
    assert got.pop("solver") == "fixed" and want.pop("solver") == "fast"  # v0.1's name
    _close(got, want, name)
    assert got["interrupted"] is False


def _cli_json(*args: str) -> dict[str, Any]:
    r = CliRunner().invoke(app, ["simulate", *args, "--json"])
    assert r.exit_code == 0, r.output
    out: dict[str, Any] = json.loads(r.stdout)
    return out


@pytest.mark.parametrize(
    ("spec", "patients", "seed", "horizon"),
    [
        ("1.25 MIU/m2 sc qd x28 @10", 60, 3, 45.0),  # in memory
        ("1 MIU/m2 sc once", 20_001, 4, 1.0),  # above the threshold: streamed
    ],
)
def test_cli_json_is_the_library_summary(
    spec: str, patients: int, seed: int, horizon: float
) -> None:
    cli = _cli_json(
        "--regimen", spec, "--patients", str(patients), "--seed", str(seed),
        "--horizon-days", str(horizon),
    )  # fmt: skip
    lib = to_jsonable(summarise(parse_spec(spec), patients, seed, horizon_day=horizon))
    assert cli == json.loads(json.dumps(lib))
    assert ("streaming" in cli) == (patients > 20_000)


def test_model_keys_are_simulate_summary_and_toxicity_keys_are_toxicity_summary() -> None:
    reg = parse_spec("1.75 MIU/m2 sc qd x14 @3")
    lib = summarise(reg, 40, 7, horizon_day=20.0)
    pop = Population.sample(40, 7)
    res = simulate(reg, pop, horizon_day=20.0)
    model = res.summary()
    assert {k: lib[k] for k in model} == model
    tox = toxicity_summary(res, reg, pop, seed=7)
    assert {k: lib[k] for k in tox} == tox
    assert set(lib) == set(model) | set(tox) | {"interrupted", "done", "asked"}


def test_seed_is_reported_when_the_run_is_chunked() -> None:
    """Fixed bug: v0.1 printed ``"seed": null`` when the population was simulated in chunks
    (more than 2000 patients, or the reference solver: every tests/golden/v1/simulate_reference
    file has null; now the seed).  Chunking changes no value."""
    reg = parse_spec("1 MIU/m2 iv bolus")
    golden = json.loads((GOLDEN / "simulate_reference" / "iv_bolus_1.json").read_text())
    assert golden.pop("seed") is None  # v0.1 (record_v1.py: 2 patients, seed 13, reference)
    ref = to_jsonable(summarise(reg, 2, 13, horizon_day=1.0, solver="reference"))
    assert ref.pop("seed") == 13
    _close(ref, golden, "reference iv_bolus_1", rel=1e-8)  # reference vs golden (issue 10)
    chunked = summarise(reg, 2001, 6, horizon_day=1.0)
    assert chunked["seed"] == 6
    whole = simulate(reg, Population.sample(2001, 6), horizon_day=1.0).summary()
    assert {k: chunked[k] for k in whole} == whole


def test_streamed_toxicity_means_are_the_block_means() -> None:
    """Streamed: block k = Population.sample(size, SeedSequence([seed, k])), its toxicity effects
    from SeedSequence([seed, k, 1]); the summary's toxicity means are the exact patient-weighted
    means of the blocks' :func:`toxicity_summary`."""
    from il2sim.simulate.stream import BLOCK_PATIENTS, block_population

    reg, n, seed, horizon = parse_spec("1 MIU/m2 sc qd x3"), 2300, 9, 4.0
    streamed = summarise(reg, n, seed, horizon_day=horizon, stream=True)
    params, tox = load_parameters(), load_toxicity_parameters()
    sums: dict[str, float] = {}
    for k in range(math.ceil(n / BLOCK_PATIENTS)):
        size = min(BLOCK_PATIENTS, n - k * BLOCK_PATIENTS)
        pop = block_population(k, size, [seed], params)
        res = simulate(reg, pop, params, horizon_day=horizon)
        s = int(np.random.SeedSequence([seed, k, 1]).generate_state(1)[0])
        for key, v in toxicity_summary(res, reg, pop, tox, seed=s).items():
            sums[key] = sums.get(key, 0.0) + v * size
    for key, total in sums.items():
        assert streamed[key] == pytest.approx(total / n, rel=1e-12), key
    assert streamed["patients"] == n and "streaming" in streamed


def test_bad_input_is_one_line_exit_2() -> None:
    from il2sim.errors import InputError

    reg = parse_spec("1 MIU/m2 sc qd x3")
    for kw, field in (
        ({"patients": 0}, "patients"),
        ({"patients": 5, "seed": -1}, "seed"),
        ({"patients": 5, "solver": "euler"}, "solver"),
        ({"patients": 5, "horizon_day": float("nan")}, "horizon"),
        ({"patients": 30_000, "keep_result": True, "stream": True}, "keep_result"),
    ):
        with pytest.raises(InputError, match=field):
            summarise(reg, **kw)
    for args in (["--seed", "-1"], ["--patients", "0"], ["--horizon-days", "nan"]):
        r = subprocess.run(
            [sys.executable, "-m", "il2sim.cli.main", "simulate", "--regimen", "1 MIU/m2 sc",
             *args, "--json"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
        assert r.stdout == ""
