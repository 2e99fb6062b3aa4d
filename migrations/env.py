"""Alembic environment for session-sync: online, it migrates the connection session_sync.migrate
hands over, else the database of ``-x url=...``, ``config.attributes["url"]``, ``DATABASE_URL`` or
``sqlalchemy.url`` in alembic.ini; offline (``alembic upgrade head --sql``) it prints a psql script.
Every migration runs with ``search_path = pg_catalog, pg_temp`` (fixed as the connection starts,
session_sync.urls.connect; the ``--sql`` script sets it first), so views, WHEN clauses and SQL-standard
bodies never bind to a look-alike planted in ``public``; the revisions name every object by schema.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from alembic import context

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

import sqlalchemy as sa  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402

from session_sync.adoption import CHECK  # noqa: E402
from session_sync.migrate import engine  # noqa: E402
from session_sync.urls import from_environment  # noqa: E402

config = context.config


def migrate(**options: Any) -> None:
    connection = options.get("connection")
    if connection is not None:  # nothing installed yet: check adopted tables before the baseline
        if MigrationContext.configure(connection, opts={"version_table_schema": "public"}).get_current_revision() is None:
            connection.execute(sa.text(CHECK.replace(":", r"\:")))
        connection.commit()
    context.configure(transaction_per_migration=True, version_table_schema="public", **options)
    if context.is_offline_mode():  # the script pins the search_path first, checks from base
        context.execute("SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)")
        if context.get_starting_revision_argument() is None:
            context.execute(sa.text(CHECK.replace(":", r"\:")))
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    migrate(url="postgresql+psycopg://", literal_binds=True, dialect_opts={"paramstyle": "named"})
elif config.attributes.get("connection") is not None:
    migrate(connection=config.attributes["connection"])
else:
    url = (context.get_x_argument(as_dictionary=True).get("url") or config.attributes.get("url")
           or from_environment() or config.get_main_option("sqlalchemy.url"))
    if not url:
        raise SystemExit("session-sync: set DATABASE_URL (or pass -x url=postgresql://...) to migrate")
    with engine(url).connect() as connection:  # `alembic ...` prints the notices too
        migrate(connection=connection)
