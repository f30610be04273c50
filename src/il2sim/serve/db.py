"""Database connections and migrations (SQLAlchemy 2 engine, Alembic upgrade to head).

SQLite runs in WAL mode with ``synchronous=FULL`` (a commit is on disk before the client hears
of it, so a killed server loses nothing committed), foreign keys on, and every writing
transaction opened with ``BEGIN IMMEDIATE`` so writers queue instead of failing on a lock
upgrade; reads use a plain deferred ``BEGIN``.  PostgreSQL (psycopg 3) uses its defaults
(READ COMMITTED) and writers serialise on the ``audit_head`` row (``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from il2sim.errors import InputError
from il2sim.serve.config import normalise_db_url
from il2sim.serve.models import AuditHead

__all__ = ["Database", "open_database"]

_READONLY = "il2sim_readonly"
_MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_engine(url: str) -> Engine:
    u = make_url(url)
    if u.database and u.database != ":memory:":
        Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"timeout": 60, "check_same_thread": False}, pool_size=10
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # the driver opens no transactions; "begin" does
        cur = dbapi_conn.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=60000",
        ):
            cur.execute(pragma)
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        ro = conn.get_execution_options().get(_READONLY, False)
        conn.exec_driver_sql("BEGIN" if ro else "BEGIN IMMEDIATE")

    return engine


@dataclass(frozen=True)
class Database:
    """An engine and its session factories.  ``write()`` holds the writers' lock."""

    url: str
    engine: Engine
    _writer: sessionmaker[Session]
    _reader: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A writing transaction that holds the writers' lock; commits on success."""
        with self._writer() as s, s.begin():
            if self.dialect != "sqlite":
                s.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update())
            yield s

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (rolled back at the end; objects read stay usable)."""
        with self._reader() as s:
            try:
                yield s
            finally:
                s.expunge_all()
                s.rollback()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_database(url: str, migrate: bool = True) -> Database:
    """Connect to ``url`` (see :func:`~il2sim.serve.config.normalise_db_url`) and, unless
    ``migrate`` is False, bring the schema up to the newest Alembic revision."""
    full = normalise_db_url(url)
    if not migrate and full.startswith("sqlite"):
        path = make_url(full).database
        if path and path != ":memory:" and not Path(path).is_file():
            raise InputError(f"no such database file: {path}", field="db", value=path)
    if full.startswith("sqlite"):
        engine = _sqlite_engine(full)
    else:
        engine = create_engine(full, pool_size=10, max_overflow=20, pool_pre_ping=True)
    reader_engine = engine.execution_options(**{_READONLY: True})
    db = Database(
        full,
        engine,
        sessionmaker(engine, expire_on_commit=False),
        sessionmaker(reader_engine, expire_on_commit=False),
    )
    try:
        if migrate:
            upgrade(db)
        elif current_revision(db) is None:
            engine.dispose()
            raise InputError(
                "not an il2sim serve database (no schema); run 'il2sim serve' or "
                "'il2sim users add' on it first",
                field="db",
                value=_safe(full),
            )
    except OperationalError as exc:
        engine.dispose()
        msg = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise InputError(f"cannot open database: {msg}", field="db", value=_safe(full)) from None
    return db


def _safe(url: str) -> str:
    """The URL without its password (for messages)."""
    return make_url(url).render_as_string(hide_password=True)


def upgrade(db: Database) -> None:
    """Run the Alembic migrations up to ``head`` on ``db``."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def current_revision(db: Database) -> str | None:
    """The schema's Alembic revision (None before any migration)."""
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
