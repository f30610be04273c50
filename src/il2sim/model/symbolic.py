"""The declaration's expressions as sympy objects: parsing, expansion, derivatives.

Used by the code generator (:mod:`il2sim.simulate.codegen`: right-hand sides, the linear part
of the exponential integrator, the analytic Jacobian of the reference solver) and by the SBML
export (:mod:`il2sim.io.sbml`).  sympy is imported only here, and only when code or SBML is
generated (the generated kernel is cached on disk, keyed by the declaration's fingerprint).

``pos(x)`` is ``max(x, 0)``; its derivative is taken as 1 (the clamps only guard against
negative round-off of non-negative quantities, so the derivative of the interior is the one
the solvers need).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sympy
from sympy.parsing.sympy_parser import (
    convert_xor,
    parse_expr,
    standard_transformations,
)

from il2sim.errors import ModelError
from il2sim.model.declaration import Model


class pos(sympy.Function):
    """max(x, 0) with derivative 1 (see the module docstring)."""

    @classmethod
    def eval(cls, x: Any) -> Any:
        if x.is_Number:
            return x if x > 0 else sympy.S.Zero
        if x.is_nonnegative:
            return x
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        return sympy.S.One


_TRANSFORMS = (*standard_transformations, convert_xor)
_BUILTINS: dict[str, Any] = {
    "pos": pos,
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "min": sympy.Min,
    "max": sympy.Max,
}


@dataclass(frozen=True)
class Symbolic:
    """A declaration in sympy form.

    ``states``/``constants``: symbols in declaration order; ``rate_in``: the infusion input;
    ``derived``: name -> expression in states, constants and earlier derived quantities;
    ``rates``: d state/dt, with derived quantities substituted (states, constants, input
    only); ``rates_raw``: the same in terms of derived quantities (for SBML)."""

    model: Model
    states: tuple[sympy.Symbol, ...]
    constants: tuple[sympy.Symbol, ...]
    rate_in: sympy.Symbol
    derived: dict[str, Any]
    derived_symbols: dict[str, sympy.Symbol]
    rates_raw: tuple[Any, ...]
    rates: tuple[Any, ...]

    def parse(self, text: str, where: str) -> Any:
        """Parse ``text`` (an expression of the declaration) in the model's namespace."""
        return _parse(self.model, text, where, self._namespace())

    def expand(self, expr: Any) -> Any:
        """``expr`` with every derived quantity substituted (states/constants/input only)."""
        subs = {self.derived_symbols[n]: e for n, e in self.derived_expanded().items()}
        return expr.xreplace(subs)

    def derived_expanded(self) -> dict[str, Any]:
        """Derived quantities in terms of states, constants and the input only."""
        out: dict[str, Any] = {}
        for name, e in self.derived.items():
            out[name] = e.xreplace({self.derived_symbols[k]: v for k, v in out.items()})
        return out

    def _namespace(self) -> dict[str, Any]:
        ns: dict[str, Any] = {s.name: s for s in (*self.states, *self.constants, self.rate_in)}
        ns.update(self.derived_symbols)
        return ns

    def state_symbols(self) -> set[sympy.Symbol]:
        """States and the input (what varies in time)."""
        return {*self.states, self.rate_in}


def _macro(args: tuple[str, ...], body: str) -> Any:
    syms = sympy.symbols(args)
    syms = syms if isinstance(syms, tuple) else (syms,)
    expr = parse_expr(
        body,
        local_dict={**_BUILTINS, **{s.name: s for s in syms}},
        transformations=_TRANSFORMS,
        evaluate=True,
    )
    return sympy.Lambda(syms, expr)


def _parse(model: Model, text: str, where: str, ns: dict[str, Any]) -> Any:
    local: dict[str, Any] = {**_BUILTINS, **ns}
    for name, (args, body) in model.functions.items():
        local[name] = _macro(args, body)
    try:
        expr = parse_expr(text, local_dict=local, transformations=_TRANSFORMS, evaluate=True)
    except Exception as exc:  # sympy raises many types for bad text
        raise ModelError(f"cannot parse {text!r}: {exc}", field=where) from None
    if not isinstance(expr, sympy.Expr):
        raise ModelError(f"not an expression: {text!r}", field=where)
    unknown = {s.name for s in expr.free_symbols} - set(ns)
    if unknown:
        raise ModelError(f"unknown name(s) {sorted(unknown)} in {text!r}", field=where)
    return expr


@lru_cache(maxsize=16)
def symbolic(model: Model) -> Symbolic:
    """Parse every expression of ``model`` (cached per model object)."""
    states = tuple(sympy.Symbol(n, real=True) for n in model.state_names)
    constants = tuple(sympy.Symbol(n, real=True) for n in model.constant_names)
    rate_in = sympy.Symbol(model.infusion_input, real=True)
    ns: dict[str, Any] = {s.name: s for s in (*states, *constants, rate_in)}
    derived: dict[str, Any] = {}
    dsyms: dict[str, sympy.Symbol] = {}
    for d in model.derived:
        derived[d.name] = _parse(model, d.expr, f"derived {d.name}", {**ns, **dsyms})
        dsyms[d.name] = sympy.Symbol(d.name, real=True)
    full = {**ns, **dsyms}
    raw = tuple(_parse(model, s.rate, f"rate of {s.name}", full) for s in model.states)
    sym = Symbolic(model, states, constants, rate_in, derived, dsyms, raw, ())
    rates = tuple(sym.expand(r) for r in raw)
    return Symbolic(model, states, constants, rate_in, derived, dsyms, raw, rates)


def constant_only(sym: Symbolic, expr: Any) -> bool:
    """True if ``expr`` depends on constants only (no state, no input)."""
    return not (expr.free_symbols & sym.state_symbols())
