"""Analysis validates value ranges and lists every problem (issue 17 item 2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from il2sim.analysis import analyze
from il2sim.analysis.load import load_sdtm
from il2sim.errors import DataError

DATA = Path(__file__).parent / "data"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "trial"
    shutil.copytree(DATA / "sdtm_full", d)
    return d


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("cp.csv", "S01,NKCELLS,200,", "S01,NKCELLS,-200,",
         "CP: row 2, column CPSTRESN: cell count must be >= 0, got -200.0"),
        ("cp.csv", "S01,NKCELLS,200,", "S01,NKCELLS,1e308,",
         "CP: row 2, column CPSTRESN: cell count exceeds 1e+12"),
        ("pc.csv", "S01,IL2,2.0,", "S01,IL2,-2.0,",
         "PC: row 1, column PCSTRESN: IL-2 concentration must be >= 0"),
        ("ex.csv", "SUBCUTANEOUS,1,90", "SUBCUTANEOUS,95,90",
         "EX: row 1, columns EXSTDY/EXENDY: the start day 95 is after the end day 90"),
        ("decisions.csv", "True,2", "True,99",
         "DECISION: row 3, column MTD_LEVEL: '99' is not a dose level (the trial has levels 1..3"),
        ("decisions.csv", "escalate,2,False", "escalate,7,False",
         "DECISION: row 1, column NEXT_LEVEL: '7' is not a dose level"),
        ("decisions.csv", "1,1,2,0", "1,abc,2,0", "DECISION: row 1, column LEVEL: cannot parse 'abc'"),
    ],
)  # fmt: skip
def test_impossible_values_are_rejected(
    folder: Path, file: str, old: str, new: str, expected: str
) -> None:
    _edit(folder / file, old, new)
    with pytest.raises(DataError) as err:
        analyze(folder)
    assert expected in str(err.value)


def test_every_problem_is_listed_in_one_block(folder: Path) -> None:
    _edit(folder / "cp.csv", "S01,NKCELLS,200,", "S01,NKCELLS,-200,")
    _edit(folder / "cp.csv", "S01,NKCELLS,100,", "S01,NKCELLS,1e308,")
    _edit(folder / "ex.csv", "SUBCUTANEOUS,1,90", "SUBCUTANEOUS,95,90")
    with pytest.raises(DataError) as err:
        load_sdtm(folder)
    msg = str(err.value)
    assert msg.startswith("data: 3 problem(s) in ")
    lines = msg.splitlines()[1:]
    assert len(lines) == 3 and all(line.startswith("  - ") for line in lines)
    assert "CP: row 1" in msg and "CP: row 2" in msg and "EX: row 1" in msg


def test_requested_test_code_must_be_present(folder: Path) -> None:
    with pytest.raises(DataError, match=r"NKCELLS=CD56NK requested, but CP has no CPTESTCD"):
        load_sdtm(folder, test_codes={"NKCELLS": "CD56NK"})


def test_requested_test_code_present_is_used(folder: Path) -> None:
    text = (folder / "cp.csv").read_text().replace(",NKCELLS,", ",CD56NK,")
    (folder / "cp.csv").write_text(text)
    data = load_sdtm(folder, test_codes={"NKCELLS": "CD56NK"})
    assert "NKCELLS" in set(data.adcp["PARAMCD"])


def test_cli_exit_2_and_one_block(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from il2sim.cli.main import main

    _edit(folder / "cp.csv", "S01,NKCELLS,200,", "S01,NKCELLS,-200,")
    _edit(folder / "ex.csv", "SUBCUTANEOUS,1,90", "SUBCUTANEOUS,95,90")
    with pytest.raises(SystemExit) as exc:
        main(["analyze", str(folder), "--json"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("il2sim: error: data: 2 problem(s)") and "Traceback" not in err


def test_schema_problems_of_several_files_in_one_block(folder: Path) -> None:
    """The cdisc reader lists every file/variable problem (one per variable), not the first."""
    _edit(folder / "cp.csv", "S01,NKCELLS,200,cells/uL,1", "S01,NKCELLS,abc,cells/uL,1")
    _edit(folder / "ex.csv", "SUBCUTANEOUS,1,90", "SUBCUTANEOUS,one,90")
    with pytest.raises(DataError) as err:
        load_sdtm(folder)
    msg = str(err.value)
    assert msg.startswith("data: 2 problem(s) in ")
    assert "CP: row 2, column CPSTRESN: cannot parse 'abc' as a number" in msg
    assert "EX: row 1, column EXSTDY: cannot parse 'one' as a number" in msg


def test_nonmem_export_checks_values_too(folder: Path, tmp_path: Path) -> None:
    from il2sim.io.nonmem import nonmem_from_sdtm

    _edit(folder / "ex.csv", "SUBCUTANEOUS,1,90", "SUBCUTANEOUS,95,90")
    with pytest.raises(DataError, match=r"EX: row 1, columns EXSTDY/EXENDY: the start day 95"):
        nonmem_from_sdtm(folder)
