"""Option parsing of ``il2sim fit`` (params, omega with blocks, error kinds) and the data
checks of the reader and of the spec."""

from __future__ import annotations

import numpy as np
import pytest

from il2sim.errors import DataError, InputError
from il2sim.fit.data import from_long
from il2sim.fit.il2sim_model import BASELINE_PARAMS, DEFAULT_FREE
from il2sim.fit.model import FitSpec
from il2sim.fit.workflow import parse_error, parse_omega, parse_params
from il2sim.model.parameters import load_parameters

BASE = load_parameters()


def test_parse_params_and_omega_defaults() -> None:
    assert parse_params(None, BASE) == DEFAULT_FREE
    free = parse_params("f_sc, emax_production,hill_production", BASE)
    rnd, sd0, blocks = parse_omega(None, free, BASE, BASELINE_PARAMS)
    # hill_production has no variability in the table: a fixed effect only
    assert rnd == ("f_sc", "emax_production", *BASELINE_PARAMS)
    assert sd0["f_sc"] == 0.5 and blocks == (BASELINE_PARAMS,)


def test_parse_omega_blocks_and_values() -> None:
    free = ("f_sc", "emax_production", "nk_loss_per_day")
    rnd, sd0, blocks = parse_omega("block(f_sc,emax_production), nk_loss_per_day=0.2", free, BASE)
    assert set(rnd) == set(free) and sd0["nk_loss_per_day"] == 0.2
    assert blocks == (("f_sc", "emax_production"),)
    spec = FitSpec(free, (0.3, 400.0, 0.07), rnd, sd0, blocks)
    s = spec.structure()
    assert s[0, 1] and not s[0, 2] and s[2, 2]


@pytest.mark.parametrize("text,field", [("bogus", "omega"), ("hill_production", "omega"),
                                        ("ka_per_day", "omega"), ("block(f_sc)", "omega"),
                                        ("f_sc=abc", "omega f_sc")])
def test_parse_omega_errors(text: str, field: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_omega(text, ("f_sc", "hill_production"), BASE)
    assert str(exc.value).startswith(field + ":")


def test_parse_error() -> None:
    assert parse_error(None) == {"*": "prop"}
    assert parse_error("combined") == {"*": "combined"}
    assert parse_error("il2=exp,nk=prop") == {"il2": "exp", "nk": "prop"}
    with pytest.raises(InputError, match="error il2"):
        parse_error("il2=bad")
    with pytest.raises(InputError, match="params"):
        parse_params("f_sc,f_sc", BASE)


def test_from_long_checks() -> None:
    with pytest.raises(DataError, match="TIME"):
        from_long(["a", "a"], [1.0, 0.5], [1.0, 2.0])
    with pytest.raises(DataError, match="LLOQ"):
        from_long(["a"], [1.0], [np.nan], censored=[True])
    with pytest.raises(DataError, match="observations"):
        from_long([], [], [])
    d = from_long(["b", "a", "b"], [0, 1, 2], [1.0, 2.0, np.nan], censored=[False, False, True],
                  lloq=[0.5, 0.5, 0.5])
    assert d.subject_ids == ("b", "a") and d.n_censored == 1 and d.n_obs.tolist() == [2, 1]
