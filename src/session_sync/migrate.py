"""Run the Alembic migrations of this checkout against a database."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

from alembic import command
from alembic.config import Config

from session_sync.urls import sqlalchemy_url

ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = ROOT / "alembic.ini"


def config(url: str | None) -> Config:
    if not ALEMBIC_INI.exists():
        raise RuntimeError(
            f"alembic.ini not found at {ALEMBIC_INI}: install session-sync from its checkout (pip install -e .)"
        )
    cfg = Config(str(ALEMBIC_INI))
    if url:
        cfg.attributes["url"] = sqlalchemy_url(url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(config(url), revision)


def upgrade_sql(revision: str = "head", url: str | None = None) -> str:
    """The SQL script ``alembic upgrade <revision> --sql`` prints."""
    buffer = io.StringIO()
    cfg = config(url)
    cfg.output_buffer = buffer
    with redirect_stdout(buffer):
        command.upgrade(cfg, revision, sql=True)
    return buffer.getvalue()


def current(url: str) -> str | None:
    """The revision a database is at (None when never migrated)."""
    import sqlalchemy as sa

    engine = sa.create_engine(sqlalchemy_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if conn.execute(sa.text("SELECT to_regclass('public.alembic_version')")).scalar() is None:
                return None
            return conn.execute(sa.text("SELECT version_num FROM public.alembic_version")).scalar()
    finally:
        engine.dispose()
