"""Virtual patients: reproducibility, reference ranges, BSA, random effects."""

from __future__ import annotations

from pathlib import Path

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


def test_random_effects_are_the_model_table_rows_in_table_order() -> None:
    """One draw per row of model/parameters.toml, in its order; no toxicity row."""
    from il2sim.toxicity import load_toxicity_parameters

    p = load_parameters()
    pop = Population.sample(7, 5)
    assert list(pop.params) == list(p.names)
    assert not set(pop.params) & set(load_toxicity_parameters().names)
    # the order is the documented one: after the covariates, row j is the j-th block of n
    rng = np.random.default_rng(5)
    rng.random(7)  # sex
    rng.normal(0.0, 1.0, 7)  # age
    for _ in range(4):  # height, weight, log NK, log CD56bright
        rng.standard_normal(7)
    for name in p.names:
        np.testing.assert_array_equal(pop.params[name], rng.standard_normal(7), err_msg=name)


def test_a_new_toxicity_row_changes_no_virtual_patient(tmp_path: Path) -> None:
    """Adding a row (with variability) to the toxicity table, even first in the file, changes
    no model-side value of any patient, and no toxicity outcome either (the toxicity effects
    are keyed by AE type, not by table row)."""
    from il2sim.regimen import parse_spec
    from il2sim.simulate import simulate
    from il2sim.toxicity import (
        TOXICITY_TABLE,
        load_toxicity_parameters,
        realise_toxicity,
        run_simulation,
    )

    path = tmp_path / "toxicity.toml"
    path.write_text(
        '[new_row]\nvalue = 2.5\nunit = "1"\nbpv_cv = 0.6\nsource = "assumption: test"\n\n'
        + TOXICITY_TABLE.read_text()
    )
    old, new = load_toxicity_parameters(), load_toxicity_parameters(path)
    assert new.names[0] == "new_row" and set(new.names) - set(old.names) == {"new_row"}
    reg = parse_spec("1.25 MIU/m2 sc qd x21")
    a = run_simulation(reg, 30, 2, tox=old, keep_result=True)
    b = run_simulation(reg, 30, 2, tox=new, keep_result=True)
    assert a.population is not None and b.population is not None
    for field in ("age_yr", "height_cm", "weight_kg", "bsa_m2", "nk0_per_ul", "bright0_per_ul"):
        np.testing.assert_array_equal(getattr(a.population, field), getattr(b.population, field))
    assert list(a.population.params) == list(b.population.params)
    for name in a.population.params:
        np.testing.assert_array_equal(a.population.params[name], b.population.params[name])
    assert a.result is not None and b.result is not None
    for field in ("il2_pm", "nk_per_ul", "bright_per_ul", "il2_daily_max_pm"):
        np.testing.assert_array_equal(getattr(a.result, field), getattr(b.result, field))
    assert a.summary == b.summary
    pop = Population.sample(10, 4)
    res = simulate(reg, pop)
    ta, tb = (realise_toxicity(res, reg, pop, t, seed=1) for t in (old, new))
    np.testing.assert_array_equal(ta.grades, tb.grades)
    np.testing.assert_array_equal(ta.dlt_probability, tb.dlt_probability)
