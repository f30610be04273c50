"""Alembic environment: runs the migrations on the connection handed over by
:func:`il2sim.serve.db.migrate` (``config.attributes["connection"]``)."""

from __future__ import annotations

from alembic import context

from il2sim.serve.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run the migrations on the given connection, in its transaction."""
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():  # pragma: no cover - il2sim always migrates online
    raise RuntimeError("offline migrations are not supported")
run_migrations_online()
