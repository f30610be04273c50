"""A+B designs (Lin & Shih 2001): conduct, exact operating characteristics, simulation.

Reference numbers: ../shared/reference/dose-finding.md, section "3+3 (exact, by enumeration)"
(copied here; tests never read that file).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from il2sim.designs import (
    ABDesign,
    Outcomes,
    exact_oc,
    four_plus_five,
    simulate_trials,
    three_plus_three,
)
from il2sim.errors import DesignError

# dose-finding.md, 3+3 table: truth; variant A (none, dose 1..5); E[N] A; variant B.
TABLE = [
    (
        (0.25, 0.35, 0.50, 0.65, 0.80),
        (0.4001, 0.3620, 0.1969, 0.0387, 0.0022, 0.0000),
        8.00,
        (0.4445, 0.3590, 0.1702, 0.0254, 0.0009, 0.0000),
    ),
    (
        (0.15, 0.25, 0.40, 0.55, 0.70),
        (0.1862, 0.3256, 0.3372, 0.1326, 0.0178, 0.0006),
        None,
        (0.2030, 0.3497, 0.3308, 0.1058, 0.0101, 0.0006),
    ),
    (
        (0.10, 0.15, 0.25, 0.40, 0.55),
        (0.0939, 0.1687, 0.2951, 0.3055, 0.1202, 0.0166),
        None,
        (0.0980, 0.1798, 0.3167, 0.2982, 0.0906, 0.0166),
    ),
    (
        (0.03, 0.07, 0.15, 0.25, 0.40),
        (0.0100, 0.0491, 0.1752, 0.3064, 0.3172, 0.1421),
        None,
        (0.0102, 0.0512, 0.1886, 0.3256, 0.2824, 0.1421),
    ),
]


def _probs(oc: object) -> tuple[float, ...]:
    return tuple(
        round(v / 100, 4)
        for v in (oc.none_selected_pct, *oc.selection_pct)  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize(("truth", "var_a", "en_a", "var_b"), TABLE)
def test_exact_three_plus_three_reproduces_reference(truth, var_a, en_a, var_b) -> None:
    oc_a = exact_oc(three_plus_three(5, expand_lower=False), truth)
    oc_b = exact_oc(three_plus_three(5, expand_lower=True), truth)
    assert _probs(oc_a) == pytest.approx(var_a, abs=1e-12)
    assert _probs(oc_b) == pytest.approx(var_b, abs=1e-12)
    if en_a is not None:
        assert round(oc_a.mean_patients, 2) == en_a
    for oc in (oc_a, oc_b):
        # probabilities sum to one; expected DLTs = sum truth * expected patients (Wald)
        assert oc.none_selected_pct + sum(oc.selection_pct) == pytest.approx(100.0, abs=1e-9)
        assert oc.mean_dlts == pytest.approx(float(np.dot(truth, oc.patients_per_dose)))


def test_exact_closed_form_single_dose() -> None:
    """One dose, 3+3: P(pass) = q^3 + 3 p q^2 * q^3 (0/3, or 1/3 then 0/3)."""
    p = 0.2
    q = 1 - p
    oc = exact_oc(three_plus_three(1), [p])
    pass_prob = q**3 + 3 * p * q**2 * q**3
    assert oc.selection_pct[0] / 100 == pytest.approx(pass_prob, rel=1e-12)
    # E[N] = 3 + 3 * P(exactly one DLT in first 3)
    assert oc.mean_patients == pytest.approx(3 + 3 * 3 * p * q**2, rel=1e-12)


def test_exact_all_zero_and_all_one() -> None:
    oc = exact_oc(four_plus_five(7), [0.0] * 7)
    assert oc.selection_pct[-1] == pytest.approx(100.0)
    assert oc.mean_patients == pytest.approx(28.0)  # 4 per dose, 7 doses
    oc = exact_oc(four_plus_five(7), [1.0] * 7)
    assert oc.none_selected_pct == pytest.approx(100.0)
    assert oc.mean_patients == pytest.approx(4.0)


def test_variant_b_only_expands_lower() -> None:
    """Both variants share P(MTD = top dose): escalation past the top is identical."""
    truth = (0.03, 0.07, 0.15, 0.25, 0.40)
    a = exact_oc(three_plus_three(5), truth)
    b = exact_oc(three_plus_three(5, expand_lower=True), truth)
    assert a.selection_pct[-1] == pytest.approx(b.selection_pct[-1], abs=1e-12)
    assert b.mean_patients > a.mean_patients


@pytest.mark.parametrize(
    ("history", "next_dose", "size", "stop", "mtd"),
    [
        ("", 1, 3, False, None),
        ("1NNN", 2, 3, False, 1),
        ("1NNT", 1, 3, False, None),
        ("1NNT 1NNN", 2, 3, False, 1),
        ("1NNT 1NTN", None, None, True, None),
        ("1NTT", None, None, True, None),
        ("1NNN 2NNN 3NNN 4NNN 5NNN", None, None, True, 5),
        ("1NNN 2TTN", None, None, True, 1),
        ("1NNN 2NNT 2TNN", None, None, True, 1),
    ],
)
def test_three_plus_three_a_conduct(history, next_dose, size, stop, mtd) -> None:
    dec = three_plus_three(5).fit(Outcomes.parse(history)).decision()
    assert (dec.next_dose, dec.cohort_size, dec.stop) == (next_dose, size, stop)
    if stop:
        assert dec.mtd == mtd


@pytest.mark.parametrize(
    ("history", "next_dose", "stop", "mtd"),
    [
        ("1NNN 2TTN", 1, False, None),  # expand dose 1 to six
        ("1NNN 2TTN 1NNN", None, True, 1),
        ("1NNN 2TTN 1NTT", None, True, None),  # dose 1 too toxic as well
        ("1NNN 2NNN 3TTT", 2, False, None),
        ("1NNN 2NNN 3TTT 2TTN", 1, False, None),  # move down again, expand dose 1
        ("1NNT 1NNN 2TTN", None, True, 1),  # dose 1 already has six
    ],
)
def test_three_plus_three_b_conduct(history, next_dose, stop, mtd) -> None:
    dec = three_plus_three(5, expand_lower=True).fit(Outcomes.parse(history)).decision()
    assert (dec.next_dose, dec.stop) == (next_dose, stop)
    if stop:
        assert dec.mtd == mtd


def test_four_plus_five_cohort_sizes() -> None:
    """Seed design (Meropol 1996, cohorts of 4 to 9): 4, then 5 more after 1/4."""
    des = four_plus_five(7)
    assert des.fit(Outcomes()).decision().cohort_size == 4
    dec = des.fit(Outcomes.parse("1NNNN 2NTNN")).decision()
    assert (dec.next_dose, dec.cohort_size) == (2, 5)
    dec = des.fit(Outcomes.parse("1NNNN 2NTNN 2NNNNN")).decision()
    assert (dec.next_dose, dec.cohort_size, dec.stop) == (3, 4, False)
    dec = des.fit(Outcomes.parse("1NNNN 2NTNN 2NNTNN")).decision()
    assert dec.stop and dec.mtd == 1
    dec = des.fit(Outcomes.parse("1NNNN 2TTNN")).decision()
    assert dec.stop and dec.mtd == 1


def test_partial_cohort_is_completed() -> None:
    dec = three_plus_three(5).fit(Outcomes.parse("1NN")).decision()
    assert (dec.next_dose, dec.cohort_size) == (1, 1)


@pytest.mark.parametrize(
    "kw",
    [
        {"n_doses": 0},
        {"n_doses": 3, "a": 0},
        {"n_doses": 3, "c": 2, "d": 1},
        {"n_doses": 3, "d": 3},
        {"n_doses": 3, "e": 6},
        {"n_doses": 3, "start_dose": 4},
        {"n_doses": 3, "target": 1.2},
    ],
)
def test_impossible_designs(kw) -> None:
    with pytest.raises(DesignError):
        ABDesign(**kw)


def test_exact_rejects_bad_truth() -> None:
    with pytest.raises(DesignError, match="truth"):
        exact_oc(three_plus_three(3), [0.1, 0.2])
    with pytest.raises(DesignError, match="truth"):
        exact_oc(three_plus_three(2), [0.1, 1.2])


@pytest.mark.parametrize("design", [three_plus_three(5), three_plus_three(5, expand_lower=True)])
def test_simulated_agrees_with_exact(design) -> None:
    """Simulated selection and E[N] within 3 MC standard errors of the exact values."""
    truth = (0.10, 0.15, 0.25, 0.40, 0.55)
    ex = exact_oc(design, truth, target=0.3)
    sim = simulate_trials(design, truth, 40_000, seed=7, target=0.3)
    n = sim.n_trials
    for e_pct, s_pct in zip(
        (ex.none_selected_pct, *ex.selection_pct),
        (sim.none_selected_pct, *sim.selection_pct),
        strict=True,
    ):
        p = e_pct / 100
        se = 100 * np.sqrt(p * (1 - p) / n)
        assert abs(s_pct - e_pct) <= 3 * se + 1e-9
    assert abs(sim.mean_patients - ex.mean_patients) <= 3 * sim.mean_patients_se


def test_simulate_seeded_and_capped() -> None:
    des = four_plus_five(7)
    truth = [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5]
    a = simulate_trials(des, truth, 500, seed=3)
    b = simulate_trials(des, truth, 500, seed=3)
    assert (a.selection_pct, a.patients_per_dose, a.dlts_per_dose) == (
        b.selection_pct,
        b.patients_per_dose,
        b.dlts_per_dose,
    )
    capped = simulate_trials(des, truth, 500, seed=3, max_patients=10)
    assert capped.mean_patients <= 10
    assert capped.stopped_early_pct < 100


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 4), st.integers(0, 3)), min_size=0, max_size=6),
    st.booleans(),
)
def test_decision_always_valid(cohorts, expand) -> None:
    """Any history: next dose in range with a positive cohort size, or a stop with MTD in range."""
    des = three_plus_three(4, expand_lower=expand)
    out = Outcomes()
    for dose, x in cohorts:
        out = out.add_cohort(dose, [1] * x + [0] * (3 - x))
    dec = des.fit(out).decision()
    if dec.stop:
        assert dec.next_dose is None
        assert dec.mtd is None or 1 <= dec.mtd <= 4
    else:
        assert dec.next_dose is not None and 1 <= dec.next_dose <= 4
        assert dec.cohort_size is not None and dec.cohort_size >= 1


def test_exact_matches_brute_force_enumeration() -> None:
    """Independent check: enumerate every patient-level DLT sequence for 3+3a on 2 doses."""
    truth = (0.2, 0.45)
    des = three_plus_three(2)
    sel = np.zeros(3)
    # At most 12 patients; enumerate all 2**12 DLT strings by patient order.
    for bits in itertools.product((0, 1), repeat=12):
        prob_bits = list(bits)
        out = Outcomes()
        pr = 1.0
        k = 0
        while True:
            dec = des.fit(out).decision()
            if dec.stop:
                break
            y = prob_bits[k : k + dec.cohort_size]
            k += dec.cohort_size
            p = truth[dec.next_dose - 1]
            pr *= float(np.prod([p if v else 1 - p for v in y]))
            out = out.add_cohort(dec.next_dose, y)
        # unused bits are free: their probabilities sum to one; count each path once
        if any(prob_bits[k:]):
            continue
        sel[dec.mtd or 0] += pr
    ex = exact_oc(des, truth)
    assert sel[0] * 100 == pytest.approx(ex.none_selected_pct, abs=1e-10)
    assert sel[1:] * 100 == pytest.approx(ex.selection_pct, abs=1e-10)


def test_start_above_lowest_dose() -> None:
    """Variant A never declares an untreated dose; variant B moves down and treats it."""
    a = three_plus_three(5, start_dose=3)
    dec = a.fit(Outcomes.parse("3NTT")).decision()
    assert dec.stop and dec.mtd is None
    b = three_plus_three(5, start_dose=3, expand_lower=True)
    dec = b.fit(Outcomes.parse("3NTT")).decision()
    assert (dec.next_dose, dec.cohort_size, dec.stop) == (2, 3, False)
    dec = b.fit(Outcomes.parse("3NTT 2NNN")).decision()
    assert (dec.next_dose, dec.cohort_size) == (2, 3)  # the MTD needs six
    dec = b.fit(Outcomes.parse("3NTT 2NNN 2NNT")).decision()
    assert dec.stop and dec.mtd == 2
    # exact OCs with a higher start still sum to one
    oc = exact_oc(b, (0.1, 0.2, 0.3, 0.4, 0.5))
    assert oc.none_selected_pct + sum(oc.selection_pct) == pytest.approx(100.0)
    assert oc.patients_per_dose[0] < oc.patients_per_dose[2]
