"""Done-when: the recommendation the server stores for every cohort equals what
``il2sim design next`` prints for the same outcomes, for every design (hypothesis over
generated outcome histories; the CLI is the real typer app, run in-process; a few runs go
through a separate process as well).  An outcome history the CLI refuses (exit 2) must be
refused by the server too (HTTP 422, nothing stored), with the same message."""

from __future__ import annotations

import functools
import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_helpers import PASSWORD, client_for, login

N_DOSES = 5
SKELETON = "0.05,0.12,0.25,0.40,0.55"
#: (design, options as the protocol gives them) - every design, and the rules on top.
PROTOCOLS: list[tuple[str, dict[str, Any]]] = [
    ("3+3", {}),
    ("3+3a", {}),
    ("3+3b", {}),
    ("4+5", {}),
    ("a+b", {"a": 3, "b": 3, "c": 0, "d": 1, "e": 1, "expand-lower": True}),
    ("crm", {"target": 0.25, "skeleton": SKELETON}),
    (
        "crm",
        {
            "target": 0.3,
            "skeleton": SKELETON,
            "model": "logistic",
            "no-skip": True,
            "max-patients": 12,
        },
    ),
    ("boin", {"target": 0.3, "cohort-size": 3}),
    (
        "boin",
        {
            "target": 0.25,
            "no-skip": True,
            "stop-tox-threshold": 0.35,
            "demand-n": 6,
            "option": ["phi1=0.15", "extrasafe=true"],
        },
    ),
    ("mtpi2", {"target": 0.3}),
    ("i3+3", {"target": 0.25, "stop-n-mtd": 9}),
    ("keyboard", {"target": 0.3, "option": {"eps1": 0.05}}),
]

cohort = st.tuples(st.integers(1, N_DOSES), st.text("NT", min_size=1, max_size=4))
histories = st.lists(cohort, min_size=1, max_size=6)


@functools.cache
def _cli() -> Any:
    """The il2sim CLI as one click command (built once; ``main()`` rebuilds it per call)."""
    import typer

    from il2sim.cli.main import app

    return typer.main.get_command(app)


def _cli_next(args: list[str], outcomes: str) -> tuple[int, Any]:
    """Run ``il2sim design next ... --json`` in-process as ``il2sim.cli.main.main`` does:
    (0, its JSON) or (2, its one-line error ``il2sim: error: ...``)."""
    from il2sim.errors import Il2simError

    out = io.StringIO()
    try:
        with redirect_stdout(out):
            _cli().main(["design", "next", *args, "--outcomes", outcomes, "--json"],
                        prog_name="il2sim", standalone_mode=False)  # fmt: skip
    except Il2simError as exc:
        return 2, f"il2sim: error: {exc}"
    return 0, json.loads(out.getvalue())


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from argon2 import PasswordHasher

    from il2sim.serve import security, service
    from il2sim.serve.app import create_app
    from il2sim.serve.db import open_database

    security._hasher.cache_clear()
    mp = pytest.MonkeyPatch()
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    mp.setattr(security, "_hasher", lambda: fast)
    db = open_database(f"sqlite:///{tmp_path_factory.mktemp('eq') / 'eq.db'}")
    service.create_user(db, "test", "stat", "statistician", PASSWORD)
    c = client_for(create_app(db))
    c.headers.update(login(c, "stat"))
    yield c
    mp.undo()
    db.dispose()


@pytest.mark.parametrize(
    ("design", "options"), PROTOCOLS, ids=[f"{d}-{i}" for i, (d, _) in enumerate(PROTOCOLS)]
)
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories)
def test_recommendation_equals_design_next(client: Any, design: str, options: dict[str, Any],
                                           history: list[tuple[int, str]]) -> None:  # fmt: skip
    from il2sim.serve import engine

    r = client.post("/api/trials", json={"name": "eq", "design": design, "options": options,
                                         "doses": [0.4, 0.6, 0.8, 1.0, 1.25], "oc_trials": 100})  # fmt: skip
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    proto = client.get(f"/api/trials/{tid}").json()["protocol"]
    args = engine.cli_args(design, proto["options"], N_DOSES)
    entered: list[str] = []
    for k, (level, letters) in enumerate(history, start=1):
        text = " ".join([*entered, f"{level}{letters}"])
        code, cli = _cli_next(args, text)
        r = client.post(f"/api/trials/{tid}/cohorts",
                        json={"dose_level": level, "outcomes": letters, "cohort": k})  # fmt: skip
        if code != 0:
            assert code == 2 and r.status_code == 422, (text, cli, r.text)
            assert f"il2sim: error: {r.json()['error']}" == cli, (r.json(), cli)
            break
        assert r.status_code == 201, (text, r.text)
        got = r.json()["recommendation"]
        want = {k2: cli[k2] for k2 in ("next_dose", "stop", "reason", "mtd", "cohort_size")}
        assert got == want, (design, options, text)
        entered.append(f"{level}{letters}")
    state = client.get(f"/api/trials/{tid}").json()
    assert state["outcomes"] == " ".join(entered)
    # the command the trial page shows is the CLI call that gives the current recommendation
    assert state["design_next_command"].startswith("il2sim design next --design")


def test_equivalence_through_a_separate_cli_process(client: Any) -> None:
    """The same check with the installed ``il2sim`` run as its own process."""
    from il2sim.serve import engine

    for design, options in (PROTOCOLS[8],):
        r = client.post("/api/trials", json={"name": "proc", "design": design, "options": options,
                                             "doses": [0.4, 0.6, 0.8, 1.0, 1.25]})  # fmt: skip
        tid = r.json()["id"]
        proto = client.get(f"/api/trials/{tid}").json()["protocol"]
        history = [(1, "NNN"), (2, "NTN"), (2, "NNN")]
        for k, (level, letters) in enumerate(history, start=1):
            got = client.post(f"/api/trials/{tid}/cohorts",
                              json={"dose_level": level, "outcomes": letters, "cohort": k}).json()  # fmt: skip
        text = " ".join(f"{lv}{le}" for lv, le in history)
        cmd = [sys.executable, "-m", "il2sim.cli.main", "design", "next",
               *engine.cli_args(design, proto["options"], N_DOSES), "--outcomes", text, "--json"]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
        cli = json.loads(out.stdout)
        assert got["recommendation"] == {k: cli[k] for k in got["recommendation"]}, design
