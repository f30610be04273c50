"""Keyboard design (Yan, Mandrekar & Yuan 2017, Clin Cancer Res 23:3994).

The target key is [target - eps1, target + eps2] (width 0.1 by default); keys of the same width
are laid out on both sides of it inside (0, 1) (pieces at the ends narrower than a full key are
not keys).  With a Beta(1, 1) prior the posterior of the current dose's DLT probability is
Beta(1 + y, 1 + n - y); the "strongest key" (largest posterior mass) decides: left of the
target key escalate, the target key stay, right of it de-escalate.  Elimination as BOIN's
(Pr(p > target | data) > 0.95 once n >= 3, with all higher doses); MTD selection by isotonic
regression as in ``_isotonic`` (the Keyboard package's ``select.mtd.kb`` follows BOIN's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from il2sim.designs.mtpi2 import EquivalenceIntervalDesign, strongest_table, with_elimination

__all__ = ["Keyboard"]


@dataclass(frozen=True)
class Keyboard(EquivalenceIntervalDesign):
    """The Keyboard design with target key [target - eps1, target + eps2]."""

    @property
    def name(self) -> str:
        """``"keyboard"``."""
        return "keyboard"

    def action_table(self, n_max: int) -> npt.NDArray[np.int8]:
        """Strongest key (largest posterior mass among full-width keys) decides."""
        t = strongest_table(self.target, self.eps1, self.eps2, n_max, False, False)
        return with_elimination(t, self)
