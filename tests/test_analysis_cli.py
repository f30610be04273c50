"""``il2sim analyze`` and ``il2sim report`` on the hand-written CSV folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from il2sim.cli.main import main

DATA = Path(__file__).parent / "data"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    code = exc.value.code
    return (0 if code is None else int(code)), out.out, out.err


def test_analyze_json_on_minimal_folder(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["analyze", str(DATA / "sdtm_min"), "--json"], capsys)
    assert code == 0
    d = json.loads(out)
    assert d["n_subjects"] == 6
    jt = d["dose_response"][0]["jonckheere_terpstra"]
    assert jt["statistic"] == 12.0 and jt["pvalue"] == pytest.approx(1 / 90)
    assert d["ae_incidence"] is None
    assert any("AE absent" in n for n in d["notes"])


def test_analyze_text_and_out_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["analyze", str(DATA / "sdtm_full"), "--out", str(tmp_path)], capsys)
    assert code == 0
    assert "Jonckheere-Terpstra J = 12" in out
    assert "Antibodies IL2AB: 1 of 6 tested positive" in out
    subjects = pd.read_csv(tmp_path / "subjects.csv")
    assert list(subjects["NKCELLS_peak_pct_increase"]) == [150, 200, 300, 400, 500, 600]
    ae = pd.read_csv(tmp_path / "ae_incidence.csv")
    assert int(ae["grade_3_plus"].sum()) == 2
    assert json.loads((tmp_path / "analysis.json").read_text())["mtd"]["level"] == 2
    assert not list(tmp_path.glob(".*"))  # no temp files left behind


def test_analyze_test_codes_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "d"
    shutil.copytree(DATA / "sdtm_min", d)
    (d / "cp.csv").write_text((d / "cp.csv").read_text().replace("NKCELLS", "CD56NK"))
    code, _, err = run(["analyze", str(d)], capsys)
    assert code == 2 and "NKCELLS=CODE" in err
    code, out, _ = run(["analyze", str(d), "--json", "--test-codes", "NKCELLS=CD56NK"], capsys)
    assert code == 0 and json.loads(out)["dose_response"][0]["test"] == "NKCELLS"
    code, _, err = run(["analyze", str(d), "--test-codes", "NKCELLS"], capsys)
    assert code == 2 and err.startswith("il2sim: error: --test-codes: expected ENDPOINT=CODE")


def test_analyze_bad_data_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "d"
    shutil.copytree(DATA / "sdtm_min", d)
    (d / "ex.csv").write_text((d / "ex.csv").read_text().replace("S05,1.25,MIU/m2", "S05,1.25,mg"))
    code, out, err = run(["analyze", str(d)], capsys)
    assert code == 2 and out == ""
    assert err.strip() == (
        "il2sim: error: EX: row 5, column EXDOSU: unknown unit 'mg' (expected a dose per m2, "
        "e.g. MIU/m2)"
    )
    assert len(err.strip().splitlines()) == 1


def test_report_on_minimal_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "sub" / "report.html"
    code, out, _ = run(["report", str(DATA / "sdtm_min"), "--out", str(out_file)], capsys)
    assert code == 0 and "report written" in out
    text = out_file.read_text()
    assert text.startswith("<!DOCTYPE html>")
    # required domains only: escalation path, NK over time, peak vs dose
    assert text.count('src="data:image/png;base64,') == 3
    assert "No AE domain" in text and "No PC domain" in text


def test_report_with_reference_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps({"source": "Meropol 1996", "mtd_miu_per_m2": 1.25}))
    out_file = tmp_path / "r.html"
    code, _, _ = run(
        ["report", str(DATA / "sdtm_full"), "--out", str(out_file), "--reference", str(ref)],
        capsys,
    )
    assert code == 0
    assert "Meropol 1996" in out_file.read_text()
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    code, _, err = run(
        ["report", str(DATA / "sdtm_full"), "--out", str(out_file), "--reference", str(bad)],
        capsys,
    )
    assert code == 2 and "--reference: must be a JSON object" in err
