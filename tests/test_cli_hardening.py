"""Issue 16's failures, each at the CLI: exit code 2, one line naming the field, no traceback,
nothing written; and the cases that must still run."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from il2sim.cli.main import main

REG = "1 MIU sc qd x3"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


_FIT_DATA = Path(__file__).with_name("data") / "fit_tiny.csv"

CASES: list[tuple[list[str], str]] = [
    # negative and huge seeds, every command that takes one
    (["simulate", "--regimen", REG, "--seed", "-1"], "--seed: must be a whole number in 0..2^63-1"),
    (["simulate", "--regimen", REG, "--seed", str(2**63)], "--seed: must be a whole number"),
    (["design", "simulate", "--design", "3+3", "--truth", "0.1,0.2", "--seed", "-5"], "--seed:"),
    (["trial", "--seed", "-1"], "--seed: must be a whole number in 0..2^63-1"),
    (["reproduce", "--seed", "-1"], "--seed:"),
    (["calibrate", "--seed", "-1"], "--seed:"),
    (["export", "sbml", "--regimen", REG, "--out", "m.xml", "--seed", "-1"], "--seed:"),
    (["export", "nonmem", "--regimen", REG, "--out", "d.csv", "--seed", "-1"], "--seed:"),
    (["sweep", "run", "--kind", "design", "-p", "design=3+3", "--seed", "-1"], "--seed:"),
    # NaN, inf, subnormal, non-ASCII digits in number options
    (["simulate", "--regimen", REG, "--horizon-days", "nan"], "--horizon-days: must be a finite"),
    (["simulate", "--regimen", REG, "--horizon-days", "inf"], "--horizon-days: must be a finite"),
    (["simulate", "--regimen", REG, "--horizon-days", "1e-320"], "subnormal"),
    (
        ["simulate", "--regimen", REG, "--patients", "١٢"],
        "--patients: must be a whole number written",
    ),
    (["simulate", "--regimen", REG, "--patients", "１２"], "ASCII digits"),
    (["design", "next", "--design", "boin", "--target", "٠.٣", "--n-doses", "3"], "--target:"),
    (["design", "next", "--design", "boin", "--n-doses", "3", "-O", "phi1=٠.١"], "ASCII digits"),
    (["design", "exact", "--design", "3+3", "--truth", "0.1,١"], "truth: must be a number"),
    (
        ["design", "next", "--design", "3+3", "--n-doses", "3", "--outcomes", "1NNN ٢NTN"],
        "outcomes",
    ),
    (["design", "next", "--design", "3+3", "--n-doses", "3", "--outcomes", "１NNN"], "outcomes"),
    (["regimen", "show", "1 MIU sc qd x٣"], "count"),
    (["regimen", "show", "1e-320 MIU sc"], "dose:"),
    (["regimen", "show", "١ MIU sc"], ""),
    (["regimen", "show", "1 MIU/m2 sc", "--bsa", "1e300"], "bsa: must be a body-surface area"),
    (["export", "nonmem", "--regimen", REG, "--out", "d.csv", "--every", "nan"], "--every"),
    (["design", "next", "--design", "boin", "--n-doses", "3", "-O", "phi1=abc"], "phi1"),
    (
        [
            "design",
            "next",
            "--design",
            "boin",
            "--target",
            "0.3",
            "--n-doses",
            "3",
            "-O",
            "phi1=1e-320",
        ],
        "phi1: must be 0 or at least",
    ),
    (
        ["design", "next", "--design", "boin", "--n-doses", "3", "-O", "phi1=nan"],
        "phi1: must be a finite",
    ),
    # resource limits: refused at once, naming the limit and the estimate
    (["simulate", "--regimen", REG, "--patients", str(10**12)], "limit patients"),
    (["simulate", "--regimen", REG, "--horizon-days", "1e7"], "--horizon-days: must be <= 3650"),
    (
        [
            "simulate",
            "--regimen",
            REG,
            "--patients",
            "20000",
            "--horizon-days",
            "3000",
            "--out",
            "x.parquet",
        ],
        "values kept in memory",
    ),
    (
        ["design", "simulate", "--design", "3+3", "--truth", "0.1,0.2", "--trials", str(10**12)],
        "limit trials",
    ),
    (
        [
            "design",
            "simulate",
            "--design",
            "3+3",
            "--truth",
            "0.1,0.2",
            "--trials",
            "90000000",
            "--cohorts",
            "1000",
        ],
        "trials x cohorts",
    ),
    (
        ["design", "simulate", "--design", "3+3", "--truth", "0.1,0.2", "--cohorts", str(10**9)],
        "limit cohorts",
    ),
    (["design", "next", "--design", "3+3", "--n-doses", str(10**9)], "limit n_doses"),
    (["regimen", "show", "1 MIU sc qd x99999999999"], "more than the limit of 100,000"),
    (["regimen", "show", "1 MIU sc qd x3 q14d x999999999"], "more than the limit"),
    (["trial", "--trials", "3", "--pool-size", str(10**12)], "--pool-size"),
    (["trial", "--trials", "3", "--pool-size", "500000"], "replicate pools"),
    (
        [
            "design",
            "paths",
            "--design",
            "crm",
            "--skeleton",
            "0.1,0.2,0.3",
            "--target",
            "0.3",
            "--cohort-size",
            "3",
            "--max-patients",
            "60",
            "--cohorts-ahead",
            "12",
        ],
        "path_nodes",
    ),
    (
        [
            "design",
            "paths",
            "--design",
            "boin",
            "--target",
            "0.3",
            "--n-doses",
            "3",
            "--max-patients",
            "300",
            "--cohorts-ahead",
            "50",
        ],
        "cohorts_ahead",
    ),
    # --every has a floor of one minute (docs/limits.md); a fine grid that is allowed still
    # counts its output times towards STORED_VALUES
    (["export", "nonmem", "--regimen", REG, "--out", "d.csv", "--every", "1e-6"],
     "--every: must be at least 1 minute (0.0167 hours), got 1e-06"),
    (["export", "nonmem", "--regimen", REG, "--out", "d.csv", "--every", "0.0166"],
     "--every: must be at least 1 minute"),
    (["export", "nonmem", "--regimen", REG, "--out", "d.csv", "--every", "0.0167",
      "--patients", "10000", "--horizon-days", "365"], "524,552 output times"),
    # sensitivity (found by the 30-minute make fuzz of stop 21: --factor 1e7 ran > 20 min in
    # one kernel call; --n 1e12 was a MemoryError traceback, --n 1e8 allocated for minutes)
    (["sensitivity", "--n", "1000000000000"], "model evaluations"),
    (["sensitivity", "--n", "100000000", "--method", "morris"], "MODEL_EVALUATIONS"),
    (["sensitivity", "--factor", "1e7"], "--factor: needs 1e+07 fold width"),
    (["sensitivity", "--factor", "1"], "--factor: must be > 1"),
    (["params", "--parameters", "x" * 300], "parameters: has a name longer than 255 bytes"),
    # found by the 30-minute make fuzz of stop 21: names the OS cannot take, a file as parent
    (["audit", "verify", "--db", "x" * 300], "db: has a name longer than 255 bytes"),
    (["serve", "--tls-cert", "x" * 300, "--tls-key", "k.pem"], "tls_cert: has a name longer"),
    (["simulate", "--events", "x" * 300], "events: has a name longer than 255 bytes"),
    (["fit", str(_FIT_DATA), "--params", "f_sc", "--out", f"{__file__}/sub"], "--out:"),
    # estimation counts (fit --chains 1e9 took 3.4 GB in 40 s before the range)
    (["fit", "d.csv", "--chains", "1000000000"], "--chains: must be a whole number in 1..100"),
    (["fit", "d.csv", "--is-samples", str(10**12)], "--is-samples: must be a whole number"),
    (["fit", "d.csv", "--npde-replicates", str(10**12)], "--npde-replicates:"),
    (["fit", "d.csv", "--conditional", str(10**12)], "--conditional:"),
    (["vpc", "d.csv", "--parameters", "p.toml", "--n-sim", str(10**12)], "--n-sim:"),
    (["vpc", "d.csv", "--parameters", "p.toml", "--bins", "0"], "--bins:"),
    (["sensitivity", "--parameters", "x" * 300], "parameters: has a name longer than 255"),
    # found by the lead's 30-minute make fuzz on main after the stop-21 merges
    (["regimen", "show", "--events", "x" * 300], "events: has a name longer than 255 bytes"),
    (["regimen", "convert", "--events", "x" * 300], "events: has a name longer than 255 bytes"),
    (["vpc", "d.csv", "--parameters", "p.toml", "--out", __file__], "--out: "),
    (["export", "nonmem", "--regimen", REG, "--out", "d.csv", "--every", "2.2250738585072014e-308"],
     "--every: must be at least 1 minute"),  # OverflowError traceback at 27c7e11 (h / step = inf)
    # sweeps
    (
        ["sweep", "run", "--kind", "design", "-p", "design=3+3", "--scheduler", "not a url"],
        "scheduler: must be a scheduler address",
    ),
    (
        [
            "sweep",
            "run",
            "--kind",
            "design",
            "-p",
            "design=3+3",
            "--scheduler",
            "tcp://127.0.0.1:9",
        ],
        "no scheduler answers there",
    ),
]


@pytest.mark.parametrize(("argv", "needle"), CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_refused_with_one_line(
    argv: list[str], needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    t0 = time.perf_counter()
    code, _, err = _run(argv, capsys)
    assert code == 2, err
    assert err.startswith("il2sim: error: ") and err.count("\n") == 1, err
    assert needle in err
    assert "Traceback" not in err
    assert time.perf_counter() - t0 < 30
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_design_paths_of_a_3_plus_3_may_look_far_ahead(capsys: pytest.CaptureFixture[str]) -> None:
    """An A+B design stops on its own: 50 cohorts ahead is a small tree, computed."""
    code, out, _ = _run(["design", "paths", "--design", "3+3", "--n-doses", "3",
                         "--cohorts-ahead", "50", "--json"], capsys)  # fmt: skip
    assert code == 0 and '"nodes"' in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["simulate", "--regimen", REG, "--patients", "2", "--out", "DIR"], "existing folder"),
        (["report", "TRIAL", "--out", "DIR"], "existing folder"),
        (["export", "sbml", "--regimen", REG, "--out", "DIR"], "existing folder"),
        (["regimen", "convert", REG, "--to-nonmem", "DIR"], "existing folder"),
        (["trial", "--out", "FILE"], "existing file, expected a folder"),
        (["reproduce", "--out", "FILE"], "existing file, expected a folder"),
        (["analyze", "TRIAL", "--out", "FILE"], "existing file, expected a folder"),
        (
            ["sweep", "run", "--kind", "design", "-p", "design=3+3", "--out", "FILE"],
            "existing file",
        ),
        (
            ["simulate", "--regimen", REG, "--patients", "2", "--out", "FILE/x.parquet"],
            "a parent is a file",
        ),
    ],
)
def test_out_of_the_wrong_kind_is_refused_before_the_work(
    argv: list[str], needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import shutil

    shutil.copytree(Path(__file__).parent / "data" / "sdtm_full", tmp_path / "TRIAL")
    (tmp_path / "DIR").mkdir()
    (tmp_path / "FILE").write_text("keep\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(argv, capsys)
    assert (code == 2 and needle in err and "--out" in err) or "--to-nonmem" in err, err
    assert (tmp_path / "FILE").read_text() == "keep\n"
    assert list((tmp_path / "DIR").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["DIR", "FILE", "TRIAL"]


def test_failed_run_leaves_an_existing_file_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run that fails half-way through writing --out leaves the old file and no temporary."""
    import pandas as pd

    from il2sim.errors import InputError

    def half_then_fail(self: pd.DataFrame, path: object, **kw: object) -> None:
        Path(str(path)).write_text("ID,TIME\n1,")
        raise InputError("disk full (simulated)", field="out")

    out = tmp_path / "d.csv"
    out.write_text("old\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    argv = ["export", "nonmem", "--regimen", REG, "--patients", "2", "--out", str(out)]
    code, _, err = _run(argv, capsys)
    assert code == 2 and "disk full" in err
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["d.csv"]


def test_limit_override_lets_a_long_horizon_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IL2SIM_LIMIT_HORIZON_DAYS", "4000")
    code, out, _ = _run(["simulate", "--regimen", REG, "--patients", "2", "--horizon-days",
                         "3700", "--json"], capsys)  # fmt: skip
    assert code == 0 and '"patients": 2' in out


def test_warnings_become_notes(capsys: pytest.CaptureFixture[str]) -> None:
    import warnings

    import il2sim.cli.main as cli

    @cli.app.command("warn-once-test", hidden=True)
    def _warn() -> None:
        import numpy as np

        with np.errstate(over="warn"):
            np.float64(1e308) * 10
        warnings.warn("second", RuntimeWarning, stacklevel=1)
        warnings.warn("second", RuntimeWarning, stacklevel=1)
        # no note: a Ctrl-C during start-up's imports left a .pyc reader open and its
        # ResourceWarning became a second stderr line (two interrupt tests, stop 26)
        warnings.warn("unclosed file <_io.BufferedReader>", ResourceWarning, stacklevel=1)

    try:
        code, _, err = _run(["warn-once-test"], capsys)
    finally:
        cli.app.registered_commands = [
            c for c in cli.app.registered_commands if c.name != "warn-once-test"
        ]
    assert code == 0
    lines = err.strip().splitlines()
    assert lines == [
        "il2sim: note: RuntimeWarning: overflow encountered in scalar multiply",
        "il2sim: note: RuntimeWarning: second",
    ]
    assert os.linesep not in lines[0]


def _sweep_store(root: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    argv = ["sweep", "run", "--kind", "design", "-p", "design=3+3,4+5", "-p",
            "truth=[0.1,0.2,0.3]", "--chunk-size", "10", "--out", str(root / "st"),
            "--no-progress"]  # fmt: skip
    code, _, err = _run(argv, capsys)
    assert code == 0, err
    return root / "st"


@pytest.mark.parametrize("damage", [b"", b"PAR1 not parquet at all PAR1", b"\x00\x01binary"])
def test_sweep_summary_names_an_empty_or_corrupt_chunk(
    damage: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _sweep_store(tmp_path, capsys)
    chunk = sorted((store / "chunks").iterdir())[0]
    chunk.write_bytes(damage)
    code, _, err = _run(["sweep", "summary", str(store)], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert f"unreadable chunk file {chunk.name}" in err and "re-run" in err


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a UTF-8 text file"),
        (
            (
                "a: &a [x, x, x, x, x, x, x, x, x]\n"
                + "".join(
                    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
                    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
                )
            ).encode(),
            "YAML aliases",
        ),
    ],
    ids=["binary", "alias-bomb"],
)
def test_sweep_grid_files_that_cannot_be_read(
    content: bytes, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_bytes(content)
    t0 = time.perf_counter()
    code, _, err = _run(["sweep", "run", str(grid), "--out", str(tmp_path / "st")], capsys)
    assert code == 2 and needle in err, err
    assert time.perf_counter() - t0 < 20
    assert not (tmp_path / "st").exists()
