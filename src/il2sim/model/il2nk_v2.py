"""Model v2: the IL-2 PK / receptor / NK / T-cell model, declared once (:data:`IL2NK_V2`, table ``parameters_v2.toml``;
chosen with ``--model v2`` / ``load_model_parameters("v2")``; the default model is v1).

The runs it shares with v1 are declared once in :mod:`il2sim.model.il2nk_shared`.
Mechanism and the source of every number: :mod:`il2sim.model.pk` (PK), :mod:`il2sim.model.
receptors` (occupancy, receptor pools, internalisation), :mod:`il2sim.model.nk` (marrow ->
CD56bright -> CD56dim), :mod:`il2sim.model.tcells` (Tregs with CD25 per cell and a pSTAT5-like
signal, Tconv, CD8) and ``parameters_v2.toml``.  Changes from v1 (:mod:`il2sim.model.il2nk`):
the calibrated non-NK receptor pool (``receptor_pool_scale``) is gone; every receptor pool is a
blood count x blood volume x a body/blood factor x measured sites per cell; s.c./i.m. doses
meet a saturable pre-systemic loss in the first depot (injection site / lymphatics; Michaelis-
Menten, so bioavailability rises with dose), the one mechanism that lets the same parameter set
hold the i.v. levels (Konrad 1990, Caligiuri 1993) and the seed's < 10 pM after s.c. doses.
Amounts are IU, concentrations IU/ml inside the solver (pM at the output), counts cells/ul,
time days.

Mass balance: depots + central + peripheral + not absorbed (pool) + renal, receptor and
pre-systemic eliminations (sinks) = total amount dosed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from il2sim.model import il2nk_shared as shared
from il2sim.model import receptors, tcells
from il2sim.model.declaration import Constant, Derived, Output, Param, State

__all__ = ["IL2NK_V2", "V2_TABLE"]

_TITLE = "il2sim v2: IL-2 PK, receptors from cell counts, NK cells, Tregs, CD4 and CD8 T cells"

#: The v2 parameter table (its ``model = "v2"`` names this declaration).
V2_TABLE = Path(__file__).resolve().parent / "parameters_v2.toml"

_PARAMS = (
    *shared.PK_PARAMS,
    *shared.NK_POOL_PARAMS,
    *shared.NK_PARAMS,
    Param("sc_loss_vmax_iu_per_day", "IU/day"),
    Param("sc_loss_km_iu", "IU"),
    *tcells.PARAMS,
)

_CONSTANTS = (
    *shared.PK_CONSTANTS,
    shared.RH_BRIGHT_CONSTANT,
    *shared.NK_RECEPTOR_CONSTANTS,
    *shared.NK_CONSTANTS,
    Constant("loss_vmax_iu_per_day", "IU/day", "capacity of the pre-systemic (injection-site / "
             "lymphatic) loss", shared.p_rule("sc_loss_vmax_iu_per_day"), "iu_per_day"),
    Constant("loss_km_iu", "IU", "depot amount at half the pre-systemic loss capacity",
             shared.p_rule("sc_loss_km_iu"), "iu"),
    Constant("sites_per_iu", "sites/IU", "receptor sites per IU-equivalent",
             lambda e: np.full(e.n, 1.0 / float(receptors.sites_to_iu_per_cell_ul(1.0, 1e-3, 1.0)))),
    *tcells.CONSTANTS,
    shared.PM_CONSTANT,
)

_STATES = (
    shared.depot1_state("-ka_per_day * depot1_iu - loss_iu_per_day"),
    *shared.PK_STATES,
    State("elim_site_iu", "IU", "cumulative pre-systemic (injection-site / lymphatic) loss",
          "loss_iu_per_day", 0.0, "iu", sink=True, control=False),
    *shared.NK_STATES,
    *tcells.STATES,
)

_DERIVED = (
    *shared.PK_DERIVED_HEAD,
    *tcells.DERIVED,
    Derived("rh_nk_iu", "IU", "high-affinity receptors on CD56bright NK (body)",
            "rh_bright_iu_per_cell_ul * bright_pos", "iu"),
    Derived("rh_treg_iu", "IU", "high-affinity receptors on Tregs (body)",
            "rh_treg_iu_per_cell_ul * treg_pos", "iu"),
    *shared.receptor_derived(
        "intermediate receptor pool (NK, Tconv, CD8; body)",
        shared.NK_INT_POOL + " + ri_tconv_iu_per_cell_ul * tconv_pos + ri_cd8_iu_per_cell_ul * cd8_pos",
        "rh_nk_iu * occ_high + rh_treg_iu * occ_treg",
    ),
    Derived("loss_iu_per_day", "IU/day", "saturable pre-systemic loss from the first depot",
            "loss_vmax_iu_per_day * pos(depot1_iu) / (loss_km_iu + pos(depot1_iu))", "iu_per_day"),
    *shared.NK_DERIVED_TAIL,
)

_OUTPUTS = (
    *shared.OUTPUTS,
    *tcells.OUTPUTS,
    Output("receptors_high_sites", "sites", "whole-body high-affinity IL-2R (CD56bright + Treg)",
           "(rh_nk_iu + rh_treg_iu) * sites_per_iu"),
    Output("receptors_int_sites", "sites", "whole-body intermediate-affinity IL-2R", "ri_iu * sites_per_iu"),
)

#: Model v2: IL-2 PK with pre-systemic loss, receptors from cells, NK, Tregs, Tconv, CD8.
IL2NK_V2 = shared.il2nk_model(_TITLE, _PARAMS, _CONSTANTS, _STATES, _DERIVED, _OUTPUTS)
