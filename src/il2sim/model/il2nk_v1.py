"""Model v1 (v0.1 biology) under its explicit name: :data:`IL2NK_V1` is the default model
:data:`il2sim.model.il2nk.IL2NK` and :data:`V1_TABLE` its table ``parameters.toml``.

Kept as a name so that code and tests that pin v1 say so (``--model v1``,
``load_model_parameters("v1")``); the model choice itself is :mod:`il2sim.model.models`.
"""

from __future__ import annotations

from il2sim.model.il2nk import IL2NK
from il2sim.model.parameters import DEFAULT_TABLE

__all__ = ["IL2NK_V1", "V1_TABLE"]

#: The v1 declaration (the default model).
IL2NK_V1 = IL2NK
#: The v1 parameter table (the packaged default table).
V1_TABLE = DEFAULT_TABLE
