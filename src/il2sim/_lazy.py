"""Lazily re-exported names (PEP 562): the one ``__getattr__`` of the packages that re-export
names whose modules are heavy to import (the public API ``il2sim``, :mod:`il2sim.toxicity`,
:mod:`il2sim.fit`), so importing the package does not load the solver."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

__all__ = ["lazy_attribute"]


def lazy_attribute(
    package: str, names: Mapping[str, str], namespace: dict[str, Any], name: str
) -> Any:
    """Attribute ``name`` of ``package``: imported from module ``names[name]`` on first access
    and kept in ``namespace`` (the package's ``globals()``), so later accesses are plain
    lookups; :class:`AttributeError` for a name that is not in ``names``."""
    module = names.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    namespace[name] = value
    return value
