"""The Alembic migrations create exactly the schema the SQLAlchemy models declare (SQLite and
PostgreSQL), ``import il2sim`` does not load the server, and the commands are registered."""

from __future__ import annotations

import subprocess
import sys
from typing import Any


def test_migrations_match_models(db: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from il2sim.serve.db import current_revision
    from il2sim.serve.models import Base

    assert current_revision(db) == "0001"
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], diff


def test_migrating_twice_is_a_no_op(db: Any) -> None:
    from il2sim.serve.db import open_database

    again = open_database(db.url)
    again.dispose()


def test_import_il2sim_does_not_load_the_server() -> None:
    code = ("import sys, il2sim; import il2sim.cli.main; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'sqlalchemy', "
            "'alembic', 'uvicorn', 'argon2', 'starlette')]; print(bad); assert not bad")  # fmt: skip
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_commands_registered() -> None:
    r = subprocess.run([sys.executable, "-m", "il2sim.cli.main", "--help"], capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0
    for name in ("serve", "users", "audit"):
        assert name in r.stdout
