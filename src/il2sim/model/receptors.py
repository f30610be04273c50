"""IL-2 receptor occupancy and receptor-mediated (internalisation) clearance.

Occupancy is taken at quasi-steady state, ``occ = C / (Kd + C)``: IL-2 binding to its
receptors equilibrates within minutes (association ~1e7-1e8 /M/s at pM-nM concentrations,
Wang & Smith 1987), while the input from an s.c. depot changes over hours (Tmax 2-6 h, label)
and NK numbers over days (turnover ~7%/day, Zhang 2007), so the bound fraction tracks the free
concentration.  Bound IL-2 is internalised with rate ``kint`` (half-life 10-15 min, Fujii 1987)
and degraded; the receptor-mediated elimination flux is therefore
``kint * sum_i R_i * C / (Kd_i + C)`` with ``R_i`` the total receptor amount of type ``i`` in
the body (IU-equivalents).  It is saturable (capacity ``kint * R_i``) and proportional to the
number of receptor-bearing cells.  The bound amount itself is not a state: it is negligible
next to the dose (about 1e-4 of a 1 MIU dose), and receptors are assumed re-expressed at the
rate they are internalised (a constant receptor number per cell).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from il2sim import units

#: The occupancy macro of the model declaration (:mod:`il2sim.model.il2nk`):
#: ``occupancy(conc, kd) = conc / (kd + conc)`` (conc >= 0, same unit as kd).
OCCUPANCY: tuple[tuple[str, ...], str] = (("conc", "kd"), "conc / (kd + conc)")


def occupancy(conc: float, kd: float) -> float:
    """Quasi-steady-state fraction of receptors occupied at free concentration ``conc``
    (same unit as ``kd``): ``conc / (kd + conc)`` (:data:`OCCUPANCY`), conc clipped at 0."""
    c = conc if conc > 0.0 else 0.0
    return c / (kd + c)


def occupancy_np(conc: npt.ArrayLike, kd: float) -> npt.NDArray[np.float64]:
    """Vectorised :func:`occupancy` for numpy arrays."""
    c = np.maximum(np.asarray(conc, dtype=float), 0.0)
    return np.asarray(c / (kd + c), dtype=float)


def sites_to_iu_per_cell_ul(
    sites_per_cell: npt.ArrayLike,
    blood_volume_ml: npt.ArrayLike,
    pool_scale: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """Receptor amount in the body, IU-equivalents, per 1 cell/ul of blood count.

    ``sites_per_cell`` receptors on each cell; a blood count of 1 cell/ul stands for
    ``blood_volume_ml * 1000 * pool_scale`` cells in the body (``pool_scale``: body cells per
    blood cell, calibrated); sites -> mol by Avogadro's number, mol -> IU by the seed
    convention (:func:`il2sim.units.mol_to_iu`).
    """
    cells = np.asarray(blood_volume_ml, dtype=float) * units.UL_PER_L / units.ML_PER_L
    cells = cells * np.asarray(pool_scale, dtype=float)
    mol = np.asarray(sites_per_cell, dtype=float) * cells / units.AVOGADRO_PER_MOL
    return np.asarray(units.mol_to_iu(mol), dtype=float)
