"""Calibration of the ``calibrated`` parameters to the seed (Meropol et al. 1996).

Two fits side by side, each writing its own table with the shared comment-preserving
write-back (:func:`il2sim.model.parameters.write_values`):

* :mod:`il2sim.calibrate.model_fit` -- the model's NK and IL-2 targets
  (``model/parameters.toml``): :func:`calibrate`, :func:`check_stored`;
* :mod:`il2sim.calibrate.toxicity_fit` -- the MTD, mild-AE and antibody targets
  (``toxicity/toxicity.toml``), fitted to the calibrated model's exposures:
  :func:`calibrate_toxicity`, :func:`calibrate_and_write`.

``il2sim calibrate [--write] [--check] [--json]`` runs :func:`calibrate` (which, with
``write=True``, refits and writes the toxicity table after the model's) or
:func:`check_stored`.  ``il2sim.calibrate.calibrate(...)`` is the function, as before the
package split.
"""

from il2sim.calibrate.model_fit import CalibrationResult, calibrate, check_stored
from il2sim.calibrate.seed_targets import (
    MTD_MIU_PER_M2,
    SEED_DAYS,
    SEED_LEVELS_MIU_PER_M2,
    TARGET_BRIGHT_PCT,
    TARGET_END_OVER_MAX,
    TARGET_IL2_PEAK_PM,
    TARGET_NK_PCT,
    TARGET_REL_TOL,
    TARGET_T95_DAY,
    LevelMetrics,
    TargetCheck,
    calibration_populations,
    check_targets,
    evaluate,
    level_metrics,
    seed_regimen,
)
from il2sim.calibrate.study_fit import BOUNDS
from il2sim.calibrate.toxicity_fit import (
    DEFAULT_ADA_TARGET,
    DEFAULT_DLT_TARGETS,
    DEFAULT_DLT_WEIGHTS,
    DEFAULT_MILD_TARGETS,
    DEFAULT_MTD_MIU_PER_M2,
    ToxicityCalibration,
    calibrate_and_write,
    calibrate_toxicity,
    fit_toxicity,
)

__all__ = [
    "BOUNDS",
    "DEFAULT_ADA_TARGET",
    "DEFAULT_DLT_TARGETS",
    "DEFAULT_DLT_WEIGHTS",
    "DEFAULT_MILD_TARGETS",
    "DEFAULT_MTD_MIU_PER_M2",
    "MTD_MIU_PER_M2",
    "SEED_DAYS",
    "SEED_LEVELS_MIU_PER_M2",
    "TARGET_BRIGHT_PCT",
    "TARGET_END_OVER_MAX",
    "TARGET_IL2_PEAK_PM",
    "TARGET_NK_PCT",
    "TARGET_REL_TOL",
    "TARGET_T95_DAY",
    "CalibrationResult",
    "LevelMetrics",
    "TargetCheck",
    "ToxicityCalibration",
    "calibrate",
    "calibrate_and_write",
    "calibrate_toxicity",
    "calibration_populations",
    "check_stored",
    "check_targets",
    "evaluate",
    "fit_toxicity",
    "level_metrics",
    "seed_regimen",
]
