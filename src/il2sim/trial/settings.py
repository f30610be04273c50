"""How the patients of an in-silico trial are simulated: one frozen value shared by the
representative trial (:func:`il2sim.trial.run_trial`, :func:`~il2sim.trial.run_trials`), the
pools of the replicate trials (:func:`il2sim.trial.build_pools`) and the library functions of
``il2sim trial`` (:mod:`il2sim.trial.api`), so the list of settings is declared once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from il2sim.population import Population
from il2sim.toxicity import DLTDefinition, ToxEffects, ToxicityParameters, load_toxicity_parameters
from il2sim.trial.cohort import CohortResult, sample_cohort_inputs, simulate_cohort
from il2sim.trial.efficacy import EfficacyDefinition
from il2sim.trial.schedule import DoseModification, Schedule

__all__ = ["CohortSettings"]


@dataclass(frozen=True)
class CohortSettings:
    """The model and the rules every simulated patient goes through.

    ``parameters``: the model's parameter set (None: the packaged v1 set); ``tox``: the toxicity
    table (None: the default table of the model ``parameters`` name); ``schedule``: treatment
    days, DLT window, enrolment gap; ``dlt``: the DLT definition (None: the default one over
    the schedule's DLT window); ``modification``: the dose modification after a DLT (None: the
    default); ``neutralising``: anti-IL-2 antibodies neutralise; ``efficacy``: the model-defined
    response (None: no efficacy endpoint).
    """

    parameters: Any = None
    tox: ToxicityParameters | None = None
    schedule: Schedule = field(default_factory=Schedule)
    dlt: DLTDefinition | None = None
    modification: DoseModification | None = None
    neutralising: bool = False
    efficacy: EfficacyDefinition | None = None

    def resolved(self) -> CohortSettings:
        """The same settings with the toxicity table and the DLT definition filled in."""
        tox = self.tox or load_toxicity_parameters(model=getattr(self.parameters, "model", "v1"))
        dlt = self.dlt or DLTDefinition(window_day=self.schedule.dlt_window_day)
        return replace(self, tox=tox, dlt=dlt)

    def sample_cohort(
        self, size: int, seed: np.random.SeedSequence
    ) -> tuple[Population, ToxEffects]:
        """``size`` virtual patients and their toxicity random effects (needs :meth:`resolved`)."""
        assert self.tox is not None
        return sample_cohort_inputs(size, seed, self.tox, self.parameters)

    def simulate_cohort(
        self, dose_miu_per_m2: float, pop: Population, effects: ToxEffects
    ) -> CohortResult:
        """Patients ``pop`` through the whole schedule at ``dose_miu_per_m2`` MIU/m2/day
        (:func:`il2sim.trial.cohort.simulate_cohort`; needs :meth:`resolved`)."""
        assert self.tox is not None
        return simulate_cohort(
            dose_miu_per_m2, pop, effects, self.tox, self.parameters, self.schedule, self.dlt,
            self.modification, self.neutralising, self.efficacy,
        )  # fmt: skip
