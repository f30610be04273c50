"""A bound estimation problem: data + structural model + spec + residual kinds.

Evaluates, for rows of log-scale individual parameters, the observation log-likelihood
``log p(y_i | phi)`` (M3 for censored values) and the Gaussian log-density of the random
effects, vectorised over rows (subjects x chains or subjects x samples).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.errors import DataError, InputError, ModelError
from il2sim.fit.data import FitData
from il2sim.fit.model import FitSpec, StructuralModel
from il2sim.fit.residual import ResidualModel, initial_residual

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = ["Problem", "gauss_logpdf"]

_LOG_2PI = float(np.log(2.0 * np.pi))


def gauss_logpdf(phi: FloatArray, mu: FloatArray, omega: FloatArray,
                 rmask: npt.NDArray[np.bool_]) -> FloatArray:
    """log N(phi_r; mu_r, Omega_rr) per row over the random dimensions ``rmask``."""
    if not rmask.any():
        return np.zeros(phi.shape[0])
    idx = np.flatnonzero(rmask)
    om = omega[idx][:, idx]
    d = phi[:, idx] - mu[idx]
    if idx.size == 1:
        v = float(om[0, 0])
        return np.asarray(-0.5 * (d[:, 0] ** 2 / v + np.log(v) + _LOG_2PI))
    sign, logdet = np.linalg.slogdet(om)
    if sign <= 0:
        return np.full(phi.shape[0], -np.inf)
    prec = np.linalg.inv(om)
    quad = np.einsum("ij,jk,ik->i", d, prec, d)
    return np.asarray(-0.5 * (quad + logdet + idx.size * _LOG_2PI))


@dataclass(frozen=True, eq=False)
class Problem:
    """``data`` fitted by ``model`` as specified by ``spec`` (residual kinds resolved)."""

    data: FitData
    model: StructuralModel
    spec: FitSpec
    residual0: ResidualModel
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, data: FitData, model: StructuralModel, spec: FitSpec,
              default_error: str = "prop") -> Problem:
        """Check that model, spec and data agree and resolve the residual kinds."""
        if tuple(model.param_names) != tuple(spec.param_names):
            raise ModelError(f"spec parameters {spec.param_names} != model's {model.param_names}",
                             field="params")
        if data.n_observations == 0:
            raise DataError("no observations, got 0", field="observations", value=0)
        if data.n_censored == data.n_observations:
            raise DataError(f"all {data.n_observations} observations are below the LLOQ",
                            field="observations", value="all BLQ")
        kinds = spec.kinds_for(data.type_names, default_error)
        for t, name in enumerate(data.type_names):
            sel = data.type_mask(t)
            if sel.any() and not (sel & ~data.censored).any():
                raise DataError(f"all {int(sel.sum())} observations of {name!r} are below the "
                                "LLOQ", field="observations", value=name)
            if kinds[t] == "exp" and (sel & ~data.censored & ~(data.dv > 0)).any():
                raise InputError(f"the exp error model needs positive {name} values",
                                 field="error", value="exp")
        res = initial_residual(kinds, data.dv, data.obs_type, data.mask, data.censored)
        present = np.array([data.type_mask(t).any() for t in range(data.n_types)])
        if not present.all():
            raise DataError("an observation type has no observation", field="observations",
                            value=data.type_names[int(np.flatnonzero(~present)[0])])
        return cls(data, model, spec, res, {})

    @property
    def n(self) -> int:
        """Subjects N."""
        return self.data.n_subjects

    @property
    def rmask(self) -> npt.NDArray[np.bool_]:
        """(K,) random-effect mask."""
        return self.spec.random_mask

    def gather(self, subjects: IntArray) -> tuple[Any, ...]:
        """Data arrays for rows ``subjects``: dv, types, censored, lloq, mask."""
        key = (id(subjects), subjects.shape)
        hit = self._cache.get("gather")
        if hit is not None and hit[0] == key and hit[1] is subjects:
            return hit[2]
        d = self.data
        out = (d.dv[subjects], d.obs_type[subjects], d.censored[subjects], d.lloq[subjects],
               d.mask[subjects])
        self._cache["gather"] = (key, subjects, out)
        return out

    def predict(self, phi: FloatArray, subjects: IntArray) -> FloatArray:
        """Model predictions (R, J); non-finite predictions become a ModelError."""
        f = np.asarray(self.model.predict(phi, subjects), dtype=float)
        if f.shape != (phi.shape[0], self.data.mask.shape[1]):
            raise ModelError(f"predict returned shape {f.shape}, expected "
                             f"{(phi.shape[0], self.data.mask.shape[1])}", field="model")
        bad = ~np.isfinite(f) & self.data.mask[subjects]
        if bad.any():
            f = np.where(bad, 1e300, f)  # an impossible parameter draw: likelihood ~ 0
        return f

    def obs_loglik(self, f: FloatArray, subjects: IntArray, res: ResidualModel) -> FloatArray:
        """log p(y_i | f) per row."""
        y, ty, c, lq, m = self.gather(subjects)
        ll = res.loglik(y, f, ty, c, lq, m)
        return np.where(np.isfinite(ll), ll, -1e300)
