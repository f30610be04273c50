"""Nonlinear mixed-effects estimation (SAEM) of il2sim or any structural model: ``il2sim fit``,
``il2sim vpc``, ``il2sim sensitivity`` (see docs/fit.md).

A layer beside :mod:`il2sim.calibrate`: it uses the model, population, simulation and data
readers, and nothing below imports it.  Names are imported on first use::

    from il2sim.fit import FitSpec, fit, from_long
    from il2sim.fit.toy import OneCompartmentOral
"""

from __future__ import annotations

from typing import Any

from il2sim._lazy import lazy_attribute

#: public name -> module
_EXPORTS: dict[str, str] = {
    "FitData": "il2sim.fit.data",
    "from_long": "il2sim.fit.data",
    "FitSpec": "il2sim.fit.model",
    "StructuralModel": "il2sim.fit.model",
    "SaemOptions": "il2sim.fit.saem",
    "PostOptions": "il2sim.fit.estimate",
    "fit": "il2sim.fit.estimate",
    "FitResult": "il2sim.fit.result",
    "ResidualModel": "il2sim.fit.residual",
    "Il2simDesign": "il2sim.fit.il2sim_model",
    "Il2simModel": "il2sim.fit.il2sim_model",
    "DEFAULT_FREE": "il2sim.fit.il2sim_model",
    "read_dataset": "il2sim.fit.reading",
    "PopulationModel": "il2sim.fit.predictive",
    "simulate_replicates": "il2sim.fit.predictive",
    "npde": "il2sim.fit.predictive",
    "vpc": "il2sim.fit.vpc",
    "VpcResult": "il2sim.fit.vpc",
    "sobol": "il2sim.fit.sensitivity",
    "morris": "il2sim.fit.sensitivity",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a lazily re-exported name on first access (PEP 562)."""
    return lazy_attribute(__name__, _EXPORTS, globals(), name)
