"""Profile-likelihood intervals on the importance-sampling -2LL (a Monte Carlo likelihood).

Why: the Wald interval ``estimate -+ 1.96 SE`` from Louis' information is a quadratic
approximation of -2LL at the estimate.  It fails where -2LL is not quadratic in the
parameter (a typical value poorly informed by the design, an SD near its bound 0) and where
the information is singular (no SE); it is also conditional on every other estimate, so when a
between-patient SD collapses towards 0 the interval of its typical value treats the patients
as identical and is too narrow (session 21, ``docs/fit.md``).

How: the Monte Carlo likelihood ``LL(theta)`` of :class:`il2sim.fit.mclik.McLikelihood`
(importance sampling with fixed draws, so differences of ``LL`` are smooth in ``theta``),
with the Laplace proposal of :mod:`il2sim.fit.proposal` when ``start`` (the MAP EBEs) is
given: session 22 found the smallest per-patient ESS at the estimate itself 1.7 of 200 with
the MCMC-moment proposal (replicate 2 of the recovery); with the Laplace proposal it is 79.
Where a profile point's smallest ESS is below :data:`REFRESH_ESS` a proposal moved to that
point's population parameters is added (at most :data:`MAX_REFRESH`; every draw is then
weighted by the mixture of all proposals) and the current profile restarts on the new
likelihood.  The maximiser keeps every SD at or above :data:`SD_FLOOR` (as an SD goes to 0 the
weights of fixed draws degenerate).
The profile of a parameter fixes it on a grid and maximises ``LL`` over all the others (L-BFGS-B, warm starts); the 95% interval is where
``2 (max LL - profile LL) <= 3.84``.  An SD whose profile stays below 3.84 down to
:data:`SD_FLOOR` gets the lower bound 0 (the interval reaches the boundary).

``auto``: the typical value and SD of every random effect with eta shrinkage above
:data:`MAX_WALD_SHRINKAGE`, and every parameter without a Wald interval, get the profile
interval (``ci_method`` "profile"); the others keep the Wald interval.  ``check``: the
profile is evaluated at the two Wald bounds of every typical value and SD and the Wald
interval is kept where both give ``delta -2LL`` within 1 of 3.84.  ``profile``: all.  The
effective sample size of the weights at each bound is reported (``ess_min``: smallest over subjects).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.fit.mclik import McLikelihood
from il2sim.fit.problem import Problem
from il2sim.fit.proposal import laplace_fit

FloatArray = npt.NDArray[np.float64]
Progress = Callable[[str, int, int, dict[str, Any]], None]

__all__ = ["CHI2_95", "McLikelihood", "ProfileInterval", "profile_intervals"]

#: 95% quantile of chi-square with 1 d.f.
CHI2_95 = 3.841458820694124
#: Smallest SD the profile evaluates (log scale); below it the lower bound is reported as 0.
SD_FLOOR = 0.01
#: |delta -2LL - 3.84| at both Wald bounds within this: the Wald interval is kept ("check").
WALD_TOL = 1.0
#: A profile point whose smallest per-subject ESS is below this gets a Laplace proposal of its
#: own (at most :data:`MAX_REFRESH` per call; ``n_draws`` more draws each).
REFRESH_ESS = 20.0
MAX_REFRESH = 3
#: "auto": a random effect with eta shrinkage above this (%) gets profile intervals for its
#: typical value and SD: the data inform its individual values little, so -2LL is not
#: quadratic there (Savic & Karlsson 2009: EBE diagnostics degrade above 20-30%; on the seed
#: design nk_loss_per_day has 35-96%, the other parameters <= 15%)
MAX_WALD_SHRINKAGE = 30.0


@dataclass(frozen=True)
class ProfileInterval:
    """The interval of one parameter: ``lo``/``hi`` on the natural scale (typical value) or of
    the SD, ``method`` "wald" or "profile", the profile's ``delta -2LL`` at the Wald bounds,
    the smallest per-subject effective sample size at the bounds, and a note."""

    name: str
    lo: float
    hi: float
    method: str
    wald_delta: tuple[float, float] = (math.nan, math.nan)
    ess_min: float = math.nan
    note: str = ""
    evaluations: int = 0
    #: the maximiser of the Monte Carlo likelihood (natural scale), the profile's centre
    mle: float = math.nan
    #: (smallest, median) per-subject effective sample size at the fit's estimate
    ess_estimate: tuple[float, float] = (math.nan, math.nan)
    #: the importance-sampling proposal (:mod:`il2sim.fit.proposal`): "laplace" or "conditional"
    proposal: str = ""
    #: Laplace proposals added at profile points with a small ESS so far (:data:`REFRESH_ESS`)
    refreshes: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"ci95": [self.lo, self.hi], "ci_method": self.method, "mle": self.mle,
                "wald_delta_2ll": list(self.wald_delta), "ess_min": self.ess_min,
                "ess_estimate": list(self.ess_estimate), "proposal": self.proposal,
                "refreshes": self.refreshes,
                "note": self.note}


class _Refreshed(Exception):
    """A proposal was added at ``x``: the likelihood changed, restart the current profile."""

    def __init__(self, x: FloatArray) -> None:
        super().__init__("proposal refreshed")
        self.x = x


@dataclass
class _Profiler:
    mc: McLikelihood
    x_hat: FloatArray
    ll_hat: float
    starts: dict[float, FloatArray] = field(default_factory=dict)
    #: adds a proposal at x (returns False when no more may be added)
    refresh: Callable[[FloatArray], bool] | None = None

    def recentre(self, extra: FloatArray | None = None) -> None:
        """Maximise ``LL`` again (the likelihood changed) from the current centre and from
        ``extra``; keep the best."""
        best = self.mc.maximise(self.x_hat)
        if extra is not None:
            alt = self.mc.maximise(extra)
            if alt[1] > best[1]:
                best = alt
        self.x_hat, self.ll_hat = best
        self.starts = {}

    def check(self, x: FloatArray) -> None:
        """Add a proposal at ``x`` if the weights' smallest ESS there is below
        :data:`REFRESH_ESS` (raises :class:`_Refreshed` when one was added)."""
        if self.refresh is None:
            return
        if self.mc.ess_min(self.mc.to_theta(x)) < REFRESH_ESS and self.refresh(x):
            raise _Refreshed(x)

    def delta(self, p: int, xv: float) -> tuple[float, FloatArray]:
        """delta -2LL with coordinate ``p`` at ``xv`` (others re-maximised, warm-started at the
        nearest point already profiled)."""
        if self.starts:
            near = min(self.starts, key=lambda v: abs(v - xv))
            x0 = self.starts[near].copy()
        else:
            x0 = self.x_hat.copy()
        x0[p] = xv
        x, ll = self.mc.maximise(x0, fixed=p)
        self.check(x)
        self.starts[xv] = x
        if ll > self.ll_hat:  # a better maximum found on the way: re-centre
            self.ll_hat, self.x_hat = ll, x.copy()
        return 2.0 * (self.ll_hat - ll), x


def _bound(prof: _Profiler, p: int, side: int, step0: float, floor: float | None,
           tol: float = 0.05, max_expand: int = 8) -> tuple[float, FloatArray | None, bool]:
    """Coordinate value where delta -2LL reaches 3.84 on ``side`` (-1/+1) of the estimate;
    ``(value, x at it, reached)``; with ``floor`` (log SD) and delta < 3.84 there: (floor,
    x, False)."""
    xh = float(prof.x_hat[p])
    inner, d_in = xh, 0.0
    dist = step0
    outer = None
    x_out: FloatArray | None = None
    for _ in range(max_expand):
        xv = xh + side * dist
        if floor is not None and side < 0 and xv <= floor:
            xv = floor
        d, x = prof.delta(p, xv)
        if d >= CHI2_95:
            outer, d_out, x_out = xv, d, x
            break
        inner, d_in = xv, d
        if floor is not None and side < 0 and xv == floor:
            return floor, x, False
        dist *= 1.8
    if outer is None:
        return inner, None, False
    # regula falsi / bisection on delta - 3.84 between inner and outer
    lo, dlo, hi, dhi = inner, d_in, outer, d_out
    x_at = x_out
    for _ in range(6):
        if dhi - dlo > 1e-9:
            t = (CHI2_95 - dlo) / (dhi - dlo)
            t = min(max(t, 0.2), 0.8)
        else:
            t = 0.5
        xv = lo + t * (hi - lo)
        d, x = prof.delta(p, xv)
        if d >= CHI2_95:
            hi, dhi, x_at = xv, d, x
        else:
            lo, dlo = xv, d
        if abs(d - CHI2_95) < tol:
            return xv, x, True
    return (lo + hi) / 2, x_at, True


def profile_intervals(problem: Problem, mu: FloatArray, omega: FloatArray, ab: FloatArray,
                      cond_mean: FloatArray, cond_cov: FloatArray,
                      wald: dict[str, tuple[float, float]], *, mode: str = "auto",
                      start: FloatArray | None = None,
                      n_draws: int = 200, seed: int = 0, only: tuple[str, ...] | None = None,
                      shrinkage: dict[str, float] | None = None,
                      progress: Progress | None = None) -> dict[str, ProfileInterval]:
    """Intervals of every typical value (key: parameter name) and SD (key ``omega_NAME``) by
    the rule of ``mode`` ("auto" or "profile"; module docstring).  ``wald``: the Wald
    interval of each key on the natural scale (typical value) or of the SD (nan if none);
    ``only``: these keys alone.  ``mode``: "auto" profiles the typical value and SD of every
    random effect whose eta shrinkage (``shrinkage``, %) exceeds :data:`MAX_WALD_SHRINKAGE`
    and every interval without a finite Wald interval (or, for an SD, with a Wald interval
    reaching below 0), and keeps the other Wald intervals; "check" evaluates the profile at
    the two Wald bounds of every key and keeps the Wald interval where both give delta -2LL
    within :data:`WALD_TOL` of 3.84; "profile" profiles every key."""
    from il2sim.fit.saem import check_stop

    prop, lap = None, None
    if start is not None:
        lap = laplace_fit(problem, mu, omega, ab, start, cond_mean, cond_cov)
        prop = lap.proposal()
    mc = McLikelihood(problem, mu, omega, ab, cond_mean, cond_cov, n_draws, seed, proposal=prop,
                      sd_min=SD_FLOOR)
    e_hat = mc.ess(mc.theta_hat)
    e_est = (float(e_hat.min()), float(np.median(e_hat)))
    label = mc.proposal.label
    lay = mc.layout
    x_hat, ll_hat = mc.maximise(mc.to_x(mc.theta_hat))
    n_ref = [0]

    def refresh(x: FloatArray) -> bool:
        if lap is None or n_ref[0] >= MAX_REFRESH:
            return False
        m2, o2, _ab2 = lay.unpack(mc.to_theta(x), mc.ab0, mc.k)
        try:
            q = lap.proposal(m2, o2, label="laplace (refreshed)")
        except np.linalg.LinAlgError:
            return False
        mc.add_proposal(q)
        n_ref[0] += 1
        return True

    prof = _Profiler(mc, x_hat, ll_hat, refresh=refresh)
    try:  # the maximiser itself may lie where the first proposal is poor
        prof.check(x_hat)
    except _Refreshed:
        prof.recentre()
    targets = [p for p, kd in enumerate(lay.kinds) if kd in ("mu", "sd")
               and (only is None or lay.names[p] in only)]
    out: dict[str, ProfileInterval] = {}
    floor_x = math.log(SD_FLOOR)
    shr = shrinkage or {}
    for j, p in enumerate(targets):
        kind = lay.kinds[p]
        name = lay.names[p]
        prof.starts = {}
        ev0 = mc.evaluations
        w = wald.get(name, (math.nan, math.nan))
        finite = all(math.isfinite(v) for v in w)
        base = name[len("omega_"):] if kind == "sd" else name
        if (mode == "auto" and finite and w[0] > 0
                and not shr.get(base, 0.0) > MAX_WALD_SHRINKAGE):
            out[name] = ProfileInterval(name, w[0], w[1], "wald", note="Wald (eta shrinkage "
                                        f"{shr.get(base, math.nan):.0f}%)",
                                        mle=math.exp(prof.x_hat[p]), ess_estimate=e_est,
                                        proposal=label)
            continue

        def to_nat(xv: float, kind: str = kind) -> float:
            return math.exp(xv)  # typical value = exp(mu); SD = exp(log SD)

        wd = (math.nan, math.nan)
        if finite and mode == "check" and w[0] > 0:
            while True:
                try:
                    wd = tuple(prof.delta(p, math.log(v))[0]  # type: ignore[assignment]
                               for v in w)
                    break
                except _Refreshed as r:
                    prof.recentre(r.x)
            if all(abs(d - CHI2_95) <= WALD_TOL for d in wd):
                ess = min(mc.ess_min(mc.to_theta(prof.starts[math.log(v)])) for v in w)
                out[name] = ProfileInterval(name, w[0], w[1], "wald", wd, ess,
                                            "Wald interval agrees with the profile",
                                            mc.evaluations - ev0, math.exp(prof.x_hat[p]),
                                            ess_estimate=e_est, proposal=label)
                if progress is not None:
                    progress("profile", j + 1, len(targets), {})
                check_stop("profile", j + 1, len(targets))
                continue
        if finite and w[0] > 0:
            step = max(abs(math.log(w[1]) - math.log(w[0])) / 2.0, 0.02)
        else:
            step = 0.1 if kind == "mu" else 0.3
        floor = floor_x if kind == "sd" else None
        while True:
            try:
                lo_x, x_lo, lo_ok = _bound(prof, p, -1, step, floor)
                hi_x, x_hi, hi_ok = _bound(prof, p, +1, step, None)
                break
            except _Refreshed as r:
                prof.recentre(r.x)
        notes = []
        lo = to_nat(lo_x)
        if kind == "sd" and not lo_ok and lo_x <= floor_x + 1e-12:
            lo = 0.0
            notes.append(f"delta -2LL < 3.84 down to SD {SD_FLOOR}: the interval reaches 0")
        elif not lo_ok:
            notes.append("lower bound not reached (profile flat): interval open below")
            lo = 0.0 if kind == "sd" else to_nat(lo_x)
        hi = to_nat(hi_x)
        if not hi_ok:
            notes.append("upper bound not reached (profile flat)")
            hi = math.inf
        ess_b = [mc.ess_min(mc.to_theta(x)) for x in (x_lo, x_hi) if x is not None]
        out[name] = ProfileInterval(name, lo, hi, "profile", wd,
                                    min(ess_b) if ess_b else math.nan, "; ".join(notes),
                                    mc.evaluations - ev0, math.exp(prof.x_hat[p]),
                                    ess_estimate=e_est, proposal=label,
                                    refreshes=n_ref[0])
        if progress is not None:
            progress("profile", j + 1, len(targets), {})
        check_stop("profile", j + 1, len(targets))
    return out
