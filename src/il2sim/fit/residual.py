"""Residual error models, one per observation type, with M3 censoring.

Kinds (``y`` observation, ``f`` prediction, ``e`` standard normal):

* ``add``: ``y = f + a e``;  ``prop``: ``y = f + b f e``;
* ``combined``: ``y = f + sqrt(a**2 + b**2 f**2) e`` (NONMEM/nlmixr2 "combined2");
* ``exp``: ``log y = log f + a e`` (log-normal; the -2LL includes the Jacobian ``-log y`` so it
  is on the scale of ``y`` and comparable with the other kinds).

An observation below the lower limit of quantification contributes ``P(y < LLOQ | f)`` =
``Phi((LLOQ - f) / sd)`` (``Phi((log LLOQ - log f) / a)`` for ``exp``): Beal's M3 method (Beal
2001, J Pharmacokinet Pharmacodyn 28:481).  In the SAEM M-step the censored values are imputed
from that truncated distribution given the current individual parameters (Samson, Lavielle &
Mentre 2006, Comput Stat Data Anal 51:1562), so the residual variances keep closed-form
updates; ``combined`` has none and is updated by stochastic approximation of the parameters
themselves after a numerical maximisation (as saemix does; Comets et al. 2017, J Stat Softw
80(3)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from il2sim.errors import InputError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

KINDS: tuple[str, ...] = ("add", "prop", "combined", "exp")
#: Which of (a, b) each kind estimates.
USES: dict[str, tuple[bool, bool]] = {
    "add": (True, False),
    "prop": (False, True),
    "combined": (True, True),
    "exp": (True, False),
}
_LOG_2PI = float(np.log(2.0 * np.pi))
#: Predictions below this are treated as this value on the log scale (exp kind).
_F_TINY = 1e-300


def check_kind(kind: str, field: str = "error") -> str:
    """``kind`` lower-cased if it is one of :data:`KINDS`, else :class:`InputError`."""
    k = str(kind).strip().lower()
    if k not in KINDS:
        raise InputError(f"must be one of {'|'.join(KINDS)}, got {kind!r}", field=field, value=kind)
    return k


def _working(x: FloatArray, is_log: npt.ArrayLike, nonpositive: float = 1.0) -> FloatArray:
    """``x`` on the working scale: ``log x`` where ``is_log`` (``log(nonpositive)`` for
    ``x <= 0``), ``x`` elsewhere."""
    return np.asarray(np.where(is_log, np.log(np.where(x > 0, x, nonpositive)), x))


@dataclass(frozen=True)
class ResidualModel:
    """Per observation type ``t``: ``kinds[t]`` and parameters ``ab[t] = (a, b)`` (unused
    entries are 0).  ``floor[t]`` is the smallest standard deviation used (keeps the
    likelihood finite where a proportional model predicts 0)."""

    kinds: tuple[str, ...]
    ab: FloatArray
    floor: FloatArray

    @property
    def codes(self) -> npt.NDArray[np.int64]:
        """Index of each type's kind in :data:`KINDS`."""
        return np.array([KINDS.index(k) for k in self.kinds], dtype=np.int64)

    def with_ab(self, ab: FloatArray) -> ResidualModel:
        """The same kinds with other parameters."""
        return ResidualModel(self.kinds, np.asarray(ab, dtype=float), self.floor)

    def param_names(self, type_names: tuple[str, ...]) -> list[tuple[int, int, str]]:
        """(type, 0=a/1=b, display name) of every estimated parameter."""
        out: list[tuple[int, int, str]] = []
        for t, kind in enumerate(self.kinds):
            ua, ub = USES[kind]
            if ua:
                out.append((t, 0, f"{type_names[t]}.{'sd_log' if kind == 'exp' else 'a'}"))
            if ub:
                out.append((t, 1, f"{type_names[t]}.b"))
        return out

    # ------------------------------------------------------------------ internals
    def _model_sd(self, f: FloatArray, t: npt.NDArray[np.int64]) -> FloatArray:
        """Per element, the kind's own sd (no floor): ``a`` (add, exp), ``b |f|`` (prop),
        ``sqrt(a**2 + b**2 f**2)`` (combined); ``t`` the types clipped at 0."""
        a, b, code = self.ab[t, 0], self.ab[t, 1], self.codes[t]
        fa = np.abs(f)
        return np.asarray(np.where(code == 1, b * fa, np.where(code == 2, np.hypot(a, b * fa), a)))

    def _arrays(self, f: FloatArray, types: npt.NDArray[np.int64]) -> tuple[FloatArray, ...]:
        """Per element: (centre m on the working scale, sd, is_log)."""
        t = np.clip(types, 0, None)
        is_log = self.codes[t] == 3
        sd = np.maximum(self._model_sd(f, t), self.floor[t])
        m = np.where(is_log, np.log(np.maximum(f, _F_TINY)), f)
        return m, sd, is_log

    def loglik(
        self,
        y: FloatArray,
        f: FloatArray,
        types: npt.NDArray[np.int64],
        censored: BoolArray,
        lloq: FloatArray,
        mask: BoolArray,
    ) -> FloatArray:
        """Log-likelihood per row (sum over the row's observations); arrays (R, J)."""
        m, sd, is_log = self._arrays(f, types)
        with np.errstate(divide="ignore", invalid="ignore"):
            z_obs = _working(y, is_log)
            r = (z_obs - m) / sd
            dens = -0.5 * (_LOG_2PI + r * r) - np.log(sd) - np.where(is_log, z_obs, 0.0)
            z_l = _working(lloq, is_log)
            cens = special.log_ndtr((z_l - m) / sd)
        val = np.where(censored, cens, dens)
        return np.asarray(np.where(mask, val, 0.0).sum(axis=1), dtype=float)

    def standardized(
        self, y: FloatArray, f: FloatArray, types: npt.NDArray[np.int64]
    ) -> FloatArray:
        """(y - f)/sd on the working scale (log for ``exp``): IWRES when ``f`` = IPRED."""
        m, sd, is_log = self._arrays(f, types)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = _working(y, is_log, nonpositive=np.nan)
            return np.asarray((z - m) / sd, dtype=float)

    def impute_censored(
        self,
        y: FloatArray,
        f: FloatArray,
        types: npt.NDArray[np.int64],
        censored: BoolArray,
        lloq: FloatArray,
        rng: np.random.Generator,
    ) -> tuple[FloatArray, FloatArray]:
        """Censored entries drawn from the model truncated above the LLOQ: (``y`` with the
        draws, the draws' standard-normal errors ``e*``, 0 elsewhere).

        The draw is made on the standard-normal scale, ``e* ~ N(0, 1)`` truncated at
        ``(z_LLOQ - m) / sd`` with the model's own sd (not the numerical floor): where a
        proportional model predicts 0 the bound is +inf and ``e*`` is an untruncated draw, so
        such values carry no information on the residual parameter instead of inflating it."""
        e = np.zeros(y.shape)
        if not censored.any():
            return y, e
        m, _sd, is_log = self._arrays(f, types)
        raw = self._model_sd(f, np.clip(types, 0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            z_l = _working(lloq, is_log)
            bound = np.where(raw > 0, (z_l - m) / np.where(raw > 0, raw, 1.0), np.inf)
        p = special.ndtr(bound)
        u = rng.random(y.shape) * np.clip(p, 1e-300, 1.0)
        e = np.where(censored, special.ndtri(np.clip(u, 1e-300, 1.0 - 1e-16)), 0.0)
        e = np.where(censored, np.minimum(e, bound), 0.0)
        z = m + raw * e
        draw = np.where(is_log, np.exp(np.where(is_log, z, 0.0)), z)
        return np.where(censored, draw, y), e

    def simulate(
        self, f: FloatArray, types: npt.NDArray[np.int64], rng: np.random.Generator
    ) -> FloatArray:
        """Observations drawn around predictions ``f`` (no censoring applied)."""
        m, sd, is_log = self._arrays(f, types)
        z = m + sd * rng.standard_normal(f.shape)
        return np.asarray(np.where(is_log, np.exp(np.where(is_log, z, 0.0)), z), dtype=float)

    # ------------------------------------------------------------------ M-step
    def sq_stat(self, y: FloatArray, f: FloatArray, types: npt.NDArray[np.int64],
                mask: BoolArray, censored: BoolArray | None = None,
                e_cens: FloatArray | None = None) -> FloatArray:
        """Per type: mean squared residual on the scale each closed-form update needs
        (``(y-f)^2`` add, ``((y-f)/f)^2`` prop, ``(log y - log f)^2`` exp; NaN for combined).
        Censored entries contribute ``(param * e*)^2`` from their imputed standard-normal
        errors ``e_cens`` (see :meth:`impute_censored`)."""
        out = np.full(len(self.kinds), np.nan)
        cens = np.zeros(mask.shape, dtype=bool) if censored is None else censored
        for t, kind in enumerate(self.kinds):
            sel = mask & (types == t)
            if kind == "combined" or not sel.any():
                continue
            obs = sel & ~cens
            yy, ff = y[obs], f[obs]
            if kind == "add":
                r = yy - ff
            elif kind == "prop":
                r = (yy - ff) / np.maximum(np.abs(ff), self.floor[t])
            else:
                r = np.log(np.maximum(yy, _F_TINY)) - np.log(np.maximum(ff, _F_TINY))
            total = float(np.sum(r * r))
            if e_cens is not None and (sel & cens).any():
                par = self.ab[t, 1] if kind == "prop" else self.ab[t, 0]
                total += float(np.sum((par * e_cens[sel & cens]) ** 2))
            out[t] = total / int(sel.sum())
        return out

    def ab_from_stat(self, stat: FloatArray) -> FloatArray:
        """Closed-form (a, b) from :meth:`sq_stat` values (combined rows left unchanged)."""
        ab = self.ab.copy()
        for t, kind in enumerate(self.kinds):
            if kind == "combined" or not np.isfinite(stat[t]):
                continue
            s = float(np.sqrt(max(stat[t], 0.0)))
            ab[t] = (0.0, s) if kind == "prop" else (s, 0.0)
        return ab

    def fit_combined(self, t: int, y: FloatArray, f: FloatArray) -> tuple[float, float]:
        """Maximum-likelihood (a, b) of type ``t`` given observations and predictions."""
        a0, b0 = self.ab[t]

        def nll(x: FloatArray) -> float:
            sd2 = np.exp(2 * x[0]) + np.exp(2 * x[1]) * f * f
            return float(np.sum(np.log(sd2) + (y - f) ** 2 / sd2))

        x0 = np.log(np.maximum([a0, b0], 1e-8))
        res = optimize.minimize(nll, x0, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-8})
        return float(np.exp(res.x[0])), float(np.exp(res.x[1]))


def initial_residual(
    kinds: tuple[str, ...], dv: FloatArray, types: npt.NDArray[np.int64], mask: BoolArray,
    censored: BoolArray,
) -> ResidualModel:
    """Starting values: ``a`` = 30% of the type's median |y| (exp: 0.3), ``b`` = 0.3
    (combined: a = 10%, b = 0.2); floor = 1e-6 of the median |y|."""
    n_t = len(kinds)
    ab = np.zeros((n_t, 2))
    floor = np.zeros(n_t)
    for t, kind in enumerate(kinds):
        sel = mask & (types == t) & ~censored
        med = float(np.median(np.abs(dv[sel]))) if sel.any() else 1.0
        med = med if med > 0 else 1.0
        floor[t] = 1e-6 * med
        ab[t] = {
            "add": (0.3 * med, 0.0),
            "prop": (0.0, 0.3),
            "combined": (0.1 * med, 0.2),
            "exp": (0.3, 0.0),
        }[kind]
    return ResidualModel(tuple(kinds), ab, floor)
