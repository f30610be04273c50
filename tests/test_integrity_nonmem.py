"""NONMEM-style event files read exactly as NONMEM would, or rejected with row and column
(issue 17 item 2, issue 16 item 3; docs/readers.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from il2sim.errors import DataError
from il2sim.regimen.nonmem import read_nonmem_csv


def _read(tmp_path: Path, text: str | bytes) -> dict:
    p = tmp_path / "events.csv"
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return read_nonmem_csv(p)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        # a row with one field more than the header: would shift ID->0, TIME->1000 h
        ("ID,TIME,AMT\n1,0,1000\n0,1,0,1000\n1,24,1000\n", "row 2 has 4 fields, the header 3"),
        ("ID,TIME,AMT\n1,0,1000\n1,24\n", "row 2 has 2 fields, the header 3"),
        ("ID,TIME,AMT\n1,0,nan\n", "AMT: row 1: not a number, got 'nan'"),
        ("ID,TIME,AMT\n1,0,NaN\n1,24,1000\n", "AMT: row 1: not a number, got 'NaN'"),
        ("ID,TIME,AMT,AMT\n1,0,1000,2000\n", "column AMT appears twice (columns 3 and 4)"),
        ("ID,TIME,AMT,amt\n1,0,1000,2000\n", "column AMT appears twice"),
        ("ID,TIME,AMT\n1,24,1000\n1,0,1000\n", "row 2: TIME 0 is before the previous record's 24"),
        ("ID,TIME,AMT\n1,0,1000\n2,0,1000\n1,24,1000\n", "row 3: ID 1 appears again"),
        ("ID,TIME,AMT\nnan,0,1000\n", "ID: row 1: not a subject id, got 'nan'"),
        ("ID,TIME,AMT\n1.5,0,1000\n", "ID: row 1: must be a whole number, got '1.5'"),
        ("ID,TIME,AMT\n.,0,1000\n", "ID: row 1: missing ID"),
        ("ID,TIME,AMT,EVID\n1,0,1000,1\n1,24,1000,4\n", "row 2: EVID 4 (reset) after"),
        ("ID,TIME,AMT,EVID\n1,0,1000,1\n1,12,.,3\n1,24,1000,1\n", "row 2: EVID 3 (reset)"),
        ("ID,TIME,AMT,EVID\n1,0,1000,5\n", "EVID: row 1: must be 0-4, got 5"),
        ("ID,TIME,AMT\n1,0,abc\n", "AMT: row 1: not a number, got 'abc'"),
        ("ID,TIME,AMT\n1,0,1000\nID,TIME,AMT\n", "TIME: row 2: not a number, got 'TIME'"),
        (",TIME,AMT\n1,0,1000\n", "header: column 1 has no name"),
        ("", "empty (no header line)"),
        (b"ID,TIME,AMT\n1,0,\xff\n", "not UTF-8"),
    ],
)  # fmt: skip
def test_rejected_with_row_and_column(tmp_path: Path, text: str | bytes, needle: str) -> None:
    with pytest.raises(DataError) as err:
        _read(tmp_path, text)
    assert needle in str(err.value)


def test_byte_order_mark_is_removed(tmp_path: Path) -> None:
    regs = _read(tmp_path, "\ufeffID,TIME,AMT\n1,0,1000\n1,24,1000\n".encode())
    assert [e.time_day for e in regs[1].events] == [0.0, 1.0]


def test_reset_as_the_first_record_is_accepted(tmp_path: Path) -> None:
    """EVID 4 (reset and dose) as an individual's first record: a reset changes nothing."""
    regs = _read(tmp_path, "ID,TIME,AMT,EVID\n1,0,1000,4\n1,24,1000,1\n2,0,.,3\n2,0,500,1\n")
    assert [e.amount_iu() for e in regs[1].events] == [1000.0, 1000.0]
    assert [e.amount_iu() for e in regs[2].events] == [500.0]


def test_time_may_restart_for_the_next_individual(tmp_path: Path) -> None:
    regs = _read(tmp_path, "ID,TIME,AMT\n1,0,1000\n1,48,1000\n2,0,1000\n")
    assert sorted(regs) == [1, 2]


def test_observations_count_for_the_time_order(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="row 3: TIME 10 is before the previous record's 12"):
        _read(tmp_path, "ID,TIME,AMT,EVID\n1,0,1000,1\n1,12,.,0\n1,10,1000,1\n")


def test_duplicated_row_means_two_doses_as_in_nonmem(tmp_path: Path) -> None:
    """NONMEM's meaning: two identical dose records are two doses at that time."""
    regs = _read(tmp_path, "ID,TIME,AMT\n1,0,1000\n1,0,1000\n")
    assert [e.amount_iu() for e in regs[1].events] == [1000.0, 1000.0]


def test_comments_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    regs = _read(tmp_path, "# study X\nID,TIME,AMT\n\n1,0,1000\n# note\n1,24,1000\n")
    assert len(regs[1].events) == 2


def test_cli_simulate_rejects_a_ragged_table(tmp_path: Path, capsys) -> None:
    from il2sim.cli.main import main

    p = tmp_path / "e.csv"
    p.write_text("ID,TIME,AMT\n1,0,1000000\n0,1,0,1000\n")
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--events", str(p), "--patients", "2", "--json"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "row 2 has 4 fields" in err and "Traceback" not in err
