"""The CLI entry point: user errors of every kind are one line on stderr and exit code 2."""

from __future__ import annotations

import pytest

from il2sim.cli.main import main


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["simulate", "--patients", "abc"], "--patients: must be a whole number"),
        (["nosuch"], "No such command 'nosuch'"),
        (["simulate", "--bogus"], "No such option: --bogus"),
        (["regimen", "show", "-1 MIU/m2 sc qd x5"], "dose: must be positive"),
        (["design", "next"], "Missing option '--design'"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("il2sim: error: ")
    assert needle in err
    assert "Traceback" not in err


def test_success_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == "0.1.0"
