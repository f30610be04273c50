"""The rule of each named option, shared by the CLI and the server (one rule per name).

``RULES`` maps an option's Python name (``seed``, ``patients``, ``target``, ...) to its
:mod:`il2sim.checks` checker: seeds, counts with their :mod:`il2sim.limits`, durations,
probabilities.  :func:`il2sim.cli._options.harden` applies them to every CLI option of that
name (after the strict ASCII number parsing); the server applies them to the same options of
a protocol (:mod:`il2sim.serve.engine`), so ``--target 1.5`` and ``{"target": 1.5}`` get the
same message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from il2sim import checks
from il2sim.errors import InputError, bad_value
from il2sim.limits import check as check_limit
from il2sim.limits import limit

__all__ = ["RULES", "Rule", "check_rule"]

Rule = Callable[[Any, str], Any]


def _count(minimum: int, limit_name: str | None = None, maximum: int | None = None) -> Rule:
    def rule(value: Any, field: str) -> Any:
        cap = int(limit(limit_name)) if limit_name is not None else maximum
        why = f"limit {limit_name}, see docs/limits.md" if limit_name is not None else ""
        return checks.count(value, field, minimum=minimum, maximum=cap, why=why)

    return rule


def _horizon(value: Any, field: str) -> Any:
    return checks.time_days(value, field, maximum=limit("horizon_days"))


def _factor(value: Any, field: str) -> Any:
    x = checks.real(value, field, minimum=1.0, open_min=True)
    check_limit("sensitivity_factor", x, field=field)
    return x


#: Smallest observation spacing, hours: one minute.  The finest PK sampling schedules take
#: samples minutes apart (the first minutes after an IV bolus); a finer grid adds no information
#: and only output times (and ``h / step`` overflowed for a near-subnormal step: issue 16).
EVERY_MIN_HOURS = 1.0 / 60.0


def _every(value: Any, field: str) -> Any:
    x = checks.positive(value, field, unit="hours")
    if x < EVERY_MIN_HOURS:
        raise bad_value(field, value, "must be at least 1 minute (0.0167 hours)")
    return x


def _prob_open(value: Any, field: str) -> Any:
    return checks.probability(value, field, open_interval=True)


#: Python parameter name -> checker (applied after the strict number parsing; None passes).
RULES: dict[str, Rule] = {
    "seed": checks.seed,
    "patients": _count(1, "patients"),
    "trials": _count(1, "trials"),
    "cohorts": _count(1, "cohorts"),
    "n_doses": _count(1, "n_doses"),
    "start_dose": _count(1, "n_doses"),
    "pool_size": _count(1, "pool_patients"),
    "cohort_size": _count(1, maximum=1000),
    "a": _count(1, maximum=1000),
    "b": _count(0, maximum=1000),
    "c": _count(0, maximum=1000),
    "d": _count(0, maximum=1000),
    "e": _count(0, maximum=1000),
    "cohorts_ahead": _count(1, maximum=1000),
    "workers": _count(1, maximum=1024),
    "chunk_size": _count(1, maximum=10**9),
    "chunks": _count(1, maximum=10**9),
    "max_patients": _count(1, maximum=10**9),
    "demand_n": _count(1, maximum=10**9),
    "stop_n_mtd": _count(1, maximum=10**9),
    "max_evaluations": _count(1, maximum=10**7),
    "patient": _count(0, maximum=10**9),
    "dlt_window_days": _count(1, maximum=3650),
    "hold_days": _count(0, maximum=3650),
    "horizon_days": _horizon,
    "horizon": _horizon,
    "every": _every,
    "target": _prob_open,
    "stop_tox_threshold": _prob_open,
    "stop_tox_confidence": _prob_open,
    "resume_fraction": checks.probability,
    "port": _count(0, maximum=65535),
    "factor": _factor,
    # estimation (fit, vpc): generous ranges (each 100x or more the default), so that a typo
    # (--chains 1e9 took 3.4 GB in 40 s; --is-samples 10^12 ran until killed) is refused at once
    "chains": _count(1, maximum=100),
    "is_samples": _count(1, maximum=10**5),
    "conditional": _count(1, maximum=10**5),
    "npde_replicates": _count(1, maximum=10**5),
    "profile_draws": _count(1, maximum=10**5),
    "n_sim": _count(1, maximum=10**5),
    "bins": _count(1, maximum=1000),
}


def check_rule(name: str, value: Any, field: str | None = None) -> Any:
    """Apply the rule for option ``name`` to ``value`` (for values that bypass click)."""
    rule = RULES.get(name)
    if rule is None:
        raise InputError(f"no rule for option {name!r}", field=name)
    return rule(value, field or f"--{name.replace('_', '-')}")
