"""Rules wrapping a parent design (escalation-style derived selectors) and their order."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from scipy.stats import beta

from il2sim.designs import (
    Decision,
    Design,
    Fit,
    Outcomes,
    demand_n_at_dose,
    dont_skip_doses,
    stop_at_n,
    stop_when_n_at_dose,
    stop_when_too_toxic,
    three_plus_three,
)
from il2sim.designs.rules import Rule
from il2sim.errors import DesignError


@dataclass(frozen=True)
class _Fixed(Design):
    """Toy design: always recommends ``dose`` (never stops), MTD = ``dose``."""

    n_doses: int = 5
    dose: int = 4
    stop: bool = False

    @property
    def name(self) -> str:
        return "fixed"

    def fit(self, outcomes: Outcomes) -> Fit:
        return _FixedFit(self, outcomes)


class _FixedFit(Fit):
    def __init__(self, design: _Fixed, outcomes: Outcomes) -> None:
        self.design = design
        self.outcomes = outcomes

    def decision(self) -> Decision:
        d = self.design
        assert isinstance(d, _Fixed)
        if d.stop:
            return Decision(None, True, "parent stops", mtd=d.dose)
        return Decision(d.dose, False, "fixed", mtd=d.dose, cohort_size=3)


def test_base_wrapper_forwards_everything() -> None:
    base = three_plus_three(5, start_dose=2)
    wrapped = stop_at_n(base, 100)
    assert (wrapped.n_doses, wrapped.start_dose, wrapped.cohort_size) == (5, 2, 3)
    out = Outcomes.parse("2NNN 3NTN")
    assert wrapped.fit(out).decision() == base.fit(out).decision()
    assert wrapped.fit(out).estimates() == base.fit(out).estimates()
    assert wrapped.base is base
    ident = _Identity(base)
    assert ident.fit(out).decision() == base.fit(out).decision()
    assert ident.name == "_Identity(3+3a)"


@dataclass(frozen=True)
class _Identity(Rule):
    """A new rule needs only fields and ``adjust``; the base wrapper forwards the rest."""

    parent: Design


def test_stop_at_n() -> None:
    des = stop_at_n(_Fixed(), 6)
    assert not des.fit(Outcomes.parse("4NNN")).decision().stop
    dec = des.fit(Outcomes.parse("4NNN 4NTN")).decision()
    assert dec.stop and dec.mtd == 4 and dec.next_dose is None


def test_stop_when_n_at_dose() -> None:
    des = stop_when_n_at_dose(_Fixed(), 6)
    assert not des.fit(Outcomes.parse("3NNN 4NNN")).decision().stop
    dec = des.fit(Outcomes.parse("3NNN 4NNN 4NNT")).decision()
    assert dec.stop and dec.mtd == 4


def test_stop_when_too_toxic_uses_beta_posterior() -> None:
    des = stop_when_too_toxic(_Fixed(), threshold=0.3, confidence=0.9)
    # 2/3 at dose 1: Pr(p > 0.3 | Beta(3, 2)) = 0.9163 > 0.9
    assert beta.sf(0.3, 3, 2) == pytest.approx(0.9163, abs=1e-4)
    dec = des.fit(Outcomes.parse("1NTT")).decision()
    assert dec.stop and dec.mtd is None
    # 1/3: Pr(p > 0.3 | Beta(2, 3)) = 0.6517 < 0.9 -> parent decides
    assert not des.fit(Outcomes.parse("1NNT")).decision().stop
    # fewer than 3 patients at dose 1: not checked
    assert not des.fit(Outcomes.parse("1TT")).decision().stop
    with pytest.raises(DesignError, match="threshold"):
        stop_when_too_toxic(_Fixed(), threshold=1.5)


def test_dont_skip_doses() -> None:
    des = dont_skip_doses(_Fixed(dose=5))
    assert des.fit(Outcomes()).decision().next_dose == 1
    assert des.fit(Outcomes.parse("1NNN")).decision().next_dose == 2
    assert des.fit(Outcomes.parse("1NNN 2NNN 3NNN 4NNN")).decision().next_dose == 5
    down = dont_skip_doses(_Fixed(dose=1), when_escalating=False, when_deescalating=True)
    assert down.fit(Outcomes.parse("4NNN")).decision().next_dose == 3


def test_demand_n_at_dose() -> None:
    des = demand_n_at_dose(_Fixed(stop=True, dose=2), 6)
    dec = des.fit(Outcomes.parse("1NNN 2NNN")).decision()
    assert not dec.stop and dec.next_dose == 2 and dec.cohort_size == 3
    dec = des.fit(Outcomes.parse("1NNN 2NNN 2NNN")).decision()
    assert dec.stop and dec.mtd == 2


def test_wrapper_order_matters() -> None:
    """Outermost decides last: stop_at_n outside always stops at n; inside, demand_n overrides."""
    base = _Fixed(stop=False, dose=2)
    hist = Outcomes.parse("1NNN 1NNN 1NNN 2NNN")  # 12 patients, only 3 at dose 2
    outer_stop = stop_at_n(demand_n_at_dose(base, 9), 12)
    inner_stop = demand_n_at_dose(stop_at_n(base, 12), 9)
    d1 = outer_stop.fit(hist).decision()
    d2 = inner_stop.fit(hist).decision()
    assert d1.stop and d1.mtd == 2
    assert not d2.stop and d2.next_dose == 2
    # both orders agree once 9 are at dose 2
    full = Outcomes.parse("1NNN 1NNN 1NNN 2NNN 2NNN 2NNN")
    assert outer_stop.fit(full).decision().stop
    assert inner_stop.fit(full).decision().stop


def test_rules_compose_on_three_plus_three() -> None:
    des = stop_at_n(three_plus_three(5), 6)
    assert des.name == "stop_at_n[6](3+3a)"
    dec = des.fit(Outcomes.parse("1NNN 2NNN")).decision()
    assert dec.stop and dec.mtd == 2


@pytest.mark.parametrize("n", [0, -1])
def test_rule_arguments_validated(n: int) -> None:
    for rule in (stop_at_n, stop_when_n_at_dose, demand_n_at_dose):
        with pytest.raises(DesignError):
            rule(_Fixed(), n)
