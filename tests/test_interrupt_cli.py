"""The interruption contract, command by command (docs/interrupt.md, issue 17 item 3).

Each test runs the real CLI in a subprocess of its own session (tests/interrupt_runner.py) and
sends SIGINT to the whole process group at a known point: after the K-th progress report (so
the count that finished is known exactly), twice in a row, or before anything finished.  It
asserts: exit 130, one message line on stderr, no traceback (from the driver or any worker), a
result flagged ``"interrupted": true`` whose counts match what finished, and no partial or
hidden files.  Workloads are tiny; each run is bounded by a timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

RUNNER = Path(__file__).with_name("interrupt_runner.py")
TIMEOUT_S = 240


def run(when: str, hook: str, *args: str, cwd: Path) -> tuple[int, str, str]:
    """Run ``il2sim ARGS`` under the runner; return (exit code, stdout, stderr)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="200")
    proc = subprocess.run(
        [sys.executable, str(RUNNER), when, hook, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
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


def counts(line: str) -> tuple[int, int]:
    """(done, asked) from ``il2sim: interrupted: D of A ... finished``."""
    words = line.split(": ", 2)[2].split()
    return int(words[0]), int(words[2])


def no_hidden(folder: Path) -> None:
    """No temporaries (``.name.il2sim-...``) or staging folders anywhere under ``folder``."""
    hidden = [p for p in folder.rglob(".*") if "il2sim" in p.name]
    assert hidden == [], hidden


def test_simulate_keeps_the_finished_chunks(tmp_path: Path) -> None:
    rc, out, err = run(
        "1", "simulate", "simulate", "--regimen", "1 MIU/m2 sc qd x3", "--patients", "3000",
        "--seed", "4", "--json", cwd=tmp_path,
    )  # fmt: skip
    line = assert_contract(rc, err)
    res: dict[str, Any] = json.loads(out)
    assert res["interrupted"] is True
    assert (res["done"], res["asked"], res["patients"]) == (1000, 3000, 1000)
    assert counts(line) == (1000, 3000)


def test_simulate_parquet_written_for_the_finished_patients(tmp_path: Path) -> None:
    import pandas as pd

    target = tmp_path / "out" / "courses.parquet"
    rc, _, err = run(
        "2", "simulate", "simulate", "--regimen", "1 MIU/m2 sc qd x2", "--patients", "2500",
        "--json", "--out", str(target), cwd=tmp_path,
    )  # fmt: skip
    line = assert_contract(rc, err)
    assert counts(line) == (2000, 2500)
    frame = pd.read_parquet(target)
    assert frame["patient"].nunique() == 2000
    no_hidden(tmp_path)


def test_design_simulate_at_two_points(tmp_path: Path) -> None:
    args = ("design", "simulate", "--design", "3+3", "--truth", "0.05,0.1,0.2,0.3,0.45",
            "--trials", "400000", "--json")  # fmt: skip
    for k in ("1", "2"):
        rc, out, err = run(k, "bar", *args, cwd=tmp_path)
        line = assert_contract(rc, err)
        oc = json.loads(out)
        assert oc["interrupted"] is True
        assert 0 < oc["n_trials"] < oc["n_trials_requested"] == 400000
        assert counts(line) == (oc["n_trials"], 400000)
    one = json.loads(run("1", "bar", *args, cwd=tmp_path)[1])
    assert one["n_trials"] < oc["n_trials"]  # the second point kept one chunk more


def test_design_simulate_before_anything_finished(tmp_path: Path) -> None:
    rc, out, err = run(
        "t0.3", "bar", "design", "simulate", "--design", "3+3", "--truth", "0.1,0.2,0.3",
        "--trials", "100000000", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert_contract(rc, err)
    assert out.strip() == ""


def test_trial_replicates_flagged_with_exact_counts(tmp_path: Path) -> None:
    out_dir = tmp_path / "reps"
    rc, out, err = run(
        "5", "bar:replicate trials", "trial", "--trials", "200", "--pool-size", "20", "--json",
        "--out", str(out_dir), cwd=tmp_path,
    )  # fmt: skip
    line = assert_contract(rc, err)
    res = json.loads(out)
    assert res["interrupted"] is True
    assert (res["n_trials"], res["n_trials_requested"]) == (5, 200)
    assert counts(line) == (5, 200)
    saved = json.loads((out_dir / "replicates.json").read_text())
    assert saved["n_trials"] == 5 and saved["interrupted"] is True
    no_hidden(tmp_path)


def test_reproduce_flagged(tmp_path: Path) -> None:
    out_dir = tmp_path / "repro"
    rc, out, err = run(
        "3", "bar:replicates", "reproduce", "--trials", "100", "--pool-size", "20",
        "--no-report", "--json", "--out", str(out_dir), cwd=tmp_path,
    )  # fmt: skip
    line = assert_contract(rc, err)
    res = json.loads(out)
    assert res["interrupted"] is True
    assert (res["n_replicates"], res["n_replicates_requested"]) == (3, 100)
    assert counts(line) == (3, 100)
    assert (out_dir / "reproduce.json").is_file() and (out_dir / "sdtm").is_dir()
    no_hidden(tmp_path)


def test_calibrate_keeps_the_best_point_and_writes_nothing(tmp_path: Path) -> None:
    rc, out, err = run(
        "2", "calibrate", "calibrate", "--patients", "4", "--max-evaluations", "60", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    line = assert_contract(rc, err)
    res = json.loads(out)
    assert res["interrupted"] is True and res["written_to"] is None
    assert (res["n_evaluations"], res["max_evaluations"]) == (2, 60)
    assert counts(line) == (2, 60)


SWEEP = ("sweep", "run", "--kind", "design", "--param", "design=3+3", "--param",
         "truth=[0.05,0.1,0.2];[0.1,0.2,0.3];[0.2,0.3,0.4]", "--chunks", "3", "--chunk-size", "200",
         "--seed", "3", "--no-progress", "--json")  # fmt: skip


def test_sweep_in_process_stops_and_resumes(tmp_path: Path) -> None:
    store = tmp_path / "store"
    rc, out, err = run("2", "sweep", *SWEEP, "--out", str(store), cwd=tmp_path)
    line = assert_contract(rc, err)
    rec = json.loads(out)
    assert rec["interrupted"] is True and (rec["done"], rec["asked"]) == (2, 9)
    assert counts(line) == (2, 9)
    no_hidden(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "il2sim.cli.main", *SWEEP, "--out", str(store)],
        capture_output=True, text=True, timeout=TIMEOUT_S, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    again = json.loads(done.stdout)
    assert (again["already_done"], again["ran"], again["interrupted"]) == (2, 7, False)


def test_sweep_on_dask_workers_quiet(tmp_path: Path) -> None:
    """A LocalCluster on 127.0.0.1; SIGINT reaches the workers too (process group)."""
    pytest.importorskip("dask.distributed")
    store = tmp_path / "store"
    rc, out, err = run("1", "sweep", *SWEEP, "--workers", "1", "--out", str(store), cwd=tmp_path)
    line = assert_contract(rc, err)
    rec = json.loads(out)
    assert rec["interrupted"] is True and 1 <= rec["done"] < 9
    assert counts(line) == (rec["done"], 9)
    no_hidden(tmp_path)


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
            "--is-samples", "10", "--npde-replicates", "10", "--no-report", "--json", "--out",
            str(out)]


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
