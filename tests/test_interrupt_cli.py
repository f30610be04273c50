"""The interruption contract, table-driven over every long command (docs/interrupt.md, issue 17).

Each case runs the real CLI in a subprocess of its own session (tests/interrupt_runner.py) and
sends SIGINT to the whole process group at a known point: after the K-th progress report (so
the count that finished is known exactly), twice in a row, or before anything finished.  The
shared assertions: exit 130, one message line on stderr, no traceback (from the driver or any
worker), no partial or hidden files; each case adds its own (a result flagged ``"interrupted":
true`` whose counts match the line and what was written).  Workloads are tiny.

``LONG_COMMANDS`` lists every long command of the contract; ``test_every_long_command_has_a_case``
fails when one that exists in this checkout has no case in ``CASES``; a command that does not
exist here (``validate``, ``optimise`` arrive from other branches) is skipped with its reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

RUNNER = Path(__file__).with_name("interrupt_runner.py")
TIMEOUT_S = 240

#: Every long command of the contract (issue 17 item 3), as the words after ``il2sim``.
LONG_COMMANDS = (
    "simulate", "calibrate", "design simulate", "trial", "reproduce", "sweep run", "fit",
    "validate", "optimise",
)  # fmt: skip


@cache
def commands() -> frozenset[str]:
    """Every command path of the typer app (``"design simulate"``, ``"trial"``, ...)."""
    import typer

    from il2sim.cli.main import app

    found: set[str] = set()

    def walk(cmd: Any, prefix: str) -> None:  # typer's click command or group
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, f"{prefix} {name}".strip())
        else:
            found.add(prefix)

    walk(typer.main.get_command(app), "")
    return frozenset(found)


def exists(command: str) -> bool:
    """True if ``il2sim COMMAND`` exists (``optimise`` also as ``design optimise``)."""
    have = commands()
    return command in have or (command == "optimise" and "design optimise" in have)


def run(when: str, hook: str, *args: str, cwd: Path) -> tuple[int, str, str]:
    """Run ``il2sim ARGS`` under the runner; return (exit code, stdout, stderr)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="200")
    proc = subprocess.run(
        [sys.executable, str(RUNNER), when, hook, *args],
        capture_output=True, text=True, timeout=TIMEOUT_S, cwd=cwd, env=env,
        start_new_session=True,
    )  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


def message_lines(err: str) -> list[str]:
    """The non-blank lines of stderr (click writes one blank line after a ^C)."""
    return [line for line in err.splitlines() if line.strip()]


def assert_contract(rc: int, err: str) -> str:
    """Exit 130, one line, no traceback; return the line."""
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    lines = message_lines(err)
    assert rc == 130, (rc, err)
    assert len(lines) == 1, err
    assert lines[0].startswith("il2sim: interrupted"), err
    return lines[0]


def counts(line: str) -> tuple[int, int | None]:
    """(done, asked) from ``il2sim: interrupted: D of A ... finished`` (asked None: ``D ...``)."""
    words = line.split(": ", 2)[2].split()
    return int(words[0]), int(words[2]) if words[1] == "of" else None


def no_hidden(folder: Path) -> None:
    """No temporaries (``.name.il2sim-...``) or staging folders anywhere under ``folder``."""
    hidden = [p for p in folder.rglob(".*") if "il2sim" in p.name]
    assert hidden == [], hidden


# -- the cases: (command, id, when, hook, args with {tmp}, check(tmp, stdout, line)) ----------


def _simulate(tmp: Path, out: str, line: str) -> None:
    res: dict[str, Any] = json.loads(out)
    assert res["interrupted"] is True and res["asked"] == 3000
    assert 0 < res["done"] < 3000 and res["patients"] == res["done"]
    assert counts(line) == (res["done"], 3000)


def _simulate_parquet(tmp: Path, out: str, line: str) -> None:
    import pandas as pd

    res = json.loads(out)
    done, asked = counts(line)
    assert (res["done"], asked) == (done, 2500) and 0 < done < 2500
    assert pd.read_parquet(tmp / "out" / "courses.parquet")["patient"].nunique() == done


def _calibrate(tmp: Path, out: str, line: str) -> None:
    res = json.loads(out)
    assert res["interrupted"] is True and res["written_to"] is None
    assert (res["n_evaluations"], res["max_evaluations"]) == (2, 60)
    assert counts(line) == (2, 60)


def _design(tmp: Path, out: str, line: str) -> None:
    oc = json.loads(out)
    assert oc["interrupted"] is True
    assert 0 < oc["n_trials"] < oc["n_trials_requested"] == 400000
    assert counts(line) == (oc["n_trials"], 400000)


def _nothing(tmp: Path, out: str, line: str) -> None:
    assert out.strip() == "" and line == "il2sim: interrupted"


def _trial_one(tmp: Path, out: str, line: str) -> None:
    res = json.loads(out)
    assert res["interrupted"] is True and res["stop_reason"] == "interrupted"
    assert res["mtd_level"] is None and res["n_cohorts"] == 2
    assert counts(line) == (2, None) and "cohorts finished" in line
    saved = json.loads((tmp / "one" / "interrupted.json").read_text())
    assert saved["interrupted"] is True and saved["n_cohorts"] == 2
    assert saved["n_patients"] == res["n_patients"] == sum(res["patients_per_dose"])
    assert (tmp / "one" / "sdtm" / "dm.csv").is_file() and (tmp / "one" / "adam").is_dir()


def _trial_reps(tmp: Path, out: str, line: str) -> None:
    res = json.loads(out)
    assert res["interrupted"] is True
    assert (res["n_trials"], res["n_trials_requested"]) == (5, 200)
    assert counts(line) == (5, 200)
    saved = json.loads((tmp / "reps" / "replicates.json").read_text())
    assert saved["n_trials"] == 5 and saved["interrupted"] is True


def _reproduce(tmp: Path, out: str, line: str) -> None:
    res = json.loads(out)
    assert res["interrupted"] is True
    assert (res["n_replicates"], res["n_replicates_requested"]) == (3, 100)
    assert counts(line) == (3, 100)
    assert (tmp / "repro" / "reproduce.json").is_file() and (tmp / "repro" / "sdtm").is_dir()


SWEEP = ("sweep", "run", "--kind", "design", "--param", "design=3+3", "--param",
         "truth=[0.05,0.1,0.2];[0.1,0.2,0.3];[0.2,0.3,0.4]", "--chunks", "3", "--chunk-size", "200",
         "--seed", "3", "--no-progress", "--json", "--out", "{tmp}/store")  # fmt: skip


def _sweep(tmp: Path, out: str, line: str) -> None:
    rec = json.loads(out)
    assert rec["interrupted"] is True and (rec["done"], rec["asked"]) == (2, 9)
    assert counts(line) == (2, 9)
    args = [a.replace("{tmp}", str(tmp)) for a in SWEEP]
    done = subprocess.run(
        [sys.executable, "-m", "il2sim.cli.main", *args], capture_output=True, text=True,
        timeout=TIMEOUT_S, cwd=tmp,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    again = json.loads(done.stdout)
    assert (again["already_done"], again["ran"], again["interrupted"]) == (2, 7, False)


def _sweep_dask(tmp: Path, out: str, line: str) -> None:
    rec = json.loads(out)
    assert rec["interrupted"] is True and 1 <= rec["done"] < 9
    assert counts(line) == (rec["done"], 9)


def _validate(tmp: Path, out: str, line: str) -> None:
    res = json.loads(out)
    done, asked = counts(line)
    assert res.get("interrupted") is True and asked is not None and 0 < done < asked


OPTIMISE = ("optimise", "--doses", "1,1.25", "--intervals", "qd,q2d", "--patients", "20",
            "--seed", "3", "--n-boot", "50", "--json", "--out", "{tmp}/opt")  # fmt: skip


def _optimise(tmp: Path, out: str, line: str) -> None:
    """Two of four regimens finished: written flagged; the same command resumes the rest and
    the two kept regimens are not run again (their store files unchanged)."""
    res = json.loads(out)
    assert res["interrupted"] is True and (res["done"], res["asked"]) == (2, 4)
    assert counts(line) == (2, 4) and res["n_regimens"] == 2
    saved = json.loads((tmp / "opt" / "optimise.json").read_text())
    assert saved["interrupted"] is True and len(saved["regimens"]) == 2
    chunks = {p: p.stat().st_mtime_ns for p in (tmp / "opt" / "store").rglob("*.parquet")}
    args = [a.replace("{tmp}", str(tmp)) for a in OPTIMISE]
    done = subprocess.run(
        [sys.executable, "-m", "il2sim.cli.main", *args], capture_output=True, text=True,
        timeout=TIMEOUT_S, cwd=tmp,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    again = json.loads(done.stdout)
    assert again["interrupted"] is False and again["n_regimens"] == 4
    assert {p: p.stat().st_mtime_ns for p in chunks} == chunks
    first = {r["regimen"]: r for r in res["regimens"]}
    for r in again["regimens"]:
        if r["regimen"] in first:
            assert r == first[r["regimen"]]


@dataclass(frozen=True)
class Case:
    command: str
    id: str
    when: str
    hook: str
    args: tuple[str, ...]
    check: Callable[[Path, str, str], None]
    needs: str | None = None  # a module the case needs (skipped with the reason if absent)


CASES = (
    Case("simulate", "chunks", "2", "simulate",
         ("simulate", "--regimen", "1 MIU/m2 sc qd x3", "--patients", "3000", "--seed", "4",
          "--json"), _simulate),
    Case("simulate", "parquet", "3", "simulate",
         ("simulate", "--regimen", "1 MIU/m2 sc qd x2", "--patients", "2500", "--json", "--out",
          "{tmp}/out/courses.parquet"), _simulate_parquet),
    Case("calibrate", "best-point", "2", "calibrate",
         ("calibrate", "--patients", "4", "--max-evaluations", "60", "--json"), _calibrate),
    Case("design simulate", "kernel", "2", "bar",
         ("design", "simulate", "--design", "3+3", "--truth", "0.05,0.1,0.2,0.3,0.45",
          "--trials", "400000", "--json"), _design),
    Case("design simulate", "at-start", "t0.3", "bar",
         ("design", "simulate", "--design", "3+3", "--truth", "0.1,0.2,0.3", "--trials",
          "100000000", "--json"), _nothing),
    Case("trial", "one-trial", "2", "cohort", ("trial", "--json", "--out", "{tmp}/one"),
         _trial_one),
    Case("trial", "replicates", "5", "bar:replicate trials",
         ("trial", "--trials", "200", "--pool-size", "20", "--json", "--out", "{tmp}/reps"),
         _trial_reps),
    Case("reproduce", "replicates", "3", "bar:replicates",
         ("reproduce", "--trials", "100", "--pool-size", "20", "--no-report", "--json", "--out",
          "{tmp}/repro"), _reproduce),
    Case("sweep run", "in-process-resume", "2", "sweep", SWEEP, _sweep),
    Case("sweep run", "dask-loopback", "1", "sweep", (*SWEEP, "--workers", "1"), _sweep_dask,
         needs="dask.distributed"),
    Case("validate", "study-rows", "1", "bar:simulating studies", ("validate", "--json"),
         _validate),
    # fit: covered by the dedicated tests at the end of this file (first Ctrl-C + resume,
    # second Ctrl-C), which need a fit data file.
    Case("optimise", "in-process-resume", "2", "bar:regimens", OPTIMISE, _optimise),
)


def _params() -> list[Any]:
    covered = {c.command for c in CASES}
    out = [pytest.param(c, id=f"{c.command.replace(' ', '-')}-{c.id}") for c in CASES]
    out += [pytest.param(Case(cmd, "no-case", "", "", (), _nothing), id=f"{cmd}-no-case")
            for cmd in LONG_COMMANDS if cmd not in covered]  # fmt: skip
    return out


@pytest.mark.parametrize("case", _params())
def test_first_ctrl_c_keeps_what_finished(case: Case, tmp_path: Path) -> None:
    if not exists(case.command):
        pytest.skip(f"`il2sim {case.command}` does not exist in this checkout")
    if not case.args:
        if case.command == "fit":
            pytest.skip("fit: covered by the dedicated tests below (test_fit_first_ctrl_c_..., "
                        "test_fit_second_ctrl_c_stops_at_once)")
        pytest.fail(f"`il2sim {case.command}` exists but has no case in CASES: add one")
    if case.needs is not None:
        pytest.importorskip(case.needs)
    args = [a.replace("{tmp}", str(tmp_path)) for a in case.args]
    rc, out, err = run(case.when, case.hook, *args, cwd=tmp_path)
    line = assert_contract(rc, err)
    case.check(tmp_path, out, line)
    no_hidden(tmp_path)


def test_every_long_command_has_a_case() -> None:
    """A long command that exists here has a case (fit: its dedicated tests below)."""
    covered = {c.command for c in CASES}
    missing = [c for c in LONG_COMMANDS if exists(c) and c not in covered and c != "fit"]
    assert missing == [], f"long commands without an interruption case: {missing}"


def test_design_simulate_later_point_keeps_more(tmp_path: Path) -> None:
    """Two points: the K-th report keeps exactly the chunks reported by then."""
    case = next(c for c in CASES if c.id == "kernel")
    one = json.loads(run("1", "bar", *case.args, cwd=tmp_path)[1])
    two = json.loads(run("2", "bar", *case.args, cwd=tmp_path)[1])
    assert 0 < one["n_trials"] < two["n_trials"] < 400000


def test_second_ctrl_c_exits_at_once_without_partial_files(tmp_path: Path) -> None:
    target = tmp_path / "o" / "reps"
    rc, _, err = run(
        "3x3", "bar:replicate trials", "trial", "--trials", "400", "--pool-size", "20",
        "--json", "--out", str(target), cwd=tmp_path,
    )  # fmt: skip
    assert rc in (130, -2), err  # -2: the second signal landed during interpreter teardown
    assert "Traceback" not in err
    assert len(message_lines(err)) <= 2
    no_hidden(tmp_path)


def test_staging_folder_of_a_killed_trial_is_removed_by_the_next_run(tmp_path: Path) -> None:
    """SIGKILL while ``trial --xpt --out D`` stages its datasets leaves ``.D.il2sim-tmp-PID-*``
    beside D; the next run of the same target removes it (its process is gone)."""
    import signal
    import time

    target = tmp_path / "D"
    cmd = [sys.executable, "-m", "il2sim.cli.main", "trial", "--xpt", "--out", str(target)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    staged: list[Path] = []
    deadline = time.monotonic() + TIMEOUT_S
    while proc.poll() is None and time.monotonic() < deadline and not staged:
        staged = [p for p in tmp_path.iterdir() if p.name.startswith(".D.il2sim-tmp-")]
        time.sleep(0.01)
    if staged and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".D.il2sim-tmp-")]
    if not left:  # the run finished between two polls: leave a killed writer's folder by hand
        fake = tmp_path / ".D.il2sim-tmp-999999999-abc"
        (fake / "sdtm").mkdir(parents=True)
        (fake / "sdtm" / "dm.csv").write_text("partial")
        left = [fake]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not any(p.exists() for p in left)
    no_hidden(tmp_path)
    assert (target / "sdtm" / "dm.xpt").is_file()


# --- fit (issue 14): the SAEM state is what finished; --resume continues it -----------------


@pytest.fixture(scope="module")
def fit_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three seed-design patients as a NONMEM-style CSV (a fit of seconds)."""
    from il2sim.fit.simdata import seed_trial_table, truth_parameters

    truth = truth_parameters({"f_sc": 0.3, "emax_production": 0.3})
    df = seed_trial_table(truth, 4, n_per_level=(1, 1, 1), levels=(0.6, 1.0, 1.5))
    path = tmp_path_factory.mktemp("fitdata") / "trial.csv"
    df.rename(columns={"CENS": "BLQ"}).to_csv(path, index=False)
    return path


def _fit_args(csv: Path, out: Path) -> list[str]:
    # 5 burn-in + 8 + 4 = 17 SAEM iterations
    return ["fit", str(csv), "--params", "f_sc", "--iterations", "8,4", "--conditional", "3",
            "--is-samples", "10", "--npde-replicates", "10", "--intervals", "wald", "--no-report",
            "--json", "--out", str(out)]


def test_fit_first_ctrl_c_keeps_the_state_and_resume_gives_the_uninterrupted_fit(
    fit_csv: Path, tmp_path: Path
) -> None:
    import numpy as np

    out = tmp_path / "fit"
    rc, stdout, err = run("5", "bar:SAEM iterations", *_fit_args(fit_csv, out), cwd=tmp_path)
    line = assert_contract(rc, err)
    assert counts(line) == (5, 17) and "--resume" in line
    res = json.loads(stdout)
    assert res["interrupted"] is True and (res["done"], res["asked"]) == (5, 17)
    assert int(np.load(out / "saem_state.npz")["k"]) == 5
    assert not (out / "fit.json").exists()
    no_hidden(tmp_path)
    cli = [sys.executable, "-m", "il2sim.cli.main"]
    resumed = subprocess.run([*cli, *_fit_args(fit_csv, out), "--resume"], capture_output=True,
                             text=True, timeout=TIMEOUT_S, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    whole = subprocess.run([*cli, *_fit_args(fit_csv, tmp_path / "whole")], capture_output=True,
                           text=True, timeout=TIMEOUT_S, cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    a, b = json.loads(resumed.stdout), json.loads(whole.stdout)
    assert a["parameters"] == b["parameters"] and a["omega"] == b["omega"]
    assert a["ofv"] == b["ofv"] and a["residual"] == b["residual"]


def test_fit_second_ctrl_c_stops_at_once(fit_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "fit"
    rc, _, err = run("5x5", "bar:SAEM iterations", *_fit_args(fit_csv, out), cwd=tmp_path)
    assert rc == 130 and "Traceback" not in err, err
    assert message_lines(err) == ["il2sim: interrupted (stopped at once, nothing kept)"], err
    assert not (out / "fit.json").exists()
    no_hidden(tmp_path)


def test_sensitivity_stops_between_chunks_and_writes_nothing(tmp_path: Path) -> None:
    """Sobol indices need every model run: a first Ctrl-C after chunk 1 of 2 exits 130 with
    the counts and the flag, and writes no file."""
    out = tmp_path / "sens"
    rc, stdout, err = run(
        "1", "bar", "sensitivity", "--params", "f_sc,ka_per_day", "--n", "1024",
        "--regimen", "1 MIU/m2 sc qd x2", "--json", "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    line = assert_contract(rc, err)
    assert counts(line) == (1, 2)
    res = json.loads(stdout)
    assert res["interrupted"] is True and (res["done"], res["asked"]) == (1, 2)
    assert res["indices"] is None and not out.exists()
