"""Virtual patients: reproducibility, reference ranges, BSA, random effects."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from il2sim import units
from il2sim.errors import InputError
from il2sim.model.parameters import load_parameters
from il2sim.population import Population


def test_same_seed_same_population_and_different_seed_differs() -> None:
    a = Population.sample(50, 7)
    b = Population.sample(50, 7)
    c = Population.sample(50, 8)
    np.testing.assert_array_equal(a.nk0_per_ul, b.nk0_per_ul)
    np.testing.assert_array_equal(a.param("ka_per_day"), b.param("ka_per_day"))
    assert not np.array_equal(a.nk0_per_ul, c.nk0_per_ul)
    g1 = Population.sample(20, np.random.default_rng(3))
    g2 = Population.sample(20, np.random.default_rng(3))
    np.testing.assert_array_equal(g1.bsa_m2, g2.bsa_m2)


def test_baselines_follow_the_reference_ranges() -> None:
    pop = Population.sample(20000, 1)
    # ARUP reference ranges taken as 2.5-97.5 percentiles: NK 91-593, CD56bright 2-16 cells/ul
    lo, hi = np.percentile(pop.nk0_per_ul, [2.5, 97.5])
    assert lo == pytest.approx(91.0, rel=0.05)
    assert hi == pytest.approx(593.0, rel=0.05)
    lo, hi = np.percentile(pop.bright0_per_ul, [2.5, 97.5])
    assert lo == pytest.approx(2.0, rel=0.06)
    assert hi == pytest.approx(16.0, rel=0.06)
    assert np.all(pop.bright0_per_ul <= 0.5 * pop.nk0_per_ul)
    assert np.all(pop.dim0_per_ul > 0)


def test_bsa_is_mosteller_and_individual_params_are_lognormal() -> None:
    pop = Population.sample(20000, 2)
    np.testing.assert_allclose(pop.bsa_m2, np.sqrt(pop.height_cm * pop.weight_kg / 3600.0))
    np.testing.assert_allclose(pop.bsa_m2, units.bsa_mosteller_m2(pop.height_cm, pop.weight_kg))
    p = load_parameters()
    ka = pop.param("ka_per_day")
    cv = p.bpv_cv("ka_per_day")
    assert np.median(ka) == pytest.approx(p.value("ka_per_day"), rel=0.02)
    assert np.std(np.log(ka)) == pytest.approx(np.sqrt(np.log1p(cv**2)), rel=0.03)
    # a parameter without variability is the typical value for everyone
    assert np.all(pop.param("kd_high_pm") == p.value("kd_high_pm"))


def test_param_follows_a_new_parameter_set_with_the_same_random_effects() -> None:
    pop = Population.sample(100, 3)
    p = load_parameters()
    q = p.with_params(ka_per_day=2 * p.value("ka_per_day"))
    np.testing.assert_allclose(pop.param("ka_per_day", q), 2 * pop.param("ka_per_day"))


def test_subset_and_concat() -> None:
    pop = Population.sample(30, 4)
    sub = pop.subset([0, 5, 7])
    assert sub.n == 3
    np.testing.assert_array_equal(sub.nk0_per_ul, pop.nk0_per_ul[[0, 5, 7]])
    np.testing.assert_array_equal(sub.param("ka_per_day"), pop.param("ka_per_day")[[0, 5, 7]])
    both = Population.concat([pop, sub])
    assert both.n == 33
    np.testing.assert_array_equal(both.param("f_sc")[30:], sub.param("f_sc"))
    assert len(pop.subset(np.arange(30) < 10)) == 10


@settings(max_examples=25, deadline=None)
@given(n=st.integers(min_value=1, max_value=200), seed=st.integers(0, 2**32 - 1))
def test_any_size_and_seed_gives_valid_patients(n: int, seed: int) -> None:
    pop = Population.sample(n, seed)
    assert pop.n == n
    for arr in (pop.bsa_m2, pop.nk0_per_ul, pop.bright0_per_ul, pop.weight_kg):
        assert arr.shape == (n,)
        assert np.all(np.isfinite(arr)) and np.all(arr > 0)
    assert np.all((pop.age_yr >= 18) & (pop.age_yr <= 85))
    assert set(pop.sex) <= {"M", "F"}


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_bad_size_is_an_input_error(n: object) -> None:
    with pytest.raises(InputError, match="patients"):
        Population.sample(n, 1)  # type: ignore[arg-type]
