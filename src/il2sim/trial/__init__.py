"""In-silico trials: schedule, cohorts, the enrolment loop, replicates and SDTM writers."""

from il2sim.trial.cohort import CohortResult, daily_regimen, simulate_cohort
from il2sim.trial.replicates import Pools, ReplicateResults, build_pools, run_replicates
from il2sim.trial.run import CohortRecord, Trial, run_trial
from il2sim.trial.schedule import DoseModification, Schedule
from il2sim.trial.sdtm import DOMAINS, build_sdtm, write_sdtm

__all__ = [
    "DOMAINS",
    "CohortRecord",
    "CohortResult",
    "DoseModification",
    "Pools",
    "ReplicateResults",
    "Schedule",
    "Trial",
    "build_pools",
    "build_sdtm",
    "daily_regimen",
    "run_replicates",
    "run_trial",
    "simulate_cohort",
    "write_sdtm",
]
