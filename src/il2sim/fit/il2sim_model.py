"""The il2sim model as a structural model for :func:`il2sim.fit.estimate.fit`.

Individual parameters reach :func:`il2sim.simulate.simulate` through the mechanism every
il2sim simulation uses: a :class:`~il2sim.population.Population` whose standard-normal
random effects ``z`` :meth:`Population.param` combines with the typical value and CV of a
parameter set.  For the fitted parameters the set carries CV 1 (``omega_ref = sqrt(log 2)``)
and ``z = (phi - log typical) / omega_ref``, so ``Population.param`` returns ``exp(phi)``;
every other parameter is held at its typical value (no variability).  All rows (subjects x
chains, or x importance samples) go to the batched solver in one call.

Design: one regimen holding every distinct dose event of the dataset (time, route,
duration), amounts 1 MIU flat, and a per-subject ``amount_scale`` (IU / 10^6; 0 where the
subject had no dose), so subjects on different dose levels, with held or reduced doses, share
one call.  Baseline NK and CD56bright counts are, by default, individual parameters with a
log-normal distribution (``baseline="estimate"``, the "B3" method of Dansirikul et al. 2008,
J Pharmacokinet Pharmacodyn 35:269); ``baseline="observed"`` uses the mean of a subject's
observations at or before the first dose as a covariate ("B1") and drops them from the
likelihood -- simpler, but their measurement error then biases the NK parameters (with B1 the
SD of ``nk_loss_per_day`` came out 1.27 for a truth of 0.29 on a seed-design trial).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from il2sim import units
from il2sim.errors import DataError, InputError, ModelError
from il2sim.fit.data import FitData, from_long
from il2sim.fit.reading import DVID_NAMES
from il2sim.model.parameters import Parameters, load_parameters
from il2sim.regimen.events import DoseEvent, Regimen, Route
from il2sim.simulate.options import TRIAL, SolverOptions, resolve

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = ["BASELINE_PARAMS", "DEFAULT_FREE", "FIT_SOLVER", "Il2simDesign", "Il2simModel",
           "resolve_fit_solver"]

#: The fit's solver (``solver="fit"``): the fixed grid with Krogstad's stages and the exact
#: depot input, 1/8-day steps for 6 h after each s.c. dose and 1/4 day elsewhere.  Every MCMC
#: proposal of every subject is one call, so the step count is the fit's cost: a 43-patient
#: seed-design call costs 0.015 CPU-s against 0.042 for the ``"trial"`` preset (1 thread,
#: session 20).  Agreement with ``"trial"`` on 172 draws of the default free parameters
#: (SDs 0.3-0.5 around the typical values) at every observation of a seed-design trial: IL-2
#: above the LLOQ max 1.2% (99th percentile 0.27%), NK max 0.37%, CD56bright max 0.60%
#: (``tests/test_fit_il2sim.py`` holds it to 2% and 1%), against residual errors of 12-15%.
FIT_SOLVER: SolverOptions = TRIAL.with_(scheme="krogstad", exact_input=True,
                                        grid_dt_day=1.0 / 8.0, grid_depot_window_day=0.25)


def resolve_fit_solver(solver: str | SolverOptions) -> tuple[str, SolverOptions]:
    """(name, options): ``"fit"`` (:data:`FIT_SOLVER`) or a :mod:`il2sim.simulate.options`
    preset name or value."""
    if solver == "fit" or (isinstance(solver, SolverOptions) and solver == FIT_SOLVER):
        return "fit", FIT_SOLVER
    return resolve(solver)

#: Default free parameters (typical value + between-patient variability): s.c.
#: bioavailability (the IL-2 level), NK production Emax (size of the expansion), NK loss rate
#: and marrow transit time (its time course).  The seed design (IL-2 pre-dose, mostly BLQ,
#: and 4 h post-dose; weekly NK) does not separate ``ka_per_day`` from ``f_sc`` (correlation
#: 0.999 of their estimates in the expected information) nor ``receptor_pool_scale`` or
#: ``cl_renal_ml_per_min`` from ``f_sc``; this set has correlations <= 0.65
#: (``benchmarks/bench_fit.py --identifiability``, docs/fit.md).
DEFAULT_FREE: tuple[str, ...] = ("f_sc", "emax_production", "nk_loss_per_day",
                                 "marrow_transit_day")
#: Largest |log(theta / start)| a row may have to be simulated (a 22000-fold change).
PHI_SPAN = 10.0
#: Reference CV given to fitted parameters so that z maps to phi (see the module docstring).
_REF_CV = 1.0
_OMEGA_REF = float(np.sqrt(np.log1p(_REF_CV**2)))
#: Pseudo-parameters (cells/ul) for individually estimated baselines.
BASELINE_PARAMS: tuple[str, ...] = ("nk0_per_ul", "bright0_per_ul")
#: CD56bright baseline at most this fraction of total NK (keeps CD56dim positive).
_MAX_BRIGHT = 0.9
_TYPE_ATTR = {"il2": "il2_pm", "nk": "nk_per_ul", "bright": "bright_per_ul"}


@dataclass(frozen=True, eq=False)
class Il2simDesign:
    """Observations (:class:`FitData`, time in hours) and the dosing design of a dataset."""

    data: FitData
    regimen: Regimen
    amount_scale: FloatArray  # (N, E)
    out_t_day: FloatArray  # (T,)
    out_idx: IntArray  # (N, J) index into out_t_day
    horizon_day: float
    bsa_m2: FloatArray
    weight_kg: FloatArray
    age_yr: FloatArray
    sex: npt.NDArray[np.str_]
    nk0_per_ul: FloatArray
    bright0_per_ul: FloatArray
    dose_level: FloatArray
    baseline: str = "estimate"

    @classmethod
    def from_table(cls, df: pd.DataFrame, parameters: Parameters | None = None,
                   baseline: str = "estimate") -> Il2simDesign:
        """Build from the :func:`il2sim.fit.reading.read_dataset` table.  ``baseline``:
        ``estimate`` keeps the baseline NK observations (the baselines are then individual
        parameters, :data:`BASELINE_PARAMS`), ``observed`` uses them as covariates and drops
        them from the likelihood."""
        if baseline not in ("estimate", "observed"):
            raise InputError(f"must be estimate or observed, got {baseline!r}", field="baseline",
                             value=baseline)
        p = parameters or load_parameters()
        ids = list(dict.fromkeys(df["ID"].astype(str)))
        pos = {s: i for i, s in enumerate(ids)}
        n = len(ids)
        sid = df["ID"].astype(str).map(pos).to_numpy()
        first = df.groupby(sid).head(1)
        cov = {c: np.asarray(first[c], dtype=float) for c in ("BSA", "WT", "AGE", "SEX", "DOSE")}
        doses = df[df["EVID"] == 1]
        if doses.empty:
            raise DataError("no dose records (EVID 1, AMT > 0), got 0", field="AMT", value=0)
        t_dose0 = np.full(n, np.inf)
        np.minimum.at(t_dose0, sid[df["EVID"].to_numpy() == 1], doses["TIME"].to_numpy(float))
        t_dose0 = np.where(np.isfinite(t_dose0), t_dose0, 0.0)
        # events: distinct (time, route, duration) across subjects
        keys: dict[tuple[float, str, float], int] = {}
        rows: list[tuple[int, int, float]] = []
        for i, t, amt, cmt, rate in zip(sid[df["EVID"].to_numpy() == 1], doses["TIME"], doses["AMT"],
                                         doses["CMT"], doses["RATE"], strict=True):
            if amt <= 0:
                continue
            if int(cmt) == 1:
                route, dur = Route.SC, 0.0
            elif rate and rate > 0:
                route, dur = Route.IV_INFUSION, float(amt) / float(rate) / 24.0
            else:
                route, dur = Route.IV_BOLUS, 0.0
            key = (round(float(t) / 24.0, 9), route.value, round(dur, 9))
            keys.setdefault(key, len(keys))
            rows.append((int(i), keys[key], float(amt)))
        order = sorted(keys, key=lambda k: (k[0], keys[k]))
        new_index = {keys[k]: j for j, k in enumerate(order)}
        events = tuple(DoseEvent(k[0], 1.0, "MIU", False, Route.parse(k[1]), k[2]) for k in order)
        scale = np.zeros((n, len(events)))
        for i, e, amt in rows:
            scale[i, new_index[e]] += float(units.iu_to_miu(amt))
        obs = df[df["EVID"] == 0].copy()
        obs["_sid"] = sid[df["EVID"].to_numpy() == 0]
        nk0, br0, obs = _baselines(obs, t_dose0, n, p, drop=baseline == "observed")
        names = [DVID_NAMES[d][0] for d in sorted(DVID_NAMES)]
        present = [d for d in sorted(DVID_NAMES) if (obs["DVID"] == d).any()]
        type_of = {d: j for j, d in enumerate(present)}
        data = from_long(
            [ids[i] for i in obs["_sid"]], obs["TIME"].to_numpy(float), obs["DV"].to_numpy(float),
            obs["DVID"].map(type_of).to_numpy(), obs["CENS"].to_numpy(bool),
            obs["LLOQ"].to_numpy(float), [DVID_NAMES[d][0] for d in present],
            [DVID_NAMES[d][1] for d in present], time_unit="h",
        )
        del names
        order_ids = [pos[s] for s in data.subject_ids]
        if len(order_ids) != n:
            missing = sorted(set(ids) - set(data.subject_ids))
            raise DataError("subject without observations", field="ID", value=missing[0])
        t_day = np.asarray(units.hours_to_days(np.nan_to_num(data.time)), dtype=float)
        out_t = np.unique(np.round(t_day[data.mask], 9))
        idx = np.clip(np.searchsorted(out_t, np.round(t_day, 9)), 0, out_t.size - 1)
        horizon = float(out_t.max() + 1e-6)
        horizon = max(horizon, 1.0 / 24.0)
        o = np.array(order_ids)
        sex = np.where(cov["SEX"][o] == 2, "F", "M")
        return cls(data, Regimen(events), scale[o], out_t, idx.astype(np.int64), horizon,
                   cov["BSA"][o], cov["WT"][o], cov["AGE"][o], sex, nk0[o], br0[o],
                   cov["DOSE"][o], baseline)


def _baselines(obs: pd.DataFrame, t_dose0: FloatArray, n: int, p: Parameters,
               drop: bool = True) -> tuple[FloatArray, FloatArray, pd.DataFrame]:
    """Per-subject baseline NK and CD56bright (mean of observations at or before the first
    dose; else the reference-range geometric mean); drops the baseline observations."""
    gm_nk = float(np.sqrt(p.value("nk0_low_per_ul") * p.value("nk0_high_per_ul")))
    gm_br = float(np.sqrt(p.value("bright0_low_per_ul") * p.value("bright0_high_per_ul")))
    nk0 = np.full(n, gm_nk)
    br0 = np.full(n, gm_br)
    pre = obs["TIME"].to_numpy(float) <= t_dose0[obs["_sid"].to_numpy()] + 1e-9
    dropped = np.zeros(len(obs), dtype=bool)
    for dvid, arr in ((2, nk0), (3, br0)):
        sel = pre & (obs["DVID"].to_numpy() == dvid) & (obs["CENS"].to_numpy() == 0)
        if sel.any():
            means = obs[sel].groupby("_sid")["DV"].mean()
            arr[means.index.to_numpy(int)] = means.to_numpy(float)
            dropped |= sel
    br0 = np.minimum(br0, 0.5 * nk0)
    return nk0, br0, (obs.loc[~dropped] if drop else obs)


def _passive_openmp() -> None:
    """Ask the OpenMP runtime (numba's ``omp`` threading layer) to sleep, not spin, between
    parallel regions, unless the user chose (``OMP_WAIT_POLICY``).  A fit makes thousands of
    short batched calls; with spinning threads a 43-patient call cost 0.063-0.076 CPU-s and
    0.19-0.24 s wall on the shared 2-core machine (load 8), passive 0.015-0.024 CPU-s and
    0.044-0.072 s (session 20).  It takes effect only if no parallel kernel ran yet in the
    process (libgomp reads it when it is loaded)."""
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class Il2simModel:
    """il2sim's ODE model, bound to a design, with ``free`` parameters (see the module
    docstring).  ``solver``: ``"fit"`` (:data:`FIT_SOLVER`, the default), a
    :mod:`il2sim.simulate.options` preset name or a :class:`~il2sim.simulate.SolverOptions`
    (``"trial"``: the fixed grid at 1/32 day that ``il2sim trial`` simulates with).  With a
    design built with ``baseline="estimate"`` the individual baseline NK and CD56bright counts
    are two more parameters (:data:`BASELINE_PARAMS`, appended to ``param_names``; typical
    values start at the geometric mean of the observed baselines): the "B3" method of
    Dansirikul et al. 2008, which avoids the bias that measurement error of a baseline
    covariate causes."""

    def __init__(self, design: Il2simDesign, free: Sequence[str] = DEFAULT_FREE,
                 parameters: Parameters | None = None,
                 solver: str | SolverOptions = "fit") -> None:
        base = parameters or load_parameters()
        free = tuple(free)
        for name in free:
            base.spec(name)  # unknown name -> ModelError naming it
        if len(set(free)) != len(free):
            raise ModelError("a parameter is named twice", field="params", value=",".join(free))
        self.design = design
        self._free = free
        self._names = free + (BASELINE_PARAMS if design.baseline == "estimate" else ())
        self.base = base
        self.ref = base.without_variability().with_bpv(**{k: _REF_CV for k in free})
        self.log_typical = np.log([base.value(k) for k in free])
        self.solver_name, self.solver = resolve_fit_solver(solver)
        self._log_start = np.log(self.initial())
        _passive_openmp()

    @property
    def param_names(self) -> tuple[str, ...]:
        """The free parameters' table names."""
        return self._names

    def initial(self) -> tuple[float, ...]:
        """Typical values of the free parameters in the base table (and the geometric means
        of the observed baselines)."""
        out = [float(np.exp(v)) for v in self.log_typical]
        if self.design.baseline == "estimate":
            out += [float(np.exp(np.mean(np.log(self.design.nk0_per_ul)))),
                    float(np.exp(np.mean(np.log(self.design.bright0_per_ul))))]
        return tuple(out)

    def population(self, phi: FloatArray, subjects: IntArray) -> object:
        """The Population of rows ``subjects`` with individual parameters ``exp(phi)``."""
        from il2sim.population import Population

        d = self.design
        kf = len(self._free)
        z = (phi[:, :kf] - self.log_typical) / _OMEGA_REF
        if d.baseline == "estimate":
            nk0 = np.exp(phi[:, kf])
            br0 = np.minimum(np.exp(phi[:, kf + 1]), _MAX_BRIGHT * nk0)
        else:
            nk0, br0 = d.nk0_per_ul[subjects], d.bright0_per_ul[subjects]
        return Population(
            age_yr=d.age_yr[subjects], sex=d.sex[subjects],
            height_cm=np.full(subjects.size, 170.0), weight_kg=d.weight_kg[subjects],
            bsa_m2=d.bsa_m2[subjects], nk0_per_ul=nk0, bright0_per_ul=br0,
            params={k: z[:, j] for j, k in enumerate(self._free)}, parameters=self.ref,
        )

    def simulate(self, phi: FloatArray, subjects: IntArray) -> object:
        """The :class:`SimulationResult` of the rows on the design's output times."""
        from il2sim.simulate import simulate

        d = self.design
        return simulate(d.regimen, self.population(phi, subjects), parameters=self.ref,  # type: ignore[arg-type]
                        horizon_day=d.horizon_day, output_times_day=d.out_t_day,
                        amount_scale=d.amount_scale[subjects], solver=self.solver)

    def predict(self, phi: FloatArray, subjects: IntArray) -> FloatArray:
        """Predictions (R, J) at each row's subject's observations.  Rows with a parameter
        more than ``exp(PHI_SPAN)``-fold from its starting value (an MCMC proposal far in a
        tail; the model's derived constants may not be finite there) are not simulated:
        their predictions are NaN, which the fit treats as likelihood 0."""
        phi = np.asarray(phi, dtype=float)
        subjects = np.asarray(subjects, dtype=np.int64)
        ok = np.all(np.abs(phi - self._log_start) <= PHI_SPAN, axis=1)
        if not ok.all():
            out = np.full((phi.shape[0], self.design.out_idx.shape[1]), np.nan)
            if ok.any():
                out[ok] = self._predict(phi[ok], subjects[ok])
            return out
        return self._predict(phi, subjects)

    def _predict(self, phi: FloatArray, subjects: IntArray) -> FloatArray:
        res = self.simulate(phi, subjects)
        names = self.design.data.type_names
        stack = np.stack([np.asarray(getattr(res, _TYPE_ATTR[t]), dtype=float) for t in names])
        ty = np.clip(self.design.data.obs_type[subjects], 0, None)
        idx = self.design.out_idx[subjects]
        rows = np.arange(subjects.size)[:, None]
        return np.asarray(stack[ty, rows, idx], dtype=float)
