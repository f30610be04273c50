"""A Ctrl-C while the console script starts (issue 17: the first ~0.4 s, while Python imports
the il2sim package, used to show Python's traceback; docs/interrupt.md "Import").

The console script is ``il2sim_console:main``: its SIGINT handler is installed before any
``il2sim`` module is imported.  The first test is deterministic (SIGINT sent from an import hook
at the moment ``il2sim`` itself starts to import, and again inside the CLI's import); the
second sends SIGINT to the installed console script at several times during its start-up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HOOK = """
import importlib.abc, os, signal, sys
class Fire(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == {name!r}:
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, Fire())
sys.argv = ["il2sim", "regimen", "show", "1 MIU/m2 sc qd x3"]
import il2sim_console
il2sim_console.main()
"""


@pytest.mark.parametrize("name", ["il2sim", "il2sim.cli.main", "numpy"])
def test_ctrl_c_during_the_package_import_is_one_line(name: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", HOOK.format(name=name)], capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr and "KeyboardInterrupt" not in proc.stderr
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip() == "il2sim: interrupted"
    assert proc.stdout == ""


def test_the_console_script_is_the_early_entry() -> None:
    """The installed script imports ``il2sim_console`` first (not a module of the package)."""
    script = Path(sys.executable).with_name("il2sim")
    if not script.is_file():
        pytest.skip(f"no console script beside {sys.executable}")
    text = script.read_text()
    assert "from il2sim_console import main" in text, text


@pytest.mark.parametrize("delay_s", [0.05, 0.15, 0.3, 0.6])
def test_ctrl_c_at_start_up_never_shows_a_traceback(delay_s: float) -> None:
    script = Path(sys.executable).with_name("il2sim")
    if not script.is_file():
        pytest.skip(f"no console script beside {sys.executable}")
    proc = subprocess.Popen(
        [str(script), "regimen", "show", "1 MIU/m2 sc qd x3"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    time.sleep(delay_s)
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except ProcessLookupError:  # already finished
        pass
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    # -2: the signal came before Python installed any handler (default action, no output);
    # 0: the command finished first
    assert proc.returncode in (130, -2, 0), err
    if proc.returncode == 130:
        assert [ln for ln in err.splitlines() if ln.strip()] == ["il2sim: interrupted"], err
