"""Adverse events (AEs) with CTCAE v5 grades, dose-limiting toxicity (DLT) and its probability.

Model (parameters in ``model/toxicity.toml``, each with unit, variability and source):

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
  (the rule is in each :class:`AEType`'s ``rule``).  A grade is a step function of the score,
  so the grade of each day is ``sum_g [S >= threshold_g]``.
* A patient's sensitivity is fixed over the 90 days (no day-to-day noise): grades change only as
  the exposure changes (e.g. IL-2 falling as the receptor sink expands).

DLT (configurable, :class:`DLTDefinition`; default: grade >= 3 of any non-hematologic AE, or a
grade-2 AE that forces a stop -- drawn with probability ``grade2_stop_prob`` -- within study
days 1-28).  Because grades are monotone in ``eta``, a patient's DLT probability given their
exposure is closed form:

    P(max grade_k >= g) = Phi((log max_d S0[i,k,d] - log thr_g) / omega_k)
    p_ik = P(>= 3) + q * (P(>= 2) - P(>= 3));   p_i = 1 - prod_k (1 - p_ik)

where ``S0`` is the score with ``eta = 1`` and ``omega_k = sqrt(log(1 + cv_k^2))``.

The ``calibrated`` parameters are fitted by :func:`calibrate_toxicity` to the seed (Meropol et
al. 1996, Clin Cancer Res 2:669): MTD 1.25 MIU/m2 with constitutional symptoms, vomiting and
hyperglycemia dose limiting; mild local skin reactions and constitutional symptoms common at or
below the MTD.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from il2sim.errors import InputError, ModelError
from il2sim.seed import MEROPOL_1996

__all__ = [
    "AE_TYPES",
    "AEType",
    "DLTDefinition",
    "DLTRealisation",
    "ToxEffects",
    "ToxicityCalibration",
    "ToxicityParameters",
    "calibrate_and_write",
    "calibrate_toxicity",
    "daily_grades",
    "dlt_probability",
    "fit_toxicity",
    "load_toxicity_parameters",
    "model_fingerprint",
    "realise_dlt",
    "sample_tox_effects",
    "score_base",
    "score_thresholds",
    "toxicity_is_current",
    "toxicity_summary",
    "write_toxicity_values",
]

FloatArray = npt.NDArray[np.float64]
_INF = math.inf


@dataclass(frozen=True)
class AEType:
    """One AE type: SDTM terms, what drives it, its score thresholds for grades 1..4.

    ``thresholds`` are score values (inf = grade not reachable in the model); the
    hyperglycemia thresholds depend on the patient's baseline glucose and are built in
    :func:`score_thresholds`.
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
_K = len(AE_TYPES)
_SYSTEMIC = np.array([a.driver == "systemic" for a in AE_TYPES])


# --- parameters ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ToxicityParameters:
    """The toxicity table: ``name -> {value, unit, bpv_cv, source, description}``."""

    table: Mapping[str, Mapping[str, Any]]

    def __post_init__(self) -> None:
        for name, row in self.table.items():
            for key in ("value", "unit", "source"):
                if key not in row:
                    raise ModelError(f"missing {key!r}", field=f"toxicity parameter {name}")
            v = row["value"]
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ModelError(f"value must be a finite number, got {v!r}", field=name)
            if float(v) < 0:
                raise ModelError(f"value must be >= 0, got {v!r}", field=name)
            cv = row.get("bpv_cv", 0.0)
            if not isinstance(cv, int | float) or cv < 0:
                raise ModelError(f"bpv_cv must be >= 0, got {cv!r}", field=name)

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names."""
        return tuple(self.table)

    def value(self, name: str) -> float:
        """Value of ``name`` in its unit."""
        try:
            return float(self.table[name]["value"])
        except KeyError:
            raise ModelError(f"unknown toxicity parameter {name!r}", field="parameter") from None

    def cv(self, name: str) -> float:
        """Between-patient CV of ``name`` (0 = none)."""
        self.value(name)
        return float(self.table[name].get("bpv_cv", 0.0))

    def omega(self, name: str) -> float:
        """SD of log of the log-normal random effect with CV :meth:`cv`."""
        c = self.cv(name)
        return math.sqrt(math.log1p(c * c))

    def with_params(self, **values: float) -> ToxicityParameters:
        """A new table with ``values`` replaced; unknown names are rejected."""
        new = {k: dict(v) for k, v in self.table.items()}
        for k, v in values.items():
            if k not in new:
                raise ModelError(f"unknown toxicity parameter {k!r}", field="parameter")
            new[k]["value"] = float(v)
        return ToxicityParameters(new)

    def to_dict(self) -> dict[str, float]:
        """``name -> value``."""
        return {k: self.value(k) for k in self.table}

    def to_toml(self) -> str:
        """The table as TOML text (for writing back calibrated values)."""
        import tomli_w

        return tomli_w.dumps({k: dict(v) for k, v in self.table.items()})


def load_toxicity_parameters(path: str | Path | None = None) -> ToxicityParameters:
    """Load ``toxicity.toml`` (the packaged one by default)."""
    try:
        if path is None:
            text = resources.files("il2sim.model").joinpath("toxicity.toml").read_text()
        else:
            text = Path(path).read_text()
        table = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f"cannot read toxicity table: {exc}", field="toxicity.toml") from None
    return ToxicityParameters(table)


# --- DLT definition ------------------------------------------------------------------------
@dataclass(frozen=True)
class DLTDefinition:
    """What counts as a DLT.

    ``min_grade``: grade that is a DLT by itself (default 3: "grade >= 3 non-hematologic");
    ``grade2_stops``: a grade-2 AE forcing a stop (probability ``grade2_stop_prob``) is a DLT;
    ``window_day``: DLT assessment window, study days 1..window_day (default 28);
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


# --- random effects ------------------------------------------------------------------------
@dataclass(frozen=True)
class ToxEffects:
    """Per-patient toxicity random effects.

    ``eta`` (P, K) sensitivities (median 1); ``glucose0_mg_per_dl`` (P,); ``u_stop`` (P, K)
    uniforms deciding whether a grade-2 AE forces a stop; ``u_ada`` (P,) uniform for the ADA
    onset time (see :mod:`il2sim.model.immunogenicity`).
    """

    eta: FloatArray
    glucose0_mg_per_dl: FloatArray
    u_stop: FloatArray
    u_ada: FloatArray

    @property
    def n(self) -> int:
        """Number of patients."""
        return int(self.eta.shape[0])

    def subset(self, idx: npt.ArrayLike) -> ToxEffects:
        """Patients ``idx``."""
        i = np.asarray(idx)
        return ToxEffects(self.eta[i], self.glucose0_mg_per_dl[i], self.u_stop[i], self.u_ada[i])


def sample_tox_effects(n: int, rng: np.random.Generator, tox: ToxicityParameters) -> ToxEffects:
    """Draw toxicity random effects for ``n`` patients from ``rng`` (log-normal, median 1)."""
    omega = np.array([tox.omega(a.param) for a in AE_TYPES])
    eta = np.exp(rng.standard_normal((n, _K)) * omega[None, :])
    g0 = tox.value("glucose0_mg_per_dl") * np.exp(
        tox.omega("glucose0_mg_per_dl") * rng.standard_normal(n)
    )
    return ToxEffects(eta, g0, rng.random((n, _K)), rng.random(n))


# --- scores, grades, DLT -------------------------------------------------------------------
def score_base(
    il2_daily_max_pm: npt.ArrayLike, dose_daily_miu: npt.ArrayLike, tox: ToxicityParameters
) -> FloatArray:
    """Scores with ``eta = 1``, shape (P, K, D).

    ``il2_daily_max_pm`` (P, D): daily peak serum IL-2, pM; ``dose_daily_miu`` (P, D): flat
    s.c./i.m. dose injected each day, MIU (drives the injection-site reaction).
    """
    e = np.asarray(il2_daily_max_pm, dtype=float)
    dose = np.asarray(dose_daily_miu, dtype=float)
    if e.ndim != 2 or dose.shape != e.shape:
        raise InputError(
            f"exposure and dose must both be (patients, days), got {e.shape} and {dose.shape}",
            field="exposure",
        )
    e = np.clip(e, 0.0, None)
    out = np.empty((e.shape[0], _K, e.shape[1]))
    ec50 = tox.value("tox_ec50_pm")
    for k, a in enumerate(AE_TYPES):
        h = tox.value(a.hill)
        if a.driver == "systemic":
            out[:, k, :] = (e / (ec50 * tox.value(a.param))) ** h
        else:
            out[:, k, :] = (np.clip(dose, 0.0, None) / tox.value(a.param)) ** h
    return out


def score_thresholds(glucose0_mg_per_dl: npt.ArrayLike) -> FloatArray:
    """Score thresholds of grades 1..4, shape (P, K, 4) (hyperglycemia per patient).

    Hyperglycemia: G = G0 (1 + S) >= limit_g  <=>  S >= limit_g / G0 - 1.
    """
    g0 = np.atleast_1d(np.asarray(glucose0_mg_per_dl, dtype=float))
    thr = np.broadcast_to(np.array([a.thresholds for a in AE_TYPES])[None], (g0.size, _K, 4)).copy()
    kh = [a.code for a in AE_TYPES].index("HYPERGLY")
    lim = np.array(GLUCOSE_GRADE_MG_PER_DL)
    thr[:, kh, :] = np.clip(lim[None, :] / g0[:, None] - 1.0, 1e-9, None)
    return thr


def daily_grades(base: FloatArray, eta: FloatArray, thresholds: FloatArray) -> npt.NDArray[np.int8]:
    """CTCAE grade 0..4 of each patient, AE type and day, shape (P, K, D)."""
    s = base * eta[:, :, None]
    g = (s[..., None] >= thresholds[:, :, None, :]).sum(axis=-1)
    return g.astype(np.int8)


def _p_at_least(log_smax: FloatArray, thresholds: FloatArray, omega: FloatArray) -> FloatArray:
    """P(max grade >= g) for g = 1..4, shape (P, K, 4), integrating the log-normal eta."""
    lt = np.log(thresholds)
    diff = log_smax[:, :, None] - lt
    om = omega[None, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(om > 0, diff / np.where(om > 0, om, 1.0), np.where(diff >= 0, _INF, -_INF))
    p: FloatArray = ndtr(z)
    return p


def dlt_probability(
    base: FloatArray,
    glucose0_mg_per_dl: npt.ArrayLike,
    tox: ToxicityParameters,
    dlt: DLTDefinition | None = None,
) -> FloatArray:
    """Each patient's DLT probability given their exposure (closed form, module docstring).

    ``base`` (P, K, D) from :func:`score_base` with day 0 = study day 1.
    """
    d = dlt or DLTDefinition()
    w = min(d.window_day, base.shape[2])
    with np.errstate(divide="ignore"):
        log_smax = np.log(base[:, :, :w].max(axis=2))
    omega = np.array([tox.omega(a.param) for a in AE_TYPES])
    pg = _p_at_least(log_smax, score_thresholds(glucose0_mg_per_dl), omega)
    p_k = pg[:, :, d.min_grade - 1] if d.min_grade <= 4 else np.zeros(pg.shape[:2])
    if d.grade2_stops and d.min_grade > 2:
        p_k = p_k + tox.value("grade2_stop_prob") * (pg[:, :, 1] - p_k)
    p_k = np.where(d.mask[None, :], p_k, 0.0)
    out: FloatArray = 1.0 - np.prod(1.0 - p_k, axis=1)
    return out


@dataclass(frozen=True)
class DLTRealisation:
    """Realised DLTs: ``dlt`` (P,) bool, ``day`` (P,) study day of onset (0 = none),
    ``ae_index`` (P,) AE type index causing it (-1 = none)."""

    dlt: npt.NDArray[np.bool_]
    day: npt.NDArray[np.int64]
    ae_index: npt.NDArray[np.int64]


def realise_dlt(
    grades: npt.NDArray[np.int8],
    u_stop: FloatArray,
    tox: ToxicityParameters,
    dlt: DLTDefinition | None = None,
) -> DLTRealisation:
    """DLTs from daily grades (P, K, D): the first day in the window with an eligible AE of
    grade >= ``min_grade``, or of grade 2 when ``u_stop < grade2_stop_prob``."""
    d = dlt or DLTDefinition()
    w = min(d.window_day, grades.shape[2])
    g = grades[:, :, :w]
    event = g >= d.min_grade
    if d.grade2_stops and d.min_grade > 2:
        stops = u_stop < tox.value("grade2_stop_prob")
        event = event | ((g >= 2) & stops[:, :, None])
    event &= d.mask[None, :, None]
    any_k = event.any(axis=2)  # (P, K)
    first_k = np.where(any_k, event.argmax(axis=2), w + 1)  # (P, K) day index
    kmin = first_k.argmin(axis=1)
    dmin = first_k[np.arange(first_k.shape[0]), kmin]
    has = dmin <= w
    return DLTRealisation(
        dlt=has,
        day=np.where(has, dmin + 1, 0).astype(np.int64),
        ae_index=np.where(has, kmin, -1).astype(np.int64),
    )


# --- summaries for simulate ----------------------------------------------------------------
def daily_dose_miu(regimen: Any, bsa_m2: npt.ArrayLike, n_days: int) -> FloatArray:
    """Flat s.c./i.m. dose injected each day (day d = [d, d+1)), MIU, shape (P, n_days)."""
    from il2sim import units

    bsa = np.atleast_1d(np.asarray(bsa_m2, dtype=float))
    out = np.zeros((bsa.size, n_days))
    amounts = regimen.amounts_iu(bsa)  # (P, E)
    for j, ev in enumerate(regimen.events):
        day = math.floor(ev.time_day + 1e-9)
        if ev.route.is_depot and 0 <= day < n_days:
            out[:, day] += units.iu_to_miu(amounts[:, j])
    return out


def toxicity_summary(
    result: Any,
    regimen: Any,
    pop: Any,
    params: ToxicityParameters | None = None,
    dlt: DLTDefinition | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Population toxicity summary of a simulation, for ``il2sim simulate --json``.

    ``dlt_probability``: mean over patients of the closed-form DLT probability (baseline
    glucose drawn from ``seed``); ``ada_incidence``: probability of anti-IL-2 antibodies by the
    end of the regimen (:func:`il2sim.model.immunogenicity.ada_probability`); plus
    ``p_grade1plus_<AE>``: mean probability of any grade >= 1 of each AE over the regimen.
    """
    from il2sim.model.immunogenicity import ada_probability, regimen_dose_per_m2

    tox = params or load_toxicity_parameters()
    e = np.asarray(result.il2_daily_max_pm, dtype=float)
    dose = daily_dose_miu(regimen, pop.bsa_m2, e.shape[1])
    base = score_base(e, dose, tox)
    eff = sample_tox_effects(e.shape[0], np.random.default_rng(seed), tox)
    p = dlt_probability(base, eff.glucose0_mg_per_dl, tox, dlt)
    with np.errstate(divide="ignore"):
        log_smax = np.log(base.max(axis=2))
    omega = np.array([tox.omega(a.param) for a in AE_TYPES])
    pg = _p_at_least(log_smax, score_thresholds(eff.glucose0_mg_per_dl), omega)
    days = float(min(e.shape[1], math.ceil(regimen.end_day) + 1))
    out: dict[str, float] = {
        "dlt_probability": float(p.mean()),
        "ada_incidence": float(np.mean(ada_probability(regimen_dose_per_m2(regimen), days, tox))),
    }
    for k, a in enumerate(AE_TYPES):
        out[f"p_grade1plus_{a.code.lower()}"] = float(pg[:, k, 0].mean())
    return out


# --- calibration ---------------------------------------------------------------------------
#: DLT-probability targets per dose (MIU/m2/day) and their weights: il2sim's reading of the
#: seed's MTD 1.25 (about 0.2 or below at 1.25, clearly above at 1.50 and 1.75, low below).
#: The weight on 1.25 is highest: with the model's between-patient exposure variability the
#: curve cannot be as steep as the targets ask, and the 4+5 design must select 1.25 most often.
DEFAULT_DLT_TARGETS: dict[float, float] = {1.0: 0.05, 1.25: 0.14, 1.5: 0.33, 1.75: 0.50}
DEFAULT_DLT_WEIGHTS: dict[float, float] = {1.0: 1.0, 1.25: 4.0, 1.5: 2.0, 1.75: 1.0}
#: "Mild local skin reactions and mild constitutional side effects common at or below the
#: MTD" (Meropol 1996), read as P(grade >= 1) at 1.25 MIU/m2: ISR 0.6, fever 0.5, fatigue 0.5.
DEFAULT_MILD_TARGETS: dict[str, float] = {"ISR": 0.6, "FEVER": 0.5, "FATIGUE": 0.5}
DEFAULT_MTD_MIU_PER_M2 = MEROPOL_1996.mtd_miu_per_m2
#: "3 of 38 patients developed antibodies" over 90 days (Meropol 1996).
DEFAULT_ADA_TARGET: tuple[int, int, float] = (
    *MEROPOL_1996.antibody_positive,
    float(MEROPOL_1996.n_treatment_days),
)


@dataclass(frozen=True)
class ToxicityCalibration:
    """Result of :func:`fit_toxicity` / :func:`calibrate_toxicity`."""

    parameters: ToxicityParameters
    fitted: dict[str, float]
    dlt_targets: dict[float, float]
    dlt_achieved: dict[float, float]
    mild_achieved: dict[str, float]
    ada_incidence_achieved: float
    n_patients: int
    seed: int
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "fitted": self.fitted,
            "dlt_targets": {f"{k:g}": v for k, v in self.dlt_targets.items()},
            "dlt_achieved": {f"{k:g}": v for k, v in self.dlt_achieved.items()},
            "mild_grade1plus_at_mtd_achieved": self.mild_achieved,
            "ada_incidence_achieved": self.ada_incidence_achieved,
            "n_patients": self.n_patients,
            "seed": self.seed,
            **self.extras,
        }


def _p_grade(
    tox: ToxicityParameters, e: FloatArray, dose: FloatArray, g0: FloatArray
) -> FloatArray:
    """P(max grade over all days >= g), (P, K, 4)."""
    base = score_base(e, dose, tox)
    with np.errstate(divide="ignore"):
        lsm = np.log(base.max(axis=2))
    omega = np.array([tox.omega(a.param) for a in AE_TYPES])
    return _p_at_least(lsm, score_thresholds(g0), omega)


def fit_toxicity(
    exposure_by_dose: Mapping[float, FloatArray],
    dose_daily_miu_by_dose: Mapping[float, FloatArray],
    tox: ToxicityParameters,
    seed: int = 0,
    dlt: DLTDefinition | None = None,
    dlt_targets: Mapping[float, float] | None = None,
    dlt_weights: Mapping[float, float] | None = None,
    mild_targets: Mapping[str, float] | None = None,
    mtd_miu_per_m2: float = DEFAULT_MTD_MIU_PER_M2,
    ada_target: tuple[int, int, float] = DEFAULT_ADA_TARGET,
    objective: str = "selection",
) -> ToxicityCalibration:
    """Fit the ``calibrated`` toxicity parameters to simulated exposures (deterministic).

    ``exposure_by_dose[dose]`` (P, D) daily peak IL-2 (pM) and ``dose_daily_miu_by_dose[dose]``
    (P, D) daily flat doses (MIU) of a virtual population at each dose (MIU/m2/day).

    * ``tox_ec50_pm``: with ``objective="selection"`` (default) it maximises the exact
      probability that the seed's design (4+5 A+B over all the doses given, Lin & Shih 2001,
      :func:`il2sim.designs.ab.exact_oc`) selects ``mtd_miu_per_m2`` -- the seed's observed
      outcome -- given the mean DLT probability per dose (grid on its log, then bounded
      refinement); with ``objective="probit"`` it minimises the weighted squared probit
      distance between the mean DLT probability and ``dlt_targets``;
    * ``rel_fever``, ``rel_fatigue``, ``isr_d50_miu`` solve P(grade >= 1 over 90 days) =
      ``mild_targets`` at ``mtd_miu_per_m2`` (Brent's method);
    * the two steps alternate three times (mild constitutional AEs feed the DLT rate);
    * ``ada_hazard_per_day`` is the constant hazard giving ``count/n`` positives by ``days``.
    """
    from scipy.optimize import brentq, minimize_scalar
    from scipy.special import ndtri

    targets = dict(dlt_targets or DEFAULT_DLT_TARGETS)
    weights = dict(dlt_weights or {d: DEFAULT_DLT_WEIGHTS.get(d, 1.0) for d in targets})
    mild = dict(mild_targets or DEFAULT_MILD_TARGETS)
    for d in [*targets, mtd_miu_per_m2]:
        if d not in exposure_by_dose or d not in dose_daily_miu_by_dose:
            raise InputError(f"no exposure simulated for dose {d:g}", field="dlt_targets")
    rng = np.random.default_rng(seed)
    g0 = {
        d: sample_tox_effects(e.shape[0], rng, tox).glucose0_mg_per_dl
        for d, e in exposure_by_dose.items()
    }

    def mean_p(t: ToxicityParameters, d: float) -> float:
        base = score_base(exposure_by_dose[d], dose_daily_miu_by_dose[d], t)
        return float(dlt_probability(base, g0[d], t, dlt).mean())

    z_t = {d: float(ndtri(np.clip(p, 1e-4, 1 - 1e-4))) for d, p in targets.items()}

    if objective not in ("selection", "probit"):
        raise InputError(f"must be selection or probit, got {objective!r}", field="objective")
    all_doses = sorted(exposure_by_dose)
    mtd_level = all_doses.index(mtd_miu_per_m2)

    def loss(log_ec50: float, t0: ToxicityParameters) -> float:
        t = t0.with_params(tox_ec50_pm=math.exp(log_ec50))
        if objective == "selection":
            from il2sim.designs.ab import exact_oc, four_plus_five

            p = tuple(float(np.clip(mean_p(t, d), 0.0, 1.0)) for d in all_doses)
            sel = exact_oc(four_plus_five(len(all_doses)), p).selection_pct[mtd_level] / 100.0
            return -math.log(max(sel, 1e-12))
        out = 0.0
        for d in targets:
            z = float(ndtri(np.clip(mean_p(t, d), 1e-4, 1 - 1e-4)))
            out += weights[d] * (z - z_t[d]) ** 2
        return out

    e_mtd = exposure_by_dose[mtd_miu_per_m2]
    dose_mtd = dose_daily_miu_by_dose[mtd_miu_per_m2]
    codes = [a.code for a in AE_TYPES]
    cur = tox
    res_fun = math.nan
    for _ in range(3):
        x0 = math.log(cur.value("tox_ec50_pm"))
        grid = x0 + np.linspace(-3.0, 3.0, 61)
        xg = float(grid[int(np.argmin([loss(float(x), cur) for x in grid]))])
        res = minimize_scalar(
            loss, bounds=(xg - 0.1, xg + 0.1), args=(cur,), method="bounded",
            options={"xatol": 1e-5},
        )  # fmt: skip
        res_fun = float(res.fun)
        cur = cur.with_params(tox_ec50_pm=math.exp(float(res.x)))
        for code, target in mild.items():
            k = codes.index(code)
            name = AE_TYPES[k].param

            def gap(
                log_v: float,
                k: int = k,
                name: str = name,
                target: float = target,
                base_t: ToxicityParameters = cur,
            ) -> float:
                t = base_t.with_params(**{name: math.exp(log_v)})
                return (
                    float(_p_grade(t, e_mtd, dose_mtd, g0[mtd_miu_per_m2])[:, k, 0].mean()) - target
                )

            v0 = math.log(cur.value(name))
            cur = cur.with_params(**{name: math.exp(brentq(gap, v0 - 15.0, v0 + 15.0, xtol=1e-9))})

    count, n, days = ada_target
    cur = cur.with_params(ada_hazard_per_day=-math.log1p(-count / n) / days)
    pg = _p_grade(cur, e_mtd, dose_mtd, g0[mtd_miu_per_m2])
    names = ("tox_ec50_pm", "rel_fever", "rel_fatigue", "isr_d50_miu", "ada_hazard_per_day")
    return ToxicityCalibration(
        parameters=cur,
        fitted={k: cur.value(k) for k in names},
        dlt_targets=targets,
        dlt_achieved={d: mean_p(cur, d) for d in sorted(exposure_by_dose)},
        mild_achieved={c: float(pg[:, codes.index(c), 0].mean()) for c in codes},
        ada_incidence_achieved=-math.expm1(-cur.value("ada_hazard_per_day") * days),
        n_patients=int(next(iter(exposure_by_dose.values())).shape[0]),
        seed=seed,
        extras={
            "objective": objective,
            "loss": res_fun,
            "design_selection_pct_4plus5": _selection_pct([mean_p(cur, d) for d in all_doses]),
        },
    )


def _selection_pct(p_dlt: Sequence[float]) -> list[float]:
    """Exact 4+5 selection % per dose for a DLT curve (:func:`il2sim.designs.ab.exact_oc`)."""
    from il2sim.designs.ab import exact_oc, four_plus_five

    p = tuple(float(np.clip(x, 0.0, 1.0)) for x in p_dlt)
    return [float(x) for x in exact_oc(four_plus_five(len(p)), p).selection_pct]


def write_toxicity_values(updates: Mapping[str, float], path: str | Path | None = None) -> Path:
    """Write calibrated values into ``toxicity.toml`` (the packaged one by default), keeping
    every other field; atomic (temp file then rename)."""
    from il2sim._files import write_text_atomic

    target = Path(path) if path is not None else Path(__file__).with_name("toxicity.toml")
    tox = load_toxicity_parameters(target).with_params(**updates)
    return write_text_atomic(target, _HEADER + tox.to_toml())


_HEADER = """# Toxicity and immunogenicity parameters of il2sim (same schema as parameters.toml):
#   [name] value, unit, bpv_cv (between-patient CV of a log-normal random effect, 0 = none),
#   source ("calibrated" = fitted by il2sim.model.toxicity.calibrate_toxicity, "assumption" =
#   il2sim's documented choice, or a citation).  See il2sim/model/toxicity.py for the model.

"""


def calibrate_toxicity(
    parameters: Any = None,
    tox: ToxicityParameters | None = None,
    doses_miu_per_m2: Sequence[float] = (0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 1.75),
    n_patients: int = 2000,
    seed: int = 20260,
    dlt: DLTDefinition | None = None,
    dlt_targets: Mapping[float, float] | None = None,
    objective: str = "selection",
) -> ToxicityCalibration:
    """Seeded toxicity calibration against the model: simulate ``n_patients`` virtual patients
    at each dose (daily s.c. for 90 days, :mod:`il2sim.simulate`) and :func:`fit_toxicity`.

    ``parameters``: the model's :class:`il2sim.model.parameters.Parameters` (default: packaged).
    """
    from il2sim.trial.cohort import simulate_exposure

    t = tox or load_toxicity_parameters()
    ss = np.random.SeedSequence(seed)
    kids = ss.spawn(len(doses_miu_per_m2) + 1)
    exp_by: dict[float, FloatArray] = {}
    dose_by: dict[float, FloatArray] = {}
    for dose, kid in zip(doses_miu_per_m2, kids[:-1], strict=True):
        e, dd = simulate_exposure(float(dose), n_patients, kid, parameters)
        exp_by[float(dose)] = e
        dose_by[float(dose)] = dd
    tox_seed = int(kids[-1].generate_state(1)[0])
    return fit_toxicity(
        exp_by, dose_by, t, seed=tox_seed, dlt=dlt, dlt_targets=dlt_targets, objective=objective
    )


def model_fingerprint(parameters: Any = None) -> int:
    """A 48-bit fingerprint of the model's parameter values (rows of ``parameters.toml``, not of
    this toxicity table): the toxicity calibration stores it as ``model_fingerprint`` so a stale
    calibration (model changed since) can be detected."""
    import hashlib

    from il2sim.model.parameters import load_parameters

    p = parameters if parameters is not None else load_parameters()
    own = set(load_toxicity_parameters().names)
    text = ";".join(f"{n}={p.value(n)!r},{p.bpv_cv(n)!r}" for n in sorted(p.names) if n not in own)
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def toxicity_is_current(tox: ToxicityParameters | None = None, parameters: Any = None) -> bool:
    """True if ``tox`` was calibrated against ``parameters`` (default: the packaged ones)."""
    t = tox or load_toxicity_parameters()
    if "model_fingerprint" not in t.names:
        return False
    return int(t.value("model_fingerprint")) == model_fingerprint(parameters)


def calibrate_and_write(
    parameters: Any = None, seed: int = 20260, n_patients: int = 2000
) -> ToxicityCalibration:
    """:func:`calibrate_toxicity` then write the fitted values into the packaged
    ``toxicity.toml`` (what ``il2sim calibrate`` calls after fitting the model)."""
    cal = calibrate_toxicity(parameters, seed=seed, n_patients=n_patients)
    write_toxicity_values({**cal.fitted, "model_fingerprint": model_fingerprint(parameters)})
    return cal
