"""Connection strings (every form libpq takes, and SQLAlchemy's ``postgresql+psycopg://``), described
without their password; and :func:`connect`, through which every connection the package opens goes."""

from __future__ import annotations

import os
import re

import psycopg
from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy.engine import make_url

# The libpq variables that choose a server, a database or a role (psql's defaults come from them).
PG_SELECTING_VARIABLES = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")

# The search_path of every connection the package opens, given to the server in the startup packet
# (libpq's ``options``): it is in force before the first statement of the driver (psycopg's type
# lookups, SQLAlchemy's first-connection queries) or of anything else, so no operator, function or
# type a role planted in a schema it may write is resolved, even by those. pg_catalog comes first.
PIN_OPTION = "-c search_path=pg_catalog,pg_temp"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_LIBPQ_SCHEMES = ("postgresql", "postgres")
_SQLALCHEMY_DRIVERS = ("postgresql+psycopg", "postgresql+psycopg2", "postgresql+psycopg2cffi")


class ConnectionStringError(ValueError):
    """A connection string that is neither a PostgreSQL URL nor libpq ``key=value`` pairs (its message
    never quotes the string: it may hold a password)."""


def libpq_conninfo(text: str) -> str:
    """Return ``text`` as libpq (psycopg.connect, psql) takes it; raise ConnectionStringError."""
    text = text.strip()
    match = _SCHEME.match(text)
    if match:
        scheme = match.group(1).lower()
        if scheme in _SQLALCHEMY_DRIVERS:
            text = make_url(text).set(drivername="postgresql").render_as_string(hide_password=False)
        elif scheme not in _LIBPQ_SCHEMES:
            raise ConnectionStringError(
                f"unsupported database URL scheme {match.group(1)!r}: expected postgresql://, "
                "postgresql+psycopg:// or libpq key=value pairs")
    try:
        conninfo_to_dict(text)
    except ProgrammingError:  # its message quotes part of the string: never show it
        raise ConnectionStringError(
            "cannot parse the connection string: expected a postgresql:// URL or libpq key=value pairs "
            "(quote values with spaces: password='a b')") from None
    return text


def connect(conninfo: str, **kwargs) -> psycopg.Connection:
    """``psycopg.connect`` with PIN_OPTION added after the options ``conninfo`` gives, else after
    PGOPTIONS (which libpq reads only when the conninfo gives none): theirs are kept, a search_path
    among them overridden."""
    given = conninfo_to_dict(conninfo).get("options", os.environ.get("PGOPTIONS", ""))
    return psycopg.connect(make_conninfo(conninfo, options=f"{given} {PIN_OPTION}".strip()), **kwargs)


libpq_url = libpq_conninfo  # the name tests/ and bench/ use


def describe(conninfo: str) -> str:
    """A connection for messages: its host, port, database and user; never its password."""
    try:
        params = conninfo_to_dict(conninfo)
    except ProgrammingError:
        return "the given connection string"
    shown = {k: params[k] for k in ("host", "hostaddr", "port", "dbname", "user", "service") if params.get(k)}
    if shown:
        return make_conninfo(**shown)
    variables = pg_environment()  # what libpq fills in (never PGPASSWORD)
    if variables:
        return " ".join(f"{name}={os.environ[name]}" for name in variables)
    return "libpq's default connection"


def from_environment() -> str | None:
    return os.environ.get("DATABASE_URL", "").strip() or None


def pg_environment() -> list[str]:
    """The libpq variables set in the environment that choose a server (PGHOST, PGDATABASE, ...)."""
    return [name for name in PG_SELECTING_VARIABLES if os.environ.get(name)]
