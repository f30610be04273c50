"""Scores, CTCAE grades and DLTs from daily exposure (the maths of the AE catalogue).

Arrays are over patients P, AE types K (:data:`~il2sim.toxicity.catalogue.AE_TYPES` order) and
days D, where day 0 is study day 1 (the day of the first dose; callers align model time to the
study clock with :mod:`il2sim.toxicity.clock`).  A patient's sensitivity ``eta`` is fixed over
the treatment (no day-to-day noise): grades change only as the exposure changes.

DLT (configurable, :class:`~il2sim.toxicity.catalogue.DLTDefinition`; default: grade >= 3 of
any non-hematologic AE, or a grade-2 AE that forces a stop -- drawn with probability
``grade2_stop_prob`` -- within study days 1-28).  Because grades are monotone in ``eta``, a
patient's DLT probability given their exposure is closed form:

    P(max grade_k >= g) = Phi((log max_d S0[i,k,d] - log thr_g) / omega_k)
    p_ik = P(>= 3) + q * (P(>= 2) - P(>= 3));   p_i = 1 - prod_k (1 - p_ik)

where ``S0`` is the score with ``eta = 1`` and ``omega_k = sqrt(log(1 + cv_k^2))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from il2sim.errors import InputError
from il2sim.model.parameters import Parameters
from il2sim.toxicity.catalogue import AE_TYPES, GLUCOSE_GRADE_MG_PER_DL, N_AE, DLTDefinition

__all__ = [
    "DLTRealisation",
    "ToxEffects",
    "daily_grades",
    "dlt_probability",
    "p_grade_at_least",
    "realise_dlt",
    "sample_tox_effects",
    "score_base",
    "score_thresholds",
]

FloatArray = npt.NDArray[np.float64]
_INF = math.inf


@dataclass(frozen=True)
class ToxEffects:
    """Per-patient toxicity random effects (the toxicity layer's own stream).

    ``eta`` (P, K) sensitivities (median 1); ``glucose0_mg_per_dl`` (P,); ``u_stop`` (P, K)
    uniforms deciding whether a grade-2 AE forces a stop; ``u_ada`` (P,) uniform for the ADA
    onset time (:mod:`il2sim.toxicity.immunogenicity`).
    """

    eta: FloatArray
    glucose0_mg_per_dl: FloatArray
    u_stop: FloatArray
    u_ada: FloatArray

    @property
    def n(self) -> int:
        """Number of patients."""
        return int(self.eta.shape[0])

    def subset(self, idx: npt.ArrayLike) -> ToxEffects:
        """Patients ``idx``."""
        i = np.asarray(idx)
        return ToxEffects(self.eta[i], self.glucose0_mg_per_dl[i], self.u_stop[i], self.u_ada[i])


def _omegas(tox: Parameters) -> FloatArray:
    return np.array([tox.omega(a.param) for a in AE_TYPES])


def sample_tox_effects(n: int, rng: np.random.Generator, tox: Parameters) -> ToxEffects:
    """Draw toxicity random effects for ``n`` patients from ``rng``, in a fixed order keyed by
    the AE catalogue (not by the table's rows, so adding a table row changes no draw):
    ``eta`` (n, K) standard normals scaled by each AE's omega (log-normal, median 1), then the
    baseline glucose (n,), then ``u_stop`` (n, K) and ``u_ada`` (n,) uniforms."""
    eta = np.exp(rng.standard_normal((n, N_AE)) * _omegas(tox)[None, :])
    g0 = tox.value("glucose0_mg_per_dl") * np.exp(
        tox.omega("glucose0_mg_per_dl") * rng.standard_normal(n)
    )
    return ToxEffects(eta, g0, rng.random((n, N_AE)), rng.random(n))


def score_base(
    il2_daily_max_pm: npt.ArrayLike, dose_daily_miu: npt.ArrayLike, tox: Parameters
) -> FloatArray:
    """Scores with ``eta = 1``, shape (P, K, D).

    ``il2_daily_max_pm`` (P, D): daily peak serum IL-2, pM; ``dose_daily_miu`` (P, D): flat
    s.c./i.m. dose injected each day, MIU (drives the injection-site reaction).
    """
    e = np.asarray(il2_daily_max_pm, dtype=float)
    dose = np.asarray(dose_daily_miu, dtype=float)
    if e.ndim != 2 or dose.shape != e.shape:
        raise InputError(
            f"exposure and dose must both be (patients, days), got {e.shape} and {dose.shape}",
            field="exposure",
        )
    e = np.clip(e, 0.0, None)
    out = np.empty((e.shape[0], N_AE, e.shape[1]))
    ec50 = tox.value("tox_ec50_pm")
    for k, a in enumerate(AE_TYPES):
        h = tox.value(a.hill)
        if a.driver == "systemic":
            out[:, k, :] = (e / (ec50 * tox.value(a.param))) ** h
        else:
            out[:, k, :] = (np.clip(dose, 0.0, None) / tox.value(a.param)) ** h
    return out


def score_thresholds(glucose0_mg_per_dl: npt.ArrayLike) -> FloatArray:
    """Score thresholds of grades 1..4, shape (P, K, 4) (hyperglycemia per patient).

    Hyperglycemia: G = G0 (1 + S) >= limit_g  <=>  S >= limit_g / G0 - 1.
    """
    g0 = np.atleast_1d(np.asarray(glucose0_mg_per_dl, dtype=float))
    thr = np.broadcast_to(np.array([a.thresholds for a in AE_TYPES])[None], (g0.size, N_AE, 4))
    thr = thr.copy()
    kh = [a.code for a in AE_TYPES].index("HYPERGLY")
    lim = np.array(GLUCOSE_GRADE_MG_PER_DL)
    thr[:, kh, :] = np.clip(lim[None, :] / g0[:, None] - 1.0, 1e-9, None)
    return thr


def daily_grades(base: FloatArray, eta: FloatArray, thresholds: FloatArray) -> npt.NDArray[np.int8]:
    """CTCAE grade 0..4 of each patient, AE type and day, shape (P, K, D)."""
    s = base * eta[:, :, None]
    g = (s[..., None] >= thresholds[:, :, None, :]).sum(axis=-1)
    return g.astype(np.int8)


def _p_at_least(log_smax: FloatArray, thresholds: FloatArray, omega: FloatArray) -> FloatArray:
    """P(max grade >= g) for g = 1..4, shape (P, K, 4), integrating the log-normal eta."""
    lt = np.log(thresholds)
    diff = log_smax[:, :, None] - lt
    om = omega[None, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(om > 0, diff / np.where(om > 0, om, 1.0), np.where(diff >= 0, _INF, -_INF))
    p: FloatArray = ndtr(z)
    return p


def p_grade_at_least(
    base: FloatArray, glucose0_mg_per_dl: npt.ArrayLike, tox: Parameters, n_days: int | None = None
) -> FloatArray:
    """P(max grade over days 0..n_days-1 (default all) >= g), g = 1..4, shape (P, K, 4), given
    the scores ``base`` (P, K, D) with ``eta = 1`` (closed form over the log-normal ``eta``)."""
    w = base.shape[2] if n_days is None else min(int(n_days), base.shape[2])
    if w <= 0:
        return np.zeros((base.shape[0], N_AE, 4))
    with np.errstate(divide="ignore"):
        log_smax = np.log(base[:, :, :w].max(axis=2))
    return _p_at_least(log_smax, score_thresholds(glucose0_mg_per_dl), _omegas(tox))


def dlt_probability(
    base: FloatArray,
    glucose0_mg_per_dl: npt.ArrayLike,
    tox: Parameters,
    dlt: DLTDefinition | None = None,
) -> FloatArray:
    """Each patient's DLT probability given their exposure (closed form, module docstring).

    ``base`` (P, K, D) from :func:`score_base` with day 0 = study day 1.
    """
    d = dlt or DLTDefinition()
    pg = p_grade_at_least(base, glucose0_mg_per_dl, tox, d.window_day)
    p_k = pg[:, :, d.min_grade - 1] if d.min_grade <= 4 else np.zeros(pg.shape[:2])
    if d.grade2_stops and d.min_grade > 2:
        p_k = p_k + tox.value("grade2_stop_prob") * (pg[:, :, 1] - p_k)
    p_k = np.where(d.mask[None, :], p_k, 0.0)
    out: FloatArray = 1.0 - np.prod(1.0 - p_k, axis=1)
    return out


@dataclass(frozen=True)
class DLTRealisation:
    """Realised DLTs: ``dlt`` (P,) bool, ``day`` (P,) study day of onset (0 = none),
    ``ae_index`` (P,) AE type index causing it (-1 = none)."""

    dlt: npt.NDArray[np.bool_]
    day: npt.NDArray[np.int64]
    ae_index: npt.NDArray[np.int64]

    def subset(self, idx: npt.ArrayLike) -> DLTRealisation:
        """Patients ``idx``."""
        i = np.asarray(idx)
        return DLTRealisation(self.dlt[i], self.day[i], self.ae_index[i])


def realise_dlt(
    grades: npt.NDArray[np.int8],
    u_stop: FloatArray,
    tox: Parameters,
    dlt: DLTDefinition | None = None,
) -> DLTRealisation:
    """DLTs from daily grades (P, K, D), day 0 = study day 1: the first day in the window with
    an eligible AE of grade >= ``min_grade``, or of grade 2 when ``u_stop < grade2_stop_prob``."""
    d = dlt or DLTDefinition()
    w = min(d.window_day, grades.shape[2])
    if w <= 0:  # no study day within the horizon
        n = grades.shape[0]
        return DLTRealisation(np.zeros(n, bool), np.zeros(n, np.int64), np.full(n, -1, np.int64))
    g = grades[:, :, :w]
    event = g >= d.min_grade
    if d.grade2_stops and d.min_grade > 2:
        stops = u_stop < tox.value("grade2_stop_prob")
        event = event | ((g >= 2) & stops[:, :, None])
    event &= d.mask[None, :, None]
    any_k = event.any(axis=2)  # (P, K)
    first_k = np.where(any_k, event.argmax(axis=2), w + 1)  # (P, K) day index
    kmin = first_k.argmin(axis=1)
    dmin = first_k[np.arange(first_k.shape[0]), kmin]
    has = dmin <= w
    return DLTRealisation(
        dlt=has,
        day=np.where(has, dmin + 1, 0).astype(np.int64),
        ae_index=np.where(has, kmin, -1).astype(np.int64),
    )
