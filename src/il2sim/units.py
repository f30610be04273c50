"""Unit conversions for il2sim.  Nothing else in il2sim converts units.

Conventions (see ``../shared/reference/science.md`` §2):

* Concentration: the seed (Meropol et al. 1996, Clin Cancer Res 2:669) states
  10 pM = 2.3 IU/ml, so 1 IU/ml = 10/2.3 = 4.3478 pM.  This is the default.
* Documented alternative (aldesleukin label): 18 MIU = 1.1 mg, i.e. 16.4 MIU/mg specific
  activity, molecular weight 15.3 kDa.  With that convention 1 IU = 1/16.4e6 mg =
  6.098e-8 mg, so 1 IU/ml = 6.098e-5 mg/l = 3.985 pM (vs 4.348 pM by the seed).
* Mass: ng/ml <-> pM via the molecular weight (15.3 kDa): 1 ng/ml = 1e-6 g/l / 15300 g/mol
  = 65.36 pM.
* Doses: MIU <-> IU (1 MIU = 1e6 IU); ug <-> IU via the specific activity; per m2 <-> flat
  via body-surface area.
* Body-surface area: Mosteller (1987, N Engl J Med 317:1098) sqrt(h*w/3600);
  DuBois & DuBois (1916) 0.007184 * w^0.425 * h^0.725.

Time inside il2sim is in days; ``HOURS_PER_DAY`` and friends live here too.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt

from il2sim.errors import InputError

FloatLike = TypeVar("FloatLike", float, npt.NDArray[np.float64])

# --- constants (each with its source) ------------------------------------------------------
#: Seed convention: 10 pM = 2.3 IU/ml (Meropol 1996 abstract).
PM_PER_IU_PER_ML_SEED: Final[float] = 10.0 / 2.3
#: Aldesleukin label: 18 MIU = 1.1 mg -> 16.36 MIU/mg, quoted as 16.4 MIU/mg.
MIU_PER_MG_LABEL: Final[float] = 16.4
#: IL-2 (aldesleukin) molecular weight, g/mol (15.3 kDa; product information).
IL2_MW_G_PER_MOL: Final[float] = 15300.0
IU_PER_MIU: Final[float] = 1.0e6
HOURS_PER_DAY: Final[float] = 24.0
MINUTES_PER_DAY: Final[float] = 1440.0
ML_PER_L: Final[float] = 1000.0
#: Avogadro's number, 1/mol (CODATA exact).
AVOGADRO_PER_MOL: Final[float] = 6.02214076e23
UL_PER_L: Final[float] = 1.0e6


class ConcConvention(str, Enum):
    """Which IU <-> molar conversion to use."""

    SEED = "seed"  # 10 pM = 2.3 IU/ml
    LABEL = "label"  # 16.4 MIU/mg and 15.3 kDa


def pm_per_iu_per_ml(convention: ConcConvention | str = ConcConvention.SEED) -> float:
    """pM that correspond to 1 IU/ml under ``convention``."""
    conv = ConcConvention(convention)
    if conv is ConcConvention.SEED:
        return PM_PER_IU_PER_ML_SEED
    # 1 IU/ml = 1e3 IU/l; mg/l = IU/l / (IU/mg); mol/l = g/l / MW
    mg_per_l = 1.0e3 / (MIU_PER_MG_LABEL * IU_PER_MIU)
    return mg_per_l * 1.0e-3 / IL2_MW_G_PER_MOL * 1.0e12


def iu_per_ml_to_pm(
    conc_iu_per_ml: FloatLike, convention: ConcConvention | str = ConcConvention.SEED
) -> FloatLike:
    """Convert IU/ml to pM."""
    return conc_iu_per_ml * pm_per_iu_per_ml(convention)


def pm_to_iu_per_ml(
    conc_pm: FloatLike, convention: ConcConvention | str = ConcConvention.SEED
) -> FloatLike:
    """Convert pM to IU/ml."""
    return conc_pm / pm_per_iu_per_ml(convention)


def ng_per_ml_to_pm(conc_ng_per_ml: FloatLike, mw_g_per_mol: float = IL2_MW_G_PER_MOL) -> FloatLike:
    """Convert ng/ml to pM via the molecular weight (1 ng/ml = 1e-6 g/l)."""
    return conc_ng_per_ml * 1.0e-6 / mw_g_per_mol * 1.0e12


def pm_to_ng_per_ml(conc_pm: FloatLike, mw_g_per_mol: float = IL2_MW_G_PER_MOL) -> FloatLike:
    """Convert pM to ng/ml."""
    return conc_pm * 1.0e-12 * mw_g_per_mol * 1.0e6


def iu_per_ml_to_ng_per_ml(
    conc_iu_per_ml: FloatLike, convention: ConcConvention | str = ConcConvention.SEED
) -> FloatLike:
    """Convert IU/ml to ng/ml (through pM)."""
    return pm_to_ng_per_ml(iu_per_ml_to_pm(conc_iu_per_ml, convention))


def ng_per_ml_to_iu_per_ml(
    conc_ng_per_ml: FloatLike, convention: ConcConvention | str = ConcConvention.SEED
) -> FloatLike:
    """Convert ng/ml to IU/ml (through pM)."""
    return pm_to_iu_per_ml(ng_per_ml_to_pm(conc_ng_per_ml), convention)


def miu_to_iu(amount_miu: FloatLike) -> FloatLike:
    """Million international units -> international units."""
    return amount_miu * IU_PER_MIU


def iu_to_miu(amount_iu: FloatLike) -> FloatLike:
    """International units -> million international units."""
    return amount_iu / IU_PER_MIU


def ug_to_iu(amount_ug: FloatLike, miu_per_mg: float = MIU_PER_MG_LABEL) -> FloatLike:
    """Micrograms of aldesleukin -> IU via the label's specific activity (16.4 MIU/mg)."""
    return amount_ug * 1.0e-3 * miu_per_mg * IU_PER_MIU


def iu_to_ug(amount_iu: FloatLike, miu_per_mg: float = MIU_PER_MG_LABEL) -> FloatLike:
    """IU -> micrograms of aldesleukin via the label's specific activity."""
    return amount_iu / (miu_per_mg * IU_PER_MIU) * 1.0e3


#: Dose amount units accepted by regimens, with their factor to IU.
AMOUNT_UNITS: Final[tuple[str, ...]] = ("IU", "KIU", "MIU", "UG", "MG")


def amount_to_iu(amount: FloatLike, unit: str) -> FloatLike:
    """Convert a dose amount in ``unit`` (IU, kIU, MIU, ug, mg; case-insensitive) to IU."""
    u = unit.strip().upper().replace("µ", "U")
    if u in ("IU", "U"):
        return amount * 1.0
    if u in ("KIU", "KU"):
        return amount * 1.0e3
    if u in ("MIU", "MU"):
        return miu_to_iu(amount)
    if u in ("UG", "MCG"):
        return ug_to_iu(amount)
    if u == "MG":
        return ug_to_iu(amount * 1.0e3)
    raise InputError(
        f"unknown amount unit {unit!r} (expected IU, kIU, MIU, ug or mg)", field="unit"
    )


def iu_to_amount(amount_iu: FloatLike, unit: str) -> FloatLike:
    """Inverse of :func:`amount_to_iu`."""
    return amount_iu / amount_to_iu(1.0, unit)


def per_m2_to_flat(dose_per_m2: FloatLike, bsa_m2: FloatLike) -> FloatLike:
    """Dose per m2 of body surface -> flat dose for a patient of ``bsa_m2``."""
    return dose_per_m2 * bsa_m2


def flat_to_per_m2(dose_flat: FloatLike, bsa_m2: FloatLike) -> FloatLike:
    """Flat dose -> dose per m2 of body surface."""
    return dose_flat / bsa_m2


def _check_positive(name: str, x: FloatLike) -> None:
    arr = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        bad = arr[~(np.isfinite(arr) & (arr > 0))].ravel()[0]
        raise InputError(f"must be a positive number, got {float(bad)!r}", field=name)


def bsa_mosteller_m2(height_cm: FloatLike, weight_kg: FloatLike) -> FloatLike:
    """Mosteller body-surface area, m2: sqrt(height_cm * weight_kg / 3600) (Mosteller 1987)."""
    _check_positive("height_cm", height_cm)
    _check_positive("weight_kg", weight_kg)
    if isinstance(height_cm, float) and isinstance(weight_kg, float):
        return math.sqrt(height_cm * weight_kg / 3600.0)
    return np.sqrt(np.asarray(height_cm) * np.asarray(weight_kg) / 3600.0)


def bsa_dubois_m2(height_cm: FloatLike, weight_kg: FloatLike) -> FloatLike:
    """DuBois & DuBois body-surface area, m2: 0.007184 * w^0.425 * h^0.725 (DuBois 1916)."""
    _check_positive("height_cm", height_cm)
    _check_positive("weight_kg", weight_kg)
    return 0.007184 * np.power(weight_kg, 0.425) * np.power(height_cm, 0.725)


def bsa_m2(height_cm: FloatLike, weight_kg: FloatLike, method: str = "mosteller") -> FloatLike:
    """Body-surface area by ``method`` (``mosteller`` or ``dubois``)."""
    m = method.lower()
    if m == "mosteller":
        return bsa_mosteller_m2(height_cm, weight_kg)
    if m in ("dubois", "du bois"):
        return bsa_dubois_m2(height_cm, weight_kg)
    raise InputError(
        f"unknown BSA method {method!r} (expected mosteller or dubois)", field="method"
    )


def days_to_hours(t_days: FloatLike) -> FloatLike:
    """Days -> hours."""
    return t_days * HOURS_PER_DAY


def hours_to_days(t_hours: FloatLike) -> FloatLike:
    """Hours -> days."""
    return t_hours / HOURS_PER_DAY


TIME_UNITS_PER_DAY: Final[dict[str, float]] = {
    "d": 1.0,
    "day": 1.0,
    "days": 1.0,
    "h": 24.0,
    "hr": 24.0,
    "hour": 24.0,
    "hours": 24.0,
    "min": 1440.0,
    "minute": 1440.0,
    "minutes": 1440.0,
    "w": 1.0 / 7.0,
    "wk": 1.0 / 7.0,
    "week": 1.0 / 7.0,
    "weeks": 1.0 / 7.0,
}


def time_to_days(t: FloatLike, unit: str) -> FloatLike:
    """Convert a time in ``unit`` (d, h, min, week) to days."""
    try:
        per_day = TIME_UNITS_PER_DAY[unit.strip().lower()]
    except KeyError:
        raise InputError(
            f"unknown time unit {unit!r} (expected d, h, min or week)", field="time unit"
        ) from None
    return t / per_day


def days_to_time(t_days: FloatLike, unit: str) -> FloatLike:
    """Convert days to ``unit`` (d, h, min, week)."""
    return t_days / time_to_days(1.0, unit)


def per_ul_to_per_l(count_per_ul: FloatLike) -> FloatLike:
    """cells/ul -> cells/l."""
    return count_per_ul * UL_PER_L


def iu_to_mol(
    amount_iu: FloatLike, convention: ConcConvention | str = ConcConvention.SEED
) -> FloatLike:
    """IU of IL-2 -> mol, consistent with the concentration convention (1 IU in 1 ml has the
    molar concentration of 1 IU/ml: 4.348 pM by the seed, so 1 IU = 4.348e-15 mol)."""
    return amount_iu * pm_per_iu_per_ml(convention) * 1.0e-12 / ML_PER_L


def mol_to_iu(
    amount_mol: FloatLike, convention: ConcConvention | str = ConcConvention.SEED
) -> FloatLike:
    """mol of IL-2 -> IU (inverse of :func:`iu_to_mol`)."""
    return amount_mol / iu_to_mol(1.0, convention)


def per_minute_to_per_day(rate_per_min: FloatLike) -> FloatLike:
    """A rate (or a clearance) per minute -> per day."""
    return rate_per_min * MINUTES_PER_DAY


#: Significant digits kept by :func:`exact_after_conversion` (a double carries 15-17).
CONVERSION_SIGNIFICANT_DIGITS = 12


def exact_after_conversion(x: float | npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``x`` rounded to :data:`CONVERSION_SIGNIFICANT_DIGITS` significant digits.

    A converted value carries the rounding error of its factor (``400000 IU/m2 * 1e-6`` is
    ``0.39999999999999997`` MIU/m2): rounding to 12 significant digits removes it, so the
    same dose written in two units becomes one exact value (and one dose level) before any
    grouping or comparison.  Doses differing in the 12th digit are one value; NaN and inf
    pass through.  Returns an array of ``x``'s shape (0-d for a scalar).
    """
    arr = np.asarray(x, dtype=float)
    out = np.array(arr, copy=True).reshape(-1)
    flat = arr.reshape(-1)
    finite = np.isfinite(flat) & (flat != 0.0)
    if finite.any():
        mag = np.floor(np.log10(np.abs(flat[finite])))
        scale = CONVERSION_SIGNIFICANT_DIGITS - 1 - mag
        out[finite] = [float(round(v, int(s))) for v, s in zip(flat[finite], scale, strict=True)]
    return np.asarray(out.reshape(arr.shape), dtype=float)
