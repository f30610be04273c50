"""The validation library: study rows (``studies.yaml``), their simulation and agreement.

A row names a published number (value +- its published uncertainty), the regimen and the
endpoint the model computes, and the rule that decides agreement (written beside the row in
the table, as in ``il2sim reproduce``).  Rows with ``role: training`` are the studies
``il2sim calibrate`` fits; every ``validation`` row is out of sample.  Rows sharing regimen,
horizon and patient number share one simulation of one seeded virtual population.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from il2sim.errors import InputError
from il2sim.model.parameters import Parameters
from il2sim.population import Population
from il2sim.regimen.spec import parse_spec
from il2sim.simulate import simulate
from il2sim.validate.metrics import METRICS, MetricArgs, metric_unit, metric_values

#: Default virtual patients per simulated row.
DEFAULT_PATIENTS = 100
_OPS = ("between", "above", "below")
_ROLES = ("training", "validation")


@dataclass(frozen=True)
class Study:
    """One row of the library (see the header of ``studies.yaml`` for the fields)."""

    id: str
    study: str
    role: str
    population: str
    regimen: str
    endpoint: str
    published_value: float
    published_text: str
    rule_op: str
    rule_low: float
    rule_high: float
    rule_text: str
    source: str
    stat: str = "median"
    horizon_day: float | None = None
    patients: int = DEFAULT_PATIENTS
    day: float | None = None
    window: tuple[float, float] | None = None
    note: str = ""
    fit_type: str = ""
    fit_sd: float = math.nan
    fit_why: str = ""

    def residual(self, x: float) -> float:
        """Weighted residual of a training row for the population statistic ``x``
        (``fit:`` of the row): ``normal`` (x - value) / sd, ``lognormal`` log(x / value) / sd,
        ``bound`` 0 where the rule holds, else the log distance to the violated limit / 0.05
        (a stiff one-sided penalty at a published limit, not a band)."""
        if self.fit_type == "normal":
            return (x - self.published_value) / self.fit_sd
        if self.fit_type == "lognormal":
            return math.log(max(x, 1e-12) / self.published_value) / self.fit_sd
        if self.fit_type == "bound":
            if self.agrees(x):
                return 0.0
            lim = self.rule_low if self.rule_op == "above" or (
                self.rule_op == "between" and x < self.rule_low) else self.rule_high
            if lim <= 0 or x <= 0:
                return (x - lim) / max(abs(lim), 1.0) / 0.05
            return math.log(x / lim) / 0.05
        return 0.0

    def agrees(self, x: float) -> bool:
        """The rule applied to the population statistic ``x``."""
        if not math.isfinite(x):
            return False
        if self.rule_op == "above":
            return x > self.rule_low
        if self.rule_op == "below":
            return x < self.rule_high
        return self.rule_low <= x <= self.rule_high


@dataclass(frozen=True)
class ValidationRow:
    """A study row with the model's numbers."""

    study: Study
    median: float
    p5: float
    p95: float
    statistic: float
    agree: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        s = self.study
        return {
            "id": s.id, "study": s.study, "role": s.role, "population": s.population,
            "regimen": s.regimen, "endpoint": s.endpoint, "unit": metric_unit(s.endpoint),
            "published": s.published_text, "published_value": s.published_value,
            "stat": s.stat, "model_statistic": self.statistic, "model_median": self.median,
            "model_p5": self.p5, "model_p95": self.p95, "agree": self.agree,
            "rule": s.rule_text, "source": s.source, "note": s.note,
        }


def _num(row: Mapping[str, Any], key: str, where: str) -> float:
    try:
        v = float(row[key])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{where}: needs a number", field=key, value=row.get(key)) from None
    if not math.isfinite(v):
        raise InputError(f"{where}: not finite", field=key, value=v)
    return v


def parse_study(row: Mapping[str, Any]) -> Study:
    """One study row from a mapping; a malformed row -> InputError naming the field."""
    if not isinstance(row, Mapping):
        raise InputError("each study must be a mapping", field="studies", value=row)
    sid = str(row.get("id", "?"))
    for key in ("id", "study", "role", "regimen", "endpoint", "published", "rule", "source"):
        if key not in row:
            raise InputError(f"study {sid}: missing", field=key)
    if row["role"] not in _ROLES:
        raise InputError(f"study {sid}: role must be training or validation", field="role",
                         value=row["role"])
    if row["endpoint"] not in METRICS:
        raise InputError(f"study {sid}: unknown endpoint; known: {', '.join(sorted(METRICS))}",
                         field="endpoint", value=row["endpoint"])
    parse_spec(str(row["regimen"]))  # InputError on a bad regimen
    pub, rule = row["published"], row["rule"]
    if not isinstance(pub, Mapping) or not isinstance(rule, Mapping):
        raise InputError(f"study {sid}: published and rule must be mappings", field="published")
    op = rule.get("op")
    if op not in _OPS:
        raise InputError(f"study {sid}: rule.op must be one of {_OPS}", field="rule.op", value=op)
    lo = hi = math.nan
    if op == "between":
        lo, hi = _num(rule, "low", sid), _num(rule, "high", sid)
        if lo > hi:
            raise InputError(f"study {sid}: rule low > high", field="rule.low", value=lo)
    elif op == "above":
        lo = _num(rule, "threshold", sid)
    else:
        hi = _num(rule, "threshold", sid)
    stat = str(row.get("stat", "median"))
    if stat not in ("median", "mean"):
        raise InputError(f"study {sid}: stat must be median or mean", field="stat", value=stat)
    fit = row.get("fit") or {}
    if not isinstance(fit, Mapping):
        raise InputError(f"study {sid}: fit must be a mapping", field="fit", value=fit)
    ftype = str(fit.get("type", ""))
    if ftype not in ("", "normal", "lognormal", "bound"):
        raise InputError(f"study {sid}: fit.type must be normal, lognormal or bound",
                         field="fit.type", value=ftype)
    fsd = _num(fit, "sd", sid) if ftype in ("normal", "lognormal") else math.nan
    if ftype in ("normal", "lognormal") and fsd <= 0:
        raise InputError(f"study {sid}: fit.sd must be positive", field="fit.sd", value=fsd)
    win = row.get("window")
    patients = int(row.get("patients", DEFAULT_PATIENTS))
    if patients <= 0:
        raise InputError(f"study {sid}: patients must be positive", field="patients", value=patients)
    return Study(
        id=sid, study=str(row["study"]), role=str(row["role"]),
        population=str(row.get("population", "default virtual patients")),
        regimen=str(row["regimen"]), endpoint=str(row["endpoint"]),
        published_value=_num(pub, "value", sid), published_text=str(pub.get("text", pub["value"])),
        rule_op=str(op), rule_low=lo, rule_high=hi,
        rule_text=str(row.get("rule_text", op)), source=str(row["source"]), stat=stat,
        horizon_day=None if row.get("horizon_day") is None else _num(row, "horizon_day", sid),
        patients=patients, day=None if row.get("day") is None else _num(row, "day", sid),
        window=None if win is None else (float(win[0]), float(win[1])),
        note=str(row.get("note", "")), fit_type=ftype, fit_sd=fsd,
        fit_why=str(fit.get("why", "")),
    )


def builtin_path() -> Path:
    """The packaged library file."""
    return Path(str(resources.files("il2sim.validate") / "studies.yaml"))


def load_studies(path: str | Path | None = None) -> tuple[Study, ...]:
    """Rows of a study file (default: the built-in library)."""
    p = Path(path) if path is not None else builtin_path()
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", field="studies", value=str(p)) from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text (YAML) file", field="studies", value=str(p)) from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", field="studies", value=str(p)) from None
    rows = data.get("studies") if isinstance(data, Mapping) else None
    if not isinstance(rows, list) or not rows:
        raise InputError("needs a non-empty top-level 'studies:' list", field="studies",
                         value=str(p))
    studies = tuple(parse_study(r) for r in rows)
    ids = [s.id for s in studies]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise InputError(f"duplicate study ids {dup}", field="id")
    return studies


def run_studies(
    studies: Sequence[Study],
    seed: int = 2026,
    parameters: Parameters | None = None,
    progress: Callable[[int, int], None] | None = None,
    solver: str = "fast",
) -> tuple[ValidationRow, ...]:
    """Simulate every row (one simulation per regimen/horizon/patients, the same seeded
    virtual population for each) and apply its rule.  Inside an
    :func:`il2sim._interrupt.interruptible` scope a first Ctrl-C stops between simulations:
    the rows finished so far are returned (in study order), the others are left out."""
    from il2sim._interrupt import stop_requested

    groups: dict[tuple[str, float | None, int], list[Study]] = {}
    for s in studies:
        groups.setdefault((s.regimen, s.horizon_day, s.patients), []).append(s)
    out: dict[str, ValidationRow] = {}
    for k, ((spec, horizon, n), rows) in enumerate(groups.items()):
        if stop_requested():
            break
        pop = Population.sample(n, seed, parameters=parameters)
        res = simulate(parse_spec(spec), pop, parameters=parameters, horizon_day=horizon,
                       solver=solver)
        for s in rows:
            v = metric_values(s.endpoint, res, MetricArgs(s.day, s.window))
            med = float(np.median(v))
            stat = float(np.mean(v)) if s.stat == "mean" else med
            out[s.id] = ValidationRow(s, med, float(np.percentile(v, 5)),
                                      float(np.percentile(v, 95)), stat, s.agrees(stat))
        if progress is not None:
            progress(k + 1, len(groups))
    return tuple(out[s.id] for s in studies if s.id in out)
