"""A migration downgrade while the platform's transactions are open (issue 11).

isolationtester runs SQL steps only, and a downgrade is Alembic running a revision's Python and
several SQL files, so these interleavings are driven here instead of in tests/isolation/: a
platform transaction on a psycopg connection, ``alembic downgrade -1`` (head 0010_write_path to
0009_security) in a subprocess, as an operator runs it, and pg_locks / pg_stat_activity to see
who waits for whom.

The downgrade starts with ``LOCK TABLE`` on the platform's four tables (IN SHARE ROW EXCLUSIVE
MODE, in the order course_purchases, purchase_sessions, trainer_allocations, tutoring_sessions),
so that no platform write's triggers run half on 0010's objects and half on 0009's. What that
must give: a platform transaction already open keeps the downgrade waiting, commits with its rows
and is synced at its COMMIT by 0010, the version it ran under; a platform write that comes while
the downgrade waits waits for the downgrade and is synced by 0009.
"""

from __future__ import annotations

import os
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


def test_downgrade_waits_for_an_open_platform_transaction_which_commits_synced(db, two_synced_purchases,
                                                                              downgrade_name):
    (p1, _), (q1, _) = two_synced_purchases
    process = None
    platform = db.connect()  # the booking service: triggers on, one open transaction
    late = db.connect(autocommit=True)
    errors: list[BaseException] = []
    try:
        # T1, open before the downgrade starts: reschedules p1 (0010 notes P, to sync at COMMIT).
        platform.execute("UPDATE purchase_sessions SET session_date = '2026-03-03' WHERE id = %s", (p1,))
        process = start_downgrade(db.url, downgrade_name)
        deadline = time.monotonic() + WAIT
        while (pid := downgrade_backend(db, downgrade_name)) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pid is not None, "the downgrade never connected"
        wait_until_blocked(db, pid, platform.info.backend_pid, process, "the downgrade waited for T1")

        # It waits in its first statement, the LOCK TABLE: course_purchases is locked already (T1
        # never wrote it), purchase_sessions is waited for, the other two not yet asked for.
        assert table_locks(db, pid) == [("course_purchases", "ShareRowExclusiveLock", True),
                                        ("purchase_sessions", "ShareRowExclusiveLock", False)]
        assert db.value("SELECT pg_blocking_pids(%s)", pid) == [platform.info.backend_pid]
        assert db.value("SELECT version_num FROM alembic_version") == "0010_write_path"

        # T2 reschedules q1 while the downgrade waits: it waits for the downgrade (queued behind
        # its lock request), not for T1.
        def reschedule_q1() -> None:
            try:
                late.execute("UPDATE purchase_sessions SET session_date = '2026-03-04' WHERE id = %s", (q1,))
            except BaseException as error:  # noqa: BLE001 - asserted empty below
                errors.append(error)

        writer = threading.Thread(target=reschedule_q1)
        writer.start()
        wait_until_blocked(db, late.info.backend_pid, pid, process, "T2 waited for the downgrade")
        assert process.poll() is None

        # T1 commits: its sync at COMMIT runs on 0010's objects, which are all still there.
        platform.commit()
        result = finish(process)
        assert result.returncode == 0, result.stderr
        writer.join(timeout=WAIT)
        assert not writer.is_alive() and errors == []
    finally:
        platform.close()
        late.close()
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    assert db.value("SELECT version_num FROM alembic_version") == "0009_security"
    assert db.value("SELECT to_regnamespace('session_sync')") is None  # 0009 has no schema session_sync
    # Both writes committed, each synced: T1's at its COMMIT by 0010 (nothing after it syncs P),
    # T2's by 0009's triggers, in its statement.
    assert dates(db, p1) == (date(2026, 3, 3), date(2026, 3, 3))
    assert dates(db, q1) == (date(2026, 3, 4), date(2026, 3, 4))
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)
    assert db.value("SELECT count(*) FROM session_sync_failures") == 0


def test_platform_write_to_a_table_the_downgrade_has_locked_deadlocks(db, two_synced_purchases, downgrade_name):
    """Today's behaviour, a defect. LOCK TABLE takes the four tables one at a time and keeps the
    ones it got while it waits for the next. A platform transaction that wrote purchase_sessions
    and then writes course_purchases (a reschedule, then the purchase) while the downgrade waits
    closes a cycle: it waits for the downgrade's lock on course_purchases, the downgrade for its
    purchase_sessions. Whichever backend checks first after deadlock_timeout (1s by default) is
    cancelled: the downgrade when the platform's second write comes within its deadlock_timeout,
    otherwise the platform's transaction, whose writes are lost, a transaction that would have
    committed without the package. This test takes the second case (the downgrade's
    deadlock_timeout set high, so that the order does not depend on timing). The same LOCK starts
    the upgrades to 0009 and to 0010, with the same outcome. A fix (never to hold some of the
    tables while waiting for the others) changes this test: the platform's transaction should
    then wait for the downgrade and commit."""
    (p1, _), _ = two_synced_purchases
    purchase_id = db.value("SELECT purchase_id FROM purchase_sessions WHERE id = %s", p1)
    process = None
    platform = db.connect(options="-c deadlock_timeout=100ms")
    error = None
    try:
        platform.execute("UPDATE purchase_sessions SET session_date = '2026-03-03' WHERE id = %s", (p1,))
        process = start_downgrade(db.url, downgrade_name, options="-c deadlock_timeout=60s")
        deadline = time.monotonic() + WAIT
        while (pid := downgrade_backend(db, downgrade_name)) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pid is not None, "the downgrade never connected"
        wait_until_blocked(db, pid, platform.info.backend_pid, process, "the downgrade waited for the platform")
        assert ("course_purchases", "ShareRowExclusiveLock", True) in table_locks(db, pid)

        with pytest.raises(psycopg.errors.DeadlockDetected) as raised:
            platform.execute("UPDATE course_purchases SET trainer_id = %s WHERE id = %s", (uuid.uuid4(), purchase_id))
        error = raised.value
        platform.rollback()
        result = finish(process)
        assert result.returncode == 0, result.stderr
    finally:
        platform.close()
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    assert "deadlock detected" in str(error)
    assert db.value("SELECT version_num FROM alembic_version") == "0009_security"
    # The platform's reschedule was rolled back with its transaction.
    assert dates(db, p1) == (date(2026, 1, 6), date(2026, 1, 6))
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)
