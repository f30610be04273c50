"""Composable rules that wrap a parent design and override one decision.

Follows R ``escalation``'s derived selectors (brockk/escalation ``R/derived_dose_selector.R``,
``stop_at_n_selector.R``, ``dont_skip_doses.R``, ...): :class:`Rule` is a :class:`Design` that
stores its ``parent`` and forwards everything; a rule only implements :meth:`Rule.adjust`, which
receives the parent's :class:`Decision` and the outcomes and returns a (possibly) changed one.

**Order matters.**  The outermost rule decides last: ``stop_at_n(demand_n_at_dose(base, 9),
30)`` always stops at 30 patients, whereas ``demand_n_at_dose(stop_at_n(base, 30), 9)`` keeps
treating past 30 patients until 9 are at the selected dose.  Put hard limits outermost.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from scipy.stats import beta as beta_dist

from il2sim.designs.base import Decision, Design, Fit, Outcomes
from il2sim.errors import DesignError

__all__ = [
    "DemandNAtDose",
    "DontSkipDoses",
    "Rule",
    "RuleFit",
    "StopAtN",
    "StopWhenNAtDose",
    "StopWhenTooToxic",
    "demand_n_at_dose",
    "dont_skip_doses",
    "stop_at_n",
    "stop_when_n_at_dose",
    "stop_when_too_toxic",
]


class Rule(Design):
    """Base wrapper: forwards everything to ``parent``; subclasses override :meth:`adjust`."""

    parent: Design

    @property
    def n_doses(self) -> int:  # type: ignore[override]
        """Number of dose levels of the parent."""
        return self.parent.n_doses

    @property
    def start_dose(self) -> int:  # type: ignore[override]
        """Starting dose of the parent."""
        return self.parent.start_dose

    @property
    def cohort_size(self) -> int:  # type: ignore[override]
        """Default cohort size of the parent."""
        return self.parent.cohort_size

    @property
    def target(self) -> float | None:
        """Target toxicity of the parent, if it has one."""
        return getattr(self.parent, "target", None)

    @property
    def requires_sample_size(self) -> bool:
        """As the parent (a rule that stops the trial by itself overrides this)."""
        return self.parent.requires_sample_size

    def simulation_caps(self, caps: Any) -> Any:
        """As the parent."""
        return self.parent.simulation_caps(caps)

    @property
    def time_to_event(self) -> bool:
        """As the parent."""
        return self.parent.time_to_event

    @property
    def efficacy(self) -> bool:
        """As the parent."""
        return self.parent.efficacy

    @property
    def uses_efficacy(self) -> bool:
        """As the parent."""
        return self.parent.uses_efficacy

    @property
    def timing(self) -> Any:
        """The parent's timing (time-to-event designs)."""
        return getattr(self.parent, "timing", None)

    @property
    def base(self) -> Design:
        """The innermost (non-rule) design."""
        d: Design = self
        while isinstance(d, Rule):
            d = d.parent
        return d

    @property
    def name(self) -> str:
        """``rule(parent-name, args)``."""
        return f"{self.rule_name}({self.parent.name})"

    @property
    def rule_name(self) -> str:
        """Short name of this rule."""
        return type(self).__name__

    def fit(self, outcomes: Outcomes) -> Fit:
        """Fit the parent, then wrap it so this rule adjusts its decision."""
        return RuleFit(self, self.parent.fit(outcomes), outcomes)

    def adjust(self, decision: Decision, outcomes: Outcomes, parent_fit: Fit) -> Decision:
        """The parent's decision, possibly overridden (identity in the base wrapper)."""
        return decision


class RuleFit(Fit):
    """A rule applied to its parent's fit; estimates pass through unchanged."""

    def __init__(self, rule: Rule, parent_fit: Fit, outcomes: Outcomes) -> None:
        self.design = rule
        self.parent_fit = parent_fit
        self.outcomes = outcomes
        self._decision: Decision | None = None

    def decision(self) -> Decision:
        """The parent's decision, adjusted by this rule (cached)."""
        if self._decision is None:
            rule = self.design
            assert isinstance(rule, Rule)
            self._decision = rule.adjust(self.parent_fit.decision(), self.outcomes, self.parent_fit)
        return self._decision

    def estimates(self) -> dict[str, Any]:
        """The parent's estimates."""
        return self.parent_fit.estimates()


def _stop(decision: Decision, reason: str, mtd: int | None) -> Decision:
    return Decision(None, True, reason, mtd=mtd, cohort_size=None)


@dataclass(frozen=True)
class _CountRule(Rule):
    """A rule with one patient count ``n`` >= 1, named ``{label}[n]``."""

    parent: Design
    n: int
    #: The rule's name without its count.
    label: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if self.n < 1:
            raise DesignError(f"must be >= 1, got {self.n}", field="n")

    @property
    def rule_name(self) -> str:
        return f"{self.label}[{self.n}]"


@dataclass(frozen=True)
class StopAtN(_CountRule):
    """Stop once ``n`` patients have been treated; the MTD is the parent's current choice."""

    label: ClassVar[str] = "stop_at_n"

    @property
    def requires_sample_size(self) -> bool:
        """False: this rule is the sample size."""
        return False

    def adjust(self, decision: Decision, outcomes: Outcomes, parent_fit: Fit) -> Decision:
        if decision.stop or outcomes.n_patients < self.n:
            return decision
        mtd = decision.mtd if decision.mtd is not None else decision.next_dose
        return _stop(decision, f"{self.n} patients treated", mtd)


@dataclass(frozen=True)
class StopWhenNAtDose(_CountRule):
    """Stop once ``n`` patients have been treated at the dose the parent recommends next."""

    label: ClassVar[str] = "stop_when_n_at_dose"

    def adjust(self, decision: Decision, outcomes: Outcomes, parent_fit: Fit) -> Decision:
        if decision.stop or decision.next_dose is None:
            return decision
        d = decision.next_dose
        if int((outcomes.dose == d).sum()) >= self.n:
            return _stop(decision, f"{self.n} patients at recommended dose {d}", d)
        return decision


@dataclass(frozen=True)
class StopWhenTooToxic(Rule):
    """Stop with no dose selected when Pr(p_dose > threshold | data) > confidence.

    Posterior of the DLT probability at ``dose`` (1-based, default the lowest) is
    Beta(alpha + DLTs, beta + non-DLTs) -- with the default Beta(1, 1) as in BOIN's safety rule
    (Liu & Yuan 2015).  Checked once at least ``min_n`` patients were treated at the dose.
    """

    parent: Design
    threshold: float
    confidence: float = 0.95
    dose: int = 1
    alpha: float = 1.0
    beta: float = 1.0
    min_n: int = 3

    def __post_init__(self) -> None:
        if not (0 < self.threshold < 1):
            raise DesignError(f"must be in (0, 1), got {self.threshold}", field="threshold")
        if not (0 < self.confidence < 1):
            raise DesignError(f"must be in (0, 1), got {self.confidence}", field="confidence")
        if not (1 <= self.dose <= self.parent.n_doses):
            raise DesignError(f"must be in 1..{self.parent.n_doses}, got {self.dose}", field="dose")

    @property
    def rule_name(self) -> str:
        return f"stop_when_too_toxic[dose {self.dose}, p>{self.threshold}, {self.confidence}]"

    def prob_too_toxic(self, outcomes: Outcomes) -> float:
        """Pr(p_dose > threshold | data) under the Beta prior."""
        sel = outcomes.dose == self.dose
        n = int(sel.sum())
        y = int(outcomes.dlt[sel].sum())
        return float(beta_dist.sf(self.threshold, self.alpha + y, self.beta + n - y))

    def adjust(self, decision: Decision, outcomes: Outcomes, parent_fit: Fit) -> Decision:
        if int((outcomes.dose == self.dose).sum()) < self.min_n:
            return decision
        pr = self.prob_too_toxic(outcomes)
        if pr > self.confidence:
            return _stop(
                decision,
                f"dose {self.dose} too toxic: Pr(p > {self.threshold}) = {pr:.3f} > "
                f"{self.confidence}",
                None,
            )
        return decision


@dataclass(frozen=True)
class DontSkipDoses(Rule):
    """Never move more than one level away from the last cohort's dose.

    ``when_escalating`` caps the next dose at last + 1; ``when_deescalating`` floors it at
    last - 1 (as ``escalation::dont_skip_doses``).  Before any outcome, the next dose is capped
    at the start dose.
    """

    parent: Design
    when_escalating: bool = True
    when_deescalating: bool = False

    @property
    def rule_name(self) -> str:
        return "dont_skip_doses"

    def adjust(self, decision: Decision, outcomes: Outcomes, parent_fit: Fit) -> Decision:
        if decision.stop or decision.next_dose is None:
            return decision
        last = outcomes.last_dose
        nxt = decision.next_dose
        if last is None:
            if self.when_escalating and nxt > self.start_dose:
                return replace(decision, next_dose=self.start_dose, reason="no skipping")
            return decision
        if self.when_escalating and nxt > last + 1:
            return replace(decision, next_dose=last + 1, reason=f"no skipping above {last}")
        if self.when_deescalating and nxt < last - 1:
            return replace(decision, next_dose=last - 1, reason=f"no skipping below {last}")
        return decision


@dataclass(frozen=True)
class DemandNAtDose(_CountRule):
    """Do not stop until ``n`` patients were treated at the selected dose; treat there instead.

    A stop with no dose selected (too toxic) is kept.
    """

    label: ClassVar[str] = "demand_n_at_dose"

    def adjust(self, decision: Decision, outcomes: Outcomes, parent_fit: Fit) -> Decision:
        if not decision.stop or decision.mtd is None:
            return decision
        d = decision.mtd
        have = int((outcomes.dose == d).sum())
        if have >= self.n:
            return decision
        size = min(self.cohort_size, self.n - have)
        return Decision(
            d,
            False,
            f"{have} < {self.n} patients at dose {d}",
            mtd=d,
            cohort_size=size,
        )


def stop_at_n(parent: Design, n: int) -> StopAtN:
    """Wrap ``parent``: stop once ``n`` patients have been treated."""
    return StopAtN(parent, int(n))


def stop_when_n_at_dose(parent: Design, n: int) -> StopWhenNAtDose:
    """Wrap ``parent``: stop once ``n`` patients are at the recommended dose."""
    return StopWhenNAtDose(parent, int(n))


def stop_when_too_toxic(
    parent: Design, threshold: float, confidence: float = 0.95, dose: int = 1, **kw: Any
) -> StopWhenTooToxic:
    """Wrap ``parent``: stop with no MTD when Pr(p_dose > threshold) > confidence."""
    return StopWhenTooToxic(parent, float(threshold), float(confidence), int(dose), **kw)


def dont_skip_doses(
    parent: Design, when_escalating: bool = True, when_deescalating: bool = False
) -> DontSkipDoses:
    """Wrap ``parent``: no skipping of untried levels when escalating (and/or de-escalating)."""
    return DontSkipDoses(parent, when_escalating, when_deescalating)


def demand_n_at_dose(parent: Design, n: int) -> DemandNAtDose:
    """Wrap ``parent``: keep treating at the selected dose until it has ``n`` patients."""
    return DemandNAtDose(parent, int(n))
