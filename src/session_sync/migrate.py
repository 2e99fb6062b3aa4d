"""Run session-sync's Alembic migrations against a database, from a checkout or an installed wheel
(the configuration is built here; ``alembic.ini`` serves only the ``alembic`` command in a checkout).
"""

from __future__ import annotations

import io
import logging
import sys
from contextlib import redirect_stdout
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from psycopg.errors import Diagnostic

from session_sync import urls

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


def config() -> Config:
    """An Alembic Config for the package's migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    return cfg


def print_notice(diagnostic: Diagnostic) -> None:
    """Print the server's WARNINGs and the package's own NOTICEs (the lock helper's "waiting to lock ...",
    the uninstall's "keeping public.x") to stderr; other NOTICEs (``IF NOT EXISTS ... skipping``) are noise."""
    severity, message = diagnostic.severity_nonlocalized, diagnostic.message_primary or ""
    if severity == "WARNING" or (severity == "NOTICE" and message.startswith("session-sync")):
        print(f"{severity}: {message}", file=sys.stderr, flush=True)


def engine(url: str) -> sa.Engine:
    """A SQLAlchemy engine whose connections psycopg makes from ``url`` (session_sync.urls.connect),
    printing notices as they arrive; env.py migrates its connection."""
    conninfo = urls.libpq_conninfo(url)

    def make() -> object:
        connection = urls.connect(conninfo)
        connection.add_notice_handler(print_notice)
        return connection

    return sa.create_engine("postgresql+psycopg://", creator=make, poolclass=sa.pool.NullPool)


class _StepPrinter(logging.Handler):
    """Prints each revision as Alembic starts it (its ``Running <step>`` log record)."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "Running %s" and record.args:
            step = record.args[0]
            verb = "applying" if step.is_upgrade else "reverting"
            doc = (step.doc or "").strip().splitlines()[0] if step.doc else ""
            print(f"session-sync: {verb} {step.revision.revision}: {doc}", file=sys.stderr, flush=True)


def _migrate(run, url: str, revision: str, progress: bool) -> None:
    """Run Alembic's ``command.upgrade`` or ``downgrade``; with ``progress``, name each revision on
    stderr as it starts."""
    logger, handler = logging.getLogger("alembic.runtime.migration"), _StepPrinter()
    level = logger.level
    if progress:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    eng = engine(url)
    try:
        with eng.connect() as connection:
            cfg = config()
            cfg.attributes["connection"] = connection
            run(cfg, revision)
    finally:
        eng.dispose()
        logger.removeHandler(handler)
        logger.setLevel(level)


def upgrade(url: str, revision: str = "head", *, progress: bool = False) -> None:
    _migrate(command.upgrade, url, revision, progress)


def downgrade(url: str, revision: str, *, progress: bool = False) -> None:
    _migrate(command.downgrade, url, revision, progress)


def _script(run, revisions: str) -> str:
    buffer = io.StringIO()
    cfg = config()
    cfg.output_buffer = buffer
    with redirect_stdout(buffer):
        run(cfg, revisions, sql=True)
    return buffer.getvalue()


def upgrade_sql(revision: str = "head", from_revision: str | None = None) -> str:
    """The SQL script ``alembic upgrade [FROM:]<revision> --sql`` prints (from base by default)."""
    return _script(command.upgrade, f"{from_revision}:{revision}" if from_revision else revision)


def downgrade_sql(from_revision: str = "head", revision: str = "base") -> str:
    """The SQL script ``alembic downgrade FROM:<revision> --sql`` prints."""
    return _script(command.downgrade, f"{from_revision}:{revision}")


def head() -> str:
    return ScriptDirectory.from_config(config()).get_current_head()


def current(url: str) -> str | None:
    """The revision a database is at (None when never migrated)."""
    with urls.connect(urls.libpq_conninfo(url)) as conn:
        if conn.execute("SELECT pg_catalog.to_regclass('public.alembic_version')").fetchone()[0] is None:
            return None
        row = conn.execute("SELECT version_num FROM public.alembic_version").fetchone()
        return row[0] if row else None
