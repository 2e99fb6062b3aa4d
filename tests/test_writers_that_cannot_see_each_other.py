"""Two transactions writing one purchase at once, and a migration holding a platform table.

Issue 21 items 3, 5 and (the write's half of) 4. Each sync at COMMIT sees only the rows
committed when its statements start: a purchase written by one transaction and its sessions by
another, or a trainer change beside a new session, leave each sync blind to the other's rows.
The second sync of a purchase to run while the first one's transaction is open leaves the
purchase queued (an advisory try-lock held to the end of the transaction), whatever the rows'
xmax says (a multixact, when a foreign-key check also locked the purchase). ``SET CONSTRAINTS
ALL IMMEDIATE`` runs each sync at a chosen moment, so no thread or sleep is needed.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from factories import purchase, sessions


def queued(db, pid) -> bool:
    return db.value("SELECT count(*) FROM session_sync_queue WHERE purchase_id = %s", pid) > 0


def insert_sessions(conn: psycopg.Connection, pid, count: int = 2) -> None:
    conn.execute("""INSERT INTO purchase_sessions (purchase_id, booking_id, session_number, session_date, session_time)
                    SELECT %s, gen_random_uuid(), n, date '2026-01-05' + n, '16:00' FROM generate_series(1, %s) n""",
                 (pid, count))


def test_a_purchase_and_its_sessions_written_by_two_transactions_end_synced_or_queued(db):
    pid = uuid.uuid4()
    with db.connect() as buyer, db.connect() as scheduler:
        buyer.execute("""INSERT INTO course_purchases (id, booking_id, course_id, class_type, total_sessions,
                             delivery_mode, start_date, preferred_time_slot, student_location, students, trainer_id,
                             status)
                         VALUES (%s, gen_random_uuid(), gen_random_uuid(), 'ONE_ON_ONE', 10, 'WEEKDAY_DAILY',
                                 '2026-01-05', '16:00', '{"latitude": 12.9, "longitude": 77.6}',
                                 jsonb_build_array(jsonb_build_object('id', gen_random_uuid())),
                                 gen_random_uuid(), 'ASSIGNED')""", (pid,))
        buyer.execute("SET CONSTRAINTS ALL IMMEDIATE")  # its sync: the purchase, no session visible
        insert_sessions(scheduler, pid)
        scheduler.execute("SET CONSTRAINTS ALL IMMEDIATE")  # its sync: sessions, their purchase invisible
        buyer.commit()
        scheduler.commit()
    assert db.one("SELECT missing FROM session_sync_verify") == (2,)
    assert queued(db, pid), "two sessions are missing and their purchase is not queued"
    db.execute("SELECT * FROM sync_all_sessions()")
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


def test_a_trainer_change_beside_a_new_session_under_a_key_share_lock_ends_on_the_new_trainer(db):
    """The purchase row's xmax is a MultiXactId (a foreign-key check's FOR KEY SHARE and the
    trainer change): the new session's sync must not read it as a finished transaction."""
    pid = purchase(db, trainer_id=uuid.uuid4())
    sessions(db, pid, 2)
    db.execute("SELECT * FROM sync_purchase_sessions(%s)", pid)
    new_trainer = uuid.uuid4()
    with db.connect() as checker, db.connect() as admin, db.connect(autocommit=True) as scheduler:
        checker.execute("SELECT 1 FROM course_purchases WHERE id = %s FOR KEY SHARE", (pid,))
        admin.execute("UPDATE course_purchases SET trainer_id = %s WHERE id = %s", (new_trainer, pid))
        admin.execute("SET CONSTRAINTS ALL IMMEDIATE")  # moves the two sessions it sees
        insert_sessions(scheduler, pid, 1)  # committed: its sync sees the old trainer
        admin.commit()
        checker.commit()
    assert queued(db, pid), "a session written on the old trainer and its purchase not queued"
    db.execute("SELECT * FROM sync_all_sessions()")
    assert db.rows("SELECT DISTINCT trainer_id FROM tutoring_sessions") == [(new_trainer,)]
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


@pytest.mark.parametrize("held", ["course_purchases", "purchase_sessions", "tutoring_sessions",
                                  "trainer_allocations"])
def test_a_commit_never_waits_for_a_migration_holding_a_platform_table(db, held):
    """A migration holds one platform table (ACCESS EXCLUSIVE) while the booking service
    commits a write, then goes on to the table that write holds; a dropped-key record is present
    (its cleanup reads purchase_sessions and tutoring_sessions). Were the COMMIT to wait for the
    first table, the two would deadlock (the migration died with "deadlock detected"): it gives
    up within the write's lock_timeout instead, and queues the purchase."""
    pid = purchase(db, trainer_id=uuid.uuid4())
    [sid, _] = sessions(db, pid, 2, metadata={"flag": True})
    db.execute("SELECT * FROM sync_purchase_sessions(%s)", pid)
    other = purchase(db, trainer_id=uuid.uuid4())
    [other_sid] = sessions(db, other, 1, metadata={"flag": True})
    db.execute("SELECT * FROM sync_purchase_sessions(%s)", other)
    db.execute("UPDATE purchase_sessions SET metadata = '{}' WHERE id = %s", other_sid)  # sync off: a record
    assert db.value("SELECT count(*) FROM session_sync_dropped_keys") == 1
    with db.connect() as migration, db.connect() as platform:
        migration.execute("SET deadlock_timeout = '200ms'")
        if held == "purchase_sessions":
            written = "course_purchases"
            platform.execute("UPDATE course_purchases SET trainer_id = gen_random_uuid() WHERE id = %s", (pid,))
        else:
            written = "purchase_sessions"
            platform.execute("UPDATE purchase_sessions SET session_time = '09:00' WHERE id = %s", (sid,))
        migration.execute(f"LOCK TABLE {held} IN ACCESS EXCLUSIVE MODE")
        platform.pgconn.send_query(b"COMMIT")  # sent, not awaited: the migration goes on meanwhile
        migration.execute(f"LOCK TABLE {written} IN ACCESS EXCLUSIVE MODE")  # granted once the COMMIT is done
        migration.rollback()
        results = []
        while (result := platform.pgconn.get_result()) is not None:
            results.append((result.status, result.error_field(psycopg.pq.DiagnosticField.SQLSTATE)))
        assert results == [(psycopg.pq.ExecStatus.COMMAND_OK, None)]
    assert queued(db, pid)
    db.execute("SELECT * FROM sync_all_sessions()")
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


def test_a_run_keeps_queued_a_purchase_whose_sync_at_commit_is_still_open(db):
    """An assignment syncs at SET CONSTRAINTS ALL IMMEDIATE and stays open; a reschedule of one
    of its sessions commits meanwhile (its sync finds the purchase held and queues it); a run
    then examines the purchase, which it still sees unassigned. The run must not consume the
    queue row: neither it nor the assignment's sync saw the reschedule on an assigned purchase.
    (test_concurrency's mixed test met this once in a few hundred rounds.)"""
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    [sid] = sessions(db, pid, 1)
    db.execute("SELECT * FROM sync_all_sessions()")  # drains what arranging the rows queued
    with db.connect() as assign, db.connect(autocommit=True) as booking, db.connect(autocommit=True) as cron:
        assign.execute("UPDATE course_purchases SET trainer_id = %s, status = 'ASSIGNED' WHERE id = %s",
                       (uuid.uuid4(), pid))
        assign.execute("SET CONSTRAINTS ALL IMMEDIATE")  # its sync: the session at 16:00
        booking.execute("UPDATE purchase_sessions SET session_time = '18:45' WHERE id = %s", (sid,))
        assert queued(db, pid)
        cron.execute("SELECT * FROM sync_all_sessions()")
        assign.commit()
    assert queued(db, pid)
    db.execute("SELECT * FROM sync_all_sessions()")
    assert db.value("SELECT scheduled_time FROM tutoring_sessions WHERE id = %s", sid) == "18:45"
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)
