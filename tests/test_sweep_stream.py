"""Streaming summaries of large virtual populations (bounded memory) and the simulate runner."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from il2sim.errors import InputError
from il2sim.model.parameters import Parameters, load_parameters
from il2sim.population import Population
from il2sim.regimen import parse_spec
from il2sim.simulate import simulate
from il2sim.simulate.histogram import HIST_BIN_WIDTH, AsinhHistogram
from il2sim.simulate.stream import BLOCK_PATIENTS, simulate_streaming
from il2sim.sweep.runners import run_chunk

SPEC = "1.25 MIU/m2 sc qd x14"  # the seed regimen's first two weeks (Meropol 1996)
N = 2500  # 2 full blocks + a partial one


def _strip(d: dict) -> str:
    return json.dumps({k: v for k, v in d.items() if k != "interrupted"}, sort_keys=True)


@pytest.fixture(scope="module")
def params() -> Parameters:
    """One parameter set for every run of a test (the table may be recalibrated meanwhile)."""
    return load_parameters()


@pytest.fixture(scope="module")
def streamed(params: Parameters) -> dict:
    return simulate_streaming(SPEC, N, seed=5, batch_size=1000, parameters=params)


def test_batch_size_does_not_change_the_summary(streamed: dict, params: Parameters) -> None:
    other = simulate_streaming(SPEC, N, seed=5, batch_size=3 * BLOCK_PATIENTS, parameters=params)
    assert _strip(other) == _strip(streamed)
    assert streamed["patients"] == N and streamed["interrupted"] is False


def test_streamed_summary_matches_in_memory_summary(streamed: dict, params: Parameters) -> None:
    """Same patients simulated at once: means exact (to rounding), quantiles within the
    documented histogram resolution (plus small-N order-statistic spacing)."""
    pops = [
        Population.sample(min(BLOCK_PATIENTS, N - k * BLOCK_PATIENTS),
                          np.random.default_rng(np.random.SeedSequence([5, k])), params)
        for k in range(3)
    ]  # fmt: skip
    ref = simulate(parse_spec(SPEC), Population.concat(pops), params).summary()
    assert set(ref) <= set(streamed)
    for key, block in ref.items():
        if isinstance(block, dict) and "mean" in block:
            assert streamed[key]["mean"] == pytest.approx(block["mean"], rel=1e-12), key
            for q in ("median", "p5", "p95"):
                assert streamed[key][q] == pytest.approx(block[q], rel=2e-3), (key, q)
    assert streamed["nk_mean_t95_day"] == pytest.approx(ref["nk_mean_t95_day"], rel=1e-9)
    assert streamed["nk_mean_end_over_max"] == pytest.approx(ref["nk_mean_end_over_max"], rel=1e-12)
    w, wr = streamed["weekly"], ref["weekly"]
    assert w["day"] == wr["day"]
    np.testing.assert_allclose(w["nk_mean_increase_pct"], wr["nk_mean_increase_pct"], rtol=1e-12)
    np.testing.assert_allclose(
        w["cd56bright_mean_increase_pct"], wr["cd56bright_mean_increase_pct"], rtol=1e-12
    )
    np.testing.assert_allclose(w["il2_trough_median_pm"], wr["il2_trough_median_pm"], rtol=2e-3)
    for k in ("regimen", "solver", "horizon_day"):
        assert streamed[k] == ref[k]


@given(
    st.floats(-3.0, 3.0),
    st.floats(0.1, 2.0),
    st.sampled_from([0.05, 0.5, 0.95]),
    st.integers(0, 2**32 - 1),
)
@settings(max_examples=25, deadline=None)
def test_histogram_quantiles_match_numpy(mu: float, sigma: float, q: float, seed: int) -> None:
    """Log-normal samples (like IL-2 peaks): histogram quantile within 1.5 bins (relative
    width HIST_BIN_WIDTH for |x| > 1) of numpy's percentile; exact min/max clamp."""
    x = np.random.default_rng(seed).lognormal(mu, sigma, 20000)
    h = AsinhHistogram()
    h.add(x[:7000])
    h2 = AsinhHistogram()
    h2.add(x[7000:])
    h.merge(h2)
    assert h.n == x.size
    got, want = h.quantile(q), float(np.quantile(x, q))
    scale = np.sqrt(1.0 + want * want)  # d asinh(x) = dx / sqrt(1 + x^2)
    gap = float(np.max(np.diff(np.sort(x))[max(int(q * x.size) - 2, 0) : int(q * x.size) + 2]))
    assert abs(got - want) <= 1.5 * HIST_BIN_WIDTH * scale + gap
    assert h.quantile(0.0) == pytest.approx(x.min()) and h.quantile(1.0) == pytest.approx(x.max())


def test_histogram_edge_cases() -> None:
    h = AsinhHistogram()
    assert np.isnan(h.quantile(0.5))
    h.add([0.0, 0.0, 0.0, np.nan])
    assert h.n == 3 and h.quantile(0.5) == 0.0


def test_streaming_rejects_bad_input() -> None:
    for kw in (
        {"n_patients": 0},
        {"n_patients": 10, "batch_size": 0},
        {"n_patients": 10, "seed": -1},
    ):
        with pytest.raises(InputError):
            simulate_streaming(SPEC, **kw)  # type: ignore[arg-type]


def test_simulate_runner_and_parameter_overrides() -> None:
    """Sweep kind ``simulate``: doubling s.c. bioavailability raises the mean IL-2 peak."""
    base = run_chunk("simulate", {"regimen": "1 MIU/m2 sc qd x2", "horizon_day": 3}, 50, 1, 0, 0)
    hi = run_chunk(
        "simulate", {"regimen": "1 MIU/m2 sc qd x2", "horizon_day": 3, "f_sc": 0.6}, 50, 1, 0, 0
    )
    assert base["il2_peak_pm.mean"] > 0
    assert hi["il2_peak_pm.mean"] > 1.5 * base["il2_peak_pm.mean"]
    assert base["patients"] == 50.0
    with pytest.raises(InputError, match="regimen"):
        run_chunk("simulate", {}, 10, 1, 0, 0)


def test_cli_simulate_streams_above_the_threshold() -> None:
    """``il2sim simulate --patients N`` with N above the threshold streams (same keys, plus
    the toxicity means and a ``streaming`` entry)."""
    from typer.testing import CliRunner

    from il2sim.cli.main import app
    from il2sim.simulate.stream import STREAMING_THRESHOLD_PATIENTS

    n = STREAMING_THRESHOLD_PATIENTS + 1
    r = CliRunner().invoke(
        app,
        ["simulate", "--regimen", "1 MIU/m2 sc once", "--patients", str(n), "--horizon-days",
         "1", "--seed", "4", "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["patients"] == n and "streaming" in out and out["interrupted"] is False
    assert 0.0 <= out["dlt_probability"] <= 1.0
    assert out["il2_peak_pm"]["p5"] <= out["il2_peak_pm"]["median"] <= out["il2_peak_pm"]["p95"]


def test_worker_processes_give_the_same_summary(params: Parameters) -> None:
    """Two worker processes, batch of one block: identical to one process (sums merged in
    block order), including the ``extra`` (toxicity) means."""
    from il2sim.toxicity import ToxicityExtra, load_toxicity_parameters

    spec = "1 MIU/m2 sc qd x3"
    extra = ToxicityExtra(load_toxicity_parameters())
    kw = {"horizon_day": 4.0, "extra": extra, "parameters": params}
    one = simulate_streaming(spec, 2100, seed=8, batch_size=3000, **kw)
    two = simulate_streaming(spec, 2100, seed=8, batch_size=1000, workers=2, **kw)
    assert _strip(one) == _strip(two)
    assert 0.0 <= one["dlt_probability"] <= 1.0
