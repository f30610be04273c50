"""``il2sim optimise``: the search space, the Pareto front and the pick (hand-worked rows), the
intervals (closed forms), the pick checked by an independent ``il2sim simulate`` run, the
report files, resume, and bad input (exit 2, one line)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from il2sim.cli.main import main
from il2sim.errors import InputError
from il2sim.optimise import SearchSpace, pareto_front, pick
from il2sim.trial.regimens import wilson_interval

EFF = "nk_fold>=3@day56"
#: A small search: 1.25 and 1.5 MIU/m2 daily and every other day (4 regimens, the reference
#: 1.25 MIU/m2 daily among them), 40 virtual patients each.
ARGS = ["optimise", "--doses", "1.25,1.5", "--intervals", "qd,q2d", "--patients", "40",
        "--seed", "7", "--n-boot", "200", "--dlt-target", "0.25", "--efficacy", EFF, "--json"]  # fmt: skip


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_space_texts_parse_and_include_the_reference() -> None:
    from il2sim.regimen.spec import parse_spec

    sp = SearchSpace(doses_per_m2=(1.0,), flat_doses=(2.0,), intervals=("qd", "weekly"),
                     routes=("sc", "iv"), days=28)  # fmt: skip
    texts = sp.texts()
    assert texts[0] == "1 MIU/m2 sc qd x28d" and "2 MIU iv bolus qw x28d" in texts
    assert texts[-1] == "1.25 MIU/m2 sc qd x90d" and len(texts) == 9
    weekly = parse_spec("2 MIU iv bolus qw x28d")
    assert [e.time_day for e in weekly.events] == [0.0, 7.0, 14.0, 21.0]
    qd = parse_spec(SearchSpace().reference)
    assert [e.time_day for e in qd.events] == [float(d) for d in range(90)]  # the seed's


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"intervals": ("qd", "q5d")}, "intervals"), ({"routes": ("im",)}, "routes"),
        ({"doses_per_m2": (-1.0,)}, "doses"), ({"doses_per_m2": (), "flat_doses": ()}, "doses"),
        ({"days": 1}, "days"), ({"reference": "1.25 MIU/m2 sc qd bid x5"}, "reference"),
    ],
)  # fmt: skip
def test_space_rejects(kw: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as e:
        SearchSpace(**kw)
    assert field in str(e.value)


ROWS = [
    {"regimen": "a", "p_eff": 0.50, "p_dlt": 0.05, "p_dlt_hi": 0.08},
    {"regimen": "b", "p_eff": 0.80, "p_dlt": 0.20, "p_dlt_hi": 0.27},
    {"regimen": "c", "p_eff": 0.70, "p_dlt": 0.22, "p_dlt_hi": 0.24},  # dominated by b
    {"regimen": "d", "p_eff": 0.90, "p_dlt": 0.40, "p_dlt_hi": 0.45},
    {"regimen": "e", "p_eff": 0.80, "p_dlt": 0.20, "p_dlt_hi": 0.30},  # ties b exactly
]


def test_pareto_front_and_pick_hand_worked() -> None:
    assert [r["regimen"] for r in pareto_front(ROWS)] == ["a", "b", "e", "d"]
    assert pick(ROWS, 0.25)["regimen"] == "b"  # e ties b: the earlier candidate
    assert pick(ROWS, 0.25, "p_dlt_hi")["regimen"] == "c"  # b's upper bound is over 0.25
    assert pick(ROWS, 0.5)["regimen"] == "d"
    assert pick(ROWS, 0.01) is None


def test_wilson_interval_closed_form() -> None:
    """Wilson (1927): 8/10 -> [0.4902, 0.9433] (Agresti & Coull 1998, Am Stat 52:119, table 1
    style check by the closed form); 0/n has lower bound 0, n/n upper bound 1."""
    lo, hi = wilson_interval(8, 10)
    z = 1.959963984540054
    c = (0.8 + z * z / 20) / (1 + z * z / 10)
    h = z * math.sqrt(0.8 * 0.2 / 10 + z * z / 400) / (1 + z * z / 10)
    assert (lo, hi) == pytest.approx((c - h, c + h)) and lo == pytest.approx(0.4902, abs=1e-4)
    assert wilson_interval(0, 20)[0] == 0.0 and wilson_interval(20, 20)[1] == 1.0


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    import contextlib
    import io

    out = tmp_path_factory.mktemp("opt") / "o"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit) as exc:
        main([*ARGS, "--out", str(out)])
    assert exc.value.code == 0
    return out, json.loads(buf.getvalue())


def test_pick_is_within_target_and_at_least_the_reference(search: tuple[Path, dict]) -> None:
    _, res = search
    assert res["n_regimens"] == 4 and res["interrupted"] is False
    p, ref = res["pick"], res["reference_result"]
    assert ref["regimen"] == "1.25 MIU/m2 sc qd x90d"
    assert p["p_dlt"] <= 0.25 and p["p_eff"] >= ref["p_eff"] and res["pick_beats_reference"]
    for r in res["regimens"]:
        assert r["p_eff_lo"] <= r["p_eff"] <= r["p_eff_hi"]
        assert r["p_dlt_lo"] <= r["p_dlt"] <= r["p_dlt_hi"] and r["n"] == 40
    assert set(res["pareto_front"]) <= {r["regimen"] for r in res["regimens"]}


def test_pick_checked_by_an_independent_simulate_run(
    search: tuple[Path, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    """``il2sim simulate`` of the pick (same patients: --patients 40 --seed 7) gives the same
    P(DLT); its efficacy, recomputed here from the model's NK time course (day 56 over day 1),
    is the optimiser's P(efficacy); and the reference's is lower or equal."""
    from il2sim.population import Population
    from il2sim.regimen.spec import parse_spec
    from il2sim.simulate import simulate

    _, res = search
    for key in ("pick", "reference_result"):
        r = res[key]
        code, out, err = _run(["simulate", "--regimen", r["regimen"], "--patients", "40",
                               "--seed", "7", "--horizon-days", "90", "--json"], capsys)  # fmt: skip
        assert code == 0, err
        assert json.loads(out)["dlt_probability"] == pytest.approx(r["p_dlt"], rel=1e-9)
        sim = simulate(parse_spec(r["regimen"]), Population.sample(40, 7), horizon_day=90.0,
                       output_times_day=np.array([0.0, 28.0, 55.0]))  # fmt: skip
        nk = sim.nk_per_ul
        assert float(np.mean(nk[:, 2] / nk[:, 0] >= 3.0)) == pytest.approx(r["p_eff"], abs=1e-12)
    assert res["pick"]["p_eff"] >= res["reference_result"]["p_eff"]


def test_report_files(search: tuple[Path, dict]) -> None:
    import csv

    out, res = search
    assert sorted(p.name for p in out.iterdir()) == [
        "optimise.json", "pareto.csv", "pareto.png", "report.md", "store",
    ]  # fmt: skip
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text()
    assert "![P(efficacy) vs P(DLT)](pareto.png)" in md and res["pick"]["regimen"] in md
    rows = list(csv.DictReader((out / "pareto.csv").open()))
    assert len(rows) == 4 and {r["on_front"] for r in rows} <= {"True", "False"}
    assert json.loads((out / "optimise.json").read_text())["pick"] == res["pick"]


def test_rerun_resumes_from_the_store(
    search: tuple[Path, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    out, res = search
    before = {p: p.stat().st_mtime_ns for p in (out / "store").rglob("*.parquet")}
    code, text, err = _run([*ARGS, "--out", str(out)], capsys)
    assert code == 0, err
    assert json.loads(text)["regimens"] == res["regimens"]
    assert {p: p.stat().st_mtime_ns for p in before} == before  # nothing ran again


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--efficacy", "foo_fold>=3@day56"], "efficacy"),
        (["--efficacy", "nk_fold>=3@day120"], "efficacy"),
        (["--dlt-target", "1.5"], "--dlt-target"),
        (["--dlt-target", "0"], "--dlt-target"),
        (["--intervals", "qd,monthly"], "intervals"),
        (["--routes", "oral"], "routes"),
        (["--doses", "1,-2"], "doses"),
        (["--patients", "0"], "--patients"),
        (["--days", "1"], "days"),
        (["--reference", "1 MIU sc qd bid x5"], "reference"),
    ],
)
def test_bad_input_exit_2_one_line(
    tmp_path: Path, extra: list[str], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run([*ARGS, "--out", str(tmp_path / "o"), *extra], capsys)
    lines = [x for x in err.splitlines() if x.strip()]
    assert code == 2 and len(lines) == 1 and field in lines[0], err
    assert "Traceback" not in err and not (tmp_path / "o").exists()
