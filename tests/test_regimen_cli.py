"""`il2sim regimen show|convert` through il2sim.cli.main.main (exit codes, JSON, files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from il2sim.cli.main import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else int(code)), out, err


def test_show_json_prints_the_90_seed_events(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["regimen", "show", "1.25 MIU/m2 sc qd x90", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["spec"] == "1.25 MIU/m2 sc qd x90"
    assert data["n_events"] == 90
    assert [e["time_day"] for e in data["events"]] == [float(d) for d in range(90)]
    assert {e["unit"] for e in data["events"]} == {"MIU/m2"}
    assert {e["route"] for e in data["events"]} == {"sc"}
    assert all(e["amount_iu"] is None for e in data["events"])  # per m2, no BSA given


def test_show_json_with_bsa(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["regimen", "show", "1.25 MIU/m2 sc qd x2 + 15 MIU sc @1", "--json", "--bsa", "1.8"], capsys
    )
    assert code == 0
    data = json.loads(out)
    assert data["bsa_m2"] == 1.8
    assert [e["amount_iu"] for e in data["events"]] == pytest.approx([2.25e6, 2.25e6, 15e6])
    assert [e["time_h"] for e in data["events"]] == [0.0, 24.0, 24.0]


def test_show_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["regimen", "show", "0.45 MIU/m2/day iv infusion x56d", "--bsa", "2"], capsys
    )
    assert code == 0
    assert "iv infusion" in out
    assert "56 d" in out
    assert "50,400,000" in out  # 0.45 MIU/m2/day * 56 d * 2 m2
    assert "1 events" in out


def test_convert_to_nonmem_and_show_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "doses.csv"
    code, out, _ = run(
        [
            "regimen",
            "convert",
            "1.25 MIU/m2 sc qd x90",
            "--to-nonmem",
            str(path),
            "--bsa",
            "1.8",
            "--addl",
        ],
        capsys,
    )
    assert code == 0
    assert "wrote 1 rows" in out
    df = pd.read_csv(path)
    assert df[["TIME", "AMT", "II", "ADDL", "CMT", "EVID"]].values.tolist() == [
        [0.0, 2.25e6, 24.0, 89, 1, 1]
    ]
    code, out, _ = run(["regimen", "show", "--events", str(path), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["ids"]["1"]["n_events"] == 90
    code, out, _ = run(["regimen", "convert", "--events", str(path)], capsys)
    assert code == 0
    assert out.strip() == "1: 2250000 IU sc qd x90"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["regimen", "show", "-1 MIU/m2 sc qd x5"], "dose: must be positive, got -1.0"),
        (["regimen", "show", "1 MIU/m2 po qd x5"], "route: unknown route 'po'"),
        (["regimen", "show", "1 MIU/m2 sc qd x5", "--bsa", "-2"], "bsa: must be a body-surface"),
        (["regimen", "show", "1 MIU/m2 sc qd x5", "--bsa", "1e300"], "between 0.05 and 5 m2"),
        (["regimen", "show", "1 MIU/m2 sc qd x5", "--bsa", "nan"], "--bsa: must be a finite number"),
        (
            ["regimen", "convert", "1 MIU sc", "--to-nonmem", "/tmp"],
            "--to-nonmem: is an existing folder",
        ),
        (["regimen", "show", "1 MIU/m2 sc qd bid x5"], "frequency: a second frequency needs"),
        (["regimen", "show"], "give either SPEC or --events"),
        (["regimen", "show", "--events", "/nonexistent/x.csv"], "events: no such file"),
        (
            ["regimen", "convert", "1 MIU/m2 sc", "--to-nonmem", "/tmp/never-written.csv"],
            "per-m2 doses need --bsa",
        ),
    ],
)
def test_user_errors_exit_2_with_one_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert needle in err
    assert "Traceback" not in err


def test_bad_table_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("ID,TIME\n1,0\n")
    code, _, err = run(["regimen", "show", "--events", str(path)], capsys)
    assert code == 2
    assert err.strip() == "il2sim: error: columns: missing column(s) AMT; have ID, TIME"


def test_subprocess_error_has_no_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "il2sim.cli.main", "regimen", "show", "1 XYZ sc"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "il2sim: error: unit: unknown unit 'XYZ' (expected IU, kIU, MIU, ug or mg)"
    )
