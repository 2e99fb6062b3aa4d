"""Which database the command line talks to, and connecting to it with one-line errors."""

from __future__ import annotations

import sys

import psycopg

from session_sync import embedded, urls
from session_sync.urls import describe, from_environment, libpq_conninfo, pg_environment


class UsageError(Exception):
    """A usage or connection problem: the command line prints it in one line and exits 2."""


class NoDatabase(UsageError):
    """No database is configured, and the local embedded PostgreSQL may not stand in for one."""


NO_DATABASE = ("no database given: pass --database-url, or set DATABASE_URL or the PG* variables (PGHOST, "
               "PGDATABASE, ...) as for psql. Off a terminal (cron, scripts) session-sync never falls back to its "
               "local embedded PostgreSQL, whose empty database would report all is well")


def resolve(url: str | None, *, embedded_ok: bool = True) -> tuple[str, str]:
    """(libpq conninfo, where it came from): ``url`` (--database-url), else DATABASE_URL, else the PG*
    variables that choose a server, database or role, else, when ``embedded_ok``, the local embedded
    PostgreSQL (started if needed); else NoDatabase."""
    if url:
        return libpq_conninfo(url), "--database-url"
    if from_environment():
        return libpq_conninfo(from_environment()), "DATABASE_URL"
    variables = pg_environment()
    if variables:
        return "", "the environment (" + ", ".join(variables) + ")"
    if not embedded_ok:
        raise NoDatabase(NO_DATABASE)
    try:
        started = embedded.start_persistent()
    except Exception as error:  # the embedded server's failures are varied; say it in one line
        raise UsageError(f"could not start the local embedded PostgreSQL: {error}") from error
    if started.started_now:
        print(f"session-sync: started a local PostgreSQL; its data is in {started.data_dir}. It keeps running "
              "after this command: `session-sync server stop` stops it, `session-sync server url` prints "
              "its URL (for psql).", file=sys.stderr)
    return started.url, f"the local embedded PostgreSQL ({started.data_dir})"


def connect(conninfo: str) -> psycopg.Connection:
    """An autocommit connection, its search_path fixed when it starts (session_sync.urls.connect)."""
    try:
        return urls.connect(conninfo, autocommit=True, connect_timeout=10)
    except psycopg.Error as error:
        first_line = (str(error).strip() or type(error).__name__).splitlines()[0]
        raise UsageError(f"cannot connect to {describe(conninfo)}: {first_line}") from error
