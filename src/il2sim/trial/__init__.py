"""In-silico trials: schedule, model-simulated cohorts and replicates (their CDISC datasets:
:mod:`il2sim.cdisc`).

Every trial loop runs in :class:`il2sim.designs.TrialController`; this package provides its
patient sources (:class:`ModelCohortSource`; pools for :class:`il2sim.designs.PoolSource`) and
the trial records.
"""

from il2sim.trial.api import ReplicateOutput, TrialOutput, conduct_trial, replicate_trials
from il2sim.trial.cohort import CohortResult, daily_regimen, simulate_cohort
from il2sim.trial.replicates import Pools, ReplicateResults, build_pools, run_replicates
from il2sim.trial.run import CohortRecord, ModelCohortSource, Trial, run_trial, run_trials
from il2sim.trial.schedule import DoseModification, Schedule
from il2sim.trial.settings import CohortSettings

__all__ = [
    "CohortRecord",
    "CohortResult",
    "CohortSettings",
    "DoseModification",
    "ModelCohortSource",
    "Pools",
    "ReplicateOutput",
    "ReplicateResults",
    "Schedule",
    "Trial",
    "TrialOutput",
    "build_pools",
    "conduct_trial",
    "daily_regimen",
    "replicate_trials",
    "run_replicates",
    "run_trial",
    "run_trials",
    "simulate_cohort",
]
