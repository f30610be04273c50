"""Run the il2sim CLI in this process and send SIGINT at a chosen point (tests/test_interrupt_cli.py).

Usage: ``python interrupt_runner.py WHEN HOOK ARGS...``.  ``WHEN`` is ``K`` (after the K-th
progress report with something done, so the count that finished is known exactly), ``KxK``
(at the K-th report, then again: a second Ctrl-C) or ``tS`` (S seconds after start, before
anything finished).  ``HOOK`` names the progress callback to watch: ``bar`` (the CLI's shared
progress bar: trial, reproduce, design simulate, validate; optionally ``bar:TASK``, a task
name prefix), ``simulate`` and ``sweep`` (the same bar, their task), ``calibrate`` or
``cohort`` (one trial: after each cohort).  The signal goes to the whole process group (the test starts this
runner in a new session), as a terminal's Ctrl-C would, so worker processes receive it too.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any

WHEN, HOOK, ARGV = sys.argv[1], sys.argv[2], sys.argv[3:]
_calls = [0]


def _fire() -> None:
    os.kill(0, signal.SIGINT)


def _tick() -> None:
    _calls[0] += 1
    if "x" in WHEN:
        k = int(WHEN.split("x")[0])
        if _calls[0] == k:
            _fire()
            time.sleep(0.2)
            _fire()
    elif not WHEN.startswith("t") and _calls[0] == int(WHEN):
        _fire()


#: Hooks that watch one task of the shared bar: ``simulate`` and ``sweep run`` draw theirs with
#: :func:`il2sim.cli._common.progress_bar` too.
_BAR_TASKS = {"simulate": "simulating", "sweep": "sweep chunks"}


def _patch() -> None:
    if HOOK.startswith("bar") or HOOK in _BAR_TASKS:
        import il2sim.cli._common as common

        task_name = HOOK.split(":", 1)[1] if ":" in HOOK else _BAR_TASKS.get(HOOK)
        original = common.progress_bar

        @contextmanager
        def bar(enabled: bool = True, **kw: Any) -> Any:
            with original(False, **kw) as update:

                def hooked(task: str, done: int, total: int | None, label: str | None = None) -> None:
                    update(task, done, total, label)
                    if done > 0 and (task_name is None or task.startswith(task_name)):
                        _tick()

                yield hooked

        common.progress_bar = bar  # type: ignore[assignment]
    elif HOOK == "cohort":  # one trial: after each model-simulated cohort
        import il2sim.trial.run as tr

        original_draw = tr._ModelTrial.draw

        def draw(self: Any, level: int, size: int, cohort: int) -> Any:
            out = original_draw(self, level, size, cohort)
            _tick()
            return out

        tr._ModelTrial.draw = draw  # type: ignore[method-assign]
    elif HOOK == "calibrate":
        import il2sim.calibrate as cal

        original_cal = cal.calibrate

        def calibrate(**kw: Any) -> Any:
            inner = kw.get("progress")

            def hooked(n: int, cost: float) -> None:
                if inner is not None:
                    inner(n, cost)
                _tick()

            kw["progress"] = hooked
            return original_cal(**kw)

        cal.calibrate = calibrate  # type: ignore[assignment]


if __name__ == "__main__":
    _patch()
    if WHEN.startswith("t"):
        threading.Timer(float(WHEN[1:]), _fire).start()
    sys.argv = ["il2sim", *ARGV]
    from il2sim.cli.entry import main  # the console script's entry (a quiet Ctrl-C on import)

    main()
