"""Unit conversions: closed forms and round trips (il2sim.units)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from il2sim import units
from il2sim.errors import InputError

pos = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False)


def test_seed_convention_10_pm_is_2_3_iu_per_ml() -> None:
    # Meropol 1996 abstract: "peak IL-2 levels <10 pM (2.3 IU/ml)".
    assert units.pm_to_iu_per_ml(10.0) == pytest.approx(2.3, rel=1e-12)
    assert units.iu_per_ml_to_pm(2.3) == pytest.approx(10.0, rel=1e-12)


def test_label_convention() -> None:
    # Aldesleukin label: 16.4 MIU/mg, 15.3 kDa -> 1 IU/ml = 1e3/16.4e6 mg/l / 15300 g/mol = 3.985 pM.
    expected = 1e3 / 16.4e6 * 1e-3 / 15300.0 * 1e12
    assert units.iu_per_ml_to_pm(1.0, "label") == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(3.985, abs=1e-3)


def test_ng_per_ml() -> None:
    # 1 ng/ml of a 15.3 kDa protein = 1e-6 g/l / 15300 g/mol = 65.359 pM.
    assert units.ng_per_ml_to_pm(1.0) == pytest.approx(1e3 / 15.3, rel=1e-12)


@given(pos)
def test_round_trips(x: float) -> None:
    assert units.pm_to_iu_per_ml(units.iu_per_ml_to_pm(x)) == pytest.approx(x, rel=1e-12)
    assert units.pm_to_ng_per_ml(units.ng_per_ml_to_pm(x)) == pytest.approx(x, rel=1e-12)
    assert units.ng_per_ml_to_iu_per_ml(units.iu_per_ml_to_ng_per_ml(x)) == pytest.approx(x, rel=1e-12)
    assert units.iu_to_miu(units.miu_to_iu(x)) == pytest.approx(x, rel=1e-12)
    assert units.iu_to_ug(units.ug_to_iu(x)) == pytest.approx(x, rel=1e-12)
    assert units.flat_to_per_m2(units.per_m2_to_flat(x, 1.7), 1.7) == pytest.approx(x, rel=1e-12)
    assert units.days_to_hours(units.hours_to_days(x)) == pytest.approx(x, rel=1e-12)
    for u in ("IU", "kIU", "MIU", "ug", "mg"):
        assert units.iu_to_amount(units.amount_to_iu(x, u), u) == pytest.approx(x, rel=1e-12)


def test_amounts() -> None:
    assert units.amount_to_iu(1.25, "MIU") == 1.25e6
    # label: 18 MIU = 1.1 mg -> 1.1 mg * 16.4 MIU/mg = 18.04 MIU
    assert units.amount_to_iu(1.1, "mg") == pytest.approx(18.04e6, rel=1e-12)
    with pytest.raises(InputError, match="unit"):
        units.amount_to_iu(1.0, "furlongs")


def test_bsa_mosteller_170_70() -> None:
    # Issue 2: Mosteller BSA of 170 cm / 70 kg = 1.818 m2 (3 d.p.).
    assert round(units.bsa_mosteller_m2(170.0, 70.0), 3) == 1.818


def test_bsa_dubois_and_vectorised() -> None:
    # DuBois: 0.007184 * 70^0.425 * 170^0.725 = 1.8097 m2
    assert units.bsa_dubois_m2(170.0, 70.0) == pytest.approx(1.8097, abs=1e-4)
    h = np.array([150.0, 170.0, 190.0])
    w = np.array([50.0, 70.0, 90.0])
    np.testing.assert_allclose(units.bsa_m2(h, w), np.sqrt(h * w / 3600.0), rtol=1e-12)


@pytest.mark.parametrize("bad", [-170.0, 0.0, float("nan")])
def test_bsa_rejects_bad_height(bad: float) -> None:
    with pytest.raises(InputError, match="height_cm"):
        units.bsa_mosteller_m2(bad, 70.0)


def test_time_units() -> None:
    assert units.time_to_days(48.0, "h") == 2.0
    assert units.days_to_time(2.0, "h") == 48.0
    with pytest.raises(InputError, match="time unit"):
        units.time_to_days(1.0, "fortnight")
