"""The parameter table: loading, validation, immutability, write-back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from il2sim.errors import ModelError
from il2sim.model.parameters import DEFAULT_TABLE, load_parameters, read_table, write_values


def test_every_entry_has_unit_source_and_valid_cv() -> None:
    specs = read_table(DEFAULT_TABLE)
    assert len(specs) > 30
    for name, s in specs.items():
        assert s.unit, name
        assert s.source, name
        assert 0.0 <= s.bpv_cv < 10.0


def test_sourced_values_match_the_literature() -> None:
    p = load_parameters()
    # Konrad 1990: 650 U/ml right after 1e6 U/m2 i.v. -> Vc = 1e6/650 ml/m2
    assert p.value("vc_l_per_m2") == pytest.approx(1e6 / 650 / 1000, rel=1e-3)
    assert p.value("cl_renal_ml_per_min") == 120.0  # Konrad 1990
    assert p.value("kd_high_pm") == 25.0  # Nagler 1990
    assert p.value("sites_high_bright") == 1200.0  # Nagler 1990
    assert p.value("nk_loss_per_day") == 0.069  # Zhang 2007


def test_with_params_returns_new_set_and_rejects_unknown_names() -> None:
    p = load_parameters()
    q = p.with_params(kd_high_pm=50.0)
    assert q.value("kd_high_pm") == 50.0
    assert p.value("kd_high_pm") == 25.0
    with pytest.raises(ModelError, match="no_such_param"):
        p.with_params(no_such_param=1.0)
    with pytest.raises(ModelError):
        p.value("no_such_param")
    with pytest.raises(ModelError):
        p.with_params(kd_high_pm=float("nan"))


def test_calibrated_names_are_marked() -> None:
    p = load_parameters()
    names = p.calibrated_names()
    for n in ("receptor_pool_scale", "emax_production", "signal_ke0_per_day"):
        assert n in names
    assert "kd_high_pm" not in names


def test_malformed_table_raises_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "parameters.toml"
    bad.write_text('[x]\nvalue = "a"\nunit = "1"\nsource = "s"\n')
    with pytest.raises(ModelError, match="x"):
        load_parameters(bad)
    bad.write_text("[x]\nvalue = 1.0\n")
    with pytest.raises(ModelError, match="missing"):
        load_parameters(bad)


def test_write_values_keeps_other_fields(tmp_path: Path) -> None:
    path = tmp_path / "parameters.toml"
    shutil.copy(DEFAULT_TABLE, path)
    before = read_table(path)
    write_values({"emax_production": 123.5}, path)
    after = read_table(path)
    assert after["emax_production"].value == 123.5
    assert after["emax_production"].source == before["emax_production"].source
    for name in before:
        if name != "emax_production":
            assert after[name] == before[name]
    with pytest.raises(ModelError):
        write_values({"nope": 1.0}, path)
