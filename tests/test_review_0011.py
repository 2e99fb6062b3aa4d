"""What an adversarial review of revision 0011 broke, and now holds (issue 11).

Each test asserts a promise that the review's reproduction broke on the first version of
0011; its docstring says what was observed then and what changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from factories import purchase, sessions

ROOT = Path(__file__).resolve().parents[1]


def backend(conn: psycopg.Connection) -> int:
    return conn.info.backend_pid


def wait_blocked(db, pid: int, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = db.one("SELECT wait_event_type, pg_blocking_pids(pid) FROM pg_stat_activity WHERE pid = %s", pid)
        if row[0] == "Lock":
            return row[1]
        time.sleep(0.02)
    pytest.fail(f"backend {pid} never waited for a lock")


def in_thread(fn):
    out: dict = {}

    def run():
        try:
            out["result"] = fn()
        except BaseException as error:  # noqa: BLE001
            out["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


# --- Promise 1: the platform's COMMIT waits for, and deadlocks with, an open run -------------

def test_platform_commit_is_not_killed_by_a_deadlock_on_the_change_log(db):
    """Observed: a reschedule's COMMIT waits (no lock_timeout) on session_sync_changes rows that
    an open sync_all_sessions() transaction deleted, and is killed with 40P01 when that
    transaction then waits for the reschedule's row. The change-log DELETE in
    session_sync_write is the one statement of the sync that can wait without bound."""
    pid = purchase(db)
    s1, s2 = sessions(db, pid, 2)
    db.execute("SELECT * FROM sync_all_sessions()")
    with db.connect(autocommit=True) as app:  # an app records an OTP: the purchase is queued
        app.execute("UPDATE tutoring_sessions SET metadata = metadata || '{\"otpSentAt\": \"x\"}' WHERE id = %s",
                    (s1,))
    op = db.connect()  # cron / operator: a run inside a transaction (psql BEGIN; SELECT ...)
    plat = db.connect()
    try:
        op.execute("SELECT * FROM sync_all_sessions()")
        plat.execute("UPDATE purchase_sessions SET session_time = '10:00' WHERE id = %s", (s2,))
        thread, out = in_thread(lambda: op.execute(
            "UPDATE purchase_sessions SET status = 'cancelled' WHERE id = %s", (s2,)))
        wait_blocked(db, backend(op))
        time.sleep(1.5)  # past deadlock_timeout: the operator's check found no cycle yet
        try:
            plat.commit()
            committed = None
        except psycopg.Error as error:
            committed = error
            plat.rollback()
        thread.join(30)
        op.rollback()
    finally:
        op.close()
        plat.close()
    assert committed is None, f"the platform's COMMIT failed: {committed.sqlstate} {committed}"


# --- Promise 1 / 6: a REPEATABLE READ writer's COMMIT fails in the failure retention ----------

@pytest.mark.parametrize("isolation", ["REPEATABLE READ", "SERIALIZABLE"])
def test_repeatable_read_writer_of_a_failing_purchase_commits(db, isolation):
    """Observed: 40001 'could not serialize access due to concurrent update' raised by the
    DELETE ... FOR UPDATE SKIP LOCKED of session_sync_failures (session_sync_write, outside any
    savepoint), so the platform's reschedule is rolled back. README: the sync catches 40001 in its
    savepoint and 'the transaction commits'."""
    pid = purchase(db, student_location={"latitude": "abc", "longitude": 1})
    s1, _ = sessions(db, pid, 2)
    db.execute("SELECT * FROM sync_all_sessions()")  # INVALID_COORDINATES recorded
    with db.connect() as plat:
        plat.execute(f"BEGIN ISOLATION LEVEL {isolation}")
        plat.execute("UPDATE purchase_sessions SET session_time = '10:00' WHERE id = %s", (s1,))
        db.execute("SELECT session_sync_enqueue(ARRAY[%s]::uuid[])", pid)
        db.execute("SELECT * FROM sync_all_sessions()")  # cron meets it again, replaces the row
        error = None
        try:
            plat.commit()
        except psycopg.Error as caught:
            error = caught
    assert error is None, f"{error.sqlstate}: {str(error).splitlines()[0]}"
    assert db.value("SELECT session_time FROM purchase_sessions WHERE id = %s", s1) == "10:00"


# --- Promise 5: the migration's lock -----------------------------------------------------------

def alembic(url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "PGAPPNAME": "review_migration",
           "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, "-m", "alembic", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def at_0011(db) -> None:
    """Steps the test's database (at head) down to revision 0011, whose migrations these tests
    race: a later head's own downgrade runs first, in a transaction of its own."""
    process = alembic(db.url, "downgrade", "0011_contracts_health")
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert db.value("SELECT version_num FROM alembic_version") == "0011_contracts_health"


def migration_pid(db, process: subprocess.Popen, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = db.value("SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE application_name = "
                       "'review_migration' AND datname = current_database() AND wait_event = 'PgSleep'")
        if pid:
            return pid
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    pytest.fail("the migration never retried its lock")


def test_downgrade_of_0011_does_not_deadlock_a_read_then_write_platform_transaction(db):
    """Observed on the first 0011: the booking service's transaction read purchase_sessions, the
    downgrade took the four tables (SHARE ROW EXCLUSIVE), then DROP TRIGGER asked for ACCESS
    EXCLUSIVE on purchase_sessions and waited for the reader while holding them; the reader's
    UPDATE closed the cycle and was killed with 40P01. Now the downgrade takes ACCESS EXCLUSIVE on
    the two tables whose triggers it drops in the same NOWAIT attempt: it retries (holding
    nothing) until the reader's transaction ends, and the reader's UPDATE commits."""
    at_0011(db)
    pid = purchase(db)
    s1, _ = sessions(db, pid, 2)
    db.execute("SELECT * FROM sync_all_sessions()")
    plat = db.connect()
    try:
        plat.execute("SELECT id, session_date FROM purchase_sessions WHERE purchase_id = %s", (pid,)).fetchall()
        migration = alembic(db.url, "downgrade", "-1")
        mig = migration_pid(db, migration)
        assert db.value("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                        " WHERE l.pid = %s AND c.relname = ANY (%s)", mig,
                        ["course_purchases", "purchase_sessions", "trainer_allocations", "tutoring_sessions"]) == 0
        time.sleep(1.5)  # past the reader's deadlock_timeout: nothing to detect
        error = None
        try:
            plat.execute("UPDATE purchase_sessions SET session_time = '09:00' WHERE id = %s", (s1,))
            plat.commit()
        except psycopg.Error as caught:
            error = caught
            plat.rollback()
        out, err = migration.communicate(timeout=300)
    finally:
        plat.close()
    assert error is None, f"the platform transaction was killed: {error.sqlstate} {str(error).splitlines()[0]}"
    assert migration.returncode == 0, err
    assert db.value("SELECT version_num FROM alembic_version") == "0010_write_path"


def test_upgrade_to_0011_holds_up_no_write_while_it_waits(db):
    """Observed on the first 0011: with a session that had read session_sync_failures still open
    (a dashboard, psql), the upgrade got the four platform tables, then ALTER TABLE
    session_sync_failures waited for that session without a timeout, holding up every platform
    write. Now the package tables it alters are in the same NOWAIT attempt: while the reader is
    open the upgrade holds nothing and writes go on."""
    at_0011(db)
    down = alembic(db.url, "downgrade", "-1")
    down.communicate(timeout=300)
    assert down.returncode == 0
    pid = purchase(db)
    s1, _ = sessions(db, pid, 2)
    reader = db.connect()
    writer = db.connect(autocommit=True)
    try:
        reader.execute("SELECT count(*) FROM session_sync_failures").fetchone()
        migration = alembic(db.url, "upgrade", "0011_contracts_health")
        migration_pid(db, migration)
        started = time.monotonic()
        thread, out = in_thread(lambda: writer.execute(
            "UPDATE purchase_sessions SET session_time = '09:00' WHERE id = %s", (s1,)))
        thread.join(30)
        held_up = thread.is_alive()
        waited = time.monotonic() - started
        reader.rollback()
        thread.join(60)
        out, err = migration.communicate(timeout=300)
    finally:
        reader.close()
        writer.close()
    assert not held_up, f"a platform write waited {waited:.1f}s for the migration, which waited for a reader"
    assert "error" not in out
    assert migration.returncode == 0, err
    assert db.value("SELECT version_num FROM alembic_version") == "0011_contracts_health"


# --- Promise 3: dropped keys -----------------------------------------------------------------

def assigned_with_flags(db, count: int = 3):
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    ids = sessions(db, pid, count, metadata={"requiresBooking": True, "isBookable": False})
    with db.connect(autocommit=True) as conn:
        conn.execute("UPDATE course_purchases SET trainer_id = %s, status = 'ASSIGNED' WHERE id = %s",
                     (uuid.uuid4(), pid))
    return pid, ids


def test_dropped_keys_rows_are_not_left_behind_forever(db):
    """Observed: a key dropped and put back (same value) in one transaction, and a flag toggled on a
    completed (protected) session, leave rows in session_sync_dropped_keys that no sync ever
    deletes (the sync deletes them only for sessions it writes): after two runs 6 rows remain,
    session_sync_status.dropped_keys_pending stays 6 while verify says missing 0, drifted 0."""
    pid, (s1, s2, _) = assigned_with_flags(db)
    db.execute("UPDATE tutoring_sessions SET status = 'completed' WHERE id = %s", s2)
    with db.connect(autocommit=True) as plat:
        with plat.transaction():
            plat.execute("UPDATE purchase_sessions SET metadata = metadata - 'requiresBooking' WHERE id = %s", (s1,))
            plat.execute("UPDATE purchase_sessions SET metadata = metadata || '{\"requiresBooking\": true}'"
                         " WHERE id = %s", (s1,))
        for _ in range(5):
            plat.execute("UPDATE purchase_sessions SET metadata = metadata - 'isBookable' WHERE id = %s", (s2,))
            plat.execute("UPDATE purchase_sessions SET metadata = metadata || '{\"isBookable\": false}'"
                         " WHERE id = %s", (s2,))
    db.execute("SELECT * FROM sync_all_sessions()")
    db.execute("SELECT * FROM sync_all_sessions()")
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)
    assert db.value("SELECT count(*) FROM session_sync_dropped_keys") == 0


def relation_rows(plan: dict, relation: str) -> int:
    """Rows the nodes scanning ``relation`` returned in an EXPLAIN (ANALYZE, FORMAT JSON) plan."""
    own = plan.get("Actual Rows", 0) * plan.get("Actual Loops", 1) if plan.get("Relation Name") == relation else 0
    return own + sum(relation_rows(child, relation) for child in plan.get("Plans", []))


def test_stale_dropped_keys_rows_do_not_slow_every_commit(db):
    """Observed on the first 0011: session_sync_session_state aggregated the whole of
    session_sync_dropped_keys for every sync (399,265 rows grouped to classify one purchase), so
    a reschedule's COMMIT took ~160 ms with 100,000 rows instead of ~2 ms. Now the view looks the
    keys up by session (an index probe per session, and none at all while the table is empty):
    with 50,000 unrelated rows, classifying one purchase reads a row or two of the table (each
    copy of the EXISTS reads one), not 50,000."""
    pid, ids = assigned_with_flags(db)
    db.execute("INSERT INTO session_sync_dropped_keys (session_id, key)"
               " SELECT gen_random_uuid(), 'isBookable' FROM generate_series(1, 50000)")
    db.execute("ANALYZE session_sync_dropped_keys")
    for generic in (False, True):  # custom plans, and the cached generic ones the write path uses
        db.execute(f"SET plan_cache_mode = {'force_generic_plan' if generic else 'auto'}")
        db.execute("PREPARE classify(uuid) AS SELECT state, dropped_keys FROM session_sync_session_state"
                   " WHERE purchase_id = $1")
        plan = db.value(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE classify('{pid}')")[0]["Plan"]
        db.execute("DEALLOCATE classify")
        assert relation_rows(plan, "session_sync_dropped_keys") <= 10, plan  # one per EXISTS, not 50,000
    db.execute("RESET plan_cache_mode")
    with db.connect(autocommit=True) as plat:
        plat.execute("UPDATE purchase_sessions SET session_time = '10:00' WHERE id = %s", (ids[0],))
    assert db.value("SELECT scheduled_time FROM tutoring_sessions WHERE id = %s", ids[0]) == "10:00"


# --- Promise 4: failure retention ------------------------------------------------------------

def test_concurrent_failures_of_one_purchase_keep_one_row(db):
    """Three platform transactions rescheduling sessions of one bad purchase at once (each with
    SET CONSTRAINTS ALL IMMEDIATE) and a cron run: each replaces the rows it can lock and skips
    the ones another holds, never waiting, so up to one row each may stay (observed: occurrences
    2, 1, 1, 1) until the next failure folds them. No count is lost, and session_sync_open_failures
    adds them up (it showed the newest row's count, 1, on the first 0011); the next failure leaves
    one row."""
    pid = purchase(db, student_location={"latitude": "abc", "longitude": 1})
    ids = sessions(db, pid, 3)
    db.execute("SELECT * FROM sync_all_sessions()")
    open_transactions = []
    try:
        for number, sid in enumerate(ids):
            conn = db.connect()
            conn.execute("UPDATE purchase_sessions SET session_time = %s WHERE id = %s", (f"1{number}:00", sid))
            conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
            open_transactions.append(conn)
        db.execute("SELECT * FROM sync_all_sessions()")
        for conn in open_transactions:
            conn.commit()
    finally:
        for conn in open_transactions:
            conn.close()
    rows = db.rows("SELECT occurrences FROM session_sync_failures WHERE purchase_id = %s ORDER BY failure_id", pid)
    assert sum(r[0] for r in rows) == 5
    first = db.value("SELECT min(first_failed_at) FROM session_sync_failures WHERE purchase_id = %s", pid)
    assert db.one("SELECT occurrences, first_failed_at FROM session_sync_open_failures WHERE purchase_id = %s",
                  pid) == (5, first)
    db.execute("SELECT * FROM sync_all_sessions()")
    assert db.rows("SELECT occurrences FROM session_sync_failures WHERE purchase_id = %s", pid) == [(6,)]


# --- Promise 6 / 2: a run in REPEATABLE READ never drains the queue --------------------------

def test_a_repeatable_read_run_drains_the_queue(db):
    """Observed: sync_all_sessions() called in REPEATABLE READ (e.g. a cron connection with
    default_transaction_isolation = 'repeatable read') re-queues every purchase it examined
    (write_batch returns racing_ids = all ids outside READ COMMITTED), so the queue never empties
    and the change log grows by one row per examined purchase per run (15 -> 18 -> 21 rows for 3
    purchases) although verify says missing 0, drifted 0."""
    for _ in range(3):
        sessions(db, purchase(db), 2)
    db.execute("SELECT session_sync_enqueue()")
    with psycopg.connect(db.url, autocommit=True,
                         options="-c default_transaction_isolation=repeatable\\ read") as rr:
        for _ in range(3):
            rr.execute("SELECT * FROM sync_all_sessions()")
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)
    assert db.value("SELECT count(*) FROM session_sync_changes") == 0
