"""Endpoints and safety tables on the hand-made datasets under tests/data (values by hand)."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from il2sim.analysis import analyze
from il2sim.analysis.endpoints import nk_visits
from il2sim.analysis.load import load_sdtm

DATA = Path(__file__).parent / "data"
MIN = DATA / "sdtm_min"
FULL = DATA / "sdtm_full"


def _by_subject(df: pd.DataFrame, col: str) -> dict[str, float]:
    return dict(zip(df["USUBJID"], df[col], strict=True))


def test_nk_peaks_and_baselines_on_minimal_dataset() -> None:
    r = analyze(MIN)
    s = r.subjects
    # baseline = last value on or before day 1: S01 has day -7 = 100 and day 1 = 200 -> 200;
    # S02's day-1 value is blank -> day -7 = 150.
    assert _by_subject(s, "NKCELLS_baseline_cells_per_ul") == {
        "S01": 200.0,
        "S02": 150.0,
        "S03": 100.0,
        "S04": 250.0,
        "S05": 200.0,
        "S06": 100.0,
    }
    # peak % increase: S01 (500-200)/200 = 150% on day 43; S02 (450-150)/150 = 200% first on
    # day 43 (again on day 85); S03 300% on day 15; S04 400% on day 85; S05 500%; S06 600%.
    assert _by_subject(s, "NKCELLS_peak_pct_increase") == {
        "S01": 150.0,
        "S02": 200.0,
        "S03": 300.0,
        "S04": 400.0,
        "S05": 500.0,
        "S06": 600.0,
    }
    assert _by_subject(s, "NKCELLS_peak_day") == {
        "S01": 43.0,
        "S02": 43.0,
        "S03": 15.0,
        "S04": 85.0,
        "S05": 43.0,
        "S06": 43.0,
    }
    # CD56bright: S06 is given in 10^9/L: 0.004 -> 4 cells/uL, 0.120 -> 120: +2900%.
    assert _by_subject(s, "NKBRIGHT_baseline_cells_per_ul")["S06"] == pytest.approx(4.0)
    assert _by_subject(s, "NKBRIGHT_peak_pct_increase") == pytest.approx(
        {"S01": 400.0, "S02": 400.0, "S03": 900.0, "S04": 1100.0, "S05": 1900.0, "S06": 2900.0}
    )
    assert list(s["level"]) == [1, 1, 2, 2, 3, 3]
    nk = r.response("NKCELLS")
    assert nk is not None and nk.jonckheere is not None
    assert nk.jonckheere.statistic == 12.0
    assert nk.jonckheere.pvalue == pytest.approx(1.0 / 90.0)
    assert [x.mean for x in nk.summary] == [175.0, 350.0, 550.0]
    # optional domains absent: skipped with notes, endpoints NaN
    assert any("AE absent" in n for n in r.notes)
    assert r.ae_table is None and r.antibodies is None and r.il2_samples is None
    assert s["dlt"].isna().all() and s["days_on_treatment"].isna().all()


def test_percent_change_per_visit() -> None:
    data = load_sdtm(MIN)
    v = nk_visits(data, "NKCELLS")
    s01 = v[v["USUBJID"] == "S01"].set_index("day")["pct_change"]
    assert math.isnan(s01[-7.0]) and math.isnan(s01[1.0])  # baseline period: no change
    assert s01[15.0] == pytest.approx(50.0)
    assert s01[43.0] == pytest.approx(150.0)
    assert s01[85.0] == pytest.approx(100.0)


def test_il2_time_on_treatment_dlt_and_worst_grade_on_full_dataset() -> None:
    r = analyze(FULL)
    s = r.subjects
    # S01 IL-2 peak 5 pM; trough = BLQ sample at LLOQ/2 = 0.5 pM.
    # S03 in IU/mL: 2.3 IU/mL = 10 pM and 1.15 IU/mL = 5 pM (seed: 10 pM = 2.3 IU/ml).
    assert _by_subject(s, "il2_peak_pm")["S01"] == pytest.approx(5.0)
    assert _by_subject(s, "il2_trough_pm")["S01"] == pytest.approx(0.5)
    assert _by_subject(s, "il2_peak_pm")["S03"] == pytest.approx(10.0)
    assert _by_subject(s, "il2_trough_pm")["S03"] == pytest.approx(5.0)
    assert math.isnan(_by_subject(s, "il2_peak_pm")["S02"])
    # time on treatment: S05 two EX records (days 1-20 at 1.25, 21-40 reduced) -> 40 days;
    # its level stays the starting dose 1.25 (level 3). S06 stopped on day 30.
    assert _by_subject(s, "days_on_treatment") == {
        "S01": 90.0,
        "S02": 90.0,
        "S03": 90.0,
        "S04": 90.0,
        "S05": 40.0,
        "S06": 30.0,
    }
    assert _by_subject(s, "level")["S05"] == 3
    assert _by_subject(s, "dlt") == {
        "S01": 0.0,
        "S02": 0.0,
        "S03": 0.0,
        "S04": 0.0,
        "S05": 1.0,
        "S06": 1.0,
    }
    w = r.ae_worst
    assert w is not None
    # S01 had FATIGUE grade 1 and "Tiredness" coded FATIGUE grade 2: worst grade 2
    got = {(a, b): g for a, b, g in zip(w["USUBJID"], w["term"], w["worst_grade"], strict=True)}
    assert got[("S01", "FATIGUE")] == 2
    assert got[("S05", "VOMITING")] == 3
    assert len(got) == 6


def test_safety_tables_on_full_dataset() -> None:
    r = analyze(FULL)
    t = r.ae_table
    assert t is not None
    fat = t[t["term"] == "FATIGUE"].set_index("level")
    assert fat.loc[1, "grade_2"] == 1 and fat.loc[1, "any_grade"] == 1
    assert fat.loc[2, "grade_1"] == 1
    assert int(t["grade_3_plus"].sum()) == 2  # vomiting and hyperglycaemia at level 3
    assert list(t["n_treated"].unique()) == [2]
    d = r.dlt_table.set_index("level")
    assert list(d["n_dlt"]) == [0.0, 0.0, 2.0]
    assert d.loc[3, "dlt_rate"] == 1.0
    # decisions.csv: last mtd_level = 2 -> 0.8 MIU/m2
    assert r.mtd["level"] == 2 and r.mtd["dose_miu_per_m2"] == 0.8
    ab = r.antibodies
    assert ab is not None
    assert set(ab["test"]) == {"IL2AB"}
    assert list(ab["n_positive"]) == [1, 0, 0, 1]
    assert list(ab["n_tested"]) == [2, 2, 2, 6]
    assert ab["proportion"].iloc[-1] == pytest.approx(1.0 / 6.0)
    assert r.notes == ()


def test_to_dict_is_json_ready() -> None:
    import json

    from il2sim.cli._common import to_jsonable

    d = analyze(FULL).to_dict()
    text = json.dumps(to_jsonable(d))
    assert "NaN" not in text
    assert d["dose_response"][0]["jonckheere_terpstra"]["statistic"] == 12.0
    assert d["mtd"]["dose_miu_per_m2"] == 0.8


def test_same_analysis_from_parquet_and_xpt(tmp_path: Path) -> None:
    import pyreadstat

    ref = analyze(FULL)
    for fmt in ("parquet", "xpt"):
        out = tmp_path / fmt
        out.mkdir()
        for f in FULL.glob("*.csv"):
            if f.name == "decisions.csv":
                shutil.copy(f, out / f.name)
                continue
            df = pd.read_csv(f, dtype=str, keep_default_na=False)
            for col in df.columns:
                num = pd.to_numeric(df[col], errors="coerce")
                if num.notna().sum() == (df[col] != "").sum() and col != "USUBJID":
                    df[col] = num
            stem = f.stem.upper()  # upper-case names: DM.parquet, DM.xpt
            if fmt == "parquet":
                df.to_parquet(out / f"{stem}.parquet")
            else:
                pyreadstat.write_xport(df, str(out / f"{stem}.xpt"), table_name=stem)
        got = analyze(out)
        cols = [
            "NKCELLS_peak_pct_increase",
            "NKBRIGHT_peak_pct_increase",
            "il2_peak_pm",
            "il2_trough_pm",
            "days_on_treatment",
            "dlt",
        ]
        np.testing.assert_allclose(got.subjects[cols].to_numpy(), ref.subjects[cols].to_numpy())
        assert got.mtd == ref.mtd


def test_test_code_mapping(tmp_path: Path) -> None:
    shutil.copytree(MIN, tmp_path / "d")
    cp = (tmp_path / "d" / "cp.csv").read_text()
    (tmp_path / "d" / "cp.csv").write_text(
        cp.replace("NKCELLS", "CD3NCD56").replace("NKBRIGHT", "CD56BRT")
    )
    r = analyze(tmp_path / "d", {"NKCELLS": "CD3NCD56", "nkbright": "cd56brt"})
    assert list(r.subjects["NKCELLS_peak_pct_increase"]) == [150, 200, 300, 400, 500, 600]
    assert r.subjects["NKBRIGHT_peak_pct_increase"].iloc[-1] == pytest.approx(2900.0)


def test_analysis_never_imports_simulate_nor_matplotlib() -> None:
    code = (
        "import sys, il2sim.analysis, il2sim.cli.analyze, il2sim.cli.report, il2sim.report;"
        "bad=[m for m in sys.modules if m.startswith(('il2sim.simulate','matplotlib'))];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
