"""Observations for a nonlinear mixed-effects fit, as padded per-subject arrays.

Each subject ``i`` has ``n_obs[i]`` observations; arrays are (N, J) with J the largest count
and padding where ``mask`` is False.  An observation has a time (the structural model's time
unit), a value ``dv`` (the observation type's unit), a type (index into ``type_names``: e.g.
serum IL-2, NK count) and, if it is below the lower limit of quantification, ``censored`` =
True with its ``lloq`` (the value ``dv`` is then ignored: M3, Beal 2001, J Pharmacokinet
Pharmacodyn 28:481).  Padded arrays let the E-step evaluate every subject (and every MCMC
chain) in one vectorised likelihood.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from il2sim.errors import DataError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

__all__ = ["FitData", "from_long"]


@dataclass(frozen=True, eq=False)
class FitData:
    """Observations of N subjects (see the module docstring).

    ``subject_ids`` (N,); ``time``, ``dv``, ``lloq`` (N, J) float; ``obs_type`` (N, J) int
    (-1 on padding); ``censored``, ``mask`` (N, J) bool; ``type_names``/``type_units`` per
    observation type; ``covariates`` name -> (N,); ``time_unit`` of ``time``.
    """

    subject_ids: tuple[str, ...]
    time: FloatArray
    dv: FloatArray
    obs_type: IntArray
    censored: BoolArray
    lloq: FloatArray
    mask: BoolArray
    type_names: tuple[str, ...]
    type_units: tuple[str, ...] = ()
    covariates: Mapping[str, FloatArray] = field(default_factory=dict)
    time_unit: str = "h"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.subject_ids)
        if n == 0 or not self.mask.any():
            raise DataError("no observations, got 0", field="observations", value=0)
        for name in ("time", "dv", "obs_type", "censored", "lloq", "mask"):
            if getattr(self, name).shape != self.mask.shape or self.mask.shape[0] != n:
                raise DataError(f"shape {getattr(self, name).shape} != {self.mask.shape}", field=name)
        if not self.type_units:
            object.__setattr__(self, "type_units", ("",) * len(self.type_names))
        object.__setattr__(self, "covariates", MappingProxyType(dict(self.covariates)))

    @property
    def n_subjects(self) -> int:
        """N."""
        return len(self.subject_ids)

    @property
    def n_observations(self) -> int:
        """Number of observations (censored ones included)."""
        return int(self.mask.sum())

    @property
    def n_censored(self) -> int:
        """Number of observations below the LLOQ."""
        return int((self.censored & self.mask).sum())

    @property
    def n_types(self) -> int:
        """Number of observation types."""
        return len(self.type_names)

    @property
    def n_obs(self) -> IntArray:
        """Observations per subject (N,)."""
        return np.asarray(self.mask.sum(axis=1), dtype=np.int64)

    def type_mask(self, t: int) -> BoolArray:
        """(N, J) mask of observations of type ``t``."""
        return np.asarray(self.mask & (self.obs_type == t))

    def fingerprint(self) -> str:
        """SHA-256 of the observation arrays (checkpoint files refuse other data)."""
        h = hashlib.sha256()
        for a in (self.time, self.dv, self.obs_type, self.censored, self.lloq, self.mask):
            h.update(np.ascontiguousarray(np.nan_to_num(a, nan=-1.2345e300)).tobytes())
        h.update("|".join(self.subject_ids).encode())
        h.update("|".join(self.type_names).encode())
        return h.hexdigest()[:16]

    def subset(self, idx: npt.ArrayLike) -> FitData:
        """Subjects ``idx`` (indices, in that order) as a new dataset (bootstrap, tests)."""
        i = np.asarray(idx, dtype=np.int64)
        return FitData(
            subject_ids=tuple(self.subject_ids[k] for k in i),
            time=self.time[i],
            dv=self.dv[i],
            obs_type=self.obs_type[i],
            censored=self.censored[i],
            lloq=self.lloq[i],
            mask=self.mask[i],
            type_names=self.type_names,
            type_units=self.type_units,
            covariates={k: v[i] for k, v in self.covariates.items()},
            time_unit=self.time_unit,
            notes=self.notes,
        )

    def with_dv(self, dv: FloatArray, censored: BoolArray | None = None) -> FitData:
        """The same design with other observed values (simulated replicates)."""
        return FitData(
            subject_ids=self.subject_ids,
            time=self.time,
            dv=np.asarray(dv, dtype=float),
            obs_type=self.obs_type,
            censored=self.censored if censored is None else np.asarray(censored, dtype=bool),
            lloq=self.lloq,
            mask=self.mask,
            type_names=self.type_names,
            type_units=self.type_units,
            covariates=self.covariates,
            time_unit=self.time_unit,
            notes=self.notes,
        )


def from_long(
    subject: Sequence[str] | npt.ArrayLike,
    time: npt.ArrayLike,
    dv: npt.ArrayLike,
    obs_type: npt.ArrayLike | None = None,
    censored: npt.ArrayLike | None = None,
    lloq: npt.ArrayLike | None = None,
    type_names: Sequence[str] = ("y",),
    type_units: Sequence[str] = (),
    covariates: Mapping[str, npt.ArrayLike] | None = None,
    time_unit: str = "h",
    notes: Sequence[str] = (),
) -> FitData:
    """Build :class:`FitData` from one row per observation (subjects in first-seen order).

    ``covariates`` are per row (the first row of each subject is kept).  Raises
    :class:`DataError` for NaN times, non-monotone times within a subject, a censored row
    without a positive LLOQ, a non-finite uncensored value or an unknown type index.
    """
    subj = np.asarray([str(s) for s in np.asarray(subject, dtype=object).ravel()])
    t = np.asarray(time, dtype=float).ravel()
    y = np.asarray(dv, dtype=float).ravel()
    m = subj.size
    if m == 0:
        raise DataError("no observations, got 0", field="observations", value=0)
    ty = np.zeros(m, dtype=np.int64) if obs_type is None else np.asarray(obs_type).astype(np.int64)
    cens = np.zeros(m, dtype=bool) if censored is None else np.asarray(censored, dtype=bool)
    lq = np.full(m, np.nan) if lloq is None else np.asarray(lloq, dtype=float).ravel()
    if not (t.size == y.size == ty.size == cens.size == lq.size == m):
        raise DataError("columns of unequal length", field="observations")
    if (ty < 0).any() or (ty >= len(type_names)).any():
        bad = ty[(ty < 0) | (ty >= len(type_names))][0]
        raise DataError(f"unknown observation type {bad}", field="obs_type", value=int(bad))
    if not np.isfinite(t).all():
        raise DataError("missing or non-finite time", field="TIME", value=float(t[~np.isfinite(t)][0]))
    bad_l = cens & ~(np.isfinite(lq) & (lq > 0))
    if bad_l.any():
        k = int(np.flatnonzero(bad_l)[0])
        raise DataError(f"censored observation without a positive LLOQ (subject {subj[k]})",
                        field="LLOQ", value=float(lq[k]))
    bad_y = ~cens & ~np.isfinite(y)
    if bad_y.any():
        k = int(np.flatnonzero(bad_y)[0])
        raise DataError(f"non-finite observation (subject {subj[k]})", field="DV", value=float(y[k]))
    ids = list(dict.fromkeys(subj.tolist()))
    pos = {s: i for i, s in enumerate(ids)}
    si = np.array([pos[s] for s in subj], dtype=np.int64)
    counts = np.bincount(si, minlength=len(ids))
    n, j = len(ids), int(counts.max())
    out_t = np.full((n, j), np.nan)
    out_y = np.full((n, j), np.nan)
    out_ty = np.full((n, j), -1, dtype=np.int64)
    out_c = np.zeros((n, j), dtype=bool)
    out_l = np.full((n, j), np.nan)
    mask = np.zeros((n, j), dtype=bool)
    fill = np.zeros(n, dtype=np.int64)
    for r in range(m):
        i = si[r]
        k = fill[i]
        if k and t[r] < out_t[i, k - 1]:
            raise DataError(f"time decreases within subject {ids[i]} ({out_t[i, k - 1]:g} then "
                            f"{t[r]:g})", field="TIME", value=float(t[r]))
        out_t[i, k], out_y[i, k], out_ty[i, k] = t[r], y[r], ty[r]
        out_c[i, k], out_l[i, k], mask[i, k] = cens[r], lq[r], True
        fill[i] += 1
    cov: dict[str, FloatArray] = {}
    for name, values in (covariates or {}).items():
        v = np.asarray(values, dtype=float).ravel()
        first = np.array([np.flatnonzero(si == i)[0] for i in range(n)])
        cov[name] = v[first]
    out_y = np.where(out_c, np.nan, out_y)
    return FitData(
        subject_ids=tuple(ids),
        time=out_t,
        dv=out_y,
        obs_type=out_ty,
        censored=out_c,
        lloq=out_l,
        mask=mask,
        type_names=tuple(type_names),
        type_units=tuple(type_units),
        covariates=cov,
        time_unit=time_unit,
        notes=tuple(notes),
    )
