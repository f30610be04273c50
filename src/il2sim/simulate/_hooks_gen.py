"""Source text of the model hooks (see :mod:`il2sim.simulate._hooks_stub` for the contract).

Each hook loads the states and constants it needs into locals, computes the derived
quantities it needs in declaration order (assignment rules), then its outputs (with common
subexpressions eliminated).  Powers whose exponent is a constant expression are evaluated by
``_power`` (cached binomial series) in the fast right-hand side and by ``_rpow`` elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy
from sympy.printing.pycode import PythonCodePrinter

from il2sim.errors import ModelError
from il2sim.model.declaration import Model
from il2sim.model.symbolic import Symbolic, constant_only, symbolic
from il2sim.regimen.events import Route

_IND = "    "
_DECOR = '@njit(cache=True, error_model="numpy", inline="always")'


class _Printer(PythonCodePrinter):
    """Python/numba printer: ``_pos``, ``_rpow``/``_power`` for powers, local names."""

    def __init__(self, names: dict[Any, str], series: bool) -> None:
        super().__init__({"fully_qualified_modules": True})
        self._names = names
        self.series = series
        self.slots: list[Any] = []

    def _print_Symbol(self, expr: Any) -> str:
        return self._names.get(expr, expr.name)

    def _print_pos(self, expr: Any) -> str:
        return f"_pos({self._print(expr.args[0])})"

    def _print_Pow(self, expr: Any, rational: bool = False) -> str:
        b, e = expr.base, expr.exp
        bs = self._print(b)
        if e.is_Integer:
            n = int(e)
            if n == -1:
                return f"(1.0 / ({bs}))"
            if n == 2:
                return f"(({bs}) * ({bs}))"
            if n > 0:
                return f"(({bs}) ** {n})"
            return f"(1.0 / (({bs}) ** {-n}))"
        if e == sympy.S.Half:
            return f"math.sqrt({bs})"
        if self.series and constant_exponent(e) and not e.is_Number:
            j = len(self.slots)
            self.slots.append(e)
            return f"_power({bs}, {self._print(e)}, pc, ref, {j})"
        return f"_rpow({bs}, {self._print(e)})"

    def _print_Float(self, expr: Any) -> str:
        return repr(float(expr))

    def _print_Rational(self, expr: Any) -> str:
        return f"({float(expr.p)!r} / {float(expr.q)!r})"

    def _print_Integer(self, expr: Any) -> str:
        return repr(float(expr))


def constant_exponent(e: Any) -> bool:
    """Exponent made of constants (set by :func:`_prepare`)."""
    return not (e.free_symbols & _TIME_VARYING)


_TIME_VARYING: set[Any] = set()


def _prepare(sym: Symbolic) -> None:
    _TIME_VARYING.clear()
    _TIME_VARYING.update(sym.state_symbols())
    _TIME_VARYING.update(sym.derived_symbols.values())


def _names(sym: Symbolic) -> dict[Any, str]:
    names: dict[Any, str] = {s: f"y_{s.name}" for s in sym.states}
    names.update({c: f"c_{c.name}" for c in sym.constants})
    names.update({d: f"d_{n}" for n, d in sym.derived_symbols.items()})
    names[sym.rate_in] = "rate"
    return names


def _simplify(e: Any) -> Any:
    """Local derivative in a safe form: cancelled and factored (kd / (kd + c)**2, not a
    difference) and with x**g / x written x**(g - 1) (finite at x = 0)."""
    return sympy.powsimp(sympy.factor(sympy.cancel(e)), force=True)


def _total_derivatives(sym: Symbolic, wrt: Sequence[Any]) -> dict[str, dict[Any, Any]]:
    """d(derived)/d(wrt) by the chain rule, in terms of derived symbols (local derivatives
    simplified with ``sympy.cancel``)."""
    out: dict[str, dict[Any, Any]] = {}
    for name, e in sym.derived.items():
        row: dict[Any, Any] = {}
        for s in wrt:
            total = _simplify(sympy.diff(e, s))
            for prev, ds in out.items():
                dp = sympy.diff(e, sym.derived_symbols[prev])
                if dp != 0 and ds[s] != 0:
                    total += _simplify(dp) * ds[s]
            row[s] = total
        out[name] = row
    return out


def _d(sym: Symbolic, expr: Any, s: Any, dd: dict[str, dict[Any, Any]]) -> Any:
    total = _simplify(sympy.diff(expr, s))
    for name, ds in dd.items():
        dp = sympy.diff(expr, sym.derived_symbols[name])
        if dp != 0 and ds[s] != 0:
            total += _simplify(dp) * ds[s]
    return total


def _needed(sym: Symbolic, exprs: Sequence[Any]) -> list[str]:
    """Derived names the expressions use, transitively, in declaration order."""
    need: set[str] = set()
    todo = [e for e in exprs]
    inv = {v: k for k, v in sym.derived_symbols.items()}
    while todo:
        e = todo.pop()
        for s in e.free_symbols:
            n = inv.get(s)
            if n is not None and n not in need:
                need.add(n)
                todo.append(sym.derived[n])
    return [n for n in sym.derived if n in need]


def _body(
    sym: Symbolic, targets: Sequence[tuple[str, Any]], series: bool, ret: Any = None
) -> tuple[list[str], int]:
    """Lines computing ``targets`` ((lhs text, expr)) and optionally returning ``ret``."""
    names = _names(sym)
    pr = _Printer(names, series)
    exprs = [e for _, e in targets] + ([ret] if ret is not None else [])
    derived = _needed(sym, exprs)
    used: set[Any] = set()
    for e in [*exprs, *(sym.derived[n] for n in derived)]:
        used |= e.free_symbols
    lines: list[str] = []
    for i, s in enumerate(sym.states):
        if s in used:
            lines.append(f"{names[s]} = y[{i}]")
    for j, c in enumerate(sym.constants):
        if c in used:
            lines.append(f"{names[c]} = th[{j}]")
    for n in derived:
        lines.append(f"d_{n} = {pr.doprint(sym.derived[n])}")
    repl, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols("_x"), order="none")
    for s, e in repl:
        names[s] = s.name
        lines.append(f"{s.name} = {pr.doprint(e)}")
    for (lhs, _), e in zip(targets, reduced, strict=False):
        lines.append(f"{lhs} = {pr.doprint(e)}")
    if ret is not None:
        lines.append(f"return {pr.doprint(reduced[-1])}")
    return lines, len(pr.slots)


def _func(name: str, args: str, ret: str, lines: list[str]) -> str:
    body = "\n".join(_IND + ln for ln in (lines or ["pass"]))
    return f"{_DECOR}\ndef {name}({args}) -> {ret}:  # noqa: ARG001\n{body}\n"


def structure(model: Model) -> dict[str, Any]:
    """Rows with a constant diagonal, rows coupled to the stiff state, control rows."""
    sym = symbolic(model)
    _prepare(sym)
    stiff = sym.states[model.state_index(model.stiff)]
    dd = _total_derivatives(sym, list(sym.states))
    const_diag: list[int] = []
    coupled: list[int] = []
    diag: dict[int, Any] = {}
    column: dict[int, Any] = {}
    for i, (s, raw) in enumerate(zip(sym.states, sym.rates_raw, strict=True)):
        jii = sym.expand(_d(sym, raw, s, dd))
        if s is stiff:
            continue
        if constant_only(sym, jii):
            const_diag.append(i)
            diag[i] = jii
            col = _d(sym, raw, stiff, dd)
            if col != 0:
                coupled.append(i)
                column[i] = col
    return {
        "const_diag": const_diag,
        "coupled": coupled,
        "diag": diag,
        "column": column,
        "derivatives": dd,
        "stiff_row": _d(sym, sym.rates_raw[model.state_index(model.stiff)], stiff, dd),
    }


def input_block(sym: Symbolic, stiff_index: int) -> dict[str, Any]:
    """The linear dose-input block feeding the stiff state (exact forcing of the integrator).

    F is the largest set of states whose rates are linear with constant coefficients in the
    states of F only (no infusion input): the depot chain of a PK model.  Its solution over a
    step is ``exp(s A_F) y_F(0)``, so the input ``u(s) = b^T exp(s A_F) y_F(0)`` into the
    stiff row (``b = d f_stiff / d y_F``, constant) is a sum of terms ``a s^m/m! exp(mu s)``
    (from sympy's matrix exponential).  Returns ``F``, ``b`` and the terms (mu, m, a) with
    mu constant and a linear in y_F(0); empty when there is no such input, when the stiff
    rate is not linear in y_F, or when a term has m > 1 (phi_3 and above are not cached)."""
    states = sym.states
    n = len(states)
    rows: dict[int, list[Any]] = {}
    for i, r in enumerate(sym.rates):
        if i == stiff_index or r.has(sym.rate_in):
            continue
        row = [sympy.diff(r, x) for x in states]
        if all(constant_only(sym, e) for e in row) and sympy.expand(
            r - sum(e * x for e, x in zip(row, states, strict=True))
        ) == 0:
            rows[i] = row
    f = set(rows)
    while True:
        bad = {i for i in f if any(rows[i][j] != 0 and j not in f for j in range(n))}
        if not bad:
            break
        f -= bad
    fs = sorted(f)
    empty: dict[str, Any] = {"states": [], "b": [], "terms": []}
    rate_s = sym.rates[stiff_index]
    b = [sympy.diff(rate_s, states[j]) for j in fs]
    if not fs or all(e == 0 for e in b):
        return empty
    if not all(constant_only(sym, e) for e in b):
        return empty
    s_ = sympy.Symbol("s_in", positive=True)
    a_f = sympy.Matrix([[rows[i][j] for j in fs] for i in fs])
    u = sympy.expand(
        (sympy.Matrix([b]) * (a_f * s_).exp() * sympy.Matrix([states[j] for j in fs]))[0]
    )
    terms: list[tuple[Any, int, Any]] = []
    for term in sympy.Add.make_args(u):
        coef, dep = term.as_independent(s_)
        exps = list(dep.atoms(sympy.exp))
        mu = sympy.simplify(sum((e.args[0] for e in exps), sympy.S.Zero) / s_)
        rest = sympy.simplify(dep / sympy.Mul(*exps))
        m = int(sympy.degree(rest, s_)) if rest != 1 else 0
        if rest != s_**m or not constant_only(sym, mu) or mu.has(s_) or m > 1:
            return empty
        terms.append((mu, m, coef * sympy.factorial(m)))
    return {"states": fs, "b": b, "terms": terms}


def hooks_source(model: Model, route_codes: Sequence[Route]) -> str:
    """Source text of every hook for ``model``."""
    sym = symbolic(model)
    st = structure(model)
    n = model.n_states
    idx = model.state_index
    rhs_targets = [(f"out[{i}]", r) for i, r in enumerate(sym.rates_raw)]
    fast, n_pow = _body(sym, rhs_targets, True, st["stiff_row"])
    exact, _ = _body(sym, rhs_targets, False, st["stiff_row"])
    col, _ = _body(sym, [(f"v[{i}]", e) for i, e in st["column"].items()], False)
    diag = [f"lam[{i}] = 0.0" for i in range(n)]
    dl, _ = _body(sym, [(f"lam[{i}]", e) for i, e in st["diag"].items()], False)
    # power-series coefficients: the exponents of the fast rhs, in slot order
    slots = _slot_exponents(sym, rhs_targets, st["stiff_row"])
    pow_lines: list[str] = []
    for j, e in enumerate(slots):
        body, _ = _body(sym, [(f"g{j}", e)], False)
        pow_lines += [*body, "for m in range(5):", f"{_IND}pc[{j}, m] = (g{j} - m) / (m + 1)"]
    # doses
    dose_lines: list[str] = []
    kw = "if"
    derived = set(sym.derived_symbols.values())
    for code, route in enumerate(route_codes):
        t = model.dose_target(route)
        if t is None or t.infusion or not t.deposits:
            continue
        fracs = []
        for dep in t.deposits:
            frac = sym.parse(dep.fraction, f"dose {route.value} fraction")
            if not constant_only(sym, frac) or frac.free_symbols & derived:
                raise ModelError("dose fractions must be constant expressions", field=route.value)
            fracs.append((idx(dep.state), frac))
        body, _ = _body(sym, [(f"f{k}", e) for k, (_, e) in enumerate(fracs)], False)
        dose_lines.append(f"{kw} route == {code}:")
        dose_lines += [_IND + b for b in body]
        dose_lines += [_IND + f"y[{i}] += f{k} * amount" for k, (i, _) in enumerate(fracs)]
        kw = "elif"
    outs = [(f"o[{k}]", sym.parse(o.expr, f"output {o.name}")) for k, o in enumerate(model.outputs)]
    rec, _ = _body(sym, outs, False)
    scale = sym.parse(model.extremum.scale, "extremum.scale")
    xs, _ = _body(sym, [], False, scale)
    jac_targets = []
    for i, raw in enumerate(sym.rates_raw):
        for j, s in enumerate(sym.states):
            dij = _d(sym, raw, s, st["derivatives"])
            if dij != 0:
                jac_targets.append((f"jac[{i}, {j}]", dij))
    jac, _ = _body(sym, jac_targets, False)
    inb = input_block(sym, idx(model.stiff))
    mus: list[Any] = []
    for mu, _, _ in inb["terms"]:
        if not any(sympy.simplify(mu - x) == 0 for x in mus):
            mus.append(mu)
    in_mu = [next(k for k, x in enumerate(mus) if sympy.simplify(mu - x) == 0)
             for mu, _, _ in inb["terms"]]  # fmt: skip
    in_rate, _ = _body(
        sym, [], False, sum((bj * sym.states[j] for bj, j in zip(inb["b"], inb["states"],
                                                                  strict=True)), sympy.S.Zero)
    )  # fmt: skip
    in_terms, _ = _body(
        sym,
        [(f"mu[{k}]", x) for k, x in enumerate(mus)]
        + [(f"a[{k}]", a) for k, (_, _, a) in enumerate(inb["terms"])],
        False,
    )
    control = [i for i, s in enumerate(model.states) if s.control]
    pool = [i for i, s in enumerate(model.states) if s.pool]
    sinks = [i for i, s in enumerate(model.states) if s.sink]

    def arr(v: list[int]) -> str:
        return f"np.array({v!r}, dtype=np.int64)"

    consts = [
        f"N_STATES = {n}",
        f"N_THETA = {len(model.constants)}",
        f"N_OUT = {len(model.outputs)}",
        f"N_POW = {n_pow}",
        f"STIFF = {idx(model.stiff)}",
        f"EXT_STATE = {idx(model.extremum.state)}",
        f"AUC_STATE = {idx(model.extremum.auc_state)}",
        f"POOL = {arr(pool)}",
        f"SINKS = {arr(sinks)}",
        f"COUPLED = {arr(st['coupled'])}",
        f"CONTROL = {arr(control)}",
        f"N_IN = {len(inb['terms'])}",
        f"N_MU = {max(len(mus), 1)}",
        f"IN_MU = {arr(in_mu)}",
        f"IN_POW = {arr([m for _, m, _ in inb['terms']])}",
    ]
    parts = [
        "\n".join(consts) + "\n",
        _func("model_rhs", "y, th, rate, out, pc, ref", "float", fast),
        _func("model_rhs_exact", "y, th, rate, out", "float", exact),
        _func("model_column", "y, th, v", "None", col),
        _func("model_const_diag", "th, lam", "None", diag + dl),
        _func("model_dose", "y, th, route, amount", "None", dose_lines),
        _func("model_record", "y, th, o", "None", rec),
        _func("model_ext_scale", "th", "float", xs),
        _func("model_pow_setup", "th, pc", "None", pow_lines),
        _func("model_jac", "y, th, rate, jac", "None", ["jac[:, :] = 0.0", *jac]),
        _func("model_input", "y, th", "float", in_rate),
        _func("model_input_terms", "y, th, mu, a", "None", in_terms),
    ]
    return "\n\n".join(parts)


def _slot_exponents(sym: Symbolic, targets: Sequence[tuple[str, Any]], ret: Any) -> list[Any]:
    names = _names(sym)
    pr = _Printer(names, True)
    exprs = [e for _, e in targets] + [ret]
    for n in _needed(sym, exprs):
        pr.doprint(sym.derived[n])
    repl, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols("_x"), order="none")
    for _, e in repl:
        pr.doprint(e)
    for e in reduced:
        pr.doprint(e)
    return list(pr.slots)
