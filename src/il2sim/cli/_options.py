"""The CLI's validation boundary: every number option of every command, checked in one place.

:func:`harden` walks the click command tree built from the typer app and gives each integer
and float option a strict type: the text must be written with ASCII digits (Python's
``int()``/``float()`` also accept Arabic-Indic and full-width digits, ``nan``, ``inf`` and
``1_000``), floats must be finite and not subnormal, and an option whose name is in
:data:`RULES` (:mod:`il2sim.option_rules`, shared with the server) is checked by its
:mod:`il2sim.checks` checker (seeds, counts with their limits
from :mod:`il2sim.limits`, durations, probabilities).  A new command gets the same rules by
using the same option names.  Failures are :class:`~il2sim.errors.InputError` naming the
option (exit code 2, one line).
"""

from __future__ import annotations

from typing import Any, get_args

from il2sim import checks, option_rules

__all__ = ["RULES", "check_rule", "harden"]

#: The rules by option name live in :mod:`il2sim.option_rules` (shared with the server).
Rule = option_rules.Rule
RULES = option_rules.RULES
check_rule = option_rules.check_rule


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
