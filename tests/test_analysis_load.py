"""Validation on load: one DataError naming table, row and column; liberal file handling."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from il2sim.analysis.load import load_sdtm
from il2sim.cdisc.read import parse_float
from il2sim.cdisc.unit_text import (
    conc_unit_factor_to_pm,
    count_unit_factor_to_cells_per_ul,
    dose_unit_factor_to_miu_per_m2,
)
from il2sim.errors import DataError

DATA = Path(__file__).parent / "data"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "trial"
    shutil.copytree(DATA / "sdtm_full", d)
    return d


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, count))


def test_missing_required_domain(folder: Path) -> None:
    (folder / "cp.csv").unlink()
    with pytest.raises(DataError, match=r"^CP: missing required domain CP"):
        load_sdtm(folder)


def test_missing_optional_domain_is_a_note(folder: Path) -> None:
    (folder / "is.csv").unlink()
    data = load_sdtm(folder)
    assert data.adis is None
    assert any(n.startswith("IS absent") for n in data.notes)


def test_missing_variable(folder: Path) -> None:
    _edit(folder / "ex.csv", ",EXDOSU,", ",UNIT,")
    with pytest.raises(DataError, match=r"^EX: missing required variable EXDOSU in ex.csv"):
        load_sdtm(folder)


def test_unknown_unit_names_row_and_column(folder: Path) -> None:
    _edit(folder / "ex.csv", "S03,ALDESLEUKIN,0.8,MIU/m2", "S03,ALDESLEUKIN,0.8,mg/kg")
    with pytest.raises(DataError, match=r"^EX: row 3, column EXDOSU: unknown unit 'mg/kg'"):
        load_sdtm(folder)


def test_unknown_count_unit(folder: Path) -> None:
    _edit(folder / "cp.csv", "S01,NKCELLS,300,cells/uL", "S01,NKCELLS,300,%")
    with pytest.raises(DataError, match=r"^CP: row 3, column CPSTRESU: unknown unit '%'"):
        load_sdtm(folder)


def test_duplicate_subject(folder: Path) -> None:
    _edit(folder / "dm.csv", "IL2LD,S04,", "IL2LD,S02,")
    with pytest.raises(
        DataError, match=r"^DM: row 4, column USUBJID: duplicate subject 'S02' \(first at row 2\)"
    ):
        load_sdtm(folder)


def test_unparsable_value(folder: Path) -> None:
    _edit(folder / "cp.csv", "S02,NKCELLS,300,", "S02,NKCELLS,3OO,")
    with pytest.raises(
        DataError, match=r"^CP: row 8, column CPSTRESN: cannot parse '3OO' as a number"
    ):
        load_sdtm(folder)


def test_missing_required_value(folder: Path) -> None:
    _edit(folder / "cp.csv", "S01,NKCELLS,300,cells/uL,15", "S01,NKCELLS,300,cells/uL,")
    with pytest.raises(DataError, match=r"^CP: row 3, column CPDY: value is missing"):
        load_sdtm(folder)


def test_subject_not_in_dm(folder: Path) -> None:
    _edit(folder / "ae.csv", "S03,Fatigue", "S99,Fatigue")
    with pytest.raises(DataError, match=r"^AE: row 4, column USUBJID: subject 'S99' is not in DM"):
        load_sdtm(folder)


def test_bad_grade_and_flag(folder: Path) -> None:
    _edit(folder / "ae.csv", "VOMITING,3,", "VOMITING,7,")
    with pytest.raises(DataError, match=r"^AE: row 5, column AETOXGR: grade must be 1-5"):
        load_sdtm(folder)


def test_bad_dlt_flag(folder: Path) -> None:
    _edit(folder / "ae.csv", "19,21,Y", "19,21,maybe")
    with pytest.raises(DataError, match=r"^AE: row 5, column AEDLT: expected Y or N"):
        load_sdtm(folder)


def test_missing_nk_test_code(folder: Path) -> None:
    _edit(folder / "cp.csv", "NKCELLS", "TOTALNK", count=-1)
    with pytest.raises(DataError, match=r"^CP: no rows with CPTESTCD 'NKCELLS'.*--test-codes"):
        load_sdtm(folder)


def test_file_names_are_case_insensitive(folder: Path) -> None:
    (folder / "dm.csv").rename(folder / "DM.CSV")
    (folder / "cp.csv").rename(folder / "Cp.csv")
    assert len(load_sdtm(folder).adsl) == 6


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a folder"):
        load_sdtm(tmp_path / "nope")


def test_unit_factors() -> None:
    # doses: MIU/m2 (also the seed's "mIU/m2" = million IU), IU/m2/day, 10^6 IU/m2
    assert dose_unit_factor_to_miu_per_m2("MIU/m2") == 1.0
    assert dose_unit_factor_to_miu_per_m2("mIU/m2/day") == 1.0
    assert dose_unit_factor_to_miu_per_m2("IU/m2") == pytest.approx(1e-6)
    assert dose_unit_factor_to_miu_per_m2("10^6 IU/m2") == 1.0
    assert dose_unit_factor_to_miu_per_m2("MIU") is None  # flat doses are not per m2
    # counts: 10^9/L = 1000 cells/uL
    assert count_unit_factor_to_cells_per_ul("cells/µL") == 1.0
    assert count_unit_factor_to_cells_per_ul("10^9/L") == pytest.approx(1000.0)
    assert count_unit_factor_to_cells_per_ul("10^6/L") == pytest.approx(1.0)
    # IL-2: 2.3 IU/ml = 10 pM (Meropol 1996); 1 ng/ml = 1e-6 g/l / 15300 g/mol = 65.36 pM
    assert conc_unit_factor_to_pm("IU/mL") * 2.3 == pytest.approx(10.0)
    assert conc_unit_factor_to_pm("ng/mL") == pytest.approx(1e6 / 15300.0)
    assert conc_unit_factor_to_pm("furlongs") is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=8), st.floats(allow_nan=True)), min_size=1, max_size=5))
def test_numeric_parser_returns_floats_or_one_data_error(values: list[object]) -> None:
    df = pd.DataFrame({"X": pd.Series(values, dtype=object)})
    try:
        out = parse_float(df, "T", "X", allow_missing=True)
    except DataError as exc:
        assert str(exc).startswith("T: row ")
        assert "column X" in str(exc)
    else:
        assert out.dtype == float and len(out) == len(values)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_unit_parsers_never_raise(text: str) -> None:
    for f in (
        dose_unit_factor_to_miu_per_m2,
        count_unit_factor_to_cells_per_ul,
        conc_unit_factor_to_pm,
    ):
        v = f(text)
        assert v is None or v > 0
