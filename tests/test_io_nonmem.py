"""NONMEM-style dataset export from a simulation and from an SDTM folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from il2sim.cli.main import app
from il2sim.errors import DataError, InputError
from il2sim.io.nonmem import COLUMNS, nonmem_from_sdtm, nonmem_from_simulation, write_nonmem
from il2sim.model.parameters import load_parameters
from il2sim.population import Population
from il2sim.regimen import parse_spec, regimens_from_table
from il2sim.simulate import simulate


def _sim(spec: str, n: int = 3, horizon: float = 4.0, step: float = 1.0) -> tuple:
    reg = parse_spec(spec)
    params = load_parameters()
    pop = Population.sample(n, 7, params)
    t = np.arange(int(horizon / step) + 1) * step
    res = simulate(reg, pop, params, horizon_day=horizon, output_times_day=t)
    return reg, pop, res


def test_simulation_dataset_values() -> None:
    reg, pop, res = _sim("1 MIU/m2 sc qd x3")
    df = nonmem_from_simulation(res, pop, reg, observations=("il2", "nk", "bright"))
    assert tuple(df.columns) == COLUMNS
    doses = df[df.EVID == 1]
    obs = df[df.EVID == 0]
    assert len(doses) == 3 * 3 and len(obs) == 3 * 5 * 3
    for i in range(3):
        d = doses[doses.ID == i + 1]
        assert d.TIME.tolist() == [0.0, 24.0, 48.0]  # days 0, 1, 2 in hours
        np.testing.assert_allclose(d.AMT, 1.0e6 * pop.bsa_m2[i], rtol=1e-15)  # 1 MIU/m2 x BSA
        assert (d.CMT == 1).all() and (d.MDV == 1).all() and (d.RATE == 0).all()
        o = obs[(obs.ID == i + 1) & (obs.DVID == 1)]
        np.testing.assert_array_equal(o.DV.to_numpy(), res.il2_pm[i])
        assert o.TIME.tolist() == [0.0, 24.0, 48.0, 72.0, 96.0]
        assert (o.CMT == 2).all() and (o.MDV == 0).all()
        nk = obs[(obs.ID == i + 1) & (obs.DVID == 2)]
        np.testing.assert_array_equal(nk.DV.to_numpy(), res.nk_per_ul[i])
        assert (nk.CMT == 3).all()
        row = df[df.ID == i + 1].iloc[0]
        assert row.BSA == pop.bsa_m2[i] and row.WT == pop.weight_kg[i]
        assert row.AGE == pop.age_yr[i] and row.SEX == (1 if pop.sex[i] == "M" else 2)
        assert row.DOSE == 1.0
    # at a dosing time the observation (pre-dose trough) comes before the dose
    first = df[(df.ID == 1) & (df.TIME == 24.0)]
    assert first.EVID.tolist()[0] == 0 and first.EVID.tolist()[-1] == 1


def test_dose_records_read_back_as_the_same_regimen(tmp_path: Path) -> None:
    """il2sim's own NONMEM reader (regimen module) recovers each patient's flat doses."""
    reg, pop, res = _sim("0.5 MIU/m2 sc qd x2 + 2 MIU iv infusion over 6h once @1", n=2)
    df = nonmem_from_simulation(res, pop, reg)
    path = write_nonmem(df, tmp_path / "d.csv")
    back = regimens_from_table(pd.read_csv(path), time_unit="h", amount_unit="IU")
    for i in range(2):
        got = back[i + 1]
        mine = sorted(
            (e.time_day, e.route.value, e.duration_day, round(float(a), 3))
            for e, a in zip(reg.events, reg.amounts_iu(pop.bsa_m2[i]), strict=True)
        )
        theirs = sorted(
            (e.time_day, e.route.value, e.duration_day, round(float(a), 3))
            for e, a in zip(got.events, got.amounts_iu(1.0), strict=True)
        )
        assert theirs == mine
        assert [m[1] for m in mine] == ["sc", "iv_infusion", "sc"]
    inf = df[(df.EVID == 1) & (df.RATE > 0)]
    np.testing.assert_allclose(inf.RATE, 2.0e6 / 6.0)  # 2 MIU over 6 h, IU/h
    assert (inf.CMT == 2).all()


def test_simulation_errors() -> None:
    reg, pop, res = _sim("1 MIU sc once", n=2)
    with pytest.raises(InputError, match="observations"):
        nonmem_from_simulation(res, pop, reg, observations=("cd8",))
    with pytest.raises(InputError, match="obs_times_day"):
        nonmem_from_simulation(res, pop, reg, obs_times_day=[0.5])
    with pytest.raises(InputError, match="population"):
        nonmem_from_simulation(res, pop.subset([0]), reg)


def _write_sdtm(folder: Path) -> None:
    """A hand-made two-subject SDTM folder (values chosen for easy checking)."""
    folder.mkdir()
    pd.DataFrame({"USUBJID": ["S-001", "S-002"], "AGE": [60, 45], "SEX": ["M", "F"]}).to_csv(
        folder / "dm.csv", index=False
    )
    pd.DataFrame(
        {
            "USUBJID": ["S-001", "S-001", "S-002", "S-002"],
            "QNAM": ["BSA", "WEIGHT", "BSA", "WEIGHT"],
            "QVAL": ["2.000", "80.0", "1.600", "55.5"],
        }
    ).to_csv(folder / "suppdm.csv", index=False)
    pd.DataFrame(
        {
            "USUBJID": ["S-001", "S-001", "S-001", "S-002"],
            "EXDOSE": [1.25, 0.0, 1.0, 0.4],
            "EXDOSU": ["MIU/m2"] * 4,
            "EXSTDY": [1, 3, 5, 1],
            "EXENDY": [2, 4, 5, 1],
        }
    ).to_csv(folder / "ex.csv", index=False)
    pd.DataFrame(
        {
            "USUBJID": ["S-001", "S-001", "S-002"],
            "PCSTRESN": [np.nan, 20.5, 3.0],
            "PCBLQFL": ["Y", "N", "N"],
            "PCDY": [1, 1, 8],
            "PCELTM": [0.0, 4.0, 4.0],
        }
    ).to_csv(folder / "pc.csv", index=False)
    pd.DataFrame(
        {
            "USUBJID": ["S-001", "S-002", "S-002"],
            "CPTESTCD": ["NKCELLS", "NKCELLS", "NKBRIGHT"],
            "CPSTRESN": [250.0, 180.0, 9.5],
            "CPDY": [1, 8, 8],
        }
    ).to_csv(folder / "cp.csv", index=False)


def test_sdtm_folder_dataset(tmp_path: Path) -> None:
    _write_sdtm(tmp_path / "sdtm")
    df = nonmem_from_sdtm(tmp_path / "sdtm")
    s1 = df[df.ID == 1]
    d1 = s1[s1.EVID == 1]
    # days 1, 2 at 1.25 MIU/m2, held days 3-4, day 5 at 1.0 MIU/m2; BSA 2.0 m2
    assert d1.TIME.tolist() == [0.0, 24.0, 96.0]
    assert d1.AMT.tolist() == [2.5e6, 2.5e6, 2.0e6]
    o1 = s1[s1.EVID == 0]
    assert o1[["TIME", "DVID", "DV", "MDV", "BLQ"]].values.tolist() == [
        [0.0, 1, 0.0, 1, 1],  # BLQ pre-dose IL-2 (before the dose at TIME 0)
        [0.0, 2, 250.0, 0, 0],
        [4.0, 1, 20.5, 0, 0],
    ]
    assert s1.EVID.tolist()[:3] == [0, 0, 1]  # observations before the dose at TIME 0
    assert (s1.BSA == 2.0).all() and (s1.WT == 80.0).all() and (s1.SEX == 1).all()
    assert (s1.AGE == 60).all() and (s1.DOSE == 1.25).all()
    s2 = df[df.ID == 2]
    assert s2[s2.EVID == 1].AMT.tolist() == [pytest.approx(0.4e6 * 1.6)]
    assert s2[s2.EVID == 0][["TIME", "DVID", "DV"]].values.tolist() == [
        [168.0, 2, 180.0], [168.0, 3, 9.5], [172.0, 1, 3.0]
    ]  # fmt: skip
    assert (s2.SEX == 2).all()


def test_sdtm_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="sdtm"):
        nonmem_from_sdtm(tmp_path / "missing")
    _write_sdtm(tmp_path / "s")
    (tmp_path / "s" / "ex.csv").unlink()
    with pytest.raises(DataError, match="EX"):
        nonmem_from_sdtm(tmp_path / "s")


def test_real_trial_folder(tmp_path: Path) -> None:
    """A folder written by il2sim's trial module exports consistently: one dose record per
    dosed study day in EX, one observation per PC/CP record."""
    from il2sim.cdisc import build_sdtm, write_sdtm
    from il2sim.designs.registry import build_design
    from il2sim.trial.run import run_trial

    trial = run_trial(build_design("3+3", n_doses=2), [0.4, 1.25], seed=3, max_patients=3)
    domains = build_sdtm(trial)
    write_sdtm(domains, tmp_path / "t")
    df = nonmem_from_sdtm(tmp_path / "t")
    ex = domains["EX"]
    n_dosed_days = int(((ex.EXENDY - ex.EXSTDY + 1) * (ex.EXDOSE > 0)).sum())
    assert int((df.EVID == 1).sum()) == n_dosed_days
    cp = domains["CP"]
    assert int((df.EVID == 0).sum()) == len(domains["PC"]) + int(
        cp.CPTESTCD.isin(["NKCELLS", "NKBRIGHT"]).sum()
    )
    assert df.ID.nunique() == len(domains["DM"]) == trial.n_patients


def test_cli_export_nonmem(tmp_path: Path) -> None:
    out = tmp_path / "sim.csv"
    r = CliRunner().invoke(
        app,
        ["export", "nonmem", "--regimen", "1 MIU/m2 sc qd x2", "--patients", "2",
         "--horizon-days", "3", "--every", "12", "--out", str(out), "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["subjects"] == 2 and info["doses"] == 4 and info["observations"] == 2 * 7 * 2
    assert pd.read_csv(out).columns.tolist() == list(COLUMNS)
    _write_sdtm(tmp_path / "sd")
    r = CliRunner().invoke(app, ["export", "nonmem", "--sdtm", str(tmp_path / "sd"), "--out",
                                 str(tmp_path / "t.csv")])  # fmt: skip
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["export", "nonmem", "--out", str(tmp_path / "x.csv")])
    assert r.exit_code != 0
