"""T cells of model v2: CD4+ regulatory T cells (Tregs), CD4+ conventional T cells (Tconv) and
CD8+ T cells, declared as states of :data:`il2sim.model.il2nk_v2.IL2NK_V2`.

Every number is a row of ``parameters.toml`` with its source; this module holds the structure.

* **Tregs** (CD4+ CD25hi FOXP3+) carry IL-2R alpha (CD25) per cell as a state ``cd25_treg``
  (sites/cell), baseline 3,476 (Meyer-lab quantitative flow); the high-affinity receptors per
  Treg are limited by IL-2R beta (657 per cell, same source). CD25 raises the apparent affinity
  of the Treg's receptors: alpha captures IL-2 and hands it to beta-gamma, so the apparent Kd is
  taken as ``Kd_high / fold`` with ``fold = cd25_treg / cd25_0`` (assumption; bounded occupancy
  ``fold C / (Kd + fold C)``).  A fast pSTAT5-like signal ``pstat5_treg`` follows that occupancy
  within hours (rate ``pstat5_k_per_day``; pSTAT5 peaks by 30 min and relaxes over hours in
  the Meyer-lab time courses); it induces CD25 (``cd25_0 (1 + emax_cd25 * pstat5)``, relaxing at
  ``cd25_k_per_day``, so CD25 decays without IL-2) and drives proliferation:
  ``d Treg/dt = k_T Treg (1 + emax_treg pstat5 - Treg/Treg0)`` (baseline turnover = the Treg
  doubling time of 8 days, Vukmanovic-Stejic 2006; the logistic, density-dependent loss
  returns the count to baseline once IL-2 stops: an assumption, exponent 1).
* **Tconv and CD8** carry beta-gamma (intermediate affinity) receptors only: their pSTAT5
  half-maximal IL-2 is 0.5-2.6 nM (Meyer-lab data), like NK, not the 12-49 pM of Tregs, and
  resting T cells express no high-affinity receptor (Caligiuri 1990).  The same logistic form
  with the intermediate occupancy: ``d X/dt = k_X X (1 + emax_X occ_int - X/X0)``.
  At low doses (pM IL-2) ``occ_int`` is ~1e-3 and they stay at baseline (Koreth 2016); at high
  doses (nM) they expand.
* Baselines: CD4+ count and the Treg fraction of CD4 per patient (log-normal rows), Tconv =
  CD4 (1 - fraction), CD8 per patient.  Counts are blood counts (cells/ul); the body pools
  (receptor sink) are blood count x blood volume x ``tcell_body_per_blood`` (about 2% of the
  body's lymphocytes circulate: Westermann & Pabst 1992).
"""

from __future__ import annotations

from typing import Any

from il2sim.model import receptors
from il2sim.model.declaration import Constant, Derived, Env, Output, Param, State

PARAMS = (
    Param("cd4_0_per_ul", "cells/ul"),
    Param("treg_fraction_cd4", "fraction"),
    Param("cd8_0_per_ul", "cells/ul"),
    Param("tcell_body_per_blood", "body T cells per blood T cell"),
    Param("sites_alpha_treg", "sites/cell"),
    Param("sites_beta_treg", "sites/cell"),
    Param("sites_int_tconv", "sites/cell"),
    Param("sites_int_cd8", "sites/cell"),
    Param("treg_turnover_per_day", "1/day"),
    Param("emax_treg", "1"),
    Param("pstat5_k_per_day", "1/day"),
    Param("cd25_k_per_day", "1/day"),
    Param("emax_cd25", "1"),
    Param("tconv_turnover_per_day", "1/day"),
    Param("emax_tconv", "1"),
    Param("cd8_turnover_per_day", "1/day"),
    Param("emax_cd8", "1"),
)


def _p(name: str) -> Any:
    return lambda e: e.p(name)


def _t_sites(e: Env, name: str) -> Any:
    return receptors.sites_to_iu_per_cell_ul(e.p(name), e.c("blood_ml"), e.p("tcell_body_per_blood"))


CONSTANTS = (
    Constant("treg0_per_ul", "cells/ul", "baseline blood Tregs",
             lambda e: e.p("cd4_0_per_ul") * e.p("treg_fraction_cd4"), "cells_per_ul"),
    Constant("tconv0_per_ul", "cells/ul", "baseline blood conventional CD4 T cells",
             lambda e: e.p("cd4_0_per_ul") * (1.0 - e.p("treg_fraction_cd4")), "cells_per_ul"),
    Constant("cd8_0_per_ul", "cells/ul", "baseline blood CD8 T cells", _p("cd8_0_per_ul"),
             "cells_per_ul"),
    Constant("cd25_0_sites", "sites/cell", "baseline CD25 per Treg", _p("sites_alpha_treg")),
    Constant("rh_treg_iu_per_cell_ul", "IU per cell/ul", "high-affinity pool per Treg count",
             lambda e: _t_sites(e, "sites_beta_treg"), "iu_ul_per_cell"),
    Constant("ri_tconv_iu_per_cell_ul", "IU per cell/ul", "intermediate pool per Tconv count",
             lambda e: _t_sites(e, "sites_int_tconv"), "iu_ul_per_cell"),
    Constant("ri_cd8_iu_per_cell_ul", "IU per cell/ul", "intermediate pool per CD8 count",
             lambda e: _t_sites(e, "sites_int_cd8"), "iu_ul_per_cell"),
    Constant("kt_per_day", "1/day", "Treg turnover", _p("treg_turnover_per_day"), "per_day"),
    Constant("emax_treg", "1", "Treg proliferation effect at full signal", _p("emax_treg")),
    Constant("kp5_per_day", "1/day", "pSTAT5-like signal rate", _p("pstat5_k_per_day"), "per_day"),
    Constant("kcd25_per_day", "1/day", "CD25 relaxation rate", _p("cd25_k_per_day"), "per_day"),
    Constant("emax_cd25", "1", "CD25 induction at full signal", _p("emax_cd25")),
    Constant("kc_per_day", "1/day", "Tconv turnover", _p("tconv_turnover_per_day"), "per_day"),
    Constant("emax_tconv", "1", "Tconv effect of intermediate occupancy", _p("emax_tconv")),
    Constant("k8_per_day", "1/day", "CD8 turnover", _p("cd8_turnover_per_day"), "per_day"),
    Constant("emax_cd8", "1", "CD8 effect of intermediate occupancy", _p("emax_cd8")),
)

STATES = (
    State("pstat5_treg", "1", "Treg pSTAT5-like signal (fraction of maximal)",
          "kp5_per_day * (occ_treg - pstat5_treg)", 0.0, "dimensionless", scale_floor=1e-4),
    State("cd25_treg", "sites/cell", "IL-2R alpha (CD25) per Treg",
          "kcd25_per_day * (cd25_0_sites * (1 + emax_cd25 * pos(pstat5_treg)) - cd25_treg)",
          lambda e: e.c("cd25_0_sites"), "dimensionless", scale_floor=1.0),
    State("treg_per_ul", "cells/ul", "CD4+ CD25hi FOXP3+ regulatory T cells in blood",
          "kt_per_day * treg_pos * (1 + emax_treg * pos(pstat5_treg) - homeo_treg)",
          lambda e: e.c("treg0_per_ul"), "cells_per_ul", scale_floor=1e-3),
    State("tconv_per_ul", "cells/ul", "CD4+ conventional T cells in blood",
          "kc_per_day * tconv_pos * (1 + emax_tconv * occ_int - homeo_tconv)",
          lambda e: e.c("tconv0_per_ul"), "cells_per_ul", scale_floor=1e-2),
    State("cd8_per_ul", "cells/ul", "CD8+ T cells in blood",
          "k8_per_day * cd8_pos * (1 + emax_cd8 * occ_int - homeo_cd8)",
          lambda e: e.c("cd8_0_per_ul"), "cells_per_ul", scale_floor=1e-2),
)

DERIVED = (
    Derived("treg_pos", "cells/ul", "Tregs, clipped", "pos(treg_per_ul)", "cells_per_ul"),
    Derived("tconv_pos", "cells/ul", "Tconv, clipped", "pos(tconv_per_ul)", "cells_per_ul"),
    Derived("cd8_pos", "cells/ul", "CD8, clipped", "pos(cd8_per_ul)", "cells_per_ul"),
    Derived("cd25_fold", "1", "CD25 per Treg / baseline", "pos(cd25_treg) / cd25_0_sites"),
    Derived("occ_treg", "1", "Treg high-affinity occupancy (apparent Kd / CD25 fold)",
            "occupancy(conc_iu_per_ml * cd25_fold, kd_high_iu_per_ml)"),
    Derived("homeo_treg", "1", "Treg homeostatic (logistic) factor", "treg_pos / treg0_per_ul"),
    Derived("homeo_tconv", "1", "Tconv homeostatic (logistic) factor", "tconv_pos / tconv0_per_ul"),
    Derived("homeo_cd8", "1", "CD8 homeostatic (logistic) factor", "cd8_pos / cd8_0_per_ul"),
)

OUTPUTS = (
    Output("treg_per_ul", "cells/ul", "CD4+ CD25hi FOXP3+ Tregs", "treg_per_ul"),
    Output("tconv_per_ul", "cells/ul", "CD4+ conventional T cells", "tconv_per_ul"),
    Output("cd8_per_ul", "cells/ul", "CD8+ T cells", "cd8_per_ul"),
    Output("cd25_per_treg", "sites/cell", "IL-2R alpha (CD25) per Treg", "cd25_treg"),
    Output("pstat5_treg", "fraction", "Treg pSTAT5-like signal", "pstat5_treg"),
)
