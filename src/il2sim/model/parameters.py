"""The model's parameter table: load, validate, query and update it.

The table lives in ``model/parameters.toml`` (one TOML table per parameter: ``value``, ``unit``,
``bpv_cv`` = log-normal between-patient coefficient of variation, ``source`` = a citation, an
explicit ``assumption: ...`` or ``calibrated``).  If ``model/toxicity.toml`` exists (same schema)
it is merged in.  :class:`Parameters` is immutable: :meth:`Parameters.with_params` returns a new
set and rejects unknown names (as mrgsolve's ``param(mod, CL = 2)``).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

from il2sim._files import write_text_atomic
from il2sim.errors import ModelError

#: Directory holding the packaged parameter tables.
MODEL_DIR = Path(__file__).resolve().parent
#: The main table.
DEFAULT_TABLE = MODEL_DIR / "parameters.toml"
#: Optional extra tables merged in when present (the toxicity model's, same schema).
EXTRA_TABLES: tuple[str, ...] = ("toxicity.toml",)
CALIBRATED = "calibrated"


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter: value in ``unit``, between-patient CV (log-normal), source text."""

    name: str
    value: float
    unit: str
    bpv_cv: float
    source: str

    @property
    def calibrated(self) -> bool:
        """True if the value comes from :mod:`il2sim.calibrate` rather than a source."""
        return self.source.strip().lower() == CALIBRATED

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "bpv_cv": self.bpv_cv,
            "source": self.source,
        }


def _spec_from_table(name: str, entry: object, origin: str) -> ParameterSpec:
    if not isinstance(entry, Mapping):
        raise ModelError(f"expected a table, got {entry!r} ({origin})", field=name, value=entry)
    missing = [k for k in ("value", "unit", "source") if k not in entry]
    if missing:
        raise ModelError(f"missing key(s) {missing} ({origin})", field=name)
    value = entry["value"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ModelError(f"value must be a finite number, got {value!r}", field=name, value=value)
    cv = entry.get("bpv_cv", 0.0)
    if isinstance(cv, bool) or not isinstance(cv, int | float) or not (0.0 <= cv < 10.0):
        raise ModelError(f"bpv_cv must be a number in [0, 10), got {cv!r}", field=name, value=cv)
    source = str(entry["source"]).strip()
    if not source:
        raise ModelError("source must not be empty", field=name)
    return ParameterSpec(name, float(value), str(entry["unit"]), float(cv), source)


def read_table(path: Path) -> dict[str, ParameterSpec]:
    """Read one TOML parameter table into specs (raises :class:`ModelError` if malformed)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ModelError(f"cannot read parameter table: {exc}", field="parameters") from None
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{path.name}: {exc}", field="parameters") from None
    return {name: _spec_from_table(name, entry, path.name) for name, entry in data.items()}


@dataclass(frozen=True)
class Parameters:
    """An immutable, validated parameter set (name -> :class:`ParameterSpec`)."""

    specs: Mapping[str, ParameterSpec]

    def __post_init__(self) -> None:
        object.__setattr__(self, "specs", MappingProxyType(dict(self.specs)))

    def __contains__(self, name: object) -> bool:
        return name in self.specs

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

    def calibrated_names(self) -> tuple[str, ...]:
        """Names whose source is ``calibrated``."""
        return tuple(n for n, s in self.specs.items() if s.calibrated)

    def with_params(self, **values: float) -> Parameters:
        """A new set with the given typical values replaced (unknown name -> ModelError)."""
        new = dict(self.specs)
        for name, v in values.items():
            old = self.spec(name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ModelError(f"value must be a finite number, got {v!r}", field=name, value=v)
            new[name] = replace(old, value=float(v))
        return Parameters(new)

    def with_bpv(self, **cvs: float) -> Parameters:
        """A new set with the given between-patient CVs replaced (0 switches variability off)."""
        new = dict(self.specs)
        for name, cv in cvs.items():
            old = self.spec(name)
            if not (0.0 <= float(cv) < 10.0):
                raise ModelError(f"bpv_cv must be in [0, 10), got {cv!r}", field=name, value=cv)
            new[name] = replace(old, bpv_cv=float(cv))
        return Parameters(new)

    def without_variability(self) -> Parameters:
        """The same typical values with every between-patient CV set to 0."""
        return Parameters({n: replace(s, bpv_cv=0.0) for n, s in self.specs.items()})

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: name -> entry."""
        return {n: s.to_dict() for n, s in self.specs.items()}


def load_parameters(path: str | Path | None = None) -> Parameters:
    """Load the parameter table (default: the packaged ``parameters.toml``).

    Extra tables in :data:`EXTRA_TABLES` found beside the main table are merged in; a name
    defined twice raises :class:`ModelError`.
    """
    main = Path(path) if path is not None else DEFAULT_TABLE
    specs = read_table(main)
    for extra in EXTRA_TABLES:
        extra_path = main.parent / extra
        if extra_path.exists():
            for name, spec in read_table(extra_path).items():
                if name in specs:
                    raise ModelError(f"defined in both {main.name} and {extra}", field=name)
                specs[name] = spec
    return Parameters(specs)


def write_values(updates: Mapping[str, float], path: str | Path | None = None) -> None:
    """Write new ``value`` fields for ``updates`` into the TOML table at ``path``, atomically.

    Only the ``value = ...`` line of each named table is replaced (text edit), so every other
    field, entry and comment is kept byte for byte; the result is re-parsed before the rename.
    """
    import re

    target = Path(path) if path is not None else DEFAULT_TABLE
    text = target.read_text(encoding="utf-8")
    for name, v in updates.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ModelError(f"value must be a finite number, got {v!r}", field=name, value=v)
        pattern = re.compile(
            r"(^\[" + re.escape(name) + r"\][ \t]*\n(?:(?!\[)[^\n]*\n)*?)value[ \t]*=[^\n]*",
            re.MULTILINE,
        )
        new_line = f"value = {float(v)!r}"

        def _sub(m: re.Match[str], line: str = new_line) -> str:
            return m.group(1) + line

        text, n = pattern.subn(_sub, text, count=1)
        if n != 1:
            raise ModelError(f"not in {target.name}", field=name, value=name)
    check = tomllib.loads(text)
    for name, v in updates.items():
        if check[name]["value"] != float(v):  # pragma: no cover - defensive
            raise ModelError(f"write-back failed for {name}", field=name)
    write_text_atomic(target, text)
