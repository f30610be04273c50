"""dfcrm's numerical integrals for conducting a CRM (scipy ``quad``) -- private."""

from __future__ import annotations

import math
import warnings

import numpy as np
import numpy.typing as npt
from scipy import integrate

from il2sim.designs._fast_crm import crm_loglik_nb

#: dfcrm integrates the numerator over [-10, 10].
BOUND = 10.0


def integral(
    x: npt.NDArray[np.float64],
    logistic: bool,
    a0: float,
    n: npt.NDArray[np.int64],
    y: npt.NDArray[np.int64],
    sd: float,
    power: int,
    lo: float,
    hi: float,
    mode: float,
) -> float:
    """∫ b^power L(b) exp(-b^2 / (2 sd^2)) db over [lo, hi] (dfcrm's unnormalised prior).

    ``x``: model dose values (contiguous), ``logistic``/``a0``: the model.  Scaled by
    exp(-c) with c the log integrand at ``mode``, which cancels in every ratio used.
    """
    c = crm_loglik_nb(mode, n, y, x, logistic, a0) - mode**2 / (2 * sd * sd)

    def f(b: float) -> float:
        v = crm_loglik_nb(b, n, y, x, logistic, a0) - b * b / (2 * sd * sd) - c
        return b**power * math.exp(v) if math.isfinite(v) else 0.0

    parts: list[tuple[float, float]] = []
    inner_lo, inner_hi = max(lo, -BOUND), min(hi, BOUND)
    if lo < inner_lo:
        parts.append((lo, inner_lo))
    parts.append((inner_lo, inner_hi))
    if hi > inner_hi:
        parts.append((inner_hi, hi))
    total = 0.0
    with warnings.catch_warnings():
        # quad's round-off notice at 1e-11 relative accuracy is harmless here
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for a, b in parts:
            if np.isfinite(a) and np.isfinite(b):
                pts = [mode] if a < mode < b else None
                val = integrate.quad(f, a, b, points=pts, epsabs=0.0, epsrel=1e-11, limit=200)[0]
            else:
                val = integrate.quad(f, a, b, epsabs=0.0, epsrel=1e-11, limit=200)[0]
            total += val
    return total
