"""Signatures of the model hooks the integrator template calls (never executed).

:mod:`il2sim.simulate.codegen` generates these functions from a model declaration and splices
them in place of the import of this module in :mod:`il2sim.simulate._etd_template`; this stub
only lets linters and type checkers read the template.  Shapes: ``y``/``out``/``lam``/``v``
(N_STATES,), ``th`` (N_THETA,), ``pc`` (N_POW, 5), ``ref`` (N_POW, 3), ``o`` (N_OUT,),
``jac`` (N_STATES, N_STATES).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

N_STATES = 1
N_THETA = 1
N_OUT = 1
N_POW = 0
STIFF = 0
EXT_STATE = 0
AUC_STATE = 0
POOL: IntArray = np.zeros(0, dtype=np.int64)
SINKS: IntArray = np.zeros(0, dtype=np.int64)
COUPLED: IntArray = np.zeros(0, dtype=np.int64)
CONTROL: IntArray = np.zeros(0, dtype=np.int64)
N_IN = 0
N_MU = 1
IN_MU: IntArray = np.zeros(0, dtype=np.int64)
IN_POW: IntArray = np.zeros(0, dtype=np.int64)


def _unused() -> NotImplementedError:
    return NotImplementedError("model hook stub: use il2sim.simulate.codegen")


def model_rhs(
    y: FloatArray, th: FloatArray, rate: float, out: FloatArray, pc: FloatArray, ref: FloatArray
) -> float:
    """dy/dt into ``out`` (powers from the cached series); returns d f_stiff / d y_stiff."""
    raise _unused()


def model_rhs_exact(y: FloatArray, th: FloatArray, rate: float, out: FloatArray) -> float:
    """dy/dt into ``out`` with exact powers; returns d f_stiff / d y_stiff."""
    raise _unused()


def model_column(y: FloatArray, th: FloatArray, v: FloatArray) -> None:
    """d f_i / d y_stiff into ``v[i]`` for the coupled rows."""
    raise _unused()


def model_const_diag(th: FloatArray, lam: FloatArray) -> None:
    """Constant diagonal Jacobian entries (0 where state-dependent or for the stiff state)."""
    raise _unused()


def model_dose(y: FloatArray, th: FloatArray, route: int, amount: float) -> None:
    """Apply a bolus dose of ``amount`` given by route code ``route``."""
    raise _unused()


def model_record(y: FloatArray, th: FloatArray, o: FloatArray) -> None:
    """The named outputs at state ``y`` into ``o``."""
    raise _unused()


def model_ext_scale(th: FloatArray) -> float:
    """Scale of the tracked concentration: conc = y[EXT_STATE] * scale."""
    raise _unused()


def model_pow_setup(th: FloatArray, pc: FloatArray) -> None:
    """Binomial-series coefficients of each cached power."""
    raise _unused()


def model_jac(y: FloatArray, th: FloatArray, rate: float, jac: FloatArray) -> None:
    """The full Jacobian d f / d y (exact powers) into ``jac``."""
    raise _unused()


def model_input(y: FloatArray, th: FloatArray) -> float:
    """Input rate into the stiff state from the linear dose-input block, ``b^T y_F``."""
    raise _unused()


def model_input_terms(y: FloatArray, th: FloatArray, mu: FloatArray, a: FloatArray) -> None:
    """The input over a step from ``y``: ``u(s) = sum_k a[k] s^m_k/m_k! exp(mu[IN_MU[k]] s)``
    (``m_k = IN_POW[k]``); rates ``mu`` (N_MU,) and coefficients ``a`` (N_IN,)."""
    raise _unused()
