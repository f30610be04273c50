"""The shared design options of every command that builds a design, as one value.

``il2sim design next|simulate|exact|paths|boundaries``, ``il2sim trial`` and the server
(``il2sim serve``: a trial protocol's design) all turn the same options into a design through
:meth:`DesignSpec.build`: ``--design``, ``--target``, ``--skeleton``, ``--n-doses``,
``--start-dose``, ``--cohort-size``, ``--model``, the A+B thresholds, the rules,
``--max-patients``, the time-to-event options (``--window-days``, ``--accrual-per-window``,
``--accrual``, ``--weights``, ``--tox-time``), ``--backfill`` and any other design option as ``KEY=VALUE`` text
(``-O``/``--option``).
The CLI declares the options (``il2sim.cli._design_options``); the conversion lives here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from il2sim import checks
from il2sim.errors import DesignError, InputError

__all__ = ["DesignSpec", "float_list", "parse_options", "parse_value"]


def float_list(text: str, field: str) -> list[float]:
    """Parse ``"0.4,0.6,0.8"`` into finite floats (:func:`il2sim.checks.number_list`)."""
    return checks.number_list(text, field)


def parse_value(text: str, field: str = "option") -> Any:
    """A ``KEY=VALUE`` option's value: true/yes, false/no, a comma list of floats, an int, a
    float, else the text."""
    t = text.strip()
    if t.lower() in ("true", "yes"):
        return True
    if t.lower() in ("false", "no"):
        return False
    if "," in t:
        return float_list(t, field)
    if not checks.looks_numeric(t):
        return t
    try:
        return checks.integer_text(t, field)
    except InputError:
        return checks.number_text(t, field)


def parse_options(items: list[str] | None) -> dict[str, Any]:
    """``["phi1=0.18", "extrasafe=true"]`` -> ``{"phi1": 0.18, "extrasafe": True}``."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise InputError(f"expected KEY=VALUE, got {item!r}", field="option", value=item)
        k, v = item.split("=", 1)
        key = k.strip().replace("-", "_")
        if not key:
            raise InputError(f"expected KEY=VALUE, got {item!r}", field="option", value=item)
        out[key] = parse_value(v, key)
    return out


@dataclass(frozen=True)
class DesignSpec:
    """The shared design options as given on the command line (None = not given)."""

    design: str
    target: float | None = None
    target_tox: float | None = None
    target_eff: float | None = None
    skeleton: str | None = None
    n_doses: int | None = None
    start_dose: int | None = None
    cohort_size: int | None = None
    model: str | None = None
    a: int | None = None
    b: int | None = None
    c: int | None = None
    d: int | None = None
    e: int | None = None
    expand_lower: bool | None = None
    no_skip: bool = False
    stop_tox_threshold: float | None = None
    stop_tox_confidence: float | None = None
    demand_n: int | None = None
    stop_n_mtd: int | None = None
    max_patients: int | None = None
    window_days: float | None = None
    accrual_per_window: float | None = None
    accrual: str | None = None
    weights: str | None = None
    tox_time: str | None = None
    backfill: bool = False
    stage1_patients: int | None = None
    stage2_patients: int | None = None
    stage2_arms: int | None = None
    stage2_ratio: str | None = None
    stage2_rule: str | None = None
    stage2_margin: float | None = None
    option: tuple[str, ...] = ()

    def build(
        self,
        truth: list[float] | None = None,
        n_doses: int | None = None,
        max_patients_rule: bool = True,
    ) -> Any:
        """The design (wrapped in the rules asked for).  ``n_doses`` from ``--n-doses``, else the
        skeleton, ``truth`` or the ``n_doses`` argument; ``max_patients_rule``: ``--max-patients``
        wraps ``stop_at_n`` (conduct) rather than being a simulation cap."""
        from il2sim.designs.base import check_target
        from il2sim.designs.registry import build_design

        if self.target is not None and self.target_tox is not None:
            if self.target != self.target_tox:
                raise DesignError("give --target or --target-tox, not both", field="target_tox")
        target = self.target if self.target is not None else self.target_tox
        if target is not None:
            check_target(target)
        sk = float_list(self.skeleton, "skeleton") if self.skeleton else None
        nd = self.n_doses
        for guess in (len(sk) if sk else None, len(truth) if truth else None, n_doses):
            if nd is None:
                nd = guess
        if nd is None:
            raise DesignError("give --n-doses (or --skeleton / --truth)", field="n_doses")
        name = self.design
        if self.backfill:
            from il2sim.designs.registry import _normalise

            if _normalise(name) not in ("boin", "bf-boin"):
                raise DesignError(
                    f"backfill is available for boin (BF-BOIN), not {name!r}",
                    field="backfill", value=name,
                )  # fmt: skip
            name = "bf-boin"
        design = build_design(
            name,
            n_doses=nd,
            target=target,
            target_eff=self.target_eff,
            skeleton=sk,
            start_dose=self.start_dose,
            cohort_size=self.cohort_size,
            model=self.model,
            a=self.a,
            b=self.b,
            c=self.c,
            d=self.d,
            e=self.e,
            expand_lower=self.expand_lower,
            no_skip=self.no_skip or None,
            stop_tox_threshold=self.stop_tox_threshold,
            stop_tox_confidence=self.stop_tox_confidence,
            demand_n=self.demand_n,
            stop_n_mtd=self.stop_n_mtd,
            max_patients=self.max_patients if max_patients_rule else None,
            window_days=self.window_days,
            accrual_per_window=self.accrual_per_window,
            accrual=self.accrual,
            weights=self.weights,
            tox_time=self.tox_time,
            **parse_options(list(self.option)),
        )
        return self._stage2(design)

    def _stage2(self, design: Any) -> Any:
        """Wrap ``design`` in the randomised stage when ``--stage2-patients`` is given."""
        extra = (self.stage2_arms, self.stage2_ratio, self.stage2_rule, self.stage2_margin)
        if self.stage2_patients is None:
            if self.stage1_patients is not None or any(v is not None for v in extra):
                raise DesignError("the randomised stage needs --stage2-patients",
                                  field="stage2_patients")  # fmt: skip
            return design
        from il2sim.designs.randomised import RandomisedStage

        if self.stage1_patients is None:
            raise DesignError("the randomised stage needs --stage1-patients (escalation size)",
                              field="stage1_patients")  # fmt: skip
        opts: dict[str, Any] = {}
        if self.stage2_arms is not None:
            opts["arms"] = self.stage2_arms
        if self.stage2_ratio is not None:
            opts["ratio"] = tuple(float_list(self.stage2_ratio, "stage2_ratio"))
        if self.stage2_rule is not None:
            opts["rule"] = self.stage2_rule
        if self.stage2_margin is not None:
            opts["margin"] = self.stage2_margin
        return RandomisedStage(design, self.stage1_patients, self.stage2_patients, **opts)
