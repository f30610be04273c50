"""The efficacy endpoint of model-informed trials (``il2sim trial --efficacy``): the syntax,
names checked against the model's declared outputs, the per-patient evaluation, SDTM RS, ADaM
ADRS, define.xml, and ``il2sim analyze`` giving the same rate from SDTM and from ADaM."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from il2sim.cli.main import app
from il2sim.errors import InputError
from il2sim.trial.efficacy import EfficacyDefinition, declared_outputs, parse_efficacy

runner = CliRunner()
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
ARGS = ["trial", "--design", "3+3", "--doses", "1.0,1.25", "--seed", "2"]


@pytest.mark.parametrize(
    ("text", "output", "measure", "op", "thr", "day"),
    [
        ("nk_fold>=3@day56", "nk_per_ul", "fold", ">=", 3.0, 56),
        ("cd56bright_fold>=5@day28", "bright_per_ul", "fold", ">=", 5.0, 28),
        ("bright_pct>100@day15", "bright_per_ul", "pct", ">", 100.0, 15),
        ("nk_per_ul<=400@day29", "nk_per_ul", "value", "<=", 400.0, 29),
        ("NK_FOLD >= 2.5 @ day8", "nk_per_ul", "fold", ">=", 2.5, 8),
        ("nk_per_ul_fold<1.5@day2", "nk_per_ul", "fold", "<", 1.5, 2),
    ],
)
def test_syntax(text: str, output: str, measure: str, op: str, thr: float, day: int) -> None:
    d = parse_efficacy(text, last_day=90)
    assert (d.output, d.measure, d.op, d.threshold, d.study_day) == (output, measure, op, thr, day)
    assert d.t_day == day - 1


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("treg_fold>=3@day56", "'treg' names no model output"),
        ("nk_fold=>3@day56", "unknown operator '=>'"),
        ("nk_fold==3@day56", "unknown operator '=='"),
        ("nk_fold>=abc@day56", "threshold must be a finite number > 0, got 'abc'"),
        ("nk_fold>=0@day56", "got '0'"),
        ("nk_fold>=nan@day56", "got 'nan'"),
        ("nk_fold>=3@day1", "day 1 is baseline"),
        ("nk_fold>=3@day5.5", "got '5.5'"),
        ("nk_fold>=3@day91", "day 91 is after the last treatment day 90"),
        ("nk_fold>=3", "expected <output>"),
        ("", "expected e.g."),
    ],
)
def test_bad_definitions_name_the_field_and_value(text: str, part: str) -> None:
    with pytest.raises(InputError) as e:
        parse_efficacy(text, last_day=90)
    assert str(e.value).startswith("efficacy: ") and part in str(e.value)


def test_names_come_from_the_declared_outputs() -> None:
    """A model declaring ``treg_per_ul`` (as model v2 does) makes ``treg_fold`` valid with no
    edit of the parser; the packaged model's names are its declaration's."""
    from il2sim.model.il2nk import IL2NK

    assert declared_outputs() == IL2NK.output_names

    @dataclass(frozen=True)
    class V2Like:
        output_names: tuple[str, ...] = ("il2_pm", "nk_per_ul", "treg_per_ul")

    d = parse_efficacy("treg_fold>=2@day29", model=V2Like())
    assert d.output == "treg_per_ul"


def test_quantity_and_response_closed_form() -> None:
    d = EfficacyDefinition("nk_per_ul", "fold", ">=", 3.0, 56)
    q = d.quantity([100.0, 100.0, 0.0], [300.0, 299.0, 50.0])
    np.testing.assert_allclose(q[:2], [3.0, 2.99])
    assert d.responders(q).tolist() == [True, False, False]  # inf/NaN fold: not a responder
    p = EfficacyDefinition("nk_per_ul", "pct", ">", 100.0, 9)
    np.testing.assert_allclose(p.quantity([50.0], [125.0]), [150.0])


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    d = tmp_path_factory.mktemp("eff") / "T"
    res = runner.invoke(app, [*ARGS, "--efficacy", "nk_fold>=3@day56", "--out", str(d), "--json"])
    assert res.exit_code == 0, res.output
    return d, json.loads(res.output)


def test_trial_evaluates_each_patient_against_the_model(out: tuple[Path, dict]) -> None:
    """The RS quantity is the model's day-56 NK over its day-1 count: checked against an
    independent simulation of the same patients (same seeds, :func:`simulate_cohort`)."""
    from il2sim.designs.controller import trial_seed
    from il2sim.toxicity import load_toxicity_parameters
    from il2sim.trial.cohort import sample_cohort_inputs, simulate_cohort

    folder, summary = out
    rs = pd.read_csv(folder / "sdtm" / "rs.csv")
    val = rs[rs["RSTESTCD"] == "EFFVAL"].reset_index(drop=True)
    resp = rs[rs["RSTESTCD"] == "EFFRESP"].reset_index(drop=True)
    assert len(val) == len(resp) == summary["n_patients"]
    assert ((val["RSSTRESN"] >= 3) == (resp["RSSTRESC"] == "RESPONDER")).all()
    eff = summary["efficacy"]
    assert eff["n_responders"] == int((resp["RSSTRESC"] == "RESPONDER").sum())
    assert eff["definition"] == "nk_fold>=3@day56"
    # cohort 1 (level 1) again, outside the trial, with the seeds run_trial documents
    tox = load_toxicity_parameters()
    root = trial_seed(np.random.SeedSequence(2), 1)
    pop, fx = sample_cohort_inputs(3, trial_seed(root, 0), tox)
    res = simulate_cohort(1.0, pop, fx, tox)  # no efficacy asked: plain visit counts
    # day 56 is not a visit; day 57 (week 8) is: the fold there is close to day 56's
    fold57 = res.nk_visit_per_ul[:, 6] / res.nk_visit_per_ul[:, 0]
    again = simulate_cohort(1.0, pop, fx, tox, efficacy=parse_efficacy("nk_fold>=3@day57"))
    np.testing.assert_allclose(again.efficacy_value, fold57, rtol=1e-9)
    d56 = simulate_cohort(1.0, pop, fx, tox, efficacy=parse_efficacy("nk_fold>=3@day56"))
    np.testing.assert_allclose(val["RSSTRESN"].to_numpy()[:3], d56.efficacy_value, rtol=1e-3)
    # asking for the endpoint does not move the visit counts
    np.testing.assert_array_equal(d56.nk_visit_per_ul, res.nk_visit_per_ul)


def test_adrs_criterion_flags(out: tuple[Path, dict]) -> None:
    folder, _ = out
    a = pd.read_csv(folder / "adam" / "adrs.csv", keep_default_na=False)
    v, r = a[a["PARAMCD"] == "EFFVAL"], a[a["PARAMCD"] == "EFFRESP"]
    assert set(v["CRIT1"]) == {"NK_FOLD>=3@DAY56"}
    assert (v["CRIT1FL"].to_numpy() == np.where(r["AVALC"] == "RESPONDER", "Y", "N")).all()
    assert (r["AVAL"].astype(float).to_numpy() == (r["AVALC"] == "RESPONDER")).all()


def _define_names(path: Path) -> dict[str, set[str]]:
    root = ET.parse(path).getroot()
    items = {i.get("OID"): i.get("Name") for i in root.iter(f"{{{NS['odm']}}}ItemDef")}
    return {
        str(ig.get("Name")): {str(items[r.get("ItemOID")]) for r in ig.findall("odm:ItemRef", NS)}
        for ig in root.iter(f"{{{NS['odm']}}}ItemGroupDef")
    }


@pytest.mark.parametrize("std", ["sdtm", "adam"])
def test_define_names_rs_and_adrs(out: tuple[Path, dict], std: str) -> None:
    from il2sim.cdisc.define import validate_define

    folder, _ = out
    names = _define_names(folder / std / "define.xml")
    written = {
        p.stem.upper(): set(pd.read_csv(p, nrows=0).columns) for p in (folder / std).glob("*.csv")
    }
    assert names == written
    assert ("RS" if std == "sdtm" else "ADRS") in names
    validate_define(folder / std / "define.xml")


def test_analyze_gives_the_same_rate_from_sdtm_and_adam(out: tuple[Path, dict]) -> None:
    folder, summary = out
    got = {}
    for std in ("sdtm", "adam"):
        res = runner.invoke(app, ["analyze", str(folder / std), "--json"])
        assert res.exit_code == 0, res.output
        got[std] = json.loads(res.output)["efficacy"]
    assert got["sdtm"] == got["adam"]
    e = summary["efficacy"]
    assert got["sdtm"]["n_responders"] == e["n_responders"]
    assert got["sdtm"]["response_rate"] == pytest.approx(e["response_rate"])
    per = {p["level"]: p["response_rate"] for p in got["sdtm"]["per_level"]}
    for lv, rate in enumerate(e["response_rate_per_dose"], start=1):
        assert per.get(lv) == (pytest.approx(rate) if rate is not None else None)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--efficacy", "foo_fold>=3@day56"], "efficacy: 'foo' names no model output"),
        (["--efficacy", "nk_fold~3@day56"], "efficacy: "),
        (["--efficacy", "nk_fold>=3@day200"], "efficacy: day 200"),
        (["--efficacy", "foo_fold>=3@day56", "--trials", "2"], "efficacy: 'foo' names no"),
    ],
)
def test_cli_bad_efficacy_exit_2_one_line(
    tmp_path: Path, extra: list[str], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from il2sim.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main([*ARGS, *extra, "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and field in lines[0], err
    assert "Traceback" not in err and not (tmp_path / "x").exists()


def test_model_dlt_times_reach_time_to_event_designs() -> None:
    """A model cohort's draw carries each DLT's time from the model (study day of onset; inf
    without a DLT), which the time-to-event loop uses instead of the design's distribution;
    a TITE-CRM in-silico trial runs on them."""
    from il2sim.designs import build_design
    from il2sim.trial.run import model_source, run_trial

    des = build_design("tite-crm", target=0.25, skeleton=[0.05, 0.12, 0.25], window_days=28,
                       accrual_per_window=3)  # fmt: skip
    src = model_source(des, [1.0, 1.25, 1.5])
    draw = src.trial(np.random.SeedSequence(4), np.random.default_rng(0)).draw(3, 6, 0)
    res = draw.payload
    assert draw.dlt_days is not None
    want = np.where(res.dlt.dlt, res.dlt.day.astype(float), np.inf)
    np.testing.assert_array_equal(draw.dlt_days, want)
    assert np.all(draw.dlt_days[res.dlt.dlt] <= 28) and res.dlt.dlt.any()
    t = run_trial(des, [1.0, 1.25, 1.5], seed=4, max_patients=6)
    assert t.n_patients == 6 and t.design == "tite-crm"


@pytest.mark.parametrize("design", ["3+3", "boin12"])
def test_replicate_trials_with_efficacy(design: str) -> None:
    """``trial --trials --efficacy``: each pool patient's response to the definition is drawn
    with the patient, so the responders an efficacy-toxicity design counted per level
    (``efficacy_per_dose``) are exactly the pool responders of the patients it treated
    (``responders_per_dose``), and the per-level response rate is bounded by them."""
    args = ["trial", "--design", design, "--doses", "0.5,1.0,1.5", "--efficacy",
            "nk_fold>=3@day56", "--trials", "4", "--pool-size", "10", "--seed", "3", "--json"]  # fmt: skip
    if design == "boin12":
        args += ["--target-tox", "0.3", "--target-eff", "0.5", "--max-patients", "9"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["efficacy"] == "nk_fold>=3@day56"
    rate, resp, n = d["response_rate_per_dose"], d["responders_per_dose"], d["patients_per_dose"]
    pool = d["pool_response_rate_per_dose"]
    assert len(rate) == len(resp) == len(pool) == 3
    for r, e, m, q in zip(rate, resp, n, pool, strict=True):
        assert 0.0 <= q <= 1.0 and 0.0 <= e <= m + 1e-12
        assert (r is None) == (m == 0)  # a rate wherever some trial treated patients
    assert resp[0] <= n[0] and pool[0] < pool[2]  # the NK endpoint rises with the dose
    if design == "boin12":
        assert d["efficacy_per_dose"] == pytest.approx(resp, abs=1e-12)
        assert d["obd_selection_pct"] == d["selection_pct"]
    else:
        assert d["efficacy_per_dose"] is None


def test_replicate_efficacy_design_without_efficacy_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """BOIN12 replicates without ``--efficacy`` would see no responder at all: refused."""
    from il2sim.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["trial", "--design", "boin12", "--target-tox", "0.3", "--target-eff", "0.5",
              "--max-patients", "9", "--doses", "0.5,1.0", "--trials", "2", "--pool-size", "5"])  # fmt: skip
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and "needs an efficacy definition" in lines[0], err
