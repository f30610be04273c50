"""Toxicity, DLT and immunogenicity: the layer above :mod:`il2sim.simulate`.

It reads what the model simulated (daily peak serum IL-2, doses given) and turns it into
adverse events graded by CTCAE v5, dose-limiting toxicities and anti-IL-2 antibodies, for
one patient or a population; its parameters are its own table, ``toxicity/toxicity.toml``
(never merged into the model's).  It imports the layers below it only (units, regimen, model,
population, simulate); designs and trials use it, and its calibration lives in
:mod:`il2sim.calibrate.toxicity_fit`.

* :mod:`~il2sim.toxicity.catalogue` -- the AE types, their grading rules, the DLT rule;
* :mod:`~il2sim.toxicity.table` -- the table, its write-back and its model fingerprint;
* :mod:`~il2sim.toxicity.grading` -- scores, grades, the closed-form DLT probability;
* :mod:`~il2sim.toxicity.immunogenicity` -- antibody onset and neutralisation;
* :mod:`~il2sim.toxicity.clock` -- the study clock (study day 1 = the day of the first dose);
* :mod:`~il2sim.toxicity.outcomes` -- per-patient outcomes of a simulation and their summary;
* :mod:`~il2sim.toxicity.exposure` -- daily exposure of a seed-like cohort (calibration);
* :mod:`~il2sim.toxicity.run` -- simulate + summarise, what ``il2sim simulate`` prints.

The names of the last three modules (which import the solver) are loaded on first use
(PEP 562), so importing the catalogue does not load numba.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from il2sim._lazy import lazy_attribute
from il2sim.toxicity.catalogue import AE_TYPES, GLUCOSE_GRADE_MG_PER_DL, N_AE, AEType, DLTDefinition
from il2sim.toxicity.clock import (
    daily_dose_miu,
    first_dose_model_day,
    observed_days,
    to_study_days,
    treated_days,
)
from il2sim.toxicity.grading import (
    DLTRealisation,
    ToxEffects,
    daily_grades,
    dlt_probability,
    p_grade_at_least,
    realise_dlt,
    sample_tox_effects,
    score_base,
    score_thresholds,
)
from il2sim.toxicity.immunogenicity import (
    ada_hazard_per_day,
    ada_onset_day,
    ada_probability,
    neutralising_scale,
    regimen_dose_per_m2,
)
from il2sim.toxicity.table import (
    TOXICITY_TABLE,
    ToxicityParameters,
    load_toxicity_parameters,
    model_fingerprint,
    toxicity_is_current,
    write_toxicity_values,
)

#: public name -> module it lives in (imported on first attribute access)
_LAZY: dict[str, str] = {
    "EXPOSURE_SOLVER": "il2sim.toxicity.exposure",
    "simulate_exposure": "il2sim.toxicity.exposure",
    "PatientToxicity": "il2sim.toxicity.outcomes",
    "realise_toxicity": "il2sim.toxicity.outcomes",
    "toxicity_summary": "il2sim.toxicity.outcomes",
    "SimulationRun": "il2sim.toxicity.run",
    "ToxicityExtra": "il2sim.toxicity.run",
    "run_simulation": "il2sim.toxicity.run",
    "summarise": "il2sim.toxicity.run",
}

if TYPE_CHECKING:  # pragma: no cover - static view of the lazy names
    from il2sim.toxicity.exposure import EXPOSURE_SOLVER, simulate_exposure
    from il2sim.toxicity.outcomes import PatientToxicity, realise_toxicity, toxicity_summary
    from il2sim.toxicity.run import SimulationRun, ToxicityExtra, run_simulation, summarise


def __getattr__(name: str) -> Any:
    """Import a lazily re-exported name on first access (PEP 562)."""
    return lazy_attribute(__name__, _LAZY, globals(), name)


__all__ = [
    "AE_TYPES",
    "EXPOSURE_SOLVER",
    "GLUCOSE_GRADE_MG_PER_DL",
    "N_AE",
    "TOXICITY_TABLE",
    "AEType",
    "DLTDefinition",
    "DLTRealisation",
    "PatientToxicity",
    "SimulationRun",
    "ToxEffects",
    "ToxicityExtra",
    "ToxicityParameters",
    "ada_hazard_per_day",
    "ada_onset_day",
    "ada_probability",
    "daily_dose_miu",
    "daily_grades",
    "dlt_probability",
    "first_dose_model_day",
    "load_toxicity_parameters",
    "model_fingerprint",
    "neutralising_scale",
    "observed_days",
    "p_grade_at_least",
    "realise_dlt",
    "realise_toxicity",
    "regimen_dose_per_m2",
    "run_simulation",
    "sample_tox_effects",
    "score_base",
    "score_thresholds",
    "simulate_exposure",
    "summarise",
    "to_study_days",
    "toxicity_is_current",
    "toxicity_summary",
    "treated_days",
    "write_toxicity_values",
]
