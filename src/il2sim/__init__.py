"""il2sim: in-silico low-dose IL-2 dose-finding trials.

Public API (re-exported here; everything else is private):

* units and regimens: :mod:`il2sim.units`, :class:`Regimen`, :class:`DoseEvent`, :class:`Route`
* errors: :class:`Il2simError`, :class:`InputError`, :class:`DataError`, :class:`DesignError`
"""

from il2sim import units
from il2sim.errors import DataError, DesignError, Il2simError, InputError, ModelError
from il2sim.regimen import DoseEvent, Regimen, Route

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "DesignError",
    "DoseEvent",
    "Il2simError",
    "InputError",
    "ModelError",
    "Regimen",
    "Route",
    "__version__",
    "units",
]
