"""CRM skeletons by the method of Lee & Cheung 2009 (Clin Trials 6:227), as dfcrm ``getprior``."""

from __future__ import annotations

import math

import numpy as np

from il2sim.designs._interval import check_int
from il2sim.designs.base import check_target
from il2sim.errors import DesignError

__all__ = ["MODELS", "check_model", "getprior"]

#: The CRM's one-parameter models (dfcrm).
MODELS = ("empiric", "logistic")


def getprior(
    halfwidth: float,
    target: float,
    nu: int,
    nlevel: int,
    model: str = "empiric",
    intercept: float = 3.0,
) -> tuple[float, ...]:
    """Skeleton by the method of Lee & Cheung 2009 (Clin Trials 6:227), as dfcrm ``getprior``.

    ``nu`` (from 1) is the prior MTD level; adjacent doses' indifference intervals
    target -/+ ``halfwidth`` meet, so that p_{k-1}(b_k) = target - halfwidth and
    p_k(b_k) = target + halfwidth at the switching values b_k.
    """
    t = check_target(target)
    hw = float(halfwidth)
    if not (0.0 < hw < min(t, 1.0 - t)):
        raise DesignError(
            f"must be in (0, min(target, 1 - target)), got {halfwidth!r}",
            field="halfwidth",
            value=halfwidth,
        )
    k = check_int("nlevel", nlevel, 1)
    nu_ = check_int("nu", nu, 1, k) - 1
    check_model(model)
    a0 = float(intercept)
    x = np.full(k, np.nan)
    if model == "empiric":
        x[nu_] = t
        for i in range(nu_, 0, -1):
            b = math.log(math.log(t + hw) / math.log(x[i]))
            x[i - 1] = math.exp(math.log(t - hw) / math.exp(b))
        for i in range(nu_, k - 1):
            b = math.log(math.log(t - hw) / math.log(x[i]))
            x[i + 1] = math.exp(math.log(t + hw) / math.exp(b))
        return tuple(float(v) for v in x)
    lo = math.log((t - hw) / (1 - t + hw)) - a0
    hi = math.log((t + hw) / (1 - t - hw)) - a0
    x[nu_] = math.log(t / (1 - t)) - a0
    for i in range(nu_, 0, -1):
        b = math.log(hi / x[i])
        x[i - 1] = lo / math.exp(b)
    for i in range(nu_, k - 1):
        b = math.log(lo / x[i])
        x[i + 1] = hi / math.exp(b)
    return tuple(float(v) for v in 1.0 / (1.0 + np.exp(-a0 - x)))


def check_model(model: str) -> None:
    """Raise :class:`DesignError` unless ``model`` is one of :data:`MODELS`."""
    if model not in MODELS:
        raise DesignError(f"must be one of {MODELS}, got {model!r}", field="model", value=model)
