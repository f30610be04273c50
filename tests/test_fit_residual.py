"""Residual error models: M3 likelihood against scipy, censored imputation, closed-form
updates (regression: a proportional model predicting 0 under the LLOQ must not inflate b)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from il2sim.errors import InputError
from il2sim.fit.residual import ResidualModel, check_kind


def _model(kind: str, a: float, b: float) -> ResidualModel:
    return ResidualModel((kind,), np.array([[a, b]]), np.array([1e-9]))


@pytest.mark.parametrize("kind,a,b", [("add", 0.7, 0.0), ("prop", 0.0, 0.2),
                                      ("combined", 0.3, 0.1), ("exp", 0.25, 0.0)])
def test_loglik_matches_scipy(kind: str, a: float, b: float) -> None:
    rng = np.random.default_rng(1)
    f = rng.uniform(0.5, 5.0, (4, 6))
    y = f * np.exp(0.2 * rng.standard_normal(f.shape))
    cens = rng.random(f.shape) < 0.3
    lloq = np.full(f.shape, 1.2)
    types = np.zeros(f.shape, dtype=np.int64)
    mask = np.ones(f.shape, dtype=bool)
    mask[0, -1] = False
    ll = _model(kind, a, b).loglik(y, f, types, cens, lloq, mask)
    sd = {"add": a + 0 * f, "prop": b * f, "combined": np.hypot(a, b * f), "exp": a + 0 * f}[kind]
    if kind == "exp":
        dens = stats.norm.logpdf(np.log(y), np.log(f), sd) - np.log(y)
        cdf = stats.norm.logcdf(np.log(lloq), np.log(f), sd)
    else:
        dens = stats.norm.logpdf(y, f, sd)
        cdf = stats.norm.logcdf(lloq, f, sd)
    want = np.where(mask, np.where(cens, cdf, dens), 0.0).sum(axis=1)
    np.testing.assert_allclose(ll, want, rtol=1e-10)


def test_imputed_values_are_below_the_lloq_and_unbiased() -> None:
    rng = np.random.default_rng(2)
    m = _model("prop", 0.0, 0.3)
    f = np.full((2000, 1), 1.0)
    lloq = np.full(f.shape, 0.9)
    cens = np.ones(f.shape, dtype=bool)
    y, e = m.impute_censored(np.zeros(f.shape), f, np.zeros(f.shape, np.int64), cens, lloq, rng)
    assert (y < 0.9).all()
    # truncated normal mean below the bound: E[e | e < c] = -phi(c)/Phi(c)
    c = (0.9 - 1.0) / 0.3
    assert abs(e.mean() - (-stats.norm.pdf(c) / stats.norm.cdf(c))) < 0.05


def test_prop_zero_prediction_under_lloq_does_not_inflate_b() -> None:
    """A BLQ sample where the model predicts exactly 0 (pre-dose on day 1) is no evidence
    about b: its contribution to the mean squared relative residual is b^2 e*^2 (E = b^2),
    not ~1 (as a draw scaled by the numerical floor would give)."""
    rng = np.random.default_rng(3)
    m = _model("prop", 0.0, 0.15)
    n = 4000
    f = np.where(np.arange(n) % 2 == 0, 0.0, 2.0)[:, None]
    y = f * (1 + 0.15 * rng.standard_normal(f.shape))
    cens = f == 0.0
    lloq = np.full(f.shape, 0.5)
    ty = np.zeros(f.shape, dtype=np.int64)
    y_imp, e = m.impute_censored(y, f, ty, cens, lloq, rng)
    s = m.sq_stat(y_imp, f, ty, np.ones(f.shape, bool), cens, e)
    assert abs(np.sqrt(s[0]) - 0.15) < 0.01


def test_closed_form_updates_and_kinds() -> None:
    m = _model("add", 1.0, 0.0)
    y = np.array([[1.0, 3.0]])
    f = np.array([[0.0, 1.0]])
    s = m.sq_stat(y, f, np.zeros((1, 2), np.int64), np.ones((1, 2), bool))
    assert s[0] == pytest.approx(2.5)
    assert m.ab_from_stat(s)[0, 0] == pytest.approx(np.sqrt(2.5))
    assert check_kind("PROP") == "prop"
    with pytest.raises(InputError, match="error"):
        check_kind("weird")
