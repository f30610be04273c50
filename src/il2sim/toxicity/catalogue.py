"""The AE catalogue (CTCAE v5 grading rules of the modelled adverse events) and the DLT rule.

Model (parameters in ``toxicity/toxicity.toml``, each with unit, variability and source):

* Systemic AEs are driven by the daily peak serum IL-2 ``E[i, d]`` (pM, the model's
  ``il2_daily_max_pm``): the literature links systemic IL-2 toxicity to peak levels.  For AE
  type ``k`` and patient ``i`` the daily *score* is

      S[i, k, d] = eta[i, k] * (E[i, d] / (tox_ec50_pm * rel_k)) ** hill_k

  with ``eta`` log-normal (median 1, CV ``bpv_cv`` of ``rel_k``): between-patient sensitivity;
  ``hill_k`` is ``tox_hill`` (steep: vomiting, hyperglycemia) or ``constitutional_hill``
  (shallow: fever/chills, fatigue -- mild symptoms common over a wide dose range).
* The injection-site reaction is local: its score is driven by the flat s.c. dose injected that
  day, ``S = eta * (dose_miu / isr_d50_miu) ** isr_hill``.
* The score is mapped to a simulated physiological quantity and graded by CTCAE v5 thresholds
  (the rule is in each :class:`AEType`'s ``rule``).  A grade is a step function of the score.

The maths (scores, grades, closed-form DLT probability) is :mod:`il2sim.toxicity.grading`; the
calibration of the ``calibrated`` rows to the seed (Meropol et al. 1996, Clin Cancer Res
2:669) is :mod:`il2sim.calibrate.toxicity_fit`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.errors import InputError

__all__ = ["AE_TYPES", "GLUCOSE_GRADE_MG_PER_DL", "N_AE", "AEType", "DLTDefinition"]

_INF = math.inf


@dataclass(frozen=True)
class AEType:
    """One AE type: SDTM terms, what drives it, its score thresholds for grades 1..4.

    ``thresholds`` are score values (inf = grade not reachable in the model); the
    hyperglycemia thresholds depend on the patient's baseline glucose and are built in
    :func:`il2sim.toxicity.grading.score_thresholds`.
    """

    code: str
    term: str
    decod: str
    driver: str  # "systemic" or "local"
    param: str  # toxicity.toml row with rel (systemic) or d50 (local) and bpv_cv
    hill: str  # toxicity.toml row with the exponent of the score
    thresholds: tuple[float, float, float, float]
    rule: str


#: Fasting plasma glucose thresholds for hyperglycemia grades 1..4, mg/dL.  CTCAE v5 grades
#: hyperglycemia by the intervention needed; il2sim uses the numeric fasting-glucose grades of
#: CTCAE v4.03 (>ULN, >160, >250, >500 mg/dL) as the observable proxy, ULN = 110 mg/dL.
GLUCOSE_GRADE_MG_PER_DL: tuple[float, float, float, float] = (110.0, 160.0, 250.0, 500.0)

#: The modelled AE types, in the fixed order of every (P, K, ...) array and of the toxicity
#: random effects (:func:`il2sim.toxicity.grading.sample_tox_effects`).
AE_TYPES: tuple[AEType, ...] = (
    AEType(
        "FEVER",
        "Fever and chills",
        "Pyrexia",
        "systemic",
        "rel_fever",
        "constitutional_hill",
        (1.0, 2.0, 3.0, 4.0),
        "simulated peak body temperature T = 37.0 + S degC; CTCAE v5 fever: grade 1 38.0-39.0, "
        "grade 2 >39.0-40.0, grade 3 >40.0 (<=24 h), grade 4 >40.0 for >24 h (proxy: >= 41.0)",
    ),
    AEType(
        "FATIGUE",
        "Fatigue",
        "Fatigue",
        "systemic",
        "rel_fatigue",
        "constitutional_hill",
        (1.0, 2.0, 4.0, _INF),
        "score S on a 0-4 ADL scale; CTCAE v5 fatigue: grade 1 relieved by rest (S >= 1), "
        "grade 2 limiting instrumental ADL (S >= 2), grade 3 limiting self-care ADL (S >= 4); "
        "no grade 4",
    ),
    AEType(
        "VOMIT",
        "Nausea and vomiting",
        "Vomiting",
        "systemic",
        "rel_vomiting",
        "tox_hill",
        (0.5, 1.5, 3.0, 10.0),
        "simulated vomiting episodes per 24 h = 2 S; CTCAE v5 vomiting: grade 1 1-2 episodes, "
        "grade 2 3-5, grade 3 >= 6, grade 4 life-threatening (proxy: >= 20 episodes)",
    ),
    AEType(
        "HYPERGLY",
        "Hyperglycemia",
        "Hyperglycaemia",
        "systemic",
        "rel_hyperglycemia",
        "tox_hill",
        (_INF, _INF, _INF, _INF),
        "simulated fasting glucose G = G0 (1 + S) mg/dL; grades by CTCAE v4.03 fasting glucose "
        "(the numeric proxy of CTCAE v5's intervention-based grades): grade 1 > ULN (110), "
        "grade 2 > 160, grade 3 > 250, grade 4 > 500 mg/dL",
    ),
    AEType(
        "ISR",
        "Injection site reaction",
        "Injection site reaction",
        "local",
        "isr_d50_miu",
        "isr_hill",
        (1.0, 4.0, 16.0, _INF),
        "local score S = eta (dose_MIU / isr_d50_miu)^isr_hill; CTCAE v5 injection site "
        "reaction: grade 1 tenderness/erythema/itching (S >= 1), grade 2 pain, edema, "
        "lipodystrophy (S >= 4), grade 3 ulceration or necrosis (S >= 16); no grade 4",
    ),
)
#: Number of modelled AE types K.
N_AE = len(AE_TYPES)


@dataclass(frozen=True)
class DLTDefinition:
    """What counts as a DLT.

    ``min_grade``: grade that is a DLT by itself (default 3: "grade >= 3 non-hematologic");
    ``grade2_stops``: a grade-2 AE forcing a stop (probability ``grade2_stop_prob``) is a DLT;
    ``window_day``: DLT assessment window, study days 1..window_day (default 28; study day 1
    is the day of the first dose, :mod:`il2sim.toxicity.clock`);
    ``eligible``: AE codes that count (default: all, all modelled AEs are non-hematologic).
    """

    min_grade: int = 3
    grade2_stops: bool = True
    window_day: int = 28
    eligible: tuple[str, ...] = tuple(a.code for a in AE_TYPES)

    def __post_init__(self) -> None:
        if not 1 <= self.min_grade <= 5:
            raise InputError(f"must be in 1..5, got {self.min_grade}", field="dlt min_grade")
        if self.window_day < 1:
            raise InputError(f"must be >= 1 day, got {self.window_day}", field="dlt window_day")
        codes = {a.code for a in AE_TYPES}
        bad = [c for c in self.eligible if c not in codes]
        if bad:
            raise InputError(f"unknown AE code {bad[0]!r} (known: {sorted(codes)})", field="dlt")

    @property
    def mask(self) -> npt.NDArray[np.bool_]:
        """(K,) True for eligible AE types, in :data:`AE_TYPES` order."""
        return np.array([a.code in self.eligible for a in AE_TYPES])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "min_grade": self.min_grade,
            "grade2_stops": self.grade2_stops,
            "window_day": self.window_day,
            "eligible": list(self.eligible),
        }
