"""The fuzzed CLI in CI (issue 16 item 5): every command of the app, a fixed seed and a fixed
example budget (about two minutes on two cores in all); ``make fuzz`` runs the same harness
for 30 minutes (``tests/fuzz_cli.py``).

Each run must end with exit 0 or 2, no traceback, within its command's budget, with no
temporary file left and, when it failed, no file changed (see :mod:`fuzz_cli`).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, seed, settings

from fuzz_cli import BUDGETS, argv_for, commands, describe, run_one, warm_up

COMMANDS = commands()

#: Examples per command in CI (heavier commands get fewer); override with IL2SIM_FUZZ_EXAMPLES.
EXAMPLES = int(os.environ.get("IL2SIM_FUZZ_EXAMPLES", "8"))
HEAVY = {"reproduce": 3, "trial": 4, "calibrate": 3, "sweep run": 4, "report": 4}


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Budgets catch hangs, not the first run's lazy imports."""
    warm_up()


def test_every_command_is_enumerated() -> None:
    names = {c.name for c in COMMANDS}
    for expected in ("simulate", "design paths", "trial", "sweep run", "regimen show", "serve"):
        assert expected in names
    # a command in the budget table that the app no longer has is a stale entry
    assert set(BUDGETS) <= names, sorted(set(BUDGETS) - names)


@pytest.mark.slow
@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: c.name.replace(" ", "-"))
def test_fuzz_command(cmd: object) -> None:
    from fuzz_cli import Command

    assert isinstance(cmd, Command)
    n = min(EXAMPLES, HEAVY.get(cmd.name, EXAMPLES))

    @seed(20261201)
    @settings(
        max_examples=n, deadline=None, database=None, derandomize=False,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(argv_for(cmd))
    def check(argv: list[str]) -> None:
        res = run_one(argv, cmd.budget.seconds)
        assert not res.problems, describe(res)

    check()
