"""One loop: no loop over cohorts or trials outside the controller and the compiled kernels it
calls (issue 12).  An AST scan of ``src/il2sim`` lists every ``for``/``while`` loop that steps a
design (``fit``/``decision``/``decide``), adds cohorts, draws patients or runs trials; each must
be in the allow-list below, with its reason.  Loops inside numba kernels are the compiled
kernels the controller calls (``Design.kernel``)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src" / "il2sim"

#: Calls that mark a loop as stepping trials or cohorts.
STEPS = {
    "fit",
    "decision",
    "decide",
    "add_cohort",
    "draw",
    "run_one",
    "simulate_cohort",
    "run_trial",
    "run_trials",
    "run_replicates",
    "simulate_trial",
    "simulate_trials",
}

#: (file, function) -> why the loop is not a second trial loop.
ALLOWED: dict[tuple[str, str], str] = {
    ("designs/controller.py", "run_one"): "THE loop: cohorts of one trial",
    ("designs/controller.py", "_run_generic"): "the controller's trials (generic path)",
    ("designs/controller.py", "_run_one_tte"): "THE loop of a time-to-event design (TITE): "
    "arrivals, decisions at each arrival",
    ("designs/paths.py", "dose_paths"): "enumeration of the outcome tree, no simulation",
    ("designs/randomised.py", "stage1"): "replays the parent's decisions over prefixes of the "
    "given outcomes to find where escalation ended; draws no patients",
    ("designs/ab.py", "exact_oc"): "enumeration of count states (exact OC), no simulation",
    ("trial/replicates.py", "build_pools"): "one batch of pool patients per dose level",
    ("fit/recovery.py", "run_recovery"): "replicate datasets of a parameter-recovery study: "
    "one simulated dataset and one fit each (estimation, not trial conduct)",
}


def _loops() -> list[tuple[str, str, int, bool]]:
    found: list[tuple[str, str, int, bool]] = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            compiled = any("njit" in ast.unparse(d) for d in fn.decorator_list)
            for node in ast.walk(fn):
                if not isinstance(node, ast.For | ast.While):
                    continue
                names = {
                    c.func.attr if isinstance(c.func, ast.Attribute) else getattr(c.func, "id", "")
                    for c in ast.walk(node)
                    if isinstance(c, ast.Call)
                }
                trial_loop = compiled and "n_trials" in ast.unparse(
                    node.iter if isinstance(node, ast.For) else node.test
                )
                if names & STEPS or trial_loop:
                    found.append((rel, fn.name, node.lineno, compiled))
    return found


def test_no_trial_loop_outside_the_controller_and_its_kernels() -> None:
    loops = _loops()
    stray = [
        f"{rel}:{line} in {fn}()"
        for rel, fn, line, compiled in loops
        if not compiled and (rel, fn) not in ALLOWED
    ]
    assert not stray, "trial/cohort loops outside the controller: " + ", ".join(stray)
    kernels = {(rel, fn) for rel, fn, _, compiled in loops if compiled}
    assert kernels == {
        ("designs/_fast.py", "simulate_interval_nb"),
        ("designs/_fast_crm.py", "simulate_crm_nb"),
        ("designs/_fast_tite.py", "simulate_tite_crm_nb"),
        ("designs/ab_kernel.py", "_sim_kernel"),
    }
    # every allowed entry still exists (the list is not stale)
    assert {(rel, fn) for rel, fn, _, compiled in loops if not compiled} == set(ALLOWED)
