"""Virtual patients: covariates, baseline NK counts and individual parameters from a seed.

Every draw comes from one :class:`numpy.random.Generator` built from the seed, in a fixed
order, so a seed gives the same population every time.  Numbers (anthropometrics, reference
ranges, variabilities) come from the parameter table (:mod:`il2sim.model.parameters`), each
with its source there.

* sex: Bernoulli(``fraction_male``); age: normal(``age_mean_yr``, ``age_sd_yr``) truncated to
  18-85 years.
* height: normal by sex (``height_*_cm``, ``height_sd_cm``); weight: log-normal by sex
  (median ``weight_*_kg``, log-SD ``weight_log_sd``); BSA by Mosteller (:mod:`il2sim.units`).
* baseline total NK and CD56bright counts: bivariate log-normal whose 2.5-97.5 percentiles are
  the clinical reference ranges (91-593 and 2-16 cells/ul), log-correlation
  ``nk_bright_log_corr``; CD56bright is capped at half the total.
* individual parameters: ``typical * exp(omega * z)``, ``omega**2 = log(1 + cv**2)`` (median =
  typical value).  The population stores the standard-normal draws ``z``, not the values, so
  the same patients can be simulated with another parameter set (calibration, sensitivity
  analyses): :meth:`Population.param` combines ``z`` with the typical value and CV of the
  parameter set it is given.

**Order of the random effects** (fixed, so a seed gives the same patients): after the
covariates above, one ``n``-vector of standard normals per row of the *model* table
(``model/parameters.toml``, or the table given), in the table's row order, whether or not the
row has variability (so switching a CV on later does not move other draws).  Nothing else is
drawn: the toxicity layer's random effects come from their own stream and their own table
(:func:`il2sim.toxicity.sample_tox_effects`), so a change to the toxicity table changes no
model-side value of any virtual patient.  Add new model rows at the end of the table: a row
inserted above existing ones shifts the draws of every row after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from il2sim import units
from il2sim.errors import InputError
from il2sim.model.parameters import Parameters, load_parameters

if TYPE_CHECKING:
    import pandas as pd

FloatArray = npt.NDArray[np.float64]
#: z-value of the 97.5th percentile of the standard normal.
_Z975 = 1.959963984540054
#: Bounds of the truncated age distribution, years (adult trial eligibility).
_AGE_MIN_YR, _AGE_MAX_YR = 18.0, 85.0
#: CD56bright is capped at this fraction of total NK.
_MAX_BRIGHT_FRACTION = 0.5


def _log_normal_from_range(low: float, high: float) -> tuple[float, float]:
    """(log median, log SD) of a log-normal whose 2.5/97.5 percentiles are ``low``/``high``."""
    mu = 0.5 * (np.log(low) + np.log(high))
    sd = (np.log(high) - np.log(low)) / (2.0 * _Z975)
    return float(mu), float(sd)


@dataclass(frozen=True)
class Population:
    """``n`` virtual patients.  Arrays have shape (n,); ``params`` maps a parameter name to its
    standard-normal random effect (see :meth:`param` for the individual values)."""

    age_yr: FloatArray
    sex: npt.NDArray[np.str_]
    height_cm: FloatArray
    weight_kg: FloatArray
    bsa_m2: FloatArray
    nk0_per_ul: FloatArray
    bright0_per_ul: FloatArray
    params: Mapping[str, FloatArray] = field(default_factory=dict)
    parameters: Parameters | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        n = self.age_yr.shape[0]
        for name in ("sex", "height_cm", "weight_kg", "bsa_m2", "nk0_per_ul", "bright0_per_ul"):
            if getattr(self, name).shape != (n,):
                raise InputError(f"shape {getattr(self, name).shape} != ({n},)", field=name)
        for name, arr in self.params.items():
            if arr.shape != (n,):
                raise InputError(f"shape {arr.shape} != ({n},)", field=f"param {name}")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def n(self) -> int:
        """Number of patients."""
        return int(self.age_yr.shape[0])

    def __len__(self) -> int:
        return self.n

    @property
    def dim0_per_ul(self) -> FloatArray:
        """Baseline CD56dim count, cells/ul (total minus bright)."""
        return self.nk0_per_ul - self.bright0_per_ul

    def param(self, name: str, parameters: Parameters | None = None) -> FloatArray:
        """Individual values of ``name`` (n,) under ``parameters`` (default: the set the
        population was drawn with): ``typical * exp(omega * z)``; the typical value for a
        parameter without variability or without a stored draw.  Unknown name ->
        :class:`il2sim.errors.ModelError`."""
        p = parameters or self.parameters or load_parameters()
        typical = p.value(name)
        cv = p.bpv_cv(name)
        z = self.params.get(name)
        if cv <= 0.0 or z is None:
            return np.full(self.n, typical)
        omega = np.sqrt(np.log1p(cv * cv))
        return np.asarray(typical * np.exp(omega * z), dtype=float)

    @classmethod
    def sample(
        cls,
        n: int,
        seed: int | np.random.Generator | None = 0,
        parameters: Parameters | None = None,
    ) -> Population:
        """Draw ``n`` patients from ``seed`` (int or Generator) with ``parameters``' table."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= 0:
            raise InputError(f"must be a positive integer, got {n!r}", field="patients", value=n)
        if not isinstance(seed, np.random.Generator | None):
            from il2sim.checks import seed as check_seed

            check_seed(seed)
        p = parameters if parameters is not None else load_parameters()
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        n = int(n)
        male = rng.random(n) < p.value("fraction_male")
        sex = np.where(male, "M", "F")
        age = rng.normal(p.value("age_mean_yr"), p.value("age_sd_yr"), n)
        age = np.clip(age, _AGE_MIN_YR, _AGE_MAX_YR)
        h_mean = np.where(male, p.value("height_male_cm"), p.value("height_female_cm"))
        height = h_mean + p.value("height_sd_cm") * rng.standard_normal(n)
        w_med = np.where(male, p.value("weight_male_kg"), p.value("weight_female_kg"))
        weight = w_med * np.exp(p.value("weight_log_sd") * rng.standard_normal(n))
        bsa = np.asarray(units.bsa_mosteller_m2(height, weight), dtype=float)
        mu_n, sd_n = _log_normal_from_range(p.value("nk0_low_per_ul"), p.value("nk0_high_per_ul"))
        mu_b, sd_b = _log_normal_from_range(
            p.value("bright0_low_per_ul"), p.value("bright0_high_per_ul")
        )
        rho = p.value("nk_bright_log_corr")
        z1 = rng.standard_normal(n)
        z2 = rho * z1 + np.sqrt(max(0.0, 1.0 - rho * rho)) * rng.standard_normal(n)
        nk0 = np.exp(mu_n + sd_n * z1)
        bright0 = np.minimum(np.exp(mu_b + sd_b * z2), _MAX_BRIGHT_FRACTION * nk0)
        indiv: dict[str, FloatArray] = {}
        for name in p.names:  # table order: see "Order of the random effects" above
            indiv[name] = rng.standard_normal(n)
        return cls(
            age_yr=age,
            sex=sex,
            height_cm=height,
            weight_kg=weight,
            bsa_m2=bsa,
            nk0_per_ul=nk0,
            bright0_per_ul=bright0,
            params=indiv,
            parameters=p,
            seed=int(seed) if isinstance(seed, int | np.integer) else None,
        )

    def subset(self, idx: npt.ArrayLike) -> Population:
        """Patients ``idx`` (integer indices or a boolean mask), as a new population."""
        ix = np.asarray(idx)
        if ix.dtype == bool:
            ix = np.flatnonzero(ix)
        ix = np.atleast_1d(ix).astype(np.int64)
        if ix.size == 0:
            raise InputError("subset needs at least one patient", field="idx")
        return Population(
            age_yr=self.age_yr[ix],
            sex=self.sex[ix],
            height_cm=self.height_cm[ix],
            weight_kg=self.weight_kg[ix],
            bsa_m2=self.bsa_m2[ix],
            nk0_per_ul=self.nk0_per_ul[ix],
            bright0_per_ul=self.bright0_per_ul[ix],
            params={k: v[ix] for k, v in self.params.items()},
            parameters=self.parameters,
            seed=None,
        )

    @staticmethod
    def concat(pops: Sequence[Population]) -> Population:
        """Stack populations (a random effect missing from one is 0: the typical value)."""
        if not pops:
            raise InputError("concat needs at least one population", field="pops")
        names = sorted(set().union(*(set(p.params) for p in pops)))

        def cat(attr: str) -> npt.NDArray[Any]:
            return np.concatenate([getattr(p, attr) for p in pops])

        return Population(
            age_yr=cat("age_yr"),
            sex=cat("sex"),
            height_cm=cat("height_cm"),
            weight_kg=cat("weight_kg"),
            bsa_m2=cat("bsa_m2"),
            nk0_per_ul=cat("nk0_per_ul"),
            bright0_per_ul=cat("bright0_per_ul"),
            params={
                k: np.concatenate([p.params.get(k, np.zeros(p.n)) for p in pops]) for k in names
            },
            parameters=pops[0].parameters,
            seed=None,
        )

    def to_frame(self) -> pd.DataFrame:
        """Covariates and individual parameters as a pandas DataFrame (one row per patient)."""
        import pandas as pd

        cols: dict[str, npt.ArrayLike] = {
            "patient": np.arange(self.n),
            "age_yr": self.age_yr,
            "sex": self.sex,
            "height_cm": self.height_cm,
            "weight_kg": self.weight_kg,
            "bsa_m2": self.bsa_m2,
            "nk0_per_ul": self.nk0_per_ul,
            "bright0_per_ul": self.bright0_per_ul,
        }
        for name in self.params:
            cols[name] = self.param(name)
        return pd.DataFrame(cols)
