"""The assembled ODE system (PK + receptors + NK) shared by the fast and reference solvers.

State vector (per patient, index constants ``S_*``):

=====  ==============  ==========================================================
index  name            unit / meaning
=====  ==============  ==========================================================
0      depot1_iu       first s.c./i.m. depot, IU
1      depot2_iu       second (transit) depot, IU
2      central_iu      central (plasma) compartment, IU
3      periph_iu       peripheral compartment, IU
4      elim_renal_iu   cumulative linear (renal) elimination, IU
5      elim_rec_iu     cumulative receptor-mediated elimination, IU
6      not_abs_iu      cumulative non-bioavailable part of depot doses, IU
7      auc_iu_d_ml     cumulative AUC of central concentration, IU/ml*day
8      signal          delayed high-affinity occupancy signal, 0-1
9-11   prog1..3        marrow transit compartments, cells/ul-equivalents
12     bright_per_ul   CD56bright NK in blood, cells/ul
13     dim_per_ul      CD56dim NK in blood, cells/ul
=====  ==============  ==========================================================

Mass balance: sum of states 0-6 = total amount dosed (exactly, in exact arithmetic).
Individual constants are packed in ``theta`` (index constants ``T_*``), built by
:func:`build_theta` from a :class:`~il2sim.population.Population` and
:class:`~il2sim.model.parameters.Parameters`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt
from numba import njit

from il2sim import units
from il2sim.model import nk, pk, receptors
from il2sim.model.parameters import Parameters

FloatArray = npt.NDArray[np.float64]


class Patients(Protocol):
    """What the model needs from a virtual population (:class:`il2sim.population.Population`
    satisfies it; the model layer does not import the population layer above it)."""

    @property
    def n(self) -> int: ...
    @property
    def bsa_m2(self) -> FloatArray: ...
    @property
    def weight_kg(self) -> FloatArray: ...
    @property
    def nk0_per_ul(self) -> FloatArray: ...
    @property
    def bright0_per_ul(self) -> FloatArray: ...
    @property
    def dim0_per_ul(self) -> FloatArray: ...
    def param(self, name: str, parameters: Parameters | None = None) -> FloatArray: ...


# --- state layout -------------------------------------------------------------------------
S_DEPOT1, S_DEPOT2, S_CENTRAL, S_PERIPH = 0, 1, 2, 3
S_ELIM_RENAL, S_ELIM_REC, S_NOT_ABS, S_AUC = 4, 5, 6, 7
S_SIGNAL, S_PROG1 = 8, 9
S_BRIGHT = S_PROG1 + nk.N_TRANSIT
S_DIM = S_BRIGHT + 1
N_STATES = S_DIM + 1
#: States whose sum equals the total amount dosed.
MASS_STATES = (S_DEPOT1, S_DEPOT2, S_CENTRAL, S_PERIPH, S_ELIM_RENAL, S_ELIM_REC, S_NOT_ABS)

# --- theta layout ---------------------------------------------------------------------------
T_KA, T_F_SC, T_F_IM, T_VC_ML = 0, 1, 2, 3
T_K10, T_K12, T_K21, T_KINT = 4, 5, 6, 7
T_RH_BRIGHT, T_RH_FIXED, T_RI_BRIGHT, T_RI_DIM = 8, 9, 10, 11
T_KD_HIGH, T_KD_INT = 12, 13
T_KE0, T_KTR, T_I0, T_KMAT, T_KDB, T_KDD = 14, 15, 16, 17, 18, 19
T_EMAX_PROD, T_HILL, T_GAMMA, T_N0, T_EMAX_SURV = 20, 21, 22, 23, 24
N_THETA = 25


def build_theta(pop: Patients, parameters: Parameters) -> FloatArray:
    """Individual constants (P, N_THETA) in solver units (IU, ml, 1/day, IU/ml)."""

    def v(name: str) -> FloatArray:
        return pop.param(name, parameters)

    th = np.zeros((pop.n, N_THETA))
    vc, vp = pk.volumes_ml(v("vc_l_per_m2"), v("vp_l_per_m2"), pop.bsa_m2)
    k10, k12, k21 = pk.micro_constants_per_day(v("cl_renal_ml_per_min"), v("q_ml_per_min"), vc, vp)
    th[:, T_KA] = v("ka_per_day")
    th[:, T_F_SC] = np.clip(v("f_sc"), 0.0, 1.0)
    th[:, T_F_IM] = np.clip(v("f_im"), 0.0, 1.0)
    th[:, T_VC_ML] = vc
    th[:, T_K10], th[:, T_K12], th[:, T_K21] = k10, k12, k21
    th[:, T_KINT] = v("kint_per_day")
    blood_ml = v("blood_volume_ml_per_kg") * pop.weight_kg
    scale = v("nk_body_per_blood")
    th[:, T_RH_BRIGHT] = receptors.sites_to_iu_per_cell_ul(v("sites_high_bright"), blood_ml, scale)
    th[:, T_RH_FIXED] = v("treg_per_ul") * receptors.sites_to_iu_per_cell_ul(
        v("sites_high_treg"), blood_ml, v("receptor_pool_scale")
    )
    th[:, T_RI_BRIGHT] = receptors.sites_to_iu_per_cell_ul(v("sites_int_bright"), blood_ml, scale)
    th[:, T_RI_DIM] = receptors.sites_to_iu_per_cell_ul(v("sites_int_dim"), blood_ml, scale)
    th[:, T_KD_HIGH] = units.pm_to_iu_per_ml(v("kd_high_pm"))
    th[:, T_KD_INT] = units.pm_to_iu_per_ml(v("kd_int_pm"))
    th[:, T_KE0] = v("signal_ke0_per_day")
    th[:, T_KTR] = nk.N_TRANSIT / v("marrow_transit_day")
    kmat, i0 = nk.baseline_rates(
        pop.bright0_per_ul, pop.dim0_per_ul, v("nk_loss_per_day"), v("bright_death_per_day")
    )
    th[:, T_I0] = i0
    th[:, T_KMAT] = kmat
    th[:, T_KDB] = v("bright_death_per_day")
    th[:, T_KDD] = v("nk_loss_per_day")
    th[:, T_EMAX_PROD] = v("emax_production")
    th[:, T_HILL] = v("hill_production")
    th[:, T_GAMMA] = v("homeostasis_gamma")
    th[:, T_N0] = pop.nk0_per_ul
    th[:, T_EMAX_SURV] = v("emax_survival")
    return th


def initial_state(pop: Patients, theta: FloatArray) -> FloatArray:
    """Untreated steady state (P, N_STATES): no drug, NK at the patient's baseline."""
    y0 = np.zeros((pop.n, N_STATES))
    for j in range(nk.N_TRANSIT):
        y0[:, S_PROG1 + j] = theta[:, T_I0] / theta[:, T_KTR]
    y0[:, S_BRIGHT] = pop.bright0_per_ul
    y0[:, S_DIM] = pop.dim0_per_ul
    return y0


@njit(cache=True, error_model="numpy")
def rhs(y: FloatArray, th: FloatArray, rate_iu_per_day: float, out: FloatArray) -> float:
    """Right-hand side dy/dt into ``out``; returns d(central)/d(central) (the diagonal Jacobian
    entry of the stiff central compartment, 1/day, used by the exponential integrator).

    ``rate_iu_per_day``: running i.v. infusion rate."""
    sig = y[S_SIGNAL]
    pw_sig = sig ** th[T_HILL] if sig > 0.0 else 0.0
    pw_total = (nk_total(y) / th[T_N0]) ** th[T_GAMMA]
    return rhs_given_powers(y, th, rate_iu_per_day, out, pw_sig, pw_total, 1.0 / th[T_VC_ML])


@njit(cache=True, inline="always", error_model="numpy")
def nk_total(y: FloatArray) -> float:
    """Total blood NK (negative parts clipped), cells/ul: the base of the homeostasis power."""
    bright = y[S_BRIGHT]
    dim = y[S_DIM]
    if bright < 0.0:
        bright = 0.0
    if dim < 0.0:
        dim = 0.0
    return bright + dim


@njit(cache=True, inline="always", error_model="numpy")
def rhs_given_powers(
    y: FloatArray,
    th: FloatArray,
    rate_iu_per_day: float,
    out: FloatArray,
    pw_sig: float,
    pw_total: float,
    ivc: float,
) -> float:
    """:func:`rhs` with its two powers and the inverse central volume supplied:
    ``pw_sig`` = signal**hill (0 if signal <= 0), ``pw_total`` = (total NK / N0)**gamma
    (:func:`nk_total`), ``ivc`` = 1 / central volume.  The fast solver supplies the powers from
    a short series about a cached point (:mod:`il2sim.simulate.fast`)."""
    ka = th[T_KA]
    ac = y[S_CENTRAL]
    if ac < 0.0:
        ac = 0.0
    conc = ac * ivc
    kdh = th[T_KD_HIGH]
    kdi = th[T_KD_INT]
    # occupancy C/(Kd+C) and its derivative Kd/(Kd+C)^2 (receptors.occupancy, conc >= 0)
    rec_h = 1.0 / (kdh + conc)
    rec_i = 1.0 / (kdi + conc)
    occ_h = conc * rec_h
    occ_i = conc * rec_i
    bright = y[S_BRIGHT]
    dim = y[S_DIM]
    if bright < 0.0:
        bright = 0.0
    if dim < 0.0:
        dim = 0.0
    rh = th[T_RH_BRIGHT] * bright + th[T_RH_FIXED]
    ri = th[T_RI_BRIGHT] * bright + th[T_RI_DIM] * dim
    kint = th[T_KINT]
    sink = kint * (rh * occ_h + ri * occ_i)
    renal = th[T_K10] * ac
    absorb = ka * y[S_DEPOT2]
    out[S_DEPOT1] = -ka * y[S_DEPOT1]
    out[S_DEPOT2] = ka * y[S_DEPOT1] - absorb
    out[S_CENTRAL] = (
        absorb + rate_iu_per_day + th[T_K21] * y[S_PERIPH] - th[T_K12] * ac - renal - sink
    )
    out[S_PERIPH] = th[T_K12] * ac - th[T_K21] * y[S_PERIPH]
    out[S_ELIM_RENAL] = renal
    out[S_ELIM_REC] = sink
    out[S_NOT_ABS] = 0.0
    out[S_AUC] = conc
    sig = y[S_SIGNAL]
    if sig < 0.0:
        sig = 0.0
    out[S_SIGNAL] = th[T_KE0] * (occ_h - sig)
    ktr = th[T_KTR]
    out[S_PROG1] = th[T_I0] * (1.0 + th[T_EMAX_PROD] * pw_sig) - ktr * y[S_PROG1]
    for j in range(1, S_BRIGHT - S_PROG1):
        out[S_PROG1 + j] = ktr * (y[S_PROG1 + j - 1] - y[S_PROG1 + j])
    kmat = th[T_KMAT]
    out[S_BRIGHT] = ktr * y[S_BRIGHT - 1] - (kmat + th[T_KDB]) * bright
    out[S_DIM] = kmat * bright - th[T_KDD] * pw_total * dim / (1.0 + th[T_EMAX_SURV] * occ_i)
    dsink = kint * (rh * kdh * rec_h * rec_h + ri * kdi * rec_i * rec_i) * ivc
    return -(th[T_K12] + th[T_K10] + dsink)


def rhs_py(y: FloatArray, th: FloatArray, rate_iu_per_day: float) -> FloatArray:
    """Convenience wrapper returning a new array (for scipy and tests)."""
    out = np.empty(N_STATES)
    rhs(np.asarray(y, dtype=float), th, float(rate_iu_per_day), out)
    return out
