"""The in-silico trial: SDTM shape, dose records, decision log, reproducibility, replicates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from il2sim.cdisc import DOMAINS, build_sdtm, write_sdtm
from il2sim.designs.registry import build_design
from il2sim.errors import DesignError, InputError
from il2sim.trial import (
    DoseModification,
    Schedule,
    build_pools,
    run_replicates,
    run_trial,
)
from il2sim.trial.noise import IL2_LLOQ_PM, add_flow_noise, add_il2_noise

# Seed design (Meropol et al. 1996): 4+5, seven levels 0.4-1.75 MIU/m2 (levels assumed).
DOSES = (0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 1.75)
REQUIRED = {
    "DM": ("STUDYID", "DOMAIN", "USUBJID", "SUBJID", "AGE", "AGEU", "SEX", "ARMCD", "ARM"),
    "SUPPDM": ("USUBJID", "RDOMAIN", "QNAM", "QVAL"),
    "EX": ("USUBJID", "EXTRT", "EXDOSE", "EXDOSU", "EXROUTE", "EXSTDY", "EXENDY", "EXADJ"),
    "AE": ("USUBJID", "AETERM", "AEDECOD", "AETOXGR", "AESTDY", "AEENDY", "AESER", "AEREL"),
    "SUPPAE": ("USUBJID", "RDOMAIN", "IDVAR", "IDVARVAL", "QNAM", "QVAL"),
    "CP": ("USUBJID", "CPTESTCD", "CPTEST", "CPORRES", "CPSTRESN", "CPSTRESU", "CPDY", "VISIT", "VISITNUM"),
    "PC": ("USUBJID", "PCTESTCD", "PCSTRESN", "PCSTRESC", "PCSTRESU", "PCDY", "PCTPT", "PCLLOQ"),
    "IS": ("USUBJID", "ISTESTCD", "ISSTRESC", "ISDY"),
    "DECISION": ("COHORT", "LEVEL", "DOSE", "NSUBJ", "NDLT", "DECISION", "NXTLEVEL"),
}  # fmt: skip


@pytest.fixture(scope="module")
def design():
    return build_design("a+b", n_doses=7, a=4, b=5)


@pytest.fixture(scope="module")
def trial(design):
    return run_trial(design, DOSES, seed=11)


@pytest.fixture(scope="module")
def domains(trial):
    return build_sdtm(trial)


def test_domains_and_required_variables(domains) -> None:
    assert set(DOMAINS) == set(domains)
    for name, cols in REQUIRED.items():
        missing = [c for c in cols if c not in domains[name].columns]
        assert not missing, f"{name} lacks {missing}"


def test_one_dm_row_per_subject_and_consistent_ids(trial, domains) -> None:
    dm = domains["DM"]
    assert len(dm) == trial.n_patients == dm["USUBJID"].nunique()
    for name in ("EX", "CP", "PC", "IS"):
        assert set(domains[name]["USUBJID"]) == set(dm["USUBJID"])
    supp = domains["SUPPDM"]
    bsa = supp[supp["QNAM"] == "BSA"]
    assert len(bsa) == len(dm) and (bsa["QVAL"].astype(float) > 1.0).all()
    assert set(dm["SEX"]) <= {"M", "F"} and (dm["AGE"] >= 18).all()
    # ARMCD is the dose level, in DM and the decision log alike
    dec = domains["DECISION"]
    assert dec["NSUBJ"].sum() == len(dm)
    assert dec["NDLT"].sum() == trial.n_dlt
    n_per_level = dm["ARMCD"].str.slice(1).astype(int).value_counts()
    for lv, n in dec.groupby("LEVEL")["NSUBJ"].sum().items():
        assert n_per_level[lv] == n


def test_ex_rows_match_the_regimen(trial, domains) -> None:
    """EX periods tile study days 1..90 for every subject, and sum(dose x days) equals the
    assigned daily dose times the days given (held days 0, reduced days at the fraction)."""
    ex = domains["EX"]
    dm = domains["DM"].set_index("USUBJID")
    assert set(ex["EXDOSU"]) == {"MIU/m2"} and set(ex["EXROUTE"]) == {"SUBCUTANEOUS"}
    scales = np.concatenate([c.result.dose_scale for c in trial.cohorts])
    for i, (usub, rows) in enumerate(ex.groupby("USUBJID", sort=True)):
        rows = rows.sort_values("EXSTDY")
        assert rows["EXSTDY"].iloc[0] == 1 and rows["EXENDY"].iloc[-1] == 90
        assert (rows["EXSTDY"].to_numpy()[1:] == rows["EXENDY"].to_numpy()[:-1] + 1).all()
        dose = trial.doses_miu_per_m2[int(dm.loc[usub, "ARMCD"][1:]) - 1]
        total = float((rows["EXDOSE"] * (rows["EXENDY"] - rows["EXSTDY"] + 1)).sum())
        assert total == pytest.approx(dose * scales[i].sum(), rel=1e-6)
        unmodified = rows["EXADJ"] == ""
        assert np.allclose(rows.loc[unmodified, "EXDOSE"], dose)


def test_dose_modification_after_dlt(trial, domains) -> None:
    ae = _with_dlt(domains)
    ex = domains["EX"]
    dlt_subjects = set(ae.loc[ae["AEDLT"] == "Y", "USUBJID"])
    assert len(dlt_subjects) == trial.n_dlt
    held = set(ex.loc[ex["EXADJ"] == "DOSE HELD FOR DLT", "USUBJID"])
    assert held == dlt_subjects  # every DLT patient has a hold
    for s in dlt_subjects:
        dlt_day = int(ae.loc[(ae["USUBJID"] == s) & (ae["AEDLT"] == "Y"), "AESTDY"].min())
        hold = ex[(ex["USUBJID"] == s) & (ex["EXADJ"] == "DOSE HELD FOR DLT")]
        assert int(hold["EXSTDY"].iloc[0]) >= dlt_day + 1
        assert int(hold["EXSTDY"].iloc[0]) <= trial.schedule.dlt_window_day + 1


def _with_dlt(domains):
    """AE with the SUPPAE DLT flag (QNAM AEDLT, keyed by AESEQ) merged back in."""
    s = domains["SUPPAE"]
    s = s[s["QNAM"] == "AEDLT"]
    keys = zip(s["USUBJID"], s["IDVARVAL"].astype(int), strict=True)
    flag = dict(zip(keys, s["QVAL"], strict=True))
    ae = domains["AE"].copy()
    ae["AEDLT"] = [flag[(u, int(q))] for u, q in zip(ae["USUBJID"], ae["AESEQ"], strict=True)]
    return ae


def test_ae_grades_and_days(domains) -> None:
    ae = _with_dlt(domains)
    assert len(ae) > 0
    assert ae["AETOXGR"].astype(int).between(1, 5).all()
    assert (ae["AESTDY"] <= ae["AEENDY"]).all() and ae["AESTDY"].between(1, 90).all()
    assert set(ae["AEDLT"]) <= {"Y", "N"}


def test_cp_pc_is_values(trial, domains) -> None:
    cp = domains["CP"]
    assert set(cp["CPTESTCD"]) == {"NKCELLS", "NKBRIGHT"}
    assert (cp["CPSTRESN"] > 0).all() and set(cp["CPSTRESU"]) == {"cells/uL"}
    # baseline, weekly to week 4, then every 2 weeks to week 12
    assert sorted(set(cp["CPDY"])) == [1, 8, 15, 22, 29, 43, 57, 71, 85]
    assert (cp.groupby("USUBJID").size() == 18).all()
    pc = domains["PC"]
    blq = pc["PCSTRESC"].str.startswith("<")
    assert pc.loc[blq, "PCSTRESN"].isna().all()
    assert (pc.loc[~blq, "PCSTRESN"] >= IL2_LLOQ_PM).all()
    # before the first dose there is no IL-2 (all baseline pre-dose samples BLQ)
    pre0 = pc[(pc["PCDY"] == 1) & (pc["PCTPT"] == "PRE-DOSE")]
    assert pre0["PCSTRESC"].str.startswith("<").all()
    assert set(domains["IS"]["ISSTRESC"]) <= {"POSITIVE", "NEGATIVE"}


def test_same_seed_identical_files(design, tmp_path: Path) -> None:
    a = run_trial(design, DOSES, seed=5)
    b = run_trial(design, DOSES, seed=5)
    fa = write_sdtm(build_sdtm(a), tmp_path / "a")
    fb = write_sdtm(build_sdtm(b), tmp_path / "b")
    # CSV, Parquet and Dataset-JSON per dataset, and define.xml
    assert [p.name for p in fa] == [p.name for p in fb] and len(fa) == 3 * len(DOMAINS) + 1
    for pa, pb in zip(fa, fb, strict=True):
        if pa.suffix in (".csv", ".parquet"):  # Dataset-JSON and define.xml carry a timestamp
            assert pa.read_bytes() == pb.read_bytes(), pa.name
    c = run_trial(design, DOSES, seed=6)
    assert build_sdtm(c)["CP"]["CPSTRESN"].tolist() != build_sdtm(a)["CP"]["CPSTRESN"].tolist()
    assert not list(tmp_path.glob(".*il2sim-tmp*"))  # staging folders removed


def test_sdtm_readable_by_analysis_loader(trial, tmp_path: Path) -> None:
    from il2sim.analysis.load import load_sdtm

    write_sdtm(build_sdtm(trial), tmp_path)
    data = load_sdtm(tmp_path)
    assert len(data.adsl) == trial.n_patients
    assert data.dose_levels_miu_per_m2 and set(data.dose_levels_miu_per_m2) <= set(DOSES)


def test_xpt_written(trial, tmp_path: Path) -> None:
    import pyreadstat

    files = write_sdtm({"DM": build_sdtm(trial)["DM"]}, tmp_path, xpt=True)
    assert {p.suffix for p in files} == {".csv", ".parquet", ".json", ".xpt", ".xml"}
    df, _ = pyreadstat.read_xport(str(tmp_path / "dm.xpt"))
    assert len(df) == trial.n_patients and "USUBJID" in df.columns


def test_noise() -> None:
    rng = np.random.default_rng(0)
    x = add_flow_noise(np.full(20000, 300.0), rng)
    assert (x > 0).all()
    assert np.std(np.log(x)) == pytest.approx(np.sqrt(np.log1p(0.12**2 + 1 / 15000)), rel=0.03)
    obs, blq = add_il2_noise(np.array([0.0, 0.1, 5.0, 50.0]), rng)
    assert blq[:2].all() and not blq[2:].any() and np.isnan(obs[:2]).all()


def test_bad_inputs(design) -> None:
    with pytest.raises(InputError):
        run_trial(design, (0.4, 0.3, 0.8, 1.0, 1.25, 1.5, 1.75), seed=1)
    with pytest.raises(DesignError):
        run_trial(design, (0.4, 0.6), seed=1)
    with pytest.raises(InputError):
        Schedule(dlt_window_day=0)
    with pytest.raises(InputError):
        DoseModification(resume_fraction=1.5)


def test_replicates_pool_resampling(design) -> None:
    """Replicates from pools: same seed same results; patients per level within a replicate
    are distinct pool patients; DLT counts match the per-patient draws (or, with
    ``dlt_draw="realised"``, the pool patients' own DLTs)."""
    pools = build_pools(DOSES, 40, seed=3)
    r1 = run_replicates(design, pools, 60, seed=3)
    r2 = run_replicates(design, pools, 60, seed=3)
    assert np.array_equal(r1.mtd_level, r2.mtd_level)
    assert np.array_equal(r1.n_per_level, r2.n_per_level)
    for r in range(r1.n_replicates):
        for j, idx in enumerate(r1.patients[r]):
            assert idx.size == r1.n_per_level[r, j] == np.unique(idx).size
            assert int(r1.dlts[r][j].sum()) == r1.dlt_per_level[r, j]
            assert not np.any(r1.dlts[r][j] & (pools.dlt_prob[j][idx] == 0.0))
    r3 = run_replicates(design, pools, 60, seed=3, dlt_draw="realised")
    for r in range(r3.n_replicates):
        for j, idx in enumerate(r3.patients[r]):
            assert int(pools.dlt[j][idx].sum()) == r3.dlt_per_level[r, j]
    pct = r1.mtd_selected_pct()
    assert sum(pct.values()) + r1.none_selected_pct == pytest.approx(100.0)
    d = r1.to_dict(pools)
    assert len(d["nk_peak_increase_pct_per_dose"]) == 7


def test_other_design_runs() -> None:
    des = build_design("3+3", n_doses=7)
    t = run_trial(des, DOSES, seed=2)
    assert t.n_patients >= 3 and all(c.n == 3 for c in t.cohorts)


def test_trial_solver_step_is_accurate() -> None:
    """The trial's coarser solver step changes daily peak IL-2 by < 0.2% and NK counts by
    < 1% against the simulator's default step (seed regimen, 1.75 MIU/m2, 20 patients)."""
    from il2sim.population import Population
    from il2sim.simulate import simulate
    from il2sim.trial.cohort import daily_regimen

    pop = Population.sample(20, 8)
    reg = daily_regimen(1.75, 90)
    t = np.array([0.0, 28.0, 56.0, 84.0])
    fine = simulate(reg, pop, horizon_day=90.0, output_times_day=t)
    coarse = simulate(reg, pop, horizon_day=90.0, output_times_day=t, solver="trial")
    assert np.allclose(coarse.il2_daily_max_pm, fine.il2_daily_max_pm, rtol=2e-3)
    assert np.allclose(coarse.nk_per_ul, fine.nk_per_ul, rtol=1e-2)
    assert np.allclose(coarse.bright_per_ul, fine.bright_per_ul, rtol=1e-2)


def test_neutralising_antibodies_lower_exposure() -> None:
    """Neutralising mode: doses after antibody onset are scaled by 1 - fraction, so exposure
    falls; non-neutralising (default) antibodies leave it unchanged."""
    from dataclasses import replace

    from il2sim.toxicity import load_toxicity_parameters
    from il2sim.trial.cohort import sample_cohort_inputs, simulate_cohort

    tox = load_toxicity_parameters()
    pop, eff = sample_cohort_inputs(6, np.random.SeedSequence(4), tox)
    eff = replace(eff, u_ada=np.r_[np.full(3, 0.5), np.zeros(3)])  # last 3: onset at day 0
    plain = simulate_cohort(1.0, pop, eff, tox, modification=DoseModification(0, 1.0))
    neut = simulate_cohort(
        1.0, pop, eff, tox, modification=DoseModification(0, 1.0), neutralising=True
    )
    assert np.all(plain.ada_onset_day[3:] == 0.0)
    late = slice(60, 90)
    assert np.all(neut.il2_daily_max_pm[3:, late] < 0.8 * plain.il2_daily_max_pm[3:, late])
    on_late = plain.ada_onset_day[:3] > 90
    assert np.allclose(neut.il2_daily_max_pm[:3][on_late], plain.il2_daily_max_pm[:3][on_late])
