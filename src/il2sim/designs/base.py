"""The dose-finding interface shared by every design (no dependency on the IL-2 model).

Follows R ``escalation`` (brockk/escalation ``R/interface.R``): a :class:`Design` is immutable
configuration (a *factory*); ``design.fit(outcomes)`` returns a :class:`Fit` (a *selector*)
that recommends the next dose, says whether to continue, and selects the MTD.  Rules
(``rules.py``) wrap a parent design and override one decision.  A design may offer a compiled
simulator through :meth:`Design.kernel` (as escalation's ``simulation_function()`` generic);
the controller (``controller.py``) runs every trial loop.

Dose levels are numbered from 1 everywhere a user sees them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from il2sim.designs.outcomes import Decision, Outcomes
from il2sim.errors import DesignError

if TYPE_CHECKING:
    from il2sim.designs.kernels import Caps, Kernel

class Fit(ABC):
    """A design fitted to outcomes (``escalation``'s *selector*)."""

    design: Design
    outcomes: Outcomes

    @abstractmethod
    def decision(self) -> Decision:
        """The decision after these outcomes."""

    def recommended_dose(self) -> int | None:
        """Next dose while the trial continues; the selected MTD once it stops."""
        d = self.decision()
        return d.next_dose if not d.stop else d.mtd

    def should_continue(self) -> bool:
        """True when the design would treat another cohort."""
        return not self.decision().stop

    def mtd(self) -> int | None:
        """Dose level selected as MTD if the trial ended now (None: no dose acceptable)."""
        return self.decision().mtd

    def estimates(self) -> dict[str, Any]:
        """Design-specific current estimates (e.g. posterior toxicity per dose)."""
        n = self.design.n_doses
        return {
            "dose": list(range(1, n + 1)),
            "n": self.outcomes.n_per_dose(n).tolist(),
            "dlt": self.outcomes.dlt_per_dose(n).tolist(),
        }


class Design(ABC):
    """Immutable configuration of a dose-finding design (``escalation``'s *factory*)."""

    n_doses: int
    start_dose: int = 1
    cohort_size: int = 3

    @property
    @abstractmethod
    def name(self) -> str:
        """Short name, e.g. ``"boin"``."""

    @abstractmethod
    def fit(self, outcomes: Outcomes) -> Fit:
        """Fit to outcomes so far."""

    @property
    def requires_sample_size(self) -> bool:
        """True when the design never (or hardly ever) stops on its own, so a simulation needs
        ``max_cohorts`` or ``max_patients`` (CRM, interval designs; not A+B designs)."""
        return False

    @property
    def efficacy(self) -> bool:
        """True for efficacy-toxicity designs (BOIN12): outcomes carry efficacy, the selection
        is an optimal biological dose and the OCs add ``efficacy_per_dose``."""
        return False

    @property
    def uses_efficacy(self) -> bool:
        """True when simulation needs the true efficacy per dose (the efficacy-toxicity designs,
        and BF-BOIN, whose responses open doses for backfill)."""
        return self.efficacy

    @property
    def time_to_event(self) -> bool:
        """True for designs that decide at each arrival from partially observed outcomes
        (TITE-CRM, TITE-BOIN): the controller then runs its time-to-event loop and the design
        supplies ``timing`` (window, accrual, DLT-time distribution)."""
        return False

    def simulation_caps(self, caps: Caps) -> Caps:
        """The caps the controller applies for the user's ``caps`` (default: the same; BOIN
        titration counts its one-patient cohorts apart, see ``_interval``)."""
        return caps

    def kernel(self) -> Kernel | None:
        """The design's compiled simulator (:class:`~il2sim.designs.kernels.Kernel`), or None
        to be simulated by the controller's generic ``fit()`` loop."""
        return None

    def check_outcomes(self, outcomes: Outcomes) -> None:
        """Raise :class:`DesignError` if a dose level is above ``n_doses``."""
        if outcomes.dose.size and outcomes.dose.max() > self.n_doses:
            raise DesignError(
                f"dose level {int(outcomes.dose.max())} is out of range 1..{self.n_doses}",
                field="outcomes",
                value=int(outcomes.dose.max()),
            )


def check_truth(
    truth: Sequence[float] | npt.NDArray[np.float64], field: str = "truth"
) -> npt.NDArray[np.float64]:
    """Validate a true probability curve (``field`` names it in errors): values in [0, 1]."""
    p = np.asarray(truth, dtype=float).ravel()
    if p.size == 0:
        raise DesignError("needs at least one dose", field=field)
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        raise DesignError(
            f"probabilities must be in [0, 1], got {float(p[bad][0])!r}", field=field
        )
    return p


def check_target(target: float) -> float:
    """Validate a target toxicity probability in (0, 1)."""
    t = float(target)
    if not (0.0 < t < 1.0):
        raise DesignError(f"must be in (0, 1), got {target!r}", field="target", value=target)
    return t


class EfficacyToxicityDesign(Design):
    """The properties every efficacy-toxicity design shares (BOIN12, Lin et al. 2020; EffTox,
    Thall & Cook 2004): outcomes carry efficacy, the selection is an optimal biological dose,
    and a simulation needs a sample size (both run a fixed maximum of cohorts)."""

    @property
    def efficacy(self) -> bool:
        """True: an efficacy-toxicity design (its selection is an OBD)."""
        return True

    @property
    def requires_sample_size(self) -> bool:
        """True (BOIN12 escalates to ``stop_at_n``; ``efftox_simulate`` runs a fixed list of
        cohorts)."""
        return True
