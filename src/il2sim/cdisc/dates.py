"""ISO 8601 dates of simulated trials and SDTM study days (SDTMIG 3.4 section 4.4.4).

Study day of a date on or after the reference start date RFSTDTC is ``date - RFSTDTC + 1``;
before it, ``date - RFSTDTC`` (there is no day 0).  Simulated trials start on a nominal,
configurable date (:data:`DEFAULT_START_DATE`, the seed trial's era; its accrual dates are not
published) and dose at a nominal clock time (:data:`DEFAULT_DOSE_TIME`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

__all__ = [
    "DEFAULT_DOSE_TIME",
    "DEFAULT_START_DATE",
    "date_of_day",
    "day_of_date",
    "iso_duration_hours",
    "parse_iso_date",
]

DEFAULT_START_DATE = date(1994, 1, 3)
DEFAULT_DOSE_TIME = time(8, 0)


def date_of_day(ref: date, study_day: int) -> date:
    """Calendar date of ``study_day`` for reference start ``ref``."""
    d = int(study_day)
    return ref + timedelta(days=d - 1 if d >= 1 else d)


def day_of_date(ref: date, when: date) -> int:
    """SDTM study day of ``when`` for reference start ``ref``."""
    delta = (when - ref).days
    return delta + 1 if delta >= 0 else delta


def parse_iso_date(text: str) -> date:
    """Date part of an ISO 8601 date or date/time (``1994-01-03`` or ``1994-01-03T08:00``);
    ValueError otherwise."""
    s = text.strip()
    if len(s) < 10:
        raise ValueError(f"not a complete ISO 8601 date: {text!r}")
    return datetime.strptime(s[:10], "%Y-%m-%d").date()


def iso_duration_hours(text: str) -> float:
    """Hours of an ISO 8601 duration such as ``PT4H``, ``-PT15M``, ``P1DT2H``, ``PT0.5H``;
    ValueError otherwise."""
    import re

    m = re.fullmatch(
        r"(-?)P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?)?",
        text.strip().upper(),
    )
    if m is None or text.strip().upper() in ("P", "PT", "-P", "-PT") or text.strip().endswith("T"):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    sign, d, h, mi = m.groups()
    hours = 24.0 * float(d or 0) + float(h or 0) + float(mi or 0) / 60.0
    return -hours if sign else hours
