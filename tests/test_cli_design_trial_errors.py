"""Bad input to ``il2sim design ...``, ``il2sim trial`` and ``il2sim reproduce``: exit code 2,
one line on stderr naming the field and value, no traceback, no output file."""

from __future__ import annotations

from pathlib import Path

import pytest

from il2sim.cli.main import main

T5 = "0.05,0.15,0.3,0.45,0.6"
BOIN = ["--design", "boin", "--target", "0.3", "--truth", T5]
B12 = ["--design", "boin12", "--target-tox", "0.35", "--target-eff", "0.25", "--truth-tox", T5,
       "--cohorts", "4"]  # fmt: skip
TITE = ["--design", "tite-crm", "--skeleton", "0.05,0.12,0.25,0.4,0.55", "--target", "0.25",
        "--max-patients", "9", "--truth", T5]  # fmt: skip

CASES: list[tuple[list[str], str]] = [
    (["design", "simulate", "--design", "3+3", "--truth", T5, "--trials", "0"], "trials"),
    (["design", "simulate", *BOIN, "--cohorts", "0"], "--cohorts"),
    (["design", "simulate", *BOIN, "--max-patients", "-1"], "--max-patients"),
    (["design", "simulate", *BOIN, "--cohorts", "3", "--workers", "0"], "workers"),
    (["design", "simulate", *BOIN], "max_cohorts"),  # BOIN needs a sample size
    (["design", "simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,abc"], "truth"),
    (["design", "simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,nan"], "truth"),
    (["design", "simulate", *BOIN, "--cohorts", "3", "--n-doses", "4"], "truth"),
    (["design", "simulate", *BOIN, "--cohorts", "3", "-O", "phi1=abc"], "phi1"),
    (["design", "simulate", *BOIN, "--cohorts", "3", "-O", "phi1"], "option"),
    (["design", "simulate", *BOIN, "--cohorts", "3", "-O", "nope=1"], "nope"),
    (["design", "simulate", *BOIN, "--cohorts", "3", "-O", "extrasafe=true", "-O",
      "offset=0.99"], "offset"),
    (["design", "simulate", "--design", "crm", "--skeleton", "0.1,0.2", "--target", "0.3",
      "--truth", "0.1,0.2", "--cohorts", "3", "-O", "method=mle"], "method"),
    (["design", "simulate", "--design", "nope", "--truth", T5], "design"),
    (["design", "simulate", *TITE, "--window-days", "0"], "window_days"),
    (["design", "simulate", *TITE, "--window-days", "-2"], "window_days"),
    (["design", "simulate", *TITE, "--window-days", "6", "--accrual-per-window", "0"],
     "accrual_per_window"),
    (["design", "simulate", *TITE, "--window-days", "6", "--accrual", "uniform"], "accrual"),
    (["design", "simulate", *TITE, "--window-days", "6", "--weights", "square"], "weights"),
    (["design", "simulate", *TITE, "--window-days", "6", "--truth", "0.1,0.2"], "truth"),
    (["design", "simulate", *BOIN, "--cohorts", "3", "--window-days", "6"], "window_days"),
    (["design", "simulate", *B12, "--truth-eff", "0.1,0.2"], "truth_eff"),
    (["design", "simulate", *B12], "truth_eff"),
    (["design", "simulate", *B12, "--truth-eff", T5, "-O", "u2=140"], "u2"),
    (["design", "simulate", *B12, "--truth-eff", T5, "-O", "u3=-1"], "u3"),
    (["design", "next", "--design", "boin12", "--target", "0.35", "--n-doses", "3",
      "--outcomes", "1NEX"], "outcomes"),
    (["design", "simulate", *BOIN, "--cohorts", "3", "-O", "titration=maybe"], "titration"),
    (["design", "next", *TITE[:-2], "--window-days", "6", "--outcomes", "1N 1N",
      "--followup-days", "3"], "followup_days"),
    (["design", "exact", *BOIN], "design"),
    (["design", "exact", "--design", "3+3", "--truth", T5, "--no-skip"], "design"),
    (["design", "exact", "--design", "3+3", "--truth", "0.1,1.5"], "truth"),
    (["design", "exact", "--design", "3+3", "--truth", T5, "--target", "0"], "target"),
    (["design", "next", "--design", "3+3", "--n-doses", "3", "--outcomes", "1NQN"], "outcomes"),
    (["design", "next", "--design", "3+3", "--n-doses", "3", "--outcomes-file", "/no/file"],
     "outcomes_file"),
    (["design", "next", "--design", "3+3"], "n_doses"),
    (["design", "boundaries", "--design", "crm", "--skeleton", "0.1,0.2"], "design"),
    (["design", "boundaries", "--cohorts", "0"], "cohorts"),
    (["design", "boundaries", "--target", "1.2"], "target"),
    (["design", "paths", "--design", "3+3", "--n-doses", "3", "--cohorts-ahead", "0"],
     "--cohorts-ahead"),
    (["trial", "--doses", "0.4,abc"], "doses"),
    (["trial", "--doses", "0.8,0.4"], "doses"),
    (["trial", "--doses", "0.4,-1"], "doses"),
    (["trial", "--trials", "0"], "trials"),
    (["trial", "--dlt-window-days", "0"], "--dlt-window-days"),
    (["trial", "--resume-fraction", "2"], "--resume-fraction"),
    (["trial", "--hold-days", "-1"], "--hold-days"),
    (["trial", "--design", "crm", "--target", "0.3"], "skeleton"),
    (["trial", "--design", "boin", "--target", "0.3", "--n-doses", "3"], "doses"),
    (["trial", "--trials", "3", "--pool-size", "0"], "--pool-size"),
    (["reproduce", "--trials", "0"], "trials"),
    # issue 13, session 20: EffTox, backfill, randomised stage
    (["design", "next", "--design", "efftox", "--n-doses", "5", "-O", "eff_star=0.4",
      "--outcomes", "1NNE"], "eff_star"),
    (["design", "next", "--design", "efftox", "--n-doses", "5", "-O", "doses=1,2,3",
      "--outcomes", "1NNE"], "doses"),
    (["design", "next", "--design", "efftox", "--n-doses", "3", "--outcomes", "1NXE"],
     "outcomes"),
    (["design", "simulate", "--design", "efftox", "--n-doses", "3", "--truth", "0.1,0.2,0.3",
      "--truth-eff", "0.2,0.3,1.4", "--cohorts", "2"], "truth_eff"),
    (["design", "simulate", "--design", "crm", "--skeleton", "0.1,0.2,0.3", "--target", "0.25",
      "--truth", "0.1,0.2,0.3", "--backfill", "--cohorts", "2"], "backfill"),
    (["design", "simulate", "--design", "boin", "--backfill", "--target", "0.25", "--truth",
      "0.1,0.2,0.3", "--cohorts", "4"], "truth_eff"),
    (["design", "simulate", "--design", "boin", "--backfill", "--target", "0.25", "--truth",
      "0.1,0.2,0.3", "--truth-eff", "0.1,0.2,0.3", "--cohorts", "4", "--window-days", "0"],
     "window_days"),
    (["design", "next", "--design", "boin", "--backfill", "--target", "0.25", "--n-doses", "3",
      "-O", "n_cap=-1", "--outcomes", "1NNN"], "n_cap"),
    (["design", "next", "--design", "3+3", "--n-doses", "3", "--stage1-patients", "9",
      "--stage2-patients", "20", "--stage2-rule", "best", "--outcomes", "1NNN"], "rule"),
    (["design", "next", "--design", "3+3", "--n-doses", "3", "--stage2-patients", "20",
      "--outcomes", "1NNN"], "stage1_patients"),
    (["design", "next", "--design", "3+3", "--n-doses", "3", "--stage1-patients", "9",
      "--stage2-patients", "20", "--stage2-ratio", "1,-1", "--outcomes", "1NNN"], "ratio"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "field"), CASES, ids=[" ".join(a[:4]) for a, _ in CASES])
def test_bad_input_exits_2_with_one_line(
    args: list[str], field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    extra = ["--out", str(out)] if args[0] in ("trial", "reproduce") else []
    with pytest.raises(SystemExit) as exc:
        main([*args, *extra])
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("il2sim: error: ") and f"{field}" in lines[0], lines[0]
    assert not out.exists()
