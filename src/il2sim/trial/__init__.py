"""In-silico trials: schedule, cohorts, the enrolment loop and replicates (their CDISC datasets:
:mod:`il2sim.cdisc`)."""

from il2sim.trial.cohort import CohortResult, daily_regimen, simulate_cohort
from il2sim.trial.replicates import Pools, ReplicateResults, build_pools, run_replicates
from il2sim.trial.run import CohortRecord, Trial, run_trial
from il2sim.trial.schedule import DoseModification, Schedule

__all__ = [
    "CohortRecord",
    "CohortResult",
    "DoseModification",
    "Pools",
    "ReplicateResults",
    "Schedule",
    "Trial",
    "build_pools",
    "daily_regimen",
    "run_replicates",
    "run_trial",
    "simulate_cohort",
]
