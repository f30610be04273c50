"""``--model-version`` on ``params`` and ``sensitivity`` (issue 11): the parameter table is
model-specific, so both commands read the table of the model asked for (default v1), and a
``--parameters`` file must name that model (one handle, exit 2 otherwise)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from il2sim.cli.main import main
from il2sim.fit.paramfile import parameter_table
from il2sim.fit.sensitivity import Il2simOutputs, il2sim_outputs
from il2sim.model.models import load_model_parameters, model_table


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(args)
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return int(code or 0), out, err


@pytest.mark.parametrize("model", ["v1", "v2"])
def test_params_prints_the_table_of_the_model(model: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["params", "--model-version", model, "--json"], capsys)
    assert code == 0, err
    got = json.loads(out)
    assert got == json.loads(json.dumps(parameter_table(load_model_parameters(model))))
    assert ("sc_loss_vmax_iu_per_day" in got) == (model == "v2")  # v2's pre-systemic loss
    assert ("receptor_pool_scale" in got) == (model == "v1")  # v1's calibrated pool


def test_params_default_is_v1(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["params", "--json"], capsys)[1] == _run(["params", "--model-version", "v1", "--json"], capsys)[1]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["params", "--model-version", "v3"], "unknown model 'v3'"),
        (["params", "--model-version", "v1", "--parameters", str(model_table("v2"))], "model v2's"),
        (["sensitivity", "--model-version", "v2", "--parameters", str(model_table("v1"))], "model v1's"),
        (["sensitivity", "--model-version", "nope"], "unknown model 'nope'"),
    ],
)
def test_a_wrong_model_is_one_line(args: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(args, capsys)
    assert code == 2 and out == ""
    assert "model-version" in err and words in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_v2_sensitivity_outputs_follow_the_model() -> None:
    """On v2 the outputs gain the T-cell counts, and the typical-patient function runs v2 (its
    table, its toxicity table) from the table path the CLI passes."""
    assert il2sim_outputs("v1") == il2sim_outputs()
    v2 = il2sim_outputs("v2")
    assert {"treg_peak_increase_pct", "tconv_peak_increase_pct", "cd8_peak_increase_pct"} <= set(v2)
    fn = Il2simOutputs("1 MIU/m2 sc qd x3", ("emax_treg",), str(model_table("v2")))
    base = load_model_parameters("v2").value("emax_treg")
    y = fn(np.array([[base], [2.0 * base]]))
    assert y.shape == (2, len(v2)) and np.all(np.isfinite(y))
    treg = v2.index("treg_peak_increase_pct")
    assert y[1, treg] > y[0, treg] > 0.0  # more Treg Emax, more Treg expansion
