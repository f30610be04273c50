"""Fixtures of the il2sim serve tests (helpers in ``serve_helpers``): a fresh database per
test on SQLite and on PostgreSQL, and an app with one user per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import PASSWORD, make_db_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database URL, once on SQLite and once on PostgreSQL."""
    yield from make_db_url(str(request.param), tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite database URL."""
    yield from make_db_url("sqlite", tmp_path)


@pytest.fixture
def db(db_url: str) -> Iterator[Any]:
    """The migrated database on ``db_url``."""
    from il2sim.serve.db import open_database

    database = open_database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def app(db: Any) -> Any:
    """The web app on ``db`` with three users: stat (statistician), inv (investigator),
    view (viewer) and adm (admin), all with :data:`PASSWORD`."""
    from il2sim.serve import service
    from il2sim.serve.app import create_app

    for name, role in (("stat", "statistician"), ("inv", "investigator"), ("view", "viewer"),
                       ("adm", "admin")):  # fmt: skip
        service.create_user(db, "test", name, role, PASSWORD)
    return create_app(db)


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with small costs inside the test process (the servers the tests start as
    subprocesses keep the real costs)."""
    from argon2 import PasswordHasher

    from il2sim.serve import security

    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(security, "_hasher", lambda: fast)
    monkeypatch.setattr(security, "_dummy_hash", lambda: fast.hash("dummy-password"))
