"""The interruption mechanism itself (il2sim._interrupt; docs/interrupt.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np

from il2sim._interrupt import (
    interrupt_fields,
    interrupt_message,
    interruptible,
    stop_requested,
)


def test_first_ctrl_c_sets_the_flag_without_raising() -> None:
    with interruptible() as stop:
        assert not stop and not stop_requested()
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100):  # the handler runs at the next bytecode; the watcher soon after
            if stop:
                break
        assert stop and stop_requested()
    assert not stop_requested()  # outside any scope
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_scopes_nest_and_other_threads_get_their_own_flag() -> None:
    seen: list[bool] = []
    with interruptible() as outer:
        with interruptible() as inner:
            assert inner is outer
        outer.set()

        def worker() -> None:
            with interruptible() as mine:
                seen.append(bool(mine) or stop_requested())

        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert seen == [False]


def test_fields_and_message() -> None:
    assert interrupt_fields(3, 10) == {"interrupted": True, "done": 3, "asked": 10}
    assert interrupt_fields(10, 10)["interrupted"] is False
    line = interrupt_message("trials", 3, 10, "out/x.json")
    assert line.startswith("il2sim: interrupted: 3 of 10 trials finished; the finished trials")
    assert "\n" not in line


def test_controller_keeps_exactly_the_trials_that_finished() -> None:
    """Generic loop: SIGINT inside the 10th progress report -> exactly 10 trials kept."""
    from il2sim.designs.registry import build_design
    from il2sim.designs.simulate import simulate_trials

    def progress(done: int, total: int) -> None:
        if done == 10:
            os.kill(os.getpid(), signal.SIGINT)

    design = build_design("3+3", n_doses=3)
    oc = simulate_trials(design, np.array([0.1, 0.2, 0.3]), 200, 5, use_kernel=False,
                         progress=progress)  # fmt: skip
    assert oc.interrupted and (oc.n_trials, oc.n_trials_requested) == (10, 200)
    full = simulate_trials(design, np.array([0.1, 0.2, 0.3]), 10, 5, use_kernel=False)
    assert oc.selection_pct == full.selection_pct  # the kept trials are the first ten


def _run(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
        timeout=120, cwd=tmp_path,
    )  # fmt: skip


def test_second_ctrl_c_exits_at_once_and_removes_temporaries(tmp_path: Path) -> None:
    proc = _run(
        """
        import os, signal, time
        from il2sim._files import atomic_path
        from il2sim._interrupt import interruptible
        with interruptible():
            with atomic_path("out/result.json") as tmp:
                tmp.write_text("partial")
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)
                t0 = time.monotonic()
                while time.monotonic() - t0 < 30:  # busy, never checks the flag
                    pass
        print("not reached")
        """,
        tmp_path,
    )
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip() == "il2sim: interrupted (stopped at once, nothing kept)"
    assert "not reached" not in proc.stdout
    assert list((tmp_path / "out").iterdir()) == []


def test_an_unacknowledged_stop_ends_after_the_grace_period(tmp_path: Path) -> None:
    proc = _run(
        """
        import os, signal, time
        import il2sim._interrupt as it
        it.GRACE_S = 0.5
        with it.interruptible():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(30)  # e.g. a numba compilation: the flag is never read
        print("not reached")
        """,
        tmp_path,
    )
    assert proc.returncode == 130 and "not reached" not in proc.stdout
    assert "Traceback" not in proc.stderr
