"""Which database the command line talks to, and connecting to it with one-line errors."""

from __future__ import annotations

import sys

import psycopg

from session_sync import embedded
from session_sync import urls
from session_sync.urls import ConnectionStringError, describe, from_environment, libpq_conninfo, pg_environment


class UsageError(Exception):
    """A usage or connection problem: the command line prints it in one line and exits 2."""


class NoDatabase(UsageError):
    """No database is configured, and the local embedded PostgreSQL may not stand in for one."""


NO_DATABASE = ("no database given: pass --database-url, or set DATABASE_URL or the PG* variables (PGHOST, "
               "PGDATABASE, ...) as for psql. Off a terminal (cron, scripts) session-sync never falls back to its "
               "local embedded PostgreSQL, whose empty database would report all is well")


def resolve(url: str | None, *, embedded_ok: bool = True) -> tuple[str, str]:
    """Return (libpq conninfo, where it came from), in this order:

    1. ``--database-url`` (any form libpq takes: URL or key=value);
    2. ``DATABASE_URL``;
    3. the libpq ``PG*`` variables, as psql uses them, when one that chooses a server, database or
       role is set (PGHOST, PGHOSTADDR, PGPORT, PGDATABASE, PGUSER, PGSERVICE);
    4. else the local embedded PostgreSQL kept in the user's data directory (started if needed),
       when ``embedded_ok``; else NoDatabase.
    """
    try:
        if url:
            return libpq_conninfo(url), "--database-url"
        env = from_environment()
        if env:
            return libpq_conninfo(env), "DATABASE_URL"
    except ConnectionStringError as error:
        raise UsageError(str(error)) from None
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
    """An autocommit connection whose search_path the server fixed to ``pg_catalog,pg_temp`` when it
    started (session_sync.urls.connect): a caller's schema cannot redirect an operator, function or
    type the CLI uses; the CLI names the package's objects as public.<name>."""
    try:
        return urls.connect(conninfo, autocommit=True, connect_timeout=10)
    except psycopg.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f"cannot connect to {describe(conninfo)}: {first_line}") from error
