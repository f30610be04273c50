"""SBML Level 3 export of the IL-2 PK/receptor/NK model for one patient, doses as events.

The equations mirror :func:`il2sim.model.system.rhs` term by term (the same state layout
``S_*`` and individual constants ``T_*``); ``tests/test_io_sbml.py`` checks that the SBML's
rates of change, evaluated by libroadrunner, equal ``rhs`` at random states, and that a
libroadrunner simulation of the exported file matches il2sim's own solver.

Every state is an SBML ``parameter`` governed by a rate rule (no compartments: amounts are IU,
counts cells/ul, as in the solver).  Dosing follows il2sim's solver:

* s.c./i.m.: ``F * amount`` into ``depot1_iu`` and ``(1 - F) * amount`` into ``not_abs_iu``;
* i.v. bolus: ``amount`` into ``central_iu``;
* i.v. infusion: ``infusion_rate_iu_per_day`` rises by ``amount / duration`` at the start and
  falls back at the end.

Units are declared (time in days, amounts in IU -- a dimensionless international unit --,
volumes in ml, counts in cells/ul).  Requires ``python-libsbml`` (optional extra ``sbml``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim import units
from il2sim.errors import InputError, ModelError
from il2sim.model import nk
from il2sim.model import system as sy
from il2sim.regimen.events import Regimen, Route

__all__ = [
    "STATE_IDS",
    "THETA_IDS",
    "SbmlExport",
    "build_sbml",
    "export_sbml",
]

#: SBML ids of the states, in ``il2sim.model.system`` order (index ``S_*``).
STATE_IDS: tuple[str, ...] = (
    "depot1_iu",
    "depot2_iu",
    "central_iu",
    "periph_iu",
    "elim_renal_iu",
    "elim_rec_iu",
    "not_abs_iu",
    "auc_iu_d_per_ml",
    "signal",
    *(f"prog{j + 1}_per_ul" for j in range(nk.N_TRANSIT)),
    "bright_per_ul",
    "dim_per_ul",
)

#: SBML ids and unit ids of the individual constants, in ``theta`` order (index ``T_*``).
THETA_IDS: tuple[tuple[str, str], ...] = (
    ("ka_per_day", "per_day"),
    ("f_sc", "dimensionless"),
    ("f_im", "dimensionless"),
    ("vc_ml", "ml"),
    ("k10_per_day", "per_day"),
    ("k12_per_day", "per_day"),
    ("k21_per_day", "per_day"),
    ("kint_per_day", "per_day"),
    ("rh_bright_iu_per_cell_ul", "iu_ul_per_cell"),
    ("rh_fixed_iu", "iu"),
    ("ri_bright_iu_per_cell_ul", "iu_ul_per_cell"),
    ("ri_dim_iu_per_cell_ul", "iu_ul_per_cell"),
    ("kd_high_iu_per_ml", "iu_per_ml"),
    ("kd_int_iu_per_ml", "iu_per_ml"),
    ("ke0_per_day", "per_day"),
    ("ktr_per_day", "per_day"),
    ("i0_per_ul_per_day", "cells_per_ul_per_day"),
    ("kmat_per_day", "per_day"),
    ("kdb_per_day", "per_day"),
    ("kdd_per_day", "per_day"),
    ("emax_production", "dimensionless"),
    ("hill_production", "dimensionless"),
    ("homeostasis_gamma", "dimensionless"),
    ("n0_per_ul", "cells_per_ul"),
    ("emax_survival", "dimensionless"),
)

#: Unit of each state (SBML unit ids).
_STATE_UNITS: dict[str, str] = {
    "auc_iu_d_per_ml": "iu_day_per_ml",
    "signal": "dimensionless",
    "bright_per_ul": "cells_per_ul",
    "dim_per_ul": "cells_per_ul",
    **{f"prog{j + 1}_per_ul": "cells_per_ul" for j in range(nk.N_TRANSIT)},
}

#: Unit definitions: id -> list of (kind, exponent, scale, multiplier).
_UNITS: dict[str, list[tuple[str, float, int, float]]] = {
    "day": [("second", 1, 0, 86400.0)],
    "per_day": [("second", -1, 0, 86400.0)],
    "iu": [("dimensionless", 1, 0, 1.0)],
    "iu_per_day": [("dimensionless", 1, 0, 1.0), ("second", -1, 0, 86400.0)],
    "ml": [("litre", 1, -3, 1.0)],
    "iu_per_ml": [("dimensionless", 1, 0, 1.0), ("litre", -1, -3, 1.0)],
    "pm": [("mole", 1, -12, 1.0), ("litre", -1, 0, 1.0)],
    "iu_day_per_ml": [("second", 1, 0, 86400.0), ("litre", -1, -3, 1.0)],
    "cells_per_ul": [("item", 1, 0, 1.0), ("litre", -1, -6, 1.0)],
    "cells_per_ul_per_day": [
        ("item", 1, 0, 1.0),
        ("litre", -1, -6, 1.0),
        ("second", -1, 0, 86400.0),
    ],
    "iu_ul_per_cell": [("item", -1, 0, 1.0), ("litre", 1, -6, 1.0)],
    "m2": [("metre", 2, 0, 1.0)],
}


def _pos(x: str) -> str:
    """``max(x, 0)`` as an SBML piecewise (the solver clamps these states at 0)."""
    return f"piecewise({x}, {x} > 0, 0)"


def _equations() -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """(assignment rules id -> (formula, unit), rate rules state id -> formula), mirroring
    :func:`il2sim.model.system.rhs` line by line."""
    n = nk.N_TRANSIT
    assign: dict[str, tuple[str, str]] = {
        "ac_iu": (_pos("central_iu"), "iu"),
        "conc_iu_per_ml": ("ac_iu / vc_ml", "iu_per_ml"),
        "occ_high": ("conc_iu_per_ml / (kd_high_iu_per_ml + conc_iu_per_ml)", "dimensionless"),
        "occ_int": ("conc_iu_per_ml / (kd_int_iu_per_ml + conc_iu_per_ml)", "dimensionless"),
        "bright_pos": (_pos("bright_per_ul"), "cells_per_ul"),
        "dim_pos": (_pos("dim_per_ul"), "cells_per_ul"),
        "rh_iu": ("rh_bright_iu_per_cell_ul * bright_pos + rh_fixed_iu", "iu"),
        "ri_iu": ("ri_bright_iu_per_cell_ul * bright_pos + ri_dim_iu_per_cell_ul * dim_pos", "iu"),
        "sink_iu_per_day": ("kint_per_day * (rh_iu * occ_high + ri_iu * occ_int)", "iu_per_day"),
        "renal_iu_per_day": ("k10_per_day * ac_iu", "iu_per_day"),
        "absorb_iu_per_day": ("ka_per_day * depot2_iu", "iu_per_day"),
        "signal_pos": (_pos("signal"), "dimensionless"),
        "effect": (
            "piecewise(emax_production * signal_pos^hill_production, signal_pos > 0, 0)",
            "dimensionless",
        ),
        "nk_total_per_ul": ("bright_pos + dim_pos", "cells_per_ul"),
        "homeo": ("(nk_total_per_ul / n0_per_ul)^homeostasis_gamma", "dimensionless"),
        "conc_pm": ("conc_iu_per_ml * pm_per_iu_per_ml", "pm"),
    }
    rate: dict[str, str] = {
        "depot1_iu": "-ka_per_day * depot1_iu",
        "depot2_iu": "ka_per_day * depot1_iu - absorb_iu_per_day",
        "central_iu": (
            "absorb_iu_per_day + infusion_rate_iu_per_day + k21_per_day * periph_iu"
            " - k12_per_day * ac_iu - renal_iu_per_day - sink_iu_per_day"
        ),
        "periph_iu": "k12_per_day * ac_iu - k21_per_day * periph_iu",
        "elim_renal_iu": "renal_iu_per_day",
        "elim_rec_iu": "sink_iu_per_day",
        "not_abs_iu": "0",
        "auc_iu_d_per_ml": "conc_iu_per_ml",
        "signal": "ke0_per_day * (occ_high - signal_pos)",
        "prog1_per_ul": "i0_per_ul_per_day * (1 + effect) - ktr_per_day * prog1_per_ul",
    }
    for j in range(1, n):
        rate[f"prog{j + 1}_per_ul"] = f"ktr_per_day * (prog{j}_per_ul - prog{j + 1}_per_ul)"
    rate["bright_per_ul"] = (
        f"ktr_per_day * prog{n}_per_ul - (kmat_per_day + kdb_per_day) * bright_pos"
    )
    rate["dim_per_ul"] = (
        "kmat_per_day * bright_pos - kdd_per_day * homeo * dim_pos / (1 + emax_survival * occ_int)"
    )
    return assign, rate


@dataclass(frozen=True)
class SbmlExport:
    """An exported model: the SBML text and what went into it (for reports and ``--json``)."""

    sbml: str
    n_events: int
    theta: tuple[float, ...]
    y0: tuple[float, ...]
    regimen_spec: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the SBML text)."""
        return {
            "format": "SBML L3V2",
            "n_states": len(self.y0),
            "n_dose_events": self.n_events,
            "parameters": dict(zip((t for t, _ in THETA_IDS), self.theta, strict=True)),
            "initial_state": dict(zip(STATE_IDS, self.y0, strict=True)),
            "regimen": self.regimen_spec,
        }


def _check(status: int, what: str) -> None:
    import libsbml

    if status != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise ModelError(
            f"libsbml failed: {libsbml.OperationReturnValue_toString(status)}", field=what
        )


def _math(formula: str) -> Any:
    import libsbml

    ast = libsbml.parseL3Formula(formula)
    if ast is None:
        raise ModelError(f"cannot parse {formula!r}: {libsbml.getLastParseL3Error()}", field="sbml")
    return ast


def build_sbml(
    regimen: Regimen,
    theta: Sequence[float] | npt.NDArray[np.float64],
    y0: Sequence[float] | npt.NDArray[np.float64],
    bsa_m2: float,
    *,
    model_id: str = "il2sim_il2_nk",
    pm_per_iu_per_ml: float | None = None,
) -> SbmlExport:
    """SBML text for one patient (``theta`` (N_THETA,), ``y0`` (N_STATES,), ``bsa_m2``).

    ``pm_per_iu_per_ml`` (default: the seed convention, :mod:`il2sim.units`) defines the
    ``conc_pm`` output.
    """
    import libsbml

    th = np.asarray(theta, dtype=float).ravel()
    y = np.asarray(y0, dtype=float).ravel()
    if th.size != sy.N_THETA or len(THETA_IDS) != sy.N_THETA:
        raise ModelError(f"needs {sy.N_THETA} values, got {th.size}", field="theta")
    if y.size != sy.N_STATES or len(STATE_IDS) != sy.N_STATES:
        raise ModelError(f"needs {sy.N_STATES} values, got {y.size}", field="y0")
    if not (np.isfinite(th).all() and np.isfinite(y).all()):
        raise ModelError("non-finite value in the patient's parameters", field="theta")
    conv = units.pm_per_iu_per_ml() if pm_per_iu_per_ml is None else float(pm_per_iu_per_ml)

    doc = libsbml.SBMLDocument(3, 2)
    model = doc.createModel()
    _check(model.setId(model_id), "model id")
    model.setName("il2sim: low-dose IL-2 PK, receptor occupancy and NK-cell expansion")
    for attr, uid in (
        ("setTimeUnits", "day"),
        ("setSubstanceUnits", "iu"),
        ("setExtentUnits", "iu"),
        ("setVolumeUnits", "ml"),
    ):
        _check(getattr(model, attr)(uid), attr)
    for uid, parts in _UNITS.items():
        ud = model.createUnitDefinition()
        _check(ud.setId(uid), f"unit {uid}")
        for kind, exp, scale, mult in parts:
            u = ud.createUnit()
            u.setKind(libsbml.UnitKind_forName(kind))
            u.setExponent(float(exp))
            u.setScale(int(scale))
            u.setMultiplier(float(mult))

    def add_param(pid: str, value: float, unit: str, constant: bool) -> None:
        p = model.createParameter()
        _check(p.setId(pid), pid)
        _check(p.setValue(float(value)), pid)
        _check(p.setUnits(unit), pid)
        _check(p.setConstant(constant), pid)

    for (pid, unit), value in zip(THETA_IDS, th, strict=True):
        add_param(pid, value, unit, True)
    add_param("pm_per_iu_per_ml", conv, "dimensionless", True)
    add_param("bsa_m2", bsa_m2, "m2", True)
    add_param("infusion_rate_iu_per_day", 0.0, "iu_per_day", False)
    for sid, value in zip(STATE_IDS, y, strict=True):
        # the initial value is a constant ``<state>_0`` (an initial assignment), so a tool can
        # set a patient's baseline by changing constants only (see the roadrunner benchmark)
        add_param(f"{sid}_0", value, _STATE_UNITS.get(sid, "iu"), True)
        add_param(sid, value, _STATE_UNITS.get(sid, "iu"), False)
        ia = model.createInitialAssignment()
        _check(ia.setSymbol(sid), sid)
        _check(ia.setMath(_math(f"{sid}_0")), sid)

    assign, rate = _equations()
    for pid, (formula, unit) in assign.items():
        add_param(pid, 0.0, unit, False)
        r = model.createAssignmentRule()
        _check(r.setVariable(pid), pid)
        _check(r.setMath(_math(formula)), pid)
    for sid in STATE_IDS:
        r = model.createRateRule()
        _check(r.setVariable(sid), sid)
        _check(r.setMath(_math(rate[sid])), sid)

    # --- dosing events: per-m2 amounts are written as IU/m2 * bsa_m2, so one file serves any
    # patient after changing the parameters (as the roadrunner benchmark does) --------------
    amounts_base = regimen.amounts_iu(1.0)
    n_events = 0

    def add_event(t_day: float, assignments: list[tuple[str, str]], tag: str) -> None:
        nonlocal n_events
        ev = model.createEvent()
        _check(ev.setId(f"dose_{n_events + 1}_{tag}"), "event")
        _check(ev.setUseValuesFromTriggerTime(True), "event")
        trig = ev.createTrigger()
        _check(trig.setInitialValue(False), "trigger")
        _check(trig.setPersistent(True), "trigger")
        _check(trig.setMath(_math(f"time >= {float(t_day)!r}")), "trigger")
        for var, formula in assignments:
            ea = ev.createEventAssignment()
            _check(ea.setVariable(var), var)
            _check(ea.setMath(_math(formula)), var)
        n_events += 1

    for e, amt in zip(regimen.events, amounts_base, strict=True):
        a = f"({float(amt)!r} * bsa_m2)" if e.per_m2 else f"{float(amt)!r}"
        if e.route is Route.SC or e.route is Route.IM:
            f = "f_sc" if e.route is Route.SC else "f_im"
            add_event(
                e.time_day,
                [
                    ("depot1_iu", f"depot1_iu + {f} * {a}"),
                    ("not_abs_iu", f"not_abs_iu + (1 - {f}) * {a}"),
                ],
                e.route.value,
            )
        elif e.route is Route.IV_BOLUS:
            add_event(e.time_day, [("central_iu", f"central_iu + {a}")], "iv_bolus")
        elif e.route is Route.IV_INFUSION:
            r_iu = f"{a} / {float(e.duration_day)!r}"
            add_event(
                e.time_day,
                [("infusion_rate_iu_per_day", f"infusion_rate_iu_per_day + {r_iu}")],
                "infusion_start",
            )
            add_event(
                e.end_day,
                [("infusion_rate_iu_per_day", f"infusion_rate_iu_per_day - {r_iu}")],
                "infusion_end",
            )
        else:  # pragma: no cover - Route is closed
            raise InputError(f"unsupported route {e.route!r}", field="route")

    text = libsbml.writeSBMLToString(doc)
    return SbmlExport(
        sbml=text,
        n_events=n_events,
        theta=tuple(float(v) for v in th),
        y0=tuple(float(v) for v in y),
        regimen_spec=regimen.spec,
    )


def export_sbml(
    regimen: Regimen,
    *,
    patient: int | None = None,
    seed: int = 0,
    parameters: Any = None,
) -> SbmlExport:
    """SBML of the model for one patient on ``regimen``.

    ``patient=None``: the typical patient (every parameter at its typical value, population
    covariates of patient 0 of ``seed``); ``patient=i``: patient ``i`` (0-based) of
    ``Population.sample(i + 1, seed, parameters)``, with their individual parameters.
    """
    from il2sim.model.parameters import load_parameters
    from il2sim.population import Population

    p = parameters if parameters is not None else load_parameters()
    if patient is not None and (isinstance(patient, bool) or int(patient) < 0):
        raise InputError(f"must be >= 0, got {patient!r}", field="patient", value=patient)
    idx = 0 if patient is None else int(patient)
    pop = Population.sample(idx + 1, seed, p).subset([idx])
    use = p.without_variability() if patient is None else p
    theta = sy.build_theta(pop, use)
    y0 = sy.initial_state(pop, theta)
    return build_sbml(regimen, theta[0], y0[0], float(pop.bsa_m2[0]))
