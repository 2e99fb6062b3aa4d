"""A second adversarial review of revision 0011's fixes (issue 11): what it broke, now holding.

Each test asserts the README's promise; its docstring says what the review observed before
the fix.
"""

from __future__ import annotations

import time

import psycopg
import pytest

from factories import purchase, sessions
from test_review_0011 import alembic, at_0011, migration_pid

RR = psycopg.IsolationLevel.REPEATABLE_READ
SER = psycopg.IsolationLevel.SERIALIZABLE


def commit_error(conn: psycopg.Connection):
    try:
        conn.commit()
        return None
    except psycopg.Error as error:
        conn.rollback()
        return error


def describe(error) -> str:
    if error is None:
        return ""
    context = [line for line in str(error).splitlines() if "SQL statement" in line]
    return f"{error.sqlstate}: {str(error).splitlines()[0]} {context[:1]}"


# --- Fix 4 / 3: REPEATABLE READ writers and the change-log DELETE ... FOR UPDATE SKIP LOCKED -----

def test_rr_platform_commit_survives_a_run_that_drained_the_queue(db):
    """A REPEATABLE READ platform transaction whose purchase is queued (an app recorded an OTP on
    one of its tutoring sessions) takes its snapshot; cron's sync_all_sessions() examines the
    purchase and deletes its change-log row; the platform transaction reschedules a session and
    commits. README: in REPEATABLE READ the sync catches 40001 and 'the transaction commits'."""
    pid = purchase(db)
    s1, s2 = sessions(db, pid, 2)
    db.execute("SELECT * FROM sync_all_sessions()")
    with db.connect(autocommit=True) as app:
        app.execute("UPDATE tutoring_sessions SET metadata = metadata || '{\"otpSentAt\": \"x\"}' WHERE id = %s",
                    (s1,))
    assert db.value("SELECT count(*) FROM session_sync_changes WHERE purchase_id = %s", pid) == 1
    with db.connect() as plat:
        plat.isolation_level = RR
        plat.execute("SELECT session_time FROM purchase_sessions WHERE id = %s", (s2,)).fetchone()  # snapshot
        db.execute("SELECT * FROM sync_all_sessions()")  # cron: in sync, deletes the change-log row
        # a write the mapping reads but that changes no tutoring session (a phone number in
        # students): the sync finds the purchase in sync and deletes the change-log rows it sees
        plat.execute("UPDATE course_purchases SET students = jsonb_set(students, '{0,phone}', '\"+91 1\"')"
                     " WHERE id = %s", (pid,))
        error = commit_error(plat)
    assert error is None, describe(error)


def test_rr_platform_commit_survives_a_run_that_deleted_a_dropped_key_record(db):
    """Same, for the dropped-keys clean-up DELETE of session_sync_write (also outside any
    savepoint). The record is one with nothing left to do (the key is back on the purchase
    session), as a drop and a re-add in two transactions with the sync off leave it; the
    change log is empty, so only the dropped-keys statement is in play."""
    pid = purchase(db)
    s1, s2 = sessions(db, pid, 2, metadata={"requiresBooking": True})
    db.execute("SELECT * FROM sync_all_sessions()")
    db.execute("INSERT INTO session_sync_dropped_keys (session_id, key) VALUES (%s, 'requiresBooking')", s1)
    assert db.value("SELECT count(*) FROM session_sync_changes") == 0
    with db.connect() as plat:
        plat.isolation_level = RR
        plat.execute("SELECT session_time FROM purchase_sessions WHERE id = %s", (s2,)).fetchone()  # snapshot
        db.execute("SELECT session_sync_enqueue(ARRAY[%s]::uuid[])", pid)
        db.execute("SELECT * FROM sync_all_sessions()")  # deletes the record (and its own change row)
        assert db.value("SELECT count(*) FROM session_sync_dropped_keys") == 0
        plat.execute("UPDATE purchase_sessions SET session_time = '10:00' WHERE id = %s", (s2,))
        error = commit_error(plat)
    assert error is None, describe(error)


def test_rr_run_is_not_failed_by_a_platform_commit_of_a_queued_purchase(db):
    """A cron connection in REPEATABLE READ (README: 'a sync_all_sessions() run in REPEATABLE
    READ ... re-queues only the purchases it wrote, so the queue drains'). A platform
    transaction (READ COMMITTED, sync on) commits a write of a queued purchase between the run's
    snapshot and its change-log DELETE: its sync deletes the change-log row the run saw."""
    pid = purchase(db)
    s1, s2 = sessions(db, pid, 2)
    other = purchase(db)
    sessions(db, other, 2)
    db.execute("SELECT * FROM sync_all_sessions(p_source => 'cron')")
    db.execute("SELECT session_sync_enqueue()")  # both queued again (a --full run; or an app's OTP write)
    with psycopg.connect(db.url, options="-c default_transaction_isolation=repeatable\\ read") as cron:
        cron.execute("SELECT 1").fetchone()  # the run's transaction (BEGIN; ... as psql/cron with a script)
        with db.connect(autocommit=True) as plat:  # a phone number corrected: noted, in sync
            plat.execute("UPDATE course_purchases SET students = jsonb_set(students, '{0,phone}', '\"+91 1\"')"
                         " WHERE id = %s", (pid,))
        error = None
        try:
            cron.execute("SELECT * FROM sync_all_sessions()").fetchone()
            cron.commit()
        except psycopg.Error as caught:
            error = caught
            cron.rollback()
    assert error is None, describe(error)


# --- Fix 2: SERIALIZABLE writers -------------------------------------------------------------

def test_serializable_app_and_reschedule_both_commit(db):
    """Two SERIALIZABLE platform transactions that commit without the package: the trainer app
    starts a session (UPDATE tutoring_sessions), the booking service checks that the session has
    not started (SELECT tutoring_sessions) and reschedules its purchase session. The package's
    tracking trigger on tutoring_sessions reads purchase_sessions inside the app's transaction,
    adding the rw-dependency that closes a cycle. README: 'the package adds no serialization
    failure'."""
    pid = purchase(db)
    (s1,) = sessions(db, pid, 1)
    db.execute("SELECT * FROM sync_all_sessions()")

    def scenario(options: str):
        app = psycopg.connect(db.url, options=options)
        booking = psycopg.connect(db.url, options=options)
        try:
            app.isolation_level = SER
            booking.isolation_level = SER
            booking.execute("SELECT 1").fetchone()
            app.execute("UPDATE tutoring_sessions SET status = 'in_progress' WHERE id = %s", (s1,))
            status = booking.execute("SELECT status FROM tutoring_sessions WHERE id = %s", (s1,)).fetchone()[0]
            assert status == "scheduled"
            booking.execute("UPDATE purchase_sessions SET session_date = session_date + 1 WHERE id = %s", (s1,))
            return commit_error(app), commit_error(booking)
        finally:
            app.close()
            booking.close()

    # without the package's triggers (replica role: no trigger fires): both commit
    without = scenario("-c session_replication_role=replica")
    assert without == (None, None)
    db.execute("UPDATE tutoring_sessions SET status = 'scheduled' WHERE id = %s", s1)
    with_package = scenario("")
    assert with_package == (None, None), [describe(e) for e in with_package]


def test_serializable_operator_run_fails_no_platform_transaction(db):
    """sync_all_sessions() called in a SERIALIZABLE transaction (a cron connection whose role has
    default_transaction_isolation = serializable) read purchase_sessions and wrote
    tutoring_sessions; a SERIALIZABLE platform transaction that read the tutoring session and
    rescheduled the purchase session closed a cycle with it and got 40001. A run, a backfill
    batch and sync_purchase_sessions() now refuse to run in SERIALIZABLE (25001, with the hint),
    writing nothing; the platform's transaction commits."""
    pid = purchase(db)
    (s1,) = sessions(db, pid, 1)
    db.execute("SELECT * FROM sync_all_sessions()")
    db.execute("UPDATE purchase_sessions SET session_time = '11:00' WHERE id = %s", s1)  # sync off: queued
    with psycopg.connect(db.url, options="-c default_transaction_isolation=serializable") as cron, \
            db.connect() as plat:
        plat.isolation_level = SER
        plat.execute("SELECT 1").fetchone()
        with pytest.raises(psycopg.errors.ActiveSqlTransaction, match="do not run in a SERIALIZABLE transaction"):
            cron.execute("SELECT * FROM sync_all_sessions()")
        cron.rollback()
        with pytest.raises(psycopg.errors.ActiveSqlTransaction):
            cron.execute("SELECT * FROM sync_purchase_sessions(%s)", (pid,))
        cron.rollback()
        assert cron.execute("SELECT purchases_synced FROM sync_all_sessions(p_dry_run => true)").fetchone() == (1,)
        plat.execute("SELECT scheduled_time FROM tutoring_sessions WHERE id = %s", (s1,)).fetchone()
        plat.execute("UPDATE purchase_sessions SET session_date = session_date + 1 WHERE id = %s", (s1,))
        plat_error = commit_error(plat)
    assert plat_error is None, describe(plat_error)
    assert db.value("SELECT count(*) FROM session_sync_runs") == 1  # the refused runs recorded nothing


# --- Fix 4: the platform's COMMIT waits for an operator's open run -----------------------------

def test_bulk_platform_commit_does_not_wait_for_an_open_run(db):
    """An operator runs BEGIN; SELECT * FROM sync_all_sessions(); and leaves the transaction open
    (it inserted the tutoring sessions of N queued purchases). A platform transaction touching
    the same N purchases (one UPDATE) commits: its sync inserts the same session ids, waits
    lock_timeout 50ms on the set-based INSERT, then retries purchase by purchase, each waiting
    50ms again. README: the sync 'never waits for ... the platform's own transactions' and the
    only wait is between two syncs; here the COMMIT waits about N x 50 ms."""
    n = 100
    for _ in range(n):
        sessions(db, purchase(db), 1)
    db.execute("SELECT session_sync_enqueue()")
    op = db.connect()
    try:
        op.execute("SELECT * FROM sync_all_sessions()").fetchone()
        with db.connect() as plat:
            plat.execute("UPDATE purchase_sessions SET session_time = '10:00'")
            started = time.monotonic()
            error = commit_error(plat)
            waited = time.monotonic() - started
    finally:
        op.rollback()
        op.close()
    assert error is None, describe(error)
    assert waited < 1.0, f"the platform's COMMIT waited {waited:.1f}s for the operator's open run"


# --- Fix 1: the migration's lock and deadlock_timeout -------------------------------------------

@pytest.mark.parametrize("deadlock_timeout", [
    "1s",
    "100ms",
])
def test_upgrade_never_kills_a_platform_transaction(db, deadlock_timeout):
    """A platform transaction read a package view (session_sync_verify) and then writes a
    purchase session while revision 0011's upgrade wants the four tables and the views. First
    seen with a lock_timeout wait, where a deadlock_timeout below 500 ms made the platform
    transaction the deadlock victim; since the NOWAIT attempt (test_review_0011) the migration
    retries holding nothing, so with either deadlock_timeout the platform's write commits and
    the upgrade completes after it."""
    at_0011(db)  # revision 0011 itself, whatever the head is now
    down = alembic(db.url, "downgrade", "-1")
    _, err = down.communicate(timeout=300)
    assert down.returncode == 0, err
    pid = purchase(db)
    s1, _ = sessions(db, pid, 2)
    plat = db.connect()
    try:
        plat.execute(f"SET deadlock_timeout = '{deadlock_timeout}'")
        plat.execute("SELECT * FROM session_sync_verify").fetchall()
        migration = alembic(db.url, "upgrade", "0011_contracts_health")
        migration_pid(db, migration)  # retrying its NOWAIT attempt while the reader is open
        time.sleep(1.2)  # past either deadlock_timeout: nothing to detect
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
    assert error is None, f"platform transaction killed: {describe(error)}; migration rc {migration.returncode}"
    assert migration.returncode == 0, err
    assert db.value("SELECT version_num FROM alembic_version") == "0011_contracts_health"
    assert db.value("SELECT scheduled_time FROM tutoring_sessions WHERE id = %s", s1) == "09:00"


# --- Fix 5: dropped-key records pile up --------------------------------------------------------

def test_dropped_key_records_of_deleted_purchase_sessions_go(db):
    """A key dropped from a session of a purchase not assigned yet (recorded), then the purchase's
    sessions are deleted (a cancelled booking) and the purchase is assigned later (or never).
    README: 'A record with nothing left to do ... is deleted by the next sync that examines the
    purchase, so session_sync_status.dropped_keys_pending returns to 0'."""
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    s1, s2 = sessions(db, pid, 2, metadata={"requiresBooking": True})
    with db.connect(autocommit=True) as plat:
        plat.execute("UPDATE purchase_sessions SET metadata = metadata - 'requiresBooking' WHERE purchase_id = %s",
                     (pid,))
        plat.execute("DELETE FROM purchase_sessions WHERE purchase_id = %s", (pid,))
        plat.execute("UPDATE course_purchases SET trainer_id = gen_random_uuid(), status = 'ASSIGNED' WHERE id = %s",
                     (pid,))
    db.execute("SELECT session_sync_enqueue()")
    db.execute("SELECT * FROM sync_all_sessions()")
    db.execute("SELECT * FROM sync_all_sessions()")
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)
    assert db.value("SELECT dropped_keys_pending FROM session_sync_status") == 0


# --- Fix 6: summaries on the one-by-one path ----------------------------------------------------

def test_run_summary_adds_up_on_the_fallback_path(db):
    """An app's open transaction inserted (uncommitted) a tutoring session with the id of a queued
    purchase's session: the run's set-based INSERT waits lock_timeout 50 ms and fails. The review
    saw the run retry purchase by purchase (each waiting 50 ms again); now every purchase of the
    set is deferred at once (queued), and the summary still adds up."""
    pids = [purchase(db) for _ in range(3)]
    ids = [sessions(db, p, 2) for p in pids]
    db.execute("SELECT session_sync_enqueue()")
    info = db.one("SELECT student_id FROM course_purchases, LATERAL (SELECT (students->0->>'id')::uuid) s(student_id)"
                  " WHERE id = %s", pids[0])
    with db.connect() as app:
        alloc = app.execute("INSERT INTO trainer_allocations (student_id, requested_by, status) VALUES (%s, %s,"
                            " 'pending') RETURNING id", (info[0], info[0])).fetchone()[0]
        app.execute("INSERT INTO tutoring_sessions (id, allocation_id, student_id, trainer_id, scheduled_date,"
                    " scheduled_time, metadata) VALUES (%s, %s, %s, gen_random_uuid(), '2026-01-06', '16:00',"
                    " jsonb_build_object('purchaseId', %s::text))", (ids[0][0], alloc, info[0], str(pids[0])))
        row = db.dict("SELECT * FROM sync_all_sessions()")
        run = db.dict("SELECT * FROM session_sync_runs WHERE run_id = %s", row["run_id"])
        app.rollback()
    assert run["purchases_retried"] == 0 and run["retry_reason"].startswith("55P03"), run
    assert row["purchases_examined"] == 3
    assert (row["purchases_synced"], row["purchases_deferred"], row["purchases_failed"],
            row["purchases_in_sync"]) == (0, 3, 0, 0), row
    assert db.value("SELECT count(*) FROM session_sync_queue") == 3
    assert db.dict("SELECT * FROM sync_all_sessions()")["purchases_synced"] == 3
    assert run["purchases_examined"] == (run["purchases_synced"] + run["purchases_in_sync"]
                                         + run["purchases_failed"] + run["purchases_deferred"])
