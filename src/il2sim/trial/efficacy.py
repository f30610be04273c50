"""The efficacy endpoint of a model-informed trial: a response defined on a model output.

Syntax (``il2sim trial --efficacy``, ``il2sim optimise --efficacy``)::

    <output>[_fold|_pct]<op><threshold>@day<D>

* ``<output>``: a name the model DECLARES as an output (:attr:`il2sim.model.declaration.Model.
  outputs`), either in full (``nk_per_ul``) or as its stem without the unit suffix (``nk``,
  ``bright``, ``dim``, ``il2``; a Treg output ``treg_per_ul`` of model v2 is ``treg`` with no
  edit here).  Aliases: ``cd56bright`` = ``bright``, ``cd56dim`` = ``dim``.
* measure: ``_fold`` the value on day D over the baseline (study day 1, before the first
  dose); ``_pct`` the % change from baseline, ``100 (value / baseline - 1)``; none: the value
  itself in the output's declared unit.
* ``<op>``: ``>=``, ``>``, ``<=`` or ``<``; ``<threshold>``: a finite number (> 0 for a fold).
* ``@day<D>``: study day D (SDTM: day 1 = the first dose, model time ``D - 1`` days), the value
  before that day's dose (a trough on a dosing day), ``2 <= D <=`` the trial's last treatment
  day.

Examples: ``nk_fold>=3@day56`` (NK count at least 3x baseline on study day 56),
``cd56bright_fold>=5@day28``, ``nk_pct>=100@day43``, ``nk_per_ul>=400@day29``.

The response is assessed on the model's true value (no assay noise): an idealised, central
assessment.  Where it is written: SDTM RS, ADaM ADRS (:mod:`il2sim.cdisc.efficacy`).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.errors import InputError

__all__ = ["EfficacyDefinition", "declared_outputs", "parse_efficacy"]

FIELD = "efficacy"
ALIASES: dict[str, str] = {"cd56bright": "bright", "cd56dim": "dim"}
#: Unit suffixes stripped from declared output names to form their stems.
SUFFIXES: tuple[str, ...] = ("_per_ul", "_pm", "_sites", "_iu")
OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
}  # fmt: skip
_SYNTAX = re.compile(
    r"^(?P<name>[a-z][a-z0-9_]*?)(?:_(?P<measure>fold|pct))?"
    r"(?P<op>>=|<=|>|<)(?P<thr>[^@<>=]+)@day(?P<day>[^@]+)$",
    re.ASCII,
)
_MEASURE_TEXT = {"fold": "fold change from baseline", "pct": "% change from baseline", "value": ""}


def declared_outputs(model: Any = None) -> tuple[str, ...]:
    """Output names the model declares (default: the model :func:`il2sim.simulate.simulate`
    runs, :data:`il2sim.model.il2nk.IL2NK`)."""
    if model is None:
        from il2sim.model.il2nk import IL2NK

        model = IL2NK
    return tuple(model.output_names)


def _stem(name: str) -> str:
    for s in SUFFIXES:
        if name.endswith(s) and len(name) > len(s):
            return name[: -len(s)]
    return name


def _resolve(name: str, outputs: Sequence[str]) -> str:
    if name in outputs:
        return name
    want = ALIASES.get(name, name)
    hits = [o for o in outputs if _stem(o) == want]
    if len(hits) == 1:
        return hits[0]
    stems = ", ".join(sorted({_stem(o) for o in outputs}))
    raise InputError(
        f"{name!r} names no model output (the model declares {stems}; aliases "
        f"{', '.join(f'{a}={b}' for a, b in ALIASES.items())})",
        field=FIELD, value=name,
    )  # fmt: skip


@dataclass(frozen=True)
class EfficacyDefinition:
    """A response on a model output: ``measure(output on study day)`` ``op`` ``threshold``.

    ``output``: the declared output name; ``measure``: ``fold``, ``pct`` or ``value``;
    ``study_day``: SDTM study day (model time ``study_day - 1``).
    """

    output: str
    measure: str
    op: str
    threshold: float
    study_day: int
    text: str = ""

    @property
    def t_day(self) -> float:
        """Model time of the assessment, days after the first dose."""
        return float(self.study_day - 1)

    def describe(self) -> str:
        """Plain-text criterion, e.g. ``nk_per_ul fold change from baseline >= 3 on study day
        56`` (ADaM CRIT1)."""
        what = f"{self.output} {_MEASURE_TEXT[self.measure]}".strip()
        return f"{what} {self.op} {self.threshold:g} on study day {self.study_day}"

    def quantity(self, baseline: npt.ArrayLike, value: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The endpoint quantity per patient from the baseline and day-D values."""
        b = np.asarray(baseline, dtype=float)
        v = np.asarray(value, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.measure == "fold":
                return np.asarray(v / b, dtype=float)
            if self.measure == "pct":
                return np.asarray(100.0 * (v / b - 1.0), dtype=float)
        return v

    def responders(self, quantity: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether each patient's quantity meets the criterion (NaN: not a responder)."""
        q = np.asarray(quantity, dtype=float)
        return np.asarray(OPS[self.op](q, self.threshold) & np.isfinite(q), dtype=bool)

    def check_day(self, last_day: int) -> EfficacyDefinition:
        """``self`` if the study day is a treatment day, else InputError naming the day."""
        if self.study_day > last_day:
            raise InputError(
                f"day {self.study_day} is after the last treatment day {last_day}",
                field=FIELD, value=self.text or self.study_day,
            )  # fmt: skip
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``docs/json.md``, ``efficacy``)."""
        return {
            "definition": self.text, "output": self.output, "measure": self.measure,
            "op": self.op, "threshold": self.threshold, "study_day": self.study_day,
        }  # fmt: skip


def parse_efficacy(text: str, model: Any = None, last_day: int | None = None) -> EfficacyDefinition:
    """Parse the syntax of the module docstring; names are checked against the outputs the
    model declares.  Bad text: :class:`InputError` (field ``efficacy``) naming the part."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"expected e.g. nk_fold>=3@day56, got {text!r}", field=FIELD, value=text)
    raw = text.strip()
    s = raw.lower().replace(" ", "")
    m = _SYNTAX.match(s)
    if m is None:
        op = re.search(r"[<>=!]+", s)
        if op is not None and op.group(0) not in OPS:
            raise InputError(
                f"unknown operator {op.group(0)!r} in {raw!r} (use >=, >, <= or <)",
                field=FIELD, value=raw,
            )  # fmt: skip
        raise InputError(
            f"expected <output>[_fold|_pct]<op><threshold>@day<D> (e.g. nk_fold>=3@day56), "
            f"got {raw!r}", field=FIELD, value=raw,
        )  # fmt: skip
    outputs = declared_outputs(model)
    name, measure = m.group("name"), m.group("measure") or "value"
    output = _resolve(name, outputs)
    try:
        thr = float(m.group("thr"))
    except ValueError:
        thr = math.nan
    if not math.isfinite(thr) or (measure == "fold" and thr <= 0):
        raise InputError(
            f"threshold must be a finite number{' > 0' if measure == 'fold' else ''}, "
            f"got {m.group('thr')!r}", field=FIELD, value=raw,
        )  # fmt: skip
    day_text = m.group("day")
    if not day_text.isdigit() or int(day_text) < 2:
        raise InputError(
            f"day must be a whole study day >= 2 (day 1 is baseline), got {day_text!r}",
            field=FIELD, value=raw,
        )  # fmt: skip
    d = EfficacyDefinition(output, measure, m.group("op"), thr, int(day_text), raw)
    return d if last_day is None else d.check_day(last_day)
