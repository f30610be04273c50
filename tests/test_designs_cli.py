"""``il2sim design ...``: the CLI contract (JSON keys, 1-based doses, exit code 2 on bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from il2sim.cli.main import main

TRUTH = "0.05,0.15,0.3,0.45,0.6"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    code = exc.value.code if isinstance(exc.value.code, int) else 0
    return code, out.out, out.err


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    code, out, err = _run([*args, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


CONTRACT_KEYS = {
    "selection_pct",
    "none_selected_pct",
    "patients_per_dose",
    "dlts_per_dose",
    "mean_patients",
    "stopped_early_pct",
}


def test_simulate_boin_contract(capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(
        [
            "design", "simulate", "--design", "boin", "--target", "0.3", "--truth", TRUTH,
            "--cohort-size", "3", "--cohorts", "10", "--start-dose", "1", "--trials", "2000",
            "--seed", "1",
        ],
        capsys,
    )  # fmt: skip
    assert CONTRACT_KEYS <= set(d)
    assert len(d["selection_pct"]) == 5
    assert sum(d["selection_pct"]) + d["none_selected_pct"] == pytest.approx(100.0)
    assert sum(d["patients_per_dose"]) == pytest.approx(d["mean_patients"])
    assert d["mean_patients"] <= 30


def test_simulate_three_plus_three_and_a_plus_b(capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(
        ["design", "simulate", "--design", "3+3", "--truth", TRUTH, "--trials", "500"], capsys
    )
    assert CONTRACT_KEYS <= set(d) and d["design"] == "3+3a"
    d = _json(
        [
            "design", "simulate", "--design", "a+b", "--a", "4", "--b", "5", "--c", "0",
            "--d", "1", "--e", "1", "--truth", TRUTH, "--trials", "500", "--target", "0.3",
        ],
        capsys,
    )  # fmt: skip
    assert CONTRACT_KEYS <= set(d) and d["overdosed_pct"] is not None
    # rules force the generic loop: still the same keys
    d = _json(
        [
            "design", "simulate", "--design", "3+3", "--truth", TRUTH, "--trials", "100",
            "--stop-n-mtd", "6",
        ],
        capsys,
    )  # fmt: skip
    assert CONTRACT_KEYS <= set(d) and d["n_trials"] == 100


def test_exact_three_plus_three_b(capsys: pytest.CaptureFixture[str]) -> None:
    """dose-finding.md 3+3 table, row 1, variant B: .4445 .3590 .1702 .0254 .0009 .0000."""
    d = _json(["design", "exact", "--design", "3+3b", "--truth", ".25,.35,.50,.65,.80"], capsys)
    assert d["method"] == "exact"
    got = [round(v / 100, 4) for v in [d["none_selected_pct"], *d["selection_pct"]]]
    assert got == [0.4445, 0.3590, 0.1702, 0.0254, 0.0009, 0.0000]


def test_exact_refuses_non_enumerable(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        ["design", "exact", "--design", "boin", "--target", "0.3", "--truth", TRUTH], capsys
    )
    assert code == 2 and "A+B" in err and len(err.strip().splitlines()) == 1


def test_next_outcome_string_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(
        ["design", "next", "--design", "3+3", "--n-doses", "5", "--outcomes", "1NNN 2NTN"],
        capsys,
    )
    assert d["next_dose"] == 2 and d["cohort_size"] == 3 and d["stop"] is False
    assert d["estimates"]["dose"] == [1, 2, 3, 4, 5]
    table = tmp_path / "out.csv"
    table.write_text("dose,dlt,cohort\n1,0,1\n1,0,1\n1,0,1\n2,0,2\n2,1,2\n2,0,2\n")
    d2 = _json(
        ["design", "next", "--design", "3+3", "--n-doses", "5", "--outcomes-file", str(table)],
        capsys,
    )
    assert d2["outcomes"] == "1NNN 2NTN" and d2["next_dose"] == d["next_dose"]
    d3 = _json(
        [
            "design", "next", "--design", "boin", "--target", "0.3", "--n-doses", "5",
            "--outcomes", "1NNN 2NTN",
        ],
        capsys,
    )  # fmt: skip
    assert d3["next_dose"] in (1, 2, 3)


def test_text_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["design", "boundaries", "--design", "boin", "--target", "0.3"], capsys)
    assert code == 0
    # BOIN package table, dose-finding.md: escalate <= 0 0 0 0 1 1 1 1 2 2 at n = 1..10
    row = next(line for line in out.splitlines() if line.startswith("Escalate if"))
    assert row.split()[-30:-20] == ["0", "0", "0", "0", "1", "1", "1", "1", "2", "2"]
    code, out, _ = _run(
        ["design", "paths", "--design", "3+3", "--truth", TRUTH, "--outcomes", "1NNN"], capsys
    )
    assert code == 0 and "2NNT -> next 2" in out
    code, out, _ = _run(
        ["design", "simulate", "--design", "3+3", "--truth", TRUTH, "--trials", "50"], capsys
    )
    assert code == 0 and "selection %" in out


def test_paths_json(capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(
        [
            "design", "paths", "--design", "3+3", "--n-doses", "5", "--outcomes", "1NNN",
            "--cohorts-ahead", "2", "--truth", TRUTH,
        ],
        capsys,
    )  # fmt: skip
    assert d["nodes"][0]["next_dose"] == 2
    assert d["nodes"][1]["path"] == "2NNN"
    # P(0/3 at dose 2) = 0.85^3
    assert d["nodes"][1]["probability"] == pytest.approx(0.85**3)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["simulate", "--design", "boin", "--target", "1.3", "--truth", TRUTH], "target"),
        (["simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,1.2"], "truth"),
        (["next", "--design", "3+3", "--n-doses", "3", "--outcomes", "1NXN"], "outcomes"),
        (["next", "--design", "3+3", "--n-doses", "3", "--outcomes", "1NNN 4NNN"], "outcomes"),
        (["next", "--design", "3+3", "--n-doses", "3", "--start-dose", "4"], "start_dose"),
        (["next", "--design", "nope", "--n-doses", "3"], "design"),
        (["next", "--design", "3+3", "--n-doses", "3", "--a", "4"], "a"),
        (["simulate", "--design", "3+3", "--truth", TRUTH, "--trials", "0"], "trials"),
    ],
)
def test_impossible_input_exit_2(args, field, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(["design", *args], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"{field}:" in lines[0] and "Traceback" not in err


def test_next_crm_reproduces_dfcrm_example(capsys: pytest.CaptureFixture[str]) -> None:
    """dfcrm crm() example (dose-finding.md): beta mean -0.2121715, var 0.1575955, next 2."""
    d = _json(
        [
            "design", "next", "--design", "crm", "--skeleton", "0.05,0.10,0.20,0.35,0.50,0.70",
            "--target", "0.2", "--outcomes", "3N 4N 4T 3N 3N 4T 3T 2N 2N 2N",
        ],
        capsys,
    )  # fmt: skip
    assert d["next_dose"] == 2
    assert round(d["estimates"]["beta"], 7) == -0.2121715
    assert round(d["estimates"]["beta_var"], 7) == 0.1575955


def test_skeleton_not_increasing_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(
        ["design", "next", "--design", "crm", "--skeleton", "0.05,0.3,0.2", "--target", "0.2"],
        capsys,
    )
    assert code == 2 and err.startswith("il2sim: error: skeleton:")


def test_one_vocabulary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """-O/--option is a design option, -o/--out an output path, --trials the number of
    simulated trials (design simulate, trial, reproduce)."""
    base = ["design", "simulate", "--design", "boin", "--target", "0.3", "--truth", TRUTH,
            "--cohorts", "3", "--trials", "20"]  # fmt: skip
    assert _json([*base, "-O", "phi1=0.15"], capsys) == _json(
        [*base, "--option", "phi1=0.15"], capsys
    )
    code, _, err = _run([*base, "-o", "phi1=0.15"], capsys)
    assert code == 2 and "-o" in err
    from typer.main import get_command

    from il2sim.cli.main import app

    cmd = get_command(app)
    for path in (["trial"], ["reproduce"]):
        sub = cmd.commands[path[0]]  # type: ignore[attr-defined]
        names = {n for p in sub.params for n in p.opts}
        assert {"--out", "-o", "--trials"} <= names and "--replicates" not in names


def test_boundaries_of_every_interval_design(capsys: pytest.CaptureFixture[str]) -> None:
    """BOIN's table as the BOIN package prints it; mTPI-2, i3+3 and Keyboard from their decision
    tables (target 0.3: mTPI-2 and Keyboard give BOIN's escalation row up to n = 12)."""
    boin = _json(["design", "boundaries", "--design", "boin", "--cohorts", "4"], capsys)
    for name in ("mtpi2", "keyboard"):
        d = _json(["design", "boundaries", "--design", name, "--cohorts", "4"], capsys)
        assert d["n"] == boin["n"] == list(range(1, 13))
        assert d["escalate"] == boin["escalate"]
        assert d["eliminate"] == boin["eliminate"]
    i3 = _json(["design", "boundaries", "--design", "i3+3", "--cohorts", "1"], capsys)
    assert i3["escalate"] == [0, 0, 0] and i3["eliminate"] == [None, None, 3]
    d = _json(["design", "boundaries", "-O", "phi1=0.2", "-O", "elimination_cutoff=0.9"], capsys)
    assert d["phi1"] == 0.2 and d["cutoff_eli"] == 0.9
