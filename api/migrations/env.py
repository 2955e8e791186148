"""Alembic environment: migrations run on a connection handed over by ``api.db.migrate``."""

from __future__ import annotations

from alembic import context

from api.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
