"""REPEATABLE READ and SERIALIZABLE: the package adds no serialization failure to the platform's
transactions, and a run in REPEATABLE READ drains the queue.

In REPEATABLE READ the sync catches 40001 in its savepoint (the purchase stays queued) and the
platform's transaction commits. A run, a backfill batch and sync_purchase_sessions() refuse to run
in SERIALIZABLE (25001, with the hint), writing nothing. Each SERIALIZABLE scenario is first
played without the package's triggers (session_replication_role = replica) to show that it
commits there too.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from factories import purchase, sessions
from helpers import commit_error, describe, run_or_error

RR = psycopg.IsolationLevel.REPEATABLE_READ
SER = psycopg.IsolationLevel.SERIALIZABLE


# --- REPEATABLE READ platform transactions ----------------------------------------------------

@pytest.mark.parametrize("isolation", ["REPEATABLE READ", "SERIALIZABLE"])
def test_a_writer_of_a_failing_purchase_commits_while_a_run_records_its_failure(db, isolation):
    """A platform transaction reschedules a session of a purchase that fails (invalid
    coordinates) while cron meets the purchase again and replaces its failure row: the
    transaction's sync at COMMIT meets the row changed since its snapshot and still commits
    (the failure retention never raises 40001 outside the sync's savepoint)."""
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


def test_rr_platform_commit_survives_a_run_that_drained_the_queue(db):
    """A REPEATABLE READ platform transaction whose purchase is queued (an app recorded an OTP on
    one of its tutoring sessions) takes its snapshot; cron's sync_all_sessions() examines the
    purchase and deletes its change-log row; the platform transaction then writes a value the
    mapping reads (a phone number in students, which changes no tutoring session) and commits:
    its sync finds the purchase in sync, meets the change-log row deleted after its snapshot,
    and the transaction commits."""
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
        plat.execute("UPDATE course_purchases SET students = jsonb_set(students, '{0,phone}', '\"+91 1\"')"
                     " WHERE id = %s", (pid,))
        error = commit_error(plat)
    assert error is None, describe(error)


def test_rr_platform_commit_survives_a_run_that_deleted_a_dropped_key_record(db):
    """Same, for the dropped-keys clean-up of the write: the record is one with nothing left to
    do (the key is back on the purchase session, as a drop and a re-add in two transactions with
    the sync off leave it), deleted by a run after the platform transaction's snapshot; the
    change log is empty, so only the dropped-keys statement is in play. The transaction commits."""
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


# --- runs in REPEATABLE READ --------------------------------------------------------------------

def test_a_repeatable_read_run_drains_the_queue(db):
    """sync_all_sessions() in REPEATABLE READ (a cron connection with
    default_transaction_isolation = 'repeatable read') re-queues only the purchases it wrote, so
    the queue drains: after three runs nothing is queued and the change log is empty."""
    for _ in range(3):
        sessions(db, purchase(db), 2)
    db.execute("SELECT session_sync_enqueue()")
    with psycopg.connect(db.url, autocommit=True,
                         options="-c default_transaction_isolation=repeatable\\ read") as rr:
        for _ in range(3):
            rr.execute("SELECT * FROM sync_all_sessions()")
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)
    assert db.value("SELECT count(*) FROM session_sync_changes") == 0


def test_rr_run_is_not_failed_by_a_platform_commit_of_a_queued_purchase(db):
    """A run in REPEATABLE READ; a platform transaction (READ COMMITTED, sync on) commits a write
    of a queued purchase between the run's snapshot and its change-log DELETE, and its sync
    deletes the change-log row the run saw: the run completes and commits."""
    pid = purchase(db)
    sessions(db, pid, 2)
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


def test_rr_run_keeps_a_row_appended_meanwhile_and_survives_a_concurrent_drain(db):
    """A REPEATABLE READ run whose snapshot predates another run that drained P's change-log rows
    and a write that queued Q afterwards: the run commits (no 40001), Q's row appended after its
    snapshot stays queued, and no other row is lost."""
    p, q = purchase(db), purchase(db)
    sessions(db, p, 2)
    sessions(db, q, 2)
    assert db.value("SELECT count(DISTINCT purchase_id) FROM session_sync_queue") == 2
    rr = db.connect()
    rr.isolation_level = RR
    try:
        rr.execute("SELECT 1 FROM session_sync_changes LIMIT 1")  # the snapshot
        db.dict("SELECT * FROM sync_purchase_sessions(%s)", p)  # drains P's rows (deleted after the snapshot)
        db.execute("UPDATE purchase_sessions SET session_time = '18:00' WHERE purchase_id = %s", q)  # queued again
        row = rr.execute("SELECT purchases_failed FROM sync_all_sessions()").fetchone()
        rr.commit()
    finally:
        rr.close()
    assert row == (0,)
    # P may stay queued (the run met P's sessions inserted after its snapshot: deferred); Q must.
    assert q in [r[0] for r in db.rows("SELECT purchase_id FROM session_sync_queue")]
    db.dict("SELECT * FROM sync_all_sessions()")
    assert db.rows("SELECT purchase_id FROM session_sync_queue") == []
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


# --- SERIALIZABLE ---------------------------------------------------------------------------------

def test_serializable_app_and_reschedule_both_commit(db):
    """Two SERIALIZABLE platform transactions that commit without the package: the trainer app
    starts a session (UPDATE tutoring_sessions), the booking service checks that the session has
    not started (SELECT tutoring_sessions) and reschedules its purchase session. With the
    package's tracking trigger on tutoring_sessions (which must not read purchase_sessions inside
    the app's transaction: that rw-dependency would close a cycle) both commit too."""
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


def test_serializable_allocation_insert_and_purchase_update_both_commit(db):
    """An admin approves a second student's allocation with the same trainer and course
    (SERIALIZABLE INSERT INTO trainer_allocations); the booking service, SERIALIZABLE too, checks
    the trainer's allocations and updates the purchase. Without the package both commit (one
    rw-dependency only); the allocation tracking trigger (session_sync_allocations_trigger) must
    not read course_purchases inside the admin's transaction (a second one): both commit."""
    trainer, course, student = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    pid = purchase(db, trainer_id=trainer, course_id=course, student_id=student)
    sessions(db, pid, 1)
    db.execute("SELECT * FROM sync_all_sessions()")
    assert db.value("SELECT count(*) FROM trainer_allocations") == 1

    def scenario(options: str):
        admin = psycopg.connect(db.url, options=options)
        booking = psycopg.connect(db.url, options=options)
        try:
            admin.isolation_level = SER
            booking.isolation_level = SER
            booking.execute("SELECT 1").fetchone()  # snapshot
            other = uuid.uuid4()
            errors = [run_or_error(admin,
                "INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status)"
                " VALUES (%s, %s, %s, %s, 'approved')", (other, trainer, course, other))]
            errors.append(run_or_error(booking,
                "SELECT count(*) FROM trainer_allocations WHERE trainer_id = %s", (trainer,)))
            errors.append(run_or_error(booking,
                "UPDATE course_purchases SET updated_at = now() WHERE id = %s", (pid,)))
            errors.append(commit_error(admin))
            errors.append(commit_error(booking))
            return [e for e in errors if e is not None]
        finally:
            admin.close()
            booking.close()

    without = scenario("-c session_replication_role=replica")
    assert without == [], [describe(e) for e in without]
    with_package = scenario("")
    assert with_package == [], [describe(e) for e in with_package]


def test_serializable_operator_run_is_refused_and_fails_no_platform_transaction(db):
    """sync_all_sessions() and sync_purchase_sessions() called in a SERIALIZABLE transaction (a
    cron connection whose role has default_transaction_isolation = serializable) would read
    purchase_sessions and write tutoring_sessions, closing a cycle with a SERIALIZABLE platform
    transaction that read the tutoring session and rescheduled the purchase session. They refuse
    (25001, with the hint) and record nothing; a dry run still answers; the platform's
    transaction commits."""
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
