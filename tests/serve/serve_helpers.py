"""Helpers of the il2sim serve tests: fresh databases on SQLite and (where a server is
reachable) PostgreSQL, TestClients, logins, a protocol.

PostgreSQL: ``make test`` starts a private server and sets ``IL2SIM_TEST_PG`` (an admin URL);
each test creates its own database on it and drops it afterwards.  Without a server the
PostgreSQL tests are skipped with the reason printed, except under CI (``CI=true``), where they
fail: there the server must be there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PG_ENV = "IL2SIM_TEST_PG"
PASSWORD = "correct horse battery"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pg_admin_url() -> str | None:
    """The PostgreSQL admin URL if a server answers, else None."""
    url = os.environ.get(PG_ENV)
    if not url:
        return None
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return url
    except Exception:
        return None


def pg_unavailable_reason() -> str:
    """Why the PostgreSQL tests cannot run here."""
    url = os.environ.get(PG_ENV)
    if not url:
        return f"{PG_ENV} is not set (make test starts PostgreSQL and sets it)"
    return f"no PostgreSQL server answers at {url}"


def _skip_or_fail_pg() -> None:
    reason = pg_unavailable_reason()
    if IN_CI:
        pytest.fail(f"PostgreSQL tests must run in CI: {reason}")
    print(f"SKIP PostgreSQL tests: {reason}")
    pytest.skip(reason)


def make_db_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database URL of ``kind`` (sqlite/postgresql), removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'serve.db'}"
        return
    admin = pg_admin_url()
    if admin is None:
        _skip_or_fail_pg()
        return
    import psycopg

    name = f"il2sim_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def client_for(app: Any) -> Any:
    """A TestClient (cookies kept per client)."""
    from fastapi.testclient import TestClient

    return TestClient(app, raise_server_exceptions=False)


def login(client: Any, name: str) -> dict[str, str]:
    """Log ``name`` in; returns the CSRF header."""
    r = client.post("/api/login", json={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf_token"]}


BOIN_PROTOCOL: dict[str, Any] = {
    "name": "BOIN test",
    "design": "boin",
    "options": {"target": 0.25},
    "doses": [0.4, 0.6, 0.8, 1.0, 1.25],
    "dose_unit": "MIU/m2",
    "regimen": "{dose} sc qd x90",
    "cohort_size": 3,
    "max_cohorts": 10,
    "oc_trials": 200,
}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    db_url: str, *extra: str, port: int | None = None, timeout_s: float = 90.0
) -> tuple[Any, str]:
    """Start ``il2sim serve`` as a subprocess on ``db_url``; returns (Popen, base URL) once
    ``/login`` answers.  The caller stops it (``stop_server``)."""
    import subprocess
    import sys
    import time

    import httpx

    port = port or free_port()
    cmd = [sys.executable, "-m", "il2sim.cli.main", "serve", "--db", db_url, "--port", str(port),
           *extra]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"il2sim serve exited with {proc.returncode}: {out}")
        try:
            if httpx.get(f"{base}/login", timeout=2.0).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"il2sim serve did not answer on {base} within {timeout_s} s")


def stop_server(proc: Any) -> None:
    """Stop a server started by :func:`start_server` (SIGTERM, then SIGKILL)."""
    import subprocess

    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
    if proc.stdout:
        proc.stdout.close()


def add_users(db_url: str, *names_roles: tuple[str, str]) -> None:
    """Create accounts (password :data:`PASSWORD`) in the database at ``db_url``."""
    from il2sim.serve import service
    from il2sim.serve.db import open_database

    db = open_database(db_url)
    try:
        for name, role in names_roles:
            service.create_user(db, "test", name, role, PASSWORD)
    finally:
        db.dispose()
