"""Run session-sync's Alembic migrations against a database, from a checkout or an installed wheel.

The Alembic configuration is built here, not read from ``alembic.ini``: ``script_location`` is the
package's own ``session_sync/migrations`` (package data in a wheel, mapped from ``migrations/`` by
pyproject.toml), else the checkout's ``migrations/`` (editable install, tests). ``alembic.ini``
serves only the ``alembic`` command run from the checkout.

Connections are made by psycopg from a libpq conninfo (URL, key=value or the PG* variables), so
every form libpq accepts works, with the search_path fixed when they start (session_sync.urls.connect),
and handed to env.py as ``config.attributes["connection"]``.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from importlib import resources
from pathlib import Path

import psycopg
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from session_sync import urls
from session_sync.notices import print_notice
from session_sync.urls import libpq_conninfo

CHECKOUT_MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def migrations_dir() -> Path:
    """The Alembic script directory: the installed package's, else the checkout's."""
    installed = resources.files("session_sync") / "migrations"
    if installed.is_dir() and (installed / "env.py").is_file():
        return Path(str(installed))
    if (CHECKOUT_MIGRATIONS / "env.py").is_file():
        return CHECKOUT_MIGRATIONS
    raise RuntimeError("session-sync's migrations are missing: neither the installed package nor a checkout has "
                       "migrations/env.py (reinstall session-sync)")


def config(url: str | None = None) -> Config:
    """An Alembic Config for the package's migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    if url:
        cfg.attributes["url"] = url
    return cfg


def _connect(conninfo: str) -> psycopg.Connection:
    connection = urls.connect(conninfo)
    connection.add_notice_handler(print_notice)
    return connection


def engine(url: str) -> sa.Engine:
    """A SQLAlchemy engine whose connections psycopg makes from ``url`` as libpq takes it; the
    server's WARNINGs and the package's NOTICEs are printed to stderr as they arrive."""
    conninfo = libpq_conninfo(url)
    return sa.create_engine("postgresql+psycopg://", creator=lambda: _connect(conninfo),
                            poolclass=sa.pool.NullPool)


@contextmanager
def _connected(url: str) -> Iterator[Config]:
    eng = engine(url)
    try:
        with eng.connect() as connection:
            cfg = config()
            cfg.attributes["connection"] = connection
            yield cfg
    finally:
        eng.dispose()


class _StepPrinter(logging.Handler):
    """Prints each revision as Alembic starts it (its ``Running <step>`` log record)."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "Running %s" and record.args:
            step = record.args[0]
            verb = "applying" if step.is_upgrade else "reverting"
            doc = (step.doc or "").strip().splitlines()[0] if step.doc else ""
            print(f"session-sync: {verb} {step.revision.revision}: {doc}", file=sys.stderr, flush=True)


@contextmanager
def _steps_printed(enabled: bool) -> Iterator[None]:
    logger = logging.getLogger("alembic.runtime.migration")
    if not enabled:
        yield
        return
    handler, level = _StepPrinter(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def upgrade(url: str, revision: str = "head", *, progress: bool = False) -> None:
    """Migrate up to ``revision``; with ``progress``, name each revision on stderr as it starts."""
    with _connected(url) as cfg, _steps_printed(progress):
        command.upgrade(cfg, revision)


def downgrade(url: str, revision: str, *, progress: bool = False) -> None:
    with _connected(url) as cfg, _steps_printed(progress):
        command.downgrade(cfg, revision)


def _script(run: str, revisions: str) -> str:
    buffer = io.StringIO()
    cfg = config()
    cfg.output_buffer = buffer
    with redirect_stdout(buffer):
        getattr(command, run)(cfg, revisions, sql=True)
    return buffer.getvalue()


def upgrade_sql(revision: str = "head", from_revision: str | None = None) -> str:
    """The SQL script ``alembic upgrade [FROM:]<revision> --sql`` prints (from base by default)."""
    return _script("upgrade", f"{from_revision}:{revision}" if from_revision else revision)


def downgrade_sql(from_revision: str = "head", revision: str = "base") -> str:
    """The SQL script ``alembic downgrade FROM:<revision> --sql`` prints."""
    return _script("downgrade", f"{from_revision}:{revision}")


def head() -> str:
    return ScriptDirectory.from_config(config()).get_current_head()


def current(url: str) -> str | None:
    """The revision a database is at (None when never migrated)."""
    eng = engine(url)
    try:
        with eng.connect() as conn:
            if conn.execute(sa.text("SELECT pg_catalog.to_regclass('public.alembic_version')")).scalar() is None:
                return None
            return conn.execute(sa.text("SELECT version_num FROM public.alembic_version")).scalar()
    finally:
        eng.dispose()
