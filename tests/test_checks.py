"""The validation boundary (il2sim.checks) and the resource limits (il2sim.limits)."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from il2sim import checks, limits
from il2sim.errors import InputError


@pytest.mark.parametrize("bad", [-1, 2**63, True, 1.0, "3", None, -(2**70)])
def test_seed_refuses_negative_huge_and_non_integers(bad: object) -> None:
    with pytest.raises(InputError, match=r"^seed: must be a whole number in 0\.\.2\^63-1, got"):
        checks.seed(bad)


@pytest.mark.parametrize("good", [0, 1, 2**63 - 1, np.int64(7), np.uint32(3)])
def test_seed_accepts_0_to_2_63_minus_1(good: object) -> None:
    assert checks.seed(good) == int(good)  # type: ignore[call-overload]


@given(st.integers())
def test_seed_rule_is_exactly_the_range(n: int) -> None:
    if 0 <= n < 2**63:
        assert checks.seed(n) == n
    else:
        with pytest.raises(InputError):
            checks.seed(n)


@pytest.mark.parametrize(
    "text", ["١٢", "１２", "1_000", "nan", "inf", "-inf", "", "1e", "0x10", " ", "1,5", "٠.٥"]
)
def test_number_text_refuses_non_ascii_and_non_finite(text: str) -> None:
    with pytest.raises(InputError, match=r"^x: "):
        checks.number_text(text, "x")


@pytest.mark.parametrize(
    ("text", "value"), [("1.5", 1.5), ("-2e-3", -2e-3), (".5", 0.5), ("7", 7.0)]
)
def test_number_text_parses_ascii_numbers(text: str, value: float) -> None:
    assert checks.number_text(text, "x") == value


def test_subnormal_and_huge_values() -> None:
    with pytest.raises(InputError, match="subnormal"):
        checks.real(1e-320, "dose")
    assert checks.real(0.0, "x") == 0.0
    with pytest.raises(InputError, match="must be <= 5"):
        checks.real(1e300, "bsa", maximum=5.0)
    for bad in (math.nan, math.inf, -math.inf, "abc", True):
        with pytest.raises(InputError):
            checks.real(bad, "x")


def test_counts_probabilities_vectors() -> None:
    assert checks.count(3, "n", maximum=3) == 3
    with pytest.raises(InputError, match=r"n: must be a whole number in 1\.\.3"):
        checks.count(4, "n", maximum=3)
    with pytest.raises(InputError, match="whole number"):
        checks.count(2.0, "n")
    assert checks.probability_vector([0.1, 0.2], "truth", increasing=True) == (0.1, 0.2)
    with pytest.raises(InputError, match="strictly increasing"):
        checks.probability_vector([0.2, 0.1], "truth", increasing=True)
    with pytest.raises(InputError, match=r"in \[0, 1\]"):
        checks.probability_vector([0.2, 1.5], "truth")
    with pytest.raises(InputError, match="strictly between"):
        checks.probability(1.0, "target", open_interval=True)


def test_output_rules(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="existing folder, expected a file"):
        checks.output_file(tmp_path / "d", "--out")
    with pytest.raises(InputError, match="existing file, expected a folder"):
        checks.output_folder(tmp_path / "f.txt", "--out")
    with pytest.raises(InputError, match="a parent is a file"):
        checks.output_file(tmp_path / "f.txt" / "x.csv", "--out")
    with pytest.raises(InputError, match="not a regular file"):
        checks.output_file("/dev/null", "--out")
    # a missing parent is fine (it is created when the file is written)
    assert checks.output_file(tmp_path / "a" / "b" / "c.csv") == tmp_path / "a" / "b" / "c.csv"
    assert checks.output_folder(tmp_path / "new") == tmp_path / "new"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write a read-only folder")
def test_output_in_a_read_only_folder(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(InputError, match="not writable"):
            checks.output_file(ro / "x.csv", "--out")
    finally:
        ro.chmod(0o700)


def test_scheduler_address_format_and_probe() -> None:
    for bad in ("not a url", "tcp://", "tcp://host:0", "tcp://host:99999", "http://h:1"):
        with pytest.raises(InputError, match="scheduler address"):
            checks.scheduler_address(bad)
    with pytest.raises(InputError, match="no scheduler answers there"):
        checks.scheduler_address("tcp://127.0.0.1:9", probe_s=1.0)
    assert checks.scheduler_address("localhost:8786", probe_s=0) == "tcp://localhost:8786"


def test_limit_message_names_limit_estimate_and_override() -> None:
    with pytest.raises(limits.LimitError) as exc:
        limits.check("trials", 1e12, "as asked", field="trials")
    msg = str(exc.value)
    assert msg.startswith("trials: needs 1e+12 simulated trials")
    assert "over the limit of 1e+08" in msg and "IL2SIM_LIMIT_TRIALS" in msg
    assert "instead:" in msg


def test_limit_override_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IL2SIM_LIMIT_HORIZON_DAYS", "7300")
    assert limits.limit("horizon_days") == 7300
    limits.check("horizon_days", 7000)
    monkeypatch.setenv("IL2SIM_LIMIT_HORIZON_DAYS", "abc")
    with pytest.raises(InputError, match="IL2SIM_LIMIT_HORIZON_DAYS: must be a positive number"):
        limits.limit("horizon_days")


def test_docs_list_every_limit() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "limits.md").read_text()
    for lim in limits.LIMITS.values():
        assert f"`{lim.env.removeprefix('IL2SIM_LIMIT_')}`" in text, lim.name
    assert re.search(r"IL2SIM_LIMIT_<NAME>", text)


# --- found by the 30-minute `make fuzz` run (issue 16): names the OS cannot take ----------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a\x00b", "NUL byte"),
        ("x" * 300, "longer than 255 bytes"),
        ("/tmp/" + "y" * 256 + "/z", "longer than 255 bytes"),
        ("d/" * 2100, "longer than 4096 bytes"),
        ("\ud800", "not a valid file name"),
    ],
)
def test_paths_the_os_cannot_take(value: str, message: str) -> None:
    for check in (checks.output_file, checks.output_folder):
        with pytest.raises(InputError, match=message):
            check(value, "--out")
    with pytest.raises(InputError, match=message):
        checks.input_file(value, "--in")


@pytest.mark.parametrize(
    ("url", "message"), [("a\x00b", "NUL byte"), ("~nosuchuser\u00cd/x.db", "usable SQLite")]
)
def test_db_urls_the_os_cannot_take(url: str, message: str) -> None:
    from il2sim.serve.config import normalise_db_url

    with pytest.raises(InputError, match=message):
        normalise_db_url(url)


def test_number_list_is_the_one_list_parser() -> None:
    from il2sim.cli._common import parse_float_list
    from il2sim.designs.spec import float_list
    from il2sim.serve.engine import float_list as serve_float_list

    for parse in (parse_float_list, float_list, serve_float_list):
        assert parse("0.4, 0.6,1e-2", "doses") == [0.4, 0.6, 0.01]
        for bad, msg in (("0.4,,0.6", "empty entry"), ("0.4,nan", "finite"), ("0.4,\u0661", "ASCII")):
            with pytest.raises(InputError, match=msg):
                parse(bad, "doses")
    assert serve_float_list([0.1, "0.2"], "truth") == [0.1, 0.2]
    with pytest.raises(InputError, match="number"):
        serve_float_list([True], "truth")


# --- session 20: the sweep and regimen caps are limits too (IL2SIM_LIMIT_<NAME>) ------------


def test_regimen_administrations_limit_is_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    from il2sim.regimen import parse_spec

    monkeypatch.setenv("IL2SIM_LIMIT_ADMINISTRATIONS", "10")
    assert len(parse_spec("1 MIU sc qd x10")) == 10
    with pytest.raises(InputError, match=r"more than the limit of 10 .*IL2SIM_LIMIT_ADMINISTRATIONS"):
        parse_spec("1 MIU sc qd x11")
    monkeypatch.delenv("IL2SIM_LIMIT_ADMINISTRATIONS")
    assert len(parse_spec("1 MIU sc qd x11")) == 11


def test_sweep_task_and_grid_value_limits_are_overridable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from il2sim.sweep.grid import Grid, load_grid

    grid = {"kind": "design", "fixed": {"design": "3+3"},
            "grid": {"truth": [[0.1, 0.2], [0.2, 0.3], [0.3, 0.4]]}, "chunks": 4}  # fmt: skip
    assert Grid.from_dict(grid).n_tasks == 12
    monkeypatch.setenv("IL2SIM_LIMIT_SWEEP_TASKS", "11")
    with pytest.raises(InputError, match=r"12 chunks .* limit of 11 .*IL2SIM_LIMIT_SWEEP_TASKS"):
        Grid.from_dict(grid)
    path = tmp_path / "g.yaml"
    path.write_text("kind: design\nfixed: {design: 3+3}\ngrid: {truth: [[0.1, 0.2], [0.2, 0.3]]}\n")
    assert load_grid(path).n_points == 2
    monkeypatch.setenv("IL2SIM_LIMIT_GRID_VALUES", "3")
    with pytest.raises(InputError, match=r"limit of 3 .*IL2SIM_LIMIT_GRID_VALUES"):
        load_grid(path)


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("x" * 300 + ".csv", "events: has a name longer than 255 bytes"),
        ("a\x00b.csv", "events: must not contain a NUL byte"),
        ("missing.csv", "events: no such file"),
        (".", "events: '.' is a folder, expected a file"),
    ],
)
def test_event_reader_refuses_names_the_os_cannot_take(
    name: str, needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one event-file reader (regimen/_nonmem_records.read_event_csv) names the field for a
    name the OS cannot take, as for a missing file (a DataError, not an OSError traceback); the
    CLI's regimen show/convert and simulate --events rely on it (review of stop 21)."""
    from il2sim.errors import DataError
    from il2sim.regimen import read_nonmem_csv

    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as info:
        read_nonmem_csv(name)
    assert str(info.value).startswith(needle), str(info.value)


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("x" * 300 + ".yaml", "grid: has a name longer than 255 bytes"),
        ("a\x00b.yaml", "grid: must not contain a NUL byte"),
        ("missing.yaml", "grid: no such file: 'missing.yaml'"),
        (".", "grid: '.' is a folder, expected a file"),
    ],
)
def test_one_reader_side_file_check_keeps_each_readers_error_class(
    name: str, needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``checks.reader_file`` is the one file check of the readers (sweep grid: InputError; event
    file: DataError, rows above): the same rule and words, the caller's error class (issue 12
    review of stop 22: load_grid had its own is_file() / "no such file" check)."""
    from il2sim.errors import DataError, InputError
    from il2sim.sweep.grid import load_grid

    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        load_grid(name)
    assert not isinstance(info.value, DataError)
    assert str(info.value).startswith(needle), str(info.value)
    with pytest.raises(DataError) as data_info:
        checks.reader_file(name, "grid", DataError)
    assert str(data_info.value) == str(info.value)
