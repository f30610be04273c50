"""One check of a ``--parameters`` file, in the reader (issue 12): ``load_parameters`` checks
the path the way every file reader does (:func:`il2sim.checks.reader_file`), so every command
that reads a parameter table refuses a bad one with the same line, exit 2.

Before (main 24da7dd) the check was written at three call sites (``cli/_model``,
``cli/fit.params_cmd``, ``fit/sensitivity_run``; ``sensitivity`` ran it twice) with the words
``no such file, got 'F'``, ``simulate``/``trial`` had their own ``is_file()`` with
``no such file: 'F'`` (a folder was "no such file"), and ``simulate``/``trial --parameters``
with a 300-byte name ended in an ``OSError: [Errno 36]`` traceback (exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from il2sim.cli.main import main
from il2sim.errors import ModelError
from il2sim.model.parameters import load_parameters

_FIT_DATA = Path(__file__).with_name("data") / "fit_tiny.csv"

BAD: list[tuple[str, str]] = [
    ("missing.toml", "parameters: no such file: 'missing.toml'"),
    (".", "parameters: '.' is a folder, expected a file"),
    ("x" * 300, "parameters: has a name longer than 255 bytes, got 'xxxx"),
    ("a\x00b.toml", "parameters: must not contain a NUL byte"),
]

COMMANDS: list[list[str]] = [
    ["params"],
    ["sensitivity"],
    ["simulate", "--regimen", "1 MIU sc qd x3"],
    ["trial"],
    ["fit", str(_FIT_DATA), "--params", "f_sc"],
    ["vpc", str(_FIT_DATA)],
]


@pytest.mark.parametrize(("name", "needle"), BAD, ids=["missing", "folder", "long", "nul"])
def test_load_parameters_checks_its_file(
    name: str, needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError) as info:
        load_parameters(name)
    assert str(info.value).startswith(needle), str(info.value)


@pytest.mark.parametrize(("name", "needle"), BAD[:3], ids=["missing", "folder", "long"])
def test_every_command_refuses_a_bad_parameter_file_with_the_same_line(
    name: str, needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    lines = set()
    for argv in COMMANDS:
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--parameters", name])
        err = capsys.readouterr().err
        assert exc.value.code == 2, (argv, err)
        assert err.count("\n") == 1 and "Traceback" not in err, (argv, err)
        lines.add(err)
    assert len(lines) == 1, lines  # the same words whatever the command
    assert lines.pop().startswith(f"il2sim: error: {needle}")
    assert list(tmp_path.iterdir()) == []  # nothing written
