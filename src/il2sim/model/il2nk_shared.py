"""The pieces model v1 (:mod:`il2sim.model.il2nk`) and model v2 (:mod:`il2sim.model.il2nk_v2`)
share, declared once: the two-compartment PK with its s.c./i.m. depots, the NK receptor pools
and occupancies, the delayed signal, the marrow -> CD56bright -> CD56dim NK chain, the common
outputs and dose targets.

Each model assembles its declaration from these runs and adds its own rows in between (v1: the
calibrated non-NK high-affinity pool; v2: the pre-systemic loss, Tregs, Tconv, CD8 and receptor
pools from cell counts).  The order of every row is the order of the kernel's state vector and
``theta``: the generated source of both kernels depends on it (:func:`il2sim.simulate.codegen.
kernel_hash`), so a run must not be reordered or renamed without a recompile.

Mechanism and the source of every number: :mod:`il2sim.model.pk`, :mod:`il2sim.model.receptors`,
:mod:`il2sim.model.nk` and the parameter tables.  Amounts are IU, concentrations IU/ml inside
the solver (pM at the output, :mod:`il2sim.units`), counts cells/ul, time days.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from il2sim import units
from il2sim.model import nk, pk, receptors
from il2sim.model.declaration import (
    Constant,
    Deposit,
    Derived,
    DoseTarget,
    Env,
    Extremum,
    Model,
    Output,
    Param,
    State,
)
from il2sim.regimen.events import Route

__all__ = [
    "DOSES", "NK_CONSTANTS", "NK_DERIVED_TAIL", "NK_INT_POOL", "NK_PARAMS", "NK_POOL_PARAMS",
    "NK_RECEPTOR_CONSTANTS", "NK_STATES", "OUTPUTS", "PK_CONSTANTS", "PK_DERIVED_HEAD",
    "PK_PARAMS", "PK_STATES", "PM_CONSTANT", "RH_BRIGHT_CONSTANT", "depot1_state", "il2nk_model",
    "p_rule", "receptor_derived",
]


def _vc(e: Env) -> Any:
    return pk.volumes_ml(e.p("vc_l_per_m2"), e.p("vp_l_per_m2"), e.cov("bsa_m2"))[0]


def _vp(e: Env) -> Any:
    return pk.volumes_ml(e.p("vc_l_per_m2"), e.p("vp_l_per_m2"), e.cov("bsa_m2"))[1]


def _micro(e: Env, k: int) -> Any:
    return pk.micro_constants_per_day(
        e.p("cl_renal_ml_per_min"), e.p("q_ml_per_min"), e.c("vc_ml"), e.c("vp_ml")
    )[k]


def _blood_ml(e: Env) -> Any:
    return e.p("blood_volume_ml_per_kg") * e.cov("weight_kg")


def _nk_sites(e: Env, name: str) -> Any:
    return receptors.sites_to_iu_per_cell_ul(e.p(name), e.c("blood_ml"), e.p("nk_body_per_blood"))


def _baseline(e: Env, k: int) -> Any:
    return nk.baseline_rates(
        e.cov("bright0_per_ul"), e.cov("dim0_per_ul"), e.p("nk_loss_per_day"),
        e.p("bright_death_per_day"),
    )[k]


def p_rule(name: str) -> Any:
    """The rule "individual value of table parameter ``name``"."""
    return lambda e: e.p(name)


# --- parameters (table rows read) ----------------------------------------------------------

#: PK, affinities and NK receptor sites (the first rows of both tables' reads).
PK_PARAMS = (
    Param("vc_l_per_m2", "l/m2"),
    Param("cl_renal_ml_per_min", "ml/min"),
    Param("q_ml_per_min", "ml/min"),
    Param("vp_l_per_m2", "l/m2"),
    Param("f_sc", "fraction"),
    Param("f_im", "fraction"),
    Param("ka_per_day", "1/day"),
    Param("kint_per_day", "1/day"),
    Param("kd_high_pm", "pM"),
    Param("kd_int_pm", "pM"),
    Param("sites_high_bright", "sites/cell"),
    Param("sites_int_bright", "sites/cell"),
    Param("sites_int_dim", "sites/cell"),
)

#: Blood volume and the NK body/blood factor (the receptor-pool scale of NK cells).
NK_POOL_PARAMS = (
    Param("blood_volume_ml_per_kg", "ml/kg"),
    Param("nk_body_per_blood", "body NK per blood NK"),
)

#: NK kinetics and the IL-2 effects on them.
NK_PARAMS = (
    Param("nk_loss_per_day", "1/day"),
    Param("bright_death_per_day", "1/day"),
    Param("marrow_transit_day", "day"),
    Param("emax_production", "fold at full signal"),
    Param("hill_production", "1"),
    Param("signal_ke0_per_day", "1/day"),
    Param("homeostasis_gamma", "1"),
    Param("emax_survival", "1"),
)

# --- individual constants (theta order) ------------------------------------------------------

#: PK constants: absorption, bioavailability, volumes, micro rate constants, internalisation,
#: blood volume.
PK_CONSTANTS = (
    Constant("ka_per_day", "1/day", "absorption rate of both depots", p_rule("ka_per_day"), "per_day"),
    Constant("f_sc", "fraction", "s.c. bioavailability", lambda e: np.clip(e.p("f_sc"), 0.0, 1.0)),
    Constant("f_im", "fraction", "i.m. bioavailability", lambda e: np.clip(e.p("f_im"), 0.0, 1.0)),
    Constant("vc_ml", "ml", "central volume", _vc, "ml"),
    Constant("vp_ml", "ml", "peripheral volume", _vp, "ml"),
    Constant("k10_per_day", "1/day", "renal elimination rate", lambda e: _micro(e, 0), "per_day"),
    Constant("k12_per_day", "1/day", "central -> peripheral", lambda e: _micro(e, 1), "per_day"),
    Constant("k21_per_day", "1/day", "peripheral -> central", lambda e: _micro(e, 2), "per_day"),
    Constant("kint_per_day", "1/day", "internalisation of bound IL-2", p_rule("kint_per_day"),
             "per_day"),
    Constant("blood_ml", "ml", "blood volume", _blood_ml, "ml"),
)

#: The high-affinity pool per CD56bright count.
RH_BRIGHT_CONSTANT = Constant(
    "rh_bright_iu_per_cell_ul", "IU per cell/ul", "high-affinity pool per CD56bright count",
    lambda e: _nk_sites(e, "sites_high_bright"), "iu_ul_per_cell",
)

#: The intermediate pools per NK count and both Kd's.
NK_RECEPTOR_CONSTANTS = (
    Constant(
        "ri_bright_iu_per_cell_ul", "IU per cell/ul", "intermediate pool per CD56bright count",
        lambda e: _nk_sites(e, "sites_int_bright"), "iu_ul_per_cell",
    ),
    Constant(
        "ri_dim_iu_per_cell_ul", "IU per cell/ul", "intermediate pool per CD56dim count",
        lambda e: _nk_sites(e, "sites_int_dim"), "iu_ul_per_cell",
    ),
    Constant(
        "kd_high_iu_per_ml", "IU/ml", "high-affinity Kd",
        lambda e: units.pm_to_iu_per_ml(e.p("kd_high_pm")), "iu_per_ml",
    ),
    Constant(
        "kd_int_iu_per_ml", "IU/ml", "intermediate-affinity Kd",
        lambda e: units.pm_to_iu_per_ml(e.p("kd_int_pm")), "iu_per_ml",
    ),
)

#: Signal, marrow transit, NK turnover and the IL-2 effects.
NK_CONSTANTS = (
    Constant("ke0_per_day", "1/day", "signal rate", p_rule("signal_ke0_per_day"), "per_day"),
    Constant(
        "ktr_per_day", "1/day", "marrow transit rate",
        lambda e: nk.N_TRANSIT / e.p("marrow_transit_day"), "per_day",
    ),
    Constant(
        "i0_per_ul_per_day", "cells/ul/day", "baseline marrow production",
        lambda e: _baseline(e, 1), "cells_per_ul_per_day",
    ),
    Constant("kmat_per_day", "1/day", "CD56bright -> CD56dim", lambda e: _baseline(e, 0), "per_day"),
    Constant("kdb_per_day", "1/day", "CD56bright death", p_rule("bright_death_per_day"), "per_day"),
    Constant("kdd_per_day", "1/day", "CD56dim loss at baseline", p_rule("nk_loss_per_day"), "per_day"),
    Constant("emax_production", "1", "production effect at full signal", p_rule("emax_production")),
    Constant("hill_production", "1", "Hill exponent of production", p_rule("hill_production")),
    Constant("homeostasis_gamma", "1", "homeostatic exponent", p_rule("homeostasis_gamma")),
    Constant("n0_per_ul", "cells/ul", "baseline total NK", lambda e: e.cov("nk0_per_ul"),
             "cells_per_ul"),
    Constant("emax_survival", "1", "survival effect of occ_int", p_rule("emax_survival")),
)

#: The pM-per-IU/ml conversion (the last constant of both models).
PM_CONSTANT = Constant(
    "pm_per_iu_per_ml", "pM per IU/ml", "concentration unit conversion (seed convention)",
    lambda e: np.full(e.n, units.pm_per_iu_per_ml()),
)

# --- states (state-vector order) ---------------------------------------------------------


def depot1_state(rate: str = "-ka_per_day * depot1_iu") -> State:
    """The first s.c./i.m. depot with its rate of change (v2 adds a pre-systemic loss)."""
    return State("depot1_iu", "IU", "first s.c./i.m. depot", rate, 0.0, "iu", pool=True,
                 scale_floor=1.0)


#: Transit depot, central and peripheral compartments, the renal and receptor sinks and the
#: non-bioavailable part of depot doses (the states after ``depot1_iu``).
PK_STATES = (
    State("depot2_iu", "IU", "second (transit) depot", "ka_per_day * depot1_iu - absorb_iu_per_day",
          0.0, "iu", pool=True, scale_floor=1.0),
    State(
        "central_iu", "IU", "central (plasma) compartment",
        f"absorb_iu_per_day + {'infusion_rate_iu_per_day'} + k21_per_day * periph_iu"
        " - k12_per_day * ac_iu - renal_iu_per_day - sink_iu_per_day",
        0.0, "iu", pool=True, scale_floor=1.0,
    ),
    State("periph_iu", "IU", "peripheral compartment", "k12_per_day * ac_iu - k21_per_day * periph_iu",
          0.0, "iu", pool=True, scale_floor=1.0),
    State("elim_renal_iu", "IU", "cumulative linear (renal) elimination", "renal_iu_per_day", 0.0,
          "iu", sink=True, control=False),
    State("elim_rec_iu", "IU", "cumulative receptor-mediated elimination", "sink_iu_per_day", 0.0,
          "iu", sink=True, control=False),
    State("not_abs_iu", "IU", "cumulative non-bioavailable part of depot doses", "0", 0.0, "iu",
          pool=True, control=False),
)


def _transit_states() -> tuple[State, ...]:
    out = []
    for j in range(1, nk.N_TRANSIT + 1):
        rate = (
            "i0_per_ul_per_day * (1 + effect) - ktr_per_day * prog1_per_ul"
            if j == 1
            else f"ktr_per_day * (prog{j - 1}_per_ul - prog{j}_per_ul)"
        )
        out.append(
            State(
                f"prog{j}_per_ul", "cells/ul", f"marrow NK progenitor transit compartment {j}",
                rate, lambda e: e.c("i0_per_ul_per_day") / e.c("ktr_per_day"),
                "cells_per_ul", scale_floor=1e-3,
            )
        )
    return tuple(out)


_LAST = f"prog{nk.N_TRANSIT}_per_ul"

#: AUC, the delayed signal, the marrow transit chain and the two blood NK subsets.
NK_STATES = (
    State("auc_iu_d_per_ml", "IU/ml*day", "cumulative AUC of the central concentration",
          "conc_iu_per_ml", 0.0, "iu_day_per_ml", scale_floor=1e-3),
    State("signal", "1", "delayed high-affinity occupancy signal (0-1)",
          "ke0_per_day * (occ_high - pos(signal))", 0.0, "dimensionless", scale_floor=1e-4),
    *_transit_states(),
    State("bright_per_ul", "cells/ul", "CD56bright NK in blood",
          f"ktr_per_day * {_LAST} - (kmat_per_day + kdb_per_day) * bright_pos",
          lambda e: e.cov("bright0_per_ul"), "cells_per_ul", scale_floor=1e-3),
    State("dim_per_ul", "cells/ul", "CD56dim NK in blood",
          "kmat_per_day * bright_pos - kdd_per_day * homeo * dim_pos / (1 + emax_survival * occ_int)",
          lambda e: e.cov("dim0_per_ul"), "cells_per_ul", scale_floor=1e-3),
)

# --- derived quantities -----------------------------------------------------------------------

#: Central amount and concentration, both occupancies, the clipped NK counts.
PK_DERIVED_HEAD = (
    Derived("ac_iu", "IU", "central amount, clipped at 0", "pos(central_iu)", "iu"),
    Derived("conc_iu_per_ml", "IU/ml", "serum IL-2", "ac_iu / vc_ml", "iu_per_ml"),
    Derived("occ_high", "1", "high-affinity occupancy", "occupancy(conc_iu_per_ml, kd_high_iu_per_ml)"),
    Derived("occ_int", "1", "intermediate occupancy", "occupancy(conc_iu_per_ml, kd_int_iu_per_ml)"),
    Derived("bright_pos", "cells/ul", "CD56bright, clipped", "pos(bright_per_ul)", "cells_per_ul"),
    Derived("dim_pos", "cells/ul", "CD56dim, clipped", "pos(dim_per_ul)", "cells_per_ul"),
)

#: The intermediate-affinity pool on NK cells (both models; v2 adds T cells to it).
NK_INT_POOL = "ri_bright_iu_per_cell_ul * bright_pos + ri_dim_iu_per_cell_ul * dim_pos"


def receptor_derived(
    ri_meaning: str, ri_expr: str, high_occupied: str
) -> tuple[Derived, Derived]:
    """The intermediate pool ``ri_iu`` (``ri_expr``, IU) and the receptor-mediated elimination
    ``sink_iu_per_day = kint_per_day * (high_occupied + ri_iu * occ_int)`` (IU/day), where
    ``high_occupied`` is the occupied high-affinity amount of the model (IU)."""
    return (
        Derived("ri_iu", "IU", ri_meaning, ri_expr, "iu"),
        Derived("sink_iu_per_day", "IU/day", "receptor-mediated elimination",
                f"kint_per_day * ({high_occupied} + ri_iu * occ_int)", "iu_per_day"),
    )


#: Renal elimination, absorption, the production effect, homeostasis and the pM concentration.
NK_DERIVED_TAIL = (
    Derived("renal_iu_per_day", "IU/day", "renal elimination", "k10_per_day * ac_iu", "iu_per_day"),
    Derived("absorb_iu_per_day", "IU/day", "absorption into central", "ka_per_day * depot2_iu",
            "iu_per_day"),
    Derived("effect", "1", "production effect", "emax_production * pos(signal)^hill_production"),
    Derived("nk_total_per_ul", "cells/ul", "total NK", "bright_pos + dim_pos", "cells_per_ul"),
    Derived("homeo", "1", "homeostatic factor", "(nk_total_per_ul / n0_per_ul)^homeostasis_gamma"),
    Derived("conc_pm", "pM", "serum IL-2 in pM", "conc_iu_per_ml * pm_per_iu_per_ml", "pm"),
)

# --- outputs, doses, the model ------------------------------------------------------------------

#: Serum IL-2, the NK counts and both occupancies.
OUTPUTS = (
    Output("il2_pm", "pM", "serum IL-2", "central_iu / vc_ml * pm_per_iu_per_ml"),
    Output("nk_per_ul", "cells/ul", "total CD3-CD56+ NK", "bright_per_ul + dim_per_ul"),
    Output("bright_per_ul", "cells/ul", "CD56bright NK", "bright_per_ul"),
    Output("dim_per_ul", "cells/ul", "CD56dim NK", "dim_per_ul"),
    Output("occ_high", "fraction", "high-affinity receptor occupancy", "occ_high"),
    Output("occ_int", "fraction", "intermediate receptor occupancy", "occ_int"),
)

#: s.c./i.m. into the first depot (the rest to ``not_abs_iu``), i.v. bolus into central,
#: infusions as the input rate.
DOSES = (
    DoseTarget(Route.SC, (Deposit("depot1_iu", "f_sc"), Deposit("not_abs_iu", "1 - f_sc"))),
    DoseTarget(Route.IM, (Deposit("depot1_iu", "f_im"), Deposit("not_abs_iu", "1 - f_im"))),
    DoseTarget(Route.IV_BOLUS, (Deposit("central_iu"),)),
    DoseTarget(Route.IV_INFUSION, infusion=True),
)


def il2nk_model(
    title: str,
    params: tuple[Param, ...],
    constants: tuple[Constant, ...],
    states: tuple[State, ...],
    derived: tuple[Derived, ...],
    outputs: tuple[Output, ...],
) -> Model:
    """An IL-2 model named ``il2nk`` with the shared doses and solver hints (stiff central
    compartment, tracked serum concentration and its AUC, the occupancy macro)."""
    return Model(
        name="il2nk",
        title=title,
        params=params,
        constants=constants,
        states=states,
        derived=derived,
        doses=DOSES,
        outputs=outputs,
        stiff="central_iu",
        extremum=Extremum("central_iu", "1 / vc_ml", "auc_iu_d_per_ml", "pm_per_iu_per_ml"),
        functions={"occupancy": receptors.OCCUPANCY},
        sbml_units={},
    )
