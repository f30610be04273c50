"""Anti-IL-2 antibodies (anti-drug antibodies, ADA): onset time and optional neutralisation.

Onset is a constant hazard while dosing, ``lambda = ada_hazard_per_day * (dose /
ada_ref_dose_miu_per_m2) ** ada_dose_exponent`` (1/day; parameters in ``toxicity.toml``), so
the onset day is exponential and the probability of antibodies by day ``t`` is
``1 - exp(-lambda t)``.  The hazard is calibrated to the seed, 3 of 38 patients positive over
90 days (Meropol et al. 1996, Clin Cancer Res 2:669): ``lambda = -log(1 - 3/38) / 90``.

By default antibodies are non-neutralising (as in the seed): no effect on exposure.  In
neutralising mode each dose after onset is reduced by ``ada_neutralising_fraction``, applied
through the simulator's per-dose ``amount_scale``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ada_hazard_per_day", "ada_onset_day", "ada_probability", "neutralising_scale"]

FloatArray = npt.NDArray[np.float64]


def ada_hazard_per_day(dose_miu_per_m2: npt.ArrayLike, tox: Any) -> FloatArray:
    """Onset hazard (1/day) at ``dose_miu_per_m2`` (MIU/m2/day)."""
    d = np.asarray(dose_miu_per_m2, dtype=float)
    ref = tox.value("ada_ref_dose_miu_per_m2")
    return np.asarray(
        tox.value("ada_hazard_per_day")
        * (np.clip(d, 0.0, None) / ref) ** tox.value("ada_dose_exponent"),
        dtype=float,
    )


def ada_probability(dose_miu_per_m2: npt.ArrayLike, days: float, tox: Any) -> FloatArray:
    """Probability of antibodies by ``days`` of daily dosing: ``1 - exp(-lambda days)``."""
    return -np.expm1(-ada_hazard_per_day(dose_miu_per_m2, tox) * days)


def ada_onset_day(u: npt.ArrayLike, dose_miu_per_m2: npt.ArrayLike, tox: Any) -> FloatArray:
    """Onset day (days from first dose; inf = never) by inverse CDF of the uniform ``u``."""
    lam = np.broadcast_to(ada_hazard_per_day(dose_miu_per_m2, tox), np.shape(u))
    uu = np.asarray(u, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(lam > 0, -np.log1p(-uu) / np.where(lam > 0, lam, 1.0), math.inf)


def neutralising_scale(
    onset_day: npt.ArrayLike, dose_time_day: npt.ArrayLike, tox: Any, neutralising: bool
) -> FloatArray:
    """Per-dose amount scale (P, E): ``1 - ada_neutralising_fraction`` for doses after onset
    when ``neutralising``, else all ones."""
    on = np.asarray(onset_day, dtype=float)[:, None]
    t = np.asarray(dose_time_day, dtype=float)[None, :]
    if not neutralising:
        return np.ones((on.shape[0], t.shape[1]))
    f = tox.value("ada_neutralising_fraction")
    return np.where(t >= on, 1.0 - f, 1.0)


def regimen_dose_per_m2(regimen: Any) -> float:
    """The regimen's typical daily dose in MIU/m2 (flat doses taken per 1.8 m2 -- only used
    when the ADA hazard depends on dose)."""
    from il2sim import units

    amounts = [
        float(units.iu_to_miu(units.amount_to_iu(e.amount, e.amount_unit)))
        / (1.0 if e.per_m2 else 1.8)
        for e in regimen.events
    ]
    n_days = len({math.floor(e.time_day + 1e-9) for e in regimen.events})
    return float(sum(amounts) / max(n_days, 1))
