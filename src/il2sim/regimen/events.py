"""Dosing events and regimens: the one representation every entry point converts to.

A :class:`Regimen` is an ordered tuple of :class:`DoseEvent`.  Times are in days from the first
day of treatment (day 0).  Amounts keep the unit and basis the user gave (``1.25 MIU/m2``) and
are resolved to IU per patient with :meth:`Regimen.amounts_iu` using body-surface area (BSA),
through :mod:`il2sim.units` only.

Routes: ``sc`` and ``im`` (depot, first-order absorption), ``iv_bolus`` and ``iv_infusion``
(zero-order input into the central compartment over ``duration_day``; ``amount`` is the total
given over the infusion).
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt

from il2sim import units
from il2sim.errors import InputError


class Route(str, Enum):
    """Administration route."""

    SC = "sc"
    IM = "im"
    IV_BOLUS = "iv_bolus"
    IV_INFUSION = "iv_infusion"

    @property
    def is_depot(self) -> bool:
        """True for extravascular routes absorbed from a depot (s.c., i.m.)."""
        return self in (Route.SC, Route.IM)

    @classmethod
    def parse(cls, text: str) -> Route:
        """Parse ``sc``, ``s.c.``, ``im``, ``iv``/``iv bolus``, ``iv infusion``/``ivinf``."""
        key = text.strip().lower().replace(".", "").replace("-", " ").replace("_", " ")
        key = " ".join(key.split())
        aliases = {
            "sc": cls.SC,
            "subcutaneous": cls.SC,
            "subq": cls.SC,
            "im": cls.IM,
            "intramuscular": cls.IM,
            "iv": cls.IV_BOLUS,
            "iv bolus": cls.IV_BOLUS,
            "bolus": cls.IV_BOLUS,
            "iv infusion": cls.IV_INFUSION,
            "infusion": cls.IV_INFUSION,
            "ivinf": cls.IV_INFUSION,
            "civ": cls.IV_INFUSION,
            "iv inf": cls.IV_INFUSION,
        }
        if key not in aliases:
            raise InputError(
                f"unknown route {text!r} (expected sc, im, iv bolus or iv infusion)",
                field="route",
                value=text,
            )
        return aliases[key]


#: Canonical amount units (upper-case keys accepted by :func:`il2sim.units.amount_to_iu`).
CANONICAL_UNITS = {"IU": "IU", "KIU": "kIU", "MIU": "MIU", "UG": "ug", "MG": "mg"}


def canonical_unit(unit: str) -> str:
    """Return the canonical spelling of an amount unit or raise :class:`InputError`."""
    if not isinstance(unit, str):
        raise InputError(
            f"unknown unit {unit!r} (expected IU, kIU, MIU, ug or mg)", field="unit", value=unit
        )
    key = unit.strip().replace("µ", "u").replace("μ", "u").upper()  # micro sign, Greek mu
    if key == "MCG":
        key = "UG"
    if key == "MU":
        key = "MIU"
    if key not in CANONICAL_UNITS:
        raise InputError(
            f"unknown unit {unit!r} (expected IU, kIU, MIU, ug or mg)", field="unit", value=unit
        )
    return CANONICAL_UNITS[key]


def check_normal(x: float, field_name: str, shown: object) -> None:
    """Reject a subnormal float (0 < |x| < 2.2e-308: it has lost precision and does not
    survive formatting); ``shown`` is what the message quotes (the value or the text typed)."""
    if x != 0 and abs(x) < sys.float_info.min:
        raise InputError(
            f"must be 0 or at least {sys.float_info.min:.4g} in magnitude (a normal number), "
            f"got {shown!r}",
            field=field_name,
            value=shown,
        )


def _check_number(
    field_name: str, value: object, *, positive: bool, allow_zero: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise InputError(f"must be a number, got {value!r}", field=field_name, value=value)
    x = float(value)
    if math.isnan(x) or math.isinf(x):
        raise InputError(f"must be a finite number, got {value!r}", field=field_name, value=value)
    check_normal(x, field_name, value)
    if positive and (x < 0 or (x == 0 and not allow_zero)):
        what = "non-negative" if allow_zero else "positive"
        raise InputError(f"must be {what}, got {value!r}", field=field_name, value=value)
    return x


@dataclass(frozen=True)
class DoseEvent:
    """One administration; a value (equal, and hashing equal, only when every field is equal).

    Events have no natural order; sort them with an explicit key (``key=lambda e: e.time_day``,
    as :class:`Regimen` does).

    Attributes
    ----------
    time_day: start time, days from day 0 (>= 0).
    amount: amount in ``amount_unit`` (per m2 of BSA if ``per_m2``); for an infusion, the
        total given over ``duration_day``.
    amount_unit: ``IU``, ``kIU``, ``MIU``, ``ug`` or ``mg``.
    per_m2: amount is per m2 of body-surface area.
    route: :class:`Route`.
    duration_day: infusion duration in days (> 0 for ``iv_infusion``, 0 otherwise).
    """

    time_day: float
    amount: float
    amount_unit: str = "MIU"
    per_m2: bool = True
    route: Route = Route.SC
    duration_day: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "time_day", _check_number("time", self.time_day, positive=True, allow_zero=True)
        )
        object.__setattr__(self, "amount", _check_number("dose", self.amount, positive=True))
        object.__setattr__(self, "amount_unit", canonical_unit(self.amount_unit))
        if not isinstance(self.per_m2, bool | np.bool_):
            raise InputError(
                f"must be True or False, got {self.per_m2!r}", field="per_m2", value=self.per_m2
            )
        object.__setattr__(self, "per_m2", bool(self.per_m2))
        route = self.route if isinstance(self.route, Route) else Route.parse(str(self.route))
        object.__setattr__(self, "route", route)
        dur = _check_number("duration", self.duration_day, positive=True, allow_zero=True)
        if route is Route.IV_INFUSION and dur <= 0:
            raise InputError(
                f"an infusion needs a positive duration, got {self.duration_day!r}",
                field="duration",
            )
        if route is not Route.IV_INFUSION and dur != 0:
            raise InputError(
                f"only an iv infusion has a duration; route {route.value} got {self.duration_day!r}",
                field="duration",
            )
        object.__setattr__(self, "duration_day", dur)

    @property
    def end_day(self) -> float:
        """Time the administration ends (start + duration), days."""
        return self.time_day + self.duration_day

    def amount_iu(self, bsa_m2: float = 1.0) -> float:
        """Amount in IU for a patient of ``bsa_m2`` (ignored for flat doses)."""
        iu = float(units.amount_to_iu(self.amount, self.amount_unit))
        return float(units.per_m2_to_flat(iu, bsa_m2)) if self.per_m2 else iu

    def rate_iu_per_day(self, bsa_m2: float = 1.0) -> float:
        """Infusion rate in IU/day (0 for non-infusions)."""
        if self.route is not Route.IV_INFUSION:
            return 0.0
        return self.amount_iu(bsa_m2) / self.duration_day


@dataclass(frozen=True)
class RegimenArrays:
    """A regimen resolved for P patients, in solver units.

    ``time_day`` (E,), ``amount_iu`` (P, E), ``route`` (E,) integer codes in
    ``ROUTE_CODES`` order, ``duration_day`` (E,).
    """

    time_day: npt.NDArray[np.float64]
    amount_iu: npt.NDArray[np.float64]
    route: npt.NDArray[np.int64]
    duration_day: npt.NDArray[np.float64]


ROUTE_CODES: tuple[Route, ...] = (Route.SC, Route.IM, Route.IV_BOLUS, Route.IV_INFUSION)


@dataclass(frozen=True)
class Regimen:
    """An ordered set of dosing events (sorted by start time; ties keep their given order)."""

    events: tuple[DoseEvent, ...]
    spec: str | None = None

    def __post_init__(self) -> None:
        evs = tuple(sorted(self.events, key=lambda e: e.time_day))
        if not evs:
            raise InputError("a regimen needs at least one dosing event", field="regimen")
        object.__setattr__(self, "events", evs)
        _check_no_overlapping_infusions(evs)

    def __len__(self) -> int:
        return len(self.events)

    @property
    def start_day(self) -> float:
        """Start of the first administration, days."""
        return self.events[0].time_day

    @property
    def end_day(self) -> float:
        """End of the last administration (start + infusion duration), days."""
        return max(e.end_day for e in self.events)

    @property
    def dosing_interval_day(self) -> float:
        """Typical interval between administrations (the smallest positive gap between start
        times), days; 1 day for a single event."""
        times = np.unique([e.time_day for e in self.events])
        if times.size < 2:
            return 1.0
        return float(np.min(np.diff(times)))

    @property
    def default_horizon_day(self) -> float:
        """Default simulation horizon: the regimen's end plus one dosing interval, days."""
        return self.end_day + self.dosing_interval_day

    def amounts_iu(self, bsa_m2: npt.ArrayLike = 1.0) -> npt.NDArray[np.float64]:
        """Amounts in IU, shape (P, E) for ``bsa_m2`` of shape (P,) (or (E,) for a scalar)."""
        bsa = np.asarray(bsa_m2, dtype=float)
        base = np.array([units.amount_to_iu(e.amount, e.amount_unit) for e in self.events])
        per_m2 = np.array([e.per_m2 for e in self.events])
        if bsa.ndim == 0:
            return np.where(per_m2, base * bsa, base)
        return np.where(per_m2[None, :], base[None, :] * bsa[:, None], base[None, :])

    def arrays(self, bsa_m2: npt.ArrayLike) -> RegimenArrays:
        """Resolve for patients with BSA ``bsa_m2`` (P,) into solver arrays."""
        bsa = np.atleast_1d(np.asarray(bsa_m2, dtype=float))
        return RegimenArrays(
            time_day=np.array([e.time_day for e in self.events], dtype=float),
            amount_iu=self.amounts_iu(bsa),
            route=np.array([ROUTE_CODES.index(e.route) for e in self.events], dtype=np.int64),
            duration_day=np.array([e.duration_day for e in self.events], dtype=float),
        )

    def scaled(self, factor: float) -> Regimen:
        """The same schedule with every amount multiplied by ``factor``."""
        from dataclasses import replace

        return Regimen(tuple(replace(e, amount=e.amount * factor) for e in self.events), None)

    def event_rows(self, bsa_m2: float | None = None) -> list[dict[str, object]]:
        """One JSON-ready row per event: ``time_day``, ``time_h``, ``amount``, ``unit``
        (with ``/m2`` for per-m2 doses), ``route``, ``duration_day`` and ``amount_iu`` (IU for a
        patient of ``bsa_m2``; ``None`` for a per-m2 dose when no BSA is given)."""
        if bsa_m2 is not None:
            _check_number("bsa_m2", bsa_m2, positive=True)
        rows: list[dict[str, object]] = []
        for e in self.events:
            iu: float | None
            if e.per_m2 and bsa_m2 is None:
                iu = None
            else:
                iu = e.amount_iu(1.0 if bsa_m2 is None else bsa_m2)
            rows.append(
                {
                    "time_day": e.time_day,
                    "time_h": float(units.days_to_hours(e.time_day)),
                    "amount": e.amount,
                    "unit": e.amount_unit + ("/m2" if e.per_m2 else ""),
                    "route": e.route.value,
                    "duration_day": e.duration_day,
                    "amount_iu": iu,
                }
            )
        return rows

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "spec": self.spec,
            "events": [
                {
                    "time_day": e.time_day,
                    "amount": e.amount,
                    "unit": e.amount_unit + ("/m2" if e.per_m2 else ""),
                    "route": e.route.value,
                    "duration_day": e.duration_day,
                }
                for e in self.events
            ],
        }


def _check_no_overlapping_infusions(events: tuple[DoseEvent, ...]) -> None:
    infusions = sorted(
        (e for e in events if e.route is Route.IV_INFUSION), key=lambda e: e.time_day
    )
    for a, b in itertools.pairwise(infusions):
        if b.time_day < a.end_day - 1e-12:
            raise InputError(
                f"infusion starting at day {b.time_day:g} overlaps the one running from day "
                f"{a.time_day:g} to day {a.end_day:g} on the same route",
                field="infusion",
                value=b.time_day,
            )
