"""``il2sim fit|vpc|sensitivity|params``: the CLI contract and bad input (exit 2, one line
naming the field and value, no traceback, no output)."""

from __future__ import annotations

import os

# numba's OpenMP threads sleep between the fit's thousands of short batched calls instead of
# spinning (il2sim.fit.il2sim_model._passive_openmp; it must be set before the first kernel
# runs in this process, and collection precedes every test)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json
from pathlib import Path

import pandas as pd
import pytest

from il2sim.cli.main import main
from il2sim.fit.simdata import seed_trial_table, truth_parameters
from il2sim.model.parameters import load_parameters


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    code = exc.value.code if isinstance(exc.value.code, int) else 0
    return code, out.out, out.err


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three patients of the seed design as a NONMEM-style CSV."""
    truth = truth_parameters({"f_sc": 0.3, "emax_production": 0.3})
    df = seed_trial_table(truth, 4, n_per_level=(1, 1, 1), levels=(0.6, 1.0, 1.5))
    path = tmp_path_factory.mktemp("d") / "trial.csv"
    df.rename(columns={"CENS": "BLQ"}).to_csv(path, index=False)
    return path


def _bad(capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], field: str) -> str:
    out = tmp_path / "out"
    code, stdout, err = _run([*args, "--out", str(out)], capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("il2sim: error: ") and field in lines[0], err
    assert "Traceback" not in err and stdout == ""
    assert not out.exists()  # no partial output
    return lines[0]


def test_bad_input_exit_2(tiny_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = pd.read_csv(tiny_csv)
    f = str(tiny_csv)
    _bad(capsys, tmp_path, ["fit", f, "--params", "f_sc,nonsense_param"], "params")
    msg = _bad(capsys, tmp_path, ["fit", f, "--params", "f_sc,hill_production", "--omega",
                                  "hill_production"], "omega")
    assert "hill_production" in msg and "variability" in msg
    _bad(capsys, tmp_path, ["fit", f, "--params", "f_sc", "--omega", "emax_production"], "omega")
    cases = {
        "noobs.csv": (df[df["EVID"] == 1], "observations"),
        "allblq.csv": (df.assign(BLQ=(df["EVID"] == 0).astype(int)), "observations"),
        "noid.csv": (df.drop(columns=["ID"]), "ID"),
        "notime.csv": (df.drop(columns=["TIME"]), "TIME"),
    }
    swapped = df.copy()
    i = swapped.index[(swapped["ID"] == 1) & (swapped["EVID"] == 0)][3]
    swapped.loc[i, "TIME"] = 1.0e4
    cases["nonmono.csv"] = (swapped, "TIME")
    for name, (frame, field) in cases.items():
        p = tmp_path / name
        frame.to_csv(p, index=False)
        msg = _bad(capsys, tmp_path, ["fit", str(p)], field)
        if name == "allblq.csv":
            assert "below the LLOQ" in msg
        if name == "nonmono.csv":
            assert "decreases" in msg and "10000" in msg
    _bad(capsys, tmp_path, ["fit", f, "--error", "weird"], "error")
    _bad(capsys, tmp_path, ["fit", str(tmp_path / "missing.csv")], "data")


def test_params_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["params", "--json"], capsys)
    assert code == 0, err
    tab = json.loads(out)
    assert set(tab) == set(load_parameters().names)
    assert all(set(v) == {"value", "unit", "cv", "source"} for v in tab.values())
    assert tab["f_sc"]["value"] == 0.3 and tab["f_sc"]["cv"] == 0.3


def test_fit_json_contract_and_parameter_file(tiny_csv: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fit"
    code, stdout, err = _run(["fit", str(tiny_csv), "--params", "f_sc,emax_production",
                              "--iterations", "8,4", "--conditional", "3", "--is-samples", "10",
                              "--npde-replicates", "20", "--intervals", "wald", "--out", str(out),
                              "--json"], capsys)
    assert code == 0, err
    d = json.loads(stdout)
    for key in ("method", "n_subjects", "n_observations", "ofv", "aic", "bic", "parameters",
                "omega", "residual", "shrinkage"):
        assert key in d
    assert d["method"] == "SAEM" and d["n_subjects"] == 3
    for p in d["parameters"].values():
        assert {"estimate", "se", "ci95", "initial"} <= set(p) and len(p["ci95"]) == 2
        assert p["ci_method"] == "wald"
    assert set(d["omega"]) == {"f_sc", "emax_production", "nk0_per_ul", "bright0_per_ul"}
    assert "nk0_per_ul,bright0_per_ul" in d["correlations"]
    assert all({"sd", "se", "ci95", "ci_method", "identified"} <= set(v)
               for v in d["omega"].values())
    assert set(d["residual"]) == {"il2", "nk", "bright"}
    for name in ("fit.json", "parameters.toml", "individual.csv", "predictions.csv", "report.html"):
        assert (out / name).exists(), name
    p = load_parameters(out / "parameters.toml")
    assert p.value("f_sc") == pytest.approx(d["parameters"]["f_sc"]["estimate"])
    assert p.bpv_cv("vc_l_per_m2") == 0.0 and p.bpv_cv("f_sc") > 0
    code, out2, err = _run(["params", "--parameters", str(out / "parameters.toml"), "--json"], capsys)
    assert code == 0 and json.loads(out2)["f_sc"]["source"].startswith("fit:")
    html = (out / "report.html").read_text()
    assert "Goodness of fit" in html and "<script" not in html
    # the parameter file drives simulate and trial
    code, sim, err = _run(["simulate", "--regimen", "1 MIU/m2 sc qd x3", "--patients", "5",
                           "--parameters", str(out / "parameters.toml"), "--json"], capsys)
    assert code == 0, err
    code, sim0, _ = _run(["simulate", "--regimen", "1 MIU/m2 sc qd x3", "--patients", "5",
                          "--json"], capsys)
    assert json.loads(sim)["il2_peak_pm"] != json.loads(sim0)["il2_peak_pm"]
    code, vpc_out, err = _run(["vpc", str(tiny_csv), "--parameters", str(out / "fit.json"),
                               "--n-sim", "20", "--out", str(tmp_path / "vpc"), "--json"], capsys)
    assert code == 0, err
    v = json.loads(vpc_out)
    assert 0.0 <= v["coverage"] <= 1.0 and (tmp_path / "vpc" / "vpc.csv").exists()
    assert (tmp_path / "vpc" / "vpc_il2.png").exists()


def test_resume_without_state(tiny_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _bad(capsys, tmp_path, ["fit", str(tiny_csv), "--resume"], "resume")


def test_sensitivity_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["sensitivity", "--method", "morris", "--params",
                           "f_sc,emax_production,nk_loss_per_day", "--n", "4", "--regimen",
                           "1.25 MIU/m2 sc qd x28", "--out", str(tmp_path / "s"), "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["method"] == "morris" and "nk_peak_increase_pct" in d["ranking"]
    assert (tmp_path / "s" / "sensitivity.png").exists()
    code, _, err = _run(["sensitivity", "--params", "f_sc,bogus"], capsys)
    assert code == 2 and "bogus" in err
