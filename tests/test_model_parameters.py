"""The parameter table: loading, validation, immutability, write-back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(a) == len(b)  # no line added, removed or moved
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


@pytest.mark.parametrize("table", ["model", "toxicity"])
def test_write_back_changes_only_the_calibrated_value_lines(tmp_path: Path, table: str) -> None:
    """The one write-back (tomlkit) of both tables: only the ``value`` line of each updated
    calibrated row changes; comments, blank lines, order and every other byte are kept."""
    from il2sim.toxicity import TOXICITY_TABLE, load_toxicity_parameters, write_toxicity_values

    src = DEFAULT_TABLE if table == "model" else TOXICITY_TABLE
    path = tmp_path / src.name
    shutil.copy(src, path)
    before = path.read_text()
    load = load_parameters if table == "model" else load_toxicity_parameters
    names = load(path).calibrated_names()
    assert len(names) >= 4
    updates = {n: load(path).value(n) * 1.5 + 0.125 for n in names}
    if table == "model":
        write_values(updates, path)
    else:
        write_toxicity_values(updates, path)
    after = path.read_text()
    changed = _changed_lines(before, after)
    assert len(changed) == len(updates)
    for old, new in changed:
        assert old.startswith("value = ") and new.startswith("value = ")
    assert [ln for ln in after.splitlines() if ln.startswith("#")] == [
        ln for ln in before.splitlines() if ln.startswith("#")
    ]
    p = load(path)
    for n, v in updates.items():
        assert p.value(n) == v


def test_write_back_refuses_uncalibrated_rows_and_bad_values_atomically(tmp_path: Path) -> None:
    path = tmp_path / "parameters.toml"
    shutil.copy(DEFAULT_TABLE, path)
    before = path.read_bytes()
    for updates, match in (
        ({"kd_high_pm": 30.0}, "not 'calibrated'"),  # Nagler 1990: a sourced value
        ({"emax_production": float("nan")}, "finite"),
        ({"emax_production": 1.0, "nope": 2.0}, "nope"),
    ):
        with pytest.raises(ModelError, match=match):
            write_values(updates, path)
        assert path.read_bytes() == before  # no partial write
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left
    write_values({"kd_high_pm": 30.0}, path, calibrated_only=False)
    assert read_table(path)["kd_high_pm"].value == 30.0


def test_write_back_keeps_a_trailing_comment(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        '# head\n\n[a]\nvalue = 1.5   # fitted 2026\nunit = "1"\nsource = "calibrated"\n'
    )
    write_values({"a": 2.0}, path)
    assert path.read_text() == (
        '# head\n\n[a]\nvalue = 2.0   # fitted 2026\nunit = "1"\nsource = "calibrated"\n'
    )


@settings(max_examples=60, deadline=None)
@given(v=st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_written_values_round_trip_exactly(v: float) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.toml"
        path.write_text('[a]\nvalue = 1.0\nunit = "1"\nsource = "calibrated"\n')
        write_values({"a": v}, path)
        assert read_table(path)["a"].value == v


def test_one_table_per_file() -> None:
    """The model table holds the model's rows only; the toxicity table is its own file."""
    from il2sim.toxicity import load_toxicity_parameters

    model, tox = load_parameters(), load_toxicity_parameters()
    assert "tox_ec50_pm" in tox and "tox_ec50_pm" not in model
    assert not set(model.names) & set(tox.names)
    assert type(model) is type(tox)
