"""Alembic environment for session-sync.

Online, it migrates the connection session_sync.migrate hands over, else the database of
``-x url=...``, ``config.attributes["url"]``, ``DATABASE_URL`` or ``sqlalchemy.url`` in
alembic.ini, in that order (any form libpq takes). Offline (``alembic upgrade head --sql``) it prints a script for psql.

Every migration runs with ``search_path = pg_catalog, pg_temp``, so that views, triggers' WHEN
clauses and SQL-standard bodies, bound when created, never bind to a look-alike a role planted in
``public``: online the server fixes it when the connection starts (session_sync.urls.connect),
before even the driver's own queries; the ``--sql`` script sets it first. The revisions name
every object by schema, the version table included (``public.alembic_version``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from alembic import context
from sqlalchemy import create_engine, pool

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from session_sync.notices import print_notice  # noqa: E402
from session_sync.urls import connect, from_environment, libpq_conninfo  # noqa: E402

config = context.config


def migrate(**options: Any) -> None:
    context.configure(transaction_per_migration=True, version_table_schema="public", **options)
    if context.is_offline_mode():  # the script pins the search_path first
        context.execute("SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        migrate(connection=connection)
        return
    url = (context.get_x_argument(as_dictionary=True).get("url") or config.attributes.get("url")
           or from_environment() or config.get_main_option("sqlalchemy.url"))
    if not url:
        raise SystemExit("session-sync: set DATABASE_URL (or pass -x url=postgresql://...) to migrate")
    conninfo = libpq_conninfo(url)
    engine = create_engine("postgresql+psycopg://", creator=lambda: connect(conninfo), poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.connection.driver_connection.add_notice_handler(print_notice)  # `alembic ...` says them too
        migrate(connection=connection)


if context.is_offline_mode():
    migrate(url="postgresql+psycopg://", literal_binds=True, dialect_opts={"paramstyle": "named"})
else:
    run_migrations_online()
