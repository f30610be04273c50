"""What a fit needs from a structural model, and what the user asks to estimate.

A structural model is bound to one dataset's design (doses, observation times) and predicts,
for rows of individual parameters on the log scale, the value at each of the row's subject's
observations::

    model.predict(phi, subjects) -> (R, J)    # phi (R, K) log-scale, subjects (R,) indices

``phi[r, k] = log(theta_k)`` of the ``k``-th entry of ``model.param_names`` for the subject
``subjects[r]``; entry ``j`` of a row is the prediction at that subject's ``j``-th observation
(:class:`il2sim.fit.data.FitData` layout; padding entries may hold anything finite).  All rows
come in one call so a batched solver evaluates every subject and MCMC proposal at once.

Individual parameters are log-normal: ``log theta_i = mu + eta_i``, ``eta_i ~ N(0, Omega)``;
a parameter without a random effect has ``theta_i = exp(mu)`` for every subject.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from il2sim.errors import InputError
from il2sim.fit.residual import check_kind

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = ["FitSpec", "StructuralModel"]


@runtime_checkable
class StructuralModel(Protocol):
    """A model bound to a dataset's design (see the module docstring)."""

    @property
    def param_names(self) -> tuple[str, ...]:
        """Names of the K individual parameters, in ``phi`` column order."""
        ...

    def predict(self, phi: FloatArray, subjects: IntArray) -> FloatArray:
        """Predictions (R, J) for log-scale parameters ``phi`` (R, K) of ``subjects`` (R,)."""
        ...


@dataclass(frozen=True)
class FitSpec:
    """The estimation problem.

    ``initial``: typical value of each parameter of the model (natural scale, > 0), in
    ``param_names`` order; ``random``: the names with a random effect; ``omega_init``: their
    starting SDs on the log scale (default 1.0, as saemix and Monolix: a wide start helps the
    MCMC explore); ``blocks``: groups of random-effect names with a full covariance block
    (others are uncorrelated); ``error``: residual kind per observation type name
    (``add|prop|combined|exp``); ``units``: display unit per parameter.
    """

    param_names: tuple[str, ...]
    initial: tuple[float, ...]
    random: tuple[str, ...]
    omega_init: Mapping[str, float] = field(default_factory=dict)
    blocks: tuple[tuple[str, ...], ...] = ()
    error: Mapping[str, str] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = tuple(self.param_names)
        if len(set(names)) != len(names):
            raise InputError("a parameter is named twice", field="params", value=",".join(names))
        if len(self.initial) != len(names):
            raise InputError(f"{len(self.initial)} initial values for {len(names)} parameters",
                             field="initial")
        for n, v in zip(names, self.initial, strict=True):
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise InputError(f"initial value must be a positive number, got {v!r}",
                                 field=f"initial {n}", value=v)
        for n in self.random:
            if n not in names:
                raise InputError(f"random effect for {n!r}, which is not estimated",
                                 field="omega", value=n)
        for n, sd in self.omega_init.items():
            if n not in self.random:
                raise InputError(f"omega given for {n!r}, a parameter without variability",
                                 field="omega", value=n)
            if not (math.isfinite(sd) and sd > 0):
                raise InputError(f"must be a positive SD, got {sd!r}", field=f"omega {n}", value=sd)
        seen: set[str] = set()
        for blk in self.blocks:
            for n in blk:
                if n not in self.random:
                    raise InputError(f"block entry {n!r} has no random effect", field="omega block",
                                     value=n)
                if n in seen:
                    raise InputError(f"{n!r} is in two blocks", field="omega block", value=n)
                seen.add(n)
        object.__setattr__(self, "error", {k: check_kind(v) for k, v in self.error.items()})

    @property
    def k(self) -> int:
        """Number of parameters K."""
        return len(self.param_names)

    @property
    def random_mask(self) -> npt.NDArray[np.bool_]:
        """(K,) True where the parameter has a random effect."""
        return np.array([n in self.random for n in self.param_names], dtype=bool)

    def structure(self) -> npt.NDArray[np.bool_]:
        """(K, K) True where Omega may be non-zero (diagonal of random effects + blocks)."""
        k = self.k
        s = np.zeros((k, k), dtype=bool)
        rm = self.random_mask
        s[np.diag_indices(k)] = rm
        idx = {n: i for i, n in enumerate(self.param_names)}
        for blk in self.blocks:
            ii = [idx[n] for n in blk]
            for a in ii:
                for b in ii:
                    s[a, b] = True
        return s

    def omega0(self) -> FloatArray:
        """Initial Omega (K, K): diagonal of squared starting SDs (0 without variability)."""
        sd = np.array(
            [float(self.omega_init.get(n, 1.0)) if n in self.random else 0.0
             for n in self.param_names]
        )
        return np.diag(sd * sd)

    def kinds_for(self, type_names: Sequence[str], default: str = "prop") -> tuple[str, ...]:
        """Residual kind per observation type (``error`` entries, else ``error['*']``, else
        ``default``); an entry naming no type is an :class:`InputError`."""
        for name in self.error:
            if name != "*" and name not in type_names:
                raise InputError(f"no observation type {name!r} (have {', '.join(type_names)})",
                                 field="error", value=name)
        fallback = self.error.get("*", default)
        return tuple(self.error.get(t, fallback) for t in type_names)
