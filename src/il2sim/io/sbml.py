"""SBML Level 3 export of a declared model (default the IL-2 PK/receptor/NK model) for one
patient, doses as events.

Everything comes from the declaration (:mod:`il2sim.model.declaration`,
:mod:`il2sim.model.il2nk`): the individual constants become constant parameters, the derived
quantities assignment rules, the rates of change rate rules (formulas printed from the same
sympy expressions the solvers are generated from, :mod:`il2sim.model.symbolic`), the dose
targets events.  ``tests/test_io_sbml.py`` checks that libroadrunner's rates of change of the
file equal the reference right-hand side at random states, and that libroadrunner simulations
agree with the reference solver.

Every state is an SBML ``parameter`` governed by a rate rule (no compartments: amounts are IU,
counts cells/ul, as in the solver).  Dosing follows the declaration's dose targets, e.g. for
the IL-2 model:

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

from il2sim.errors import InputError, ModelError
from il2sim.model.declaration import Model
from il2sim.model.il2nk import IL2NK
from il2sim.regimen.events import Regimen

__all__ = [
    "STATE_IDS",
    "THETA_IDS",
    "SbmlExport",
    "build_sbml",
    "export_sbml",
]

#: SBML ids of the IL-2 model's states, in state-vector order.
STATE_IDS: tuple[str, ...] = IL2NK.state_names

#: SBML ids and unit ids of the IL-2 model's individual constants, in ``theta`` order.
THETA_IDS: tuple[tuple[str, str], ...] = tuple((c.name, c.sbml_unit) for c in IL2NK.constants)

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


def _printer() -> Any:
    """sympy printer for SBML L3 infix formulas (``^``, ``piecewise`` for ``pos``)."""
    from sympy.printing.str import StrPrinter

    class _Sbml(StrPrinter):
        def _print_Pow(self, expr: Any, rational: bool = False) -> str:
            b, e = expr.base, expr.exp
            if e == -1:
                return f"1 / ({self._print(b)})"
            return f"({self._print(b)})^({self._print(e)})"

        def _print_pos(self, expr: Any) -> str:
            x = self._print(expr.args[0])
            return f"piecewise({x}, {x} > 0, 0)"

        def _print_Float(self, expr: Any) -> str:
            return repr(float(expr))

        def _print_Rational(self, expr: Any) -> str:
            return f"({expr.p} / {expr.q})"

        def _print_Min(self, expr: Any) -> str:
            return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

        def _print_Max(self, expr: Any) -> str:
            return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

        def _print_exp(self, expr: Any) -> str:
            return f"exp({self._print(expr.args[0])})"

    return _Sbml()


def _equations(model: Model) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """(assignment rules id -> (formula, unit), rate rules state id -> formula) of ``model``."""
    from il2sim.model.symbolic import symbolic

    sym = symbolic(model)
    pr = _printer()
    units_of = {d.name: d.sbml_unit for d in model.derived}
    assign = {n: (pr.doprint(e), units_of[n]) for n, e in sym.derived.items()}
    rate = {s.name: pr.doprint(r) for s, r in zip(model.states, sym.rates_raw, strict=True)}
    return assign, rate


@dataclass(frozen=True)
class SbmlExport:
    """An exported model: the SBML text and what went into it (for reports and ``--json``)."""

    sbml: str
    n_events: int
    theta: tuple[float, ...]
    y0: tuple[float, ...]
    regimen_spec: str | None
    constant_ids: tuple[str, ...] = tuple(c for c, _ in THETA_IDS)
    state_ids: tuple[str, ...] = STATE_IDS

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the SBML text)."""
        return {
            "format": "SBML L3V2",
            "n_states": len(self.y0),
            "n_dose_events": self.n_events,
            "parameters": dict(zip(self.constant_ids, self.theta, strict=True)),
            "initial_state": dict(zip(self.state_ids, self.y0, strict=True)),
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
    model: Model = IL2NK,
    model_id: str | None = None,
) -> SbmlExport:
    """SBML text of ``model`` for one patient (``theta`` (n_constants,), ``y0`` (n_states,),
    ``bsa_m2`` for per-m2 doses)."""
    import libsbml

    th = np.asarray(theta, dtype=float).ravel()
    y = np.asarray(y0, dtype=float).ravel()
    if th.size != len(model.constants):
        raise ModelError(f"needs {len(model.constants)} values, got {th.size}", field="theta")
    if y.size != model.n_states:
        raise ModelError(f"needs {model.n_states} values, got {y.size}", field="y0")
    if not (np.isfinite(th).all() and np.isfinite(y).all()):
        raise ModelError("non-finite value in the patient's parameters", field="theta")
    for e in regimen.events:
        if model.dose_target(e.route) is None:
            raise InputError(f"the model {model.name!r} has no dose target", field=e.route.value)
    from il2sim.model.symbolic import symbolic

    sym = symbolic(model)
    pr = _printer()

    doc = libsbml.SBMLDocument(3, 2)
    sm = doc.createModel()
    _check(sm.setId(model_id or f"il2sim_{model.name}"), "model id")
    sm.setName(model.title)
    for attr, uid in (
        ("setTimeUnits", "day"),
        ("setSubstanceUnits", "iu"),
        ("setExtentUnits", "iu"),
        ("setVolumeUnits", "ml"),
    ):
        _check(getattr(sm, attr)(uid), attr)
    for uid, parts in {**_UNITS, **{k: list(v) for k, v in model.sbml_units.items()}}.items():
        ud = sm.createUnitDefinition()
        _check(ud.setId(uid), f"unit {uid}")
        for kind, exp, scale, mult in parts:
            u = ud.createUnit()
            u.setKind(libsbml.UnitKind_forName(kind))
            u.setExponent(float(exp))
            u.setScale(int(scale))
            u.setMultiplier(float(mult))

    def add_param(pid: str, value: float, unit: str, constant: bool) -> None:
        p = sm.createParameter()
        _check(p.setId(pid), pid)
        _check(p.setValue(float(value)), pid)
        _check(p.setUnits(unit), pid)
        _check(p.setConstant(constant), pid)

    for c, value in zip(model.constants, th, strict=True):
        add_param(c.name, value, c.sbml_unit, True)
    add_param("bsa_m2", bsa_m2, "m2", True)
    add_param(model.infusion_input, 0.0, "iu_per_day", False)
    for st, value in zip(model.states, y, strict=True):
        # the initial value is a constant ``<state>_0`` (an initial assignment), so a tool can
        # set a patient's baseline by changing constants only (see the roadrunner benchmark)
        add_param(f"{st.name}_0", value, st.sbml_unit, True)
        add_param(st.name, value, st.sbml_unit, False)
        ia = sm.createInitialAssignment()
        _check(ia.setSymbol(st.name), st.name)
        _check(ia.setMath(_math(f"{st.name}_0")), st.name)

    assign, rate = _equations(model)
    for pid, (formula, unit) in assign.items():
        add_param(pid, 0.0, unit, False)
        r = sm.createAssignmentRule()
        _check(r.setVariable(pid), pid)
        _check(r.setMath(_math(formula)), pid)
    for sid in model.state_names:
        r = sm.createRateRule()
        _check(r.setVariable(sid), sid)
        _check(r.setMath(_math(rate[sid])), sid)

    # --- dosing events: per-m2 amounts are written as IU/m2 * bsa_m2, so one file serves any
    # patient after changing the parameters (as the roadrunner benchmark does) --------------
    amounts_base = regimen.amounts_iu(1.0)
    n_events = 0

    def add_event(t_day: float, assignments: list[tuple[str, str]], tag: str) -> None:
        nonlocal n_events
        ev = sm.createEvent()
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

    # events at the same time are merged into one (SBML evaluates simultaneous events from the
    # values at the trigger time, so two separate "x = x + dose" events would keep only one)
    rin = model.infusion_input
    at: dict[float, dict[str, list[str]]] = {}
    tags: dict[float, list[str]] = {}
    for e, amt in zip(regimen.events, amounts_base, strict=True):
        a = f"({float(amt)!r} * bsa_m2)" if e.per_m2 else f"{float(amt)!r}"
        target = model.dose_target(e.route)
        assert target is not None
        if target.infusion:
            r_iu = f"{a} / {float(e.duration_day)!r}"
            at.setdefault(float(e.time_day), {}).setdefault(rin, []).append(f"+ {r_iu}")
            at.setdefault(float(e.end_day), {}).setdefault(rin, []).append(f"- {r_iu}")
            tags.setdefault(float(e.time_day), []).append("infusion_start")
            tags.setdefault(float(e.end_day), []).append("infusion_end")
        else:
            for dep in target.deposits:
                frac = pr.doprint(sym.parse(dep.fraction, f"dose {e.route.value}"))
                at.setdefault(float(e.time_day), {}).setdefault(dep.state, []).append(
                    f"+ ({frac}) * {a}"
                )
            tags.setdefault(float(e.time_day), []).append(e.route.value)
    for t_day in sorted(at):
        assignments = [(var, f"{var} {' '.join(terms)}") for var, terms in at[t_day].items()]
        add_event(t_day, assignments, "_".join(dict.fromkeys(tags[t_day])))

    text = libsbml.writeSBMLToString(doc)
    return SbmlExport(
        sbml=text,
        n_events=n_events,
        theta=tuple(float(v) for v in th),
        y0=tuple(float(v) for v in y),
        regimen_spec=regimen.spec,
        constant_ids=model.constant_names,
        state_ids=model.state_names,
    )


def export_sbml(
    regimen: Regimen,
    *,
    patient: int | None = None,
    seed: int = 0,
    parameters: Any = None,
    model: Model = IL2NK,
) -> SbmlExport:
    """SBML of ``model`` for one patient on ``regimen``.

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
    theta = model.build_theta(pop, use)
    y0 = model.initial_state(pop, theta, use)
    return build_sbml(regimen, theta[0], y0[0], float(pop.bsa_m2[0]), model=model)
