"""Dosing regimens: events, the text spec grammar and NONMEM-style event tables."""

from il2sim.regimen.events import ROUTE_CODES, DoseEvent, Regimen, RegimenArrays, Route

__all__ = ["ROUTE_CODES", "DoseEvent", "Regimen", "RegimenArrays", "Route"]
