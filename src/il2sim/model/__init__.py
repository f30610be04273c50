"""The mechanistic IL-2 -> NK model: parameter table, PK, receptors, NK dynamics.

* :mod:`il2sim.model.parameters` -- the parameter table (``parameters.toml``) and its loader.
* :mod:`il2sim.model.pk`, :mod:`il2sim.model.receptors`, :mod:`il2sim.model.nk` -- the pieces,
  with closed forms used by the tests.
* :mod:`il2sim.model.system` -- the assembled ODE right-hand side shared by both solvers.
"""
