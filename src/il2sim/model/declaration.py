"""Declarative model specification: a model is written once, as data.

In the spirit of mrgsolve's ``$PARAM / $CMT / $ODE / $CAPTURE`` blocks and of SBML itself, a
:class:`Model` lists

* ``params``: the rows of the parameter table it reads (name and unit; the value, the
  between-patient variability and the source stay in the TOML table, checked at load time);
* ``constants``: individual constants (per patient, fixed over time: volumes, micro rate
  constants, receptor pools...), each a rule over table parameters, covariates and earlier
  constants, evaluated with numpy;
* ``states``: name, unit, meaning, initial-value rule and rate of change (an expression);
* ``derived``: named state-dependent quantities (assignment rules) used by the rates;
* ``doses``: per route, which states receive a dose and in which fraction (s.c./i.m. depot
  with bioavailability, i.v. bolus into central), and the infusion input;
* ``outputs``: named quantities recorded on the output grid;
* hints for the solvers: the stiff state of the exponential integrator, the tracked
  extremum (serum concentration), the AUC state, the mass balance (pool and sink states),
  the absolute tolerance of each state.

Expressions are text in the usual infix syntax (``+ - * / ^``, ``pos(x)`` = max(x, 0),
``exp``, ``log``, ``sqrt``, ``min``, ``max`` and the macros in ``functions``), parsed with
sympy by :mod:`il2sim.model.symbolic`.  From the declaration come the fast batched kernel and
the reference right-hand side (:mod:`il2sim.simulate.codegen`), the SBML export
(:mod:`il2sim.io.sbml`) and the names used by results, data frames and docs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from il2sim.errors import ModelError
from il2sim.regimen.events import Route

FloatArray = npt.NDArray[np.float64]


class PatientSource(Protocol):
    """What a constant rule may read: ``n`` patients, individual parameter values and
    covariates (e.g. ``bsa_m2``) as attributes (:class:`il2sim.population.Population`)."""

    @property
    def n(self) -> int: ...  # pragma: no cover - protocol

    def param(self, name: str, parameters: Any = None) -> FloatArray: ...  # pragma: no cover


class Env:
    """Values available to constant and initial-value rules for a batch of patients.

    ``p(name)``: individual values of a declared table parameter; ``cov(name)``: a covariate
    of the population (``bsa_m2``, ``weight_kg``, ``nk0_per_ul``...); ``c(name)``: a constant
    computed earlier in declaration order."""

    def __init__(self, model: Model, pop: PatientSource, parameters: object) -> None:
        self._model = model
        self._pop = pop
        self._parameters = parameters
        self.n = int(pop.n)
        self.constants: dict[str, FloatArray] = {}

    def p(self, name: str) -> FloatArray:
        """Individual values (n,) of table parameter ``name`` (must be declared)."""
        if name not in self._model.param_names:
            raise ModelError("not declared in the model's params", field=name, value=name)
        return np.asarray(self._pop.param(name, self._parameters), dtype=float)

    def cov(self, name: str) -> FloatArray:
        """Covariate ``name`` (n,) of the population."""
        value = getattr(self._pop, name, None)
        if value is None:
            raise ModelError("not a covariate of the population", field=name, value=name)
        return np.broadcast_to(np.asarray(value, dtype=float), (self.n,))

    def c(self, name: str) -> FloatArray:
        """A constant already computed (declaration order)."""
        try:
            return self.constants[name]
        except KeyError:
            raise ModelError("constant used before it is defined", field=name) from None


#: A constant or initial-value rule: env -> (n,) values (array-like).
Rule = Callable[[Env], Any]


@dataclass(frozen=True)
class Param:
    """A parameter-table row the model reads: ``name`` and its expected ``unit``."""

    name: str
    unit: str


@dataclass(frozen=True)
class Constant:
    """An individual constant (per patient): ``rule(env)`` -> (n,) values in ``unit``."""

    name: str
    unit: str
    meaning: str
    rule: Rule
    sbml_unit: str = "dimensionless"


@dataclass(frozen=True)
class State:
    """A state variable.

    ``rate``: d(state)/dt (expression).  ``initial``: a number or a rule (env -> (n,)).
    ``pool``: part of the drug-mass pool; ``sink``: a cumulative elimination (the fast solver
    rescales sinks so that pool + sinks = amount dosed).  ``scale_floor``: the adaptive step
    controller bounds the local error by ``rtol * max(|state|, scale_floor)`` (state unit);
    ``control=False`` leaves the state out of the error norm (bookkeeping integrals of
    controlled states)."""

    name: str
    unit: str
    meaning: str
    rate: str
    initial: float | Rule = 0.0
    sbml_unit: str = "dimensionless"
    pool: bool = False
    sink: bool = False
    scale_floor: float = 1e-9
    control: bool = True


@dataclass(frozen=True)
class Derived:
    """A named state-dependent quantity (an SBML assignment rule)."""

    name: str
    unit: str
    meaning: str
    expr: str
    sbml_unit: str = "dimensionless"


@dataclass(frozen=True)
class Deposit:
    """Fraction ``fraction`` (expression in constants) of a dose enters ``state``."""

    state: str
    fraction: str = "1"


@dataclass(frozen=True)
class DoseTarget:
    """Where a dose given by ``route`` goes: bolus ``deposits``; an infusion (``infusion``)
    instead feeds the model's input symbol (:attr:`Model.infusion_input`)."""

    route: Route
    deposits: tuple[Deposit, ...] = ()
    infusion: bool = False


@dataclass(frozen=True)
class Output:
    """A named output recorded on the output grid (expression in states/constants/derived)."""

    name: str
    unit: str
    meaning: str
    expr: str


@dataclass(frozen=True)
class Extremum:
    """The tracked concentration ``state * scale`` (``scale`` a constant expression): daily
    maxima, first-dose Cmax/Tmax; ``auc_state`` integrates it (d auc/dt = concentration).
    ``unit_constant``: name of a constant converting it to the reported unit (e.g. IU/ml ->
    pM), or None."""

    state: str
    scale: str
    auc_state: str
    unit_constant: str | None = None


@dataclass(frozen=True, eq=False)
class Model:
    """A whole model declaration (see the module docstring)."""

    name: str
    title: str
    params: tuple[Param, ...]
    constants: tuple[Constant, ...]
    states: tuple[State, ...]
    derived: tuple[Derived, ...]
    doses: tuple[DoseTarget, ...]
    outputs: tuple[Output, ...]
    stiff: str
    extremum: Extremum
    infusion_input: str = "infusion_rate_iu_per_day"
    functions: Mapping[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    sbml_units: Mapping[str, tuple[tuple[str, float, int, float], ...]] = field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        names = [
            *(c.name for c in self.constants),
            *(s.name for s in self.states),
            *(d.name for d in self.derived),
            self.infusion_input,
        ]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ModelError(f"names declared twice: {dup}", field=self.name)
        for ref, what in (
            (self.stiff, "stiff"),
            (self.extremum.state, "extremum.state"),
            (self.extremum.auc_state, "extremum.auc_state"),
            *((d.state, f"dose {t.route.value}") for t in self.doses for d in t.deposits),
        ):
            if ref not in self.state_names:
                raise ModelError(f"unknown state {ref!r}", field=what, value=ref)
        out = [o.name for o in self.outputs]
        if len(set(out)) != len(out):
            raise ModelError("output names must be unique", field="outputs")

    # --- names and indices --------------------------------------------------------------
    @property
    def param_names(self) -> tuple[str, ...]:
        """Names of the table parameters the model reads."""
        return tuple(p.name for p in self.params)

    @property
    def state_names(self) -> tuple[str, ...]:
        """State names in state-vector order."""
        return tuple(s.name for s in self.states)

    @property
    def constant_names(self) -> tuple[str, ...]:
        """Individual-constant names in ``theta`` order."""
        return tuple(c.name for c in self.constants)

    @property
    def output_names(self) -> tuple[str, ...]:
        """Recorded output names, in order."""
        return tuple(o.name for o in self.outputs)

    @property
    def n_states(self) -> int:
        """Number of states."""
        return len(self.states)

    def state_index(self, name: str) -> int:
        """Index of state ``name`` in the state vector."""
        try:
            return self.state_names.index(name)
        except ValueError:
            raise ModelError("unknown state", field=name, value=name) from None

    def constant_index(self, name: str) -> int:
        """Index of constant ``name`` in ``theta``."""
        try:
            return self.constant_names.index(name)
        except ValueError:
            raise ModelError("unknown constant", field=name, value=name) from None

    @property
    def pool_states(self) -> tuple[str, ...]:
        """States of the drug-mass pool (plus sinks: the mass balance)."""
        return tuple(s.name for s in self.states if s.pool)

    @property
    def mass_states(self) -> tuple[str, ...]:
        """Pool and sink states in state order: they sum to the amount dosed."""
        return tuple(s.name for s in self.states if s.pool or s.sink)

    def dose_target(self, route: Route) -> DoseTarget | None:
        """The declared target of ``route`` (None if the model has none)."""
        for t in self.doses:
            if t.route is route:
                return t
        return None

    # --- numbers for a population ------------------------------------------------------------
    def check_parameters(self, parameters: object) -> None:
        """Every declared parameter is in the table with the declared unit."""
        specs = getattr(parameters, "specs", None)
        if specs is None:
            raise ModelError("not a parameter set", field="parameters")
        for p in self.params:
            if p.name not in specs:
                raise ModelError("missing from the parameter table", field=p.name, value=p.name)
            unit = specs[p.name].unit
            if unit != p.unit:
                raise ModelError(f"unit {unit!r} in the table, model expects {p.unit!r}", field=p.name)

    def build_theta(self, pop: PatientSource, parameters: object) -> FloatArray:
        """Individual constants (P, n_constants) from the rules, in declaration order."""
        self.check_parameters(parameters)
        env = Env(self, pop, parameters)
        theta = np.zeros((env.n, len(self.constants)))
        for j, c in enumerate(self.constants):
            value = np.broadcast_to(np.asarray(c.rule(env), dtype=float), (env.n,))
            env.constants[c.name] = np.array(value)
            theta[:, j] = value
        if not np.all(np.isfinite(theta)):
            bad = self.constants[int(np.argwhere(~np.isfinite(theta))[0, 1])].name
            raise ModelError("non-finite individual constant", field=bad)
        return theta

    def initial_state(self, pop: PatientSource, theta: FloatArray, parameters: object) -> FloatArray:
        """Initial states (P, n_states) from the initial-value rules."""
        env = Env(self, pop, parameters)
        env.constants = {c.name: theta[:, j] for j, c in enumerate(self.constants)}
        y0 = np.zeros((env.n, self.n_states))
        for i, s in enumerate(self.states):
            value = s.initial if isinstance(s.initial, int | float) else s.initial(env)
            y0[:, i] = np.broadcast_to(np.asarray(value, dtype=float), (env.n,))
        return y0

    # --- identity ------------------------------------------------------------------------------
    def codegen_spec(self) -> dict[str, object]:
        """Everything the generated code depends on, as plain data (no rules: those run in
        numpy at every call)."""
        return {
            "name": self.name,
            "constants": list(self.constant_names),
            "states": [
                [s.name, s.rate, s.pool, s.sink, s.scale_floor, s.control] for s in self.states
            ],
            "derived": [[d.name, d.expr] for d in self.derived],
            "doses": [
                [t.route.value, [[d.state, d.fraction] for d in t.deposits], t.infusion]
                for t in self.doses
            ],
            "outputs": [[o.name, o.expr] for o in self.outputs],
            "stiff": self.stiff,
            "extremum": [self.extremum.state, self.extremum.scale, self.extremum.auc_state],
            "input": self.infusion_input,
            "functions": {k: [list(a), e] for k, (a, e) in sorted(self.functions.items())},
        }

    def fingerprint(self) -> str:
        """Short hash of :meth:`codegen_spec` (names the generated kernel module)."""
        text = json.dumps(self.codegen_spec(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
