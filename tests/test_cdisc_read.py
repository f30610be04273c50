"""The one reader (il2sim.cdisc.read) and the staged folder writes: what is accepted, what is
rejected (dataset, row and column named; exit 2, one line, no partial output)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from il2sim._files import staged_folder
from il2sim.cdisc import SDTM
from il2sim.cdisc.dates import date_of_day, day_of_date, iso_duration_hours
from il2sim.cdisc.read import read_package, resolve_folder
from il2sim.cli.main import main
from il2sim.errors import DataError

DATA = Path(__file__).parent / "data"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "trial"
    shutil.copytree(DATA / "sdtm_full", d)
    return d


def test_names_in_any_case(folder: Path) -> None:
    (folder / "cp.csv").rename(folder / "CP.CSV")
    text = (folder / "dm.csv").read_text()
    (folder / "dm.csv").write_text(text.replace("USUBJID", "usubjid", 1).replace("AGE", "Age", 1))
    pkg = read_package(folder, SDTM)
    assert {"USUBJID", "AGE"} <= set(pkg.tables["DM"].columns) and "CP" in pkg.tables


def test_bad_number_is_rejected_with_row_and_column(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cp = (folder / "cp.csv").read_text().splitlines()
    cp[2] = cp[2].replace(",200,", ",abc,")
    (folder / "cp.csv").write_text("\n".join(cp) + "\n")
    code, out, err = run(["analyze", str(folder)], capsys)
    assert code == 2 and out == ""
    assert err.strip() == "il2sim: error: CP: row 2, column CPSTRESN: cannot parse 'abc' as a number"


def test_fraction_in_an_integer_variable_is_rejected(folder: Path) -> None:
    cp = (folder / "cp.csv").read_text().splitlines()
    cp[3] = cp[3].rsplit(",", 1)[0] + ",8.5"
    (folder / "cp.csv").write_text("\n".join(cp) + "\n")
    with pytest.raises(DataError, match=r"^CP: row 3, column CPDY: expected an integer"):
        read_package(folder, SDTM)


def test_dataset_json_row_of_the_wrong_length(folder: Path) -> None:
    (folder / "dm.csv").unlink()
    doc = {"datasetJSONVersion": "1.1.0", "name": "DM", "columns": [{"name": "USUBJID"}, {"name": "AGE"}],
           "rows": [["S01", 54], ["S02"]]}  # fmt: skip
    (folder / "dm.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"^DM: dm.json row 2: 1 values for 2 columns"):
        read_package(folder, SDTM)


def test_bad_iso_date_is_rejected(folder: Path) -> None:
    ex = pd.read_csv(folder / "ex.csv", dtype=str, keep_default_na=False)
    ex["EXSTDTC"] = "03/01/1994"
    ex.to_csv(folder / "ex.csv", index=False)
    with pytest.raises(DataError, match=r"^EX: row 1, column EXSTDTC: not an ISO 8601 date"):
        read_package(folder, SDTM)


def test_folder_resolution(tmp_path: Path, folder: Path) -> None:
    assert resolve_folder(folder) == ("SDTM", folder)
    parent = tmp_path / "out"
    shutil.copytree(folder, parent / "sdtm")
    assert resolve_folder(parent) == ("SDTM", parent / "sdtm")
    with pytest.raises(DataError, match="no SDTM"):
        resolve_folder(DATA)  # holds sdtm_full/ and sdtm_min/, neither named sdtm/ or adam/


def test_iso_helpers() -> None:
    from datetime import date

    ref = date(1994, 1, 3)
    assert [day_of_date(ref, date_of_day(ref, d)) for d in (-7, -1, 1, 2, 90)] == [-7, -1, 1, 2, 90]
    assert date_of_day(ref, 1) == ref and date_of_day(ref, -1) == date(1994, 1, 2)
    assert iso_duration_hours("PT4H") == 4.0 and iso_duration_hours("-PT30M") == -0.5
    assert iso_duration_hours("P1DT2H") == 26.0
    for bad in ("PT", "4H", "P", "PTH"):
        with pytest.raises(ValueError):
            iso_duration_hours(bad)


def test_nonmem_export_rejects_bad_values_with_row_and_column(
    folder: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """v0.1 turned a non-numeric EXSTDY into NaN; now the row and column are named."""
    pd.DataFrame({"USUBJID": ["S01", "S02"], "QNAM": ["BSA", "BSA"], "QVAL": ["1.8", "1.9"]}).to_csv(
        folder / "suppdm.csv", index=False
    )
    code, _, err = run(["export", "nonmem", "--sdtm", str(folder), "--out", str(tmp_path / "n.csv")], capsys)
    assert code == 2 and "WEIGHT" in err  # no weight in SUPPDM
    supp = pd.DataFrame({"USUBJID": ["S01"] * 2, "QNAM": ["BSA", "WEIGHT"], "QVAL": ["1.8", "70"]})
    supp.to_csv(folder / "suppdm.csv", index=False)
    ex = (folder / "ex.csv").read_text().splitlines()
    ex[1] = ex[1].replace(",1,90,", ",x,90,")
    (folder / "ex.csv").write_text("\n".join(ex) + "\n")
    code, _, err = run(["export", "nonmem", "--sdtm", str(folder), "--out", str(tmp_path / "n.csv")], capsys)
    assert code == 2 and err.strip() == "il2sim: error: EX: row 1, column EXSTDY: cannot parse 'x' as a number"
    assert not (tmp_path / "n.csv").exists()


def test_staged_folder_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with pytest.raises(RuntimeError), staged_folder(target) as stage:
        (stage / "sdtm").mkdir()
        (stage / "sdtm" / "dm.csv").write_text("x\n")
        raise RuntimeError("interrupted")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_staged_folder_replaces_entries_whole_and_keeps_others(tmp_path: Path) -> None:
    target = tmp_path / "out"
    (target / "sdtm").mkdir(parents=True)
    (target / "sdtm" / "old.csv").write_text("old\n")
    (target / "notes.txt").write_text("mine\n")
    with staged_folder(target) as stage:
        (stage / "sdtm").mkdir()
        (stage / "sdtm" / "dm.csv").write_text("new\n")
    assert sorted(p.name for p in (target / "sdtm").iterdir()) == ["dm.csv"]
    assert (target / "notes.txt").read_text() == "mine\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_stale_staging_folder_of_a_killed_run_is_removed(tmp_path: Path) -> None:
    dead = 2**22 + 12345  # above the default pid_max of 2^22: no such process
    stale = tmp_path / f".out.il2sim-tmp-{dead}-abc"
    stale.mkdir()
    (stale / "partial.csv").write_text("x")
    assert os.path.exists(stale)
    with staged_folder(tmp_path / "out") as stage:
        (stage / "a.txt").write_text("a")
    assert not stale.exists() and (tmp_path / "out" / "a.txt").is_file()


def test_trial_start_date_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["trial", "--start-date", "1994-13-01", "--out", str(tmp_path / "t")], capsys)
    assert code == 2 and err.strip().startswith("il2sim: error: --start-date: expected a date YYYY-MM-DD")
    assert not (tmp_path / "t").exists()
    code, _, _ = run(["trial", "--design", "3+3", "--doses", "0.4,1.25", "--max-patients", "3",
                      "--start-date", "2020-02-01", "--out", str(tmp_path / "t")], capsys)  # fmt: skip
    assert code == 0
    dm = pd.read_csv(tmp_path / "t" / "sdtm" / "dm.csv", dtype=str)
    assert dm["RFSTDTC"].iat[0] == "2020-02-01"
    ts = pd.read_csv(tmp_path / "t" / "sdtm" / "ts.csv", dtype=str)
    assert ts.loc[ts["TSPARMCD"] == "SSTDTC", "TSVAL"].iat[0] == "2020-02-01"
