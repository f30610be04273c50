"""Anti-IL-2 antibodies (anti-drug antibodies, ADA): onset time and optional neutralisation.

Onset is a constant hazard while dosing, ``lambda = ada_hazard_per_day * (dose /
ada_ref_dose_miu_per_m2) ** ada_dose_exponent`` (1/day; parameters in ``toxicity.toml``), so
the onset time after the first dose is exponential and the probability of antibodies after
``t`` days of treatment is ``1 - exp(-lambda t)``.  The hazard is calibrated to the seed, 3 of
38 patients positive over 90 days (Meropol et al. 1996, Clin Cancer Res 2:669):
``lambda = -log(1 - 3/38) / 90`` (:mod:`il2sim.calibrate.toxicity_fit`).  The hazard acts
during the treated period only (:func:`il2sim.toxicity.clock.treated_days`): a latent onset
time beyond it means no antibodies.

By default antibodies are non-neutralising (as in the seed): no effect on exposure.  In
neutralising mode each dose after onset is reduced by ``ada_neutralising_fraction``, applied
through the simulator's per-dose ``amount_scale``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from il2sim import units
from il2sim.model.parameters import Parameters
from il2sim.regimen.events import Regimen

__all__ = [
    "ada_hazard_per_day",
    "ada_onset_day",
    "ada_probability",
    "neutralising_scale",
    "regimen_dose_per_m2",
]

FloatArray = npt.NDArray[np.float64]
#: Body-surface area taken for a flat dose when the hazard depends on the dose per m2, m2
#: (a typical adult; only used with ``ada_dose_exponent != 0``, 0 in the packaged table).
_TYPICAL_BSA_M2 = 1.8


def ada_hazard_per_day(dose_miu_per_m2: npt.ArrayLike, tox: Parameters) -> FloatArray:
    """Onset hazard (1/day) at ``dose_miu_per_m2`` (MIU/m2/day)."""
    d = np.asarray(dose_miu_per_m2, dtype=float)
    ref = tox.value("ada_ref_dose_miu_per_m2")
    return np.asarray(
        tox.value("ada_hazard_per_day")
        * (np.clip(d, 0.0, None) / ref) ** tox.value("ada_dose_exponent"),
        dtype=float,
    )


def ada_probability(dose_miu_per_m2: npt.ArrayLike, days: float, tox: Parameters) -> FloatArray:
    """Probability of antibodies after ``days`` days of treatment: ``1 - exp(-lambda days)``."""
    return -np.expm1(-ada_hazard_per_day(dose_miu_per_m2, tox) * max(float(days), 0.0))


def ada_onset_day(
    u: npt.ArrayLike, dose_miu_per_m2: npt.ArrayLike, tox: Parameters
) -> FloatArray:
    """Latent onset time (days after the first dose; inf = never) by inverse CDF of the
    uniform ``u``; onsets after the treated period mean no antibodies."""
    lam = np.broadcast_to(ada_hazard_per_day(dose_miu_per_m2, tox), np.shape(u))
    uu = np.asarray(u, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(lam > 0, -np.log1p(-uu) / np.where(lam > 0, lam, 1.0), math.inf)


def neutralising_scale(
    onset_day: npt.ArrayLike, dose_time_day: npt.ArrayLike, tox: Parameters, neutralising: bool
) -> FloatArray:
    """Per-dose amount scale (P, E): ``1 - ada_neutralising_fraction`` for doses at or after
    onset when ``neutralising``, else all ones (onset and dose times on the same clock)."""
    on = np.asarray(onset_day, dtype=float)[:, None]
    t = np.asarray(dose_time_day, dtype=float)[None, :]
    if not neutralising:
        return np.ones((on.shape[0], t.shape[1]))
    f = tox.value("ada_neutralising_fraction")
    return np.where(t >= on, 1.0 - f, 1.0)


def regimen_dose_per_m2(regimen: Regimen) -> float:
    """The regimen's typical daily dose in MIU/m2: total amount over the number of dosing days
    (flat doses taken per 1.8 m2 -- only used when the ADA hazard depends on dose)."""
    amounts = [
        float(units.iu_to_miu(units.amount_to_iu(e.amount, e.amount_unit)))
        / (1.0 if e.per_m2 else _TYPICAL_BSA_M2)
        for e in regimen.events
    ]
    n_days = len({math.floor(e.time_day + 1e-9) for e in regimen.events})
    return float(sum(amounts) / max(n_days, 1))
