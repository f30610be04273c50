"""Nonlinear mixed-effects estimation (SAEM) of il2sim or any structural model: ``il2sim fit``."""
