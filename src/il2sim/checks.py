"""The validation boundary: one checker per kind of user value, the same rule and message
everywhere (CLI options, library entry points, the server's request models).

Each checker takes the value and the name of the field it came from, returns the value in its
canonical type, and raises :class:`~il2sim.errors.InputError` naming the field and the value
(``seed: must be a whole number in 0..2^63-1, got -1``).  Kinds:

* :func:`seed` -- a whole number ``0 <= seed < 2**63`` (what ``numpy.random.SeedSequence``
  takes without surprise; no mapping of negative numbers: they are refused).
* :func:`count` -- a whole number in ``minimum..maximum``.
* :func:`real` -- a finite float (no NaN, no infinity, no subnormal), optionally in a range;
  :func:`positive` and :func:`dose` are its common cases; :func:`time_days` is a duration.
* :func:`probability` and :func:`probability_vector` -- in ``[0, 1]`` (or open ``(0, 1)``).
* :func:`number_text` / :func:`integer_text` -- numbers written as text (CLI arguments,
  ``KEY=VALUE`` options, table cells): ASCII digits only, so Arabic-Indic or full-width digits,
  which Python's ``float()`` silently accepts, are refused.
* :func:`whole`, :func:`number`, :func:`text` -- values of a request (JSON or a form):
  numbers as numbers or ASCII text, user text without control characters.
* :func:`output_file`, :func:`output_folder`, :func:`input_file`, :func:`input_folder`,
  :func:`path_name`, :func:`reader_file` -- paths, checked *before* the work starts (see
  "Outputs" below), and :func:`scheduler_address`; they live in :mod:`il2sim._path_checks`.

Outputs (decided once for every command): a file output that is an existing folder, or a
folder output that is an existing file, is refused (so is a device such as
``/dev/null``, which the rename would replace); a missing parent folder is created; a
parent that is a file, or a folder that cannot be written, is refused.  The file itself is
written to a temporary name and renamed only when complete (:mod:`il2sim._files`), so a
failed or interrupted run leaves an existing file untouched.
"""

from __future__ import annotations

import itertools
import math
import numbers
import re
import sys
from collections.abc import Iterable
from typing import Any

from il2sim._path_checks import (
    NAME_MAX_BYTES,
    PATH_MAX_BYTES,
    input_file,
    input_folder,
    output_file,
    output_folder,
    path_name,
    reader_file,
    scheduler_address,
)
from il2sim.errors import InputError

__all__ = [
    "NAME_MAX_BYTES",
    "PATH_MAX_BYTES",
    "SEED_MAX",
    "count",
    "dose",
    "input_file",
    "input_folder",
    "integer_text",
    "looks_numeric",
    "number",
    "number_text",
    "output_file",
    "output_folder",
    "path_name",
    "positive",
    "probability",
    "probability_vector",
    "reader_file",
    "real",
    "scheduler_address",
    "seed",
    "text",
    "time_days",
    "whole",
]

#: Largest seed accepted: 2^63 - 1 (a signed 64-bit integer, as stored in JSON and databases).
SEED_MAX = 2**63 - 1

#: Smallest positive normal double; anything smaller (subnormal, e.g. 1e-320) is refused.
_TINY = sys.float_info.min

_INT_RE = re.compile(r"[+-]?[0-9]+")
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SPECIAL = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def _fail(field: str, value: object, expected: str) -> InputError:
    return InputError(f"{expected}, got {value!r}", field=field, value=value)


def _is_int(value: object) -> bool:
    """True for a Python or numpy integer (never a bool)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def seed(value: object, field: str = "seed") -> int:
    """A seed: a whole number in ``0..2^63-1``."""
    if not _is_int(value) or not 0 <= int(value) <= SEED_MAX:  # type: ignore[call-overload]
        raise _fail(field, value, "must be a whole number in 0..2^63-1")
    return int(value)  # type: ignore[call-overload]


def count(
    value: object,
    field: str,
    *,
    minimum: int = 1,
    maximum: int | None = None,
    why: str = "",
) -> int:
    """A whole number in ``minimum..maximum`` (``why``: appended to the message)."""
    if not _is_int(value):
        raise _fail(field, value, "must be a whole number")
    n = int(value)  # type: ignore[call-overload]
    if n < minimum or (maximum is not None and n > maximum):
        rng = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum:,}"
        extra = f" ({why})" if why else ""
        raise _fail(field, value, f"must be a whole number {rng}{extra}")
    return n


def real(
    value: object,
    field: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    open_min: bool = False,
    unit: str = "",
) -> float:
    """A finite, normal (not subnormal) float in the given range."""
    if isinstance(value, bool):
        raise _fail(field, value, "must be a number")
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _fail(field, value, "must be a number") from None
    if not math.isfinite(x):
        raise _fail(field, value, "must be a finite number")
    if x != 0.0 and abs(x) < _TINY:
        raise _fail(field, value, f"must be 0 or at least {_TINY:.3g} in size (not subnormal)")
    u = f" {unit}" if unit else ""
    if minimum is not None and (x <= minimum if open_min else x < minimum):
        rel = ">" if open_min else ">="
        raise _fail(field, value, f"must be {rel} {minimum:g}{u}")
    if maximum is not None and x > maximum:
        raise _fail(field, value, f"must be <= {maximum:g}{u}")
    return x


def positive(value: object, field: str, *, maximum: float | None = None, unit: str = "") -> float:
    """A finite number > 0 (and <= ``maximum``)."""
    return real(value, field, minimum=0.0, open_min=True, maximum=maximum, unit=unit)


def dose(value: object, field: str = "dose", *, unit: str = "") -> float:
    """A dose: a finite number > 0 (not subnormal)."""
    return positive(value, field, unit=unit)


def time_days(value: object, field: str, *, maximum: float | None = None) -> float:
    """A duration in days: finite, > 0, at most ``maximum`` days."""
    return positive(value, field, maximum=maximum, unit="days")


def probability(value: object, field: str, *, open_interval: bool = False) -> float:
    """A probability in ``[0, 1]`` (``open_interval``: in ``(0, 1)``)."""
    x = real(value, field)
    if open_interval and not 0.0 < x < 1.0:
        raise _fail(field, value, "must be a probability strictly between 0 and 1")
    if not 0.0 <= x <= 1.0:
        raise _fail(field, value, "must be a probability in [0, 1]")
    return x


def probability_vector(
    values: Iterable[object],
    field: str,
    *,
    open_interval: bool = False,
    increasing: bool = False,
    max_length: int | None = None,
) -> tuple[float, ...]:
    """A non-empty vector of probabilities (optionally strictly increasing)."""
    items = list(values)
    if not items:
        raise _fail(field, items, "must hold at least one probability")
    if max_length is not None and len(items) > max_length:
        raise _fail(field, f"{len(items)} values", f"must hold at most {max_length} values")
    out = tuple(probability(v, field, open_interval=open_interval) for v in items)
    if increasing and any(b <= a for a, b in itertools.pairwise(out)):
        raise _fail(field, list(out), "must be strictly increasing")
    return out


def number_text(text: str, field: str) -> float:
    """Parse a number written in ASCII (``1.5``, ``-2e-3``); refuse other digits, NaN, inf."""
    s = str(text).strip()
    if s.lower() in _SPECIAL:
        raise _fail(field, text, "must be a finite number")
    if not _FLOAT_RE.fullmatch(s):
        raise _fail(field, text, "must be a number written with ASCII digits")
    return real(float(s), field)


def number_list(value: object, field: str) -> list[float]:
    """Comma text (``"0.4,0.6,0.8"``) or a sequence (a JSON list) of finite numbers; every entry
    through :func:`number_text` (text) or :func:`real` (numbers).  The one list parser of the CLI,
    the design options and the server."""
    parts: Iterable[object] = (
        value if isinstance(value, list | tuple) else str(value).split(",")
    )
    out: list[float] = []
    for part in parts:
        if isinstance(part, str):
            if not part.strip():
                raise _fail(field, value, "must not have an empty entry")
            out.append(number_text(part, field))
        else:
            out.append(real(part, field))
    return out


def looks_numeric(text: str) -> bool:
    """True when ``text`` is meant as a number: an ASCII number, NaN/infinity, or any text
    with a non-ASCII digit (then :func:`number_text` refuses it)."""
    s = str(text).strip()
    return bool(
        _FLOAT_RE.fullmatch(s)
        or s.lower() in _SPECIAL
        or any(ch.isdigit() and not ch.isascii() for ch in s)
    )


def integer_text(text: str, field: str) -> int:
    """Parse a whole number written in ASCII digits."""
    s = str(text).strip()
    if not _INT_RE.fullmatch(s):
        raise _fail(field, text, "must be a whole number written with ASCII digits")
    return int(s)


def whole(value: object, field: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """A whole number from a request (JSON or a form): an int, an integral float or ASCII
    integer text, then :func:`count`'s range."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str):
        value = integer_text(value, field)
    return count(value, field, minimum=minimum, maximum=maximum)


def number(value: object, field: str, **limits: Any) -> float:
    """A number from a request: an int/float through :func:`real`, text through
    :func:`number_text` (ASCII digits only); ``limits`` as for :func:`real`."""
    if isinstance(value, str):
        value = number_text(value, field)
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(field, value, "must be a number")
    return real(value, field, **limits)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029]")


def text(
    value: object, field: str, *, maximum: int, minimum: int = 0, multiline: bool = False
) -> str:
    """User text (a name, a reason): a string of ``minimum..maximum`` characters after
    stripping, without NUL or other control characters (line breaks only if ``multiline``).
    The text is kept as given (escaping is the writer's job); returns it stripped."""
    if not isinstance(value, str):
        raise _fail(field, value, "must be text")
    s = value.strip()
    if not minimum <= len(s) <= maximum:
        shown: object = value if len(value) <= 60 else f"{len(value)} characters"
        raise _fail(field, shown, f"must be text of {minimum}-{maximum:,} characters")
    bad = _CONTROL.search(s) or (None if multiline else _LINE_BREAK.search(s))
    if bad is not None:
        raise _fail(field, bad.group(0), "must not contain control characters or line breaks"
                    if not multiline else "must not contain control characters")  # fmt: skip
    return s


#: POSIX limits on one file-name component and on a whole path, in bytes (Linux NAME_MAX, PATH_MAX).
