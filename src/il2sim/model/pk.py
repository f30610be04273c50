"""IL-2 pharmacokinetics: derived rate constants and closed forms.

Structure (each number's source is in ``parameters.toml``):

* s.c./i.m. dose -> bioavailable fraction ``F`` enters depot 1; the rest is recorded as
  "not absorbed" (mass-balance bookkeeping).  Depot 1 -> depot 2 -> central with the same
  first-order rate ``ka`` (an input peak at ``1/ka`` = 4 h and a flat plateau over ~8 h, as
  Konrad 1990 and the label's Tmax 2-6 h describe).
* i.v. bolus into the central compartment (volume ``Vc`` = 1.538 l/m2 x BSA, Konrad 1990);
  i.v. infusion as a zero-order input into the central compartment.
* central <-> peripheral exchange (``Q``, ``Vp``: from Konrad's 12.9 and 85 min half-lives).
* linear (renal) clearance 120 ml/min (Konrad 1990) plus saturable receptor-mediated clearance
  (:mod:`il2sim.model.receptors`).

Amounts are IU; concentrations IU/ml inside the solver (converted to pM via
:mod:`il2sim.units` at the output); time days.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from il2sim import units

FloatArray = npt.NDArray[np.float64]


def volumes_ml(
    vc_l_per_m2: npt.ArrayLike, vp_l_per_m2: npt.ArrayLike, bsa_m2: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Central and peripheral volumes, ml, for patients of ``bsa_m2``."""
    bsa = np.asarray(bsa_m2, dtype=float)
    vc = np.asarray(vc_l_per_m2, dtype=float) * bsa * units.ML_PER_L
    vp = np.asarray(vp_l_per_m2, dtype=float) * bsa * units.ML_PER_L
    return vc, vp


def micro_constants_per_day(
    cl_ml_per_min: npt.ArrayLike,
    q_ml_per_min: npt.ArrayLike,
    vc_ml: npt.ArrayLike,
    vp_ml: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(k10, k12, k21) in 1/day from clearances (ml/min) and volumes (ml)."""
    cl = units.per_minute_to_per_day(np.asarray(cl_ml_per_min, dtype=float))
    q = units.per_minute_to_per_day(np.asarray(q_ml_per_min, dtype=float))
    vc = np.asarray(vc_ml, dtype=float)
    vp = np.asarray(vp_ml, dtype=float)
    return cl / vc, q / vc, q / vp


def two_compartment_half_lives_min(k10: float, k12: float, k21: float) -> tuple[float, float]:
    """Distribution and elimination half-lives (minutes) of a linear two-compartment model
    with micro constants in 1/day: eigenvalues of the 2x2 system."""
    s = k10 + k12 + k21
    disc = np.sqrt(s * s - 4.0 * k10 * k21)
    alpha, beta = 0.5 * (s + disc), 0.5 * (s - disc)
    return (
        float(np.log(2.0) / alpha * units.MINUTES_PER_DAY),
        float(np.log(2.0) / beta * units.MINUTES_PER_DAY),
    )


def one_compartment_two_depot_conc(
    t_day: npt.ArrayLike, dose_iu: float, f: float, ka: float, k: float, v_ml: float
) -> FloatArray:
    """Closed form for the reduced linear case (no peripheral, no receptors): concentration
    (IU/ml) after one dose ``dose_iu`` into two first-order transit depots (rate ``ka``)
    feeding a one-compartment model with elimination rate ``k`` (1/day), ``ka != k``.

    Input rate ``F*D*ka**2*t*exp(-ka t)``; convolved with ``exp(-k t)``:
    ``C = F D ka^2 / V * [ e^{-k t}/(ka-k)^2 - e^{-ka t} (1/(ka-k)^2 + t/(ka-k)) ]``.
    """
    t = np.asarray(t_day, dtype=float)
    d = ka - k
    amount = (
        f * dose_iu * ka * ka * (np.exp(-k * t) / d**2 - np.exp(-ka * t) * (1.0 / d**2 + t / d))
    )
    return np.asarray(amount / v_ml, dtype=float)
