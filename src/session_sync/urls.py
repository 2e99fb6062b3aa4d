"""Database URL handling shared by Alembic's env.py, the command line and the tests."""

from __future__ import annotations

import os

ENV_VAR = "DATABASE_URL"


def sqlalchemy_url(url: str) -> str:
    """Return ``url`` with the psycopg 3 driver, accepting ``postgresql://``/``postgres://``."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError(
        f"unsupported database URL {redact(url)!r}: expected postgresql://... or postgresql+psycopg://..."
    )


def libpq_url(url: str) -> str:
    """Return ``url`` as libpq (psycopg.connect, psql) understands it."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


def redact(url: str) -> str:
    """Hide a password in ``url`` for messages."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, at, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


def from_environment() -> str | None:
    value = os.environ.get(ENV_VAR, "").strip()
    return value or None
