"""Alembic migrations of the il2sim serve database (run by :func:`il2sim.serve.db.migrate`)."""
