"""The seed trial's published facts, in one place.

Meropol NJ, Barresi GM, Fehniger TA, Hitt J, Franklin M, Caligiuri MA.  Evaluation of natural
killer cell expansion and activation in vivo with daily subcutaneous low-dose interleukin-2
plus periodic intermediate-dose pulsing.  *Clin Cancer Res* 1996; 2:669-677 (abstract).

Every number below is the abstract's, except the fields marked *assumption* (the abstract gives
the range and count of the dose levels, not the levels themselves).  Calibration
(:mod:`il2sim.calibrate`), the toxicity and immunogenicity calibrations, ``il2sim reproduce``
and the report read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["MEROPOL_1996", "SeedTrial"]


@dataclass(frozen=True)
class SeedTrial:
    """Published facts of one dose-finding trial (units in the field names)."""

    citation: str
    short_name: str
    n_patients: int
    n_dose_levels: int
    dose_range_miu_per_m2: tuple[float, float]
    #: assumption: evenly spread levels inside the published range
    doses_miu_per_m2: tuple[float, ...]
    cohort_size_range: tuple[int, int]
    n_treatment_days: int
    route: str
    mtd_miu_per_m2: float
    #: mean peak % increase over baseline at the lowest and at the highest level
    nk_peak_increase_pct: tuple[float, float]
    cd56bright_peak_increase_pct: tuple[float, float]
    #: dose dependence: ("<", 0.01) reads "P < 0.01"; ("=", 0.015) reads "P = 0.015"
    nk_trend_p: tuple[str, float]
    cd56bright_trend_p: tuple[str, float]
    #: NK expansion peaked at weeks 6-8 and was sustained through week 12
    nk_peak_weeks: tuple[int, int]
    nk_sustained_week: int
    il2_peak_limit_pm: float
    il2_peak_limit_iu_per_ml: float
    #: patients with (non-neutralising) anti-IL-2 antibodies, of the patients treated
    antibody_positive: tuple[int, int]
    antibody_neutralising: bool
    dlt_types: tuple[str, ...]

    def reference(self) -> dict[str, Any]:
        """The form :func:`il2sim.report.write_report` draws on its figures."""
        return {
            "source": self.short_name,
            "doses_miu_per_m2": list(self.doses_miu_per_m2),
            "mtd_miu_per_m2": self.mtd_miu_per_m2,
            "il2_peak_limit_pm": self.il2_peak_limit_pm,
            "antibody_positive": list(self.antibody_positive),
            "peak_pct_increase": {
                "NKCELLS": dict(zip(("lowest", "highest"), self.nk_peak_increase_pct, strict=True)),
                "NKBRIGHT": dict(
                    zip(("lowest", "highest"), self.cd56bright_peak_increase_pct, strict=True)
                ),
            },
        }


MEROPOL_1996 = SeedTrial(
    citation="Meropol NJ et al. Clin Cancer Res 1996; 2:669-677",
    short_name="Meropol 1996",
    n_patients=38,
    n_dose_levels=7,
    dose_range_miu_per_m2=(0.4, 1.75),
    doses_miu_per_m2=(0.40, 0.60, 0.80, 1.00, 1.25, 1.50, 1.75),
    cohort_size_range=(4, 9),
    n_treatment_days=90,
    route="SUBCUTANEOUS",
    mtd_miu_per_m2=1.25,
    nk_peak_increase_pct=(154.0, 530.0),
    cd56bright_peak_increase_pct=(368.0, 2763.0),
    nk_trend_p=("<", 0.01),
    cd56bright_trend_p=("=", 0.015),
    nk_peak_weeks=(6, 8),
    nk_sustained_week=12,
    il2_peak_limit_pm=10.0,
    il2_peak_limit_iu_per_ml=2.3,
    antibody_positive=(3, 38),
    antibody_neutralising=False,
    dlt_types=("constitutional", "vomiting", "hyperglycemia"),
)
