"""The model handle: a model is chosen by name, in one way.

``"v1"`` (the default) is :data:`il2sim.model.il2nk.IL2NK` with ``parameters.toml``; ``"v2"``
is :data:`il2sim.model.il2nk_v2.IL2NK_V2` with ``parameters_v2.toml`` (Tregs, Tconv, CD8,
receptors from cell counts).  A parameter set names its model (:attr:`Parameters.model`, the
table's top-level ``model = "v2"``), and :func:`il2sim.simulate.simulate` runs the declaration
the parameters name; the CLI's ``--model v1|v2`` loads :func:`load_model_parameters`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from il2sim.errors import InputError
from il2sim.model.parameters import DEFAULT_TABLE, MODEL_DIR, Parameters, load_parameters

if TYPE_CHECKING:
    from il2sim.model.declaration import Model

__all__ = ["DEFAULT_MODEL", "MODEL_NAMES", "declaration", "load_model_parameters", "model_table",
           "toxicity_table"]

#: The default model.
DEFAULT_MODEL = "v1"
#: Every model name.
MODEL_NAMES = ("v1", "v2")

_TABLES = {"v1": DEFAULT_TABLE, "v2": MODEL_DIR / "parameters_v2.toml"}
_TOX = {"v1": "toxicity.toml", "v2": "toxicity_v2.toml"}


def _check(name: str) -> str:
    if name not in MODEL_NAMES:
        raise InputError(f"unknown model {name!r} (known: {', '.join(MODEL_NAMES)})",
                         field="model", value=name)
    return name


def declaration(name: str = DEFAULT_MODEL) -> Model:
    """The declared model called ``name``."""
    if _check(name) == "v2":
        from il2sim.model.il2nk_v2 import IL2NK_V2

        return IL2NK_V2
    from il2sim.model.il2nk import IL2NK

    return IL2NK


def model_table(name: str = DEFAULT_MODEL) -> Path:
    """The packaged parameter table of model ``name``."""
    return _TABLES[_check(name)]


def toxicity_table(name: str = DEFAULT_MODEL) -> Path:
    """The packaged toxicity table calibrated on model ``name``."""
    return MODEL_DIR.parent / "toxicity" / _TOX[_check(name)]


def load_model_parameters(name: str = DEFAULT_MODEL) -> Parameters:
    """The packaged parameter set of model ``name`` (it names its model)."""
    return load_parameters(model_table(name))
