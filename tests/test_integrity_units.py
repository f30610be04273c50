"""Units normalised at the boundary before any grouping (issue 17 item 1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from il2sim import units
from il2sim.analysis.load import load_sdtm
from il2sim.errors import DataError

DATA = Path(__file__).parent / "data"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "trial"
    shutil.copytree(DATA / "sdtm_full", d)
    return d


def test_mixed_iu_and_miu_give_the_exact_levels(folder: Path) -> None:
    """EX rows in IU/m2 and MIU/m2 mixed: the three levels 0.4, 0.8, 1.25, not five."""
    ex = folder / "ex.csv"
    lines = ex.read_text().splitlines()
    for i in (1, 3, 7):  # S01 (0.4), S03 (0.8) and S06 (1.25) written in IU/m2
        cells = lines[i].split(",")
        cells[2] = str(round(float(cells[2]) * 1e6))
        cells[3] = "IU/m2"
        lines[i] = ",".join(cells)
    ex.write_text("\n".join(lines) + "\n")
    assert 400000 * 1e-6 != 0.4  # the rounding error the boundary removes
    data = load_sdtm(folder)
    assert data.dose_levels_miu_per_m2 == (0.4, 0.8, 1.25)
    assert set(data.adsl["DOSE01P"].dropna()) == {0.4, 0.8, 1.25}


def test_units_that_cannot_be_converted_are_rejected_with_every_row(folder: Path) -> None:
    text = (folder / "ex.csv").read_text()
    text = text.replace("S01,ALDESLEUKIN,0.4,MIU/m2", "S01,ALDESLEUKIN,0.4,mg/kg")
    text = text.replace("S03,ALDESLEUKIN,0.8,MIU/m2", "S03,ALDESLEUKIN,0.8,mg/kg")
    text = text.replace("S04,ALDESLEUKIN,0.8,MIU/m2", "S04,ALDESLEUKIN,0.8,MIU")
    (folder / "ex.csv").write_text(text)
    with pytest.raises(DataError) as err:
        load_sdtm(folder)
    msg = str(err.value)
    assert msg.startswith("EX: row 1, column EXDOSU: unknown unit 'mg/kg'")
    assert "'mg/kg' in rows 1, 3" in msg and "'MIU' in row 4" in msg


@given(st.floats(min_value=1e-3, max_value=1e3), st.sampled_from([1e6, 1e3, 1e9]))
def test_a_dose_in_two_units_is_one_value(dose_miu: float, factor: float) -> None:
    dose = float(units.exact_after_conversion(dose_miu))
    other = float(units.exact_after_conversion((dose * factor) / factor))
    assert other == dose


def test_exact_after_conversion_passes_nan_inf_zero() -> None:
    out = units.exact_after_conversion([np.nan, np.inf, 0.0, -0.6000000000000001])
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == 0.0 and out[3] == -0.6
