"""i3+3 design (Liu, Wang & Ji 2020, Stat Biopharm Res 12:201).

With equivalence interval EI = [target - eps1, target + eps2] and y DLTs of n patients at the
current dose: escalate if y/n is below EI; stay if y/n is in EI; above EI, stay if (y - 1)/n is
below EI and de-escalate otherwise.  Safety rule as in mTPI-2 (Pr(p > target | y, n) > 0.95
under Beta(1, 1) once n >= 3: eliminate the dose and all higher ones); MTD selection by
isotonic regression as in ``_isotonic``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from il2sim.designs._interval import DEESCALATE, ESCALATE, STAY
from il2sim.designs.mtpi2 import EquivalenceIntervalDesign, with_elimination

__all__ = ["I3Plus3"]

_TOL = 1e-12  # so that y/n exactly on an EI edge counts as inside


@dataclass(frozen=True)
class I3Plus3(EquivalenceIntervalDesign):
    """The i3+3 design with equivalence interval [target - eps1, target + eps2]."""

    @property
    def name(self) -> str:
        """``"i3+3"``."""
        return "i3+3"

    def action_table(self, n_max: int) -> npt.NDArray[np.int8]:
        """The i3+3 rule (see the module docstring), with elimination marked as de-escalate."""
        lo = self.target - self.eps1 - _TOL
        hi = self.target + self.eps2 + _TOL
        table = np.zeros((n_max + 1, n_max + 1), dtype=np.int8)
        for n in range(1, n_max + 1):
            for y in range(n + 1):
                r = y / n
                if r < lo:
                    table[n, y] = ESCALATE
                elif r <= hi:
                    table[n, y] = STAY
                elif (y - 1) / n < lo:
                    table[n, y] = STAY
                else:
                    table[n, y] = DEESCALATE
        return with_elimination(table, self)
