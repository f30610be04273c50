"""Dose-finding designs: conduct a live trial and simulate operating characteristics.

A :class:`Design` is immutable configuration; ``design.fit(outcomes)`` returns a :class:`Fit`
whose ``decision()`` gives the next dose (levels from 1), the cohort size, whether to stop and
the MTD.  Rules (:mod:`il2sim.designs.rules`) wrap a design and override one decision.
:func:`build_design` builds any design by name; :func:`simulate_trials` gives operating
characteristics; :func:`exact_oc` exact ones for the A+B family; :func:`dose_paths` the tree of
next-cohort outcomes.  CRM, BOIN, mTPI-2, i3+3 and Keyboard live in their own modules, imported
on first use by :func:`build_design`.
"""

from il2sim.designs.ab import ABDesign, ABFit, exact_oc, four_plus_five, three_plus_three
from il2sim.designs.base import (
    Decision,
    Design,
    Fit,
    OperatingCharacteristics,
    Outcomes,
    check_target,
    check_truth,
)
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
from il2sim.designs.simulate import TrialResult, simulate_trial, simulate_trials

__all__ = [
    "DESIGN_NAMES",
    "ABDesign",
    "ABFit",
    "Decision",
    "Design",
    "DosePaths",
    "Fit",
    "OperatingCharacteristics",
    "Outcomes",
    "PathNode",
    "Rule",
    "TrialResult",
    "build_design",
    "check_target",
    "check_truth",
    "demand_n_at_dose",
    "design_class",
    "dont_skip_doses",
    "dose_paths",
    "exact_oc",
    "four_plus_five",
    "simulate_trial",
    "simulate_trials",
    "stop_at_n",
    "stop_when_n_at_dose",
    "stop_when_too_toxic",
    "three_plus_three",
]
