"""``fit(data, model, spec)``: SAEM, then EBEs, standard errors, -2LL, shrinkage.

Phases (each reported to ``progress(phase, done, total, info)``): ``saem`` (the estimation;
checkpointed and resumable, :mod:`il2sim.fit.saem`), ``conditional`` (MCMC at the estimate:
conditional means, Louis' information), ``likelihood`` (importance sampling), then the
conditional modes, predictions and shrinkage (:mod:`il2sim.fit.posthoc`).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from il2sim.errors import InputError
from il2sim.fit.data import FitData
from il2sim.fit.model import FitSpec, StructuralModel
from il2sim.fit.posthoc import (
    conditional_modes,
    conditional_phase,
    final_omega,
    importance_ll,
    predictions,
)
from il2sim.fit.problem import Problem
from il2sim.fit.result import FitResult, ParameterEstimate, cv_pct, lognormal_ci
from il2sim.fit.saem import Progress, SaemOptions, load_state, run_saem, save_state

__all__ = ["PostOptions", "fit"]


@dataclass(frozen=True)
class PostOptions:
    """Post-estimation settings: MCMC sweeps of the conditional phase (at most
    ``n_conditional``; from ``conditional_min`` on it stops by saemix's rule with
    ``lmcmc``/``rmcmc``, :func:`il2sim.fit.posthoc.conditional_phase`; ``conditional_min``
    None = always ``n_conditional``), importance samples per subject, L-BFGS iterations of the
    conditional modes."""

    n_conditional: int = 200
    n_is: int = 1000
    map_iter: int = 50
    conditional_min: int | None = 100
    lmcmc: int = 50
    rmcmc: float = 0.05
    #: 95% intervals: "wald" (Louis' information), "auto" (profile likelihood for the typical
    #: value and SD of random effects with eta shrinkage > 30% and where there is no Wald
    #: interval, Wald elsewhere), "check" (Wald where the profile confirms it at both bounds)
    #: or "profile" (every typical value and SD); :mod:`il2sim.fit.profile`
    intervals: str = "wald"
    #: importance draws per subject of the profile likelihood
    profile_draws: int = 200

    def __post_init__(self) -> None:
        if self.intervals not in ("wald", "auto", "check", "profile"):
            raise InputError(f"must be wald|auto|check|profile, got {self.intervals!r}",
                             field="intervals", value=self.intervals)
        if not isinstance(self.profile_draws, int) or self.profile_draws < 20:
            raise InputError(f"must be an integer >= 20, got {self.profile_draws!r}",
                             field="profile_draws", value=self.profile_draws)
        for name in ("n_conditional", "n_is", "lmcmc"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 2:
                raise InputError(f"must be an integer >= 2, got {v!r}", field=name, value=v)
        if self.conditional_min is not None and (not isinstance(self.conditional_min, int)
                                                 or self.conditional_min < 1):
            raise InputError(f"must be a positive integer, got {self.conditional_min!r}",
                             field="conditional_min", value=self.conditional_min)
        if not (isinstance(self.rmcmc, float | int) and 0 < self.rmcmc < 1):
            raise InputError(f"must be in (0, 1), got {self.rmcmc!r}", field="rmcmc",
                             value=self.rmcmc)


@dataclass(frozen=True)
class _Meta:
    data: str
    spec: str
    options: str
    extra: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, str]:
        return {"data": self.data, "spec": self.spec, "options": self.options, **self.extra}


def fit(
    data: FitData,
    model: StructuralModel,
    spec: FitSpec,
    options: SaemOptions | None = None,
    post: PostOptions | None = None,
    *,
    default_error: str = "prop",
    progress: Progress | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    model_id: str = "",
) -> FitResult:
    """Estimate ``spec``'s parameters of ``model`` from ``data`` (see the module docstring).

    ``checkpoint``: file for the SAEM state (written every few seconds and on Ctrl-C);
    ``resume``: continue from it (it must have been written for the same data, spec, options
    and ``model_id``).  Raises ``KeyboardInterrupt`` after saving when interrupted.
    """
    t0 = time.perf_counter()
    opts = options or SaemOptions()
    post = post or PostOptions()
    problem = Problem.build(data, model, spec, default_error)
    meta = _Meta(data.fingerprint(), repr(spec), opts.fingerprint(), {"model": model_id})
    ck_path = Path(checkpoint) if checkpoint is not None else None
    state = None
    if resume:
        if ck_path is None or not ck_path.exists():
            raise InputError(f"no checkpoint to resume from: {str(ck_path)!r}", field="resume",
                             value=str(ck_path))
        state = load_state(ck_path, meta.as_dict())

    def save(st: object) -> None:
        assert ck_path is not None
        save_state(st, ck_path, meta.as_dict())  # type: ignore[arg-type]

    st = run_saem(problem, opts, state, progress, save if ck_path is not None else None)
    if ck_path is not None:
        save(st)
    cond = conditional_phase(problem, st, opts, post.n_conditional, opts.seed, progress,
                             post.conditional_min, post.lmcmc, post.rmcmc)
    omega = final_omega(problem, st.omega)
    mode = conditional_modes(problem, st.mu, omega, st.ab, cond.best, post.map_iter, progress)
    ll, ll_se = importance_ll(problem, st.mu, omega, st.ab, cond, post.n_is, opts.seed,
                              progress=progress)
    res = _assemble(problem, st, cond, omega, mode, ll, ll_se, opts, post,
                    time.perf_counter() - t0)
    if post.intervals != "wald":
        res = _with_profile(problem, res, st, cond, post, opts.seed, progress)
        res = replace(res, elapsed_s=time.perf_counter() - t0)
    return res


def _with_profile(problem: Problem, res: FitResult, st: object, cond: object,
                  post: PostOptions, seed: int, progress: Progress | None) -> FitResult:
    """``res`` with the intervals of ``post.intervals`` (:mod:`il2sim.fit.profile`)."""
    from il2sim.fit.posthoc import Conditional
    from il2sim.fit.profile import profile_intervals
    from il2sim.fit.saem import SaemState

    assert isinstance(st, SaemState) and isinstance(cond, Conditional)
    if not problem.rmask.all():
        return replace(res, notes=(*res.notes, "profile-likelihood intervals need a random "
                                   "effect on every parameter: Wald intervals"))
    wald: dict[str, tuple[float, float]] = {n: p.ci95 for n, p in res.parameters.items()}
    for n, o in res.omega.items():
        lo, hi = o["ci95"]
        wald[f"omega_{n}"] = (float(lo), float(hi))
    c0 = time.process_time()
    try:
        iv = profile_intervals(problem, st.mu, res.omega_matrix, st.ab, cond.mean, cond.cov,
                               wald, mode=post.intervals, n_draws=post.profile_draws, seed=seed,
                               shrinkage=dict(res.shrinkage.get("eta", {})), progress=progress,
                               start=res.ebe_mode)
    except (np.linalg.LinAlgError, FloatingPointError, ValueError, OverflowError) as exc:
        return replace(res, notes=(*res.notes, "profile-likelihood intervals failed "
                                   f"({type(exc).__name__}: {exc}): Wald intervals"))
    cpu = time.process_time() - c0
    params = {n: replace(p, ci95=(iv[n].lo, iv[n].hi), ci_method=iv[n].method,
                         profile_mle=iv[n].mle) for n, p in res.parameters.items()}
    omega = {}
    for n, o in res.omega.items():
        q = iv[f"omega_{n}"]
        omega[n] = {**o, "ci95": [q.lo, q.hi], "ci_method": q.method, "profile_mle": q.mle}
    n_prof = sum(v.method == "profile" for v in iv.values())
    ess = min((v.ess_min for v in iv.values() if math.isfinite(v.ess_min)), default=math.nan)
    first = next(iter(iv.values()))
    first_ref = max(v.refreshes for v in iv.values())
    notes = [f"95% intervals: profile likelihood (importance sampling, {post.profile_draws} "
             f"draws per subject) for {n_prof} of {len(iv)} typical values and SDs, Wald where "
             f"the profile confirms it ({cpu:.0f} CPU-s; smallest effective sample size of "
             f"a subject at a bound {ess:.1f})",
             f"importance-sampling proposal of the profile: {first.proposal} (ESS at the "
             f"estimate: smallest {first.ess_estimate[0]:.1f}, median "
             f"{first.ess_estimate[1]:.1f} of {post.profile_draws}; "
             f"{first_ref} proposal(s) added at profile points with a small ESS)"]
    notes += [f"{k}: {v.note}" for k, v in iv.items() if v.method == "profile" and v.note]
    for n, p in params.items():
        if p.ci_method == "profile" and not p.ci95[0] <= p.estimate <= p.ci95[1]:
            notes.append(f"the SAEM estimate of {n} ({p.estimate:.4g}) lies outside its profile-"
                         f"likelihood interval: the importance-sampling likelihood is highest at "
                         f"{p.profile_mle:.4g}")
    opts = dict(res.options)
    opts["intervals"] = {"method": post.intervals, "draws": post.profile_draws,
                         "cpu_s": cpu, "ess_min": ess, "proposal": first.proposal,
                         "ess_estimate": list(first.ess_estimate), "refreshes": first_ref}
    return replace(res, parameters=params, omega=omega, notes=(*res.notes, *notes),
                   options=opts)


_Z975 = 1.959963984540054

#: A random effect is flagged as poorly identified when its eta shrinkage exceeds this (%),
#: its SD's relative SE exceeds :data:`MAX_OMEGA_RSE`, or its SE is not available.  Savic &
#: Karlsson 2009 (AAPS J 11:558) find EBE-based diagnostics unreliable above 20-30% shrinkage;
#: 60% marks a variance the data hardly inform (session 20: on the seed design the SD of
#: nk_loss_per_day had shrinkage 53-96% in 5 replicates, collapsing to 0.03-0.07 at 88-96%).
MAX_SHRINKAGE_PCT = 60.0
#: Largest relative SE of an SD before it is flagged.
MAX_OMEGA_RSE = 0.5


def _poorly_identified(sd: float, se: float, shrinkage_pct: float) -> str:
    """Why the SD is poorly identified ('' if it is not)."""
    why = []
    if math.isfinite(shrinkage_pct) and shrinkage_pct > MAX_SHRINKAGE_PCT:
        why.append(f"eta shrinkage {shrinkage_pct:.0f}%")
    if not math.isfinite(se):
        why.append("SE not available")
    elif sd > 0 and se / sd > MAX_OMEGA_RSE:
        why.append(f"RSE {100 * se / sd:.0f}%")
    return ", ".join(why)


def _cov_without_flat_sds(problem: Problem, lay: object, info: np.ndarray, omega: np.ndarray,
                          mode: np.ndarray, mu: np.ndarray, notes: list[str],
                          held: list[str] | None = None) -> np.ndarray:
    """Covariance when the information is not positive definite: the rows of SDs whose
    random effect shrank past :data:`MAX_SHRINKAGE_PCT` (a variance collapsing towards 0
    makes the information singular in its direction) are removed and the rest inverted,
    i.e. the SEs of the other parameters hold those SDs at their estimates (their own SE is
    NaN); if the rest is still singular, the pseudo-inverse (SEs unreliable)."""
    from il2sim.fit.fim import ThetaLayout

    assert isinstance(lay, ThetaLayout)
    sd = np.sqrt(np.maximum(np.diag(omega), 0.0))
    flat: list[int] = []
    for k in range(problem.spec.k):
        if problem.rmask[k] and sd[k] > 0:
            shr = 100.0 * (1.0 - np.std(mode[:, k] - mu[k], ddof=1) / sd[k])
            if shr > MAX_SHRINKAGE_PCT:
                flat.append(k)
    drop = [p for p, (kind, ix) in enumerate(zip(lay.kinds, lay.index, strict=True))
            if kind in ("sd", "corr") and any(i in flat for i in ix)]
    keep = np.array([p for p in range(lay.d) if p not in drop], dtype=int)
    if drop and keep.size:
        sub = info[np.ix_(keep, keep)]
        try:
            np.linalg.cholesky(sub)
            cov = np.full_like(info, np.nan)
            cov[np.ix_(keep, keep)] = np.linalg.inv(sub)
            names = ", ".join(problem.spec.param_names[k] for k in flat)
            if held is not None:
                held.extend(problem.spec.param_names[k] for k in flat)
            notes.append("the Fisher information is singular in the direction of the "
                         f"between-patient SD of {names} (it shrank towards 0): the other "
                         "standard errors hold it at its estimate, so they and their Wald "
                         "intervals are conditional on it")
            return cov
        except np.linalg.LinAlgError:
            pass
    notes.append("the Fisher information is not positive definite: standard errors are "
                 "unreliable (a parameter may not be identifiable from these data)")
    return np.asarray(np.linalg.pinv(info))


def _assemble(problem: Problem, st: object, cond: object, omega: np.ndarray, mode: np.ndarray,
              ll: float, ll_se: float, opts: SaemOptions, post: PostOptions,
              elapsed: float) -> FitResult:
    from il2sim.fit.posthoc import Conditional
    from il2sim.fit.saem import SaemState

    assert isinstance(st, SaemState) and isinstance(cond, Conditional)
    spec, data = problem.spec, problem.data
    lay = cond.layout
    notes: list[str] = list(data.notes)
    info = cond.info
    held: list[str] = []
    bad = ~np.isfinite(info).all(axis=1)
    info = np.where(np.isfinite(info), info, 0.0)
    info[bad, bad] = np.where(info[bad, bad] > 0, info[bad, bad], 1e-300)
    try:
        np.linalg.cholesky(info)
        cov_ok = True
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov_ok = False
        cov = _cov_without_flat_sds(problem, lay, info, omega, mode, st.mu, notes, held)
    se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    se_of = dict(zip(lay.names, se, strict=True))
    params: dict[str, ParameterEstimate] = {}
    for k, name in enumerate(spec.param_names):
        mu, s = float(st.mu[k]), float(se_of[name])
        params[name] = ParameterEstimate(
            name, math.exp(mu), math.exp(mu) * s, lognormal_ci(mu, s), float(spec.initial[k]),
            spec.units.get(name, ""), mu, s,
            se_conditional_on=tuple(f"omega_{h}" for h in held),
        )
    sd = np.sqrt(np.maximum(np.diag(omega), 0.0))
    om_out = {
        n: {"sd": float(sd[k]), "se": float(se_of[f"omega_{n}"]), "cv_pct": cv_pct(float(sd[k])),
            "ci95": [float(sd[k] - _Z975 * se_of[f"omega_{n}"]),
                     float(sd[k] + _Z975 * se_of[f"omega_{n}"])], "ci_method": "wald"}
        for k, n in enumerate(spec.param_names) if problem.rmask[k]
    }
    corr = {
        f"{spec.param_names[lay.index[p][0]]},{spec.param_names[lay.index[p][1]]}":
            {"estimate": float(cond.theta[p]), "se": float(se[p])}
        for p in range(lay.d) if lay.kinds[p] == "corr"
    }
    res = problem.residual0.with_ab(st.ab)
    resid: dict[str, dict[str, object]] = {}
    for t, tn in enumerate(data.type_names):
        resid[tn] = {"kind": res.kinds[t], "a": float(st.ab[t, 0]), "b": float(st.ab[t, 1]),
                     "se_a": float(se_of.get(f"{tn}.a", math.nan)),
                     "se_b": float(se_of.get(f"{tn}.b", math.nan)),
                     "unit": data.type_units[t]}
    pop_phi = np.tile(st.mu, (problem.n, 1))
    pred = predictions(problem, pop_phi)
    ipred = predictions(problem, mode)
    iwres = res.standardized(data.dv, ipred, data.obs_type)
    iwres = np.where(data.mask & ~data.censored, iwres, np.nan)
    eta = mode - st.mu
    shr_eta = {n: float(100.0 * (1.0 - np.std(eta[:, k], ddof=1) / sd[k])) if sd[k] > 0 else math.nan
               for k, n in enumerate(spec.param_names) if problem.rmask[k]}
    for n, o in om_out.items():
        why = _poorly_identified(float(o["sd"]), float(o["se"]), shr_eta[n])  # type: ignore[arg-type]
        o["identified"] = not why
        if why:
            notes.append(f"the between-patient SD of {n} is poorly identified by these data "
                         f"({why}): fix it (leave {n} out of --omega) or sample more often")
    shr_eps = {}
    for t, tn in enumerate(data.type_names):
        v = iwres[data.type_mask(t) & ~data.censored]
        v = v[np.isfinite(v)]
        shr_eps[tn] = float(100.0 * (1.0 - np.std(v, ddof=1))) if v.size > 1 else math.nan
    hist_names = ([f"mu_{n}" for n in spec.param_names] + [f"sd_{n}" for n in spec.param_names]
                  + [f"{tn}.{ab}" for tn in data.type_names for ab in ("a", "b")])
    return FitResult(
        method="SAEM", n_subjects=data.n_subjects, n_observations=data.n_observations,
        n_censored=data.n_censored, parameters=params, omega=om_out, correlations=corr,
        residual=resid, shrinkage={"eta": shr_eta, "epsilon": shr_eps}, ofv=-2.0 * ll,
        ofv_se=2.0 * ll_se, n_estimated=lay.d, covariance_ok=cov_ok,
        param_names=spec.param_names, subject_ids=data.subject_ids, ebe_mode=mode,
        ebe_mean=cond.mean, pred=pred, ipred=ipred, iwres=iwres, mu=st.mu.copy(),
        omega_matrix=omega, ab=st.ab.copy(), residual_kinds=res.kinds,
        history=np.array(st.history), history_names=tuple(hist_names), elapsed_s=elapsed,
        seed=opts.seed, options={"saem": asdict(opts), "post": asdict(post),
                                 "conditional_sweeps": cond.n_draws}, notes=tuple(notes),
        ebe_cov=cond.cov,
    )
