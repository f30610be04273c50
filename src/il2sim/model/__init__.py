"""The mechanistic IL-2 -> NK model: parameter table, declaration, PK, receptors, NK dynamics.

* :mod:`il2sim.model.parameters` -- the parameter table (``parameters.toml``) and its loader.
* :mod:`il2sim.model.declaration` -- the machinery of a declared model (states, constants,
  derived quantities, rates, dose targets, outputs); :mod:`il2sim.model.symbolic` parses it.
* :mod:`il2sim.model.il2nk` -- the IL-2 PK / receptor / NK model, declared once; the fast and
  reference solvers (:mod:`il2sim.simulate`) and the SBML export (:mod:`il2sim.io.sbml`) are
  generated from it.
* :mod:`il2sim.model.pk`, :mod:`il2sim.model.receptors`, :mod:`il2sim.model.nk` -- the
  pieces' rules and closed forms (used by the declaration and the tests).
"""
