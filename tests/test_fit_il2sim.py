"""The il2sim adapter: individual parameters reach simulate through Population.param,
batched predictions are invariant to row order and batch size, SDTM and NONMEM input give the
same design, a VPC of the model against data simulated from it, a reduced recovery."""

from __future__ import annotations

import os

# numba's OpenMP threads sleep between the fit's thousands of short batched calls instead of
# spinning (il2sim.fit.il2sim_model._passive_openmp; it must be set before the first kernel
# runs in this process, and collection precedes every test)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from il2sim.fit.estimate import PostOptions, fit
from il2sim.fit.il2sim_model import DEFAULT_FREE, Il2simDesign, Il2simModel
from il2sim.fit.model import FitSpec
from il2sim.fit.predictive import PopulationModel, simulate_replicates
from il2sim.fit.reading import read_dataset
from il2sim.fit.residual import ResidualModel
from il2sim.fit.saem import SaemOptions
from il2sim.fit.simdata import seed_trial_table, truth_parameters
from il2sim.fit.vpc import vpc
from il2sim.fit.workflow import baseline_distribution
from il2sim.model.parameters import load_parameters
from il2sim.population import Population

BASE = load_parameters()
TRUTH = truth_parameters({k: BASE.bpv_cv(k) for k in DEFAULT_FREE})


@pytest.fixture(scope="module")
def small_design() -> Il2simDesign:
    df = seed_trial_table(TRUTH, 2, n_per_level=(2, 2, 2, 2, 2, 2, 2))
    return Il2simDesign.from_table(df)


def test_phi_reaches_population_param(small_design: Il2simDesign) -> None:
    m = Il2simModel(small_design)
    n = small_design.data.n_subjects
    rng = np.random.default_rng(0)
    phi = np.log(m.initial()) + 0.3 * rng.standard_normal((n, len(m.param_names)))
    pop = m.population(phi, np.arange(n))
    assert isinstance(pop, Population)
    for j, name in enumerate(DEFAULT_FREE):
        np.testing.assert_allclose(pop.param(name, m.ref), np.exp(phi[:, j]), rtol=1e-12)
    # other parameters at their typical values; baselines are the last two columns
    np.testing.assert_allclose(pop.param("vc_l_per_m2", m.ref), BASE.value("vc_l_per_m2"))
    assert m.param_names[-2:] == ("nk0_per_ul", "bright0_per_ul")
    np.testing.assert_allclose(pop.nk0_per_ul, np.exp(phi[:, -2]), rtol=1e-12)


def test_predictions_invariant_to_row_order_and_batch(small_design: Il2simDesign) -> None:
    m = Il2simModel(small_design)
    n = small_design.data.n_subjects
    rng = np.random.default_rng(1)
    phi = np.log(m.initial()) + 0.3 * rng.standard_normal((n, len(m.param_names)))
    subj = np.arange(n)
    full = m.predict(phi, subj)
    perm = rng.permutation(n)
    np.testing.assert_allclose(m.predict(phi[perm], subj[perm]), full[perm], rtol=1e-12)
    one = m.predict(phi[3:4], subj[3:4])
    np.testing.assert_allclose(one[0], full[3], rtol=1e-12)
    # a subject simulated twice in one call (two MCMC chains) gets identical rows
    two = m.predict(np.vstack([phi[5], phi[5]]), np.array([5, 5]))
    np.testing.assert_array_equal(two[0], two[1])


def test_fit_solver_agrees_with_the_trial_preset(small_design: Il2simDesign) -> None:
    """The fit's cheaper grid (FIT_SOLVER) against the ``trial`` preset that ``il2sim trial``
    simulates with, on draws of every free parameter (SD 0.4) at every observation: IL-2
    above the LLOQ within 2%, cell counts within 1% (measured on 43 patients x 4 draws:
    1.2%, 0.37%, 0.60%; residual errors are 12-15%)."""
    fit_m = Il2simModel(small_design)
    trial_m = Il2simModel(small_design, solver="trial")
    assert fit_m.solver_name == "fit" and trial_m.solver_name == "trial"
    n = small_design.data.n_subjects
    rng = np.random.default_rng(4)
    phi = np.log(fit_m.initial()) + 0.4 * rng.standard_normal((3 * n, len(fit_m.param_names)))
    subj = np.tile(np.arange(n), 3)
    a, b = fit_m.predict(phi, subj), trial_m.predict(phi, subj)
    d = small_design.data
    mask, ty = d.mask[subj], d.obs_type[subj]
    il2 = mask & (ty == d.type_names.index("il2")) & (b > 0.5)
    cells = mask & (ty != d.type_names.index("il2"))
    assert il2.sum() > 50 and cells.sum() > 100
    assert np.max(np.abs(a[il2] / b[il2] - 1)) < 0.02
    assert np.max(np.abs(a[cells] / b[cells] - 1)) < 0.01


def test_far_tail_rows_are_not_simulated(small_design: Il2simDesign) -> None:
    """A proposal 10^6-fold from the start (the model's derived constants may not be finite
    there; seen as "i0_per_ul_per_day: non-finite individual constant" on a 3-patient fit)
    gets NaN predictions (likelihood 0); the other rows are unchanged."""
    m = Il2simModel(small_design)
    phi = np.tile(np.log(m.initial()), (3, 1))
    phi[1, -2] += 14.0
    subj = np.array([0, 1, 2])
    f = m.predict(phi, subj)
    assert np.isnan(f[1]).all() and np.isfinite(f[[0, 2]][small_design.data.mask[[0, 2]]]).all()
    np.testing.assert_allclose(f[[0, 2]], m.predict(phi[[0, 2]], subj[[0, 2]]), rtol=1e-12)


def _to_sdtm(df: pd.DataFrame, folder: Path) -> None:
    """Write the reading table as the SDTM tables `il2sim trial` writes (DM, SUPPDM, EX, PC,
    CP; one EX record per constant-dose run)."""
    folder.mkdir()
    ids = list(dict.fromkeys(df["ID"]))
    first = df.groupby("ID", sort=False).first()
    dm = pd.DataFrame({"USUBJID": [f"S-{i}" for i in ids], "AGE": first.loc[ids, "AGE"].astype(int),
                       "SEX": ["M" if s == 1 else "F" for s in first.loc[ids, "SEX"]]})
    dm.to_csv(folder / "dm.csv", index=False)
    supp = [{"USUBJID": f"S-{i}", "QNAM": q, "QVAL": first.loc[i, c]}
            for i in ids for q, c in (("BSA", "BSA"), ("WEIGHT", "WT"))]
    pd.DataFrame(supp).to_csv(folder / "suppdm.csv", index=False)
    ex = [{"USUBJID": f"S-{i}", "EXDOSE": first.loc[i, "DOSE"], "EXDOSU": "MIU/m2", "EXSTDY": 1,
           "EXENDY": int((df[(df.ID == i) & (df.EVID == 1)].TIME.max()) / 24) + 1} for i in ids]
    pd.DataFrame(ex).to_csv(folder / "ex.csv", index=False)
    obs = df[df.EVID == 0]
    pc = obs[obs.DVID == 1]
    pd.DataFrame({"USUBJID": "S-" + pc.ID.astype(str), "PCSTRESN": pc.DV, "PCDY": (pc.TIME // 24 + 1).astype(int),
                  "PCELTM": pc.TIME % 24, "PCBLQFL": np.where(pc.CENS == 1, "Y", "N"),
                  "PCLLOQ": pc.LLOQ}).to_csv(folder / "pc.csv", index=False)
    cp = obs[obs.DVID > 1]
    pd.DataFrame({"USUBJID": "S-" + cp.ID.astype(str),
                  "CPTESTCD": np.where(cp.DVID == 2, "NKCELLS", "NKBRIGHT"), "CPSTRESN": cp.DV,
                  "CPDY": (cp.TIME // 24 + 1).astype(int)}).to_csv(folder / "cp.csv", index=False)


def test_sdtm_and_nonmem_give_the_same_design(tmp_path: Path) -> None:
    df = seed_trial_table(TRUTH, 3, n_per_level=(1, 2), levels=(0.6, 1.25))
    csv = tmp_path / "t.csv"
    df.rename(columns={"CENS": "BLQ"}).to_csv(csv, index=False)
    _to_sdtm(df, tmp_path / "sdtm")
    a = Il2simDesign.from_table(read_dataset(csv)).data
    b = Il2simDesign.from_table(read_dataset(tmp_path / "sdtm")).data
    assert a.n_observations == b.n_observations and a.n_censored == b.n_censored > 0
    def rows(d):  # type: ignore[no-untyped-def]
        k = np.lexsort((np.nan_to_num(d.dv[d.mask]), d.obs_type[d.mask], d.time[d.mask]))
        return np.column_stack([d.time[d.mask], d.obs_type[d.mask],
                                np.nan_to_num(d.dv[d.mask])])[k]

    np.testing.assert_allclose(rows(a), rows(b), rtol=1e-3)
    assert a.type_names == b.type_names == ("il2", "nk", "bright")


def test_vpc_of_the_model_against_its_own_data() -> None:
    """Observed percentiles inside the simulated 90% intervals in >= 85% of bins."""
    df = seed_trial_table(TRUTH, 11)
    design = Il2simDesign.from_table(df)
    m = Il2simModel(design, DEFAULT_FREE, TRUTH)
    m0, c0 = baseline_distribution(TRUTH)  # the population's baselines (reference ranges)
    k = len(DEFAULT_FREE)
    mu = np.concatenate([np.log([TRUTH.value(n) for n in DEFAULT_FREE]), m0])
    omega = np.zeros((k + 2, k + 2))
    omega[:k, :k] = np.diag([math.log1p(TRUTH.bpv_cv(n) ** 2) for n in DEFAULT_FREE])
    omega[k:, k:] = c0
    # the trial's measurement errors: IL-2 15% (log-normal), flow 12% + counting error
    res = ResidualModel(("exp", "exp", "exp"), np.array([[0.15, 0], [0.13, 0], [0.14, 0]]),
                        np.full(3, 1e-12))
    pm = PopulationModel(m, mu, omega, res)
    sims, cens = simulate_replicates(pm, design.data, 100, seed=5)
    for pred in (None, pm.pred(design.data)):
        r = vpc(design.data, sims, cens, strata=design.dose_level, pred=pred)
        assert len(r.table) >= 7 * 3 * 8
        assert r.coverage >= 0.85, r.coverage
    assert (r.table["obs_frac_blq"] > 0).any()  # BLQ handled, not dropped


def test_reduced_recovery_il2sim() -> None:
    """Two replicate seed-design datasets (21 patients), two free parameters with BSV,
    baselines estimated, shortened SAEM: mean estimates within 15% and SDs within 35% of the
    truth (the full study is benchmarks/bench_fit.py)."""
    free = ("f_sc", "emax_production")
    truth = truth_parameters({k: BASE.bpv_cv(k) for k in free})
    est = {k: [] for k in free}
    sds = {k: [] for k in free}
    for rep in range(2):
        df = seed_trial_table(truth, 100 + rep, n_per_level=(3,) * 7)
        design = Il2simDesign.from_table(df)
        m = Il2simModel(design, free, BASE)
        names = m.param_names
        spec = FitSpec(names, tuple(1.3 * v for v in m.initial()), names,
                       {k: 0.5 for k in names}, blocks=(names[-2:],))
        r = fit(design.data, m, spec, SaemOptions(k1=60, k2=30, seed=rep),
                PostOptions(n_conditional=10, n_is=10, map_iter=5))
        for k in free:
            est[k].append(r.parameters[k].estimate)
            sds[k].append(r.omega[k]["sd"])
    for k in free:
        assert abs(np.mean(est[k]) / BASE.value(k) - 1) < 0.15, (k, est[k])
        sd_true = math.sqrt(math.log1p(BASE.bpv_cv(k) ** 2))
        assert abs(np.mean(sds[k]) / sd_true - 1) < 0.35, (k, sds[k])
