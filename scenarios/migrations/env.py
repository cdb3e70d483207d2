"""Alembic environment: runs on a connection handed over by the store, or on a URL.

The service passes its own connection through ``config.attributes["connection"]``
(:meth:`scenarios.store.Store.migrate`). Run by hand, the URL comes from
``SCHOOLPLAN_DATABASE_URL`` or ``sqlalchemy.url`` in ``alembic.ini``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from scenarios.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply migrations on the given connection, or open one from the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = os.environ.get("SCHOOLPLAN_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set SCHOOLPLAN_DATABASE_URL (or sqlalchemy.url in alembic.ini)")
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run them online")
run_migrations_online()
