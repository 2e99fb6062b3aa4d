"""An adversarial review of revision 0012 (these held): the allocation insert restricted to the
purchases lacking their allocation first, and the change-log delete by ctid."""

from __future__ import annotations

import uuid

import psycopg

from factories import purchase, sessions


def allocations(db, student, trainer, course) -> list[tuple]:
    return db.rows("""SELECT status, metadata ->> 'purchaseId' FROM trainer_allocations
                      WHERE student_id = %s AND trainer_id = %s AND course_id = %s""", student, trainer, course)


def test_allocation_is_the_oldest_syncable_purchases_in_one_batch(db):
    """Four purchases of one (student, trainer, course), oldest first: A has a SESSION_CONFLICT,
    B invalid coordinates, C no sessions, D syncable. One batch (sync_all_sessions): one
    approved allocation, with D's metadata; A and B failed, nothing written for them."""
    student, trainer, course = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ids = []
    for n, location in enumerate([None, {"latitude": 91, "longitude": 1}, None, None]):
        kwargs = {"student_location": location} if location else {}
        pid = purchase(db, student_id=student, trainer_id=trainer, course_id=course, **kwargs)
        db.execute("UPDATE course_purchases SET created_at = now() - make_interval(days => 10 - %s) WHERE id = %s",
                   n, pid)
        ids.append(pid)
    a, b, c, d = ids
    (a1, _) = sessions(db, a, 2)
    sessions(db, b, 2)
    sessions(db, d, 2)
    # An app's allocation (not the sync's) and an app's tutoring session with a1's id, no purchaseId.
    other = db.value("""INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status)
                        VALUES (%s, %s, %s, %s, 'pending') RETURNING id""", student, trainer, uuid.uuid4(), student)
    db.execute("""INSERT INTO tutoring_sessions (id, allocation_id, student_id, trainer_id, scheduled_date,
                      scheduled_time, metadata) VALUES (%s, %s, %s, %s, '2026-01-06', '16:00', '{"app": 1}')""",
               a1, other, student, trainer)
    db.execute("SELECT session_sync_enqueue(%s::uuid[])", [a, b, c, d])
    result = db.dict("SELECT * FROM sync_all_sessions()")
    assert allocations(db, student, trainer, course) == [("approved", str(d))]
    assert result["purchases_failed"] == 2
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE metadata ->> 'purchaseId' IN (%s, %s)",
                    str(a), str(b)) == 0
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE metadata ->> 'purchaseId' = %s", str(d)) == 2


def test_conflicting_purchase_alone_creates_no_allocation(db):
    """A purchase whose only conflict is a session whose purchaseId names another purchase:
    no allocation, SESSION_CONFLICT."""
    student, trainer, course = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    a = purchase(db, student_id=student, trainer_id=trainer, course_id=course)
    (a1, a2) = sessions(db, a, 2)
    other = db.value("""INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status)
                        VALUES (%s, %s, %s, %s, 'pending') RETURNING id""", student, trainer, uuid.uuid4(), student)
    db.execute("""INSERT INTO tutoring_sessions (id, allocation_id, student_id, trainer_id, scheduled_date,
                      scheduled_time, metadata) VALUES (%s, %s, %s, %s, '2026-01-07', '16:00', %s::jsonb)""",
               a2, other, student, trainer, '{"purchaseId": "%s"}' % str(uuid.uuid4()).upper())
    db.execute("SELECT session_sync_enqueue(%s::uuid[])", [a])
    result = db.dict("SELECT * FROM sync_all_sessions()")
    assert allocations(db, student, trainer, course) == []
    assert db.value("SELECT reason FROM session_sync_failures WHERE purchase_id = %s", a) == "SESSION_CONFLICT"
    assert result["sessions_created"] == 0


def test_rr_run_keeps_a_row_appended_meanwhile_and_survives_a_concurrent_drain(db):
    """A REPEATABLE READ run whose snapshot predates another run that drained P's change-log rows
    and a write that queued Q afterwards: the run commits (no 40001), Q's row appended after its
    snapshot stays queued, and no other row is lost."""
    p, q = purchase(db), purchase(db)
    sessions(db, p, 2)
    sessions(db, q, 2)
    assert db.value("SELECT count(DISTINCT purchase_id) FROM session_sync_queue") == 2
    rr = db.connect()
    rr.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
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
