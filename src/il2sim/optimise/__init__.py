"""Model-informed regimen optimisation (``il2sim optimise``): the regimen with the highest
probability of an efficacy definition subject to P(DLT) <= a target, over a virtual
population, on the sweep machinery (resumable, Dask).  See docs/optimise.md."""

from il2sim.optimise.search import OptimiseResult, optimise, pareto_front, pick
from il2sim.optimise.space import REFERENCE, Candidate, SearchSpace

__all__ = [
    "REFERENCE",
    "Candidate",
    "OptimiseResult",
    "SearchSpace",
    "optimise",
    "pareto_front",
    "pick",
]
