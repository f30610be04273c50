"""Interoperability: SBML export of the model, NONMEM-style datasets.

Import the submodules (:mod:`il2sim.io.sbml` needs python-libsbml, the ``sbml`` extra).
"""
