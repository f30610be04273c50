"""``il2sim validate``: the study file format, the rules, the CLI contract (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from il2sim.cli.main import app
from il2sim.errors import InputError
from il2sim.validate import format_table, load_studies, parse_study, validate

ROW = {
    "id": "toy", "study": "Konrad 1990", "role": "validation", "regimen": "1 MIU/m2 iv bolus",
    "horizon_day": 1, "patients": 4, "endpoint": "il2_cmax_first_dose_iu_per_ml",
    "published": {"value": 650, "text": "650 U/ml"},
    "rule": {"op": "between", "low": 520, "high": 780}, "rule_text": "+-20%", "source": "x",
}


def test_builtin_library_has_training_and_at_least_12_validation_studies() -> None:
    rows = load_studies()
    val = {s.study for s in rows if s.role == "validation"}
    train = {s.study for s in rows if s.role == "training"}
    assert len(val) >= 12, sorted(val)
    assert {"Meropol 1996 Clin Cancer Res 2:669", "Konrad 1990 Cancer Res 50:2009",
            "Caligiuri 1993 J Clin Invest 91:123", "Koreth 2016 Blood 128:130"} == train
    assert not val & train
    for s in rows:  # every row has a source and a rule text; training rows a fit weight
        assert s.source and s.rule_text
        assert (s.fit_type != "") == (s.role == "training"), s.id


def test_rules() -> None:
    s = parse_study(ROW)
    assert s.agrees(650) and not s.agrees(500) and not s.agrees(float("nan"))
    above = parse_study({**ROW, "rule": {"op": "above", "threshold": 5}})
    assert above.agrees(5.1) and not above.agrees(4.9)
    below = parse_study({**ROW, "rule": {"op": "below", "threshold": 10}})
    assert below.agrees(9.9) and not below.agrees(10.1)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"role": "tuning"}, "role"),
        ({"endpoint": "nk_secret"}, "endpoint"),
        ({"regimen": "1 MIU/m2 xx bolus"}, None),
        ({"rule": {"op": "near"}}, "rule.op"),
        ({"rule": {"op": "between", "low": 3, "high": 1}}, "rule.low"),
        ({"published": {"value": "many"}}, "value"),
        ({"fit": {"type": "normal", "sd": -1}}, "fit.sd"),
    ],
)
def test_malformed_rows_name_the_field(patch: dict[str, object], field: str | None) -> None:
    with pytest.raises(InputError) as err:
        parse_study({**ROW, **patch})
    if field is not None:
        assert err.value.field == field


def test_user_file_runs_in_the_same_format(tmp_path: Path) -> None:
    import yaml

    f = tmp_path / "mine.yaml"
    f.write_text(yaml.safe_dump({"studies": [ROW]}))
    rep = validate(f)
    (row,) = rep.rows
    assert row.study.id == "toy" and row.p5 <= row.median <= row.p95
    assert row.agree == (520 <= row.median <= 780)
    text = format_table(rep)
    assert "Konrad 1990" in text and "validation: " in text


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from il2sim.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    return (0 if exc.value.code is None else int(exc.value.code)), err


def test_cli_bad_input_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _main(["validate", "--studies", str(tmp_path / "missing.yaml")], capsys)
    assert code == 2 and "Traceback" not in err and "studies" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("studies: [{id: x}]\n")
    code, err = _main(["validate", "--studies", str(bad)], capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_json_and_out(tmp_path: Path) -> None:
    import yaml

    f = tmp_path / "mine.yaml"
    f.write_text(yaml.safe_dump({"studies": [ROW, {**ROW, "id": "toy2", "role": "training",
                                                   "fit": {"type": "bound"}}]}))
    r = CliRunner().invoke(app, ["validate", "--studies", str(f), "--json", "--out",
                                 str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["n_rows"] == 2 and set(d["counts"]) == {"training", "validation"}
    assert set(d["rows"][0]) >= {"study", "regimen", "endpoint", "published", "model_median",
                                 "model_p5", "model_p95", "agree", "role", "rule"}
    assert json.loads((tmp_path / "o" / "validate.json").read_text())["n_rows"] == 2
    assert (tmp_path / "o" / "validate.txt").read_text().startswith("study | regimen")


def test_a_stop_keeps_the_finished_rows_flagged(tmp_path: Path) -> None:
    """The interruption contract (il2sim._interrupt): a stop asked before the first simulation
    keeps no row, and the report says so (interrupted, done 0 of 2)."""
    import yaml

    from il2sim._interrupt import interruptible
    from il2sim.validate.library import run_studies

    f = tmp_path / "mine.yaml"
    f.write_text(yaml.safe_dump({"studies": [ROW, {**ROW, "id": "toy2"}]}))
    with interruptible() as stop:
        stop.set()
        assert run_studies(load_studies(f)) == ()
    from il2sim.validate import ValidationReport

    rep = ValidationReport((), 2026, str(f), asked=2)
    d = rep.to_dict()
    assert rep.interrupted and (d["interrupted"], d["done"], d["asked"]) == (True, 0, 2)


def test_cli_binary_studies_file_exits_2_with_one_line(tmp_path: Path) -> None:
    """A study file that is not UTF-8 text: exit 2, one line naming ``studies`` (stop 21: a
    UnicodeDecodeError traceback)."""
    import subprocess
    import sys

    f = tmp_path / "binary.bin"
    f.write_bytes(bytes(range(256)) * 4)
    r = subprocess.run([sys.executable, "-m", "il2sim.cli.main", "validate", "--studies", str(f)],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "studies" in lines[0] and "Traceback" not in r.stderr, r.stderr


def test_cli_model_version_v1_is_refused_with_one_line() -> None:
    """validate runs model v2 (the study library has T-cell endpoints v1 does not declare)."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "il2sim.cli.main", "validate", "--model-version",
                        "v1"], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2 and "model-version" in r.stderr and "Traceback" not in r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.strip()]) == 1, r.stderr
