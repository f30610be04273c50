"""A trial protocol: validated, in canonical JSON, and hashed.

Fields (JSON API and form alike):

* ``name`` (1-200 characters), ``design`` (as ``il2sim design next --design``);
* ``options``: the options of ``il2sim design next`` by their CLI names, as a JSON object
  (``{"skeleton": "0.05,0.1,0.2", "no-skip": true, "option": ["phi1=0.18"]}``) or as the CLI
  text itself (``"--skeleton 0.05,0.1,0.2 --no-skip -o phi1=0.18"``);
* ``target``, ``cohort_size`` and ``stopping_rules`` (``max_patients``, ``stop_n_mtd``,
  ``stop_tox_threshold``, ``stop_tox_confidence``, ``demand_n``): the same CLI options, given
  apart for readability and merged into ``options`` (a clash is an error);
* ``doses``: dose per level, from level 1, increasing, with ``dose_unit`` (an amount unit il2sim
  converts: IU, kIU, MIU, ug, mg, optionally per ``/m2`` or ``/kg`` and ``/day``); numbers with
  units as text (``"0.4 MIU/m2"``) are accepted too;
* ``regimen``: free text; where it contains ``{dose}``, each level's text (the dose and unit put
  in) must parse as an il2sim regimen (``1.25 MIU/m2 sc qd x90``);
* ``max_cohorts``; ``scenarios`` (named true DLT curves for the operating characteristics;
  default: one with the target at the middle level, logit step 0.6 per level), ``oc_trials``
  (default 2000) and ``oc_seed`` (default 1).

The canonical form (sorted keys) is what is stored and what ``protocol_sha256`` hashes; it is
frozen when the first patient is entered.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from il2sim import checks
from il2sim.errors import InputError
from il2sim.serve import engine
from il2sim.serve.audit import canonical

__all__ = ["STOPPING_RULES", "Protocol", "build_protocol", "options_from_text"]

STOPPING_RULES = ("max_patients", "stop_n_mtd", "stop_tox_threshold", "stop_tox_confidence",
                  "demand_n")  # fmt: skip
SCHEMA_VERSION = 1
_UNIT_RE = re.compile(r"^\s*([A-Za-zµ]+)\s*((?:/\s*(?:m2|kg|day|d))*)\s*$", re.IGNORECASE)
_DOSE_TEXT_RE = re.compile(r"^\s*([0-9.eE+-]+)\s*(\S.*)?$")


@dataclass(frozen=True)
class Protocol:
    """A validated protocol: ``data`` is its canonical dict, ``json`` the text hashed."""

    data: dict[str, Any]

    @property
    def json(self) -> str:
        """Canonical JSON text."""
        return canonical(self.data)

    @property
    def sha256(self) -> str:
        """SHA-256 (hex) of :attr:`json`."""
        return hashlib.sha256(self.json.encode("utf-8")).hexdigest()

    @property
    def n_doses(self) -> int:
        """Number of dose levels."""
        return len(self.data["doses"])

    def design(self) -> Any:
        """The design object (built by :func:`il2sim.serve.engine.build`)."""
        return engine.build(self.data["design"], self.data["options"], self.n_doses)


def options_from_text(text: str) -> dict[str, Any]:
    """Parse CLI text such as ``--target 0.3 --no-skip -o phi1=0.18`` into options."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise InputError(f"cannot split {text!r}: {exc}", field="options", value=text) from None
    out: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("-"):
            raise InputError(f"expected an option, got {tok!r}", field="options", value=tok)
        name, _, inline = tok.lstrip("-").partition("=")
        name = name.replace("-", "_")
        if name == "o":
            name = "option"
        negated = name.startswith("no_") and name[3:] in engine.OPTION_TYPES
        if negated and engine.OPTION_TYPES[name[3:]] == "bool":
            out[name[3:]] = False
            i += 1
            continue
        kind = engine.OPTION_TYPES.get(name)
        if kind is None:
            raise InputError(
                f"not an option of 'il2sim design next': {tok!r}", field="options", value=tok
            )
        if kind == "bool":
            out[name] = True if not inline else inline
            i += 1
            continue
        if inline:
            value = inline
        elif i + 1 < len(tokens):
            value = tokens[i + 1]
            i += 1
        else:
            raise InputError(f"{tok} needs a value", field="options", value=tok)
        if kind == "kv":
            out.setdefault("option", []).append(value)
        else:
            out[name] = value
        i += 1
    return out


def _doses(raw: Any, unit: Any) -> tuple[list[float], str]:
    if isinstance(raw, str):
        raw = [p for p in raw.split(",") if p.strip()]
    if not isinstance(raw, list) or not raw:
        raise InputError("give at least one dose level", field="doses", value=raw)
    values: list[float] = []
    units: set[str] = set()
    for k, item in enumerate(raw, start=1):
        text_unit = None
        number: object = item
        if isinstance(item, str):
            m = _DOSE_TEXT_RE.match(item)
            number = m.group(1) if m else item
            text_unit = m.group(2) if m else None
        try:  # ASCII digits, finite, not subnormal, > 0 (the CLI's rule for a dose)
            x = checks.number(number, "doses", minimum=0.0, open_min=True)
        except InputError:
            raise InputError(
                f"dose level {k}: must be a positive number, got {item!r}",
                field="doses",
                value=item,
            ) from None
        values.append(x)
        if text_unit:
            units.add(text_unit.strip())
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise InputError(f"must increase from level 1, got {values}", field="doses")
    if len(units) > 1:
        raise InputError(f"mixed units {sorted(units)}", field="doses")
    u = str(unit).strip() if unit not in (None, "") else (units.pop() if units else "MIU/m2")
    if units and units.pop() != u:
        raise InputError("dose texts and dose_unit disagree", field="dose_unit", value=u)
    m = _UNIT_RE.match(u)
    if m is None:
        raise InputError(f"not a dose unit: {u!r} (e.g. MIU/m2, mg)", field="dose_unit", value=u)
    try:
        engine.check_amount_unit(m.group(1))
    except InputError:
        raise InputError(
            f"unknown amount unit in {u!r} (IU, kIU, MIU, ug, mg)", field="dose_unit", value=u
        ) from None
    return values, u.replace(" ", "")


def _int(raw: Any, name: str, lo: int, hi: int) -> int:
    return checks.whole(raw, name, minimum=lo, maximum=hi)


def default_scenario(n: int, target: float | None) -> list[float]:
    """The default OC scenario: ``target`` (0.25 if none) at the middle level, logit steps
    of 0.6 between levels."""
    t = target if target is not None else 0.25
    mid = (n - 1) // 2
    logit = math.log(t / (1 - t))
    return [round(1 / (1 + math.exp(-(logit + 0.6 * (i - mid)))), 4) for i in range(n)]


def _scenarios(raw: Any, n: int, target: float | None) -> list[dict[str, Any]]:
    if raw in (None, "", []):
        return [
            {"name": "default (target at the middle level)", "truth": default_scenario(n, target)}
        ]
    if not isinstance(raw, list):
        raise InputError("expected a list of {name, truth}", field="scenarios", value=raw)
    out = []
    for k, sc in enumerate(raw, start=1):
        if not isinstance(sc, Mapping) or "truth" not in sc:
            raise InputError(f"scenario {k}: expected {{name, truth}}", field="scenarios")
        field = f"scenarios[{k}].truth"
        truth = list(checks.probability_vector(engine.float_list(sc["truth"], field), field))
        if len(truth) != n:
            raise InputError(
                f"scenario {k}: needs {n} probabilities in [0, 1], got {truth}", field="scenarios"
            )
        name = checks.text(sc.get("name") or f"scenario {k}", f"scenarios[{k}].name",
                           maximum=100)  # fmt: skip
        out.append({"name": name, "truth": truth})
    if len(out) > 6:
        raise InputError(f"at most 6 scenarios, got {len(out)}", field="scenarios")
    return out


def build_protocol(raw: Mapping[str, Any]) -> Protocol:
    """Validate a protocol (JSON object or form fields); raise InputError naming the field."""
    known = {"name", "design", "options", "doses", "dose_unit", "regimen", "target",
             "cohort_size", "stopping_rules", "max_cohorts", "scenarios", "oc_trials",
             "oc_seed"}  # fmt: skip
    for k in raw:
        if k not in known:
            raise InputError(f"unknown field (fields: {', '.join(sorted(known))})", field=str(k))
    name = checks.text(raw.get("name"), "name", minimum=1, maximum=200)
    design = raw.get("design")
    if not isinstance(design, str) or design.strip().lower() not in engine.design_names():
        raise InputError(
            f"unknown design {design!r}; choose one of {', '.join(engine.design_names())}",
            field="design",
            value=design,
        )
    opts_raw = raw.get("options") or {}
    if isinstance(opts_raw, str):
        opts_raw = options_from_text(opts_raw)
    if not isinstance(opts_raw, Mapping):
        raise InputError("expected an object or CLI text", field="options", value=opts_raw)
    options = engine.canonical_options(opts_raw)
    rules = raw.get("stopping_rules") or {}
    if not isinstance(rules, Mapping):
        raise InputError("expected an object", field="stopping_rules", value=rules)
    extra: dict[str, Any] = {}
    for k, v in rules.items():
        key = str(k).replace("-", "_")
        if key not in STOPPING_RULES:
            raise InputError(
                f"choose from {', '.join(STOPPING_RULES)}", field=f"stopping_rules.{k}"
            )
        extra[key] = v
    for k in ("target", "cohort_size"):
        if raw.get(k) not in (None, ""):
            extra[k] = raw[k]
    for k, v in engine.canonical_options(
        {k: v for k, v in extra.items() if v not in (None, "")}
    ).items():
        if k in options and options[k] != v:
            raise InputError(f"{v!r} clashes with options.{k} = {options[k]!r}", field=k, value=v)
        options[k] = v
    doses, unit = _doses(raw.get("doses"), raw.get("dose_unit"))
    engine.build(design.strip().lower(), options, len(doses))  # DesignError names the option
    regimen = checks.text(raw.get("regimen") or "", "regimen", maximum=500)
    if "{dose}" in regimen:
        for level, x in enumerate(doses, start=1):
            try:
                engine.check_regimen(regimen.replace("{dose}", f"{x:g} {unit}"))
            except InputError as exc:
                raise InputError(f"level {level}: {exc}", field="regimen", value=regimen) from None
    max_cohorts = raw.get("max_cohorts")
    oc_seed = 1 if raw.get("oc_seed") in (None, "") else raw["oc_seed"]  # 0 is a seed too
    data: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "name": name.strip(),
        "design": design.strip().lower(),
        "options": options,
        "doses": doses,
        "dose_unit": unit,
        "regimen": regimen.strip(),
        "max_cohorts": None
        if max_cohorts in (None, "")
        else _int(max_cohorts, "max_cohorts", 1, 1000),
        "scenarios": _scenarios(raw.get("scenarios"), len(doses), options.get("target")),
        "oc_trials": _int(raw.get("oc_trials") or 2000, "oc_trials", 100, 20000),
        "oc_seed": _int(oc_seed, "oc_seed", 0, 2**31 - 1),
    }
    return Protocol(data)
