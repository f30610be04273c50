"""The CLI's validation boundary: every number option of every command, checked in one place.

:func:`harden` walks the click command tree built from the typer app and gives each integer
and float option a strict type: the text must be written with ASCII digits (Python's
``int()``/``float()`` also accept Arabic-Indic and full-width digits, ``nan``, ``inf`` and
``1_000``), floats must be finite and not subnormal, and an option whose name is in
:data:`RULES` is checked by its :mod:`il2sim.checks` checker (seeds, counts with their limits
from :mod:`il2sim.limits`, durations, probabilities).  A new command gets the same rules by
using the same option names.  Failures are :class:`~il2sim.errors.InputError` naming the
option (exit code 2, one line).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, get_args

from il2sim import checks
from il2sim.errors import InputError
from il2sim.limits import limit

__all__ = ["RULES", "harden"]

Rule = Callable[[Any, str], Any]


def _count(minimum: int, limit_name: str | None = None, maximum: int | None = None) -> Rule:
    def rule(value: Any, field: str) -> Any:
        cap = int(limit(limit_name)) if limit_name is not None else maximum
        why = f"limit {limit_name}, see docs/limits.md" if limit_name is not None else ""
        return checks.count(value, field, minimum=minimum, maximum=cap, why=why)

    return rule


def _horizon(value: Any, field: str) -> Any:
    return checks.time_days(value, field, maximum=limit("horizon_days"))


def _prob_open(value: Any, field: str) -> Any:
    return checks.probability(value, field, open_interval=True)


#: Python parameter name -> checker (applied after the strict number parsing; None passes).
RULES: dict[str, Rule] = {
    "seed": checks.seed,
    "patients": _count(1, "patients"),
    "trials": _count(1, "trials"),
    "cohorts": _count(1, "cohorts"),
    "n_doses": _count(1, "n_doses"),
    "start_dose": _count(1, "n_doses"),
    "pool_size": _count(1, "pool_patients"),
    "cohort_size": _count(1, maximum=1000),
    "a": _count(1, maximum=1000),
    "b": _count(0, maximum=1000),
    "c": _count(0, maximum=1000),
    "d": _count(0, maximum=1000),
    "e": _count(0, maximum=1000),
    "cohorts_ahead": _count(1, maximum=1000),
    "workers": _count(1, maximum=1024),
    "chunk_size": _count(1, maximum=10**9),
    "chunks": _count(1, maximum=10**9),
    "max_patients": _count(1, maximum=10**9),
    "demand_n": _count(1, maximum=10**9),
    "stop_n_mtd": _count(1, maximum=10**9),
    "max_evaluations": _count(1, maximum=10**7),
    "patient": _count(0, maximum=10**9),
    "dlt_window_days": _count(1, maximum=3650),
    "hold_days": _count(0, maximum=3650),
    "horizon_days": _horizon,
    "horizon": _horizon,
    "every": partial(checks.positive, unit="hours"),
    "target": _prob_open,
    "stop_tox_threshold": _prob_open,
    "stop_tox_confidence": _prob_open,
    "resume_fraction": checks.probability,
    "port": _count(0, maximum=65535),
}


def _number_kind(param: Any) -> type | None:
    """``int`` or ``float`` when the parameter's annotation is one (or a list/Optional of one)."""
    desc = getattr(param, "type_descriptor", None)
    ann = getattr(desc, "annotation", None)
    seen = 0
    while ann is not None and seen < 4:
        if ann in (int, float):
            return ann
        args = [a for a in get_args(ann) if a is not type(None)]
        ann = args[0] if len(args) == 1 else None
        seen += 1
    return None


def _field(param: Any) -> str:
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    return opts[0] if opts else (getattr(param, "name", None) or "value")


def _pre(value: Any, kind: type, field: str) -> Any:
    """Strict parsing of the raw text (a string, or a tuple of strings for a list option)."""
    if isinstance(value, list | tuple):
        return type(value)(_pre(v, kind, field) for v in value)
    if isinstance(value, str):
        return (
            checks.number_text(value, field) if kind is float else checks.integer_text(value, field)
        )
    if kind is float and isinstance(value, float):
        return checks.real(value, field)
    return value


def _post(value: Any, rule: Rule | None, field: str) -> Any:
    if rule is None or value is None:
        return value
    if isinstance(value, list | tuple):
        return type(value)(rule(v, field) for v in value)
    return rule(value, field)


def _harden_param(param: Any) -> None:
    if getattr(param, "_il2sim_hardened", False):
        return
    kind = _number_kind(param)
    if kind is None:
        return
    rule = RULES.get(getattr(param, "name", None) or "")
    field = _field(param)
    original = param.process_value

    def process_value(ctx: Any, value: Any) -> Any:
        return _post(original(ctx, _pre(value, kind, field)), rule, field)

    param.process_value = process_value
    param._il2sim_hardened = True


def harden(cmd: Any) -> Any:
    """Give every number option of ``cmd`` and its sub-commands the strict checks (in place)."""
    for param in getattr(cmd, "params", ()):
        _harden_param(param)
    for sub in (getattr(cmd, "commands", None) or {}).values():
        harden(sub)
    return cmd


def check_rule(name: str, value: Any, field: str | None = None) -> Any:
    """Apply the rule for option ``name`` to ``value`` (for values that bypass click)."""
    rule = RULES.get(name)
    if rule is None:
        raise InputError(f"no rule for option {name!r}", field=name)
    return rule(value, field or f"--{name.replace('_', '-')}")
