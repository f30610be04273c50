"""The sweep's ``simulate`` chunk: a streamed summary with model parameters overridden.

Streaming itself lives in the simulate layer (:mod:`il2sim.simulate.stream`); import its names
from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from il2sim.model.parameters import load_parameters
from il2sim.simulate.stream import simulate_streaming

__all__ = ["simulate_batch_summary"]


def simulate_batch_summary(
    regimen: str,
    n: int,
    seed: np.random.SeedSequence,
    *,
    horizon_day: float | None = None,
    solver: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One sweep chunk of the ``simulate`` kind: :func:`simulate_streaming` of ``n`` patients
    with the model parameters in ``overrides`` replaced (``Parameters.with_params``)."""
    params = load_parameters()
    if overrides:
        params = params.with_params(**{k: float(v) for k, v in overrides.items()})
    return simulate_streaming(
        regimen,
        int(n),
        seed,
        batch_size=max(int(n), 1),
        parameters=params,
        horizon_day=None if horizon_day is None else float(horizon_day),
        solver=solver or "fast",
    )
