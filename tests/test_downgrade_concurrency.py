"""A migration while the platform's transactions are open (issue 11).

isolationtester runs SQL steps only, and a migration is Alembic running a revision's Python and
several SQL files, so these interleavings are driven here instead of in tests/isolation/: a
platform transaction on a psycopg connection, ``alembic downgrade -1`` (0012 to 0011, and 0011 to
0010) in a subprocess, as an operator runs it, and pg_locks / pg_stat_activity to see who waits
for whom. Revision 0012 starts the same way, with the view it replaces (LOCK TABLE on a view
locks the tables it reads).

Revision 0011 (up and down) starts by locking the platform's four tables so that no platform
write's triggers run half on one version's objects and half on the other's: all four at once,
with NOWAIT, again every 100 ms, never holding one while it waits for another (0009 and 0010
took them one by one and kept what they had got while waiting, so a platform transaction that
had written one table and then wrote another was killed by the deadlock detector; the second
test below recorded that defect before 0011). What that must give: an open platform transaction
keeps the migration waiting, commits with its rows and is synced at its COMMIT by the version it
ran under; writes that come meanwhile are not held up; a migration that cannot get the tables
within session_sync.lock_wait fails and changes nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import psycopg
import pytest

from factories import purchase, sessions

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_TABLES = ("course_purchases", "purchase_sessions", "trainer_allocations", "tutoring_sessions")
WAIT = 60  # seconds: how long a step may take before the test gives up


def start_downgrade(url: str, application_name: str, options: str = "") -> subprocess.Popen:
    """``alembic downgrade -1`` against ``url`` (as tests/test_migrations.py runs alembic), its
    connection named ``application_name`` so that pg_stat_activity tells it apart."""
    env = {**os.environ, "DATABASE_URL": url, "PGAPPNAME": application_name}
    if options:
        env["PGOPTIONS"] = options
    return subprocess.Popen([sys.executable, "-m", "alembic", "downgrade", "-1"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def downgrade_backend(db, application_name: str) -> int | None:
    return db.value("SELECT coalesce(max(pid), 0) FROM pg_stat_activity"
                    " WHERE application_name = %s AND datname = current_database()", application_name) or None


def table_locks(db, pid: int) -> list[tuple[str, str, bool]]:
    """The locks backend ``pid`` holds or waits for on the platform's tables: (table, mode, granted)."""
    return db.rows("SELECT c.relname::text, l.mode, l.granted FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                   " WHERE l.pid = %s AND l.locktype = 'relation' AND c.relname = ANY (%s)"
                   " AND c.relnamespace = 'public'::regnamespace ORDER BY 1, 2", pid, list(PLATFORM_TABLES))


def wait_until_blocked(db, pid: int, by: int, process: subprocess.Popen, what: str) -> None:
    """Until backend ``pid`` waits for a lock and ``by`` is among the backends it waits for.
    Fails at once when the downgrade subprocess ended meanwhile."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if db.value("SELECT wait_event_type = 'Lock' AND %s = ANY (pg_blocking_pids(pid))"
                    " FROM pg_stat_activity WHERE pid = %s", by, pid):
            return
        if process.poll() is not None:
            result = finish(process)
            pytest.fail(f"the downgrade ended (exit {result.returncode}) before {what}:\n{result.stderr}")
        time.sleep(0.02)
    pytest.fail(f"{what} did not happen within {WAIT}s")


@pytest.fixture
def downgrade_name() -> str:
    return f"session-sync-downgrade-{uuid.uuid4().hex[:12]}"


# (the revision downgraded, the one it goes back to, a query that is true once its objects are gone)
STEPS = {
    "0014": ("0014_stale_statistics", "0013_mapping_once",
             "SELECT pg_get_triggerdef(oid) NOT LIKE '%octet_length%' FROM pg_trigger"
             " WHERE tgname = 'session_sync_note_sessions_insert'"),
    "0013": ("0013_mapping_once", "0012_write_cost",
             "SELECT pg_get_viewdef('public.session_sync_session_state'::regclass) LIKE '%::character varying)::text%'"),
    "0012": ("0012_write_cost", "0011_contracts_health",
             "SELECT to_regprocedure('session_sync.session_sync_owned_by(jsonb,uuid)') IS NULL"),
    "0011": ("0011_contracts_health", "0010_write_path",
             "SELECT to_regclass('public.session_sync_dropped_keys') IS NULL"),
}


@pytest.fixture(params=sorted(STEPS))
def step(request, db) -> tuple[str, str, str]:
    """The database stepped down (synchronously) to the revision whose downgrade the test races."""
    top, below, gone = STEPS[request.param]
    if db.value("SELECT version_num FROM alembic_version") != top:
        env = {**os.environ, "DATABASE_URL": db.url}
        subprocess.run([sys.executable, "-m", "alembic", "downgrade", top], cwd=ROOT, env=env, check=True,
                       capture_output=True, text=True, timeout=300)
    assert db.value("SELECT version_num FROM alembic_version") == top
    return top, below, gone


@pytest.fixture
def two_synced_purchases(db):
    """P and Q, assigned, two sessions each, synced (missing and drifted 0)."""
    p = purchase(db)
    q = purchase(db)
    p_sessions = sessions(db, p, 2)
    q_sessions = sessions(db, q, 2)
    db.rows("SELECT purchases_failed FROM sync_all_sessions()")
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)
    return p_sessions, q_sessions


def dates(db, session_id) -> tuple:
    """(purchase session's date, its tutoring session's date)."""
    return db.one("SELECT ps.session_date, t.scheduled_date FROM purchase_sessions ps"
                  " LEFT JOIN tutoring_sessions t ON t.id = ps.id WHERE ps.id = %s", session_id)


def wait_until_retrying(db, pid: int, process: subprocess.Popen) -> None:
    """Until the migration's backend is in its retry loop: sleeping between NOWAIT attempts."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if db.value("SELECT wait_event = 'PgSleep' FROM pg_stat_activity WHERE pid = %s", pid):
            return
        if process.poll() is not None:
            result = finish(process)
            pytest.fail(f"the downgrade ended (exit {result.returncode}) before it retried:\n{result.stderr}")
        time.sleep(0.02)
    pytest.fail(f"the downgrade did not start retrying within {WAIT}s")


def connected(db, process: subprocess.Popen, name: str) -> int:
    deadline = time.monotonic() + WAIT
    while (pid := downgrade_backend(db, name)) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pid is not None, "the downgrade never connected"
    return pid


def test_downgrade_waits_for_an_open_platform_transaction_and_holds_up_no_other_write(
        db, two_synced_purchases, step, downgrade_name):
    (p1, _), (q1, _) = two_synced_purchases
    top, below, gone = step
    process = None
    platform = db.connect()  # the booking service: triggers on, one open transaction
    late = db.connect(autocommit=True)
    try:
        # T1, open before the downgrade starts: reschedules p1 (0011 notes P, to sync at COMMIT).
        platform.execute("UPDATE purchase_sessions SET session_date = '2026-03-03' WHERE id = %s", (p1,))
        process = start_downgrade(db.url, downgrade_name)
        pid = connected(db, process, downgrade_name)
        wait_until_retrying(db, pid, process)
        # Between attempts it holds none of the platform's tables, and nothing has changed.
        assert table_locks(db, pid) == []
        assert db.value("SELECT version_num FROM alembic_version") == top

        # T2 reschedules q1 meanwhile: it waits for nobody, and is synced at its COMMIT.
        late.execute("UPDATE purchase_sessions SET session_date = '2026-03-04' WHERE id = %s", (q1,))
        assert dates(db, q1) == (date(2026, 3, 4), date(2026, 3, 4))
        assert process.poll() is None

        # T1 commits (synced by the top revision, whose objects are all still there); the next
        # attempt wins.
        platform.commit()
        result = finish(process)
        assert result.returncode == 0, result.stderr
    finally:
        platform.close()
        late.close()
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    assert db.value("SELECT version_num FROM alembic_version") == below
    assert db.value(gone)
    assert dates(db, p1) == (date(2026, 3, 3), date(2026, 3, 3))
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)
    assert db.value("SELECT count(*) FROM session_sync_failures") == 0


def test_a_platform_transaction_writing_a_second_table_during_the_migration_commits(
        db, two_synced_purchases, step, downgrade_name):
    """The deadlock of 0009's and 0010's one-by-one LOCK TABLE, gone: a platform transaction
    that wrote purchase_sessions and then writes course_purchases while the migration waits
    neither waits nor dies; it commits, synced, and the migration then runs."""
    (p1, _), _ = two_synced_purchases
    top, below, _ = step
    purchase_id = db.value("SELECT purchase_id FROM purchase_sessions WHERE id = %s", p1)
    trainer = uuid.uuid4()
    process = None
    platform = db.connect(options="-c deadlock_timeout=100ms")
    try:
        platform.execute("UPDATE purchase_sessions SET session_date = '2026-03-03' WHERE id = %s", (p1,))
        process = start_downgrade(db.url, downgrade_name)
        pid = connected(db, process, downgrade_name)
        wait_until_retrying(db, pid, process)
        time.sleep(0.3)  # past the platform's deadlock_timeout
        platform.execute("UPDATE course_purchases SET trainer_id = %s WHERE id = %s", (trainer, purchase_id))
        platform.commit()
        result = finish(process)
        assert result.returncode == 0, result.stderr
    finally:
        platform.close()
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    assert db.value("SELECT version_num FROM alembic_version") == below
    assert dates(db, p1) == (date(2026, 3, 3), date(2026, 3, 3))
    assert db.value("SELECT trainer_id FROM tutoring_sessions WHERE id = %s", p1) == trainer
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


def test_a_migration_that_cannot_lock_the_tables_in_time_fails_and_changes_nothing(
        db, two_synced_purchases, step, downgrade_name):
    (p1, _), _ = two_synced_purchases
    top, _, gone = step
    platform = db.connect()
    try:
        platform.execute("UPDATE purchase_sessions SET session_date = '2026-03-03' WHERE id = %s", (p1,))
        process = start_downgrade(db.url, downgrade_name, options="-c session_sync.lock_wait=1s")
        result = finish(process)
        assert result.returncode != 0
        assert re.search(r"could not lock (the platform's tables and the package's|course_purchases and purchase_sessions)"
                         r" within 00:00:01; nothing was changed", result.stderr), result.stderr
        assert str(platform.info.backend_pid) in result.stderr  # DETAIL names the backend holding them
        platform.commit()
    finally:
        platform.close()
    assert db.value("SELECT version_num FROM alembic_version") == top
    assert not db.value(gone)
    assert dates(db, p1) == (date(2026, 3, 3), date(2026, 3, 3))
