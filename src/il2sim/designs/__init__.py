"""Dose-finding designs: conduct a live trial and simulate operating characteristics.

A :class:`Design` is immutable configuration; ``design.fit(outcomes)`` returns a :class:`Fit`
whose ``decision()`` gives the next dose (levels from 1), the cohort size, whether to stop and
the MTD.  Rules (:mod:`il2sim.designs.rules`) wrap a design and override one decision.
:func:`build_design` builds any design by name; :func:`next_decision` is one conduct step.
Every simulated trial runs in the one :class:`TrialController` (caps, seeding, progress,
interruption; a design's compiled kernel or the generic loop), fed by a patient source;
:func:`simulate_trials` gives operating characteristics in the one schema
(:class:`OperatingCharacteristics`), :func:`exact_oc` exact ones for the A+B family,
:func:`dose_paths` the tree of next-cohort outcomes.  CRM, BOIN, mTPI-2, i3+3 and Keyboard live
in their own modules, imported on first use by :func:`build_design`.
"""

from il2sim.designs.ab import ABDesign, ABFit, exact_oc, four_plus_five, three_plus_three
from il2sim.designs.base import Decision, Design, Fit, Outcomes, check_target, check_truth
from il2sim.designs.conduct import NextDecision, next_decision
from il2sim.designs.controller import (
    Accrual,
    CohortLog,
    Simulation,
    TrialController,
    TrialRecord,
    fixed_gaps,
)
from il2sim.designs.kernels import HARD_CAP_COHORTS, Caps, Kernel, SimulatedTrials
from il2sim.designs.oc import OC_KEYS, OperatingCharacteristics, summarise
from il2sim.designs.paths import DosePaths, PathNode, dose_paths
from il2sim.designs.registry import DESIGN_NAMES, build_design, design_class
from il2sim.designs.rules import (
    Rule,
    demand_n_at_dose,
    dont_skip_doses,
    stop_at_n,
    stop_when_n_at_dose,
    stop_when_too_toxic,
)
from il2sim.designs.simulate import simulate_trial, simulate_trials
from il2sim.designs.sources import BernoulliSource, CohortDraw, PatientSource, PoolSource

__all__ = [
    "DESIGN_NAMES",
    "HARD_CAP_COHORTS",
    "OC_KEYS",
    "ABDesign",
    "ABFit",
    "Accrual",
    "BernoulliSource",
    "Caps",
    "CohortDraw",
    "CohortLog",
    "Decision",
    "Design",
    "DosePaths",
    "Fit",
    "Kernel",
    "NextDecision",
    "OperatingCharacteristics",
    "Outcomes",
    "PathNode",
    "PatientSource",
    "PoolSource",
    "Rule",
    "SimulatedTrials",
    "Simulation",
    "TrialController",
    "TrialRecord",
    "build_design",
    "check_target",
    "check_truth",
    "demand_n_at_dose",
    "design_class",
    "dont_skip_doses",
    "dose_paths",
    "exact_oc",
    "fixed_gaps",
    "four_plus_five",
    "next_decision",
    "simulate_trial",
    "simulate_trials",
    "stop_at_n",
    "stop_when_n_at_dose",
    "stop_when_too_toxic",
    "summarise",
    "three_plus_three",
]
