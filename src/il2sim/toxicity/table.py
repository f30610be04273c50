"""The toxicity layer's parameter table, ``toxicity/toxicity.toml``: load it, write calibrated
values back, and check that it was calibrated against the current model table.

The table has the schema of every parameter table (:mod:`il2sim.model.parameters`: ``value``,
``unit``, ``bpv_cv``, ``source``, ``description``) and loads into the same
:class:`~il2sim.model.parameters.Parameters` type; :data:`ToxicityParameters` is that type
under the name the toxicity functions use.  It is never merged into the model's table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from il2sim.errors import ModelError
from il2sim.model.parameters import Parameters, load_parameters, read_table, write_values

__all__ = [
    "TOXICITY_TABLE",
    "ToxicityParameters",
    "load_toxicity_parameters",
    "model_fingerprint",
    "toxicity_is_current",
    "write_toxicity_values",
]

#: The packaged toxicity table.
TOXICITY_TABLE = Path(__file__).resolve().with_name("toxicity.toml")

#: The toxicity table's type: the one :class:`~il2sim.model.parameters.Parameters` type.
ToxicityParameters = Parameters


def load_toxicity_parameters(path: str | Path | None = None, model: str = "v1") -> Parameters:
    """Load the toxicity table (default: the packaged table calibrated on ``model``:
    ``toxicity/toxicity.toml`` for v1, ``toxicity_v2.toml`` for v2).

    Every value must be >= 0 (rates, thresholds, exponents and probabilities); a malformed
    table raises :class:`~il2sim.errors.ModelError` naming the entry.
    """
    if path is None:
        from il2sim.model.models import toxicity_table

        path = toxicity_table(model)
    specs = read_table(Path(path))
    for name, spec in specs.items():
        if spec.value < 0:
            raise ModelError(f"value must be >= 0, got {spec.value!r}", field=name)
    return Parameters(specs)


def write_toxicity_values(updates: Mapping[str, float], path: str | Path | None = None) -> Path:
    """Write calibrated values into the toxicity table (default: the packaged one) with the
    shared comment-preserving write-back (:func:`il2sim.model.parameters.write_values`)."""
    return write_values(updates, path if path is not None else TOXICITY_TABLE)


def model_fingerprint(parameters: Parameters | None = None) -> int:
    """A 48-bit fingerprint of the model table's values and CVs (``model/parameters.toml``, not
    the toxicity table): the toxicity calibration stores it as ``model_fingerprint`` so a
    stale calibration (model changed since) can be detected."""
    p = parameters if parameters is not None else load_parameters()
    text = ";".join(f"{n}={p.value(n)!r},{p.bpv_cv(n)!r}" for n in sorted(p.names))
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def toxicity_is_current(
    tox: Parameters | None = None, parameters: Parameters | None = None
) -> bool:
    """True if ``tox`` was calibrated against ``parameters`` (default: the packaged ones)."""
    t = tox if tox is not None else load_toxicity_parameters(
        model=parameters.model if parameters is not None else "v1")
    if "model_fingerprint" not in t:
        return False
    return int(t.value("model_fingerprint")) == model_fingerprint(parameters)
