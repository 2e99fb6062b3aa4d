"""Install the editable sources under ``sql/`` into a database (a developer and test tool).

Revisions install frozen copies of ``sql/``; this installs ``sql/`` as it is now, so that a test
can compare the two (tests/test_sources.py): whatever the migrations install at head, ``sql/``
must describe, objects, columns, indexes, triggers, privileges and descriptions alike.

    python -m session_sync.sources URL     # an empty database migrated to 0001 only

The database must hold the platform's tables (revision 0001) and nothing of the package.
Files go in directory order (schemas, tables, indexes, functions, api, views, procedures,
triggers), each directory's files retried until they all went in (a view may need another view
or function first); then the privileges (``sql/grants/``) and the descriptions
(:mod:`session_sync.contracts`). Each file is read rendered (:mod:`session_sync.mapping`: the
mapped columns listed once, in the mapping's header).
"""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg

from session_sync import contracts, mapping, urls

ORDER = ["schemas", "tables", "indexes", "functions", "api", "views", "procedures", "triggers"]


def _execute_in_order(conn: psycopg.Connection, files: list[Path], sql_dir: Path) -> None:
    pending = list(files)
    while pending:
        failed: list[tuple[Path, Exception]] = []
        for path in pending:
            try:
                with conn.transaction():
                    conn.execute(mapping.read(path, sql_dir))
            except (psycopg.errors.UndefinedObject, psycopg.errors.UndefinedTable,
                    psycopg.errors.UndefinedFunction) as error:
                failed.append((path, error))
        if len(failed) == len(pending):
            names = ", ".join(f"{p.name} ({e})" for p, e in failed)
            raise RuntimeError(f"these sources need objects no source creates: {names} (a LINE number"
                               " counts the rendered file's lines: python -m session_sync.mapping FILE)")
        pending = [p for p, _ in failed]


def install(url: str, sql_dir: Path = contracts.SQL_DIR) -> None:
    with urls.connect(url, autocommit=True) as conn:  # search_path pg_catalog,pg_temp from the start
        conn.execute("SET check_function_bodies = off")
        for directory in ORDER:
            _execute_in_order(conn, sorted((sql_dir / directory).glob("*.sql")), sql_dir)
        for path in sorted((sql_dir / "grants").glob("*.sql")):
            conn.execute(mapping.read(path, sql_dir))
        conn.execute(contracts.statements(sql_dir))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m session_sync.sources URL")
    install(sys.argv[1])
