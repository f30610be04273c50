"""The ONE adapter between the server and il2sim's design, simulation and SDTM code.

Everything the server needs from the layers below goes through this module, so that it can be
repointed in one place when those layers move:

* designs: :meth:`il2sim.designs.spec.DesignSpec.build` (via :func:`build`: the one conversion
  of the design options that ``il2sim design`` and ``il2sim trial`` use), then
  :func:`il2sim.designs.conduct.next_decision` (via :func:`recommend`) - exactly what
  ``il2sim design next`` runs;
* dose transition pathways: :func:`il2sim.designs.paths.dose_paths` (``il2sim design paths``);
* operating characteristics: :func:`il2sim.designs.simulate.simulate_trials`
  (``il2sim design simulate``: ``max_patients`` goes to the simulator, not the design);
* regimen text: :func:`il2sim.regimen.parse_spec`;
* SDTM files: :func:`il2sim.cdisc.write_sdtm` (the CDISC writer ``il2sim trial`` uses).

The protocol's design options are the options of ``il2sim design next``, by the CLI's own names
(``target``, ``skeleton``, ``cohort_size``, ..., ``option`` for ``-O/--option KEY=VALUE``).
:data:`OPTION_TYPES` types the JSON values a protocol carries; the design itself is built by
the library's :class:`~il2sim.designs.spec.DesignSpec`, the same code the CLI calls, and
``tests/serve/test_serve_equivalence.py`` runs the real CLI on the same options.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from il2sim import checks, option_rules
from il2sim.errors import DesignError, Il2simError, InputError

__all__ = [
    "OPTION_TYPES",
    "Recommendation",
    "build",
    "canonical_options",
    "cli_args",
    "design_names",
    "dose_paths",
    "operating_characteristics",
    "outcome_text",
    "recommend",
]


def design_names() -> tuple[str, ...]:
    """Design names, as ``il2sim design next --design`` takes them."""
    from il2sim.designs.registry import DESIGN_NAMES

    return tuple(DESIGN_NAMES)


#: ``il2sim design next`` options (underscore names) and their click types: ``float``, ``int``,
#: ``str``, ``bool`` (flags), ``floats`` (a comma list), ``kv`` (repeatable KEY=VALUE).
OPTION_TYPES: dict[str, str] = {
    "target": "float",
    "skeleton": "floats",
    "n_doses": "int",
    "start_dose": "int",
    "cohort_size": "int",
    "model": "str",
    "a": "int",
    "b": "int",
    "c": "int",
    "d": "int",
    "e": "int",
    "expand_lower": "bool",
    "max_patients": "int",
    "stop_n_mtd": "int",
    "no_skip": "bool",
    "stop_tox_threshold": "float",
    "stop_tox_confidence": "float",
    "demand_n": "int",
    "option": "kv",
}
#: Flags whose CLI spelling is ``--name/--no-name`` (the rest of the bools are plain flags).
_PAIRED_FLAGS = ("expand_lower",)


def float_list(value: Any, name: str) -> list[float]:
    """Comma text (or a JSON list) of finite numbers (:func:`il2sim.checks.number_list`)."""
    return checks.number_list(value, name)


def _scalar(value: Any, kind: str, name: str) -> Any:
    """Convert one option value as click's INT/FLOAT/STRING/BOOL types would."""
    if kind == "bool":
        if isinstance(value, bool):
            return value
        t = str(value).strip().lower()
        if t in ("true", "yes", "1", "on"):
            return True
        if t in ("false", "no", "0", "off"):
            return False
        raise InputError(f"expected true or false, got {value!r}", field=name, value=value)
    if kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"expected a name, got {value!r}", field=name, value=value)
        return value.strip()
    if kind == "int":  # ASCII digits only, then the option's rule (il2sim.option_rules)
        v: Any = checks.whole(value, name, minimum=-(2**63), maximum=2**63 - 1)
    else:
        v = checks.number(value, name)
    rule = option_rules.RULES.get(name.rsplit(".", 1)[-1])
    return v if rule is None else rule(v, name)


def canonical_options(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``design next`` options given by CLI name (``cohort-size`` or ``cohort_size``,
    leading dashes allowed) and return them typed, with underscore names; ``option`` becomes a
    dict of KEY -> VALUE text.  ``None`` values and false plain flags are dropped."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).strip().lstrip("-").replace("-", "_")
        if name == "o":
            name = "option"
        if name not in OPTION_TYPES:
            raise InputError(
                f"not an option of 'il2sim design next' (options: "
                f"{', '.join(k.replace('_', '-') for k in OPTION_TYPES)})",
                field=f"options.{key}",
                value=value,
            )
        if value is None:
            continue
        kind = OPTION_TYPES[name]
        fname = f"options.{name}"
        if kind == "floats":
            out[name] = float_list(value, fname)
        elif kind == "kv":
            out[name] = {**out.get(name, {}), **_kv(value, fname)}
        else:
            v = _scalar(value, kind, fname)
            if kind == "bool" and v is False and name not in _PAIRED_FLAGS:
                continue
            out[name] = v
    return out


def _kv(value: Any, name: str) -> dict[str, str]:
    items: list[str]
    if isinstance(value, Mapping):
        items = [f"{k}={_text(v)}" for k, v in value.items()]
    elif isinstance(value, str):
        items = [value]
    elif isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        raise InputError(f"expected KEY=VALUE items, got {value!r}", field=name, value=value)
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"expected KEY=VALUE, got {item!r}", field=name, value=item)
        k, v = item.split("=", 1)
        if not k.strip():
            raise InputError(f"empty KEY in {item!r}", field=name, value=item)
        out[k.strip().replace("-", "_")] = v.strip()
    return out


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple):
        return ",".join(str(x) for x in v)
    return str(v)


def cli_args(design: str, options: Mapping[str, Any], n_doses: int) -> list[str]:
    """The ``il2sim design next`` arguments equivalent to a protocol (without outcomes)."""
    args = ["--design", design, "--n-doses", str(n_doses)]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        kind = OPTION_TYPES[name]
        if name == "n_doses":
            continue
        if kind == "kv":
            for k, v in value.items():
                args += ["--option", f"{k}={v}"]
        elif kind == "bool":
            if name in _PAIRED_FLAGS:
                args.append(flag if value else f"--no-{name.replace('_', '-')}")
            elif value:
                args.append(flag)
        elif kind == "floats":
            args += [flag, ",".join(repr(float(x)) for x in value)]
        else:
            args += [flag, repr(value) if isinstance(value, float) else str(value)]
    return args


def build(
    design: str, options: Mapping[str, Any], n_doses: int, *, for_simulation: bool = False
) -> Any:
    """The design a protocol names, built as ``il2sim design next`` builds it.

    ``options`` are :func:`canonical_options`.  With ``for_simulation`` the options are applied
    as ``il2sim design simulate`` applies them (``max_patients`` is left to the simulator).
    """
    from il2sim.designs.spec import DesignSpec

    opts = dict(options)
    n = opts.pop("n_doses", n_doses)
    if n != n_doses:
        raise DesignError(f"is {n} but the protocol has {n_doses} doses", field="options.n_doses")
    skeleton = opts.pop("skeleton", None)
    extra = tuple(f"{k}={v}" for k, v in opts.pop("option", {}).items())
    spec = DesignSpec(
        design=design,
        skeleton=None if skeleton is None else ",".join(repr(float(x)) for x in skeleton),
        n_doses=n_doses,
        option=extra,
        **opts,
    )
    return spec.build(n_doses=n_doses, max_patients_rule=not for_simulation)


def outcome_text(cohorts: Sequence[tuple[int, str]]) -> str:
    """``escalation`` outcome text (``"1NNT 2NNN"``) for toxicity designs from (dose level,
    letters) per cohort.  Efficacy letters count by their toxicity part: E (efficacy only) as
    N, B (both) as T, as in R ``escalation``'s efficacy-toxicity outcome strings."""
    table = str.maketrans({"E": "N", "B": "T"})
    return " ".join(f"{level}{letters.upper().translate(table)}" for level, letters in cohorts)


@dataclass(frozen=True)
class Recommendation:
    """A design's decision after the outcomes so far (dose levels from 1)."""

    next_dose: int | None
    stop: bool
    reason: str
    mtd: int | None
    cohort_size: int | None
    estimates: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the keys of ``il2sim design next --json`` without the echo of inputs --
        the design decision's own JSON form (:meth:`il2sim.designs.outcomes.Decision.to_dict`)."""
        from il2sim.designs.outcomes import Decision

        return Decision(self.next_dose, self.stop, self.reason, self.mtd, self.cohort_size).to_dict()


def recommend(design: Any, outcomes: str) -> Recommendation:
    """``design.fit(Outcomes.parse(outcomes, n)).decision()`` as ``il2sim design next``."""
    from il2sim._json import to_jsonable
    from il2sim.designs.conduct import next_decision

    nxt = next_decision(design, outcomes)
    dec = nxt.decision
    est = to_jsonable(nxt.estimates)
    return Recommendation(
        dec.next_dose if dec.next_dose is None else int(dec.next_dose),
        bool(dec.stop),
        str(dec.reason),
        dec.mtd if dec.mtd is None else int(dec.mtd),
        dec.cohort_size if dec.cohort_size is None else int(dec.cohort_size),
        est if isinstance(est, dict) else {},
    )


def dose_paths(design: Any, outcomes: str, cohorts_ahead: int = 2) -> dict[str, Any]:
    """The dose transition pathways of the next ``cohorts_ahead`` cohorts (JSON form)."""
    from il2sim.designs.paths import dose_paths as _paths

    return dict(_paths(design, outcomes, cohorts_ahead).to_dict())


def operating_characteristics(
    design_name: str,
    options: Mapping[str, Any],
    n_doses: int,
    truth: Sequence[float],
    n_trials: int,
    seed: int,
    max_cohorts: int | None,
) -> dict[str, Any]:
    """Simulated OC of the protocol under ``truth``, as ``il2sim design simulate --json``."""
    from il2sim._json import to_jsonable
    from il2sim.designs.simulate import simulate_trials

    des = build(design_name, options, n_doses, for_simulation=True)
    oc = simulate_trials(
        des,
        list(truth),
        int(n_trials),
        int(seed),
        max_cohorts=max_cohorts,
        max_patients=options.get("max_patients"),
        target=options.get("target"),
        progress=None,
    )
    out = to_jsonable(oc)
    return out if isinstance(out, dict) else {}


def check_regimen(text: str) -> str:
    """Canonical text of a regimen (``il2sim regimen show``); InputError if it does not parse."""
    from il2sim.regimen import format_spec, parse_spec

    return str(format_spec(parse_spec(text)))


def check_amount_unit(unit: str) -> None:
    """Raise InputError unless ``unit`` is a dose amount unit il2sim converts (IU, MIU, ug...)."""
    from il2sim.units import amount_to_iu

    amount_to_iu(1.0, unit)


def write_sdtm(domains: Mapping[str, Any], out_dir: str | Path) -> tuple[list[Path], list[str]]:
    """Write a live trial's SDTM datasets with il2sim's CDISC writer (CSV, Parquet,
    Dataset-JSON, define.xml; atomic).  Returns the files and the conformance problems
    (:func:`il2sim.cdisc.check_frame`: required values the server does not collect, e.g.
    DM.COUNTRY), which the export lists beside the datasets rather than inventing values."""
    from il2sim.cdisc import SDTM_LIVE, check_frame, conform
    from il2sim.cdisc import write_sdtm as _write

    problems = [
        msg
        for name, df in domains.items()
        for msg in check_frame(conform(df, SDTM_LIVE[name]), SDTM_LIVE[name])
    ]
    files = list(_write(dict(domains), out_dir, specs=SDTM_LIVE, strict=False))
    return files, problems


#: Errors from the layers below that are the user's (HTTP 4xx), not the server's.
USER_ERRORS: tuple[type[Exception], ...] = (Il2simError,)
