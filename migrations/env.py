"""Alembic environment for session-sync.

The URL comes from ``-x url=...``, else the runner's ``config.attributes["url"]``
(session_sync.migrate), else ``DATABASE_URL``, else ``sqlalchemy.url`` in
alembic.ini. Both ``postgresql://`` and ``postgresql+psycopg://`` are accepted.
Offline mode (``alembic upgrade head --sql``) prints a script for psql.

Every migration runs with ``search_path = pg_catalog, pg_temp``: views, triggers' WHEN clauses
and SQL-standard function bodies are bound when they are created, so a look-alike operator or
function that a role planted in ``public`` must never be what they bind to. Online, the server
fixes it when the connection starts (session_sync.urls.connect: libpq ``options``), before the
driver's own first queries (psycopg's type lookups, which a planted operator could otherwise
answer with the migrating role's rights); the ``--sql`` script sets it first. The revisions name
every object by schema; the version table is named ``public.alembic_version`` explicitly.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import context
from sqlalchemy import Connection, create_engine, pool

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from session_sync.notices import print_notice  # noqa: E402
from session_sync.urls import connect, from_environment, libpq_conninfo, sqlalchemy_url  # noqa: E402

config = context.config

PINNED_SEARCH_PATH = "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)"
VERSION_TABLE_SCHEMA = "public"


def database_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.attributes.get("url")
    url = url or from_environment()
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        if context.is_offline_mode():
            return "postgresql+psycopg://"
        raise SystemExit("session-sync: set DATABASE_URL (or pass -x url=postgresql://...) to migrate")
    return sqlalchemy_url(url)


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        transaction_per_migration=True,
        version_table_schema=VERSION_TABLE_SCHEMA,
    )
    context.execute(PINNED_SEARCH_PATH)
    with context.begin_transaction():
        context.run_migrations()


def migrate(connection: Connection) -> None:
    context.configure(connection=connection, transaction_per_migration=True,
                      version_table_schema=VERSION_TABLE_SCHEMA)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        migrate(connectable)
        return
    conninfo = libpq_conninfo(database_url())
    engine = create_engine("postgresql+psycopg://", creator=lambda: connect(conninfo), poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.connection.driver_connection.add_notice_handler(print_notice)  # `alembic ...` says them too
        migrate(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
