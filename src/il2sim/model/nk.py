"""NK-cell dynamics: marrow progenitors -> CD56bright -> CD56dim, driven by IL-2 occupancy.

Mechanism (Fehniger et al. 2000, J Clin Invest 106:117: mature NK do not cycle in vivo under
low-dose IL-2; IL-2 makes CD34+ marrow progenitors differentiate into NK cells and delays NK
apoptosis):

* production into the marrow chain ``I0 * (1 + emax_production * S**hill_production)``, where
  ``S`` is a delayed signal (effect compartment, rate ``signal_ke0_per_day``, calibrated) of the
  high-affinity receptor occupancy (progenitors and CD56bright respond to pM IL-2, Hirakawa
  2016);
* three transit compartments with mean transit time ``marrow_transit_day`` (label peak ~10 days,
  Zhang 2007) release CD56bright cells to blood;
* CD56bright leave by maturation to CD56dim (``kmat``) and die slowly (``bright_death_per_day``;
  Lutz 2011);
* CD56dim die at ``nk_loss_per_day`` (Zhang 2007: 6.9%/day) scaled by a homeostatic factor
  ``(N/N0)**homeostasis_gamma`` on total NK ``N`` (competition for survival signals; returns
  counts to baseline after IL-2 stops) and divided by ``1 + emax_survival * occ_int`` (IL-2
  delays apoptosis through the intermediate receptors that CD56dim carry).

No IL-2 effect on the bright -> dim conversion per cell (science.md §5: it could not give the
seed's 28-fold bright vs 6-fold total split).  Baseline is a steady state: ``kmat`` is set per
patient so that ``kmat * B0 = kdd * D0`` and ``I0 = (kmat + kdb) * B0``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
#: Number of marrow transit compartments (structural choice, fixed).
N_TRANSIT = 3


def baseline_rates(
    bright0_per_ul: npt.ArrayLike,
    dim0_per_ul: npt.ArrayLike,
    dim_loss_per_day: npt.ArrayLike,
    bright_death_per_day: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """(kmat 1/day, I0 cells/ul/day) making the untreated state a steady state."""
    b0 = np.asarray(bright0_per_ul, dtype=float)
    d0 = np.asarray(dim0_per_ul, dtype=float)
    kmat = np.asarray(dim_loss_per_day, dtype=float) * d0 / b0
    i0 = (kmat + np.asarray(bright_death_per_day, dtype=float)) * b0
    return kmat, i0


def steady_state_counts(
    signal: float,
    occ_int: float,
    i0: float,
    kmat: float,
    kdb: float,
    kdd: float,
    n0: float,
    emax_prod: float,
    hill: float,
    gamma: float,
    emax_surv: float,
) -> tuple[float, float]:
    """Steady-state (bright, dim) counts, cells/ul, for a constant signal and occupancy.

    Bright: ``B = I / (kmat + kdb)``; dim solves ``kmat B = kdd (N/N0)^gamma D / (1 + e occ)``
    (one-dimensional, monotone: solved by bisection).  Used by tests as an exact check.
    """
    inflow = i0 * (1.0 + emax_prod * signal**hill)
    b = inflow / (kmat + kdb)
    lo, hi = 0.0, 1.0e9
    for _ in range(200):
        d = 0.5 * (lo + hi)
        loss = kdd * ((b + d) / n0) ** gamma * d / (1.0 + emax_surv * occ_int)
        if loss > kmat * b:
            hi = d
        else:
            lo = d
    return b, 0.5 * (lo + hi)
