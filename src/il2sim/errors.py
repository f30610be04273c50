"""One exception family for il2sim.

Every user-facing error derives from :class:`Il2simError`.  The CLI maps any of them to exit
code 2 and prints ``str(error)`` as one line, with no traceback.  Messages name the field and
the offending value, e.g. ``dose: must be positive, got -1.0``.
"""

from __future__ import annotations


class Il2simError(Exception):
    """Base class of every error il2sim raises for bad input or impossible requests."""

    def __init__(self, message: str, *, field: str | None = None, value: object = None) -> None:
        self.field = field
        self.value = value
        if field is not None:
            message = f"{field}: {message}"
        super().__init__(message)


class InputError(Il2simError, ValueError):
    """Bad user input: a dose, a unit, a route, a regimen text, a CLI option."""


class DataError(Il2simError, ValueError):
    """A malformed table or dataset: missing columns, unparsable values, duplicates."""


class DesignError(Il2simError, ValueError):
    """An impossible dose-finding design or outcome history."""


class ModelError(Il2simError, ValueError):
    """An invalid parameter table or parameter value."""


def bad_value(field: str, value: object, expected: str) -> InputError:
    """Build the standard ``field: expected ..., got VALUE`` input error."""
    return InputError(f"{expected}, got {value!r}", field=field, value=value)
