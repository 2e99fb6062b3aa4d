"""Connection strings, shared by Alembic's env.py, the command line and the tests.

Every form libpq accepts is accepted (``postgresql://`` URLs, ``key=value`` pairs, the empty
string for libpq's defaults and ``PG*`` variables), and SQLAlchemy's ``postgresql+psycopg://``;
psycopg's conninfo helpers parse them. Messages describe a connection without its password.

Every connection the package opens goes through :func:`connect` (:func:`pinned_conninfo`): the
server fixes its search_path when the connection starts.
"""

from __future__ import annotations

import os
import re

import psycopg
from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy.engine import make_url

ENV_VAR = "DATABASE_URL"
# The libpq variables that choose a server, a database or a role (psql's defaults come from them).
PG_SELECTING_VARIABLES = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")

# The search_path of every connection the package opens, given to the server in the startup packet
# (libpq's ``options``): it is in force before the first statement of the driver (psycopg's type
# lookups, SQLAlchemy's first-connection queries) or of anything else, so no operator, function or
# type a role planted in a schema it may write is resolved, even by those. pg_catalog comes first.
PINNED_SEARCH_PATH = "pg_catalog,pg_temp"
PIN_OPTION = f"-c search_path={PINNED_SEARCH_PATH}"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_LIBPQ_SCHEMES = ("postgresql", "postgres")
_SQLALCHEMY_DRIVERS = ("postgresql+psycopg", "postgresql+psycopg2", "postgresql+psycopg2cffi")


class ConnectionStringError(ValueError):
    """A connection string that is neither a PostgreSQL URL nor libpq ``key=value`` pairs.

    Its message never contains the string itself (it may hold a password).
    """


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


def pinned_conninfo(conninfo: str) -> str:
    """``conninfo`` (as libpq takes it) with ``options=-c search_path=pg_catalog,pg_temp``.

    Added after the options the conninfo gives, else after ``PGOPTIONS`` (which libpq reads only
    when the conninfo gives none), so theirs are kept and a search_path among them is overridden.
    """
    given = conninfo_to_dict(conninfo).get("options")
    if given is None:
        given = os.environ.get("PGOPTIONS", "")
    return make_conninfo(conninfo, options=f"{given} {PIN_OPTION}".strip())


def connect(conninfo: str, **kwargs) -> psycopg.Connection:
    """``psycopg.connect`` with the search_path fixed when the connection starts (pinned_conninfo)."""
    if "options" in kwargs:  # merged, not replacing the pin
        conninfo = make_conninfo(conninfo, options=kwargs.pop("options"))
    return psycopg.connect(pinned_conninfo(conninfo), **kwargs)


# Kept for callers of the earlier name (tests, bench).
libpq_url = libpq_conninfo


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
    value = os.environ.get(ENV_VAR, "").strip()
    return value or None


def pg_environment() -> list[str]:
    """The libpq variables set in the environment that choose a server (PGHOST, PGDATABASE, ...)."""
    return [name for name in PG_SELECTING_VARIABLES if os.environ.get(name)]
