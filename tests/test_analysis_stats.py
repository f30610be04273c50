"""Statistics of il2sim.analysis.stats against hand values, closed forms and brute force."""

from __future__ import annotations

import math
from itertools import permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from il2sim.analysis.stats import (
    jonckheere_terpstra,
    jt_exact_distribution,
    jt_null_variance,
    jt_permutation_distribution,
    jt_statistic,
    log_dose_fit,
    spearman,
    summarize_by_level,
)
from il2sim.errors import DataError, InputError


def test_jt_three_groups_of_two_statistic_12_exact_p_one_in_90() -> None:
    # Issue 6: groups (1,2), (3,4), (5,6): J = 12 (all 12 cross pairs ordered); only one of
    # the 6!/(2!2!2!) = 90 labellings gives J = 12, so the exact one-sided p = 1/90.
    r = jonckheere_terpstra([(1, 2), (3, 4), (5, 6)])
    assert r.statistic == 12.0
    assert r.method == "exact"
    assert r.pvalue == pytest.approx(1.0 / 90.0, rel=1e-12)
    # mean (N^2 - sum n_i^2)/4 = (36 - 12)/4 = 6; variance (6*5*17 - 3*2*1*9)/72 = 456/72
    assert r.mean == 6.0
    assert r.variance == pytest.approx(456.0 / 72.0)
    decreasing = jonckheere_terpstra([(1, 2), (3, 4), (5, 6)], alternative="decreasing")
    assert decreasing.pvalue == pytest.approx(1.0)


def test_exact_distribution_matches_brute_force_over_all_orderings() -> None:
    n = [2, 3, 2]
    pmf = jt_exact_distribution(n)
    # brute force over all 7! orderings of 7 distinct values (independent of the q-series)
    labels = np.repeat(np.arange(3), n)
    counts = np.zeros(pmf.size)
    for perm in permutations(range(7)):
        groups = [np.asarray(perm)[labels == g] for g in range(3)]
        counts[int(jt_statistic(groups))] += 1
    np.testing.assert_allclose(pmf, counts / counts.sum(), rtol=1e-12)
    # and the labelling enumerator gives the same distribution
    js = jt_permutation_distribution(np.arange(7.0), n)
    np.testing.assert_allclose(np.bincount(js.astype(int)) / js.size, pmf, rtol=1e-12)


def test_exact_distribution_moments_for_large_groups() -> None:
    # mean (N^2 - sum n^2)/4 and variance [N(N-1)(2N+5) - sum n(n-1)(2n+5)]/72 (no ties);
    # N = 150: tails must stay accurate, as in q-binomials built one positive factor at a time.
    n = [40, 60, 50]
    pmf = jt_exact_distribution(n)
    k = np.arange(pmf.size)
    mean = (k * pmf).sum()
    assert mean == pytest.approx((150**2 - (40**2 + 60**2 + 50**2)) / 4.0, rel=1e-12)
    assert ((k - mean) ** 2 * pmf).sum() == pytest.approx(jt_null_variance(n), rel=1e-10)
    assert pmf.min() >= 0.0 and pmf[0] == pytest.approx(pmf[-1])
    # the extreme tail: exactly one of 150!/(40! 60! 50!) orderings gives J = max
    log_count = math.lgamma(151) - math.lgamma(41) - math.lgamma(61) - math.lgamma(51)
    assert math.log(pmf[-1]) == pytest.approx(-log_count, rel=1e-6)


def test_tie_corrected_variance_by_hand() -> None:
    # groups (1,2), (2,3,3), (3,4): n = 2,3,2 (N = 7); tie sizes 1,2,3,1.
    # v1 = [7*6*19 - (2*1*9 + 3*2*11 + 2*1*9) - (2*1*9 + 3*2*11)] / 72 = 612/72 = 8.5
    # v2 = (3*2*1) * (3*2*1) / (36*7*6*5) = 36/7560;  v3 = (2+6+2) * (2+6) / (8*7*6) = 80/336
    hand = 8.5 + 36.0 / 7560.0 + 80.0 / 336.0
    assert jt_null_variance([2, 3, 2], [1, 2, 3, 1]) == pytest.approx(hand, rel=1e-12)
    r = jonckheere_terpstra([(1, 2), (2, 3, 3), (3, 4)], method="normal")
    # J by hand: (1,2)v(2,3,3) = 3 + 2.5; (1,2)v(3,4) = 4; (2,3,3)v(3,4) = 2 + 1.5 + 1.5
    assert r.statistic == 14.5
    assert r.mean == 8.0
    assert r.variance == pytest.approx(hand, rel=1e-12)
    assert r.z == pytest.approx(6.5 / math.sqrt(hand))
    assert r.pvalue == pytest.approx(sps.norm.sf(6.5 / math.sqrt(hand)))
    assert r.ties and r.method.startswith("normal")


def test_tie_corrected_variance_equals_permutation_variance() -> None:
    # The formula is the exact variance of J over all labellings: brute force agrees.
    values = np.array([1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 4.0, 5.0])
    n = [3, 3, 3]
    js = jt_permutation_distribution(values, n)
    _, t = np.unique(values, return_counts=True)
    assert js.var() == pytest.approx(jt_null_variance(n, t.tolist()), rel=1e-10)
    assert js.mean() == pytest.approx((81 - 27) / 4.0)


def test_exact_with_ties_is_the_permutation_tail() -> None:
    groups = [(1, 2), (2, 3, 3), (3, 4)]
    r = jonckheere_terpstra(groups)
    assert r.method.startswith("exact (permutation")
    js = jt_permutation_distribution(np.array([1, 2, 2, 3, 3, 3, 4], float), [2, 3, 2])
    assert r.pvalue == pytest.approx(np.mean(js >= 14.5 - 1e-9))


def test_exact_and_normal_agree_for_moderate_samples() -> None:
    rng = np.random.default_rng(20261126)
    groups = [rng.normal(loc=mu, size=6) for mu in (0.0, 0.3, 0.6, 0.9)]
    exact = jonckheere_terpstra(groups, method="exact")
    normal = jonckheere_terpstra(groups, method="normal")
    assert exact.statistic == normal.statistic
    assert abs(exact.pvalue - normal.pvalue) < 0.01


def test_auto_falls_back_to_normal_for_large_tied_samples() -> None:
    groups = [[1, 2, 2, 3] * 5, [2, 3, 3, 4] * 5, [3, 4, 4, 5] * 5]
    r = jonckheere_terpstra(groups)
    assert r.method.startswith("normal")
    with pytest.raises(InputError, match="labellings"):
        jonckheere_terpstra(groups, method="exact")


def test_jt_rejects_single_group_and_bad_options() -> None:
    with pytest.raises(DataError):
        jonckheere_terpstra([(1, 2), (np.nan,)])
    with pytest.raises(InputError):
        jonckheere_terpstra([(1, 2), (3, 4)], alternative="up")  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=4),
        min_size=2,
        max_size=4,
    )
)
def test_jt_forward_plus_reversed_is_number_of_cross_pairs(groups: list[list[int]]) -> None:
    n = [len(g) for g in groups]
    pairs = sum(n[i] * n[j] for i in range(len(n)) for j in range(i + 1, len(n)))
    assert jt_statistic(groups) + jt_statistic(groups[::-1]) == pytest.approx(pairs)
    r = jonckheere_terpstra(groups, method="normal")
    assert 0.0 <= r.pvalue <= 1.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=6), min_size=2, max_size=5))
def test_exact_pmf_sums_to_one_and_is_symmetric(n: list[int]) -> None:
    pmf = jt_exact_distribution(n)
    assert pmf.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(pmf, pmf[::-1], atol=1e-15)
    k = np.arange(pmf.size)
    N = sum(n)
    assert (k * pmf).sum() == pytest.approx((N * N - sum(x * x for x in n)) / 4.0)


def test_spearman_hand_value() -> None:
    # ranks d = (0, -1, 1): rho = 1 - 6 * 2 / (3 * 8) = 0.5
    r = spearman([1.0, 2.0, 3.0], [1.0, 3.0, 2.0])
    assert r.statistic == pytest.approx(0.5)
    assert r.n == 3
    assert spearman([1, 2, 3, 4], [2, 4, 8, 16]).statistic == pytest.approx(1.0)


def test_log_dose_fit_matches_closed_form_ols() -> None:
    dose = np.array([0.4, 0.4, 0.8, 0.8, 1.25, 1.25, 1.75])
    y = np.array([150.0, 170.0, 260.0, 300.0, 420.0, 380.0, 530.0])
    fit = log_dose_fit(dose, y)
    x = np.log(dose)
    xc = x - x.mean()
    slope = (xc * (y - y.mean())).sum() / (xc**2).sum()
    intercept = y.mean() - slope * x.mean()
    resid = y - intercept - slope * x
    s2 = (resid**2).sum() / (len(y) - 2)
    se = math.sqrt(s2 / (xc**2).sum())
    tq = sps.t.ppf(0.975, len(y) - 2)
    assert fit.slope == pytest.approx(slope)
    assert fit.intercept == pytest.approx(intercept)
    assert fit.slope_ci == pytest.approx((slope - tq * se, slope + tq * se))
    assert fit.statistic == pytest.approx(slope / se)
    assert fit.pvalue == pytest.approx(2 * sps.t.sf(abs(slope / se), len(y) - 2))
    assert fit.predict(1.0) == pytest.approx(intercept)
    with pytest.raises(DataError):
        log_dose_fit([0.0, 1.0, 2.0], [1.0, 2.0, 3.0])


def test_summary_by_level_hand_values() -> None:
    s = summarize_by_level(
        [150.0, 200.0, np.nan, 300.0, 400.0, 500.0],
        [1, 1, 1, 2, 2, 2],
        [0.4, 0.4, 0.4, 0.8, 0.8, 0.8],
    )
    assert [x.n for x in s] == [2, 3]
    assert s[0].mean == 175.0 and s[0].sd == pytest.approx(math.sqrt(1250.0))
    assert s[1].median == 400.0 and (s[1].min, s[1].max) == (300.0, 500.0)
    assert s[1].sd == pytest.approx(100.0) and s[1].dose_miu_per_m2 == 0.8
