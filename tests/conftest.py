"""Fixtures: one real PostgreSQL per test run, one fresh database per test.

The server is ``TEST_DATABASE_URL`` when set (a role that may CREATE DATABASE), else an
embedded PostgreSQL 18 started once for the run. A template database is migrated to head
once; each test gets its own clone of it (pytest-postgresql's DatabaseJanitor).
"""

from __future__ import annotations

import getpass
import itertools
import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from pytest_postgresql.janitor import DatabaseJanitor
from sqlalchemy.engine import make_url

from session_sync import embedded, migrate
from session_sync.urls import libpq_url

_counter = itertools.count()


class Db:
    """A test database: its URL and an autocommit connection with small query helpers.

    That connection has the sync triggers off (``session_sync.enabled=off``) so that tests
    arrange rows by hand and then call the functions they test; ``connect()`` gives a
    connection as the platform has it, triggers on.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = psycopg.connect(url, autocommit=True, options="-c session_sync.enabled=off")

    def rows(self, query: str, *params: Any) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(query, params or None)
            return cur.fetchall() if cur.description else []

    def one(self, query: str, *params: Any) -> tuple:
        result = self.rows(query, *params)
        assert len(result) == 1, f"expected one row, got {len(result)}: {result}"
        return result[0]

    def value(self, query: str, *params: Any) -> Any:
        return self.one(query, *params)[0]

    def dict(self, query: str, *params: Any) -> dict[str, Any]:
        with self.conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            cur.execute(query, params or None)
            result = cur.fetchall()
        assert len(result) == 1, f"expected one row, got {len(result)}"
        return result[0]

    def execute(self, query: str, *params: Any) -> None:
        self.conn.execute(query, params or None)

    def connect(self, **kwargs: Any) -> psycopg.Connection:
        """A new connection with the triggers on (as the platform's writers have it)."""
        return psycopg.connect(self.url, **kwargs)

    def close(self) -> None:
        self.conn.close()


def _janitor(server: dict[str, Any], dbname: str, template: str | None = None) -> DatabaseJanitor:
    return DatabaseJanitor(
        user=server.get("user") or getpass.getuser(),  # libpq's default too
        host=server.get("host") or "localhost",
        port=server.get("port") or 5432,
        password=server.get("password"),
        dbname=dbname,
        template_dbname=template,
        maintenance_dbname=server.get("dbname") or "postgres",
    )


def url_for(server_url: str, dbname: str) -> str:
    """``server_url`` (a postgresql:// URL) pointing at database ``dbname``."""
    url = make_url(server_url).set(database=dbname)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    return libpq_url(url) if url else embedded.start_temporary("session-sync-tests-")


@pytest.fixture(scope="session")
def server(server_url: str) -> dict[str, Any]:
    return conninfo_to_dict(server_url)


@pytest.fixture(scope="session")
def template_db(server_url: str, server: dict[str, Any]) -> Iterator[str]:
    name = f"session_sync_template_{os.getpid()}"
    janitor = _janitor(server, name)
    janitor.drop()
    janitor.init()
    migrate.upgrade(url_for(server_url, name))
    yield name
    janitor.drop()


@pytest.fixture
def fresh_db_name() -> str:
    return f"session_sync_test_{os.getpid()}_{next(_counter)}"


@pytest.fixture
def db(server_url: str, server: dict[str, Any], template_db: str, fresh_db_name: str) -> Iterator[Db]:
    """A database migrated to head, cloned from the template."""
    with _janitor(server, fresh_db_name, template_db):
        handle = Db(url_for(server_url, fresh_db_name))
        try:
            yield handle
        finally:
            handle.close()


@pytest.fixture
def empty_db(server_url: str, server: dict[str, Any], fresh_db_name: str) -> Iterator[Db]:
    """A database with nothing in it (for migration tests)."""
    with _janitor(server, fresh_db_name):
        handle = Db(url_for(server_url, fresh_db_name))
        try:
            yield handle
        finally:
            handle.close()
