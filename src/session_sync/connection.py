"""Which database the command line talks to, and connecting to it with one-line errors."""

from __future__ import annotations

import psycopg

from session_sync import embedded
from session_sync.urls import from_environment, libpq_url, redact


class UsageError(Exception):
    """A usage or connection problem: the command line prints it in one line and exits 2."""


def resolve(url: str | None) -> tuple[str, str]:
    """Return (libpq URL, where it came from): --database-url, DATABASE_URL, else the local embedded server."""
    if url:
        return libpq_url(url), "--database-url"
    env = from_environment()
    if env:
        return libpq_url(env), "DATABASE_URL"
    try:
        return embedded.start_persistent(), f"local embedded PostgreSQL ({embedded.default_data_dir()})"
    except Exception as error:  # the embedded server's failures are varied; say it in one line
        raise UsageError(f"could not start the local embedded PostgreSQL: {error}") from error


def connect(url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f"cannot connect to {redact(url)}: {first_line}") from error
