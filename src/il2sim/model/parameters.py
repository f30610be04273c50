"""Parameter tables: load, validate, query and update them (one type, one table per file).

A table is a TOML file with one TOML table per parameter: ``value``, ``unit``, ``bpv_cv`` =
log-normal between-patient coefficient of variation (0 = none), ``source`` = a citation, an
explicit ``assumption: ...`` or ``calibrated``, and an optional ``description``.  The model's
table is ``model/parameters.toml`` (:func:`load_parameters`); the toxicity layer's is
``toxicity/toxicity.toml`` (:func:`il2sim.toxicity.load_toxicity_parameters`).  Both load into
the same immutable :class:`Parameters` type and are never merged: the model's virtual patients
(:class:`il2sim.population.Population`) draw their random effects from the model table only.

:meth:`Parameters.with_params` returns a new set and rejects unknown names (as mrgsolve's
``param(mod, CL = 2)``).  :func:`write_values` is the one write-back of calibrated values for
every table (``il2sim calibrate --write``): a comment-preserving edit with ``tomlkit``.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from il2sim._files import write_text_atomic
from il2sim.checks import reader_file
from il2sim.errors import ModelError

__all__ = [
    "CALIBRATED",
    "DEFAULT_TABLE",
    "MODEL_DIR",
    "ParameterSpec",
    "Parameters",
    "load_parameters",
    "read_table",
    "write_values",
]

#: Directory holding the packaged model table.
MODEL_DIR = Path(__file__).resolve().parent
#: The model's table.
DEFAULT_TABLE = MODEL_DIR / "parameters.toml"
CALIBRATED = "calibrated"


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter: value in ``unit``, between-patient CV (log-normal), source text and an
    optional one-line description."""

    name: str
    value: float
    unit: str
    bpv_cv: float
    source: str
    description: str = ""
    ci95: tuple[float, float] | None = None
    identified: bool = True

    @property
    def calibrated(self) -> bool:
        """True if the value comes from :mod:`il2sim.calibrate` rather than a source."""
        return self.source.strip().lower() == CALIBRATED

    @property
    def omega(self) -> float:
        """SD of the log of the log-normal random effect with CV ``bpv_cv``:
        ``sqrt(log(1 + cv^2))`` (0 = no variability)."""
        return math.sqrt(math.log1p(self.bpv_cv * self.bpv_cv))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (``description`` only when given)."""
        out: dict[str, object] = {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "bpv_cv": self.bpv_cv,
            "source": self.source,
        }
        if self.description:
            out["description"] = self.description
        return out


def _check_value(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ModelError(f"value must be a finite number, got {value!r}", field=name, value=value)
    return float(value)


def _spec_from_table(name: str, entry: object, origin: str) -> ParameterSpec:
    if not isinstance(entry, Mapping):
        raise ModelError(f"expected a table, got {entry!r} ({origin})", field=name, value=entry)
    missing = [k for k in ("value", "unit", "source") if k not in entry]
    if missing:
        raise ModelError(f"missing key(s) {missing} ({origin})", field=name)
    value = _check_value(name, entry["value"])
    cv = entry.get("bpv_cv", 0.0)
    if isinstance(cv, bool) or not isinstance(cv, int | float) or not (0.0 <= cv < 10.0):
        raise ModelError(f"bpv_cv must be a number in [0, 10), got {cv!r}", field=name, value=cv)
    source = str(entry["source"]).strip()
    if not source:
        raise ModelError("source must not be empty", field=name)
    desc = str(entry.get("description", "")).strip()
    ci = entry.get("ci95")
    ci95 = None
    if ci is not None:
        if not isinstance(ci, list) or len(ci) != 2:
            raise ModelError(f"ci95 must be [low, high], got {ci!r}", field=name, value=ci)
        ci95 = (float(ci[0]), float(ci[1]))
    ident = bool(entry.get("identified", True))
    return ParameterSpec(name, value, str(entry["unit"]), float(cv), source, desc, ci95, ident)


def _load_toml(p: Path) -> dict[str, Any]:
    """Parse one TOML table file (:class:`ModelError` naming the file if unreadable)."""
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ModelError(f"cannot read parameter table: {exc}", field="parameters") from None
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{p.name}: {exc}", field="parameters") from None


def _specs(data: dict[str, Any], file_name: str) -> dict[str, ParameterSpec]:
    return {name: _spec_from_table(name, entry, file_name) for name, entry in data.items()
            if name != MODEL_KEY}


def _model_name(data: dict[str, Any]) -> str:
    name = data.get(MODEL_KEY, "v1")
    if not isinstance(name, str):
        raise ModelError(f"model must be a name (v1, v2), got {name!r}", field=MODEL_KEY, value=name)
    return name


def read_table(path: str | Path) -> dict[str, ParameterSpec]:
    """Read one TOML parameter table into specs, in table order (raises :class:`ModelError`
    naming the file and entry if it is unreadable or malformed)."""
    p = Path(path)
    return _specs(_load_toml(p), p.name)


#: Top-level key of a model table naming its declaration (``model = "v2"``; absent = v1).
MODEL_KEY = "model"


def table_model(path: str | Path) -> str:
    """The model a parameter table names (its top-level ``model = "..."``; default ``"v1"``)."""
    try:
        data = _load_toml(Path(path))
    except ModelError:  # unreadable: the table's own reader says so
        return "v1"
    return _model_name(data)


@dataclass(frozen=True)
class Parameters:
    """An immutable, validated parameter set (name -> :class:`ParameterSpec`, table order)."""

    specs: Mapping[str, ParameterSpec]
    #: The model declaration these values belong to (:mod:`il2sim.model.models`: "v1", "v2").
    model: str = "v1"

    def __post_init__(self) -> None:
        object.__setattr__(self, "specs", MappingProxyType(dict(self.specs)))

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def __reduce__(self) -> tuple[type[Parameters], tuple[dict[str, ParameterSpec], str]]:
        # a mappingproxy does not pickle: ship the plain dict (worker processes)
        return (Parameters, (dict(self.specs), self.model))

    @property
    def names(self) -> tuple[str, ...]:
        """All parameter names, in table order."""
        return tuple(self.specs)

    def spec(self, name: str) -> ParameterSpec:
        """The full entry of ``name`` (unknown name -> :class:`ModelError`)."""
        try:
            return self.specs[name]
        except KeyError:
            raise ModelError("unknown parameter", field=name, value=name) from None

    def value(self, name: str) -> float:
        """Typical (population) value of ``name`` in its table unit."""
        return self.spec(name).value

    def bpv_cv(self, name: str) -> float:
        """Between-patient log-normal CV of ``name`` (0 if none)."""
        return self.spec(name).bpv_cv

    def omega(self, name: str) -> float:
        """SD of the log of ``name``'s log-normal random effect (:attr:`ParameterSpec.omega`)."""
        return self.spec(name).omega

    def calibrated_names(self) -> tuple[str, ...]:
        """Names whose source is ``calibrated``."""
        return tuple(n for n, s in self.specs.items() if s.calibrated)

    def with_params(self, **values: float) -> Parameters:
        """A new set with the given typical values replaced (unknown name -> ModelError)."""
        new = dict(self.specs)
        for name, v in values.items():
            new[name] = replace(self.spec(name), value=_check_value(name, v))
        return Parameters(new, self.model)

    def with_bpv(self, **cvs: float) -> Parameters:
        """A new set with the given between-patient CVs replaced (0 switches variability off)."""
        new = dict(self.specs)
        for name, cv in cvs.items():
            old = self.spec(name)
            if not (0.0 <= float(cv) < 10.0):
                raise ModelError(f"bpv_cv must be in [0, 10), got {cv!r}", field=name, value=cv)
            new[name] = replace(old, bpv_cv=float(cv))
        return Parameters(new, self.model)

    def without_variability(self) -> Parameters:
        """The same typical values with every between-patient CV set to 0."""
        return Parameters({n: replace(s, bpv_cv=0.0) for n, s in self.specs.items()}, self.model)

    def to_values(self) -> dict[str, float]:
        """``name -> value`` in table order."""
        return {n: s.value for n, s in self.specs.items()}

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: name -> entry."""
        return {n: s.to_dict() for n, s in self.specs.items()}


def load_parameters(path: str | Path | None = None) -> Parameters:
    """Load the model's parameter table (default: the packaged ``model/parameters.toml``), and
    nothing else: every table is its own file (the toxicity table is
    :func:`il2sim.toxicity.load_toxicity_parameters`).  A given ``path`` is checked the way
    every file reader checks its file (:func:`il2sim.checks.reader_file`, field
    ``parameters``): a bad name, a folder or a missing file is one :class:`ModelError` line."""
    p = DEFAULT_TABLE if path is None else reader_file(path, "parameters", ModelError)
    data = _load_toml(p)  # parsed once for the entries and the model name
    return Parameters(_specs(data, p.name), _model_name(data))


def write_values(
    updates: Mapping[str, float],
    path: str | Path | None = None,
    *,
    calibrated_only: bool = True,
    intervals: Mapping[str, tuple[float, float, bool]] | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> Path:
    """Write new ``value`` fields for ``updates`` into the TOML table at ``path`` (default:
    the model's table), atomically (temp file, then rename), and return the path.

    ``intervals`` (name -> (low, high, identified)) also writes the calibration's 95% interval
    (``ci95 = [low, high]``, an unbounded end as 1e300) and ``identified`` beside the value;
    ``descriptions`` (name -> text) replaces the entry's ``description`` (how it was fitted).
    The file is edited with ``tomlkit``: only the ``value`` of each named entry changes
    (written as Python's shortest round-trip repr); comments, order, spacing and every other
    field are kept byte for byte.  With ``calibrated_only`` (the default) an entry whose
    ``source`` is not ``calibrated`` is refused: write-back is for fitted values.  The edited
    text is re-read and validated before the rename, so a failure leaves the file untouched.
    """
    import tomlkit
    import tomlkit.exceptions

    target = Path(path) if path is not None else DEFAULT_TABLE
    try:
        doc = tomlkit.parse(target.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelError(f"cannot read parameter table: {exc}", field="parameters") from None
    except tomlkit.exceptions.ParseError as exc:
        raise ModelError(f"{target.name}: {exc}", field="parameters") from None
    for name, v in updates.items():
        value = _check_value(name, v)
        entry = doc.get(name)
        if not isinstance(entry, Mapping) or "value" not in entry:
            raise ModelError(f"not in {target.name}", field=name, value=name)
        if calibrated_only and str(entry.get("source", "")).strip().lower() != CALIBRATED:
            raise ModelError(
                f"source is {entry.get('source')!r}, not 'calibrated': not written back",
                field=name,
            )
        entry["value"] = value  # type: ignore[index]
        if intervals and name in intervals:
            lo, hi, ident = intervals[name]
            entry["ci95"] = [float(lo), float(hi) if math.isfinite(hi) else 1e300]  # type: ignore[index]
            entry["identified"] = bool(ident)  # type: ignore[index]
        if descriptions and name in descriptions:
            entry["description"] = str(descriptions[name])  # type: ignore[index]
    text = tomlkit.dumps(doc)
    check = tomllib.loads(text)
    for name, v in updates.items():
        _spec_from_table(name, check[name], target.name)
        if check[name]["value"] != float(v):  # pragma: no cover - defensive
            raise ModelError(f"write-back failed for {name}", field=name)
    return write_text_atomic(target, text)
