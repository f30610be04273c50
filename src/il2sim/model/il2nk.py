"""The IL-2 PK / receptor occupancy / NK model, declared once (:data:`IL2NK`).

The runs it shares with model v2 are declared once in :mod:`il2sim.model.il2nk_shared`.
Mechanism and the source of every number: :mod:`il2sim.model.pk` (PK), :mod:`il2sim.model.
receptors` (occupancy, receptor pools, internalisation), :mod:`il2sim.model.nk` (marrow ->
CD56bright -> CD56dim) and ``parameters.toml``.  Amounts are IU, concentrations IU/ml inside
the solver (pM at the output, :mod:`il2sim.units`), counts cells/ul, time days.

Mass balance: depots + central + peripheral + not absorbed (pool) + renal and receptor
eliminations (sinks) = total amount dosed.
"""

from __future__ import annotations

from il2sim.model import il2nk_shared as shared
from il2sim.model import receptors
from il2sim.model.declaration import Constant, Derived, Param

__all__ = ["IL2NK"]

_TITLE = "il2sim: low-dose IL-2 PK, receptor occupancy and NK-cell expansion"

_PARAMS = (
    *shared.PK_PARAMS,
    Param("treg_per_ul", "cells/ul"),
    Param("sites_high_treg", "sites/cell"),
    *shared.NK_POOL_PARAMS,
    Param("receptor_pool_scale", "body high-affinity non-NK receptor pool per blood Treg-equivalent"),
    *shared.NK_PARAMS,
)

_CONSTANTS = (
    *shared.PK_CONSTANTS,
    shared.RH_BRIGHT_CONSTANT,
    Constant(
        "rh_fixed_iu", "IU", "non-NK high-affinity pool (Treg-like, fixed)",
        lambda e: e.p("treg_per_ul") * receptors.sites_to_iu_per_cell_ul(
            e.p("sites_high_treg"), e.c("blood_ml"), e.p("receptor_pool_scale")
        ),
        "iu",
    ),
    *shared.NK_RECEPTOR_CONSTANTS,
    *shared.NK_CONSTANTS,
    shared.PM_CONSTANT,
)

_STATES = (shared.depot1_state(), *shared.PK_STATES, *shared.NK_STATES)

_DERIVED = (
    *shared.PK_DERIVED_HEAD,
    Derived("rh_iu", "IU", "high-affinity receptor pool",
            "rh_bright_iu_per_cell_ul * bright_pos + rh_fixed_iu", "iu"),
    *shared.receptor_derived("intermediate receptor pool", shared.NK_INT_POOL, "rh_iu * occ_high"),
    *shared.NK_DERIVED_TAIL,
)

#: The IL-2 -> NK model (states, constants, rates, doses, outputs).
IL2NK = shared.il2nk_model(_TITLE, _PARAMS, _CONSTANTS, _STATES, _DERIVED, shared.OUTPUTS)
