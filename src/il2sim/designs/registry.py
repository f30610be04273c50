"""Build any design by name: ``build_design("boin", n_doses=5, target=0.3)``.

Names: ``"3+3"`` (= ``"3+3a"``, no expansion of the lower dose, as
``escalation::get_three_plus_three(allow_deescalate = FALSE)``), ``"3+3a"``, ``"3+3b"`` (expand
the next-lower dose to six), ``"a+b"`` (Lin & Shih 2001, options a, b, c, d, e,
expand_lower), ``"4+5"`` (the seed trial's A+B, see :mod:`il2sim.designs.ab`), and the model
based/interval designs ``"crm"``, ``"boin"``, ``"mtpi2"``, ``"i3+3"``, ``"keyboard"`` whose
modules are imported only when asked for.

Rule options wrap the base design, innermost first (outermost decides last, see
:mod:`il2sim.designs.rules`): ``no_skip`` (dont_skip_doses), ``stop_tox_threshold`` /
``stop_tox_confidence`` (stop_when_too_toxic at dose 1), ``demand_n`` (demand_n_at_dose),
``stop_n_mtd`` (stop_when_n_at_dose), ``max_patients`` (stop_at_n).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from typing import Any

from il2sim.designs.ab import ABDesign
from il2sim.designs.base import Design
from il2sim.designs.rules import (
    demand_n_at_dose,
    dont_skip_doses,
    stop_at_n,
    stop_when_n_at_dose,
    stop_when_too_toxic,
)
from il2sim.errors import DesignError, Il2simError

__all__ = ["DESIGN_NAMES", "RULE_OPTIONS", "build_design", "design_class", "wrap_rules"]

#: Lazily imported modules and the design class each defines.
_LAZY: dict[str, tuple[str, str]] = {
    "crm": ("il2sim.designs.crm", "CRM"),
    "boin": ("il2sim.designs.boin", "BOIN"),
    "mtpi2": ("il2sim.designs.mtpi2", "MTPI2"),
    "i3+3": ("il2sim.designs.i3plus3", "I3Plus3"),
    "keyboard": ("il2sim.designs.keyboard", "Keyboard"),
    "tite-crm": ("il2sim.designs.tite", "TITECRM"),
    "tite-boin": ("il2sim.designs.tite_boin", "TITEBOIN"),
    "boin12": ("il2sim.designs.boin12", "BOIN12"),
    "efftox": ("il2sim.designs.efftox", "EffTox"),
    "bf-boin": ("il2sim.designs.bfboin", "BFBOIN"),
}

_AB: dict[str, dict[str, Any]] = {
    "3+3": {"a": 3, "b": 3, "c": 0, "d": 1, "e": 1, "expand_lower": False},
    "3+3a": {"a": 3, "b": 3, "c": 0, "d": 1, "e": 1, "expand_lower": False},
    "3+3b": {"a": 3, "b": 3, "c": 0, "d": 1, "e": 1, "expand_lower": True},
    "4+5": {"a": 4, "b": 5, "c": 0, "d": 1, "e": 1, "expand_lower": False},
    "a+b": {},
}

#: Every name :func:`build_design` accepts.
DESIGN_NAMES: tuple[str, ...] = (*_AB, *_LAZY)

#: Options that add a rule around the base design.
RULE_OPTIONS: tuple[str, ...] = (
    "no_skip",
    "stop_tox_threshold",
    "stop_tox_confidence",
    "demand_n",
    "stop_n_mtd",
    "max_patients",
)

#: Options every design call may carry; silently dropped when a constructor does not take them.
_UNIVERSAL = ("n_doses", "target", "start_dose", "cohort_size")


def _normalise(name: str) -> str:
    key = name.strip().lower().replace(" ", "")
    aliases = {
        "i3plus3": "i3+3", "mtpi-2": "mtpi2", "mtpi": "mtpi2", "aplusb": "a+b",
        "titecrm": "tite-crm", "tite_crm": "tite-crm", "titeboin": "tite-boin",
        "tite_boin": "tite-boin", "bfboin": "bf-boin", "bf_boin": "bf-boin",
    }  # fmt: skip
    return aliases.get(key, key)


def design_class(name: str) -> type[Design]:
    """The :class:`Design` subclass behind ``name`` (imports its module on first use)."""
    key = _normalise(name)
    if key in _AB:
        return ABDesign
    if key not in _LAZY:
        raise DesignError(
            f"unknown design {name!r}; choose one of {', '.join(DESIGN_NAMES)}",
            field="design",
            value=name,
        )
    modname, cname = _LAZY[key]
    cls: type[Design] = getattr(importlib.import_module(modname), cname)
    return cls


def build_design(name: str, **options: Any) -> Design:
    """Build design ``name`` with ``options`` (None values are ignored), wrapped in rules.

    Unknown options for the chosen design raise :class:`DesignError` naming the option;
    ``n_doses``/``target``/``start_dose``/``cohort_size`` are dropped where a design does not
    take them (e.g. cohort size of an A+B design is ``a``).
    """
    opts = {k: v for k, v in options.items() if v is not None}
    rules = {k: opts.pop(k) for k in RULE_OPTIONS if k in opts}
    key = _normalise(name)
    cls = design_class(key)
    if key in _AB:
        fixed = _AB[key]
        clash = [k for k in fixed if k in opts and opts[k] != fixed[k]]
        if clash:
            raise DesignError(
                f"{', '.join(clash)} cannot be changed for {key!r}; use --design a+b",
                field=clash[0],
            )
        opts = {**opts, **fixed}
    params = inspect.signature(cls).parameters
    takes_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs: dict[str, Any] = {}
    for k, v in opts.items():
        if k in params or takes_kw:
            kwargs[k] = v
        elif k not in _UNIVERSAL:
            raise DesignError(
                f"not an option of design {key!r} (options: {', '.join(params)})", field=k
            )
    try:
        design: Design = cls(**kwargs)
    except Il2simError:
        raise
    except (TypeError, ValueError) as exc:  # e.g. float("abc") inside a constructor
        field = _culprit(cls, kwargs)
        raise DesignError(
            f"bad value {kwargs.get(field)!r} for design {key!r} ({exc})",
            field=field,
            value=kwargs.get(field),
        ) from None
    n = opts.get("n_doses")
    if n is not None and design.n_doses != int(n):
        raise DesignError(
            f"design has {design.n_doses} doses but {n} were given", field="n_doses", value=n
        )
    return wrap_rules(design, **rules)


def _culprit(cls: type[Design], kwargs: dict[str, Any]) -> str:
    """The option most likely at fault: a text value for a field that is not text."""
    types: dict[str, str] = {}
    if dataclasses.is_dataclass(cls):
        types = {f.name: str(f.type) for f in dataclasses.fields(cls)}
    for k, v in kwargs.items():
        if isinstance(v, str) and "str" not in types.get(k, ""):
            return k
    return "design"


def wrap_rules(
    design: Design,
    no_skip: bool | None = None,
    stop_tox_threshold: float | None = None,
    stop_tox_confidence: float | None = None,
    demand_n: int | None = None,
    stop_n_mtd: int | None = None,
    max_patients: int | None = None,
) -> Design:
    """Wrap ``design`` in the rules asked for, innermost first in the order of the arguments."""
    given = [k for k, v in (("no_skip", no_skip), ("stop_tox_threshold", stop_tox_threshold),
             ("stop_tox_confidence", stop_tox_confidence), ("demand_n", demand_n),
             ("stop_n_mtd", stop_n_mtd), ("max_patients", max_patients)) if v]  # fmt: skip
    if given and getattr(design, "backfill", False):
        raise DesignError("rules are not available with backfill (bf-boin)", field=given[0])
    if no_skip:
        design = dont_skip_doses(design)
    if stop_tox_threshold is not None:
        design = stop_when_too_toxic(
            design,
            stop_tox_threshold,
            stop_tox_confidence if stop_tox_confidence is not None else 0.95,
        )
    elif stop_tox_confidence is not None:
        raise DesignError("needs stop_tox_threshold as well", field="stop_tox_confidence")
    if demand_n is not None:
        design = demand_n_at_dose(design, demand_n)
    if stop_n_mtd is not None:
        design = stop_when_n_at_dose(design, stop_n_mtd)
    if max_patients is not None:
        design = stop_at_n(design, max_patients)
    return design
