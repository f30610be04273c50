"""NONMEM-style event tables (il2sim.regimen.nonmem): reading, writing, errors, round trips."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from il2sim.errors import DataError, InputError
from il2sim.regimen import (
    Route,
    parse_spec,
    read_nonmem_csv,
    regimen_from_table,
    regimens_from_table,
    to_nonmem_table,
    write_nonmem_csv,
)
from test_regimen_spec import canon, spec_text

SEED = "1.25 MIU/m2 sc qd x90"


def test_addl_expands_to_the_seed_schedule() -> None:
    # 1.25 MIU/m2 for BSA 1.8 m2 = 2.25e6 IU, every 24 h, 89 additional doses = 90 doses.
    df = pd.DataFrame(
        {"ID": [1], "TIME": [0], "AMT": [2.25e6], "II": [24], "ADDL": [89], "CMT": [1], "EVID": [1]}
    )
    reg = regimen_from_table(df)
    assert len(reg) == 90
    np.testing.assert_array_equal([e.time_day for e in reg.events], np.arange(90.0))
    assert {e.route for e in reg.events} == {Route.SC}
    np.testing.assert_allclose(reg.amounts_iu(5.0), np.full(90, 2.25e6))  # flat: BSA ignored
    np.testing.assert_allclose(canon(reg, 1.0), canon(parse_spec(SEED), 1.8), rtol=1e-12)


def test_infusion_by_rate_or_duration() -> None:
    # 1 MIU over 6 h: RATE = 1e6 / 6 IU/h, or DUR = 6 h; both give 0.25 day in CMT 2.
    by_rate = pd.DataFrame({"TIME": [12], "AMT": [1e6], "RATE": [1e6 / 6], "CMT": [2]})
    by_dur = pd.DataFrame({"TIME": [12], "AMT": [1e6], "DUR": [6], "CMT": [2]})
    both = pd.DataFrame({"TIME": [12], "AMT": [1e6], "RATE": [1e6 / 6], "DUR": [6], "CMT": [2]})
    for df in (by_rate, by_dur, both):
        (e,) = regimen_from_table(df).events
        assert e.route is Route.IV_INFUSION
        assert e.time_day == 0.5
        assert e.duration_day == pytest.approx(0.25, rel=1e-12)
        assert e.amount_iu() == 1e6


def test_cmt_and_route_mapping() -> None:
    df = pd.DataFrame(
        {
            "TIME": [0, 24, 48, 72],
            "AMT": [1, 2, 3, 4],
            "CMT": [1, 1, 2, 2],
            "DUR": [0, 0, 0, 24],
            "ROUTE": ["sc", "im", "iv", "iv infusion"],
        }
    )
    reg = regimen_from_table(df, amount_unit="MIU")
    assert [e.route for e in reg.events] == [
        Route.SC,
        Route.IM,
        Route.IV_BOLUS,
        Route.IV_INFUSION,
    ]
    assert [e.amount_iu() for e in reg.events] == [1e6, 2e6, 3e6, 4e6]
    assert reg.events[3].duration_day == 1.0
    # without CMT: a dose with a duration is an infusion, otherwise a depot dose
    nocmt = regimen_from_table(pd.DataFrame({"TIME": [0, 1], "AMT": [1, 1], "DUR": [0, 2]}))
    assert [e.route for e in nocmt.events] == [Route.SC, Route.IV_INFUSION]


def test_declared_units_and_evid_filter() -> None:
    df = pd.DataFrame(
        {
            "id": [7, 7, 7, 7],
            "time": [0.0, 0.0, 1.0, 2.0],
            "amt": [".", 1.25, 1.25, "."],
            "evid": [0, 1, 1, 0],
            "dv": [0.1, ".", ".", 0.3],
        }
    )
    regs = regimens_from_table(df, time_unit="d", amount_unit="MIU", per_m2=True)
    assert list(regs) == [7]
    reg = regs[7]
    assert [e.time_day for e in reg.events] == [0.0, 1.0]
    np.testing.assert_allclose(reg.amounts_iu(2.0), [2.5e6, 2.5e6])


def test_multiple_ids() -> None:
    df = pd.DataFrame({"ID": [1, 1, 2], "TIME": [0, 24, 0], "AMT": [1e6, 1e6, 5e6]})
    regs = regimens_from_table(df)
    assert sorted(regs) == [1, 2]
    assert len(regs[1]) == 2
    assert len(regs[2]) == 1
    with pytest.raises(DataError, match="expected one ID, got 2"):
        regimen_from_table(df)


def test_write_columns_and_values() -> None:
    reg = parse_spec("1.25 MIU/m2 sc qd x3 + 0.45 MIU/m2/day iv infusion x2d @5")
    t = to_nonmem_table(reg, bsa_m2=2.0)
    assert list(t.columns) == [
        "ID",
        "TIME",
        "AMT",
        "RATE",
        "DUR",
        "II",
        "ADDL",
        "CMT",
        "EVID",
        "ROUTE",
    ]
    assert t["TIME"].tolist() == [0.0, 24.0, 48.0, 120.0]
    assert t["AMT"].tolist() == pytest.approx([2.5e6, 2.5e6, 2.5e6, 0.45e6 * 2 * 2.0])
    # 1.8e6 IU over 48 h = 37,500 IU/h
    assert t["RATE"].tolist() == pytest.approx([0, 0, 0, 37_500.0])
    assert t["CMT"].tolist() == [1, 1, 1, 2]
    compact = to_nonmem_table(reg, bsa_m2=2.0, addl=True, infusion="dur", time_unit="d")
    assert compact[["TIME", "II", "ADDL", "DUR"]].values.tolist() == [
        [0.0, 1.0, 2, 0.0],
        [5.0, 0.0, 0, 2.0],
    ]


def test_write_needs_bsa_for_mixed_bases() -> None:
    reg = parse_spec("1 MIU/m2 sc + 1 MIU sc @1")
    with pytest.raises(InputError, match=r"^bsa_m2:"):
        to_nonmem_table(reg)
    per_m2_only = to_nonmem_table(parse_spec(SEED), amount_unit="MIU")
    back = regimen_from_table(per_m2_only, amount_unit="MIU", per_m2=True)
    np.testing.assert_allclose(canon(back, 1.7), canon(parse_spec(SEED), 1.7), rtol=1e-12)


def test_csv_round_trip_with_addl(tmp_path: Path) -> None:
    reg = parse_spec("1.25 MIU/m2 sc qd x84 + 15 MIU/m2 sc qd x3 @42 + 15 MIU/m2 sc qd x3 @56")
    out = tmp_path / "sub" / "doses.csv"
    write_nonmem_csv(to_nonmem_table(reg, bsa_m2=1.8, addl=True), out)
    assert [p.name for p in out.parent.iterdir()] == ["doses.csv"]  # no temp file left
    assert len(pd.read_csv(out)) == 3  # background (ADDL 83) + two 3-day pulses (ADDL 2)
    back = read_nonmem_csv(out)[1]
    np.testing.assert_allclose(canon(back, 1.0), canon(reg, 1.8), rtol=1e-12, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(spec_text())
def test_spec_to_table_to_events_round_trip(case: tuple[str, list[float]]) -> None:
    reg = parse_spec(case[0])
    for addl in (False, True):
        table = to_nonmem_table(reg, bsa_m2=1.7, addl=addl)
        back = regimen_from_table(table)
        np.testing.assert_allclose(canon(back, 1.0), canon(reg, 1.7), rtol=1e-9, atol=1e-9)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t.csv"
        write_nonmem_csv(to_nonmem_table(reg, bsa_m2=1.7, time_unit="min"), path)
        back = read_nonmem_csv(path, time_unit="min")[1]
        np.testing.assert_allclose(canon(back, 1.0), canon(reg, 1.7), rtol=1e-9, atol=1e-9)


# --- malformed tables --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "prefix", "needle"),
    [
        ({"TIME": [0], "DOSE": [1]}, "columns:", "AMT"),
        ({"AMT": [1]}, "columns:", "TIME"),
        ({"TIME": ["abc"], "AMT": [1]}, "TIME:", "'abc'"),
        ({"TIME": [0], "AMT": ["x1"]}, "AMT:", "'x1'"),
        ({"TIME": [0], "AMT": [-5], "EVID": [1]}, "AMT:", "-5"),
        ({"TIME": [-1], "AMT": [5]}, "TIME:", "-1"),
        ({"TIME": [0], "AMT": [6], "RATE": [1], "DUR": [2], "CMT": [2]}, "RATE:", "disagree"),
        ({"TIME": [0], "AMT": [6], "RATE": [-2], "CMT": [2]}, "RATE:", "-2"),
        ({"TIME": [0], "AMT": [6], "CMT": [3]}, "CMT:", "3"),
        ({"TIME": [0], "AMT": [6], "CMT": [1], "DUR": [2]}, "RATE:", "depot"),
        ({"TIME": [0], "AMT": [6], "CMT": [1], "ROUTE": ["iv"]}, "ROUTE:", "'iv'"),
        ({"TIME": [0], "AMT": [6], "ROUTE": ["po"]}, "ROUTE:", "'po'"),
        ({"TIME": [0], "AMT": [6], "ADDL": [3]}, "II:", "ADDL 3"),
        ({"TIME": [0], "AMT": [6], "ADDL": [1.5], "II": [24]}, "ADDL:", "1.5"),
        ({"TIME": [0], "AMT": [6], "SS": [1]}, "SS:", "1"),
        ({"TIME": [0], "AMT": [6], "EVID": [9]}, "EVID:", "9"),
        ({"TIME": [0], "AMT": ["."], "EVID": [1]}, "AMT:", "needs AMT"),
        ({"TIME": [0], "AMT": [0], "EVID": [0]}, "table:", "no dose rows"),
        (
            {"TIME": [0, 24], "AMT": [6, 6], "DUR": [48, 48], "CMT": [2, 2]},
            "table:",
            "overlaps",
        ),
    ],
)
def test_malformed_tables(data: dict[str, list[object]], prefix: str, needle: str) -> None:
    with pytest.raises(DataError) as info:
        regimens_from_table(pd.DataFrame(data))
    msg = str(info.value)
    assert msg.startswith(prefix), msg
    assert needle in msg, msg


def test_malformed_csv_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_nonmem_csv(tmp_path / "missing.csv")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("TIME,AMT\n0,1\n1,2,3,4\n")
    with pytest.raises(DataError, match="cannot read"):
        read_nonmem_csv(ragged)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="cannot read"):
        read_nonmem_csv(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("ID,TIME,AMT\n")
    with pytest.raises(DataError, match="no rows"):
        read_nonmem_csv(header_only)
    dots = tmp_path / "dots.csv"
    dots.write_text("ID,TIME,AMT,RATE,EVID\n1,0,1000,.,1\n1,1,.,.,0\n")
    (e,) = read_nonmem_csv(dots)[1].events
    assert (e.time_day, e.amount_iu()) == (0.0, 1000.0)


def test_write_several_ids_with_their_own_bsa() -> None:
    regs = {"A1": parse_spec("1 MIU/m2 sc qd x2"), 2: parse_spec("1 MIU/m2 iv bolus @1")}
    t = to_nonmem_table(regs, bsa_m2={"A1": 1.5, 2: 2.0})
    assert t["ID"].tolist() == ["A1", "A1", 2]
    assert t["AMT"].tolist() == pytest.approx([1.5e6, 1.5e6, 2.0e6])
    assert t["CMT"].tolist() == [1, 1, 2]
    back = regimens_from_table(t)
    assert sorted(map(str, back)) == ["2", "A1"]
    assert [e.time_day for e in back["A1"].events] == [0.0, 1.0]
    with pytest.raises(InputError, match=r"^bsa_m2: must be positive"):
        to_nonmem_table(regs, bsa_m2=0.0)
