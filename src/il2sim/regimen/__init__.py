"""Dosing regimens: events, the text spec grammar, builders and NONMEM-style event tables."""

from il2sim.regimen.builders import bolus, combine, daily, daily_regimen, every, infusion, pulses
from il2sim.regimen.canonical import format_spec
from il2sim.regimen.events import ROUTE_CODES, DoseEvent, Regimen, RegimenArrays, Route
from il2sim.regimen.nonmem import (
    NONMEM_COLUMNS,
    read_nonmem_csv,
    regimen_from_table,
    regimens_from_table,
    to_nonmem_table,
    write_nonmem_csv,
)
from il2sim.regimen.spec import parse_spec

__all__ = [
    "NONMEM_COLUMNS",
    "ROUTE_CODES",
    "DoseEvent",
    "Regimen",
    "RegimenArrays",
    "Route",
    "bolus",
    "combine",
    "daily",
    "daily_regimen",
    "every",
    "format_spec",
    "infusion",
    "parse_spec",
    "pulses",
    "read_nonmem_csv",
    "regimen_from_table",
    "regimens_from_table",
    "to_nonmem_table",
    "write_nonmem_csv",
]
